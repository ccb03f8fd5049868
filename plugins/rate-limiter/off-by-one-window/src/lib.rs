//! The reference rate limiter, except that fixed windows (and the windows of
//! the sliding counter) roll over 1 ms early. See README.md.

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
        // BUG: off by one at the window edge. The window holding `t` is
        // `[k * W, (k + 1) * W)` with `k = t / W`, so it rolls over when
        // `t >= (k + 1) * W`. This plugin rolls over when
        // `t + 1 >= (k + 1) * W` (a `>=` that should be `>`), which is the
        // same as deciding every request as if it came 1 ms later: the last
        // millisecond of each window already counts against the next one.
        // A client that spends the limit early in a window and again in its
        // last millisecond gets twice the limit inside one real window.
        // (The token bucket and the sliding log only ever look at
        // differences of times, so the shift changes nothing for them.)
        limiter.check(key, cost, now_ms.saturating_add(1))
    }
}
