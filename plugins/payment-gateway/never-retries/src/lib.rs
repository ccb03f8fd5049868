//! The reference payment gateway, except for its retry policy. See
//! README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

struct Buggy;

impl glue::Bug for Buggy {
    fn retry(_failures: usize) -> Option<u64> {
        // BUG: gives up at the first transient failure.
        None
    }
}
