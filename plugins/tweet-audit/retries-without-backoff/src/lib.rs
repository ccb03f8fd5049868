//! The reference tweet-audit pipeline, except that a transient error is
//! retried after 100 ms, without backoff. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn on_model_error(error: core::ModelError, streak: u32, now: u64) -> core::Action {
        match error {
            // BUG: "a 503 is a blip, try again right away": a short fixed
            // pause, however many errors came in a row, so an API that is
            // struggling gets hammered just as it tries to recover.
            core::ModelError::Unavailable(_) => core::Action::Wait(100),
            _ => core::Reference::on_model_error(error, streak, now),
        }
    }
}

impl glue::Bug for Buggy {}
