//! The reference tweet-audit pipeline, except that a text starting with
//! "RT @" in any case is taken for a retweet. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn is_retweet(tweet: &core::archive::Tweet) -> bool {
        // BUG: "people type rt in lowercase too": the contract's marker is
        // "RT @" exactly, so "rt @friend: ..." is a tweet of the owner's,
        // skipped without ever being judged.
        tweet
            .text
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case("rt @"))
    }
}

impl glue::Bug for Buggy {}
