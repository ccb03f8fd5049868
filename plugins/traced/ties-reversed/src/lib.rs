//! The reference trace collector, except that traces whose roots start
//! together are listed by id descending. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::cmp::Reverse;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {}

impl glue::Bug for Buggy {
    fn listed(page: &mut core::TracePage) {
        // BUG: "newest first" done as a sort by (start, id), reversed: the
        // start comes out newest first, but so does the id, so roots that
        // start together are listed by id descending instead of ascending.
        // (The reference cuts the page at the limit first, so only the
        // order within a page differs here.)
        page.traces.sort_by_key(|t| {
            (
                Reverse(t.start_ns),
                Reverse(t.trace_id.to_ascii_lowercase()),
            )
        });
    }
}
