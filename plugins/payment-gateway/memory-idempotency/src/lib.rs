//! The reference payment gateway, except that its idempotency records are
//! kept in guest memory instead of the durable store. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::cell::RefCell;
use std::collections::BTreeMap;

use glue::reference as core;

/// The prefix of the core's idempotency records (`idem/{operation}/{key}`).
const IDEMPOTENCY_PREFIX: &str = "idem/";

thread_local! {
    /// The idempotency records, by store key: in guest memory only.
    static IDEMPOTENCY: RefCell<BTreeMap<String, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

struct Buggy;

impl glue::Bug for Buggy {
    fn store() -> Box<dyn core::Store> {
        Box::new(MemoryIdempotencyStore(glue::WitStore))
    }
}

/// The imported durable store, except for the idempotency records.
struct MemoryIdempotencyStore(glue::WitStore);

fn in_memory(key: &str) -> bool {
    // BUG: "idempotency only matters while the client is retrying, and a
    // map is faster than the store": the idempotency records are served
    // from guest memory. A crash loses them; the client's retry of a
    // request the crashed instance had started then looks new, and an
    // authorization is made again (a new payment, a second hold).
    key.starts_with(IDEMPOTENCY_PREFIX)
}

impl core::Store for MemoryIdempotencyStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        if in_memory(key) {
            IDEMPOTENCY.with_borrow(|m| m.get(key).cloned())
        } else {
            self.0.get(key)
        }
    }

    fn transact(
        &mut self,
        conditions: &[core::Condition],
        writes: &[core::Write],
    ) -> Result<bool, core::StoreError> {
        let (memory_conditions, durable_conditions): (Vec<_>, Vec<_>) =
            conditions.iter().cloned().partition(|c| in_memory(&c.key));
        let (memory_writes, durable_writes): (Vec<_>, Vec<_>) =
            writes.iter().cloned().partition(|w| in_memory(&w.key));
        let holds = IDEMPOTENCY.with_borrow(|m| {
            memory_conditions
                .iter()
                .all(|c| m.get(&c.key) == c.expected.as_ref())
        });
        if !holds {
            return Ok(false);
        }
        if (!durable_conditions.is_empty() || !durable_writes.is_empty())
            && !self.0.transact(&durable_conditions, &durable_writes)?
        {
            return Ok(false);
        }
        IDEMPOTENCY.with_borrow_mut(|m| {
            for w in memory_writes {
                match w.value {
                    Some(value) => m.insert(w.key, value),
                    None => m.remove(&w.key),
                };
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
        // The core never scans its idempotency records.
        self.0.scan(prefix, start_after, limit)
    }
}
