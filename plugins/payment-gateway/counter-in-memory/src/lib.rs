//! The reference payment gateway, except that the counter its payment ids
//! (and so its bank keys) come from is kept in guest memory. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::cell::RefCell;

use glue::reference as core;

thread_local! {
    /// The payment counter's bytes: lost with the instance.
    static SEQ: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

struct Buggy;

impl glue::Bug for Buggy {
    fn store() -> Box<dyn core::Store> {
        Box::new(ForgetfulStore(glue::WitStore))
    }
}

/// The durable store, except for the payment counter.
struct ForgetfulStore(glue::WitStore);

impl core::Store for ForgetfulStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        if key == core::SEQ_KEY {
            // BUG: "a counter is cheap to keep in memory": after a crash
            // the fresh instance counts from 0 again, and its next payment
            // gets an id (and bank keys) an earlier payment already has.
            return SEQ.with_borrow(Clone::clone);
        }
        self.0.get(key)
    }

    fn transact(
        &mut self,
        conditions: &[core::Condition],
        writes: &[core::Write],
    ) -> Result<bool, core::StoreError> {
        let durable = |key: &str| key != core::SEQ_KEY;
        let conditions: Vec<core::Condition> = conditions
            .iter()
            .filter(|c| durable(&c.key))
            .cloned()
            .collect();
        let kept: Vec<core::Write> = writes.iter().filter(|w| durable(&w.key)).cloned().collect();
        let done = self.0.transact(&conditions, &kept)?;
        if done && let Some(seq) = writes.iter().find(|w| !durable(&w.key)) {
            SEQ.with_borrow_mut(|s| *s = seq.value.clone());
        }
        Ok(done)
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        self.0.scan(prefix, start_after, limit)
    }
}
