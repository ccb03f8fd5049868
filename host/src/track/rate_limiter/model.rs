//! The host's own types for the rate-limiter track: configurations,
//! operations and outputs, independent of the generated bindings so that
//! they can be serialised, compared and reasoned about by the checks.

use std::sync::Arc;

use serde::Serialize;

use crate::bindings::rate_limiter::types as wit;

/// retry-after-ms meaning "never": the cost exceeds the policy's limit.
pub const NEVER: u64 = u64::MAX;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    TokenBucket { capacity: u64, refill_per_sec: u64 },
    FixedWindow { limit: u64, window_ms: u64 },
    SlidingLog { limit: u64, window_ms: u64 },
    SlidingCounter { limit: u64, window_ms: u64 },
}

/// The largest value a policy may hold (the WIT's `overflow` bound).
pub const MAX_VALUE: u64 = 1_000_000_000_000_000;

impl Algorithm {
    /// Whether the contract accepts these values: nothing zero, nothing
    /// above [`MAX_VALUE`].
    pub fn is_valid(&self) -> bool {
        let values = match *self {
            Algorithm::TokenBucket {
                capacity,
                refill_per_sec,
            } => [capacity, refill_per_sec],
            Algorithm::FixedWindow { limit, window_ms }
            | Algorithm::SlidingLog { limit, window_ms }
            | Algorithm::SlidingCounter { limit, window_ms } => [limit, window_ms],
        };
        values.iter().all(|v| (1..=MAX_VALUE).contains(v))
    }

    /// What `decision.limit` reports under this policy.
    pub fn limit(&self) -> u64 {
        match *self {
            Algorithm::TokenBucket { capacity, .. } => capacity,
            Algorithm::FixedWindow { limit, .. }
            | Algorithm::SlidingLog { limit, .. }
            | Algorithm::SlidingCounter { limit, .. } => limit,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: String,
    pub algorithm: Algorithm,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tier {
    pub prefix: String,
    pub policy: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    pub policies: Vec<Policy>,
    pub tiers: Vec<Tier>,
    pub default_policy: String,
}

impl Config {
    /// The policy a key maps to: the longest matching tier prefix, else the
    /// default. `None` if the configuration names a policy it lacks.
    pub fn policy_for(&self, key: &str) -> Option<(&Policy, Option<&Tier>)> {
        let tier = self
            .tiers
            .iter()
            .filter(|t| key.starts_with(t.prefix.as_str()))
            .max_by_key(|t| t.prefix.len());
        let name = tier.map_or(self.default_policy.as_str(), |t| t.policy.as_str());
        let policy = self.policies.iter().find(|p| p.name == name)?;
        Some((policy, tier))
    }

    /// The configuration as the WIT bindings take it.
    pub fn to_wit(&self) -> wit::Config {
        wit::Config {
            policies: self
                .policies
                .iter()
                .map(|p| wit::Policy {
                    name: p.name.clone(),
                    algorithm: match p.algorithm {
                        Algorithm::TokenBucket {
                            capacity,
                            refill_per_sec,
                        } => wit::Algorithm::TokenBucket(wit::TokenBucket {
                            capacity,
                            refill_per_sec,
                        }),
                        Algorithm::FixedWindow { limit, window_ms } => {
                            wit::Algorithm::FixedWindow(wit::Window { limit, window_ms })
                        }
                        Algorithm::SlidingLog { limit, window_ms } => {
                            wit::Algorithm::SlidingLog(wit::Window { limit, window_ms })
                        }
                        Algorithm::SlidingCounter { limit, window_ms } => {
                            wit::Algorithm::SlidingCounter(wit::Window { limit, window_ms })
                        }
                    },
                })
                .collect(),
            tiers: self
                .tiers
                .iter()
                .map(|t| wit::Tier {
                    prefix: t.prefix.clone(),
                    policy: t.policy.clone(),
                })
                .collect(),
            default_policy: self.default_policy.clone(),
        }
    }
}

/// One call into the plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Configure {
        /// The configuration's name in the scenario (`config` for the main one).
        name: String,
        config: Box<Config>,
    },
    Check {
        key: Arc<str>,
        cost: u64,
    },
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Configure { name, .. } => write!(f, "configure({name})"),
            Op::Check { key, cost } => write!(f, "check({key:?}, {cost})"),
        }
    }
}

/// A typed configuration error, as the plugin returned it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    /// The variant's name in the WIT: `zero-capacity`, `unknown-policy`, ...
    pub kind: String,
    /// The policy or prefix it names, if any.
    pub subject: Option<String>,
}

impl From<wit::ConfigError> for ConfigError {
    fn from(e: wit::ConfigError) -> Self {
        let (kind, subject) = match e {
            wit::ConfigError::NoPolicies => ("no-policies", None),
            wit::ConfigError::DuplicatePolicy(s) => ("duplicate-policy", Some(s)),
            wit::ConfigError::UnknownPolicy(s) => ("unknown-policy", Some(s)),
            wit::ConfigError::ZeroCapacity(s) => ("zero-capacity", Some(s)),
            wit::ConfigError::ZeroRate(s) => ("zero-rate", Some(s)),
            wit::ConfigError::ZeroWindow(s) => ("zero-window", Some(s)),
            wit::ConfigError::Overflow(s) => ("overflow", Some(s)),
            wit::ConfigError::DuplicatePrefix(s) => ("duplicate-prefix", Some(s)),
        };
        ConfigError {
            kind: kind.to_string(),
            subject,
        }
    }
}

/// The names of the config-error variants, for validating scenario files.
pub const CONFIG_ERROR_KINDS: &[&str] = &[
    "no-policies",
    "duplicate-policy",
    "unknown-policy",
    "zero-capacity",
    "zero-rate",
    "zero-window",
    "overflow",
    "duplicate-prefix",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset_ms: u64,
    pub retry_after_ms: u64,
}

impl From<wit::Decision> for Decision {
    fn from(d: wit::Decision) -> Self {
        Decision {
            allowed: d.allowed,
            limit: d.limit,
            remaining: d.remaining,
            reset_ms: d.reset_ms,
            retry_after_ms: d.retry_after_ms,
        }
    }
}

fn ms(v: u64) -> String {
    if v == NEVER {
        "never".to_string()
    } else {
        v.to_string()
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (limit {}, remaining {}, reset-ms {}, retry-after-ms {})",
            if self.allowed { "allowed" } else { "denied" },
            self.limit,
            self.remaining,
            self.reset_ms,
            ms(self.retry_after_ms)
        )
    }
}

/// What a call returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    Configured(Result<(), ConfigError>),
    Decision(Decision),
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Configured(Ok(())) => write!(f, "ok"),
            Output::Configured(Err(ConfigError {
                kind,
                subject: Some(s),
            })) => write!(f, "error {kind}({s:?})"),
            Output::Configured(Err(ConfigError {
                kind,
                subject: None,
            })) => write!(f, "error {kind}"),
            Output::Decision(d) => d.fmt(f),
        }
    }
}
