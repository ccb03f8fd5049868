//! A correct but naive rate limiter, written from the WIT specification alone.
//!
//! Every decision matches the reference, but nothing is done cleverly: keys
//! live in a `BTreeMap<String, _>`, the sliding log is a `Vec` summed by a
//! linear scan, the tier of a key is found by scanning every rule on every
//! call, and idle keys are forgotten by an O(keys) sweep every
//! [`limiter::SWEEP_EVERY`] checks. The logic is in [`limiter`], free of the
//! bindings' imports, so it also runs (and is unit-tested) natively.

mod limiter;

use std::cell::RefCell;

use exports::gauntlet::rate_limiter::limiter::{Config, ConfigError, Decision, Guest};
use gauntlet::harness::clock;

wit_bindgen::generate!({
    path: ["../../../wit/harness", "../../../wit/rate-limiter"],
    world: "gauntlet:rate-limiter/plugin",
    // The harness package comes from its own directory.
    generate_all,
    additional_derives: [PartialEq, Eq],
});

thread_local! {
    static LIMITER: RefCell<limiter::Limiter> = RefCell::new(limiter::Limiter::default());
}

struct Naive;

impl Guest for Naive {
    fn configure(config: Config) -> Result<(), ConfigError> {
        LIMITER.with_borrow_mut(|limiter| limiter.configure(config))
    }

    fn check(key: String, cost: u64) -> Decision {
        let now_ms = clock::now_ms();
        LIMITER.with_borrow_mut(|limiter| limiter.check(&key, cost, now_ms))
    }
}

export!(Naive);
