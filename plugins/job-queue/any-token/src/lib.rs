//! The reference job queue, except that a report or heartbeat is taken
//! with any token while the job is leased. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn checks_token() -> bool {
        // BUG: "a leased job can only be reported by its worker": the queue
        // checks that the job is leased, not that the token is the current
        // lease's. A worker whose lease ran out, while the job was leased
        // again to another, still completes, fails or extends it.
        false
    }
}

impl glue::Bug for Buggy {}
