//! The reference tweet-audit pipeline with other choices the contract
//! leaves open: smaller batches and a longer backoff. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

/// The glue runs `crate::Buggy`; this one takes allowed choices, not a bug.
struct Buggy;

/// Batches of at most 7 tweets (the contract allows up to `max-batch`).
const BATCH: usize = 7;

impl core::Rules for Buggy {
    fn batch_size(max_batch: u32) -> usize {
        BATCH.min(max_batch as usize)
    }

    fn on_model_error(error: core::ModelError, streak: u32, now: u64) -> core::Action {
        match error {
            // Twice the contract's floor, min(2 s * 2^(n-1), 64 s): any wait
            // at least min(1 s * 2^(n-1), 32 s) is allowed.
            core::ModelError::Unavailable(_) => {
                core::Action::Wait((2_000u64 << (streak.max(1) - 1).min(6)).min(64_000))
            }
            _ => core::Reference::on_model_error(error, streak, now),
        }
    }
}

impl glue::Bug for Buggy {}
