//! Crashes of the queue: the instance (and its in-memory index) is dropped,
//! the store survives, a fresh instance serves what comes next, with or
//! without `recover` first. A crash at any store call leaves the store as it
//! was before the call or after it, never in between, and the retried call
//! answers as it would have without the crash.

use std::collections::BTreeMap;

use super::harness::*;
use crate::core::{JobState, JobStatus, QueueError, Schedule};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Enqueue,
    EnqueueDuplicate,
    Lease,
    LeaseNone,
    Heartbeat,
    Complete,
    FailRetryable,
    FailPermanent,
    FailLastAttempt,
    Stale,
    Status,
    DeadLetters,
    Requeue,
}

const CASES: [Case; 13] = [
    Case::Enqueue,
    Case::EnqueueDuplicate,
    Case::Lease,
    Case::LeaseNone,
    Case::Heartbeat,
    Case::Complete,
    Case::FailRetryable,
    Case::FailPermanent,
    Case::FailLastAttempt,
    Case::Stale,
    Case::Status,
    Case::DeadLetters,
    Case::Requeue,
];

/// A queue with a job of every kind: job-1 leased (`lease-1`, long),
/// job-2's lease (`lease-2`) ran out but no call has settled it, job-3 dead,
/// job-4 queued, job-5 delayed, job-6 leased on its last attempt
/// (`lease-4`).
fn setup(env: &Env) {
    let mut q = env.queue();
    enqueue(&mut q, with_priority(with_dedup(spec("a"), "ka"), 9));
    enqueue(&mut q, with_priority(spec("b"), 8));
    enqueue(&mut q, with_priority(with_attempts(spec("c"), 1), 7));
    lease(&mut q, "w1", 100_000);
    lease(&mut q, "w2", 100);
    let l3 = lease(&mut q, "w3", 100_000);
    q.fail("job-3", &l3.token, "bad", false).unwrap();
    enqueue(&mut q, spec("d"));
    enqueue(&mut q, with_schedule(spec("e"), Schedule::DelayMs(50_000)));
    enqueue(&mut q, with_priority(with_attempts(spec("f"), 1), 5));
    assert_eq!(lease(&mut q, "w4", 100_000).job_id, "job-6");
    env.advance(200);
}

fn act(q: &mut TestQueue, case: Case) -> String {
    match case {
        Case::Enqueue => format!("{:?}", q.enqueue(spec("g"))),
        Case::EnqueueDuplicate => format!("{:?}", q.enqueue(with_dedup(spec("g"), "ka"))),
        Case::Lease => format!("{:?}", q.lease("w9", 500)),
        Case::LeaseNone => {
            drain(q, 500_000);
            format!("{:?}", q.lease("w9", 500))
        }
        Case::Heartbeat => format!("{:?}", q.heartbeat("job-1", "lease-1", 1_000)),
        Case::Complete => format!("{:?}", q.complete("job-1", "lease-1")),
        Case::FailRetryable => format!("{:?}", q.fail("job-1", "lease-1", "x", true)),
        Case::FailPermanent => format!("{:?}", q.fail("job-1", "lease-1", "x", false)),
        Case::FailLastAttempt => format!("{:?}", q.fail("job-6", "lease-4", "x", true)),
        Case::Stale => format!("{:?}", q.complete("job-2", "lease-2")),
        Case::Status => format!("{:?}", q.status("job-2")),
        Case::DeadLetters => format!("{:?}", q.dead_letters()),
        Case::Requeue => format!("{:?}", q.requeue("job-3")),
    }
}

/// Every job's status, through a fresh, recovered instance.
fn statuses(env: &Env) -> Vec<JobStatus> {
    let mut q = env.recovered();
    (1..=7)
        .filter_map(|n| q.status(&format!("job-{n}")).ok())
        .collect()
}

struct Baseline {
    answer: String,
    before: BTreeMap<String, Vec<u8>>,
    after: BTreeMap<String, Vec<u8>>,
    statuses: Vec<JobStatus>,
    /// The store calls of the case on a fresh instance (loading included).
    imports: u64,
}

fn baseline(case: Case) -> Baseline {
    let env = Env::new();
    setup(&env);
    let before = env.store.snapshot();
    let start = env.imports.count();
    let answer = act(&mut env.queue(), case);
    let imports = env.imports.count() - start;
    Baseline {
        answer,
        before,
        after: env.store.snapshot(),
        statuses: statuses(&env),
        imports,
    }
}

#[test]
fn the_baselines() {
    let answers: Vec<_> = CASES.iter().map(|&c| baseline(c).answer).collect();
    insta_like(
        &answers,
        &[
            r#"Ok("job-7")"#,
            r#"Ok("job-1")"#,
            r#"Ok(Some(LeasedJob { job_id: "job-4", token: "lease-5", kind: "email", payload: "d", attempt: 1, expires_ms: 1767225600700 }))"#,
            "Ok(None)",
            "Ok(1767225601200)",
            "Ok(())",
            "Ok(())",
            "Ok(())",
            "Ok(())",
            "Err(StaleLease)",
            r#"Ok(JobStatus { id: "job-2", kind: "email", priority: 8, attempts: 1, max_attempts: 3, state: FailedRetrying(1767225601100) })"#,
            r#"[JobStatus { id: "job-3", kind: "email", priority: 7, attempts: 1, max_attempts: 1, state: Dead(PermanentFailure) }]"#,
            "Ok(())",
        ],
    );
    for case in CASES {
        let base = baseline(case);
        // Loading (the version, counters, one page of jobs, the version
        // again to see that nothing moved meanwhile) and at most one write;
        // `LeaseNone` makes a second call (the drain's lease first), which
        // reads only the version and saves at most once.
        let calls = if case == Case::LeaseNone { 2 } else { 0 };
        assert!(
            (4 + calls..=5 + calls).contains(&base.imports),
            "{case:?}: {}",
            base.imports
        );
    }
}

#[track_caller]
fn insta_like(actual: &[String], expected: &[&str]) {
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a, e, "case {:?}", CASES[i]);
    }
}

#[test]
fn crash_at_every_store_call_leaves_the_store_before_or_after() {
    for case in CASES {
        let base = baseline(case);
        for n in 0..base.imports {
            for with_recover in [true, false] {
                let what =
                    format!("{case:?}, crash before store call {n}, recover: {with_recover}");
                let env = Env::new();
                setup(&env);
                env.imports.crash_in(n);
                let mut q = env.queue();
                assert!(
                    catch_crash(|| act(&mut q, case)).is_none(),
                    "{what}: crashed"
                );
                drop(q);
                let store = env.store.snapshot();
                assert!(
                    store == base.before || store == base.after,
                    "{what}: half an operation in the store"
                );
                let mut q = if with_recover {
                    env.recovered()
                } else {
                    env.queue()
                };
                assert_eq!(act(&mut q, case), base.answer, "{what}: the retry");
                assert_eq!(env.store.snapshot(), base.after, "{what}");
                assert_eq!(statuses(&env), base.statuses, "{what}");
            }
        }
    }
}

#[test]
fn crash_between_calls_changes_no_answer() {
    for case in CASES {
        let base = baseline(case);
        for with_recover in [true, false] {
            let env = Env::new();
            setup(&env);
            // The instance that served setup is gone; a fresh one serves.
            let mut q = if with_recover {
                env.recovered()
            } else {
                env.queue()
            };
            assert_eq!(act(&mut q, case), base.answer, "{case:?}");
            assert_eq!(env.store.snapshot(), base.after, "{case:?}");
        }
    }
}

#[test]
fn dedup_keys_hold_across_a_crash() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_dedup(spec("a"), "k"));
    let l = lease(&mut q, "w", 100);
    q.complete(&id, &l.token).unwrap();
    drop(q);
    let mut q = env.recovered();
    assert_eq!(q.enqueue(with_dedup(spec("b"), "k")), Ok(id.clone()));
    drop(q);
    let mut q = env.queue();
    assert_eq!(q.enqueue(with_dedup(spec("c"), "k")), Ok(id));
    assert_eq!(q.enqueue(with_dedup(spec("d"), "k2")), Ok("job-2".into()));
}

#[test]
fn ids_and_tokens_are_never_reused_across_crashes() {
    let env = Env::new();
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for round in 0..20u64 {
        let mut q = env.recovered();
        let id = enqueue(&mut q, spec(&round.to_string()));
        let l = lease(&mut q, "w", 10);
        ids.push(id);
        tokens.push(l.token.clone());
        env.advance(10);
        // Crash before the store call of a lease: the token it would have
        // taken is taken by the next instance, which hands it out.
        if round % 2 == 0 {
            enqueue(&mut q, spec("filler"));
            env.imports.crash_in(0);
            assert!(catch_crash(|| q.lease("w", 10)).is_none());
        } else {
            env.imports.crash_in(0);
            assert!(catch_crash(|| q.enqueue(spec("lost"))).is_none());
        }
    }
    let unique = |v: &[String]| v.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(unique(&ids), ids.len());
    assert_eq!(unique(&tokens), tokens.len());
    // Every id and token handed out names one thing.
    let mut q = env.recovered();
    for id in &ids {
        assert!(q.status(id).is_ok());
    }
}

#[test]
fn a_lease_that_ran_out_while_no_instance_served_counts_at_its_expiry() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(spec("a"), 1_000, 1_000));
    let l = lease(&mut q, "w1", 100);
    drop(q);
    env.advance(10_000);
    let mut q = env.recovered();
    assert_eq!(q.complete(&id, &l.token), Err(QueueError::StaleLease));
    assert_eq!(state(&mut q, &id), JobState::FailedRetrying(T0 + 1_100));
    assert_eq!(lease(&mut q, "w2", 100).attempt, 2);
}

#[test]
fn recover_reads_the_store_in_pages() {
    let env = Env::new();
    let mut q = env.queue();
    let n = crate::core::SCAN_PAGE as usize * 2 + 3;
    for i in 0..n {
        enqueue(&mut q, with_priority(spec(&i.to_string()), (i % 3) as u8));
    }
    let expected = {
        let mut all: Vec<usize> = (0..n).collect();
        all.sort_by_key(|i| (std::cmp::Reverse(i % 3), *i));
        all.iter().map(|i| i.to_string()).collect::<Vec<_>>()
    };
    drop(q);
    let mut q = env.recovered();
    assert_eq!(drain(&mut q, 1_000), expected);
    assert_eq!(q.enqueue(spec("next")), Ok(format!("job-{}", n + 1)));
}
