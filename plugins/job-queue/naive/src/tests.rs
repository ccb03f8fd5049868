//! Native tests: generated workloads answered by this queue and by the
//! reference's core side by side, every answer compared (ids and tokens by
//! their number: both count jobs and leases from 1), with crashes between
//! calls that rebuild both from their stores.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;

use reference_job_queue::core as reference;

use crate::queue::{self, Queue, Refusal, Stage};

// ---------------------------------------------------------------------------
// The reference, over an in-memory store and a shared clock
// ---------------------------------------------------------------------------

#[derive(Clone, Default)]
struct MemStore(Rc<RefCell<BTreeMap<String, Vec<u8>>>>);

impl reference::Store for MemStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.borrow().get(key).cloned()
    }

    fn transact(
        &mut self,
        conditions: &[reference::Condition],
        writes: &[reference::Write],
    ) -> Result<bool, reference::StoreError> {
        let mut map = self.0.borrow_mut();
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

    fn scan(&mut self, prefix: &str, after: Option<&str>, limit: u32) -> Vec<(String, Vec<u8>)> {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        self.0
            .borrow()
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
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

struct Naive {
    store: BTreeMap<String, Vec<u8>>,
    queue: Queue,
}

impl Naive {
    fn call<T>(&mut self, now: u64, serve: impl FnOnce(&mut Queue, u64) -> T) -> T {
        self.queue.settle(now);
        let answer = serve(&mut self.queue, now);
        self.store.extend(self.queue.take_writes());
        answer
    }

    fn crash(&mut self) {
        self.queue = Queue::load(self.store.clone());
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
    let mut n = Naive {
        store: BTreeMap::new(),
        queue: Queue::default(),
    };
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
                            payload,
                            priority,
                            max_attempts: max,
                            base_ms: base,
                            cap_ms: cap,
                            start: match schedule {
                                0 => queue::Start::Now,
                                1 => queue::Start::After(delay),
                                _ => queue::Start::At((t + delay).saturating_sub(150)),
                            },
                            dedup,
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
                if rng.below(2) == 0 {
                    r.recover();
                }
                n.crash();
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
    let mut n = Naive {
        store: BTreeMap::new(),
        queue: Queue::default(),
    };
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
        n.queue.jobs[0].stage,
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
