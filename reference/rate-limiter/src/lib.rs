//! The reference rate limiter: the oracle every rate-limiter plugin is diffed
//! against, decision by decision.
//!
//! [`core`] is the limiter itself, plain Rust that builds and tests natively
//! (the host and other plugins may also link it directly). On `wasm32`, with
//! the `component` feature (on by default), this crate is also the component
//! exporting `gauntlet:rate-limiter/limiter`: it keeps one
//! [`core::Limiter`], reads the harness clock once per check and converts the
//! WIT types. The specification is `wit/rate-limiter/rate-limiter.wit`.

pub mod core;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component {
    use std::cell::RefCell;

    use crate::core;

    wit_bindgen::generate!({
        path: ["../../wit/harness", "../../wit/rate-limiter"],
        world: "gauntlet:rate-limiter/plugin",
        // The harness package is a dependency path; generate its bindings too.
        generate_all,
    });

    use exports::gauntlet::rate_limiter::limiter::Guest;
    use gauntlet::harness::clock;
    use gauntlet::rate_limiter::types::{
        Algorithm, Config, ConfigError, Decision, Policy, Tier, TokenBucket, Window,
    };

    thread_local! {
        /// The component's one limiter (a component instance is single-threaded).
        static LIMITER: RefCell<core::Limiter> = RefCell::new(core::Limiter::new());
    }

    struct Component;

    impl Guest for Component {
        fn configure(config: Config) -> Result<(), ConfigError> {
            let config = convert_config(config);
            LIMITER
                .with_borrow_mut(|limiter| limiter.configure(config))
                .map_err(convert_error)
        }

        fn check(key: String, cost: u64) -> Decision {
            let now = clock::now_ms();
            let d = LIMITER.with_borrow_mut(|limiter| limiter.check(&key, cost, now));
            Decision {
                allowed: d.allowed,
                limit: d.limit,
                remaining: d.remaining,
                reset_ms: d.reset_ms,
                retry_after_ms: d.retry_after_ms,
            }
        }
    }

    fn convert_window(w: Window) -> core::Window {
        core::Window {
            limit: w.limit,
            window_ms: w.window_ms,
        }
    }

    fn convert_config(config: Config) -> core::Config {
        core::Config {
            policies: config
                .policies
                .into_iter()
                .map(|Policy { name, algorithm }| core::Policy {
                    name,
                    algorithm: match algorithm {
                        Algorithm::TokenBucket(TokenBucket {
                            capacity,
                            refill_per_sec,
                        }) => core::Algorithm::TokenBucket(core::TokenBucket {
                            capacity,
                            refill_per_sec,
                        }),
                        Algorithm::FixedWindow(w) => {
                            core::Algorithm::FixedWindow(convert_window(w))
                        }
                        Algorithm::SlidingLog(w) => core::Algorithm::SlidingLog(convert_window(w)),
                        Algorithm::SlidingCounter(w) => {
                            core::Algorithm::SlidingCounter(convert_window(w))
                        }
                    },
                })
                .collect(),
            tiers: config
                .tiers
                .into_iter()
                .map(|Tier { prefix, policy }| core::Tier { prefix, policy })
                .collect(),
            default_policy: config.default_policy,
        }
    }

    fn convert_error(error: core::ConfigError) -> ConfigError {
        match error {
            core::ConfigError::NoPolicies => ConfigError::NoPolicies,
            core::ConfigError::DuplicatePolicy(name) => ConfigError::DuplicatePolicy(name),
            core::ConfigError::UnknownPolicy(name) => ConfigError::UnknownPolicy(name),
            core::ConfigError::ZeroCapacity(name) => ConfigError::ZeroCapacity(name),
            core::ConfigError::ZeroRate(name) => ConfigError::ZeroRate(name),
            core::ConfigError::ZeroWindow(name) => ConfigError::ZeroWindow(name),
            core::ConfigError::Overflow(name) => ConfigError::Overflow(name),
            core::ConfigError::DuplicatePrefix(prefix) => ConfigError::DuplicatePrefix(prefix),
        }
    }

    export!(Component);
}
