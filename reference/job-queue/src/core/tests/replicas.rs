//! Several queues over one store (replicas): each sees what the others
//! saved, and two calls racing on the same state never both take effect.

use std::cell::RefCell;
use std::rc::Rc;

use super::harness::*;
use crate::core::{JobState, Rules};

/// The bug of the example plugin `lease-without-cas`.
struct LastSaveWins;
impl Rules for LastSaveWins {
    fn saves_conditionally() -> bool {
        false
    }
}

#[test]
fn a_replica_sees_what_another_saved() {
    let env = Env::new();
    let (mut a, mut b) = (env.queue(), env.queue());
    // Both have read the (empty) store.
    assert!(a.lease("w1", 1_000).unwrap().is_none());
    assert!(b.lease("w2", 1_000).unwrap().is_none());
    let id = a.enqueue(spec("x")).unwrap();
    let lease = b.lease("w2", 1_000).unwrap().expect("b sees a's job");
    assert_eq!(lease.job_id, id);
    b.complete(&id, &lease.token).unwrap();
    assert_eq!(a.status(&id).unwrap().state, JobState::Succeeded);
}

/// Two replicas that both read two ready jobs, then lease at once: `b`'s
/// lease lands between `a`'s reads and `a`'s save. The two leases, and
/// the job each names.
fn racing_leases<R: Rules + 'static>() -> ((String, String), (String, String)) {
    let env = Env::new();
    let mut a = env.queue_with::<R>();
    let b = Rc::new(RefCell::new(env.queue_with::<R>()));
    a.enqueue(spec("x")).unwrap();
    a.enqueue(spec("y")).unwrap();
    assert_eq!(b.borrow_mut().status("job-1").unwrap().attempts, 0);
    let b_lease = Rc::new(RefCell::new(None));
    {
        let (b, b_lease) = (b.clone(), b_lease.clone());
        env.store.before_next_transact(move || {
            let lease = b.borrow_mut().lease("w2", 60_000).unwrap().unwrap();
            *b_lease.borrow_mut() = Some((lease.job_id, lease.token));
        });
    }
    let lease = a.lease("w1", 60_000).unwrap().unwrap();
    let b_lease = b_lease.take().expect("b leased");
    ((lease.job_id, lease.token), b_lease)
}

#[test]
fn racing_leases_hand_out_two_jobs() {
    let ((a_job, a_token), (b_job, b_token)) = racing_leases::<crate::core::Reference>();
    assert_ne!(a_job, b_job);
    assert_ne!(a_token, b_token);
}

#[test]
fn without_the_conditional_save_racing_leases_hand_out_one_job_twice() {
    let ((a_job, _), (b_job, _)) = racing_leases::<LastSaveWins>();
    assert_eq!(a_job, b_job);
}

#[test]
fn a_replica_catches_up_by_the_journal_reading_only_the_jobs_that_changed() {
    let env = Env::new();
    let (mut a, mut b) = (env.queue(), env.queue());
    for n in 0..50 {
        a.enqueue(spec(&format!("j{n}"))).unwrap();
    }
    assert_eq!(b.status("job-50").unwrap().attempts, 0);
    let lease = a.lease("w1", 1_000).unwrap().unwrap();
    // b is one save behind: the version, the journal entry, the one job,
    // the counters, the version again; then its own save.
    let before = env.imports.count();
    b.complete(&lease.job_id, &lease.token).unwrap();
    assert_eq!(env.imports.count() - before, 6);
    assert_eq!(a.status(&lease.job_id).unwrap().state, JobState::Succeeded);
    // Two next leases from the two replicas hand out two other jobs.
    let (x, y) = (
        a.lease("w2", 1_000).unwrap().unwrap(),
        b.lease("w3", 1_000).unwrap().unwrap(),
    );
    assert_ne!(x.job_id, y.job_id);
    assert_ne!(x.job_id, lease.job_id);
}

#[test]
fn a_replica_too_far_behind_for_the_journal_reads_the_whole_store() {
    let env = Env::new();
    let (mut a, mut b) = (env.queue(), env.queue());
    a.enqueue(spec("first")).unwrap();
    assert!(b.status("job-1").is_ok());
    let saves = crate::core::JOURNAL_KEEP + 10;
    for n in 0..saves {
        a.enqueue(spec(&format!("j{n}"))).unwrap();
    }
    let journal = env
        .store
        .snapshot()
        .into_keys()
        .filter(|k| k.starts_with("journal/"))
        .count() as u64;
    assert_eq!(journal, crate::core::JOURNAL_KEEP);
    // b's journal entry is gone: it rebuilds, and sees every job.
    let last = format!("job-{}", saves + 1);
    assert_eq!(b.status(&last).unwrap().id, last);
    assert_eq!(b.dead_letters().len(), 0);
}
