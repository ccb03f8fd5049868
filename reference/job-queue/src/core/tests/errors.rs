//! Refusals, and their order when a call has more than one thing wrong:
//! `invalid`, then `not-found`, then `stale-lease` or `not-dead`.

use super::harness::*;
use crate::core::{InvalidField, JobState, QueueError};

const KIND: QueueError = QueueError::Invalid(InvalidField::Kind);
const MAX_ATTEMPTS: QueueError = QueueError::Invalid(InvalidField::MaxAttempts);
const LEASE_MS: QueueError = QueueError::Invalid(InvalidField::LeaseMs);

#[test]
fn an_invalid_spec_is_refused_before_its_dedup_key_is_looked_up() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_dedup(spec("a"), "k"));
    let mut empty_kind = with_dedup(spec("b"), "k");
    empty_kind.kind.clear();
    assert_eq!(q.enqueue(empty_kind.clone()), Err(KIND));
    assert_eq!(
        q.enqueue(with_attempts(with_dedup(spec("b"), "k"), 0)),
        Err(MAX_ATTEMPTS)
    );
    // Both wrong: the kind first.
    assert_eq!(q.enqueue(with_attempts(empty_kind, 0)), Err(KIND));
    // Nothing was enqueued and the key still names the first job.
    assert_eq!(q.enqueue(with_dedup(spec("c"), "k")), Ok(id));
    assert_eq!(q.enqueue(spec("d")), Ok("job-2".to_string()));
}

#[test]
fn a_lease_of_zero_ms_is_refused() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    assert_eq!(q.lease("w", 0), Err(LEASE_MS));
    assert_eq!(state(&mut q, &id), JobState::Queued(T0));
    assert_eq!(status(&mut q, &id).attempts, 0);
    // An empty queue refuses it too.
    let env = Env::new();
    assert_eq!(env.queue().lease("w", 0), Err(LEASE_MS));
}

#[test]
fn heartbeat_checks_lease_ms_then_the_job_then_the_token() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    let l = lease(&mut q, "w", 100);
    assert_eq!(q.heartbeat("job-9", "nope", 0), Err(LEASE_MS));
    assert_eq!(q.heartbeat(&id, &l.token, 0), Err(LEASE_MS));
    assert_eq!(q.heartbeat("job-9", "nope", 10), Err(QueueError::NotFound));
    assert_eq!(
        q.heartbeat("job-9", &l.token, 10),
        Err(QueueError::NotFound)
    );
    assert_eq!(q.heartbeat(&id, "nope", 10), Err(QueueError::StaleLease));
    // The refused calls changed nothing.
    assert_eq!(
        state(&mut q, &id),
        JobState::Leased {
            worker: "w".to_string(),
            expires_ms: T0 + 100
        }
    );
}

#[test]
fn complete_and_fail_check_the_job_then_the_token() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    assert_eq!(
        q.complete(&id, "lease-1"),
        Err(QueueError::StaleLease),
        "queued"
    );
    let l = lease(&mut q, "w", 100);
    assert_eq!(q.complete("job-2", &l.token), Err(QueueError::NotFound));
    assert_eq!(
        q.fail("job-2", &l.token, "x", true),
        Err(QueueError::NotFound)
    );
    assert_eq!(q.complete(&id, "lease-2"), Err(QueueError::StaleLease));
    assert_eq!(q.fail(&id, "", "x", true), Err(QueueError::StaleLease));
    // Another job's token is not this job's lease.
    let other = enqueue(&mut q, spec("b"));
    let lo = lease(&mut q, "w", 100);
    assert_eq!(q.complete(&id, &lo.token), Err(QueueError::StaleLease));
    assert_eq!(q.complete(&other, &l.token), Err(QueueError::StaleLease));
    assert_eq!(q.complete(&id, &l.token), Ok(()));
    assert_eq!(
        q.fail(&id, &l.token, "x", true),
        Err(QueueError::StaleLease)
    );
}

#[test]
fn a_dead_jobs_token_is_stale() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    let l = lease(&mut q, "w", 100);
    q.fail(&id, &l.token, "x", false).unwrap();
    assert_eq!(q.complete(&id, &l.token), Err(QueueError::StaleLease));
    assert_eq!(q.heartbeat(&id, &l.token, 10), Err(QueueError::StaleLease));
}

#[test]
fn requeue_checks_the_job_then_its_state() {
    let env = Env::new();
    let mut q = env.queue();
    assert_eq!(q.requeue("job-1"), Err(QueueError::NotFound));
    let id = enqueue(&mut q, spec("a"));
    assert_eq!(q.requeue(&id), Err(QueueError::NotDead), "queued");
    let l = lease(&mut q, "w", 100);
    assert_eq!(q.requeue(&id), Err(QueueError::NotDead), "leased");
    q.fail(&id, &l.token, "x", true).unwrap();
    assert_eq!(q.requeue(&id), Err(QueueError::NotDead), "retrying");
}

#[test]
fn only_ids_the_queue_gave_are_found() {
    let env = Env::new();
    let mut q = env.queue();
    enqueue(&mut q, spec("a"));
    assert!(q.status("job-1").is_ok());
    for id in [
        "",
        "job-",
        "job-0",
        "job-01",
        "job-2",
        "job-+1",
        "job-1 ",
        "JOB-1",
        "1",
        "lease-1",
        "job-18446744073709551616",
    ] {
        assert_eq!(q.status(id), Err(QueueError::NotFound), "{id:?}");
    }
}
