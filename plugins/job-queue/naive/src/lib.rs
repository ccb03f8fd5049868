//! A correct but naive job queue, written from the WIT specification alone
//! (it shares no code with the reference).
//!
//! Every job lives in one `Vec` in guest memory, in enqueue order, read back
//! from the store whole when an instance starts; every call walks the whole
//! `Vec` (the leases that ran out, the job to lease, the dedup keys, the dead
//! letters) and saves the records it changed, with the counters, in one
//! store transaction. The logic is in [`queue`], free of the bindings, so it
//! also runs (and is unit-tested) natively.

pub mod queue;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
mod component {
    use std::cell::RefCell;

    use crate::queue::{self, Queue, Refusal, Stage};

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

    thread_local! {
        /// `None` until the store was read by this instance.
        static QUEUE: RefCell<Option<Queue>> = const { RefCell::new(None) };
    }

    /// Every record of the queue in the store, page by page.
    fn load() -> Queue {
        let mut records = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store::scan("naive/", after.as_deref(), 100);
            let done = page.len() < 100;
            after = page.last().map(|(key, _)| key.clone());
            records.extend(page);
            if done {
                break;
            }
        }
        Queue::load(records)
    }

    /// Reads the clock, settles the leases that ran out, serves, saves.
    fn call<T>(serve: impl FnOnce(&mut Queue, u64) -> T) -> T {
        let now = clock::now_ms();
        QUEUE.with_borrow_mut(|slot| {
            let queue = slot.get_or_insert_with(load);
            queue.settle(now);
            let answer = serve(queue, now);
            let writes: Vec<store::Write> = queue
                .take_writes()
                .into_iter()
                .map(|(key, value)| store::Write {
                    key,
                    value: Some(value),
                })
                .collect();
            if !writes.is_empty() {
                match store::transact(&[], &writes) {
                    Ok(true) => {}
                    other => panic!("failed to save the queue: {other:?}"),
                }
            }
            answer
        })
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
            call(|q, now| q.enqueue(spec, now))
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
            QUEUE.with_borrow_mut(|slot| *slot = Some(load()));
        }
    }

    export!(Naive);
}
