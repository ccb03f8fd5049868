//! The reference tweet-audit pipeline, except that the URL field is written
//! without RFC 4180 quoting. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn row(username: &str, id: &str) -> String {
        // BUG: "a URL never needs quoting": a username with a comma splits
        // the row into more fields, and one with a quote breaks the CSV.
        format!("https://x.com/{username}/status/{id},false")
    }
}

impl glue::Bug for Buggy {}
