//! The reference payment gateway with another retry policy the contract
//! allows. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

struct Buggy;

impl glue::Bug for Buggy {
    fn retry(failures: usize) -> Option<u64> {
        (failures <= 6).then(|| 250 * failures as u64)
    }
}
