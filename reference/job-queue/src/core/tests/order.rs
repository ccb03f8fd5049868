//! Which job a lease hands out: only jobs whose instant came, highest
//! priority first, enqueue order within a priority.

use super::harness::*;
use crate::core::{JobState, Schedule};

#[test]
fn priority_then_enqueue_order() {
    let env = Env::new();
    let mut q = env.queue();
    for (payload, priority) in [("a", 1), ("b", 5), ("c", 1), ("d", 255), ("e", 5), ("f", 0)] {
        enqueue(&mut q, with_priority(spec(payload), priority));
    }
    assert_eq!(drain(&mut q, 1_000), ["d", "b", "e", "a", "c", "f"]);
}

#[test]
fn a_later_higher_priority_job_goes_first() {
    let env = Env::new();
    let mut q = env.queue();
    enqueue(&mut q, spec("low-1"));
    enqueue(&mut q, spec("low-2"));
    assert_eq!(lease(&mut q, "w", 1_000).payload, "low-1");
    env.advance(1);
    enqueue(&mut q, with_priority(spec("high"), 9));
    assert_eq!(drain(&mut q, 1_000), ["high", "low-2"]);
}

#[test]
fn a_delayed_job_waits_for_its_instant() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(
        &mut q,
        with_priority(with_schedule(spec("later"), Schedule::DelayMs(500)), 9),
    );
    enqueue(&mut q, spec("now"));
    assert_eq!(state(&mut q, &id), JobState::Queued(T0 + 500));
    assert_eq!(drain(&mut q, 10_000), ["now"]);
    env.advance(499);
    assert_eq!(q.lease("w", 100), Ok(None), "1 ms early");
    env.advance(1);
    assert_eq!(drain(&mut q, 10_000), ["later"]);
}

#[test]
fn at_ms_is_an_instant_and_a_past_one_means_now() {
    let env = Env::new();
    let mut q = env.queue();
    let future = enqueue(
        &mut q,
        with_schedule(spec("future"), Schedule::AtMs(T0 + 2_000)),
    );
    let past = enqueue(
        &mut q,
        with_schedule(spec("past"), Schedule::AtMs(T0 - 2_000)),
    );
    let zero = enqueue(&mut q, with_schedule(spec("zero"), Schedule::AtMs(0)));
    assert_eq!(state(&mut q, &future), JobState::Queued(T0 + 2_000));
    assert_eq!(state(&mut q, &past), JobState::Queued(T0));
    assert_eq!(state(&mut q, &zero), JobState::Queued(T0));
    assert_eq!(drain(&mut q, 10_000), ["past", "zero"]);
    env.advance(1_999);
    assert_eq!(q.lease("w", 100), Ok(None));
    env.advance(1);
    assert_eq!(drain(&mut q, 10_000), ["future"]);
}

#[test]
fn a_delay_saturates() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(
        &mut q,
        with_schedule(spec("never"), Schedule::DelayMs(u64::MAX)),
    );
    assert_eq!(state(&mut q, &id), JobState::Queued(u64::MAX));
    env.clock.set(u64::MAX - 1);
    assert_eq!(q.lease("w", 100), Ok(None));
    env.clock.set(u64::MAX);
    assert_eq!(lease(&mut q, "w", 100).expires_ms, u64::MAX);
}

#[test]
fn jobs_that_became_runnable_together_go_by_priority_not_instant() {
    let env = Env::new();
    let mut q = env.queue();
    enqueue(
        &mut q,
        with_schedule(spec("early-low"), Schedule::DelayMs(10)),
    );
    enqueue(
        &mut q,
        with_priority(with_schedule(spec("late-high"), Schedule::DelayMs(20)), 3),
    );
    enqueue(
        &mut q,
        with_schedule(spec("early-low-2"), Schedule::DelayMs(5)),
    );
    env.advance(100);
    assert_eq!(
        drain(&mut q, 1_000),
        ["late-high", "early-low", "early-low-2"]
    );
}

#[test]
fn a_retry_keeps_its_place_in_enqueue_order() {
    let env = Env::new();
    let mut q = env.queue();
    let first = enqueue(&mut q, with_backoff(spec("first"), 100, 100));
    enqueue(&mut q, spec("second"));
    let l = lease(&mut q, "w", 1_000);
    assert_eq!(l.payload, "first");
    q.fail(&first, &l.token, "try again", true).unwrap();
    env.advance(100);
    // Both runnable, same priority: the first enqueued goes first.
    assert_eq!(drain(&mut q, 1_000), ["first", "second"]);
}

#[test]
fn a_requeued_job_keeps_its_place_in_enqueue_order() {
    let env = Env::new();
    let mut q = env.queue();
    let first = enqueue(&mut q, spec("first"));
    let l = lease(&mut q, "w", 1_000);
    q.fail(&first, &l.token, "bad input", false).unwrap();
    enqueue(&mut q, spec("second"));
    env.advance(50);
    q.requeue(&first).unwrap();
    assert_eq!(drain(&mut q, 1_000), ["first", "second"]);
}

#[test]
fn the_clock_going_back_makes_early_jobs_wait_again() {
    // Never in this track's scenarios; the queue still never leases a job
    // before its instant.
    let env = Env::new();
    let mut q = env.queue();
    enqueue(&mut q, with_schedule(spec("later"), Schedule::DelayMs(100)));
    env.advance(100);
    assert_eq!(q.status("job-1").unwrap().state, JobState::Queued(T0 + 100));
    env.clock.set(T0 + 50);
    assert_eq!(q.lease("w", 100), Ok(None));
    env.clock.set(T0 + 100);
    assert_eq!(drain(&mut q, 1_000), ["later"]);
}
