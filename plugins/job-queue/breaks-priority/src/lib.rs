//! The reference job queue, except that it leases in enqueue order,
//! ignoring priority. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn rank(_priority: u8, seq: u64) -> (u8, u64) {
        // BUG: "a queue is first in, first out": of the jobs that may run
        // now, the one enqueued first is leased, whatever the priorities.
        (0, seq)
    }
}

impl glue::Bug for Buggy {}
