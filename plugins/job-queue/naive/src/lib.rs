//! A correct but naive job queue, written from the WIT specification alone
//! (it shares no code with the reference).
//!
//! Every job lives in one `Vec` in guest memory, in enqueue order, read back
//! from the store whole when an instance starts; every call walks the whole
//! `Vec` (the leases that ran out, the job to lease, the dedup keys, the dead
//! letters) and saves the records it changed, with the counters, in one
//! store transaction. The logic is in [`queue`], free of the bindings, so it
//! also runs (and is unit-tested) natively.
//!
//! It stays correct as one of several replicas serving calls at once over
//! one shared store ([`replica`]): the meta record carries a version, one
//! more on every save. Each call first reads that record (one `get`) and, if
//! another replica saved since this instance loaded or saved, reads every
//! record back, so no call answers from a stale copy; it then saves in one
//! transaction conditioned on the record still holding the bytes it read (a
//! compare-and-set), so a save over a state another replica has since
//! changed is refused instead of overwriting that replica's save, and the
//! call is served again on the fresh state. Without this, a replica would
//! never see the jobs enqueued elsewhere after it loaded, and two replicas
//! that read the same state would both lease the same job, the second save
//! erasing the first.

pub mod queue;
pub mod replica;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
mod component {
    use std::cell::RefCell;

    use crate::queue::{self, Queue, Refusal, Stage};
    use crate::replica::{self, Replica};

    wit_bindgen::generate!({
        path: ["../../../wit/harness", "../../../wit/jobs"],
        world: "gauntlet:jobs/plugin",
        // The harness package comes from its own directory.
        generate_all,
    });

    use exports::gauntlet::jobs::queue::{
        DeadReason, Guest, Held, InvalidField, JobId, JobSpec, JobState, JobStatus, LeasedJob,
        QueueError, Schedule,
    };
    use gauntlet::harness::{clock, store};

    /// The imported durable store.
    struct Harness;

    impl replica::Store for Harness {
        type Error = store::StoreError;

        fn get(&mut self, key: &str) -> Option<Vec<u8>> {
            store::get(key)
        }

        fn transact(
            &mut self,
            conditions: &[(&str, Option<&[u8]>)],
            writes: &[(String, Vec<u8>)],
        ) -> Result<bool, store::StoreError> {
            let conditions: Vec<store::Condition> = conditions
                .iter()
                .map(|(key, expected)| store::Condition {
                    key: key.to_string(),
                    expected: expected.map(<[u8]>::to_vec),
                })
                .collect();
            let writes: Vec<store::Write> = writes
                .iter()
                .map(|(key, value)| store::Write {
                    key: key.clone(),
                    value: Some(value.clone()),
                })
                .collect();
            store::transact(&conditions, &writes)
        }

        fn scan(
            &mut self,
            prefix: &str,
            after: Option<&str>,
            limit: u32,
        ) -> Vec<(String, Vec<u8>)> {
            store::scan(prefix, after, limit)
        }
    }

    thread_local! {
        /// This instance's copy of the queue.
        static REPLICA: RefCell<Replica> = const { RefCell::new(Replica::new()) };
    }

    /// Reads the clock once, then serves on the current state (see
    /// [`Replica::call`]; `serve` may run again on a fresher state).
    fn call<T>(serve: impl FnMut(&mut Queue, u64) -> T) -> T {
        let now = clock::now_ms();
        REPLICA.with_borrow_mut(|replica| replica.call(&mut Harness, now, serve))
    }

    fn refusal(r: Refusal) -> QueueError {
        match r {
            Refusal::NotFound => QueueError::NotFound,
            Refusal::StaleLease => QueueError::StaleLease,
            Refusal::NotDead => QueueError::NotDead,
            Refusal::EmptyKind => QueueError::Invalid(InvalidField::Kind),
            Refusal::NoAttempts => QueueError::Invalid(InvalidField::MaxAttempts),
            Refusal::ZeroLease => QueueError::Invalid(InvalidField::LeaseMs),
        }
    }

    fn status_of(q: &Queue, i: usize) -> JobStatus {
        let job = &q.jobs[i];
        JobStatus {
            id: queue::id_of(i),
            kind: job.kind.clone(),
            priority: job.priority,
            attempts: job.runs,
            max_attempts: job.max_attempts,
            state: match &job.stage {
                Stage::Waiting { from, retry: false } => JobState::Queued(*from),
                Stage::Waiting { from, retry: true } => JobState::FailedRetrying(*from),
                Stage::Running { worker, until, .. } => JobState::Leased(Held {
                    worker: worker.clone(),
                    expires_ms: *until,
                }),
                Stage::Done => JobState::Succeeded,
                Stage::Dead {
                    permanent: true, ..
                } => JobState::Dead(DeadReason::PermanentFailure),
                Stage::Dead {
                    permanent: false, ..
                } => JobState::Dead(DeadReason::AttemptsExhausted),
            },
        }
    }

    struct Naive;

    impl Guest for Naive {
        fn enqueue(spec: JobSpec) -> Result<JobId, QueueError> {
            let spec = queue::Spec {
                kind: spec.kind,
                payload: spec.payload,
                priority: spec.priority,
                max_attempts: spec.max_attempts,
                base_ms: spec.backoff.base_ms,
                cap_ms: spec.backoff.cap_ms,
                start: match spec.schedule {
                    Schedule::Now => queue::Start::Now,
                    Schedule::DelayMs(ms) => queue::Start::After(ms),
                    Schedule::AtMs(at) => queue::Start::At(at),
                },
                dedup: spec.dedup_key,
            };
            call(|q, now| q.enqueue(spec.clone(), now))
                .map(queue::id_of)
                .map_err(refusal)
        }

        fn lease(worker: String, lease_ms: u64) -> Result<Option<LeasedJob>, QueueError> {
            call(|q, now| q.lease(&worker, lease_ms, now))
                .map(|handed| {
                    handed.map(|h| LeasedJob {
                        job_id: queue::id_of(h.index),
                        token: h.token,
                        kind: h.kind,
                        payload: h.payload,
                        attempt: h.attempt,
                        expires_ms: h.until,
                    })
                })
                .map_err(refusal)
        }

        fn heartbeat(job: JobId, token: String, lease_ms: u64) -> Result<u64, QueueError> {
            call(|q, now| q.heartbeat(&job, &token, lease_ms, now)).map_err(refusal)
        }

        fn complete(job: JobId, token: String) -> Result<(), QueueError> {
            call(|q, _| q.complete(&job, &token)).map_err(refusal)
        }

        fn fail(
            job: JobId,
            token: String,
            _message: String,
            retryable: bool,
        ) -> Result<(), QueueError> {
            call(|q, now| q.fail(&job, &token, retryable, now)).map_err(refusal)
        }

        fn status(job: JobId) -> Result<JobStatus, QueueError> {
            call(|q, _| q.status(&job).map(|i| status_of(q, i))).map_err(refusal)
        }

        fn dead_letters() -> Vec<JobStatus> {
            call(|q, _| {
                q.dead_letters()
                    .into_iter()
                    .map(|i| status_of(q, i))
                    .collect()
            })
        }

        fn requeue(job: JobId) -> Result<(), QueueError> {
            call(|q, now| q.requeue(&job, now)).map_err(refusal)
        }

        fn recover() {
            REPLICA.with_borrow_mut(|replica| {
                *replica = Replica::new();
                replica.refresh(&mut Harness);
            });
        }
    }

    export!(Naive);
}
