//! The reference tweet-audit pipeline, except that a `run` after a finished
//! audit starts over. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn remembers_done() -> bool {
        // BUG: "the checkpoint is for crashes": a run that finds the audit
        // finished truncates the file to its header and audits the whole
        // archive again. The file ends the same; the model is paid twice.
        false
    }
}

impl glue::Bug for Buggy {}
