//! One job through its life, and what the queue hands out.

use super::harness::*;
use crate::core::{Backoff, DeadReason, JobRecord, JobState, JobStatus, StoredState};

#[test]
fn enqueue_lease_complete() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("hello"));
    assert_eq!(id, "job-1");
    assert_eq!(
        status(&mut q, &id),
        JobStatus {
            id: id.clone(),
            kind: "email".to_string(),
            priority: 0,
            attempts: 0,
            max_attempts: 3,
            state: JobState::Queued(T0),
        }
    );
    env.advance(5);
    let l = lease(&mut q, "w1", 1_000);
    assert_eq!(l.job_id, id);
    assert_eq!(l.token, "lease-1");
    assert_eq!(l.kind, "email");
    assert_eq!(l.payload, "hello");
    assert_eq!(l.attempt, 1);
    assert_eq!(l.expires_ms, T0 + 1_005);
    assert_eq!(
        state(&mut q, &id),
        JobState::Leased {
            worker: "w1".to_string(),
            expires_ms: T0 + 1_005
        }
    );
    assert_eq!(q.lease("w2", 1_000), Ok(None), "the only job is leased");
    env.advance(10);
    assert_eq!(q.complete(&id, &l.token), Ok(()));
    let s = status(&mut q, &id);
    assert_eq!(s.state, JobState::Succeeded);
    assert_eq!(s.attempts, 1);
    // Succeeded is final: long after, nothing runs out, nothing is leased.
    env.advance(1_000_000);
    assert_eq!(q.lease("w2", 1_000), Ok(None));
    assert_eq!(state(&mut q, &id), JobState::Succeeded);
    assert!(q.dead_letters().is_empty());
}

#[test]
fn an_empty_queue_leases_nothing() {
    let env = Env::new();
    let mut q = env.queue();
    assert_eq!(q.lease("w1", 1_000), Ok(None));
    assert!(q.dead_letters().is_empty());
    assert_eq!(env.imports.writes(), 0, "nothing to save");
}

#[test]
fn ids_and_tokens_count_up() {
    let env = Env::new();
    let mut q = env.queue();
    let ids: Vec<_> = (0..3)
        .map(|i| enqueue(&mut q, spec(&i.to_string())))
        .collect();
    assert_eq!(ids, ["job-1", "job-2", "job-3"]);
    let tokens: Vec<_> = (0..3).map(|_| lease(&mut q, "w", 100).token).collect();
    assert_eq!(tokens, ["lease-1", "lease-2", "lease-3"]);
}

#[test]
fn a_heartbeat_extends_from_now() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    let l = lease(&mut q, "w1", 1_000);
    env.advance(900);
    assert_eq!(q.heartbeat(&id, &l.token, 1_000), Ok(T0 + 1_900));
    env.advance(900);
    // Past the first lease's end: still leased, by the heartbeat.
    assert_eq!(
        state(&mut q, &id),
        JobState::Leased {
            worker: "w1".to_string(),
            expires_ms: T0 + 1_900
        }
    );
    // A shorter heartbeat shortens the lease: it runs out lease-ms after now.
    assert_eq!(q.heartbeat(&id, &l.token, 10), Ok(T0 + 1_810));
    assert_eq!(q.complete(&id, &l.token), Ok(()));
    assert_eq!(status(&mut q, &id).attempts, 1);
}

#[test]
fn a_lease_and_a_heartbeat_saturate() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, spec("a"));
    let l = lease(&mut q, "w1", u64::MAX);
    assert_eq!(l.expires_ms, u64::MAX);
    env.advance(1);
    assert_eq!(q.heartbeat(&id, &l.token, u64::MAX - 5), Ok(u64::MAX));
}

#[test]
fn the_store_holds_one_record_per_job_the_counters_the_version_and_the_journal() {
    let env = Env::new();
    let mut q = env.queue();
    let id = enqueue(&mut q, with_dedup(spec("a"), "k"));
    lease(&mut q, "w1", 100);
    let keys: Vec<_> = env.store.snapshot().into_keys().collect();
    assert_eq!(
        keys,
        [
            "counters",
            "job/00000000000000000001",
            "journal/00000000000000000001",
            "journal/00000000000000000002",
            "version"
        ]
    );
    // Two saves: the enqueue's and the lease's.
    assert_eq!(env.store.snapshot()["version"], b"2");
    let records = env.store.job_records();
    assert_eq!(records[0].id(), id);
    assert_eq!(records[0].dedup_key.as_deref(), Some("k"));
    assert_eq!(
        env.store.snapshot()["counters"],
        br#"{"last-job":1,"last-lease":1}"#
    );
    assert_eq!(
        String::from_utf8(env.store.snapshot()["job/00000000000000000001"].clone()).unwrap(),
        format!(
            r#"[1,"email","a",0,3,1000,60000,"k",1,{{"leased":["w1","lease-1",{}]}}]"#,
            T0 + 100
        )
    );
}

#[test]
fn a_record_reads_back_as_it_was_written_in_every_state() {
    let record = |state| JobRecord {
        seq: 7,
        kind: "email \"quoted\"".into(),
        payload: "j7\n".into(),
        priority: 255,
        max_attempts: u32::MAX,
        backoff: Backoff {
            base_ms: 500,
            cap_ms: u64::MAX,
        },
        dedup_key: None,
        attempts: 2,
        state,
    };
    for state in [
        StoredState::Queued { run_at: 5 },
        StoredState::Leased {
            worker: "w1".into(),
            token: "lease-9".into(),
            expires_ms: u64::MAX,
        },
        StoredState::Succeeded,
        StoredState::Retrying { run_at: 6 },
        StoredState::Dead {
            reason: DeadReason::PermanentFailure,
            died_at: 7,
        },
    ] {
        let written = record(state);
        let json = serde_json::to_vec(&written).unwrap();
        let read: JobRecord = serde_json::from_slice(&json).unwrap();
        assert_eq!(read, written, "{}", String::from_utf8_lossy(&json));
    }
}

#[test]
fn every_call_saves_in_at_most_one_write() {
    let env = Env::new();
    let mut q = env.queue();
    let mut check = |what: &str, f: &mut dyn FnMut(&mut TestQueue)| {
        let before = env.imports.writes();
        f(&mut q);
        assert!(env.imports.writes() - before <= 1, "{what}");
    };
    check("enqueue", &mut |q| {
        enqueue(q, spec("a"));
    });
    check("lease", &mut |q| {
        lease(q, "w", 100);
    });
    check("heartbeat", &mut |q| {
        q.heartbeat("job-1", "lease-1", 100).unwrap();
    });
    check("fail", &mut |q| {
        q.fail("job-1", "lease-1", "boom", false).unwrap()
    });
    check("requeue", &mut |q| q.requeue("job-1").unwrap());
    check("lease again", &mut |q| {
        lease(q, "w", 100);
    });
    check("complete", &mut |q| q.complete("job-1", "lease-2").unwrap());
    check("status", &mut |q| {
        status(q, "job-1");
    });
}
