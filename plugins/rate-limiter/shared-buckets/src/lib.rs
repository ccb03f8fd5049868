//! The reference rate limiter, except that keys are hashed into 16 state
//! slots per policy, so unrelated keys share limits. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::collections::BTreeMap;

use glue::reference as core;

/// How many state slots each policy gets.
const SLOTS: u64 = 16;

#[derive(Default)]
struct Buggy {
    /// (policy name, slot) -> the key whose state the slot uses: the first
    /// key that landed there, so it resolves to the same tier.
    slots: BTreeMap<(String, u64), String>,
}

/// FNV-1a with murmur3's finaliser: deterministic and well mixed.
fn hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl glue::Bug for Buggy {
    fn configure(
        &mut self,
        limiter: &mut core::Limiter,
        config: core::Config,
    ) -> Result<(), core::ConfigError> {
        limiter.configure(config)?;
        self.slots.clear();
        Ok(())
    }

    fn check(
        &mut self,
        limiter: &mut core::Limiter,
        key: &str,
        cost: u64,
        now_ms: u64,
    ) -> core::Decision {
        let Some(policy) = limiter.policy_for(key) else {
            return limiter.check(key, cost, now_ms);
        };
        // BUG: the state is kept per (policy, hash(key) % 16), not per key.
        // The tier still resolves right, but every key in a slot spends from
        // one shared budget: a busy key can deny an unrelated idle one, and
        // `remaining` counts other keys' requests.
        let slot = (policy.name.clone(), hash(key) % SLOTS);
        let shared_key = self.slots.entry(slot).or_insert_with(|| key.to_string());
        limiter.check(shared_key, cost, now_ms)
    }
}
