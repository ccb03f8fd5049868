//! The reference job queue, except that a failed run is retried 1 s later
//! than its backoff says. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn retry_at(backoff: core::Backoff, attempts: u32, failed_at: u64) -> u64 {
        // BUG: "a second of slack before a retry cannot hurt": the retry may
        // run from its backoff's instant plus 1 s, whatever the WIT says.
        failed_at
            .saturating_add(core::backoff_delay(backoff, attempts))
            .saturating_add(1_000)
    }
}

impl glue::Bug for Buggy {}
