//! The reference job queue, except that it saves without a compare-and-set:
//! the last save wins. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn saves_conditionally() -> bool {
        // BUG: "read, decide, write": the queue still reloads whenever
        // another replica saved before its call began, so called one call
        // at a time it is the reference; but its save is not conditioned on
        // the store being as it read it. Two replicas that read the same
        // ready job at once both lease it, and the second save overwrites
        // the first's.
        false
    }
}

impl glue::Bug for Buggy {}
