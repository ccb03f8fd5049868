//! The reference payment gateway, except for its retry policy. See
//! README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

struct Buggy;

impl glue::Bug for Buggy {
    fn retry(failures: usize) -> Option<u64> {
        // BUG: one retry only; the contract's floor is two.
        (failures <= 1).then_some(100)
    }
}
