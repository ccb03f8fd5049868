//! The reference job queue, except that a retryable failure is always
//! retried, past max-attempts. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn may_retry(_attempts: u32, _max_attempts: u32) -> bool {
        // BUG: "a job that can still succeed should not be given up on":
        // a retryable failure (or a lease that ran out) always earns another
        // run, so attempts grow past max-attempts and only permanent
        // failures ever reach the dead-letter queue.
        true
    }
}

impl glue::Bug for Buggy {}
