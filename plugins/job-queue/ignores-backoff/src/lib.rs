//! The reference job queue, except that a failed run is retried at once,
//! without its backoff. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn retry_at(_backoff: core::Backoff, _attempts: u32, failed_at: u64) -> u64 {
        // BUG: "the worker already waited for the job to fail, why wait
        // more": the retry may run from the instant of the failure (for a
        // lease that ran out, its `expires-ms`), whatever the job's backoff.
        failed_at
    }
}

impl glue::Bug for Buggy {}
