//! The reference trace collector, except that list-traces' total is counted
//! after the limit. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn total(_matched: u32, returned: u32) -> u32 {
        // BUG: "total is the length of the page": the traces are counted
        // after the limit was applied, so the total is never above it.
        returned
    }
}

impl glue::Bug for Buggy {}
