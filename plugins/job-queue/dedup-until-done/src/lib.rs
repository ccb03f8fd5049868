//! The reference job queue, except that a dedup key is free again once its
//! job succeeded. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn dedup_outlives_success() -> bool {
        // BUG: "unique while active", as some queues do: once the job
        // succeeded, an enqueue with its dedup key adds a new job. The WIT
        // returns the first job whatever became of it, so a producer's
        // late retry runs the work twice.
        false
    }
}

impl glue::Bug for Buggy {}
