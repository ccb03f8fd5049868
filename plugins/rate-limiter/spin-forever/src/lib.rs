//! The reference rate limiter, except that every check waits for a clock
//! tick that never comes. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::gauntlet::harness::clock;
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
        // BUG: busy-waits for the next millisecond, "so that every decision
        // gets a timestamp of its own". The harness clock is virtual and
        // constant for the whole of one call into the plugin, so this loop
        // never ends: it burns fuel until the host cuts it off.
        while clock::now_ms() == now_ms {
            std::hint::spin_loop();
        }
        limiter.check(key, cost, now_ms)
    }
}
