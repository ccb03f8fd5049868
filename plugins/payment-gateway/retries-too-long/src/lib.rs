//! The reference payment gateway, except for its retry policy. See
//! README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

struct Buggy;

impl glue::Bug for Buggy {
    fn retry(failures: usize) -> Option<u64> {
        // BUG: 90 s of retries, past the contract's 60 s.
        (failures <= 9).then_some(10_000)
    }
}
