//! The reference rate limiter, except that it keeps time as u32
//! milliseconds since its first check. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

#[derive(Default)]
struct Buggy {
    /// The first clock reading the limiter saw: its epoch.
    epoch_ms: Option<u64>,
}

impl glue::Bug for Buggy {
    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        let epoch = *self.epoch_ms.get_or_insert(now_ms);
        // BUG: time is kept as u32 milliseconds since the epoch ("good for
        // 49 days", and half the memory of a u64 per timestamp). A reading
        // before the epoch counts as the epoch, which is right: time stands
        // still when the clock steps back. But the count wraps around every
        // 2^32 ms (49.7 days): a gap of 2^32 + x ms looks like x ms, and
        // one of 2^32 - x like the clock stepping back x ms, after which the
        // limiter's time stands still (its high-water mark) until the count
        // passes its old value again. Meanwhile whatever was used up stays
        // used up, and every retry-after it promises is a lie.
        let since_epoch = now_ms.saturating_sub(epoch) as u32;
        limiter.check(key, cost, epoch + u64::from(since_epoch))
    }
}
