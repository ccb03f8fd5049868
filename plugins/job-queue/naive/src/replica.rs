//! The queue as one of several replicas over one shared store.
//!
//! Several instances of this component (separate memories, like pods behind
//! a load balancer) may serve calls at once over one durable store, their
//! store calls interleaved in any order. Each instance keeps a copy of the
//! whole queue in memory, so each call:
//!
//! 1. reads the meta record (`naive/meta`, the counters and the store's
//!    version), one `get`; if it does not hold the bytes this instance
//!    loaded or last saved, another replica saved since, and the instance
//!    reads every record back. A reload spans several store calls (the
//!    scan is paged) that other replicas' saves may come between, so it is
//!    trusted only once a `get` after it finds the meta record still
//!    holding the bytes read before it: every save changes that record
//!    (its version goes up), so equal bytes mean that nobody saved while
//!    the records were read;
//! 2. settles the leases that ran out and serves the call on that copy;
//! 3. if anything changed, saves it in one `transact` whose one condition
//!    is that the meta record still holds the bytes of step 1 (a
//!    compare-and-set) and whose writes include the meta record with the
//!    next version. If another replica saved in between, the store refuses,
//!    nothing is written, and the call starts over at step 1 from the fresh
//!    state: a call's answer depends only on the state and the time, so the
//!    answer given is the one for the state it was saved over. A call that
//!    changes nothing saves nothing: its answer is that of the state read at
//!    step 1.
//!
//! So the calls of all replicas take effect one at a time, each on the
//! state the previous one saved: no job is leased twice, no save is lost.
//!
//! The time is read once per call and kept for its retries: a retry serves
//! the same call, at the instant it was made. (The host's clock moves only
//! while every call in flight sleeps, so it cannot move during a queue
//! call anyway.)

use crate::queue::{META_KEY, PREFIX, Queue};

/// The durable store, as far as the queue uses it (the WIT's `store`;
/// every write of the queue is a put).
pub trait Store {
    type Error: std::fmt::Debug;

    fn get(&mut self, key: &str) -> Option<Vec<u8>>;

    /// Atomically: if every `(key, expected)` holds (`None`: the key is
    /// absent), writes every record and returns true; otherwise changes
    /// nothing and returns false.
    fn transact(
        &mut self,
        conditions: &[(&str, Option<&[u8]>)],
        writes: &[(String, Vec<u8>)],
    ) -> Result<bool, Self::Error>;

    /// Up to `limit` records whose key starts with `prefix` and comes after
    /// `after` (if given), in key order.
    fn scan(&mut self, prefix: &str, after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)>;
}

/// Records per `scan`.
const PAGE: u32 = 100;

/// The copy of the queue, and the meta record's bytes it is the state of
/// (`None`: the store had no meta record, nothing was ever saved).
struct Loaded {
    queue: Queue,
    meta: Option<Vec<u8>>,
}

/// One instance's copy of the queue.
#[derive(Default)]
pub struct Replica {
    /// `None` until the store was read, and after a refused save.
    loaded: Option<Loaded>,
}

/// Every record of the queue in the store, page by page.
fn read_all<S: Store>(store: &mut S) -> Vec<(String, Vec<u8>)> {
    let mut records = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.scan(PREFIX, after.as_deref(), PAGE);
        let done = page.len() < PAGE as usize;
        after = page.last().map(|(key, _)| key.clone());
        records.extend(page);
        if done {
            return records;
        }
    }
}

impl Replica {
    pub const fn new() -> Replica {
        Replica { loaded: None }
    }

    /// The copy of the queue, if the store was read.
    pub fn queue(&self) -> Option<&Queue> {
        self.loaded.as_ref().map(|l| &l.queue)
    }

    /// Brings the copy up to date with the store (step 1), reading every
    /// record back if another replica saved since it was loaded or saved.
    pub fn refresh<S: Store>(&mut self, store: &mut S) -> &mut Queue {
        loop {
            let meta = store.get(META_KEY);
            if self.loaded.as_ref().is_some_and(|l| l.meta == meta) {
                break;
            }
            // The bytes read before the records, not the meta record the
            // scan returns: the next round trusts this copy only if the
            // record still holds them.
            self.loaded = Some(Loaded {
                queue: Queue::load(read_all(store)),
                meta,
            });
        }
        &mut self.loaded.as_mut().expect("just loaded").queue
    }

    /// Serves one call at `now`: brings the copy up to date, settles the
    /// leases that ran out, serves, and saves what changed over the state
    /// it read; served again from the fresh state if another replica saved
    /// first. Panics if the store refuses the records themselves (too
    /// large, over quota).
    pub fn call<S: Store, T>(
        &mut self,
        store: &mut S,
        now: u64,
        mut serve: impl FnMut(&mut Queue, u64) -> T,
    ) -> T {
        loop {
            let queue = self.refresh(store);
            queue.settle(now);
            let answer = serve(queue, now);
            let writes = queue.take_writes();
            if writes.is_empty() {
                return answer;
            }
            let loaded = self.loaded.as_mut().expect("refreshed");
            let saved = store.transact(&[(META_KEY, loaded.meta.as_deref())], &writes);
            match saved {
                Ok(true) => {
                    loaded.meta = writes
                        .into_iter()
                        .find(|(key, _)| key == META_KEY)
                        .map(|(_, value)| value);
                    return answer;
                }
                // Another replica saved since step 1: this copy (and the
                // answer served on it) is void.
                Ok(false) => self.loaded = None,
                Err(e) => panic!("failed to save the queue: {e:?}"),
            }
        }
    }
}
