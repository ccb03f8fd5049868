//! The glue every buggy rate-limiter plugin shares, included by each with
//! `#[path = "../../buggy_glue.rs"] mod glue;`: the reference core, the
//! bindings, the conversions between the WIT types and the core's, and a
//! component that runs the core through the crate's [`Bug`].
//!
//! A buggy plugin is the reference with exactly one behaviour changed, so the
//! gauntlet check that catches it has nothing else to report. Each crate
//! defines `struct Buggy` (its bug's state) and implements [`Bug`] for it,
//! overriding only what the bug touches.

use std::cell::RefCell;

/// The reference's core (`reference_rate_limiter::core`), compiled into the
/// plugin from its source. Not a cargo dependency on purpose: the reference
/// crate is a `cdylib` whose glue exports the same world (the symbols would
/// clash), and a build of it without that glue would share its unhashed
/// output file names (`libreference_rate_limiter.rlib`, `.wasm`) in the
/// guest target directory with the real reference component.
#[path = "../../reference/rate-limiter/src/core/mod.rs"]
#[allow(dead_code, reason = "each plugin uses part of the core's API")]
pub mod reference;

use reference as core;

wit_bindgen::generate!({
    path: ["../../../wit/harness", "../../../wit/rate-limiter"],
    world: "gauntlet:rate-limiter/plugin",
    // The harness package comes from its own directory.
    generate_all,
});

use exports::gauntlet::rate_limiter::limiter::Guest;
use gauntlet::harness::clock;
use gauntlet::rate_limiter::types::{
    Algorithm, Config, ConfigError, Decision, Policy, Tier, TokenBucket, Window,
};

/// One deliberate departure from the reference. Both methods default to the
/// reference's behaviour.
pub trait Bug: Default {
    /// Configures `limiter`.
    fn configure(
        &mut self,
        limiter: &mut core::Limiter,
        config: core::Config,
    ) -> Result<(), core::ConfigError> {
        limiter.configure(config)
    }

    /// Decides one check; `now_ms` is the raw clock reading.
    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        limiter.check(key, cost, now_ms)
    }
}

thread_local! {
    /// The component's one limiter and its bug's state (a component instance
    /// is single-threaded).
    static STATE: RefCell<(crate::Buggy, core::Limiter)> =
        RefCell::new((Default::default(), core::Limiter::new()));
}

struct Component;

impl Guest for Component {
    fn configure(config: Config) -> Result<(), ConfigError> {
        let config = core_config(config);
        STATE
            .with_borrow_mut(|(bug, limiter)| bug.configure(limiter, config))
            .map_err(wit_error)
    }

    fn check(key: String, cost: u64) -> Decision {
        let now_ms = clock::now_ms();
        let d = STATE.with_borrow_mut(|(bug, limiter)| bug.check(limiter, &key, cost, now_ms));
        Decision {
            allowed: d.allowed,
            limit: d.limit,
            remaining: d.remaining,
            reset_ms: d.reset_ms,
            retry_after_ms: d.retry_after_ms,
        }
    }
}

fn core_config(config: Config) -> core::Config {
    let window = |Window { limit, window_ms }| core::Window { limit, window_ms };
    let policy = |Policy { name, algorithm }| core::Policy {
        name,
        algorithm: match algorithm {
            Algorithm::TokenBucket(TokenBucket {
                capacity,
                refill_per_sec,
            }) => core::Algorithm::TokenBucket(core::TokenBucket {
                capacity,
                refill_per_sec,
            }),
            Algorithm::FixedWindow(w) => core::Algorithm::FixedWindow(window(w)),
            Algorithm::SlidingLog(w) => core::Algorithm::SlidingLog(window(w)),
            Algorithm::SlidingCounter(w) => core::Algorithm::SlidingCounter(window(w)),
        },
    };
    core::Config {
        policies: config.policies.into_iter().map(policy).collect(),
        tiers: (config.tiers.into_iter())
            .map(|Tier { prefix, policy }| core::Tier { prefix, policy })
            .collect(),
        default_policy: config.default_policy,
    }
}

fn wit_error(error: core::ConfigError) -> ConfigError {
    use core::ConfigError as E;
    match error {
        E::NoPolicies => ConfigError::NoPolicies,
        E::DuplicatePolicy(name) => ConfigError::DuplicatePolicy(name),
        E::UnknownPolicy(name) => ConfigError::UnknownPolicy(name),
        E::ZeroCapacity(name) => ConfigError::ZeroCapacity(name),
        E::ZeroRate(name) => ConfigError::ZeroRate(name),
        E::ZeroWindow(name) => ConfigError::ZeroWindow(name),
        E::Overflow(name) => ConfigError::Overflow(name),
        E::DuplicatePrefix(prefix) => ConfigError::DuplicatePrefix(prefix),
    }
}

export!(Component);
