//! The reference rate limiter, plus per-key statistics that are never
//! pruned. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::collections::BTreeMap;

use glue::reference as core;

/// What the plugin records about a key, for statistics nobody reads.
#[derive(Default)]
struct KeyStats {
    last_seen_ms: u64,
    checks: u64,
    denied: u64,
}

#[derive(Default)]
struct Buggy {
    // BUG: one entry per key ever checked, never removed: not when the key
    // goes idle (its limiter state is fresh again, so the spec lets it be
    // forgotten), not even by `configure`. The decisions stay right, but
    // with millions of distinct keys memory grows until the host's cap.
    stats: BTreeMap<String, KeyStats>,
}

impl glue::Bug for Buggy {
    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        let decision = limiter.check(key, cost, now_ms);
        let stats = self.stats.entry(key.to_string()).or_default();
        stats.last_seen_ms = now_ms;
        stats.checks += 1;
        stats.denied += u64::from(!decision.allowed);
        decision
    }
}
