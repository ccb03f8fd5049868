//! The reference rate limiter, except that it panics when the clock steps
//! backwards. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

#[derive(Default)]
struct Buggy {
    /// The limiter's own idea of the time: the last clock reading.
    last_seen_ms: u64,
}

impl glue::Bug for Buggy {
    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        // BUG: assumes the clock only moves forwards. The specification says
        // time stands still when the clock steps back (an NTP step); this
        // subtraction panics instead, and the panic traps the whole
        // component.
        let elapsed = now_ms
            .checked_sub(self.last_seen_ms)
            .unwrap_or_else(|| panic!("clock went backwards: {now_ms} < {}", self.last_seen_ms));
        self.last_seen_ms += elapsed;
        limiter.check(key, cost, self.last_seen_ms)
    }
}
