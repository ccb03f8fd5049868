//! Failures: the backoff, the dead-letter queue and requeue.

use super::harness::*;
use crate::core::{Backoff, DeadReason, JobState, QueueError, backoff_delay};

fn backoff(base_ms: u64, cap_ms: u64) -> Backoff {
    Backoff { base_ms, cap_ms }
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let b = backoff(100, 1_000);
    let delays: Vec<_> = (1..=7).map(|n| backoff_delay(b, n)).collect();
    assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    // Exactly at the cap, and a cap below the base.
    assert_eq!(backoff_delay(backoff(250, 1_000), 3), 1_000);
    assert_eq!(backoff_delay(backoff(500, 100), 1), 100);
    assert_eq!(backoff_delay(backoff(0, 1_000), 40), 0);
    assert_eq!(backoff_delay(backoff(7, 0), 2), 0);
}

#[test]
fn backoff_saturates_instead_of_overflowing() {
    let uncapped = backoff(3, u64::MAX);
    assert_eq!(backoff_delay(uncapped, 63), 3 << 62);
    assert_eq!(backoff_delay(uncapped, 64), u64::MAX, "3 * 2^63 overflows");
    assert_eq!(backoff_delay(uncapped, 65), u64::MAX, "2^64 overflows");
    assert_eq!(backoff_delay(uncapped, u32::MAX), u64::MAX);
    assert_eq!(backoff_delay(backoff(1, u64::MAX), 64), 1 << 63);
    assert_eq!(backoff_delay(backoff(0, u64::MAX), u32::MAX), 0);
    assert_eq!(backoff_delay(backoff(u64::MAX, 5_000), u32::MAX), 5_000);
}

#[test]
fn each_retry_waits_its_backoff_from_the_failure() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(with_attempts(spec("a"), 5), 100, 300));
    let mut expected_waits = Vec::new();
    for attempt in 1..=4 {
        let l = lease(&mut q, "w", 1_000);
        assert_eq!(l.attempt, attempt);
        env.advance(7);
        q.fail(&id, &l.token, "oops", true).unwrap();
        let failed_at = env.now();
        let JobState::FailedRetrying(run_at) = state(&mut q, &id) else {
            panic!("retrying after attempt {attempt}")
        };
        expected_waits.push(run_at - failed_at);
        env.clock.set(run_at - 1);
        assert_eq!(q.lease("w", 1_000), Ok(None), "not before its backoff");
        env.clock.set(run_at);
    }
    assert_eq!(expected_waits, [100, 200, 300, 300]);
    assert_eq!(status(&mut q, &id).attempts, 4);
}

#[test]
fn a_retry_instant_saturates() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(spec("a"), u64::MAX, u64::MAX));
    let l = lease(&mut q, "w", 1_000);
    q.fail(&id, &l.token, "oops", true).unwrap();
    assert_eq!(state(&mut q, &id), JobState::FailedRetrying(u64::MAX));
}

#[test]
fn the_last_attempt_failing_sends_the_job_to_the_dead_letters() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(with_attempts(spec("a"), 2), 0, 0));
    let l1 = lease(&mut q, "w", 1_000);
    q.fail(&id, &l1.token, "1", true).unwrap();
    assert_eq!(state(&mut q, &id), JobState::FailedRetrying(T0));
    let l2 = lease(&mut q, "w", 1_000);
    assert_eq!(l2.attempt, 2);
    q.fail(&id, &l2.token, "2", true).unwrap();
    let s = status(&mut q, &id);
    assert_eq!(s.state, JobState::Dead(DeadReason::AttemptsExhausted));
    assert_eq!(s.attempts, 2);
    assert_eq!(q.dead_letters(), [s]);
    assert_eq!(q.lease("w", 1_000), Ok(None));
}

#[test]
fn a_single_attempt_job_dies_on_its_first_failure() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_attempts(spec("a"), 1));
    let l = lease(&mut q, "w", 1_000);
    q.fail(&id, &l.token, "oops", true).unwrap();
    assert_eq!(
        state(&mut q, &id),
        JobState::Dead(DeadReason::AttemptsExhausted)
    );
}

#[test]
fn a_permanent_failure_dies_at_once_whatever_attempts_remain() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_attempts(spec("a"), 10));
    let l = lease(&mut q, "w", 1_000);
    q.fail(&id, &l.token, "bad input", false).unwrap();
    let s = status(&mut q, &id);
    assert_eq!(s.state, JobState::Dead(DeadReason::PermanentFailure));
    assert_eq!(s.attempts, 1);
    // A permanent failure on the last attempt is still permanent.
    let id = enqueue(&mut q, with_attempts(spec("b"), 1));
    let l = lease(&mut q, "w", 1_000);
    q.fail(&id, &l.token, "bad input", false).unwrap();
    assert_eq!(
        state(&mut q, &id),
        JobState::Dead(DeadReason::PermanentFailure)
    );
}

#[test]
fn dead_letters_by_time_of_death_then_enqueue_order() {
    let env = Env::new();
    let mut q = env.queue();
    let ids: Vec<_> = (0..4)
        .map(|i| enqueue(&mut q, with_attempts(spec(&i.to_string()), 1)))
        .collect();
    let leases: Vec<_> = (0..4).map(|_| lease(&mut q, "w", 10_000)).collect();
    // job-4 dies first; job-3 and job-1 die together (in that call order);
    // job-2 last.
    q.fail(&ids[3], &leases[3].token, "x", false).unwrap();
    env.advance(10);
    q.fail(&ids[2], &leases[2].token, "x", true).unwrap();
    q.fail(&ids[0], &leases[0].token, "x", false).unwrap();
    env.advance(10);
    q.fail(&ids[1], &leases[1].token, "x", true).unwrap();
    assert_eq!(dead_ids(&mut q), ["job-4", "job-1", "job-3", "job-2"]);
}

#[test]
fn requeue_gives_a_dead_job_a_fresh_start() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(with_attempts(spec("a"), 2), 0, 0));
    for _ in 0..2 {
        let l = lease(&mut q, "w", 1_000);
        q.fail(&id, &l.token, "x", true).unwrap();
    }
    env.advance(1_000);
    assert_eq!(q.requeue(&id), Ok(()));
    let s = status(&mut q, &id);
    assert_eq!(s.state, JobState::Queued(T0 + 1_000));
    assert_eq!(s.attempts, 0);
    assert!(q.dead_letters().is_empty());
    // Two runs again, numbered from 1.
    let l = lease(&mut q, "w", 1_000);
    assert_eq!((l.job_id.as_str(), l.attempt), (id.as_str(), 1));
    q.fail(&id, &l.token, "x", true).unwrap();
    let l = lease(&mut q, "w", 1_000);
    assert_eq!(l.attempt, 2);
    q.fail(&id, &l.token, "x", true).unwrap();
    assert_eq!(dead_ids(&mut q), std::slice::from_ref(&id));
    assert_eq!(q.requeue(&id), Ok(()));
    let l = lease(&mut q, "w", 1_000);
    assert_eq!(q.complete(&id, &l.token), Ok(()));
    assert_eq!(q.requeue(&id), Err(QueueError::NotDead));
}

#[test]
fn requeue_moves_the_job_to_the_back_of_the_dead_letters_when_it_dies_again() {
    let env = Env::new();
    let mut q = env.queue();
    let a = enqueue(&mut q, with_attempts(spec("a"), 1));
    let b = enqueue(&mut q, with_attempts(spec("b"), 1));
    let la = lease(&mut q, "w", 1_000);
    let lb = lease(&mut q, "w", 1_000);
    q.fail(&a, &la.token, "x", false).unwrap();
    env.advance(1);
    q.fail(&b, &lb.token, "x", false).unwrap();
    assert_eq!(dead_ids(&mut q), [a.clone(), b.clone()]);
    q.requeue(&a).unwrap();
    let la = lease(&mut q, "w", 1_000);
    env.advance(1);
    q.fail(&a, &la.token, "x", false).unwrap();
    assert_eq!(dead_ids(&mut q), [b, a]);
}

#[test]
fn dedup_returns_the_first_job_in_any_state() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_dedup(spec("first"), "k"));
    assert_eq!(q.enqueue(with_dedup(spec("second"), "k")), Ok(id.clone()));
    let l = lease(&mut q, "w", 1_000);
    q.fail(&id, &l.token, "x", false).unwrap();
    assert_eq!(q.enqueue(with_dedup(spec("third"), "k")), Ok(id.clone()));
    q.requeue(&id).unwrap();
    let l = lease(&mut q, "w", 1_000);
    assert_eq!(l.payload, "first");
    q.complete(&id, &l.token).unwrap();
    assert_eq!(
        q.enqueue(with_priority(with_dedup(spec("fourth"), "k"), 9)),
        Ok(id.clone())
    );
    // Nothing was enqueued by a duplicate; another key is another job.
    assert_eq!(q.lease("w", 1_000), Ok(None));
    assert_eq!(
        q.enqueue(with_dedup(spec("other"), "k2")),
        Ok("job-2".into())
    );
    assert_eq!(q.enqueue(spec("no key")), Ok("job-3".into()));
    assert_eq!(q.enqueue(spec("no key")), Ok("job-4".into()));
}
