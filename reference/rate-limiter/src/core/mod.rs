//! The reference rate limiter, independent of the component model: plain
//! Rust types, no I/O, no clock, no randomness. The caller passes the raw
//! clock reading to every [`Limiter::check`].
//!
//! The specification is the doc comment of `wit/rate-limiter/rate-limiter.wit`;
//! this module follows it to the letter, and every decision of a learner's
//! plugin is diffed against this one. In brief:
//!
//! - **Time.** The limiter's effective time is the high-water mark of every
//!   clock reading passed to `check` (one mark for the whole limiter, kept
//!   across `configure`), so a clock stepping backwards makes time stand
//!   still.
//! - **Token bucket** (capacity C, refill R/s): a level in milli-tokens, R
//!   milli-tokens per millisecond, capped at C * 1000; a request of cost c
//!   needs c * 1000.
//! - **Fixed window** (limit L, window W): one count per window
//!   `[k * W, (k + 1) * W)`.
//! - **Sliding log** (L, W): the log of allowed requests in `(t - W, t]`.
//! - **Sliding counter** (L, W): the counts of the current and previous fixed
//!   windows, the previous one weighted by the part of it still inside the
//!   sliding window; compared exactly, scaled by W.
//!
//! A denied request and a request of cost 0 change nothing. `remaining`,
//! `reset_ms` and `retry_after_ms` are defined in the WIT; `retry_after_ms`
//! is exact (the request is allowed at `t + retry_after_ms` and not 1 ms
//! earlier), or [`NEVER`] when the cost exceeds the limit.
//!
//! **Eviction.** A key's state becomes *fresh* (indistinguishable from a key
//! never seen) at `t + reset_ms` of its last allowed request: the bucket is
//! full again, the window is over, the log is empty, both counters expired.
//! That time only moves later as a key is used. The limiter keeps a min-heap
//! of `(fresh_at, slot)` with exactly one entry per key, updated lazily: when
//! the entry surfaces and the key has since been used, it is pushed back with
//! the key's current fresh time; otherwise the key is forgotten. Every check
//! evicts every key fresh at the effective time first, so memory is bounded
//! by the keys active within one window (or refill time), in `O(log n)`
//! amortised per check, and eviction is invisible in the decisions.

mod algo;
mod hash;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use algo::{BucketState, CounterState, FixedState, LogState, State};
use hash::KeyHashBuilder;

/// `retry_after_ms` when the request can never be allowed (`cost > limit`).
pub const NEVER: u64 = u64::MAX;

/// The largest capacity, rate, limit or window a configuration may use.
pub const MAX_VALUE: u64 = 1_000_000_000_000_000;

/// Token bucket parameters: bursts up to `capacity`, refilled continuously
/// at `refill_per_sec` tokens per second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    pub capacity: u64,
    pub refill_per_sec: u64,
}

/// Parameters of the three window algorithms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: u64,
    pub window_ms: u64,
}

/// A policy's algorithm and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Algorithm {
    TokenBucket(TokenBucket),
    FixedWindow(Window),
    SlidingLog(Window),
    SlidingCounter(Window),
}

impl Algorithm {
    /// The `limit` of every decision under this algorithm.
    pub fn limit(&self) -> u64 {
        match self {
            Algorithm::TokenBucket(p) => p.capacity,
            Algorithm::FixedWindow(p) | Algorithm::SlidingLog(p) | Algorithm::SlidingCounter(p) => {
                p.limit
            }
        }
    }
}

/// A named policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub algorithm: Algorithm,
}

/// Keys starting with `prefix` use the policy named `policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tier {
    pub prefix: String,
    pub policy: String,
}

/// A complete configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub policies: Vec<Policy>,
    pub tiers: Vec<Tier>,
    pub default_policy: String,
}

/// Why a configuration was refused (see the WIT for the order of checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    NoPolicies,
    DuplicatePolicy(String),
    UnknownPolicy(String),
    ZeroCapacity(String),
    ZeroRate(String),
    ZeroWindow(String),
    Overflow(String),
    DuplicatePrefix(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoPolicies => write!(f, "the configuration has no policy"),
            ConfigError::DuplicatePolicy(name) => write!(f, "two policies are named {name:?}"),
            ConfigError::UnknownPolicy(name) => write!(f, "no policy is named {name:?}"),
            ConfigError::ZeroCapacity(name) => {
                write!(f, "policy {name:?} has a capacity or limit of 0")
            }
            ConfigError::ZeroRate(name) => write!(f, "policy {name:?} refills 0 tokens per second"),
            ConfigError::ZeroWindow(name) => write!(f, "policy {name:?} has a window of 0 ms"),
            ConfigError::Overflow(name) => {
                write!(f, "policy {name:?} has a value above {MAX_VALUE}")
            }
            ConfigError::DuplicatePrefix(prefix) => {
                write!(f, "two tiers have the prefix {prefix:?}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// One decision: what an API returns in its rate-limit headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset_ms: u64,
    pub retry_after_ms: u64,
}

impl Decision {
    /// The decision of every check before a configuration succeeded.
    pub const UNCONFIGURED: Decision = Decision {
        allowed: false,
        limit: 0,
        remaining: 0,
        reset_ms: 0,
        retry_after_ms: NEVER,
    };
}

/// A validated configuration, with the tiers ready for routing.
#[derive(Clone, Debug)]
struct Active {
    policies: Vec<Policy>,
    /// `(prefix, policy index)`, longest prefix first: the first match wins.
    tiers: Vec<(String, usize)>,
    default: usize,
}

impl Active {
    /// Validates `config` in the order the WIT documents.
    fn new(config: Config) -> Result<Active, ConfigError> {
        if config.policies.is_empty() {
            return Err(ConfigError::NoPolicies);
        }
        let mut by_name: HashMap<&str, usize, KeyHashBuilder> = HashMap::default();
        for (index, policy) in config.policies.iter().enumerate() {
            let name = policy.name.as_str();
            if by_name.contains_key(name) {
                return Err(ConfigError::DuplicatePolicy(name.to_owned()));
            }
            check_values(policy)?;
            by_name.insert(name, index);
        }
        let mut prefixes: HashSet<&str, KeyHashBuilder> = HashSet::default();
        let mut tiers = Vec::with_capacity(config.tiers.len());
        for tier in &config.tiers {
            if !prefixes.insert(tier.prefix.as_str()) {
                return Err(ConfigError::DuplicatePrefix(tier.prefix.clone()));
            }
            let Some(&index) = by_name.get(tier.policy.as_str()) else {
                return Err(ConfigError::UnknownPolicy(tier.policy.clone()));
            };
            tiers.push((tier.prefix.clone(), index));
        }
        let Some(&default) = by_name.get(config.default_policy.as_str()) else {
            return Err(ConfigError::UnknownPolicy(config.default_policy));
        };
        // Two distinct prefixes of the same length never both match a key,
        // so the order among equal lengths does not matter (stable anyway).
        tiers.sort_by_key(|(prefix, _)| Reverse(prefix.len()));
        drop(by_name);
        drop(prefixes);
        Ok(Active {
            policies: config.policies,
            tiers,
            default,
        })
    }

    /// The index of the policy `key` maps to.
    fn route(&self, key: &str) -> usize {
        self.tiers
            .iter()
            .find(|(prefix, _)| key.starts_with(prefix.as_str()))
            .map_or(self.default, |&(_, index)| index)
    }
}

/// A policy's values, in the documented order: zero capacity, zero rate,
/// zero window, overflow.
fn check_values(policy: &Policy) -> Result<(), ConfigError> {
    let name = || policy.name.clone();
    let (amount, rate, window) = match &policy.algorithm {
        Algorithm::TokenBucket(p) => (p.capacity, Some(p.refill_per_sec), None),
        Algorithm::FixedWindow(p) | Algorithm::SlidingLog(p) | Algorithm::SlidingCounter(p) => {
            (p.limit, None, Some(p.window_ms))
        }
    };
    if amount == 0 {
        return Err(ConfigError::ZeroCapacity(name()));
    }
    if rate == Some(0) {
        return Err(ConfigError::ZeroRate(name()));
    }
    if window == Some(0) {
        return Err(ConfigError::ZeroWindow(name()));
    }
    if [Some(amount), rate, window]
        .into_iter()
        .flatten()
        .any(|value| value > MAX_VALUE)
    {
        return Err(ConfigError::Overflow(name()));
    }
    Ok(())
}

/// A key the limiter holds state for.
#[derive(Clone, Debug)]
struct Slot {
    /// Shared with the key map, so a key is stored once.
    key: Arc<str>,
    /// Index of the key's policy (fixed until the next `configure`).
    policy: usize,
    /// When the state becomes fresh (saturated; `u64::MAX`: never evicted).
    fresh_at: u64,
    state: State,
}

/// The reference rate limiter. See the module docs.
#[derive(Clone)]
pub struct Limiter {
    /// The effective time: the greatest clock reading seen.
    now: u64,
    config: Option<Active>,
    /// Key -> index into `slots`.
    keys: HashMap<Arc<str>, u32, KeyHashBuilder>,
    slots: Vec<Option<Slot>>,
    /// Indices of the `None` slots, reused first.
    free: Vec<u32>,
    /// `(fresh_at, slot)`, one entry per key; `fresh_at` there may be older
    /// (smaller) than the slot's own, never newer.
    expiry: BinaryHeap<Reverse<(u64, u32)>>,
    /// Off only in tests, to check that eviction is invisible.
    evict: bool,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new()
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("now", &self.now)
            .field("policies", &self.config.as_ref().map(|c| &c.policies))
            .field("tracked_keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// A limiter with no configuration: every check is denied until
    /// [`configure`](Self::configure) succeeds.
    pub fn new() -> Self {
        Limiter {
            now: 0,
            config: None,
            keys: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            expiry: BinaryHeap::new(),
            evict: true,
        }
    }

    /// A limiter that never forgets a key, to compare against.
    #[cfg(test)]
    fn without_eviction() -> Self {
        Limiter {
            evict: false,
            ..Limiter::new()
        }
    }

    /// Replaces the configuration and forgets every key's state (the
    /// effective time is kept). A refused configuration changes nothing.
    pub fn configure(&mut self, config: Config) -> Result<(), ConfigError> {
        let active = Active::new(config)?;
        self.config = Some(active);
        self.keys.clear();
        self.slots.clear();
        self.free.clear();
        self.expiry.clear();
        Ok(())
    }

    /// Decides whether `key` may spend `cost` now, and spends it if so.
    ///
    /// `now_ms` is the raw clock reading; the limiter applies its own
    /// high-water mark.
    pub fn check(&mut self, key: &str, cost: u64, now_ms: u64) -> Decision {
        self.now = self.now.max(now_ms);
        let t = self.now;
        if self.evict {
            self.evict_fresh(t);
        }
        let Some(config) = &self.config else {
            return Decision::UNCONFIGURED;
        };

        if let Some(&index) = self.keys.get(key) {
            let Some(slot) = self.slots[index as usize].as_mut() else {
                unreachable!("the key map points at an empty slot");
            };
            let policy = &config.policies[slot.policy].algorithm;
            let decision = decide(policy, &mut slot.state, cost, t);
            if decision.allowed && cost > 0 {
                slot.fresh_at = fresh_at(t, &decision);
            }
            return decision;
        }

        let policy = config.route(key);
        let algorithm = &config.policies[policy].algorithm;
        let mut state = match algorithm {
            Algorithm::TokenBucket(p) => State::Bucket(BucketState::fresh(p, t)),
            Algorithm::FixedWindow(p) => State::Fixed(FixedState::fresh(p, t)),
            Algorithm::SlidingLog(_) => State::Log(LogState::fresh()),
            Algorithm::SlidingCounter(p) => State::Counter(CounterState::fresh(p, t)),
        };
        let decision = decide(algorithm, &mut state, cost, t);
        if decision.allowed && cost > 0 {
            // The only case that creates state: a key that was fresh is not
            // fresh any more.
            self.insert(key, policy, fresh_at(t, &decision), state);
        }
        decision
    }

    /// Number of keys currently holding state (for tests and memory
    /// accounting).
    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }

    /// The policy `key` maps to under the current configuration (longest
    /// tier prefix, else default).
    pub fn policy_for(&self, key: &str) -> Option<&Policy> {
        let config = self.config.as_ref()?;
        Some(&config.policies[config.route(key)])
    }

    /// The effective time: the greatest clock reading seen so far (0 before
    /// the first check).
    pub fn effective_now(&self) -> u64 {
        self.now
    }

    fn insert(&mut self, key: &str, policy: usize, fresh_at: u64, state: State) {
        let key: Arc<str> = Arc::from(key);
        let slot = Slot {
            key: Arc::clone(&key),
            policy,
            fresh_at,
            state,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = Some(slot);
                index
            }
            None => {
                let index = u32::try_from(self.slots.len()).expect("more than 2^32 live keys");
                self.slots.push(Some(slot));
                index
            }
        };
        self.keys.insert(key, index);
        if self.evict {
            self.expiry.push(Reverse((fresh_at, index)));
        }
    }

    /// Forgets every key whose state is fresh at `t`.
    fn evict_fresh(&mut self, t: u64) {
        while let Some(&Reverse((indexed, index))) = self.expiry.peek() {
            // `u64::MAX` stands for "not before the end of time": never
            // evicted (and never re-pushed in a loop).
            if indexed > t || indexed == u64::MAX {
                break;
            }
            self.expiry.pop();
            let slot = &mut self.slots[index as usize];
            let current = slot.as_ref().map_or(0, |s| s.fresh_at);
            if current > t || current == u64::MAX {
                // Used since it was indexed: look again when it may be fresh.
                self.expiry.push(Reverse((current, index)));
            } else if let Some(gone) = slot.take() {
                self.keys.remove(&*gone.key);
                self.free.push(index);
            }
        }
    }
}

/// When a key whose last allowed request got `decision` at `t` is fresh
/// again; `u64::MAX` (never evicted) when that is past the end of time.
#[inline]
fn fresh_at(t: u64, decision: &Decision) -> u64 {
    t.saturating_add(decision.reset_ms)
}

/// Runs one check of `algorithm` on `state` (which matches it).
#[inline]
fn decide(algorithm: &Algorithm, state: &mut State, cost: u64, t: u64) -> Decision {
    match (algorithm, state) {
        (Algorithm::TokenBucket(p), State::Bucket(s)) => s.check(p, cost, t),
        (Algorithm::FixedWindow(p), State::Fixed(s)) => s.check(p, cost, t),
        (Algorithm::SlidingLog(p), State::Log(s)) => s.check(p, cost, t),
        (Algorithm::SlidingCounter(p), State::Counter(s)) => s.check(p, cost, t),
        _ => unreachable!("a key's state always matches its policy's algorithm"),
    }
}
