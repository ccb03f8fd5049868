//! Leases that run out: a failed run at `expires-ms`, settled lazily, and
//! the stale tokens they leave behind.

use super::harness::*;
use crate::core::{DeadReason, JobState, QueueError};

#[test]
fn a_lease_that_ran_out_failed_at_its_expiry() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(spec("a"), 1_000, 60_000));
    let l = lease(&mut q, "w1", 500);
    // Nothing happens until the next call, long after.
    env.advance(10_000);
    let s = status(&mut q, &id);
    assert_eq!(s.state, JobState::FailedRetrying(T0 + 500 + 1_000));
    assert_eq!(s.attempts, 1);
    // Redelivered, as the second run.
    let l2 = lease(&mut q, "w2", 500);
    assert_eq!((l2.job_id.as_str(), l2.attempt), (id.as_str(), 2));
    assert_ne!(l2.token, l.token);
}

#[test]
fn a_lease_is_valid_while_now_is_before_its_expiry() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    let l = lease(&mut q, "w1", 500);
    env.advance(499);
    assert_eq!(q.heartbeat(&id, &l.token, 1), Ok(T0 + 500));
    env.advance(1);
    assert_eq!(q.heartbeat(&id, &l.token, 1), Err(QueueError::StaleLease));
    assert_eq!(q.complete(&id, &l.token), Err(QueueError::StaleLease));
    assert_eq!(
        q.fail(&id, &l.token, "late", true),
        Err(QueueError::StaleLease)
    );
    assert_eq!(
        state(&mut q, &id),
        JobState::FailedRetrying(T0 + 500 + 1_000)
    );
}

#[test]
fn a_stale_token_after_another_worker_took_the_job() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(spec("a"), 0, 0));
    let l1 = lease(&mut q, "w1", 100);
    env.advance(100);
    let l2 = lease(&mut q, "w2", 100);
    assert_eq!(l2.attempt, 2);
    // The first worker finishes late: refused, and nothing changes.
    assert_eq!(q.complete(&id, &l1.token), Err(QueueError::StaleLease));
    assert_eq!(
        q.heartbeat(&id, &l1.token, 100),
        Err(QueueError::StaleLease)
    );
    assert_eq!(
        q.fail(&id, &l1.token, "x", false),
        Err(QueueError::StaleLease)
    );
    assert_eq!(
        state(&mut q, &id),
        JobState::Leased {
            worker: "w2".to_string(),
            expires_ms: T0 + 200
        }
    );
    assert_eq!(q.complete(&id, &l2.token), Ok(()));
    // A duplicate complete is refused; the job stays succeeded.
    assert_eq!(q.complete(&id, &l2.token), Err(QueueError::StaleLease));
    assert_eq!(state(&mut q, &id), JobState::Succeeded);
}

#[test]
fn a_completed_job_is_never_leased_again() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    let l = lease(&mut q, "w1", 100);
    env.advance(50);
    q.complete(&id, &l.token).unwrap();
    // Well past the old lease's expiry.
    env.advance(100_000);
    assert_eq!(q.lease("w2", 100), Ok(None));
    assert_eq!(status(&mut q, &id).attempts, 1);
    assert_eq!(state(&mut q, &id), JobState::Succeeded);
}

#[test]
fn the_last_lease_running_out_kills_the_job_at_its_expiry() {
    let env = Env::new();
    let mut q = env.queue();
    let a = enqueue(&mut q, with_attempts(spec("a"), 1));
    let b = enqueue(&mut q, with_attempts(spec("b"), 1));
    lease(&mut q, "w1", 100);
    let lb = lease(&mut q, "w2", 10_000);
    // No call until b fails, long after a's lease ran out: a died first.
    env.advance(500);
    q.fail(&b, &lb.token, "x", false).unwrap();
    assert_eq!(dead_ids(&mut q), [a.clone(), b]);
    let s = status(&mut q, &a);
    assert_eq!(s.state, JobState::Dead(DeadReason::AttemptsExhausted));
    assert_eq!(s.attempts, 1);
}

#[test]
fn deaths_at_the_same_instant_go_by_enqueue_order() {
    // The first job's lease runs out at the instant the second fails: the
    // same time of death, so enqueue order, whichever the queue saw first.
    let env = Env::new();
    let mut q = env.queue();
    let a = enqueue(&mut q, with_attempts(spec("a"), 1));
    let b = enqueue(&mut q, with_attempts(spec("b"), 1));
    lease(&mut q, "w1", 100);
    let lb = lease(&mut q, "w2", 1_000);
    env.advance(100);
    q.fail(&b, &lb.token, "x", false).unwrap();
    assert_eq!(dead_ids(&mut q), [a.clone(), b.clone()]);

    // And the other way round.
    let env = Env::new();
    let mut q = env.queue();
    let a = enqueue(&mut q, with_attempts(spec("a"), 1));
    let b = enqueue(&mut q, with_attempts(spec("b"), 1));
    let la = lease(&mut q, "w1", 1_000);
    lease(&mut q, "w2", 100);
    env.advance(100);
    q.fail(&a, &la.token, "x", false).unwrap();
    assert_eq!(dead_ids(&mut q), [a, b]);
}

#[test]
fn many_leases_running_out_in_one_gap_each_count_from_their_own_expiry() {
    let env = Env::new();
    let mut q = env.queue();
    let ids: Vec<_> = (0..3)
        .map(|i| enqueue(&mut q, with_backoff(spec(&i.to_string()), 1_000, 60_000)))
        .collect();
    for (i, ms) in [300, 100, 200].into_iter().enumerate() {
        assert_eq!(lease(&mut q, "w", ms).job_id, ids[i]);
    }
    env.advance(1_150);
    // job-2 ran out at +100, so it may run at +1100; the others later.
    let states: Vec<_> = ids.iter().map(|id| state(&mut q, id)).collect();
    assert_eq!(
        states,
        [
            JobState::FailedRetrying(T0 + 1_300),
            JobState::FailedRetrying(T0 + 1_100),
            JobState::FailedRetrying(T0 + 1_200),
        ]
    );
    assert_eq!(drain(&mut q, 1_000), ["1"]);
}

#[test]
fn a_heartbeat_moves_the_expiry_that_counts() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(spec("a"), 1_000, 1_000));
    let l = lease(&mut q, "w1", 100);
    env.advance(50);
    q.heartbeat(&id, &l.token, 1_000).unwrap();
    env.advance(5_000);
    assert_eq!(
        state(&mut q, &id),
        JobState::FailedRetrying(T0 + 1_050 + 1_000)
    );
}

#[test]
fn expiries_then_backoffs_chain_to_the_dead_letters() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_backoff(with_attempts(spec("a"), 3), 10, 1_000));
    for attempt in 1..=3 {
        let l = lease(&mut q, "w", 100);
        assert_eq!(l.attempt, attempt);
        env.advance(100 + 10 * (1 << (attempt - 1)));
    }
    // The third lease ran out at its expiry, which is when it died.
    let died_at = env.now() - 40;
    let s = status(&mut q, &id);
    assert_eq!(s.state, JobState::Dead(DeadReason::AttemptsExhausted));
    assert_eq!(s.attempts, 3);
    let other = enqueue(&mut q, with_attempts(spec("b"), 1));
    let l = lease(&mut q, "w", 100);
    q.fail(&other, &l.token, "x", false).unwrap();
    assert!(env.now() > died_at);
    assert_eq!(dead_ids(&mut q), [id, other]);
}
