//! The reference trace collector, except that it keeps a copy of every span
//! it was ever given. See README.md.

use std::cell::RefCell;

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

thread_local! {
    /// Every span of every batch `ingest` was given, valid or not, stored or
    /// dropped, evicted or not. Nothing reads it.
    static ARCHIVE: RefCell<Vec<core::Span>> = const { RefCell::new(Vec::new()) };
}

struct Buggy;

impl core::Rules for Buggy {}

impl glue::Bug for Buggy {
    fn ingested(spans: &[core::Span]) {
        // BUG: "keep the raw spans for a rainy day": every span ingested is
        // copied into an append-only archive that is never pruned, so the
        // memory grows with all the traffic ever seen, not with the window.
        ARCHIVE.with_borrow_mut(|archive| archive.extend_from_slice(spans));
    }
}
