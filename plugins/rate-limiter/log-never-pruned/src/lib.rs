//! The reference rate limiter, except that a sliding log keeps its key's
//! whole history while the key stays busy. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::collections::HashMap;

use glue::reference as core;

/// How many sliding-log checks pass between two sweeps of the idle logs.
const SWEEP_EVERY: u64 = 1024;

/// A sliding-log key's history: every request allowed since the key was
/// last idle, oldest first, as `(time, running total of the costs)`.
/// Requests allowed in the same millisecond share one entry.
#[derive(Default)]
struct History {
    /// The key's policy's window (fixed until the next `configure`).
    window_ms: u64,
    // BUG: never cut while the key is busy. Nothing is ever removed from
    // the front: the window's start is found by binary search and the
    // window's cost is a difference of running totals, so each check is
    // O(log n) and every decision is right, but a key that never goes idle
    // (never a whole window without an allowed request) keeps every request
    // it was ever allowed, 32 bytes each (the totals are u128: a history
    // that is never cut can sum past u64). Only a whole history that has
    // left the window is dropped.
    entries: Vec<(u64, u128)>,
}

impl History {
    /// The reference's sliding log (`LogState::check`), on the history.
    fn check(&mut self, p: &core::Window, cost: u64, t: u64) -> core::Decision {
        let mut first = match t.checked_sub(p.window_ms) {
            // The entries in the window (t - W, t] are those from `first` on.
            Some(horizon) => self.entries.partition_point(|&(time, _)| time <= horizon),
            None => 0,
        };
        if first == self.entries.len() {
            // The key was idle: the whole history has left the window.
            self.entries.clear();
            first = 0;
        }
        let before = first.checked_sub(1).map_or(0, |i| self.entries[i].1);
        let total = self.entries.last().map_or(0, |&(_, total)| total);
        // At most the limit, so it fits.
        let used = (total - before) as u64;
        let allowed = cost <= p.limit - used;
        if allowed && cost > 0 {
            let total = total + u128::from(cost);
            match self.entries.last_mut() {
                Some(newest) if newest.0 == t => newest.1 = total,
                _ => self.entries.push((t, total)),
            }
        }
        let after = if allowed { used + cost } else { used };
        // Every entry left is in the window.
        let reset_ms = self
            .entries
            .last()
            .map_or(0, |&(time, _)| p.window_ms - (t - time));
        let retry_after_ms = if allowed {
            0
        } else if cost > p.limit {
            core::NEVER
        } else {
            // The first entry whose leaving makes room for the request.
            let excess = u128::from(used + cost - p.limit);
            let j = first
                + self.entries[first..].partition_point(|&(_, total)| total - before < excess);
            p.window_ms - (t - self.entries[j].0)
        };
        core::Decision {
            allowed,
            limit: p.limit,
            remaining: p.limit - after,
            reset_ms,
            retry_after_ms,
        }
    }
}

#[derive(Default)]
struct Buggy {
    /// The limiter's time: the greatest clock reading seen.
    now: u64,
    /// The sliding-log keys' histories (the reference core keeps the other
    /// algorithms' keys, and evicts them).
    logs: HashMap<String, History>,
    checks_since_sweep: u64,
}

impl Buggy {
    /// Forgets every history that has wholly left its window.
    fn sweep(&mut self, t: u64) {
        self.logs.retain(|_, history| {
            history
                .entries
                .last()
                .is_some_and(|&(time, _)| time.saturating_add(history.window_ms) > t)
        });
    }
}

impl glue::Bug for Buggy {
    fn configure(
        &mut self,
        limiter: &mut core::Limiter,
        config: core::Config,
    ) -> Result<(), core::ConfigError> {
        limiter.configure(config)?;
        self.logs.clear();
        Ok(())
    }

    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        self.now = self.now.max(now_ms);
        let t = self.now;
        let window = match limiter.policy_for(key).map(|policy| &policy.algorithm) {
            Some(core::Algorithm::SlidingLog(window)) => window.clone(),
            _ => return limiter.check(key, cost, t),
        };
        self.checks_since_sweep += 1;
        if self.checks_since_sweep >= SWEEP_EVERY {
            self.checks_since_sweep = 0;
            self.sweep(t);
        }
        let decision = match self.logs.get_mut(key) {
            Some(history) => history.check(&window, cost, t),
            None => {
                let mut history = History {
                    window_ms: window.window_ms,
                    entries: Vec::new(),
                };
                let decision = history.check(&window, cost, t);
                if !history.entries.is_empty() {
                    self.logs.insert(key.to_owned(), history);
                }
                decision
            }
        };
        if self.logs.get(key).is_some_and(|h| h.entries.is_empty()) {
            self.logs.remove(key);
        }
        decision
    }
}
