//! The reference job queue, except that it keeps no index between calls.
//! Not a bug: another allowed choice. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct NoCache;

/// The name the glue runs the core under (`crate::Buggy`): here no bug, a
/// choice.
type Buggy = NoCache;

impl core::Rules for NoCache {
    fn keeps_index() -> bool {
        // ALLOWED: the WIT lets a queue cache the store only if it checks
        // the cache against it; keeping no cache at all is the simplest way
        // to be correct as one of several replicas. Every call reads every
        // record (slow on a large queue, never wrong).
        false
    }
}

impl glue::Bug for NoCache {}
