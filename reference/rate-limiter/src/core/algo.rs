//! The four algorithms, one decision at a time.
//!
//! Each algorithm has a per-key state type with a `fresh` constructor (the
//! state of a key never seen) and a `check` that decides one request at the
//! effective time `t`. `check` writes the state only when the request is
//! allowed with a cost above 0; a denied or zero-cost request leaves it as
//! it was (the sliding log may drop expired entries, which changes nothing
//! any decision can see). The formulas are the ones of
//! `wit/rate-limiter/rate-limiter.wit`, exact: the sliding counter's scaled
//! comparison is computed in 128 bits, and elsewhere a product or sum that
//! could pass `u64::MAX` saturates where that cannot change the result.
//!
//! Every `check` also returns, through `Decision::reset_ms`, when the key's
//! state becomes fresh: `t + reset_ms`. The limiter uses that to evict idle
//! keys.
//!
//! The values are validated by `configure` (`1..=MAX_VALUE`), so
//! `capacity * 1000`, `limit * window_ms` and the like fit their types.

use std::collections::VecDeque;

use super::{Decision, NEVER, TokenBucket, Window};

/// Narrows a value the formulas bound below `u64::MAX`; saturates anyway.
#[inline]
fn narrow(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// One key's state, of the algorithm of the key's policy.
#[derive(Clone, Debug)]
pub(super) enum State {
    Bucket(BucketState),
    Fixed(FixedState),
    Log(LogState),
    Counter(CounterState),
}

// ---------------------------------------------------------------------------
// Token bucket
// ---------------------------------------------------------------------------

/// Token bucket: the level in milli-tokens at time `last`.
#[derive(Clone, Debug)]
pub(super) struct BucketState {
    level: u64,
    last: u64,
}

impl BucketState {
    /// A new key starts full.
    pub(super) fn fresh(p: &TokenBucket, t: u64) -> Self {
        BucketState {
            level: p.capacity * 1000,
            last: t,
        }
    }

    /// level := min(C * 1000, level + R * (t - last)); allowed iff
    /// level >= cost * 1000.
    ///
    /// Everything fits in 64 bits: C * 1000 <= 10^18, and a product that
    /// would pass u64::MAX saturates, which is exact since it is only ever
    /// compared with (or capped at) something <= 10^18.
    pub(super) fn check(&mut self, p: &TokenBucket, cost: u64, t: u64) -> Decision {
        let full = p.capacity * 1000;
        let rate = p.refill_per_sec;
        let refill = rate.saturating_mul(t.saturating_sub(self.last));
        let level = full.min(self.level.saturating_add(refill));
        let need = cost.saturating_mul(1000);
        let allowed = level >= need;
        let after = if allowed { level - need } else { level };
        if allowed && cost > 0 {
            self.level = after;
            self.last = t;
        }
        let retry_after_ms = if allowed {
            0
        } else if cost > p.capacity {
            NEVER
        } else {
            // need <= full here, so it did not saturate.
            (need - level).div_ceil(rate)
        };
        Decision {
            allowed,
            limit: p.capacity,
            remaining: after / 1000,
            reset_ms: (full - after).div_ceil(rate),
            retry_after_ms,
        }
    }
}

// ---------------------------------------------------------------------------
// Fixed window
// ---------------------------------------------------------------------------

/// Fixed window: the count of window `window` (index `k`, `[k * W, (k+1) * W)`).
#[derive(Clone, Debug)]
pub(super) struct FixedState {
    window: u64,
    count: u64,
}

impl FixedState {
    pub(super) fn fresh(p: &Window, t: u64) -> Self {
        FixedState {
            window: t / p.window_ms,
            count: 0,
        }
    }

    /// Allowed iff count + c <= L in the window holding `t`.
    pub(super) fn check(&mut self, p: &Window, cost: u64, t: u64) -> Decision {
        let k = t / p.window_ms;
        // `(k + 1) * W - t`, without forming `(k + 1) * W` (it can pass u64).
        let to_next = p.window_ms - t % p.window_ms;
        let count = if self.window == k { self.count } else { 0 };
        // count <= L always holds, so this is `count + cost <= L` without overflow.
        let allowed = cost <= p.limit - count;
        let after = if allowed { count + cost } else { count };
        if allowed && cost > 0 {
            self.window = k;
            self.count = after;
        }
        let retry_after_ms = if allowed {
            0
        } else if cost > p.limit {
            NEVER
        } else {
            to_next
        };
        Decision {
            allowed,
            limit: p.limit,
            remaining: p.limit - after,
            reset_ms: if after > 0 { to_next } else { 0 },
            retry_after_ms,
        }
    }
}

// ---------------------------------------------------------------------------
// Sliding log
// ---------------------------------------------------------------------------

/// Sliding log: the allowed requests still in the window, oldest first.
///
/// Entries are `(time, cumulative cost)`: the running total of every cost
/// appended, wrapping, so the cost of any run of entries is a difference of
/// two totals (exact, since the costs in the window sum to at most L) and the
/// denial search is a binary search. `dropped` is the total at the last
/// entry dropped. Requests allowed at the same millisecond share one entry:
/// the log drops and reports them together either way.
#[derive(Clone, Debug, Default)]
pub(super) struct LogState {
    entries: VecDeque<(u64, u64)>,
    dropped: u64,
}

impl LogState {
    pub(super) fn fresh() -> Self {
        LogState::default()
    }

    /// The sum of the costs in the log.
    #[inline]
    fn used(&self) -> u64 {
        self.entries
            .back()
            .map_or(0, |&(_, total)| total.wrapping_sub(self.dropped))
    }

    /// Drops the entries with `time <= t - W` (outside `(t - W, t]`).
    #[inline]
    fn expire(&mut self, t: u64, window_ms: u64) {
        let Some(horizon) = t.checked_sub(window_ms) else {
            return;
        };
        while let Some(&(time, total)) = self.entries.front() {
            if time > horizon {
                break;
            }
            self.dropped = total;
            self.entries.pop_front();
        }
    }

    /// Allowed iff used + c <= L, then (t, c) is appended.
    pub(super) fn check(&mut self, p: &Window, cost: u64, t: u64) -> Decision {
        self.expire(t, p.window_ms);
        let used = self.used();
        // used <= L always holds, so this is `used + cost <= L` without overflow.
        let allowed = cost <= p.limit - used;
        if allowed && cost > 0 {
            let total = self
                .entries
                .back()
                .map_or(self.dropped, |&(_, total)| total)
                .wrapping_add(cost);
            match self.entries.back_mut() {
                Some(newest) if newest.0 == t => newest.1 = total,
                _ => self.entries.push_back((t, total)),
            }
        }
        let after = if allowed { used + cost } else { used };
        // Every entry has time in (t - W, t], so these are in [1, W].
        let reset_ms = self
            .entries
            .back()
            .map_or(0, |&(time, _)| p.window_ms - (t - time));
        let retry_after_ms = if allowed {
            0
        } else if cost > p.limit {
            NEVER
        } else {
            // Drop oldest first until used - dropped + c <= L, that is until
            // dropped >= used + c - L (> 0 here, and <= used since c <= L).
            let excess = used + cost - p.limit;
            let first = self
                .entries
                .partition_point(|&(_, total)| total.wrapping_sub(self.dropped) < excess);
            let (time, _) = self.entries[first];
            p.window_ms - (t - time)
        };
        Decision {
            allowed,
            limit: p.limit,
            remaining: p.limit - after,
            reset_ms,
            retry_after_ms,
        }
    }

    /// The number of entries held (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

// ---------------------------------------------------------------------------
// Sliding counter
// ---------------------------------------------------------------------------

/// Sliding counter: the counts of window `window` (`cur`) and of the window
/// before it (`prev`).
#[derive(Clone, Debug)]
pub(super) struct CounterState {
    window: u64,
    cur: u64,
    prev: u64,
}

impl CounterState {
    pub(super) fn fresh(p: &Window, t: u64) -> Self {
        CounterState {
            window: t / p.window_ms,
            cur: 0,
            prev: 0,
        }
    }

    /// With e = t - k * W: allowed iff prev * (W - e) + (cur + c) * W <= L * W.
    pub(super) fn check(&mut self, p: &Window, cost: u64, t: u64) -> Decision {
        let (limit, w) = (p.limit, p.window_ms);
        let k = t / w;
        let e = t % w;
        let (cur, prev) = if self.window == k {
            (self.cur, self.prev)
        } else if k.checked_sub(1) == Some(self.window) {
            (0, self.cur)
        } else {
            (0, 0)
        };
        let (l128, w128) = (u128::from(limit), u128::from(w));
        let budget = l128 * w128;
        let weighted_prev = u128::from(prev) * u128::from(w - e);
        let allowed = weighted_prev + (u128::from(cur) + u128::from(cost)) * w128 <= budget;
        let after = if allowed { cur + cost } else { cur };
        if allowed && cost > 0 {
            *self = CounterState {
                window: k,
                cur: after,
                prev,
            };
        }
        let remaining =
            narrow(budget.saturating_sub(weighted_prev + u128::from(after) * w128) / w128);
        let reset_ms = if after > 0 {
            2 * w - e
        } else if prev > 0 {
            w - e
        } else {
            0
        };
        let retry_after_ms = if allowed {
            0
        } else if cost > limit {
            NEVER
        } else {
            counter_retry_after(limit, w, e, cur, prev, cost)
        };
        Decision {
            allowed,
            limit,
            remaining,
            reset_ms,
            retry_after_ms,
        }
    }
}

/// The first `t' > t` (as `t' - t`) at which a denied sliding-counter request
/// of cost `c <= L` would be allowed, the estimate only falling with time.
///
/// In window k the condition holds from e' = W - floor((L - cur - c) * W /
/// prev), if cur + c <= L and that e' < W. Otherwise the first chance is in
/// window k + 1 (where prev' = cur, cur' = 0) from e' = W - floor((L - c) * W
/// / cur), at least 0, where e' = W means the start of window k + 2 (where
/// both counts are 0 and any c <= L is allowed).
fn counter_retry_after(limit: u64, w: u64, e: u64, cur: u64, prev: u64, cost: u64) -> u64 {
    let w128 = u128::from(w);
    if prev > 0 && cur + cost <= limit {
        let slack = u128::from(limit - cur - cost) * w128 / u128::from(prev);
        // Denied at e means slack < W - e, so e < e' <= W.
        let e_next = narrow(w128.saturating_sub(slack));
        if e_next < w {
            return e_next - e;
        }
    }
    let e_next = if cur == 0 {
        0
    } else {
        let slack = u128::from(limit - cost) * w128 / u128::from(cur);
        // Clamped at 0: when cur + c < L the condition can hold for the whole
        // of window k + 1, from its start.
        narrow(w128.saturating_sub(slack))
    };
    (w - e) + e_next
}
