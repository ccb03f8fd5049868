//! The reference rate limiter, except that a denied request is told to
//! retry too early. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

#[derive(Default)]
struct Buggy;

impl glue::Bug for Buggy {
    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        let mut decision = limiter.check(key, cost, now_ms);
        if !decision.allowed && decision.retry_after_ms != core::NEVER {
            // BUG: retry-after is rounded down to half the real wait ("they
            // can probably come back sooner"), so it is always at least 1 ms
            // short (0 for a 1 ms wait). A client that honours it is denied
            // again: a request of the same cost at now + retry-after is not
            // allowed.
            decision.retry_after_ms /= 2;
        }
        decision
    }
}
