//! The reference trace collector, except that traces whose root has not
//! arrived are listed and gettable. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn lists_rootless() -> bool {
        // BUG: "every trace has a first span": a trace whose root has not
        // arrived is listed and gettable, its earliest span (by start, then
        // span id) standing in for the root.
        true
    }
}

impl glue::Bug for Buggy {}
