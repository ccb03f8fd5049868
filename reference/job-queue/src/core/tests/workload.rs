//! Generated workloads: producers, workers that complete, fail, die and
//! complete twice, an operator requeueing dead jobs, and crashes. The
//! invariants of the track hold on every answer, and a run with crashes
//! answers exactly as the same run without them.

use std::collections::BTreeMap;

use super::harness::*;
use crate::core::{
    Backoff, DeadReason, JobSpec, JobState, JobStatus, QueueError, Schedule, backoff_delay,
};

/// SplitMix64: a seeded, portable generator (no dependency, no entropy).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Crashes {
    None,
    /// Now and then, before a random store call of a call; the call is
    /// retried on a fresh instance.
    AtStoreCalls,
    /// Now and then, between calls.
    BetweenCalls,
}

/// What a worker holds: the job, the token, and the spec it was enqueued
/// with.
struct Held {
    job: String,
    token: String,
}

/// Drives `jobs` jobs through the queue; every answer, in order, as text.
/// Checks the invariants as it goes when `check` is set.
fn run(seed: u64, jobs: usize, crashes: Crashes, check: bool) -> Vec<String> {
    let env = Env::new();
    let mut rng = Rng(seed);
    // The crashes draw from their own generator, so that the workload is
    // the same with and without them.
    let mut crash_rng = Rng(!seed);
    let mut q = env.queue();
    let mut answers = Vec::new();
    let mut workers: Vec<Option<Held>> = (0..8).map(|_| None).collect();
    let mut specs: BTreeMap<String, JobSpec> = BTreeMap::new();
    let mut ids: Vec<String> = Vec::new();
    let mut enqueued = 0;
    let mut last_completed: Option<(String, String)> = None;

    // One call, with the crashes the run injects; the answer as text.
    macro_rules! call {
        ($q:ident => $e:expr) => {{
            loop {
                if crashes == Crashes::AtStoreCalls && crash_rng.below(20) == 0 {
                    env.imports.crash_in(crash_rng.below(3));
                }
                let q_ref = &mut q;
                match catch_crash(|| {
                    let $q = &mut *q_ref;
                    $e
                }) {
                    Some(answer) => {
                        env.imports.crash_in(u64::MAX / 2);
                        break answer;
                    }
                    None => q = env.recovered(),
                }
            }
        }};
    }

    while enqueued < jobs || workers.iter().any(Option::is_some) {
        if crashes == Crashes::BetweenCalls && crash_rng.below(50) == 0 {
            q = if crash_rng.below(2) == 0 {
                env.recovered()
            } else {
                env.queue()
            };
        }
        env.advance(rng.below(40));
        match rng.below(10) {
            0..=2 if enqueued < jobs => {
                enqueued += 1;
                let spec = JobSpec {
                    kind: ["email", "resize", "bill"][rng.below(3) as usize].to_string(),
                    payload: format!("p{enqueued}"),
                    priority: rng.below(4) as u8,
                    max_attempts: 1 + rng.below(4) as u32,
                    backoff: Backoff {
                        base_ms: rng.below(100),
                        cap_ms: rng.below(400),
                    },
                    schedule: match rng.below(4) {
                        0 => Schedule::DelayMs(rng.below(500)),
                        1 => Schedule::AtMs(env.now() + rng.below(500) - 100),
                        _ => Schedule::Now,
                    },
                    dedup_key: (rng.below(5) == 0).then(|| format!("k{}", rng.below(50))),
                };
                let answer = call!(q => q.enqueue(spec.clone()));
                if let Ok(id) = &answer
                    && !specs.contains_key(id)
                {
                    specs.insert(id.clone(), spec);
                    ids.push(id.clone());
                }
                answers.push(format!("{answer:?}"));
            }
            0..=5 => {
                let w = rng.below(workers.len() as u64) as usize;
                if let Some(held) = &workers[w] {
                    let (job, token) = (held.job.clone(), held.token.clone());
                    let answer = match rng.below(20) {
                        0 => format!("{:?}", call!(q => q.fail(&job, &token, "x", false))),
                        1..=2 => format!("{:?}", call!(q => q.fail(&job, &token, "x", true))),
                        3..=4 => {
                            workers[w] = None;
                            "died".to_string()
                        }
                        5 => format!("{:?}", call!(q => q.heartbeat(&job, &token, 200))),
                        _ => {
                            let answer = call!(q => q.complete(&job, &token));
                            if answer.is_ok() {
                                last_completed = Some((job.clone(), token.clone()));
                            }
                            format!("{answer:?}")
                        }
                    };
                    if answer != "Ok(())" && answer != "died" && !answer.starts_with("Ok(1") {
                        // Refused: the lease ran out under the worker.
                        assert_eq!(answer, "Err(StaleLease)");
                    }
                    if !answer.starts_with("Ok(1") {
                        workers[w] = None;
                    }
                    answers.push(answer);
                } else {
                    let before = if check { Some(all(&mut q, &ids)) } else { None };
                    let lease_ms = 1 + rng.below(300);
                    let answer = call!(q => q.lease(&format!("w{w}"), lease_ms));
                    let leased = answer.clone().unwrap();
                    if let Some(before) = before {
                        check_lease(&before, leased.as_ref().map(|l| &l.job_id), env.now());
                    }
                    if let Some(l) = &leased {
                        let max = specs[&l.job_id].max_attempts;
                        assert!(l.attempt >= 1 && l.attempt <= max, "attempts bounded");
                        workers[w] = Some(Held {
                            job: l.job_id.clone(),
                            token: l.token.clone(),
                        });
                    }
                    answers.push(format!("{answer:?}"));
                }
            }
            6 => {
                if let Some((job, token)) = &last_completed {
                    let answer = call!(q => q.complete(job, token));
                    assert_eq!(answer, Err(QueueError::StaleLease), "a duplicate complete");
                    answers.push(format!("{answer:?}"));
                }
            }
            7 if !ids.is_empty() => {
                let id = &ids[rng.below(ids.len() as u64) as usize];
                let answer = call!(q => q.status(id));
                answers.push(format!("{answer:?}"));
            }
            8 => {
                let dead = call!(q => q.dead_letters());
                if check {
                    check_dead_letters(&dead);
                }
                if let Some(first) = dead.first()
                    && rng.below(3) == 0
                {
                    let answer = call!(q => q.requeue(&first.id));
                    answers.push(format!("{answer:?}"));
                }
                answers.push(format!("{dead:?}"));
            }
            _ => {}
        }
    }
    // Let every lease run out and every retry come due, and drain.
    env.advance(1_000_000);
    loop {
        let answer = call!(q => q.lease("last", 1));
        match answer {
            Ok(Some(l)) => {
                let answer = call!(q => q.complete(&l.job_id, &l.token));
                answers.push(format!("{l:?} {answer:?}"));
            }
            _ => break,
        }
    }
    // No job is lost: each one ended succeeded or dead.
    let end = all(&mut q, &ids);
    for s in &end {
        assert!(
            matches!(s.state, JobState::Succeeded | JobState::Dead(_)),
            "{s:?}"
        );
        assert!(s.attempts <= s.max_attempts, "{s:?}");
        answers.push(format!("{s:?}"));
    }
    assert_eq!(end.len(), ids.len());
    answers
}

fn all(q: &mut TestQueue, ids: &[String]) -> Vec<JobStatus> {
    ids.iter().map(|id| q.status(id).unwrap()).collect()
}

/// The job leased was the best runnable one (highest priority, then enqueue
/// order) of the jobs as they stood before the lease, with time settled:
/// `before` was read at the same instant, so its states are settled too.
fn check_lease(before: &[JobStatus], leased: Option<&String>, now: u64) {
    let runnable = before.iter().filter(|s| match s.state {
        JobState::Queued(at) | JobState::FailedRetrying(at) => at <= now,
        _ => false,
    });
    // Ids count up in enqueue order, and `before` is in id order.
    let best = runnable.max_by_key(|s| (s.priority, std::cmp::Reverse(seq(&s.id))));
    assert_eq!(best.map(|s| &s.id), leased, "priority, then enqueue order");
}

fn seq(id: &str) -> u64 {
    id.trim_start_matches("job-").parse().unwrap()
}

fn check_dead_letters(dead: &[JobStatus]) {
    for s in dead {
        let JobState::Dead(reason) = s.state else {
            panic!("{s:?} in the dead letters")
        };
        if reason == DeadReason::AttemptsExhausted {
            assert_eq!(s.attempts, s.max_attempts, "{s:?}");
        }
    }
}

#[test]
fn invariants_hold_on_generated_workloads() {
    for seed in 1..=6 {
        run(seed, 150, Crashes::None, true);
    }
}

#[test]
fn crashes_at_store_calls_change_no_answer() {
    for seed in 1..=4 {
        let clean = run(seed, 200, Crashes::None, false);
        let crashed = run(seed, 200, Crashes::AtStoreCalls, false);
        assert_eq!(clean.len(), crashed.len(), "seed {seed}");
        for (i, (a, b)) in clean.iter().zip(&crashed).enumerate() {
            assert_eq!(a, b, "seed {seed}, answer {i}");
        }
    }
}

#[test]
fn crashes_between_calls_change_no_answer() {
    for seed in 1..=4 {
        let clean = run(seed, 200, Crashes::None, false);
        let crashed = run(seed, 200, Crashes::BetweenCalls, false);
        assert_eq!(clean.len(), crashed.len(), "seed {seed}");
        for (i, (a, b)) in clean.iter().zip(&crashed).enumerate() {
            assert_eq!(a, b, "seed {seed}, answer {i}");
        }
    }
}

#[test]
fn thousands_of_jobs() {
    let answers = run(42, 5_000, Crashes::None, false);
    assert!(answers.len() > 10_000);
}

#[test]
fn a_retry_never_comes_before_its_backoff() {
    // The retry instant of every failed-retrying status equals the failure
    // instant plus the backoff of its attempt count.
    let env = Env::new();
    let mut q = env.queue();
    let spec = with_backoff(with_attempts(spec("a"), 6), 30, 200);
    let id = enqueue(&mut q, spec.clone());
    for n in 1..6 {
        let l = lease(&mut q, "w", 1_000);
        env.advance(n * 3);
        q.fail(&id, &l.token, "x", true).unwrap();
        let expected = env.now() + backoff_delay(spec.backoff, n as u32);
        assert_eq!(state(&mut q, &id), JobState::FailedRetrying(expected));
        env.clock.set(expected);
    }
}
