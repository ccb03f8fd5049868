//! The reference tweet-audit pipeline, except that a 400 or 403 is retried
//! with backoff like a 5xx. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

/// Permanent errors in a row after which the pipeline gives up (so that a
/// run against a bad key ends, with the reference's result).
const GIVE_UP_AFTER: u32 = 6;

impl core::Rules for Buggy {
    fn on_model_error(error: core::ModelError, streak: u32, now: u64) -> core::Action {
        match error {
            // BUG: "every error might be transient": a refused request or a
            // bad key is sent again after the 5xx backoff, up to 6 times.
            core::ModelError::Rejected(_) if streak < GIVE_UP_AFTER => {
                core::Action::Wait(core::backoff_ms(streak))
            }
            _ => core::Reference::on_model_error(error, streak, now),
        }
    }
}

impl glue::Bug for Buggy {}
