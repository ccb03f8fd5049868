//! The reference tweet-audit pipeline, except that a tweet without a valid
//! "KEEP" answer is decided DELETE. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn decide(text: &str, ids: &[&str]) -> Vec<Option<core::Decision>> {
        // BUG: "when in doubt, delete": a tweet the answer does not keep
        // (left out, no decision, an unknown decision, or every tweet of a
        // malformed answer) is decided DELETE instead of asked again.
        core::decisions(text, ids)
            .into_iter()
            .map(|decision| match decision {
                Some(core::Decision::Keep) => Some(core::Decision::Keep),
                _ => Some(core::Decision::Delete),
            })
            .collect()
    }
}

impl glue::Bug for Buggy {}
