//! The reference tweet-audit pipeline, except that a tweet whose
//! `retweeted` field is true is taken for a retweet. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn is_retweet(tweet: &core::archive::Tweet) -> bool {
        // BUG: "the archive says so itself": the contract goes by the text
        // alone, and a tweet flagged `"retweeted": true` without "RT @" is
        // the owner's own, skipped without ever being judged.
        tweet.retweeted || tweet.is_retweet()
    }
}

impl glue::Bug for Buggy {}
