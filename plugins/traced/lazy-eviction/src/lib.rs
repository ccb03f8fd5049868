//! The reference trace collector, except that it evicts only when spans are
//! ingested. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl core::Rules for Buggy {
    fn evicts_on(call: core::Call) -> bool {
        // BUG: "eviction is housekeeping for the write path": nothing is
        // evicted by list-traces or get-trace, so after the clock moves
        // with no traffic, traces that left the window are still served.
        call == core::Call::Ingest
    }
}

impl glue::Bug for Buggy {}
