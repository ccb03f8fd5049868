//! A small deterministic hasher for the key map.
//!
//! `std`'s default `RandomState` seeds itself from the platform's randomness
//! (WASI `random` inside a component), which would make the reference
//! nondeterministic in its memory layout and fuel use. This is an FxHash-style
//! word-at-a-time hash with a murmur3 finaliser, so the low bits the hash
//! table indexes with are well mixed even for keys that differ only in their
//! last bytes (`user-000001`, `user-000002`, ...). It is not DoS-resistant,
//! which does not matter for a simulator.

use std::hash::{BuildHasherDefault, Hasher};

/// The map's `BuildHasher`: every hasher starts from the same fixed state.
pub(super) type KeyHashBuilder = BuildHasherDefault<KeyHasher>;

/// The multiplier of rustc-hash 2 (an odd constant with well spread bits).
const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

/// FxHash-style accumulator; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct KeyHasher {
    hash: u64,
}

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.add(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    /// murmur3's `fmix64`, so every input bit reaches the low output bits.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn deterministic_and_spread() {
        let build = KeyHashBuilder::default();
        assert_eq!(build.hash_one("user-1"), build.hash_one("user-1"));
        assert_ne!(build.hash_one("user-1"), build.hash_one("user-2"));
        assert_ne!(build.hash_one("ab"), build.hash_one("ab\0"));
        // Keys differing only in their last character land in different low
        // buckets (what a hash table indexes with).
        let mut buckets = std::collections::BTreeSet::new();
        for i in 0..256 {
            buckets.insert(build.hash_one(format!("user-{i:06}")) & 255);
        }
        assert!(buckets.len() > 128, "{} buckets", buckets.len());
    }
}
