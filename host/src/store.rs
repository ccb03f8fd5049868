//! The durable store the host keeps for a plugin (`gauntlet:harness/store`).
//!
//! It outlives plugin instances: when a crashed instance is discarded, the
//! fresh one sees every write that returned before the crash. Keys are
//! ordered (a `BTreeMap`), so scans and snapshots are deterministic, and the
//! host can read everything (checks may look at what a plugin stored).

use std::collections::BTreeMap;
use std::ops::Bound;

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1 << 10;
/// The largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 << 10;
/// The default quota: keys and values together.
pub const DEFAULT_QUOTA_BYTES: usize = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("key longer than {MAX_KEY_BYTES} bytes")]
    KeyTooLarge,
    #[error("value larger than {MAX_VALUE_BYTES} bytes")]
    ValueTooLarge,
    #[error("store quota exceeded")]
    QuotaExceeded,
}

/// A write of a transaction: `None` deletes the key.
pub type Write = (String, Option<Vec<u8>>);
/// A condition of a transaction: the key holds this value (`None`: absent).
pub type Condition = (String, Option<Vec<u8>>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DurableStore {
    entries: BTreeMap<String, Vec<u8>>,
    bytes: usize,
    quota: usize,
}

impl DurableStore {
    pub fn new(quota_bytes: usize) -> Self {
        DurableStore {
            entries: BTreeMap::new(),
            bytes: 0,
            quota: quota_bytes,
        }
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.entries
    }

    /// Bytes held: keys and values together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn validate(key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(StoreError::KeyTooLarge);
        }
        if value.is_some_and(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(StoreError::ValueTooLarge);
        }
        Ok(())
    }

    /// The size the store would have after `writes`.
    fn size_after(&self, writes: &[Write]) -> usize {
        let mut changed: BTreeMap<&str, Option<usize>> = BTreeMap::new();
        for (key, value) in writes {
            changed.insert(key, value.as_ref().map(Vec::len));
        }
        let mut bytes = self.bytes;
        for (key, new) in changed {
            if let Some(old) = self.entries.get(key) {
                bytes -= key.len() + old.len();
            }
            if let Some(len) = new {
                bytes += key.len() + len;
            }
        }
        bytes
    }

    pub fn put(&mut self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.apply(&[(key.to_string(), Some(value))])
    }

    pub fn delete(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= key.len() + old.len();
        }
    }

    /// Applies `writes` in order if they fit, all or nothing.
    fn apply(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        for (key, value) in writes {
            Self::validate(key, value.as_deref())?;
        }
        if self.size_after(writes) > self.quota {
            return Err(StoreError::QuotaExceeded);
        }
        for (key, value) in writes {
            match value {
                Some(value) => {
                    if let Some(old) = self.entries.insert(key.clone(), value.clone()) {
                        self.bytes -= key.len() + old.len();
                    }
                    self.bytes += key.len() + value.len();
                }
                None => self.delete(key),
            }
        }
        Ok(())
    }

    /// If every condition holds, applies every write and returns true;
    /// otherwise changes nothing and returns false. Writes that could never
    /// be applied (too large, over quota) are an error either way.
    pub fn transact(
        &mut self,
        conditions: &[Condition],
        writes: &[Write],
    ) -> Result<bool, StoreError> {
        for (key, value) in writes {
            Self::validate(key, value.as_deref())?;
        }
        let holds = conditions
            .iter()
            .all(|(key, expected)| self.get(key) == expected.as_deref());
        if !holds {
            return Ok(false);
        }
        self.apply(writes)?;
        Ok(true)
    }

    /// Up to `limit` entries whose key starts with `prefix` and sorts after
    /// `start_after`, in key order.
    pub fn scan(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Vec<(String, Vec<u8>)> {
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_string()),
            _ => Bound::Included(prefix.to_string()),
        };
        self.entries
            .range((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A crash the host can inject at a write to the durable store (a `put`,
/// `delete` or `transact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreFault {
    /// The plugin crashes before the write reaches the store.
    CrashBeforeWrite,
    /// The write is applied, then the plugin crashes before it returns.
    CrashAfterWrite,
}

/// When a store fault applies: the Nth write of the run (1-based), or each
/// write with a probability in parts per million, drawn from a hash of
/// (seed, client step, write within the step).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteTrigger {
    Nth(u64),
    Seeded { ppm: u32 },
}

impl WriteTrigger {
    /// What a scenario's store fault says: `nth` (from 1) or `probability`
    /// (0 to 1), one of them; `None` if that is not what it says.
    pub fn from_spec(nth: Option<u64>, probability: Option<f64>) -> Option<Self> {
        match (nth, probability) {
            (Some(n), None) if n >= 1 => Some(WriteTrigger::Nth(n)),
            (None, Some(p)) if (0.0..=1.0).contains(&p) => Some(WriteTrigger::Seeded {
                ppm: crate::scenario::ppm(p),
            }),
            _ => None,
        }
    }
}

/// How a scenario must write a store fault, for its error message.
pub const STORE_FAULT_USAGE: &str =
    "a store fault takes `nth` (the Nth store write of the run, from 1) or `probability` (0 to 1)";

/// The store faults of a run, and the writes counted so far.
#[derive(Clone, Debug)]
pub struct StoreFaults {
    rules: Vec<(WriteTrigger, StoreFault)>,
    seeds: crate::sim::SeedTree,
    writes: u64,
    step: u64,
    in_step: u64,
    /// Every fault injected: (client step, fault).
    pub injected: Vec<(u64, StoreFault)>,
}

impl StoreFaults {
    pub fn new(rules: Vec<(WriteTrigger, StoreFault)>, seeds: crate::sim::SeedTree) -> Self {
        StoreFaults {
            rules,
            seeds,
            writes: 0,
            step: 0,
            in_step: 0,
            injected: Vec::new(),
        }
    }

    pub fn begin_step(&mut self, step: u64) {
        self.step = step;
        self.in_step = 0;
    }

    /// No more faults (the end-of-run recovery pass runs without).
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Counts a write and says whether to crash around it.
    pub fn next_write(&mut self) -> Option<StoreFault> {
        use rand::RngExt;
        self.writes += 1;
        self.in_step += 1;
        // Each seeded rule draws for itself: its probability is its own.
        let fault = self
            .rules
            .iter()
            .enumerate()
            .find_map(|(index, (trigger, fault))| {
                let applies = match trigger {
                    WriteTrigger::Nth(n) => *n == self.writes,
                    WriteTrigger::Seeded { ppm } => {
                        let purpose = format!("store/{}/{}/{index}", self.step, self.in_step);
                        self.seeds.rng(&purpose).random_range(0..1_000_000u32) < *ppm
                    }
                };
                applies.then_some(*fault)
            });
        if let Some(fault) = fault {
            self.injected.push((self.step, fault));
        }
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(key: &str, value: Option<&str>) -> Write {
        (key.to_string(), value.map(|v| v.as_bytes().to_vec()))
    }

    #[test]
    fn put_get_delete_keep_the_byte_count() {
        let mut store = DurableStore::new(1 << 20);
        store.put("a", b"12345".to_vec()).unwrap();
        store.put("a", b"1".to_vec()).unwrap();
        assert_eq!(store.get("a"), Some(&b"1"[..]));
        assert_eq!(store.bytes(), 2);
        store.delete("a");
        assert_eq!(store.get("a"), None);
        assert_eq!(store.bytes(), 0);
    }

    #[test]
    fn a_transaction_applies_all_or_nothing() {
        let mut store = DurableStore::new(1 << 20);
        store.put("k", b"v1".to_vec()).unwrap();
        // Compare-and-set that loses: nothing changes.
        let lost = store
            .transact(
                &[w("k", Some("v0"))],
                &[w("k", Some("v2")), w("other", Some("x"))],
            )
            .unwrap();
        assert!(!lost);
        assert_eq!(store.get("k"), Some(&b"v1"[..]));
        assert_eq!(store.get("other"), None);
        // One that wins applies every write, deletes included.
        let won = store
            .transact(
                &[w("k", Some("v1")), w("absent", None)],
                &[w("k", None), w("other", Some("x"))],
            )
            .unwrap();
        assert!(won);
        assert_eq!(store.get("k"), None);
        assert_eq!(store.get("other"), Some(&b"x"[..]));
    }

    #[test]
    fn limits_are_enforced_before_anything_changes() {
        let mut store = DurableStore::new(10);
        assert_eq!(
            store.put(&"k".repeat(MAX_KEY_BYTES + 1), vec![]),
            Err(StoreError::KeyTooLarge)
        );
        assert_eq!(
            store.put("k", vec![0; MAX_VALUE_BYTES + 1]),
            Err(StoreError::ValueTooLarge)
        );
        store.put("k", vec![0; 9]).unwrap();
        assert_eq!(store.put("j", vec![0; 1]), Err(StoreError::QuotaExceeded));
        // Replacing a value frees its old bytes first.
        store.put("k", vec![0; 8]).unwrap();
        assert_eq!(
            store.transact(&[], &[w("k", None), w("j", Some("12345678"))]),
            Ok(true)
        );
        assert_eq!(store.bytes(), 9);
    }

    #[test]
    fn store_faults_hit_the_nth_write_or_a_seeded_share() {
        let seeds = crate::sim::SeedTree::new(3);
        let mut nth = StoreFaults::new(
            vec![(WriteTrigger::Nth(2), StoreFault::CrashAfterWrite)],
            seeds,
        );
        assert_eq!(nth.next_write(), None);
        assert_eq!(nth.next_write(), Some(StoreFault::CrashAfterWrite));
        assert_eq!(nth.next_write(), None);
        let rule = vec![(
            WriteTrigger::Seeded { ppm: 500_000 },
            StoreFault::CrashBeforeWrite,
        )];
        let mut a = StoreFaults::new(rule.clone(), seeds);
        let mut b = StoreFaults::new(rule, seeds);
        a.begin_step(7);
        b.begin_step(7);
        let draws: Vec<_> = (0..32).map(|_| a.next_write()).collect();
        assert_eq!(draws, (0..32).map(|_| b.next_write()).collect::<Vec<_>>());
        assert!(draws.iter().any(Option::is_some) && draws.iter().any(Option::is_none));
    }

    #[test]
    fn scan_walks_a_prefix_in_key_order_by_pages() {
        let mut store = DurableStore::new(1 << 20);
        for key in ["p/3", "p/1", "q/1", "p/2", "o/9"] {
            store.put(key, key.as_bytes().to_vec()).unwrap();
        }
        let keys =
            |entries: Vec<(String, Vec<u8>)>| entries.into_iter().map(|e| e.0).collect::<Vec<_>>();
        assert_eq!(keys(store.scan("p/", None, 10)), ["p/1", "p/2", "p/3"]);
        assert_eq!(keys(store.scan("p/", None, 2)), ["p/1", "p/2"]);
        assert_eq!(keys(store.scan("p/", Some("p/2"), 2)), ["p/3"]);
        assert_eq!(keys(store.scan("p/", Some("a"), 1)), ["p/1"]);
        assert!(store.scan("p/", Some("z"), 5).is_empty());
    }
}
