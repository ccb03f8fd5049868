//! The limiter itself, on the WIT types, with time passed in.
//!
//! All arithmetic is done in `u128`, where no product of two in-range values
//! (at most 10^15 each, or a cost up to u64 max times 1000) can overflow.

use std::collections::BTreeMap;

use crate::gauntlet::rate_limiter::types::{Algorithm, Config, ConfigError, Decision, Policy};

/// `retry-after-ms` for a request no wait can make allowed.
pub const NEVER: u64 = u64::MAX;

/// The largest value a policy may hold.
const MAX_VALUE: u64 = 1_000_000_000_000_000;

/// How many checks pass between two sweeps of the idle keys.
pub const SWEEP_EVERY: u64 = 1024;

/// What the limiter remembers about one key. A key with no entry is fresh.
#[derive(Clone, Debug)]
enum KeyState {
    /// Token bucket: the level in milli-tokens at `last_ms`.
    Bucket { milli_tokens: u64, last_ms: u64 },
    /// Fixed window: the count of window number `window`.
    Fixed { window: u64, count: u64 },
    /// Sliding log: every allowed request as (time, cost), oldest first.
    Log { entries: Vec<(u64, u64)> },
    /// Sliding counter: the counts of window number `window` and the one
    /// before it.
    Counter { window: u64, prev: u64, cur: u64 },
}

#[derive(Default)]
pub struct Limiter {
    /// The configuration in force, if one was ever accepted.
    config: Option<Config>,
    /// The state of every key that is not fresh (and, between sweeps, of some
    /// that became fresh since).
    keys: BTreeMap<String, KeyState>,
    /// The greatest clock reading seen so far: the limiter's time.
    high_water_ms: u64,
    /// Checks since the last sweep of idle keys.
    checks_since_sweep: u64,
}

impl Limiter {
    pub fn configure(&mut self, config: Config) -> Result<(), ConfigError> {
        validate(&config)?;
        self.config = Some(config);
        self.keys.clear();
        Ok(())
    }

    pub fn check(&mut self, key: &str, cost: u64, now_ms: u64) -> Decision {
        // The clock may step backwards; the limiter's time never does.
        self.high_water_ms = self.high_water_ms.max(now_ms);
        let t = self.high_water_ms;

        let Some(policy) = self.policy_for(key) else {
            return Decision {
                allowed: false,
                limit: 0,
                remaining: 0,
                reset_ms: 0,
                retry_after_ms: NEVER,
            };
        };

        self.checks_since_sweep += 1;
        if self.checks_since_sweep >= SWEEP_EVERY {
            self.checks_since_sweep = 0;
            self.sweep(t);
        }

        let mut state = match self.keys.get(key) {
            Some(state) => state.clone(),
            None => KeyState::new(&policy.algorithm, t),
        };
        state.advance(&policy.algorithm, t);
        let decision = state.decide(&policy.algorithm, cost, t);
        if state.is_fresh(&policy.algorithm) {
            self.keys.remove(key);
        } else {
            self.keys.insert(key.to_string(), state);
        }
        decision
    }

    /// The policy for `key`: the one of the longest tier prefix it starts
    /// with, else the default. `None` before any configuration.
    fn policy_for(&self, key: &str) -> Option<Policy> {
        let config = self.config.as_ref()?;
        let mut name = config.default_policy.clone();
        let mut longest: Option<usize> = None;
        for tier in &config.tiers {
            if key.starts_with(&tier.prefix) && longest.is_none_or(|len| tier.prefix.len() > len) {
                longest = Some(tier.prefix.len());
                name = tier.policy.clone();
            }
        }
        config
            .policies
            .iter()
            .find(|policy| policy.name == name)
            .cloned()
    }

    /// Forgets every key whose state is fresh at `t`.
    fn sweep(&mut self, t: u64) {
        let keys: Vec<String> = self.keys.keys().cloned().collect();
        for key in keys {
            let Some(policy) = self.policy_for(&key) else {
                continue;
            };
            let Some(state) = self.keys.get_mut(&key) else {
                continue;
            };
            state.advance(&policy.algorithm, t);
            if state.is_fresh(&policy.algorithm) {
                self.keys.remove(&key);
            }
        }
    }

    #[cfg(test)]
    fn tracked_keys(&self) -> usize {
        self.keys.len()
    }
}

/// Checks a configuration in the order the WIT documents.
fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.policies.is_empty() {
        return Err(ConfigError::NoPolicies);
    }
    for (i, policy) in config.policies.iter().enumerate() {
        let name = || policy.name.clone();
        if config.policies[..i]
            .iter()
            .any(|earlier| earlier.name == policy.name)
        {
            return Err(ConfigError::DuplicatePolicy(name()));
        }
        let (amount, rate, window) = match policy.algorithm {
            Algorithm::TokenBucket(bucket) => (bucket.capacity, Some(bucket.refill_per_sec), None),
            Algorithm::FixedWindow(w) | Algorithm::SlidingLog(w) | Algorithm::SlidingCounter(w) => {
                (w.limit, None, Some(w.window_ms))
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
        let values = [Some(amount), rate, window];
        if values.into_iter().flatten().any(|value| value > MAX_VALUE) {
            return Err(ConfigError::Overflow(name()));
        }
    }
    for (i, tier) in config.tiers.iter().enumerate() {
        if config.tiers[..i]
            .iter()
            .any(|earlier| earlier.prefix == tier.prefix)
        {
            return Err(ConfigError::DuplicatePrefix(tier.prefix.clone()));
        }
        if !config
            .policies
            .iter()
            .any(|policy| policy.name == tier.policy)
        {
            return Err(ConfigError::UnknownPolicy(tier.policy.clone()));
        }
    }
    if !config
        .policies
        .iter()
        .any(|policy| policy.name == config.default_policy)
    {
        return Err(ConfigError::UnknownPolicy(config.default_policy.clone()));
    }
    Ok(())
}

/// `a - b` for `a >= b`, as a u64 (every such difference here fits).
fn diff(a: u128, b: u128) -> u64 {
    u64::try_from(a - b).unwrap_or(NEVER)
}

fn div_ceil(a: u128, b: u128) -> u64 {
    u64::try_from(a.div_ceil(b)).unwrap_or(NEVER)
}

impl KeyState {
    /// The state of a key never seen (or forgotten), at `t`.
    fn new(algorithm: &Algorithm, t: u64) -> KeyState {
        match algorithm {
            Algorithm::TokenBucket(bucket) => KeyState::Bucket {
                milli_tokens: bucket.capacity * 1000,
                last_ms: t,
            },
            Algorithm::FixedWindow(w) => KeyState::Fixed {
                window: t / w.window_ms,
                count: 0,
            },
            Algorithm::SlidingLog(_) => KeyState::Log {
                entries: Vec::new(),
            },
            Algorithm::SlidingCounter(w) => KeyState::Counter {
                window: t / w.window_ms,
                prev: 0,
                cur: 0,
            },
        }
    }

    /// Brings the state to time `t` (never earlier than the state's own).
    fn advance(&mut self, algorithm: &Algorithm, t: u64) {
        match (self, algorithm) {
            (
                KeyState::Bucket {
                    milli_tokens,
                    last_ms,
                },
                Algorithm::TokenBucket(bucket),
            ) => {
                let full = u128::from(bucket.capacity) * 1000;
                let refill = u128::from(bucket.refill_per_sec) * u128::from(t - *last_ms);
                let level = (u128::from(*milli_tokens) + refill).min(full);
                *milli_tokens = level as u64;
                *last_ms = t;
            }
            (KeyState::Fixed { window, count }, Algorithm::FixedWindow(w)) => {
                let now = t / w.window_ms;
                if now != *window {
                    *window = now;
                    *count = 0;
                }
            }
            (KeyState::Log { entries }, Algorithm::SlidingLog(w)) => {
                let window_ms = u128::from(w.window_ms);
                entries.retain(|&(time, _)| u128::from(time) + window_ms > u128::from(t));
            }
            (KeyState::Counter { window, prev, cur }, Algorithm::SlidingCounter(w)) => {
                let now = t / w.window_ms;
                if window.checked_add(1) == Some(now) {
                    *prev = *cur;
                    *cur = 0;
                } else if now != *window {
                    *prev = 0;
                    *cur = 0;
                }
                *window = now;
            }
            _ => unreachable!("a key's state always matches its policy"),
        }
    }

    /// Whether the state (brought to the current time) is that of a key
    /// never seen.
    fn is_fresh(&self, algorithm: &Algorithm) -> bool {
        match (self, algorithm) {
            (KeyState::Bucket { milli_tokens, .. }, Algorithm::TokenBucket(bucket)) => {
                u128::from(*milli_tokens) == u128::from(bucket.capacity) * 1000
            }
            (KeyState::Fixed { count, .. }, _) => *count == 0,
            (KeyState::Log { entries }, _) => entries.is_empty(),
            (KeyState::Counter { prev, cur, .. }, _) => *prev == 0 && *cur == 0,
            _ => false,
        }
    }

    /// Decides a request of `cost` at `t` (the state already brought to `t`),
    /// spending it if allowed.
    fn decide(&mut self, algorithm: &Algorithm, cost: u64, t: u64) -> Decision {
        let c = u128::from(cost);
        let now = u128::from(t);
        match (self, algorithm) {
            (KeyState::Bucket { milli_tokens, .. }, Algorithm::TokenBucket(bucket)) => {
                let full = u128::from(bucket.capacity) * 1000;
                let rate = u128::from(bucket.refill_per_sec);
                let need = c * 1000;
                let allowed = u128::from(*milli_tokens) >= need;
                if allowed {
                    *milli_tokens -= need as u64;
                }
                let level = u128::from(*milli_tokens);
                let retry_after_ms = if allowed {
                    0
                } else if cost > bucket.capacity {
                    NEVER
                } else {
                    div_ceil(need - level, rate)
                };
                Decision {
                    allowed,
                    limit: bucket.capacity,
                    remaining: (level / 1000) as u64,
                    reset_ms: div_ceil(full - level, rate),
                    retry_after_ms,
                }
            }
            (KeyState::Fixed { window, count }, Algorithm::FixedWindow(w)) => {
                let limit = u128::from(w.limit);
                let allowed = u128::from(*count) + c <= limit;
                if allowed {
                    *count += cost;
                }
                let window_end = (u128::from(*window) + 1) * u128::from(w.window_ms);
                let retry_after_ms = if allowed {
                    0
                } else if cost > w.limit {
                    NEVER
                } else {
                    diff(window_end, now)
                };
                Decision {
                    allowed,
                    limit: w.limit,
                    remaining: w.limit - *count,
                    reset_ms: if *count > 0 { diff(window_end, now) } else { 0 },
                    retry_after_ms,
                }
            }
            (KeyState::Log { entries }, Algorithm::SlidingLog(w)) => {
                let limit = u128::from(w.limit);
                let window_ms = u128::from(w.window_ms);
                let used: u128 = entries.iter().map(|&(_, cost)| u128::from(cost)).sum();
                let allowed = used + c <= limit;
                if allowed && cost > 0 {
                    // Requests at the same time share one entry: the sums and
                    // times the specification reads are the same either way.
                    match entries.last_mut() {
                        Some((time, spent)) if *time == t => *spent += cost,
                        _ => entries.push((t, cost)),
                    }
                }
                let used: u128 = entries.iter().map(|&(_, cost)| u128::from(cost)).sum();
                let retry_after_ms = if allowed {
                    0
                } else if cost > w.limit {
                    NEVER
                } else {
                    // Drop entries oldest first until the request fits.
                    let mut left = used;
                    let mut last_dropped = 0;
                    for &(time, spent) in entries.iter() {
                        if left + c <= limit {
                            break;
                        }
                        left -= u128::from(spent);
                        last_dropped = time;
                    }
                    diff(u128::from(last_dropped) + window_ms, now)
                };
                Decision {
                    allowed,
                    limit: w.limit,
                    remaining: diff(limit, used),
                    reset_ms: match entries.last() {
                        Some(&(time, _)) => diff(u128::from(time) + window_ms, now),
                        None => 0,
                    },
                    retry_after_ms,
                }
            }
            (KeyState::Counter { window, prev, cur }, Algorithm::SlidingCounter(w)) => {
                let limit = u128::from(w.limit);
                let width = u128::from(w.window_ms);
                let start = u128::from(*window) * width;
                let elapsed = now - start;
                let weighted_prev = u128::from(*prev) * (width - elapsed);
                let allowed = weighted_prev + (u128::from(*cur) + c) * width <= limit * width;
                if allowed {
                    *cur += cost;
                }
                let (p, k) = (u128::from(*prev), u128::from(*cur));
                let retry_after_ms = if allowed {
                    0
                } else if cost > w.limit {
                    NEVER
                } else {
                    // The first moment the weighted estimate lets it through:
                    // later in this window if the current count alone leaves
                    // room, else in the next one (`width` there meaning the
                    // start of the window after).
                    let in_this = if k + c <= limit && p > 0 {
                        Some(width.saturating_sub((limit - k - c) * width / p))
                    } else {
                        None
                    };
                    match in_this {
                        Some(at) if at < width => diff(start + at, now),
                        _ => {
                            // With nothing counted in this window, the
                            // next one starts empty.
                            let at = ((limit - c) * width)
                                .checked_div(k)
                                .map_or(0, |room| width.saturating_sub(room));
                            diff(start + width + at, now)
                        }
                    }
                };
                let used = weighted_prev + k * width;
                let reset_ms = if *cur > 0 {
                    diff(start + 2 * width, now)
                } else if *prev > 0 {
                    diff(start + width, now)
                } else {
                    0
                };
                Decision {
                    allowed,
                    limit: w.limit,
                    remaining: ((limit * width).saturating_sub(used) / width) as u64,
                    reset_ms,
                    retry_after_ms,
                }
            }
            _ => unreachable!("a key's state always matches its policy"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gauntlet::rate_limiter::types::{Tier, TokenBucket, Window};

    fn config(algorithm: Algorithm) -> Config {
        Config {
            policies: vec![Policy {
                name: "p".to_string(),
                algorithm,
            }],
            tiers: vec![],
            default_policy: "p".to_string(),
        }
    }

    fn limiter(algorithm: Algorithm) -> Limiter {
        let mut limiter = Limiter::default();
        limiter.configure(config(algorithm)).unwrap();
        limiter
    }

    fn decision(
        allowed: bool,
        limit: u64,
        remaining: u64,
        reset_ms: u64,
        retry_after_ms: u64,
    ) -> Decision {
        Decision {
            allowed,
            limit,
            remaining,
            reset_ms,
            retry_after_ms,
        }
    }

    #[test]
    fn before_configure_every_check_is_denied_forever() {
        let mut limiter = Limiter::default();
        assert_eq!(limiter.check("a", 0, 5), decision(false, 0, 0, 0, NEVER));
    }

    #[test]
    fn token_bucket_refills_in_milli_tokens() {
        let bucket = TokenBucket {
            capacity: 2,
            refill_per_sec: 3,
        };
        let mut limiter = limiter(Algorithm::TokenBucket(bucket));
        assert_eq!(limiter.check("a", 2, 1000), decision(true, 2, 0, 667, 0));
        assert_eq!(limiter.check("a", 1, 1100), decision(false, 2, 0, 567, 234));
        assert_eq!(
            limiter.check("a", 3, 1100),
            decision(false, 2, 0, 567, NEVER)
        );
        assert_eq!(limiter.check("a", 1, 1334), decision(true, 2, 0, 666, 0));
    }

    #[test]
    fn fixed_window_resets_at_the_window_edge() {
        let window = Window {
            limit: 2,
            window_ms: 100,
        };
        let mut limiter = limiter(Algorithm::FixedWindow(window));
        assert_eq!(limiter.check("a", 2, 150), decision(true, 2, 0, 50, 0));
        assert_eq!(limiter.check("a", 1, 199), decision(false, 2, 0, 1, 1));
        assert_eq!(limiter.check("a", 1, 200), decision(true, 2, 1, 100, 0));
        assert_eq!(limiter.tracked_keys(), 1);
    }

    #[test]
    fn sliding_log_retries_when_enough_entries_expire() {
        let window = Window {
            limit: 3,
            window_ms: 100,
        };
        let mut limiter = limiter(Algorithm::SlidingLog(window));
        assert_eq!(limiter.check("a", 1, 10), decision(true, 3, 2, 100, 0));
        assert_eq!(limiter.check("a", 2, 20), decision(true, 3, 0, 100, 0));
        assert_eq!(limiter.check("a", 2, 50), decision(false, 3, 0, 70, 70));
        assert_eq!(limiter.check("a", 1, 110), decision(true, 3, 0, 100, 0));
    }

    #[test]
    fn sliding_counter_weighs_the_previous_window() {
        let window = Window {
            limit: 4,
            window_ms: 100,
        };
        let mut limiter = limiter(Algorithm::SlidingCounter(window));
        assert_eq!(limiter.check("a", 4, 50), decision(true, 4, 0, 150, 0));
        // At 125 the estimate is 4 * 75 / 100 = 3: one fits, two wait until
        // 4 * (100 - e) <= 200, e = 50.
        assert_eq!(limiter.check("a", 2, 125), decision(false, 4, 1, 75, 25));
        assert_eq!(limiter.check("a", 2, 150), decision(true, 4, 0, 150, 0));
    }

    #[test]
    fn the_clock_stepping_back_stands_time_still() {
        let window = Window {
            limit: 1,
            window_ms: 100,
        };
        let mut limiter = limiter(Algorithm::FixedWindow(window));
        assert_eq!(limiter.check("a", 1, 250), decision(true, 1, 0, 50, 0));
        assert_eq!(limiter.check("a", 1, 120), decision(false, 1, 0, 50, 50));
    }

    #[test]
    fn the_longest_prefix_wins_and_tiers_are_validated_in_order() {
        let small = Algorithm::FixedWindow(Window {
            limit: 1,
            window_ms: 10,
        });
        let big = Algorithm::FixedWindow(Window {
            limit: 5,
            window_ms: 10,
        });
        let mut config = Config {
            policies: vec![
                Policy {
                    name: "small".to_string(),
                    algorithm: small,
                },
                Policy {
                    name: "big".to_string(),
                    algorithm: big,
                },
            ],
            tiers: vec![
                Tier {
                    prefix: "p".to_string(),
                    policy: "small".to_string(),
                },
                Tier {
                    prefix: "pro:".to_string(),
                    policy: "big".to_string(),
                },
            ],
            default_policy: "small".to_string(),
        };
        let mut limiter = Limiter::default();
        limiter.configure(config.clone()).unwrap();
        assert_eq!(limiter.check("pro:x", 1, 0).limit, 5);
        assert_eq!(limiter.check("px", 1, 0).limit, 1);
        assert_eq!(limiter.check("x", 1, 0).limit, 1);

        config.tiers.push(Tier {
            prefix: "p".to_string(),
            policy: "nope".to_string(),
        });
        config.default_policy = "nope".to_string();
        assert_eq!(
            limiter.configure(config),
            Err(ConfigError::DuplicatePrefix("p".to_string()))
        );
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let window = Window {
            limit: 1,
            window_ms: 10,
        };
        let mut limiter = limiter(Algorithm::SlidingLog(window));
        for i in 0..100_000u64 {
            limiter.check(&i.to_string(), 1, i);
        }
        assert!(limiter.tracked_keys() <= SWEEP_EVERY as usize + 10);
    }
}
