//! Native tests: generated workloads answered by this queue and by the
//! reference's core side by side, every answer compared (ids and tokens by
//! their number: both count jobs and leases from 1), with crashes between
//! calls that rebuild both from their stores; then several instances of
//! this queue over one store, their store calls interleaved by hand.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;

use reference_job_queue::core as reference;

use crate::queue::{self, Queue, Refusal, Stage};
use crate::replica::{self, Replica};

// ---------------------------------------------------------------------------
// The reference, over an in-memory store and a shared clock
// ---------------------------------------------------------------------------

/// A store call, as [`MemStore`] logs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Get,
    Transact,
    Scan,
}

/// Runs once, before the store call of its kind after the next `skip`.
struct Hook {
    op: Op,
    skip: u32,
    run: Box<dyn FnOnce()>,
}

/// An in-memory store; its clones share everything. It logs every call,
/// counts the transactions it refused, and can run a hook (say, another
/// replica's call) just before a given call.
#[derive(Clone, Default)]
struct MemStore {
    map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    ops: Rc<RefCell<Vec<Op>>>,
    refused: Rc<Cell<u32>>,
    hook: Rc<RefCell<Option<Hook>>>,
}

impl MemStore {
    /// Runs `run` just before the store call of kind `op` after the next
    /// `skip` of them (by any clone), once.
    fn before(&self, op: Op, skip: u32, run: impl FnOnce() + 'static) {
        *self.hook.borrow_mut() = Some(Hook {
            op,
            skip,
            run: Box::new(run),
        });
    }

    /// The calls since the last `take_ops`.
    fn take_ops(&self) -> Vec<Op> {
        std::mem::take(&mut self.ops.borrow_mut())
    }

    /// Logs a call of kind `op`, after running the hook if it is due.
    fn enter(&self, op: Op) {
        let due = {
            let mut slot = self.hook.borrow_mut();
            match slot.as_mut() {
                Some(hook) if hook.op == op && hook.skip == 0 => slot.take(),
                Some(hook) if hook.op == op => {
                    hook.skip -= 1;
                    None
                }
                _ => None,
            }
        };
        if let Some(hook) = due {
            (hook.run)();
        }
        self.ops.borrow_mut().push(op);
    }

    fn read(&self, key: &str) -> Option<Vec<u8>> {
        self.enter(Op::Get);
        self.map.borrow().get(key).cloned()
    }

    fn apply<'a>(
        &self,
        conditions: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        writes: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> bool {
        self.enter(Op::Transact);
        let mut map = self.map.borrow_mut();
        if !conditions
            .into_iter()
            .all(|(key, expected)| map.get(key).map(Vec::as_slice) == expected)
        {
            self.refused.set(self.refused.get() + 1);
            return false;
        }
        for (key, value) in writes {
            match value {
                Some(v) => map.insert(key.to_string(), v.to_vec()),
                None => map.remove(key),
            };
        }
        true
    }

    fn range(&self, prefix: &str, after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)> {
        self.enter(Op::Scan);
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
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

impl reference::Store for MemStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.read(key)
    }

    fn transact(
        &mut self,
        conditions: &[reference::Condition],
        writes: &[reference::Write],
    ) -> Result<bool, reference::StoreError> {
        Ok(self.apply(
            conditions
                .iter()
                .map(|c| (c.key.as_str(), c.expected.as_deref())),
            writes.iter().map(|w| (w.key.as_str(), w.value.as_deref())),
        ))
    }

    fn scan(&mut self, prefix: &str, after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)> {
        self.range(prefix, after, limit)
    }
}

impl replica::Store for MemStore {
    type Error = std::convert::Infallible;

    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.read(key)
    }

    fn transact(
        &mut self,
        conditions: &[(&str, Option<&[u8]>)],
        writes: &[(String, Vec<u8>)],
    ) -> Result<bool, Self::Error> {
        Ok(self.apply(
            conditions.iter().copied(),
            writes
                .iter()
                .map(|(key, value)| (key.as_str(), Some(value.as_slice()))),
        ))
    }

    fn scan(&mut self, prefix: &str, after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)> {
        self.range(prefix, after, limit)
    }
}

#[derive(Clone)]
struct TestClock(Rc<Cell<u64>>);

impl reference::Clock for TestClock {
    fn now_ms(&mut self) -> u64 {
        self.0.get()
    }
}

// ---------------------------------------------------------------------------
// This queue, as the component drives it
// ---------------------------------------------------------------------------

/// One instance of this queue over a store (maybe shared with others).
struct Naive {
    store: MemStore,
    replica: Replica,
}

impl Naive {
    fn over(store: &MemStore) -> Naive {
        Naive {
            store: store.clone(),
            replica: Replica::new(),
        }
    }

    fn call<T>(&mut self, now: u64, serve: impl FnMut(&mut Queue, u64) -> T) -> T {
        self.replica.call(&mut self.store, now, serve)
    }

    /// A fresh instance replaces this one; it reads the store on its first
    /// call.
    fn crash(&mut self) {
        self.replica = Replica::new();
    }

    /// What `recover` does.
    fn recover(&mut self) {
        self.replica = Replica::new();
        self.replica.refresh(&mut self.store);
    }

    fn queue(&self) -> &Queue {
        self.replica.queue().expect("loaded")
    }
}

// ---------------------------------------------------------------------------
// Answers, normalised
// ---------------------------------------------------------------------------

fn number(id: &str) -> String {
    id.trim_start_matches(|c: char| !c.is_ascii_digit())
        .to_string()
}

fn ref_error(e: reference::QueueError) -> String {
    use reference::{InvalidField as F, QueueError as E};
    match e {
        E::NotFound => "not-found",
        E::StaleLease => "stale-lease",
        E::NotDead => "not-dead",
        E::Invalid(F::Kind) => "invalid(kind)",
        E::Invalid(F::MaxAttempts) => "invalid(max-attempts)",
        E::Invalid(F::LeaseMs) => "invalid(lease-ms)",
    }
    .to_string()
}

fn naive_error(r: Refusal) -> String {
    match r {
        Refusal::NotFound => "not-found",
        Refusal::StaleLease => "stale-lease",
        Refusal::NotDead => "not-dead",
        Refusal::EmptyKind => "invalid(kind)",
        Refusal::NoAttempts => "invalid(max-attempts)",
        Refusal::ZeroLease => "invalid(lease-ms)",
    }
    .to_string()
}

fn ref_status(s: &reference::JobStatus) -> String {
    use reference::JobState as S;
    let state = match &s.state {
        S::Queued(at) => format!("queued({at})"),
        S::Leased { worker, expires_ms } => format!("leased({worker},{expires_ms})"),
        S::Succeeded => "succeeded".to_string(),
        S::FailedRetrying(at) => format!("retrying({at})"),
        S::Dead(reference::DeadReason::AttemptsExhausted) => "dead(exhausted)".to_string(),
        S::Dead(reference::DeadReason::PermanentFailure) => "dead(permanent)".to_string(),
    };
    format!(
        "{} {} {} {}/{} {state}",
        number(&s.id),
        s.kind,
        s.priority,
        s.attempts,
        s.max_attempts
    )
}

fn naive_status(q: &Queue, i: usize) -> String {
    let job = &q.jobs[i];
    let state = match &job.stage {
        Stage::Waiting { from, retry: false } => format!("queued({from})"),
        Stage::Waiting { from, retry: true } => format!("retrying({from})"),
        Stage::Running { worker, until, .. } => format!("leased({worker},{until})"),
        Stage::Done => "succeeded".to_string(),
        Stage::Dead {
            permanent: false, ..
        } => "dead(exhausted)".to_string(),
        Stage::Dead {
            permanent: true, ..
        } => "dead(permanent)".to_string(),
    };
    format!(
        "{} {} {} {}/{} {state}",
        number(&queue::id_of(i)),
        job.kind,
        job.priority,
        job.runs,
        job.max_attempts
    )
}

fn either<T>(r: Result<T, String>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => format!("ok {}", ok(v)),
        Err(e) => format!("err {e}"),
    }
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Runs `steps` random calls on both queues; panics at the first answer
/// that differs. Ids, tokens and workers are drawn from small ranges, so
/// that stale tokens, unknown ids, duplicates and invalid specs come up.
fn compare(seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let now = Rc::new(Cell::new(1_767_225_600_000u64));
    let store = MemStore::default();
    let new_reference = || reference::Queue::<_, _>::new(store.clone(), TestClock(now.clone()));
    let mut r: reference::Queue<MemStore, TestClock> = new_reference();
    let mut n = Naive::over(&MemStore::default());
    let mut history = Vec::new();
    for step in 0..steps {
        now.set(now.get() + rng.below(60));
        let t = now.get();
        let job = 1 + rng.below(12 + step as u64 / 4);
        let token = 1 + rng.below(6 + step as u64 / 5);
        let (a, b, what) = match rng.below(16) {
            0..=3 => {
                let kind = if rng.below(40) == 0 { "" } else { "k" };
                let priority = rng.below(4) as u8;
                let max = rng.below(5) as u32;
                let (base, cap) = match rng.below(4) {
                    0 => (u64::MAX / 3, u64::MAX),
                    _ => (rng.below(80), rng.below(500)),
                };
                let delay = rng.below(300);
                let schedule = rng.below(3);
                let dedup = (rng.below(4) == 0).then(|| format!("d{}", rng.below(10)));
                let payload = format!("p{step}");
                let ra = r.enqueue(reference::JobSpec {
                    kind: kind.to_string(),
                    payload: payload.clone(),
                    priority,
                    max_attempts: max,
                    backoff: reference::Backoff {
                        base_ms: base,
                        cap_ms: cap,
                    },
                    schedule: match schedule {
                        0 => reference::Schedule::Now,
                        1 => reference::Schedule::DelayMs(delay),
                        _ => reference::Schedule::AtMs((t + delay).saturating_sub(150)),
                    },
                    dedup_key: dedup.clone(),
                });
                let nb = n.call(t, |q, t| {
                    q.enqueue(
                        queue::Spec {
                            kind: kind.to_string(),
                            payload: payload.clone(),
                            priority,
                            max_attempts: max,
                            base_ms: base,
                            cap_ms: cap,
                            start: match schedule {
                                0 => queue::Start::Now,
                                1 => queue::Start::After(delay),
                                _ => queue::Start::At((t + delay).saturating_sub(150)),
                            },
                            dedup: dedup.clone(),
                        },
                        t,
                    )
                });
                (
                    either(ra.map_err(ref_error), |id| number(&id)),
                    either(nb.map_err(naive_error), |i| number(&queue::id_of(i))),
                    "enqueue",
                )
            }
            4..=6 => {
                let worker = format!("w{}", rng.below(4));
                let ms = rng.below(200);
                let ra = r.lease(&worker, ms);
                let nb = n.call(t, |q, t| q.lease(&worker, ms, t));
                (
                    either(ra.map_err(ref_error), |l| match l {
                        Some(l) => format!(
                            "{} {} {} {} {} {}",
                            number(&l.job_id),
                            number(&l.token),
                            l.kind,
                            l.payload,
                            l.attempt,
                            l.expires_ms
                        ),
                        None => "none".to_string(),
                    }),
                    either(nb.map_err(naive_error), |h| match h {
                        Some(h) => format!(
                            "{} {} {} {} {} {}",
                            number(&queue::id_of(h.index)),
                            number(&h.token),
                            h.kind,
                            h.payload,
                            h.attempt,
                            h.until
                        ),
                        None => "none".to_string(),
                    }),
                    "lease",
                )
            }
            7 => {
                let ms = rng.below(100);
                let ra = r.heartbeat(&format!("job-{job}"), &format!("lease-{token}"), ms);
                let nb = n.call(t, |q, t| {
                    q.heartbeat(&format!("j{job}"), &format!("t{token}"), ms, t)
                });
                (
                    either(ra.map_err(ref_error), |e| e.to_string()),
                    either(nb.map_err(naive_error), |e| e.to_string()),
                    "heartbeat",
                )
            }
            8..=9 => {
                let ra = r.complete(&format!("job-{job}"), &format!("lease-{token}"));
                let nb = n.call(t, |q, _| {
                    q.complete(&format!("j{job}"), &format!("t{token}"))
                });
                (
                    either(ra.map_err(ref_error), |()| String::new()),
                    either(nb.map_err(naive_error), |()| String::new()),
                    "complete",
                )
            }
            10..=11 => {
                let retryable = rng.below(4) != 0;
                let ra = r.fail(
                    &format!("job-{job}"),
                    &format!("lease-{token}"),
                    "x",
                    retryable,
                );
                let nb = n.call(t, |q, t| {
                    q.fail(&format!("j{job}"), &format!("t{token}"), retryable, t)
                });
                (
                    either(ra.map_err(ref_error), |()| String::new()),
                    either(nb.map_err(naive_error), |()| String::new()),
                    "fail",
                )
            }
            12 => {
                let ra = r.status(&format!("job-{job}"));
                let nb = n.call(t, |q, _| {
                    q.status(&format!("j{job}")).map(|i| naive_status(q, i))
                });
                (
                    either(ra.map_err(ref_error), |s| ref_status(&s)),
                    either(nb.map_err(naive_error), |s| s),
                    "status",
                )
            }
            13 => {
                let ra = r.dead_letters();
                let nb = n.call(t, |q, _| {
                    q.dead_letters()
                        .into_iter()
                        .map(|i| naive_status(q, i))
                        .collect::<Vec<_>>()
                });
                (
                    ra.iter().map(ref_status).collect::<Vec<_>>().join("; "),
                    nb.join("; "),
                    "dead-letters",
                )
            }
            14 => {
                let ra = r.requeue(&format!("job-{job}"));
                let nb = n.call(t, |q, t| q.requeue(&format!("j{job}"), t));
                (
                    either(ra.map_err(ref_error), |()| String::new()),
                    either(nb.map_err(naive_error), |()| String::new()),
                    "requeue",
                )
            }
            _ => {
                // Both crash between calls and come back from their stores.
                r = new_reference();
                n.crash();
                if rng.below(2) == 0 {
                    r.recover();
                    n.recover();
                }
                continue;
            }
        };
        history.push(format!("{step} {what}: {a}"));
        assert_eq!(
            a,
            b,
            "seed {seed}, step {step} ({what}); the calls so far:\n{}",
            history.join("\n")
        );
    }
}

#[test]
fn answers_like_the_reference_on_generated_workloads() {
    for seed in 1..=40 {
        compare(seed, 600);
    }
}

#[test]
fn backoff_doubles_up_to_the_cap_and_saturates() {
    assert_eq!(
        (1..=6)
            .map(|n| queue::backoff(100, 1_000, n))
            .collect::<Vec<_>>(),
        [100, 200, 400, 800, 1_000, 1_000]
    );
    assert_eq!(queue::backoff(3, u64::MAX, 64), u64::MAX);
    assert_eq!(queue::backoff(3, u64::MAX, 63), 3 << 62);
    assert_eq!(queue::backoff(0, u64::MAX, u32::MAX), 0);
    assert_eq!(queue::backoff(1, 5, u32::MAX), 5);
}

#[test]
fn a_crash_keeps_what_was_saved() {
    let mut n = Naive::over(&MemStore::default());
    let spec = |dedup: &str| queue::Spec {
        kind: "k".to_string(),
        payload: "p".to_string(),
        priority: 0,
        max_attempts: 2,
        base_ms: 10,
        cap_ms: 10,
        start: queue::Start::Now,
        dedup: Some(dedup.to_string()),
    };
    assert_eq!(n.call(0, |q, t| q.enqueue(spec("a"), t)), Ok(0));
    let lease = n.call(0, |q, t| q.lease("w", 100, t)).unwrap().unwrap();
    n.crash();
    assert_eq!(n.call(5, |q, t| q.enqueue(spec("a"), t)), Ok(0), "dedup");
    assert_eq!(n.call(5, |q, t| q.enqueue(spec("b"), t)), Ok(1));
    // The lease ran out at 100 while nobody looked: retry at 110.
    n.crash();
    assert_eq!(
        n.call(500, |q, _| q.complete("j1", &lease.token)),
        Err(Refusal::StaleLease)
    );
    assert_eq!(
        n.queue().jobs[0].stage,
        Stage::Waiting {
            from: 110,
            retry: true
        }
    );
    let again = n.call(500, |q, t| q.lease("w", 100, t)).unwrap().unwrap();
    assert_eq!(
        (again.index, again.attempt, again.token.as_str()),
        (0, 2, "t2")
    );
}

// ---------------------------------------------------------------------------
// Replicas: several instances over one store
// ---------------------------------------------------------------------------

/// A job runnable at once, deduplicated by `dedup` if given.
fn job(kind: &str, dedup: Option<&str>) -> queue::Spec {
    queue::Spec {
        kind: kind.to_string(),
        payload: String::new(),
        priority: 0,
        max_attempts: 2,
        base_ms: 10,
        cap_ms: 10,
        start: queue::Start::Now,
        dedup: dedup.map(str::to_string),
    }
}

fn status(n: &mut Naive, now: u64, id: &str) -> Result<String, Refusal> {
    n.call(now, |q, _| q.status(id).map(|i| naive_status(q, i)))
}

/// Job index and token of a lease.
fn lease(n: &mut Naive, now: u64, worker: &str) -> Option<(usize, String)> {
    n.call(now, |q, t| q.lease(worker, 100, t))
        .unwrap()
        .map(|h| (h.index, h.token))
}

#[test]
fn replicas_over_one_store_see_each_others_writes() {
    let store = MemStore::default();
    let (mut a, mut b) = (Naive::over(&store), Naive::over(&store));
    // Both read the (empty) store before either writes.
    assert!(a.call(0, |q, _| q.dead_letters()).is_empty());
    assert!(b.call(0, |q, _| q.dead_letters()).is_empty());

    assert_eq!(a.call(10, |q, t| q.enqueue(job("k", Some("d")), t)), Ok(0));
    assert_eq!(lease(&mut b, 20, "wb"), Some((0, "t1".to_string())));
    assert_eq!(
        status(&mut a, 30, "j1").unwrap(),
        "1 k 0 1/2 leased(wb,120)"
    );
    assert_eq!(b.call(40, |q, _| q.complete("j1", "t1")), Ok(()));
    assert_eq!(status(&mut a, 50, "j1").unwrap(), "1 k 0 1/2 succeeded");
    // The counters and the dedup keys are the store's, not an instance's.
    assert_eq!(b.call(60, |q, t| q.enqueue(job("k", Some("d")), t)), Ok(0));
    assert_eq!(a.call(60, |q, t| q.enqueue(job("k", None), t)), Ok(1));
    assert_eq!(b.call(60, |q, t| q.enqueue(job("k", None), t)), Ok(2));
    assert_eq!(lease(&mut a, 70, "wa"), Some((1, "t2".to_string())));
    // A lease B handed out that ran out is settled by whoever looks next.
    assert_eq!(lease(&mut b, 70, "wb"), Some((2, "t3".to_string())));
    assert_eq!(
        status(&mut a, 500, "j3").unwrap(),
        "3 k 0 1/2 retrying(180)"
    );
    assert_eq!(
        status(&mut b, 500, "j3").unwrap(),
        "3 k 0 1/2 retrying(180)"
    );
    assert_eq!(store.refused.get(), 0, "nothing overlapped");
}

#[test]
fn each_call_reads_the_version_first_and_reloads_only_when_it_moved() {
    let store = MemStore::default();
    let (mut a, mut b) = (Naive::over(&store), Naive::over(&store));
    use Op::{Get, Scan, Transact};
    // A fresh instance reads the version, the records, and the version
    // again (to know that nobody saved while it read them).
    a.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    assert_eq!(store.take_ops(), [Get, Scan, Get, Transact]);
    // Current: one get, and a save if the call changed anything.
    a.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    assert_eq!(store.take_ops(), [Get, Transact]);
    status(&mut a, 0, "j1").unwrap();
    assert_eq!(store.take_ops(), [Get], "a call that changes nothing");
    // Another replica saved: read everything back, then answer from it.
    b.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    store.take_ops();
    assert_eq!(status(&mut a, 0, "j3").unwrap(), "3 k 0 0/2 queued(0)");
    assert_eq!(store.take_ops(), [Get, Scan, Get]);
    // `recover` reads everything back too.
    a.recover();
    assert_eq!(store.take_ops(), [Get, Scan, Get]);
    status(&mut a, 0, "j3").unwrap();
    assert_eq!(store.take_ops(), [Get]);
}

/// Runs `call` on `n` just before the next transaction of `store` (by
/// anyone); once it ran, its answer and `n` back.
fn just_before_the_next_save<T: 'static>(
    store: &MemStore,
    mut n: Naive,
    call: impl FnOnce(&mut Naive) -> T + 'static,
) -> Rc<RefCell<Option<(T, Naive)>>> {
    let answer = Rc::new(RefCell::new(None));
    let out = answer.clone();
    store.before(Op::Transact, 0, move || {
        let got = call(&mut n);
        *out.borrow_mut() = Some((got, n));
    });
    answer
}

#[test]
fn two_leases_at_once_hand_out_two_different_jobs() {
    let store = MemStore::default();
    let (mut a, mut b) = (Naive::over(&store), Naive::over(&store));
    a.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    a.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    status(&mut b, 0, "j1").unwrap();
    // A and B both read the state with j1 and j2 waiting; B saves its
    // lease between A's read and A's save.
    let b_got = just_before_the_next_save(&store, b, |b| lease(b, 10, "wb"));
    let mut served = 0;
    let a_got = a
        .call(10, |q, t| {
            served += 1;
            q.lease("wa", 100, t)
        })
        .unwrap()
        .map(|h| (h.index, h.token));
    // A first picked j1 too; its save was refused, and served again on
    // B's state it picked j2.
    let (b_got, _) = b_got.take().expect("B served");
    assert_eq!(b_got, Some((0, "t1".to_string())));
    assert_eq!(a_got, Some((1, "t2".to_string())));
    assert_eq!((served, store.refused.get()), (2, 1));
    let mut c = Naive::over(&store);
    assert_eq!(
        status(&mut c, 20, "j1").unwrap(),
        "1 k 0 1/2 leased(wb,110)"
    );
    assert_eq!(
        status(&mut c, 20, "j2").unwrap(),
        "2 k 0 1/2 leased(wa,110)"
    );
    assert_eq!(
        status(&mut a, 20, "j1").unwrap(),
        "1 k 0 1/2 leased(wb,110)"
    );
}

#[test]
fn a_refused_save_is_served_again_from_the_fresh_state() {
    let store = MemStore::default();
    let (mut a, mut b) = (Naive::over(&store), Naive::over(&store));
    a.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    assert_eq!(lease(&mut a, 0, "w"), Some((0, "t1".to_string())));
    // The same lease completed through both replicas at once: the second
    // save is refused, and on the state the first left the lease is stale.
    status(&mut b, 0, "j1").unwrap();
    let b_got = just_before_the_next_save(&store, b, |b| b.call(10, |q, _| q.complete("j1", "t1")));
    assert_eq!(
        a.call(10, |q, _| q.complete("j1", "t1")),
        Err(Refusal::StaleLease)
    );
    let (answer, b) = b_got.take().expect("B served");
    assert_eq!(answer, Ok(()));
    assert_eq!(store.refused.get(), 1);

    // One dedup key enqueued through both at once: one job, one id.
    let b_got = just_before_the_next_save(&store, b, |b| {
        b.call(20, |q, t| q.enqueue(job("k", Some("once")), t))
    });
    assert_eq!(
        a.call(20, |q, t| q.enqueue(job("k", Some("once")), t)),
        Ok(1)
    );
    assert_eq!(b_got.take().expect("B served").0, Ok(1));
    assert_eq!(store.refused.get(), 2);
    assert_eq!(a.queue().jobs.len(), 2);
    assert_eq!(a.queue().meta.jobs, 2);
}

#[test]
fn a_save_during_a_reload_is_noticed() {
    let store = MemStore::default();
    let (mut a, mut b) = (Naive::over(&store), Naive::over(&store));
    // Enough jobs that reading them back takes two scans.
    for _ in 0..150 {
        a.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    }
    b.call(0, |q, t| q.enqueue(job("k", None), t)).unwrap();
    // A reloads; between its two scans, B leases j1 (on the first page,
    // which A has read already; the meta record, on the second, says so).
    let b_got = Rc::new(RefCell::new(None));
    let out = b_got.clone();
    store.before(Op::Scan, 1, move || {
        *out.borrow_mut() = Some(lease(&mut b, 10, "wb"));
    });
    store.take_ops();
    assert_eq!(lease(&mut a, 10, "wa"), Some((1, "t2".to_string())));
    assert_eq!(b_got.take(), Some(Some((0, "t1".to_string()))));
    // Not by a refused save: A saw that the version had moved while it
    // read, and read everything again before serving.
    assert_eq!(store.refused.get(), 0);
    use Op::{Get, Scan, Transact};
    let a_ops: Vec<Op> = store.take_ops();
    // (B's get and save come between A's two first scans.)
    assert_eq!(
        a_ops,
        [
            Get, Scan, Get, Transact, Scan, Get, Scan, Scan, Get, Transact
        ]
    );
}
