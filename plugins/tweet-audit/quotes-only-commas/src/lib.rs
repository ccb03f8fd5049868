//! The reference tweet-audit pipeline, except that the URL field is quoted
//! only when it holds a comma. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn row(username: &str, id: &str) -> String {
        let url = format!("https://x.com/{username}/status/{id}");
        // BUG: "only a comma splits a field": RFC 4180 quotes a field that
        // holds a double quote as well, so `the "real" me` is written bare,
        // its quotes neither enclosed nor doubled.
        if url.contains(',') {
            format!("\"{}\",false", url.replace('"', "\"\""))
        } else {
            format!("{url},false")
        }
    }
}

impl glue::Bug for Buggy {}
