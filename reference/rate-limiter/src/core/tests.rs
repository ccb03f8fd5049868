//! Native tests of the core: hand-computed decisions for each algorithm, the
//! edges the scenarios hit (window boundaries, clock steps, huge values),
//! configuration errors, tiers, and randomised checks against a naive model
//! written straight from the WIT text (retry-after and reset found by brute
//! force), plus eviction being invisible and bounding memory.

use std::collections::BTreeMap;

use super::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn tb(capacity: u64, refill_per_sec: u64) -> Algorithm {
    Algorithm::TokenBucket(TokenBucket {
        capacity,
        refill_per_sec,
    })
}

fn fw(limit: u64, window_ms: u64) -> Algorithm {
    Algorithm::FixedWindow(Window { limit, window_ms })
}

fn sl(limit: u64, window_ms: u64) -> Algorithm {
    Algorithm::SlidingLog(Window { limit, window_ms })
}

fn sc(limit: u64, window_ms: u64) -> Algorithm {
    Algorithm::SlidingCounter(Window { limit, window_ms })
}

fn policy(name: &str, algorithm: Algorithm) -> Policy {
    Policy {
        name: name.to_owned(),
        algorithm,
    }
}

fn tier(prefix: &str, policy: &str) -> Tier {
    Tier {
        prefix: prefix.to_owned(),
        policy: policy.to_owned(),
    }
}

fn single_config(algorithm: Algorithm) -> Config {
    Config {
        policies: vec![policy("p", algorithm)],
        tiers: vec![],
        default_policy: "p".into(),
    }
}

/// A limiter configured with one policy, the default for every key.
fn single(algorithm: Algorithm) -> Limiter {
    let mut limiter = Limiter::new();
    limiter.configure(single_config(algorithm)).unwrap();
    limiter
}

fn allow(limit: u64, remaining: u64, reset_ms: u64) -> Decision {
    Decision {
        allowed: true,
        limit,
        remaining,
        reset_ms,
        retry_after_ms: 0,
    }
}

fn deny(limit: u64, remaining: u64, reset_ms: u64, retry_after_ms: u64) -> Decision {
    Decision {
        allowed: false,
        limit,
        remaining,
        reset_ms,
        retry_after_ms,
    }
}

/// splitmix64: a tiny deterministic generator for the randomised tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

// ---------------------------------------------------------------------------
// Before configuration
// ---------------------------------------------------------------------------

#[test]
fn unconfigured_denies_everything() {
    let mut limiter = Limiter::new();
    for cost in [0, 1, u64::MAX] {
        assert_eq!(limiter.check("k", cost, 1_000), deny(0, 0, 0, NEVER));
    }
    assert_eq!(Decision::UNCONFIGURED, deny(0, 0, 0, NEVER));
    assert_eq!(limiter.tracked_keys(), 0);
    assert!(limiter.policy_for("k").is_none());
    // The reading was still seen: the high-water mark is 1000.
    assert_eq!(limiter.effective_now(), 1_000);
}

#[test]
fn default_is_new() {
    let mut limiter = Limiter::default();
    assert_eq!(limiter.check("k", 1, 0), Decision::UNCONFIGURED);
}

// ---------------------------------------------------------------------------
// Token bucket
// ---------------------------------------------------------------------------

#[test]
fn token_bucket_exact() {
    // C = 10, R = 2 tokens/s = 2 milli-tokens/ms.
    let mut l = single(tb(10, 2));
    // New key starts full: 10000 -> 6000.
    assert_eq!(l.check("a", 4, 1_000), allow(10, 6, 2_000));
    // Need 7000 > 6000: short 1000 milli-tokens = 500 ms.
    assert_eq!(l.check("a", 7, 1_000), deny(10, 6, 2_000, 500));
    assert_eq!(l.check("a", 7, 1_499), deny(10, 6, 1_501, 1));
    // 500 ms later: 7000, exactly enough.
    assert_eq!(l.check("a", 7, 1_500), allow(10, 0, 5_000));
    assert_eq!(l.check("a", 1, 1_500), deny(10, 0, 5_000, 500));
    // Cost 0: allowed, nothing spent.
    assert_eq!(l.check("a", 0, 1_750), allow(10, 0, 4_750));
    assert_eq!(l.check("a", 0, 2_000), allow(10, 1, 4_500));
    // Full again at 6500; at 6499 one milli-token is missing.
    assert_eq!(l.check("a", 0, 6_499), allow(10, 9, 1));
    assert_eq!(l.check("a", 10, 6_499), deny(10, 9, 1, 1));
    assert_eq!(l.check("a", 10, 6_500), allow(10, 0, 5_000));
    // Other keys are independent.
    assert_eq!(l.check("b", 10, 6_500), allow(10, 0, 5_000));
}

#[test]
fn token_bucket_fractional_refill() {
    // R = 3 tokens/s: one token takes 333.33 ms, so 334 ms.
    let mut l = single(tb(2, 3));
    assert_eq!(l.check("a", 2, 0), allow(2, 0, 667));
    assert_eq!(l.check("a", 1, 0), deny(2, 0, 667, 334));
    // 999 milli-tokens at 333 ms: not yet one token.
    assert_eq!(l.check("a", 1, 333), deny(2, 0, 334, 1));
    // 1002 at 334 ms; 2 milli-tokens are kept after spending.
    assert_eq!(l.check("a", 1, 334), allow(2, 0, 666));
    // level 2 + 3 * 332 = 998 at 666: short 2 -> 1 ms.
    assert_eq!(l.check("a", 1, 666), deny(2, 0, 334, 1));
    assert_eq!(l.check("a", 1, 667), allow(2, 0, 667));
}

#[test]
fn token_bucket_cost_above_capacity_is_never() {
    let mut l = single(tb(5, 1));
    assert_eq!(l.check("a", 6, 0), deny(5, 5, 0, NEVER));
    assert_eq!(l.check("a", u64::MAX, 0), deny(5, 5, 0, NEVER));
    assert_eq!(l.tracked_keys(), 0);
    assert_eq!(l.check("a", 5, 0), allow(5, 0, 5_000));
    assert_eq!(l.check("a", 6, 0), deny(5, 0, 5_000, NEVER));
}

// ---------------------------------------------------------------------------
// Fixed window
// ---------------------------------------------------------------------------

#[test]
fn fixed_window_exact() {
    let mut l = single(fw(3, 1_000));
    assert_eq!(l.check("a", 0, 2_500), allow(3, 3, 0));
    assert_eq!(l.check("a", 2, 2_500), allow(3, 1, 500));
    assert_eq!(l.check("a", 2, 2_999), deny(3, 1, 1, 1));
    assert_eq!(l.check("a", 1, 2_999), allow(3, 0, 1));
    // The window [3000, 4000) starts empty.
    assert_eq!(l.check("a", 0, 3_000), allow(3, 3, 0));
    assert_eq!(l.check("a", 3, 3_000), allow(3, 0, 1_000));
    assert_eq!(l.check("a", 1, 3_001), deny(3, 0, 999, 999));
    assert_eq!(l.check("a", 4, 3_001), deny(3, 0, 999, NEVER));
}

#[test]
fn fixed_window_double_burst_at_the_edge() {
    // The classic weakness: 2L within 2 ms around a boundary.
    let mut l = single(fw(5, 100));
    assert_eq!(l.check("a", 5, 99), allow(5, 0, 1));
    assert_eq!(l.check("a", 1, 99), deny(5, 0, 1, 1));
    assert_eq!(l.check("a", 5, 100), allow(5, 0, 100));
}

// ---------------------------------------------------------------------------
// Sliding log
// ---------------------------------------------------------------------------

#[test]
fn sliding_log_exact() {
    let mut l = single(sl(5, 1_000));
    assert_eq!(l.check("a", 2, 100), allow(5, 3, 1_000));
    assert_eq!(l.check("a", 2, 400), allow(5, 1, 1_000));
    assert_eq!(l.check("a", 1, 700), allow(5, 0, 1_000));
    // used 5; dropping 100 (2) leaves 3 + 3 > 5, dropping 400 (2) leaves
    // 1 + 3 <= 5: retry at 400 + 1000.
    assert_eq!(l.check("a", 3, 800), deny(5, 0, 900, 600));
    assert_eq!(l.check("a", 6, 800), deny(5, 0, 900, NEVER));
    // At 1100 the entry at 100 is out ((100, 1100] excludes 100).
    assert_eq!(l.check("a", 3, 1_099), deny(5, 0, 601, 301));
    assert_eq!(l.check("a", 3, 1_100), deny(5, 2, 600, 300));
    assert_eq!(l.check("a", 3, 1_399), deny(5, 2, 301, 1));
    assert_eq!(l.check("a", 3, 1_400), allow(5, 1, 1_000));
    // Now 700 (1) and 1400 (3): reset follows the newest entry.
    assert_eq!(l.check("a", 0, 1_700), allow(5, 2, 700));
    assert_eq!(l.check("a", 0, 2_399), allow(5, 2, 1));
    assert_eq!(l.check("a", 0, 2_400), allow(5, 5, 0));
}

#[test]
fn sliding_log_same_millisecond_entries() {
    let mut l = Limiter::without_eviction();
    l.configure(single_config(sl(10, 100))).unwrap();
    for i in 0..10 {
        assert_eq!(l.check("a", 1, 5), allow(10, 9 - i, 100));
    }
    assert_eq!(l.check("a", 1, 50), deny(10, 0, 55, 55));
    let index = l.keys["a"];
    match &l.slots[index as usize].as_ref().unwrap().state {
        State::Log(log) => assert_eq!(log.len(), 1),
        _ => unreachable!(),
    }
    assert_eq!(l.check("a", 10, 105), allow(10, 0, 100));
}

#[test]
fn sliding_log_before_the_first_window() {
    // t < W: nothing is dropped, and entries at 0 count.
    let mut l = single(sl(2, 1_000));
    assert_eq!(l.check("a", 1, 0), allow(2, 1, 1_000));
    assert_eq!(l.check("a", 1, 10), allow(2, 0, 1_000));
    assert_eq!(l.check("a", 1, 999), deny(2, 0, 11, 1));
    assert_eq!(l.check("a", 1, 1_000), allow(2, 0, 1_000));
}

// ---------------------------------------------------------------------------
// Sliding counter
// ---------------------------------------------------------------------------

#[test]
fn sliding_counter_exact() {
    let mut l = single(sc(10, 1_000));
    // Window 0: cur = 6.
    assert_eq!(l.check("a", 6, 500), allow(10, 4, 1_500));
    // Window 1, e = 250: prev 6 weighs 6 * 750 = 4500 (of 10000).
    // 4500 + 5000 <= 10000; remaining floor(500 / 1000) = 0.
    assert_eq!(l.check("a", 5, 1_250), allow(10, 0, 1_750));
    // 4500 + 6000 > 10000. e' = 1000 - floor(4 * 1000 / 6) = 334.
    assert_eq!(l.check("a", 1, 1_250), deny(10, 0, 1_750, 84));
    assert_eq!(l.check("a", 1, 1_333), deny(10, 0, 1_667, 1));
    // cur + c = 11 > 10: window 2 at e' = 1000 - floor(4 * 1000 / 5) = 200.
    assert_eq!(l.check("a", 6, 1_333), deny(10, 0, 1_667, 867));
    // Window 2, e = 199: prev 5 weighs 5 * 801.
    assert_eq!(l.check("a", 6, 2_199), deny(10, 5, 801, 1));
    assert_eq!(l.check("a", 11, 2_199), deny(10, 5, 801, NEVER));
    // At 2200: 5 * 800 + 6000 = 10000, exactly the limit.
    assert_eq!(l.check("a", 6, 2_200), allow(10, 0, 1_800));
    // Another key is untouched.
    assert_eq!(l.check("b", 0, 2_200), allow(10, 10, 0));
}

#[test]
fn sliding_counter_prev_only_and_expiry() {
    let mut l = single(sc(4, 100));
    assert_eq!(l.check("a", 4, 50), allow(4, 0, 150));
    // Window 1: prev = 4, cur = 0.
    assert_eq!(l.check("a", 0, 100), allow(4, 0, 100));
    assert_eq!(l.check("a", 0, 175), allow(4, 3, 25));
    // Window 2: fresh.
    assert_eq!(l.check("a", 0, 200), allow(4, 4, 0));
}

#[test]
fn sliding_counter_retry_clamps_at_window_start() {
    // The WIT's window-(k + 1) formula W - floor((L - c) * W / cur) goes
    // below 0 here (10 - 11); the first allowed time is the start of k + 1.
    let mut l = single(sc(100, 10));
    assert_eq!(l.check("a", 100, 0), allow(100, 0, 20));
    // Window 1, e = 5: 100 * 5 + 50 * 10 = 1000.
    assert_eq!(l.check("a", 50, 15), allow(100, 0, 15));
    // 500 + 950 > 1000. Window 1: e' = 10 - floor(5 * 10 / 100) = 10, not
    // < W. Window 2: 10 - floor(55 * 10 / 50) = -1 -> 0: t' = 20.
    assert_eq!(l.check("a", 45, 15), deny(100, 0, 15, 5));
    assert_eq!(l.check("a", 45, 19), deny(100, 40, 11, 1));
    assert_eq!(l.check("a", 45, 20), allow(100, 5, 20));
}

#[test]
fn sliding_counter_start_of_window_after_next() {
    // e' = W in window k + 1 means the start of window k + 2.
    let mut l = single(sc(10, 100));
    assert_eq!(l.check("a", 10, 0), allow(10, 0, 200));
    // Window 1, e = 0: prev = 10 weighs fully.
    assert_eq!(l.check("a", 0, 100), allow(10, 0, 100));
    // e = 50: 10 * 50 + 1 * 100 <= 1000.
    assert_eq!(l.check("a", 1, 150), allow(10, 4, 150));
    // cur = 1 in window 1. A cost of 10 needs both windows gone: in window
    // 2, 1 * (100 - e') + 10 * 100 > 1000 until its end; floor(0 * 100 / 1)
    // = 0 -> e' = W, the start of window 3.
    assert_eq!(l.check("a", 10, 150), deny(10, 4, 150, 150));
    assert_eq!(l.check("a", 10, 299), deny(10, 9, 1, 1));
    assert_eq!(l.check("a", 10, 300), allow(10, 0, 200));
}

// ---------------------------------------------------------------------------
// Cost 0, denials and state
// ---------------------------------------------------------------------------

#[test]
fn cost_zero_and_denials_create_no_state() {
    for algorithm in [tb(3, 1), fw(3, 100), sl(3, 100), sc(3, 100)] {
        let mut l = single(algorithm);
        assert_eq!(l.check("a", 0, 10), allow(3, 3, 0));
        assert_eq!(l.check("b", 4, 10), deny(3, 3, 0, NEVER));
        assert_eq!(l.tracked_keys(), 0);
        assert!(l.check("c", 1, 10).allowed);
        assert_eq!(l.tracked_keys(), 1);
    }
}

// ---------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------

#[test]
fn clock_backwards_stands_still() {
    let mut l = single(tb(10, 1_000));
    let t0 = 5_000_000;
    assert_eq!(l.check("a", 10, t0), allow(10, 0, 10));
    // The clock steps back an hour: no tokens appear, time stands still.
    assert_eq!(l.check("a", 1, t0 - 3_600_000), deny(10, 0, 10, 1));
    assert_eq!(l.check("a", 1, t0 - 3_599_000), deny(10, 0, 10, 1));
    assert_eq!(l.check("a", 1, 0), deny(10, 0, 10, 1));
    assert_eq!(l.effective_now(), t0);
    // Catching up to t0 + 1 refills one token.
    assert_eq!(l.check("a", 1, t0 + 1), allow(10, 0, 10));

    let mut l = single(fw(1, 100));
    assert_eq!(l.check("a", 1, 150), allow(1, 0, 50));
    // Back into window 0: still window 1 for the limiter.
    assert_eq!(l.check("a", 1, 50), deny(1, 0, 50, 50));
    assert_eq!(l.check("a", 1, 200), allow(1, 0, 100));
}

#[test]
fn clock_backwards_is_global() {
    // The high-water mark is one for all keys, and survives configure.
    let mut l = single(fw(1, 100));
    assert!(l.check("a", 1, 1_000).allowed);
    // Key b never saw 1000 but the limiter did: b is in window 10.
    assert_eq!(l.check("b", 1, 50), allow(1, 0, 100));
    l.configure(single_config(fw(1, 100))).unwrap();
    assert_eq!(l.check("c", 1, 50), allow(1, 0, 100));
    assert_eq!(l.effective_now(), 1_000);
}

#[test]
fn clock_forward_by_days() {
    const DAY: u64 = 86_400_000;
    let start = 1_700_000_000_000;
    for algorithm in [
        tb(MAX_VALUE, MAX_VALUE),
        tb(5, 1),
        fw(5, 60_000),
        sl(5, 60_000),
        sc(5, 60_000),
    ] {
        let mut l = single(algorithm.clone());
        let limit = algorithm.limit();
        assert!(l.check("a", limit, start).allowed);
        assert!(!l.check("a", 1, start).allowed);
        let later = start + 30 * DAY;
        let d = l.check("a", limit, later);
        assert!(d.allowed, "{algorithm:?}: {d:?}");
        assert_eq!(d.remaining, 0);
    }
}

#[test]
fn clock_at_the_end_of_time() {
    // Readings near u64::MAX: no overflow, and (k + 1) * W past u64::MAX.
    let end = u64::MAX;
    for algorithm in [
        tb(MAX_VALUE, 1),
        tb(3, 1),
        fw(3, MAX_VALUE),
        sl(3, MAX_VALUE),
        sc(3, MAX_VALUE),
        fw(3, 7),
        sl(3, 7),
        sc(3, 7),
    ] {
        let mut evicting = single(algorithm.clone());
        let mut keeping = Limiter::without_eviction();
        keeping.configure(single_config(algorithm.clone())).unwrap();
        for (cost, t) in [
            (2, end - 10),
            (1, end - 9),
            (1, end - 1),
            (1, end),
            (2, end),
            (0, end),
            (3, end),
        ] {
            let a = evicting.check("a", cost, t);
            let b = keeping.check("a", cost, t);
            assert_eq!(a, b, "{algorithm:?} at {t}");
        }
    }
    // Specific values at the end of time.
    let mut l = single(fw(3, 7));
    // u64::MAX % 7 = 1 (2^64 = 2 mod 7): 6 ms to the next window.
    assert_eq!(l.check("a", 3, end), allow(3, 0, 6));
    assert_eq!(l.check("a", 1, end), deny(3, 0, 6, 6));
    let mut l = single(sc(3, 7));
    assert_eq!(l.check("a", 3, end), allow(3, 0, 13));
    let mut l = single(sl(3, 7));
    assert_eq!(l.check("a", 3, end - 3), allow(3, 0, 7));
    assert_eq!(l.check("a", 1, end), deny(3, 0, 4, 4));
}

// ---------------------------------------------------------------------------
// Huge values
// ---------------------------------------------------------------------------

#[test]
fn values_at_max_value() {
    let m = MAX_VALUE;
    let mut l = single(tb(m, m));
    assert_eq!(l.check("a", m, 0), allow(m, 0, 1_000));
    assert_eq!(l.check("a", 1, 0), deny(m, 0, 1_000, 1));
    assert_eq!(l.check("a", u64::MAX, 0), deny(m, 0, 1_000, NEVER));
    assert_eq!(l.check("a", m, 1_000), allow(m, 0, 1_000));
    // 1 ms refills m milli-tokens (m / 1000 tokens); the bucket is full
    // again 1000 ms after it was empty.
    assert_eq!(l.check("a", 1, 1_001), allow(m, m / 1_000 - 1, 1_000));

    // Slowest refill: 10^15 tokens at 1 token/s take 10^18 ms.
    let mut l = single(tb(m, 1));
    assert_eq!(l.check("a", m, 5), allow(m, 0, m * 1_000));
    assert_eq!(l.check("a", m, 5), deny(m, 0, m * 1_000, m * 1_000));

    for algorithm in [fw(m, m), sl(m, m), sc(m, m)] {
        let mut l = single(algorithm.clone());
        assert_eq!(
            l.check("a", u64::MAX, 3),
            deny(m, m, 0, NEVER),
            "{algorithm:?}"
        );
        assert_eq!(l.check("a", m - 1, 3).remaining, 1, "{algorithm:?}");
        assert!(!l.check("a", 2, 3).allowed, "{algorithm:?}");
        assert_eq!(
            l.check("a", u64::MAX, 3).retry_after_ms,
            NEVER,
            "{algorithm:?}"
        );
        assert_eq!(l.check("a", 1, 3).remaining, 0, "{algorithm:?}");
    }
    let mut l = single(fw(m, m));
    assert_eq!(l.check("a", m, m + 5), allow(m, 0, m - 5));
    let mut l = single(sl(m, m));
    assert_eq!(l.check("a", m, m + 5), allow(m, 0, m));
    assert_eq!(l.check("a", 1, 2 * m + 4), deny(m, 0, 1, 1));
    let mut l = single(sc(m, m));
    assert_eq!(l.check("a", m, m + 5), allow(m, 0, 2 * m - 5));
    // Window 2, e = 5: prev m weighs m * (m - 5) of m * m.
    assert_eq!(l.check("a", 5, 2 * m + 5), allow(m, 0, 2 * m - 5));
    assert_eq!(l.check("a", 1, 2 * m + 5), deny(m, 0, 2 * m - 5, 1));
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

#[test]
fn config_errors_in_order() {
    let ok = || policy("ok", tb(1, 1));
    let cases: Vec<(Config, ConfigError)> = vec![
        (
            Config {
                policies: vec![],
                tiers: vec![tier("x", "nope")],
                default_policy: "nope".into(),
            },
            ConfigError::NoPolicies,
        ),
        // Duplicate name before the values of the duplicate.
        (
            Config {
                policies: vec![ok(), policy("ok", tb(0, 0))],
                tiers: vec![],
                default_policy: "ok".into(),
            },
            ConfigError::DuplicatePolicy("ok".into()),
        ),
        // A bad first policy is reported before a later duplicate.
        (
            Config {
                policies: vec![policy("a", fw(0, 0)), policy("a", tb(1, 1))],
                tiers: vec![],
                default_policy: "a".into(),
            },
            ConfigError::ZeroCapacity("a".into()),
        ),
        // Values: zero capacity, zero rate, zero window, overflow.
        (
            single_named("b", tb(0, 0)),
            ConfigError::ZeroCapacity("b".into()),
        ),
        (
            single_named("b", tb(MAX_VALUE + 1, 0)),
            ConfigError::ZeroRate("b".into()),
        ),
        (
            single_named("b", tb(1, MAX_VALUE + 1)),
            ConfigError::Overflow("b".into()),
        ),
        (
            single_named("b", tb(MAX_VALUE + 1, 1)),
            ConfigError::Overflow("b".into()),
        ),
        (
            single_named("b", sl(0, 0)),
            ConfigError::ZeroCapacity("b".into()),
        ),
        (
            single_named("b", sc(u64::MAX, 0)),
            ConfigError::ZeroWindow("b".into()),
        ),
        (
            single_named("b", fw(1, MAX_VALUE + 1)),
            ConfigError::Overflow("b".into()),
        ),
        (
            single_named("b", sl(MAX_VALUE + 1, 1)),
            ConfigError::Overflow("b".into()),
        ),
        (
            single_named("b", sc(u64::MAX, u64::MAX)),
            ConfigError::Overflow("b".into()),
        ),
        // Policies before tiers, tiers before the default.
        (
            Config {
                policies: vec![ok(), policy("z", fw(1, 0))],
                tiers: vec![tier("a", "ok"), tier("a", "ok")],
                default_policy: "nope".into(),
            },
            ConfigError::ZeroWindow("z".into()),
        ),
        (
            Config {
                policies: vec![ok()],
                tiers: vec![tier("a", "ok"), tier("b", "nope"), tier("a", "ok")],
                default_policy: "nope2".into(),
            },
            ConfigError::UnknownPolicy("nope".into()),
        ),
        // Within a tier: duplicate prefix before unknown policy.
        (
            Config {
                policies: vec![ok()],
                tiers: vec![tier("a", "ok"), tier("a", "nope")],
                default_policy: "nope2".into(),
            },
            ConfigError::DuplicatePrefix("a".into()),
        ),
        (
            Config {
                policies: vec![ok()],
                tiers: vec![tier("", "ok")],
                default_policy: "nope".into(),
            },
            ConfigError::UnknownPolicy("nope".into()),
        ),
    ];
    for (config, error) in cases {
        let mut l = Limiter::new();
        assert_eq!(
            l.configure(config.clone()),
            Err(error.clone()),
            "{config:?}"
        );
        assert!(!error.to_string().is_empty());
        assert_eq!(l.check("k", 1, 0), Decision::UNCONFIGURED);
    }
}

fn single_named(name: &str, algorithm: Algorithm) -> Config {
    Config {
        policies: vec![policy(name, algorithm)],
        tiers: vec![],
        default_policy: name.into(),
    }
}

#[test]
fn max_value_itself_is_accepted() {
    for algorithm in [
        tb(MAX_VALUE, MAX_VALUE),
        fw(MAX_VALUE, MAX_VALUE),
        sl(MAX_VALUE, MAX_VALUE),
        sc(MAX_VALUE, MAX_VALUE),
    ] {
        assert_eq!(Limiter::new().configure(single_config(algorithm)), Ok(()));
    }
}

#[test]
fn refused_configure_changes_nothing() {
    let mut l = single(fw(2, 1_000));
    assert_eq!(l.check("a", 2, 10), allow(2, 0, 990));
    assert_eq!(
        l.configure(single_config(fw(0, 1_000))),
        Err(ConfigError::ZeroCapacity("p".into()))
    );
    assert_eq!(l.check("a", 1, 20), deny(2, 0, 980, 980));
    assert_eq!(l.policy_for("a").unwrap().algorithm, fw(2, 1_000));
    // A successful configure forgets every key.
    l.configure(single_config(fw(2, 1_000))).unwrap();
    assert_eq!(l.tracked_keys(), 0);
    assert_eq!(l.check("a", 1, 20), allow(2, 1, 980));
}

#[test]
fn tiers_longest_prefix_wins() {
    let config = Config {
        policies: vec![
            policy("free", fw(1, 1_000)),
            policy("premium", fw(10, 1_000)),
            policy("vip", tb(100, 1)),
            policy("all", sl(5, 1_000)),
        ],
        tiers: vec![
            tier("user:", "free"),
            tier("user:premium:vip:", "vip"),
            tier("user:premium:", "premium"),
        ],
        default_policy: "all".into(),
    };
    let mut l = Limiter::new();
    l.configure(config).unwrap();
    let name = |l: &Limiter, key: &str| l.policy_for(key).unwrap().name.clone();
    assert_eq!(name(&l, "user:1"), "free");
    assert_eq!(name(&l, "user:premium:1"), "premium");
    assert_eq!(name(&l, "user:premium:vip:1"), "vip");
    assert_eq!(name(&l, "user:premium:vip:"), "vip");
    assert_eq!(name(&l, "user:premium"), "free");
    assert_eq!(name(&l, "user"), "all");
    assert_eq!(name(&l, ""), "all");
    assert_eq!(name(&l, "ip:1.2.3.4"), "all");
    assert_eq!(l.check("user:1", 1, 0), allow(1, 0, 1_000));
    assert_eq!(l.check("user:premium:1", 1, 0), allow(10, 9, 1_000));
    assert_eq!(l.check("user:premium:vip:1", 1, 0), allow(100, 99, 1_000));
    assert_eq!(l.check("ip:1", 1, 0), allow(5, 4, 1_000));

    // An empty prefix catches every key no longer prefix matches.
    let mut l = Limiter::new();
    l.configure(Config {
        policies: vec![policy("a", fw(1, 1)), policy("b", fw(2, 1))],
        tiers: vec![tier("", "b"), tier("x", "a")],
        default_policy: "a".into(),
    })
    .unwrap();
    assert_eq!(name(&l, "y"), "b");
    assert_eq!(name(&l, "xy"), "a");
    // Multi-byte prefixes match on bytes of whole characters.
    l.configure(Config {
        policies: vec![policy("a", fw(1, 1)), policy("b", fw(2, 1))],
        tiers: vec![tier("é", "b")],
        default_policy: "a".into(),
    })
    .unwrap();
    assert_eq!(name(&l, "éa"), "b");
    assert_eq!(name(&l, "e"), "a");
    assert_eq!(name(&l, "€"), "a");
}

// ---------------------------------------------------------------------------
// A naive model, straight from the WIT text
// ---------------------------------------------------------------------------

/// One key's state in the naive model: no cleverness, 128-bit everything.
#[derive(Clone, Debug)]
enum Naive {
    Bucket { level: u128, last: u128 },
    Fixed { k: u128, count: u128 },
    Log(Vec<(u128, u128)>),
    Counter { k: u128, cur: u128, prev: u128 },
}

impl Naive {
    fn fresh(algorithm: &Algorithm, t: u128) -> Naive {
        match algorithm {
            Algorithm::TokenBucket(p) => Naive::Bucket {
                level: u128::from(p.capacity) * 1000,
                last: t,
            },
            Algorithm::FixedWindow(p) => Naive::Fixed {
                k: t / u128::from(p.window_ms),
                count: 0,
            },
            Algorithm::SlidingLog(_) => Naive::Log(Vec::new()),
            Algorithm::SlidingCounter(p) => Naive::Counter {
                k: t / u128::from(p.window_ms),
                cur: 0,
                prev: 0,
            },
        }
    }

    /// The state as time passes to `t` with no request.
    fn at(&self, algorithm: &Algorithm, t: u128) -> Naive {
        match (self, algorithm) {
            (Naive::Bucket { level, last }, Algorithm::TokenBucket(p)) => Naive::Bucket {
                level: (u128::from(p.capacity) * 1000)
                    .min(level + u128::from(p.refill_per_sec) * (t - last)),
                last: t,
            },
            (Naive::Fixed { k, count }, Algorithm::FixedWindow(p)) => {
                let now = t / u128::from(p.window_ms);
                Naive::Fixed {
                    k: now,
                    count: if now == *k { *count } else { 0 },
                }
            }
            (Naive::Log(entries), Algorithm::SlidingLog(p)) => Naive::Log(
                entries
                    .iter()
                    .copied()
                    .filter(|&(time, _)| time + u128::from(p.window_ms) > t)
                    .collect(),
            ),
            (Naive::Counter { k, cur, prev }, Algorithm::SlidingCounter(p)) => {
                let now = t / u128::from(p.window_ms);
                let (cur, prev) = if now == *k {
                    (*cur, *prev)
                } else if now == k + 1 {
                    (0, *cur)
                } else {
                    (0, 0)
                };
                Naive::Counter { k: now, cur, prev }
            }
            _ => unreachable!(),
        }
    }

    /// Whether `cost` is allowed on this state (already at `t`).
    fn allows(&self, algorithm: &Algorithm, cost: u64, t: u128) -> bool {
        let c = u128::from(cost);
        match (self, algorithm) {
            (Naive::Bucket { level, .. }, Algorithm::TokenBucket(_)) => *level >= c * 1000,
            (Naive::Fixed { count, .. }, Algorithm::FixedWindow(p)) => {
                count + c <= u128::from(p.limit)
            }
            (Naive::Log(entries), Algorithm::SlidingLog(p)) => {
                entries.iter().map(|e| e.1).sum::<u128>() + c <= u128::from(p.limit)
            }
            (Naive::Counter { cur, prev, .. }, Algorithm::SlidingCounter(p)) => {
                let w = u128::from(p.window_ms);
                let e = t % w;
                prev * (w - e) + (cur + c) * w <= u128::from(p.limit) * w
            }
            _ => unreachable!(),
        }
    }

    fn spend(&mut self, cost: u64, t: u128) {
        let c = u128::from(cost);
        match self {
            Naive::Bucket { level, .. } => *level -= c * 1000,
            Naive::Fixed { count, .. } => *count += c,
            Naive::Log(entries) => {
                if c > 0 {
                    entries.push((t, c));
                }
            }
            Naive::Counter { cur, .. } => *cur += c,
        }
    }

    fn remaining(&self, algorithm: &Algorithm, t: u128) -> u128 {
        let limit = u128::from(algorithm.limit());
        match self {
            Naive::Bucket { level, .. } => level / 1000,
            Naive::Fixed { count, .. } => limit - count,
            Naive::Log(entries) => limit - entries.iter().map(|e| e.1).sum::<u128>(),
            Naive::Counter { cur, prev, .. } => {
                let Algorithm::SlidingCounter(p) = algorithm else {
                    unreachable!()
                };
                let w = u128::from(p.window_ms);
                (limit * w).saturating_sub(prev * (w - t % w) + cur * w) / w
            }
        }
    }

    fn is_fresh(&self, algorithm: &Algorithm) -> bool {
        match self {
            Naive::Bucket { level, .. } => *level == u128::from(algorithm.limit()) * 1000,
            Naive::Fixed { count, .. } => *count == 0,
            Naive::Log(entries) => entries.is_empty(),
            Naive::Counter { cur, prev, .. } => *cur == 0 && *prev == 0,
        }
    }
}

/// The naive limiter: one policy, a map of every key ever allowed, reset and
/// retry-after found by trying every millisecond.
struct NaiveLimiter {
    algorithm: Algorithm,
    now: u128,
    keys: BTreeMap<String, Naive>,
}

impl NaiveLimiter {
    fn new(algorithm: Algorithm) -> Self {
        NaiveLimiter {
            algorithm,
            now: 0,
            keys: BTreeMap::new(),
        }
    }

    fn check(&mut self, key: &str, cost: u64, now_ms: u64) -> Decision {
        let alg = self.algorithm.clone();
        self.now = self.now.max(u128::from(now_ms));
        let t = self.now;
        let mut state = match self.keys.get(key) {
            Some(state) => state.at(&alg, t),
            None => Naive::fresh(&alg, t),
        };
        let allowed = state.allows(&alg, cost, t);
        if allowed {
            state.spend(cost, t);
            if cost > 0 {
                self.keys.insert(key.to_owned(), state.clone());
            }
        }
        const BOUND: u128 = 1_000_000;
        let reset_ms = (0..BOUND)
            .find(|d| state.at(&alg, t + d).is_fresh(&alg))
            .expect("reset");
        let retry_after_ms = if allowed {
            0
        } else if cost > alg.limit() {
            NEVER
        } else {
            let d = (1..BOUND)
                .find(|d| state.at(&alg, t + d).allows(&alg, cost, t + d))
                .expect("retry");
            u64::try_from(d).unwrap()
        };
        Decision {
            allowed,
            limit: alg.limit(),
            remaining: u64::try_from(state.remaining(&alg, t)).unwrap(),
            reset_ms: u64::try_from(reset_ms).unwrap(),
            retry_after_ms,
        }
    }
}

/// Small configurations of every algorithm, so brute force stays cheap.
fn small_algorithms(rng: &mut Rng, count: usize) -> Vec<Algorithm> {
    let mut out = vec![
        tb(1, 1),
        tb(3, 7),
        fw(1, 1),
        sl(1, 1),
        sc(1, 1),
        sc(7, 3),
        sc(3, 7),
        sl(4, 9),
    ];
    while out.len() < count {
        let limit = rng.range(1, 12);
        let window = rng.range(1, 40);
        out.push(match rng.next() % 4 {
            0 => tb(
                rng.range(1, 4),
                *rng.pick(&[1, 2, 3, 7, 13, 250, 999, 1_000, 1_001, 4_000]),
            ),
            1 => fw(limit, window),
            2 => sl(limit, window),
            _ => sc(limit, window),
        });
    }
    out
}

/// The next clock reading: mostly small steps, sometimes frozen, backwards
/// or a jump.
fn next_time(rng: &mut Rng, t: u64, scale: u64) -> u64 {
    match rng.next() % 20 {
        0..=4 => t,
        5 => t.saturating_sub(rng.range(1, 3 * scale)),
        6 => t + rng.range(scale, 5 * scale),
        _ => t + rng.range(0, scale / 4 + 1),
    }
}

fn scale_of(algorithm: &Algorithm) -> u64 {
    match algorithm {
        Algorithm::TokenBucket(p) => (p.capacity * 1000).div_ceil(p.refill_per_sec).max(1),
        Algorithm::FixedWindow(p) | Algorithm::SlidingLog(p) | Algorithm::SlidingCounter(p) => {
            p.window_ms
        }
    }
}

#[test]
fn matches_the_naive_model() {
    let mut rng = Rng(0x5eed);
    for algorithm in small_algorithms(&mut rng, 60) {
        let mut limiter = single(algorithm.clone());
        let mut naive = NaiveLimiter::new(algorithm.clone());
        let scale = scale_of(&algorithm);
        let keys = ["a", "b", "c"];
        let limit = algorithm.limit();
        let mut t = rng.range(0, 3 * scale);
        for step in 0..1_500 {
            t = next_time(&mut rng, t, scale);
            let key = *rng.pick(&keys);
            let cost = match rng.next() % 10 {
                0 => 0,
                1 => limit + rng.range(0, 2),
                2 => limit,
                _ => rng.range(1, limit.div_ceil(2)),
            };
            let expected = naive.check(key, cost, t);
            let got = limiter.check(key, cost, t);
            assert_eq!(
                got, expected,
                "{algorithm:?} step {step}: check({key}, {cost}, {t})"
            );
        }
    }
}

#[test]
fn retry_after_and_reset_are_honest() {
    let mut rng = Rng(42);
    for algorithm in small_algorithms(&mut rng, 40) {
        let mut limiter = single(algorithm.clone());
        let fresh = single(algorithm.clone());
        let scale = scale_of(&algorithm);
        let limit = algorithm.limit();
        let mut t = 1_000;
        for _ in 0..600 {
            t = next_time(&mut rng, t, scale);
            let key = *rng.pick(&["a", "b"]);
            let cost = rng.range(0, limit + 1);
            let before = limiter.clone();
            let now = before.effective_now().max(t);
            let d = limiter.check(key, cost, t);
            if d.allowed {
                assert_eq!(d.retry_after_ms, 0);
            } else if cost > limit {
                assert_eq!(d.retry_after_ms, NEVER);
            } else {
                let r = d.retry_after_ms;
                assert!(r >= 1 && r != NEVER, "{algorithm:?}: {d:?}");
                assert!(
                    before.clone().check(key, cost, now + r).allowed,
                    "{algorithm:?} {d:?} at +r"
                );
                assert!(
                    !before.clone().check(key, cost, now + r - 1).allowed,
                    "{algorithm:?} {d:?} at +r-1"
                );
            }
            // At t + reset the key is as if never seen; 1 ms earlier it is not.
            let after = limiter.clone();
            let at = now + d.reset_ms;
            for probe in [0, 1, limit] {
                let mut a = after.clone();
                let mut b = fresh.clone();
                assert_eq!(
                    a.check(key, probe, at),
                    b.check(key, probe, at),
                    "{algorithm:?} {d:?}"
                );
            }
            if d.reset_ms > 0 {
                let probe = after.clone().check(key, 0, at - 1);
                assert_eq!(probe.reset_ms, 1, "{algorithm:?} {d:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Eviction
// ---------------------------------------------------------------------------

fn mixed_config() -> Config {
    Config {
        policies: vec![
            policy("bucket", tb(5, 3)),
            policy("fixed", fw(4, 50)),
            policy("log", sl(6, 80)),
            policy("counter", sc(5, 60)),
            policy("big", tb(MAX_VALUE, 1)),
        ],
        tiers: vec![
            tier("b", "bucket"),
            tier("f", "fixed"),
            tier("l", "log"),
            tier("c", "counter"),
            tier("z", "big"),
        ],
        default_policy: "fixed".into(),
    }
}

#[test]
fn eviction_is_invisible() {
    let mut evicting = Limiter::new();
    let mut keeping = Limiter::without_eviction();
    evicting.configure(mixed_config()).unwrap();
    keeping.configure(mixed_config()).unwrap();
    let mut rng = Rng(7);
    let mut t: u64 = 10_000;
    let prefixes = ["b", "f", "l", "c", "z", "x"];
    for step in 0..200_000 {
        t = match rng.next() % 1_000 {
            0 => t.saturating_sub(rng.range(1, 5_000)),
            1 => t + rng.range(1_000, 100_000),
            2..=300 => t,
            _ => t + rng.range(0, 3),
        };
        let key = format!("{}{}", rng.pick(&prefixes), rng.range(0, 300));
        let cost = rng.range(0, 6);
        let a = evicting.check(&key, cost, t);
        let b = keeping.check(&key, cost, t);
        assert_eq!(a, b, "step {step}: check({key}, {cost}, {t})");
        if step == 100_000 {
            // Reconfiguring mid-run clears both.
            evicting.configure(mixed_config()).unwrap();
            keeping.configure(mixed_config()).unwrap();
        }
    }
    assert!(evicting.tracked_keys() < keeping.tracked_keys());
}

#[test]
fn memory_stays_bounded_with_a_million_keys() {
    let mut l = Limiter::new();
    l.configure(Config {
        policies: vec![
            policy("bucket", tb(5, 1_000)),
            policy("fixed", fw(10, 1_000)),
            policy("log", sl(10, 1_000)),
            policy("counter", sc(10, 1_000)),
        ],
        tiers: vec![tier("b", "bucket"), tier("l", "log"), tier("c", "counter")],
        default_policy: "fixed".into(),
    })
    .unwrap();
    let prefixes = ["b", "f", "l", "c"];
    let mut most = 0;
    for i in 0..1_000_000u64 {
        let key = format!("{}{i}", prefixes[i as usize % 4]);
        // One request per millisecond on average; every key is new.
        let d = l.check(&key, 1 + i % 5, 1_000_000 + i);
        assert!(d.allowed);
        most = most.max(l.tracked_keys());
    }
    // Keys live at most one refill (5 ms) or two windows (2000 ms).
    assert!(most <= 2_100, "{most} keys held at once");
    l.check("f", 0, 1_000_000 + 1_000_000 + 2_000);
    assert_eq!(l.tracked_keys(), 0);
}

#[test]
fn hot_keys_stay_and_idle_keys_go() {
    let mut l = single(tb(2, 1));
    assert!(l.check("hot", 1, 0).allowed);
    assert!(l.check("idle", 1, 0).allowed);
    assert_eq!(l.tracked_keys(), 2);
    // "hot" keeps spending; "idle" is full again at 1000 and forgotten.
    for t in (100..3_000).step_by(100) {
        l.check("hot", 1, t);
    }
    assert_eq!(l.tracked_keys(), 1);
    assert!(l.keys.contains_key("hot"));
    // The heap holds one entry per key.
    assert_eq!(l.expiry.len(), 1);
}

#[test]
fn end_of_time_keys_are_kept() {
    // fresh_at saturates at u64::MAX; such keys are never evicted, since
    // they may still matter at t = u64::MAX.
    let mut l = single(tb(MAX_VALUE, 1));
    assert!(l.check("a", 1, u64::MAX - 5).allowed);
    assert_eq!(l.check("b", 0, u64::MAX).remaining, MAX_VALUE);
    assert_eq!(l.tracked_keys(), 1);
    assert_eq!(l.check("a", 0, u64::MAX).remaining, MAX_VALUE - 1);
}

#[test]
fn limiter_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Limiter>();
}
