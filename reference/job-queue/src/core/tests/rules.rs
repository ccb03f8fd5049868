//! The [`Rules`] hooks the example plugins override each change what they
//! say and nothing else (the plugins' bugs are these changes).

use super::harness::*;
use crate::core::{Backoff, DeadReason, JobState, QueueError, Rules};

struct NoBackoff;
impl Rules for NoBackoff {
    fn retry_at(_: Backoff, _: u32, failed_at: u64) -> u64 {
        failed_at
    }
}

struct NeverDead;
impl Rules for NeverDead {
    fn may_retry(_: u32, _: u32) -> bool {
        true
    }
}

struct Fifo;
impl Rules for Fifo {
    fn rank(_: u8, seq: u64) -> (u8, u64) {
        (0, seq)
    }
}

struct ArmedExpiry;
impl Rules for ArmedExpiry {
    fn complete_cancels_expiry() -> bool {
        false
    }
}

#[test]
fn retry_at_sets_the_retry_instant() {
    let env = Env::new();
    let mut q = env.queue_with::<NoBackoff>();
    let id = q.enqueue(spec("a")).unwrap();
    let l = q.lease("w", 100).unwrap().unwrap();
    env.advance(10);
    q.fail(&id, &l.token, "x", true).unwrap();
    assert_eq!(
        q.status(&id).unwrap().state,
        JobState::FailedRetrying(T0 + 10)
    );
    assert_eq!(q.lease("w", 100).unwrap().unwrap().attempt, 2);
}

#[test]
fn may_retry_decides_between_retry_and_death() {
    let env = Env::new();
    let mut q = env.queue_with::<NeverDead>();
    let id = q
        .enqueue(with_backoff(with_attempts(spec("a"), 1), 0, 0))
        .unwrap();
    for attempt in 1..=3 {
        let l = q.lease("w", 100).unwrap().unwrap();
        assert_eq!(l.attempt, attempt);
        q.fail(&id, &l.token, "x", true).unwrap();
    }
    assert!(q.dead_letters().is_empty());
    let l = q.lease("w", 100).unwrap().unwrap();
    q.fail(&id, &l.token, "x", false).unwrap();
    assert_eq!(
        q.status(&id).unwrap().state,
        JobState::Dead(DeadReason::PermanentFailure)
    );
}

#[test]
fn rank_orders_the_runnable_jobs() {
    let env = Env::new();
    let mut q = env.queue_with::<Fifo>();
    for (payload, priority) in [("a", 0), ("b", 9), ("c", 5)] {
        q.enqueue(with_priority(spec(payload), priority)).unwrap();
    }
    let order: Vec<_> = (0..3)
        .map(|_| q.lease("w", 100).unwrap().unwrap().payload)
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
}

#[test]
fn an_armed_expiry_fails_a_completed_job() {
    let env = Env::new();
    let mut q = env.queue_with::<ArmedExpiry>();
    let id = q.enqueue(with_backoff(spec("a"), 0, 0)).unwrap();
    let l = q.lease("w", 100).unwrap().unwrap();
    q.complete(&id, &l.token).unwrap();
    assert_eq!(q.complete(&id, &l.token), Err(QueueError::StaleLease));
    env.advance(99);
    assert_eq!(q.status(&id).unwrap().state, JobState::Succeeded);
    env.advance(1);
    assert_eq!(
        q.status(&id).unwrap().state,
        JobState::FailedRetrying(T0 + 100)
    );
    assert_eq!(q.lease("w", 100).unwrap().unwrap().attempt, 2);
}
