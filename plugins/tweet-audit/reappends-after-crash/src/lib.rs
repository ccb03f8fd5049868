//! The reference tweet-audit pipeline, except that a resumed run does not
//! truncate the output back to its checkpoint, and the checkpoint records
//! progress only every 4th batch. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn records_progress(batch: u64) -> bool {
        // BUG: "saving after every batch is slow": progress is recorded
        // after the 1st, 5th, 9th, ... batch an instance has answered (the
        // pacing is still saved before every request).
        batch % 4 == 1
    }

    fn truncates_on_resume() -> bool {
        // BUG: "the file only grows, and the checkpoint says where we
        // were": rows appended after the checkpoint are left in the file,
        // and written again when their batch is asked again.
        false
    }
}

impl glue::Bug for Buggy {}
