//! The reference job queue, except that which jobs are leased is kept only
//! in guest memory. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::cell::RefCell;
use std::collections::BTreeMap;

use glue::reference as core;

thread_local! {
    /// The records of the leased jobs, by store key: in guest memory only.
    static LEASED: RefCell<BTreeMap<String, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

struct Buggy;

impl core::Rules for Buggy {}

impl glue::Bug for Buggy {
    fn store() -> Box<dyn core::Store> {
        Box::new(LeasesInMemory(glue::WitStore))
    }
}

/// The imported durable store, except for the records of leased jobs.
struct LeasesInMemory(glue::WitStore);

/// Whether a write saves a job as leased.
fn is_lease(write: &core::Write) -> bool {
    write.key.starts_with(core::JOB_PREFIX)
        && write.value.as_deref().is_some_and(|value| {
            serde_json::from_slice::<core::JobRecord>(value)
                .is_ok_and(|r| matches!(r.state, core::StoredState::Leased { .. }))
        })
}

impl core::Store for LeasesInMemory {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        match LEASED.with_borrow(|m| m.get(key).cloned()) {
            Some(value) => Some(value),
            None => self.0.get(key),
        }
    }

    fn transact(
        &mut self,
        conditions: &[core::Condition],
        writes: &[core::Write],
    ) -> Result<bool, core::StoreError> {
        // BUG: "a lease is short-lived, it need not touch the disk": a job
        // being leased is taken out of the durable store and its record
        // kept in memory until it completes or fails. A crash while it is
        // leased loses it for good: the fresh instance finds no record, so
        // the job is never redelivered and its id is not found.
        let mut durable = Vec::with_capacity(writes.len());
        let mut leased = Vec::new();
        for write in writes {
            if is_lease(write) {
                durable.push(core::Write {
                    key: write.key.clone(),
                    value: None,
                });
                leased.push(write.clone());
            } else {
                durable.push(write.clone());
            }
        }
        if !self.0.transact(conditions, &durable)? {
            return Ok(false);
        }
        LEASED.with_borrow_mut(|m| {
            for write in writes {
                m.remove(&write.key);
            }
            for write in leased {
                m.insert(write.key, write.value.expect("a lease is a record"));
            }
        });
        Ok(true)
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        // The core only scans to rebuild its index in a fresh instance,
        // whose memory holds no leases.
        self.0.scan(prefix, start_after, limit)
    }
}
