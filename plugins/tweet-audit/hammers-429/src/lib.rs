//! The reference tweet-audit pipeline, except that a 429 waits one second
//! instead of the rest of the minute. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn on_model_error(error: core::ModelError, streak: u32, now: u64) -> core::Action {
        match error {
            // BUG: "a 429 is just a busy server, try again in a second":
            // the next request goes in the same minute, whose quota the
            // API said is spent.
            core::ModelError::ResourceExhausted => core::Action::Wait(1_000),
            _ => core::Reference::on_model_error(error, streak, now),
        }
    }
}

impl glue::Bug for Buggy {}
