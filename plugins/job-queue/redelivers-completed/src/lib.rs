//! The reference job queue, except that completing a job does not cancel
//! its lease's expiry. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn complete_cancels_expiry() -> bool {
        // BUG: "the expiry timer only matters for workers that die": the
        // job is marked succeeded but its lease's expiry stays armed. When
        // the old `expires-ms` passes, the queue takes the lease for one
        // that ran out, counts a failed run, and the job is retried (or,
        // with no attempts left, dead) after it succeeded.
        false
    }
}

impl glue::Bug for Buggy {}
