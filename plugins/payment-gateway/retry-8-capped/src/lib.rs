//! The reference payment gateway with another retry policy the contract
//! allows. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

struct Buggy;

impl glue::Bug for Buggy {
    fn retry(failures: usize) -> Option<u64> {
        (failures <= 8).then(|| (500u64 << (failures - 1).min(4)).min(8_000))
    }
}
