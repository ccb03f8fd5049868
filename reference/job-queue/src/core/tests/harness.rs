//! The native test environment: a virtual clock and an in-memory ordered
//! store with the host's semantics and limits, whose every call can be made
//! to crash the queue. A crash is a panic with a [`Crash`] payload: the test
//! catches it, drops the queue (its in-memory index with it), and builds a
//! fresh one over the same store, as the host does with a fresh instance.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;

use crate::core::{
    Backoff, Clock, Condition, JobRecord, JobSpec, JobState, JobStatus, LeasedJob, Queue, Rules,
    Schedule, Store, StoreError, Write,
};

/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600_000;

/// The host's store limits.
const MAX_KEY: usize = 1024;
const MAX_VALUE: usize = 64 * 1024;

pub type TestQueue = Queue<MemStore, TestClock>;

// ---------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------

/// The payload of a simulated crash of the queue.
pub struct Crash;

/// Counts the queue's store calls; can crash the queue right before a given
/// one (which then does not happen).
#[derive(Clone, Default)]
pub struct Imports {
    count: Rc<Cell<u64>>,
    writes: Rc<Cell<u64>>,
    crash_at: Rc<Cell<Option<u64>>>,
}

impl Imports {
    /// Store calls so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// Store writes (`transact`s) so far.
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    /// Crash before the `n`-th store call from now (0: the next one).
    pub fn crash_in(&self, n: u64) {
        self.crash_at.set(Some(self.count.get() + n));
    }

    fn tick(&self) {
        let n = self.count.get();
        if self.crash_at.get() == Some(n) {
            self.crash_at.set(None);
            crash();
        }
        self.count.set(n + 1);
    }
}

/// Panics with [`Crash`] (which the panic hook keeps quiet).
pub fn crash() -> ! {
    quiet_crashes();
    panic::panic_any(Crash)
}

fn quiet_crashes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Crash>().is_none() {
                default(info);
            }
        }));
    });
}

/// Runs `f`; `None` if the queue crashed (any other panic propagates).
pub fn catch_crash<T>(f: impl FnOnce() -> T) -> Option<T> {
    quiet_crashes();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) if payload.downcast_ref::<Crash>().is_some() => None,
        Err(payload) => panic::resume_unwind(payload),
    }
}

// ---------------------------------------------------------------------------
// The clock
// ---------------------------------------------------------------------------

#[derive(Clone)]
pub struct TestClock {
    now: Rc<Cell<u64>>,
}

impl TestClock {
    pub fn new(now: u64) -> Self {
        TestClock {
            now: Rc::new(Cell::new(now)),
        }
    }

    pub fn now(&self) -> u64 {
        self.now.get()
    }

    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }

    pub fn set(&self, now: u64) {
        self.now.set(now);
    }
}

impl Clock for TestClock {
    fn now_ms(&mut self) -> u64 {
        self.now.get()
    }
}

// ---------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------

/// An ordered in-memory store with the host's semantics and limits.
#[derive(Clone)]
pub struct MemStore {
    map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    imports: Imports,
    /// Runs once, right before the next `transact` of any queue over this
    /// store: another replica's call landing between a call's reads and its
    /// save.
    before_transact: Rc<RefCell<Option<Hook>>>,
}

/// What runs before a `transact` (see [`MemStore::before_next_transact`]).
type Hook = Box<dyn FnOnce()>;

impl MemStore {
    pub fn new(imports: Imports) -> Self {
        MemStore {
            map: Rc::default(),
            imports,
            before_transact: Rc::default(),
        }
    }

    /// Runs `f` once, right before the next `transact`.
    pub fn before_next_transact(&self, f: impl FnOnce() + 'static) {
        *self.before_transact.borrow_mut() = Some(Box::new(f));
    }

    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.map.borrow().clone()
    }

    /// Every job record, in enqueue order.
    pub fn job_records(&self) -> Vec<JobRecord> {
        self.map
            .borrow()
            .iter()
            .filter(|(k, _)| k.starts_with("job/"))
            .map(|(_, v)| serde_json::from_slice(v).unwrap())
            .collect()
    }
}

impl Store for MemStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.imports.tick();
        self.map.borrow().get(key).cloned()
    }

    fn transact(&mut self, conditions: &[Condition], writes: &[Write]) -> Result<bool, StoreError> {
        let hook = self.before_transact.borrow_mut().take();
        if let Some(hook) = hook {
            hook();
        }
        self.imports.tick();
        self.imports.writes.set(self.imports.writes.get() + 1);
        for w in writes {
            if w.key.len() > MAX_KEY {
                return Err(StoreError::KeyTooLarge);
            }
            if w.value.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
                return Err(StoreError::ValueTooLarge);
            }
        }
        let mut map = self.map.borrow_mut();
        if !conditions
            .iter()
            .all(|c| map.get(&c.key) == c.expected.as_ref())
        {
            return Ok(false);
        }
        for w in writes {
            match &w.value {
                Some(v) => map.insert(w.key.clone(), v.clone()),
                None => map.remove(&w.key),
            };
        }
        Ok(true)
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        self.imports.tick();
        let start = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        self.map
            .borrow()
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------

/// What survives a crash of the queue: the clock and the store.
pub struct Env {
    pub clock: TestClock,
    pub store: MemStore,
    pub imports: Imports,
}

impl Env {
    pub fn new() -> Env {
        let imports = Imports::default();
        Env {
            clock: TestClock::new(T0),
            store: MemStore::new(imports.clone()),
            imports,
        }
    }

    /// A fresh queue over this environment (a fresh instance, without
    /// `recover`: the very first instance, or one that loads lazily).
    pub fn queue(&self) -> TestQueue {
        Queue::new(self.store.clone(), self.clock.clone())
    }

    /// A fresh queue under other delivery rules.
    pub fn queue_with<R: Rules>(&self) -> Queue<MemStore, TestClock, R> {
        Queue::new(self.store.clone(), self.clock.clone())
    }

    /// A fresh instance after a crash, recovered (which must not crash).
    pub fn recovered(&self) -> TestQueue {
        let mut queue = self.queue();
        catch_crash(|| queue.recover()).expect("recover crashed");
        queue
    }

    pub fn advance(&self, ms: u64) {
        self.clock.advance(ms);
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }
}

// ---------------------------------------------------------------------------
// Specs and shorthands
// ---------------------------------------------------------------------------

/// A job of `kind` "email", payload `payload`, priority 0, 3 attempts,
/// backoff 1 s doubling up to 60 s, runnable now, no dedup key.
pub fn spec(payload: &str) -> JobSpec {
    JobSpec {
        kind: "email".to_string(),
        payload: payload.to_string(),
        priority: 0,
        max_attempts: 3,
        backoff: Backoff {
            base_ms: 1_000,
            cap_ms: 60_000,
        },
        schedule: Schedule::Now,
        dedup_key: None,
    }
}

pub fn with_priority(mut spec: JobSpec, priority: u8) -> JobSpec {
    spec.priority = priority;
    spec
}

pub fn with_attempts(mut spec: JobSpec, max_attempts: u32) -> JobSpec {
    spec.max_attempts = max_attempts;
    spec
}

pub fn with_backoff(mut spec: JobSpec, base_ms: u64, cap_ms: u64) -> JobSpec {
    spec.backoff = Backoff { base_ms, cap_ms };
    spec
}

pub fn with_schedule(mut spec: JobSpec, schedule: Schedule) -> JobSpec {
    spec.schedule = schedule;
    spec
}

pub fn with_dedup(mut spec: JobSpec, key: &str) -> JobSpec {
    spec.dedup_key = Some(key.to_string());
    spec
}

/// Enqueues; the id.
#[track_caller]
pub fn enqueue(queue: &mut TestQueue, spec: JobSpec) -> String {
    queue.enqueue(spec).expect("enqueue")
}

/// Leases for `lease_ms`; the lease (there must be one).
#[track_caller]
pub fn lease(queue: &mut TestQueue, worker: &str, lease_ms: u64) -> LeasedJob {
    queue
        .lease(worker, lease_ms)
        .expect("lease")
        .expect("a runnable job")
}

/// The payloads leased, one lease of `lease_ms` each, until none is
/// runnable.
pub fn drain(queue: &mut TestQueue, lease_ms: u64) -> Vec<String> {
    let mut payloads = Vec::new();
    while let Some(l) = queue.lease("drain", lease_ms).unwrap() {
        payloads.push(l.payload);
    }
    payloads
}

#[track_caller]
pub fn status(queue: &mut TestQueue, id: &str) -> JobStatus {
    queue.status(id).expect("status")
}

#[track_caller]
pub fn state(queue: &mut TestQueue, id: &str) -> JobState {
    status(queue, id).state
}

/// The ids in the dead-letter queue, in its order.
pub fn dead_ids(queue: &mut TestQueue) -> Vec<String> {
    queue.dead_letters().into_iter().map(|s| s.id).collect()
}
