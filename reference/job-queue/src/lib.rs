//! The reference job queue: the oracle every job-queue plugin is diffed
//! against, answer by answer.
//!
//! [`core`] is the queue itself, plain Rust generic over the durable store
//! and the clock, that builds and tests natively; its module docs are the
//! exact rules (store layout, order, expiry, retries, recovery). On
//! `wasm32`, with the `component` feature (on by default), this crate is also
//! the component exporting `gauntlet:jobs/queue`: one [`core::Queue`] per
//! instance over the imported `store` and `clock`, whose in-memory index is
//! rebuilt from the store when a fresh instance replaces a crashed one. The
//! contract is `wit/jobs/jobs.wit`.

pub mod core;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component {
    use std::cell::RefCell;

    use crate::core;

    wit_bindgen::generate!({
        path: ["../../wit/harness", "../../wit/jobs"],
        world: "gauntlet:jobs/plugin",
        // The harness package is a dependency path; generate its bindings too.
        generate_all,
    });

    use exports::gauntlet::jobs::queue::{
        DeadReason, Guest, Held, InvalidField, JobId, JobSpec, JobState, JobStatus, LeasedJob,
        QueueError, Schedule,
    };
    use gauntlet::harness::{clock, store};

    /// The imported durable store.
    struct WitStore;

    impl core::Store for WitStore {
        fn get(&mut self, key: &str) -> Option<Vec<u8>> {
            store::get(key)
        }

        fn transact(
            &mut self,
            conditions: &[core::Condition],
            writes: &[core::Write],
        ) -> Result<bool, core::StoreError> {
            let conditions: Vec<store::Condition> = conditions
                .iter()
                .map(|c| store::Condition {
                    key: c.key.clone(),
                    expected: c.expected.clone(),
                })
                .collect();
            let writes: Vec<store::Write> = writes
                .iter()
                .map(|w| store::Write {
                    key: w.key.clone(),
                    value: w.value.clone(),
                })
                .collect();
            store::transact(&conditions, &writes).map_err(|e| match e {
                store::StoreError::KeyTooLarge => core::StoreError::KeyTooLarge,
                store::StoreError::ValueTooLarge => core::StoreError::ValueTooLarge,
                store::StoreError::QuotaExceeded => core::StoreError::QuotaExceeded,
            })
        }

        fn scan(
            &mut self,
            prefix: &str,
            start_after: Option<&str>,
            limit: u32,
        ) -> Vec<(String, Vec<u8>)> {
            store::scan(prefix, start_after, limit)
        }
    }

    /// The imported virtual clock.
    struct WitClock;

    impl core::Clock for WitClock {
        fn now_ms(&mut self) -> u64 {
            clock::now_ms()
        }
    }

    thread_local! {
        /// The instance's queue (a component instance is single-threaded).
        /// Its index is guest memory, gone with a crashed instance; the
        /// store is not.
        static QUEUE: RefCell<core::Queue<WitStore, WitClock>> =
            RefCell::new(core::Queue::new(WitStore, WitClock));
    }

    fn with_queue<T>(f: impl FnOnce(&mut core::Queue<WitStore, WitClock>) -> T) -> T {
        QUEUE.with_borrow_mut(f)
    }

    fn convert_spec(spec: JobSpec) -> core::JobSpec {
        core::JobSpec {
            kind: spec.kind,
            payload: spec.payload,
            priority: spec.priority,
            max_attempts: spec.max_attempts,
            backoff: core::Backoff {
                base_ms: spec.backoff.base_ms,
                cap_ms: spec.backoff.cap_ms,
            },
            schedule: match spec.schedule {
                Schedule::Now => core::Schedule::Now,
                Schedule::DelayMs(ms) => core::Schedule::DelayMs(ms),
                Schedule::AtMs(ms) => core::Schedule::AtMs(ms),
            },
            dedup_key: spec.dedup_key,
        }
    }

    fn convert_lease(lease: core::LeasedJob) -> LeasedJob {
        LeasedJob {
            job_id: lease.job_id,
            token: lease.token,
            kind: lease.kind,
            payload: lease.payload,
            attempt: lease.attempt,
            expires_ms: lease.expires_ms,
        }
    }

    fn convert_status(status: core::JobStatus) -> JobStatus {
        JobStatus {
            id: status.id,
            kind: status.kind,
            priority: status.priority,
            attempts: status.attempts,
            max_attempts: status.max_attempts,
            state: match status.state {
                core::JobState::Queued(at) => JobState::Queued(at),
                core::JobState::Leased { worker, expires_ms } => {
                    JobState::Leased(Held { worker, expires_ms })
                }
                core::JobState::Succeeded => JobState::Succeeded,
                core::JobState::FailedRetrying(at) => JobState::FailedRetrying(at),
                core::JobState::Dead(core::DeadReason::AttemptsExhausted) => {
                    JobState::Dead(DeadReason::AttemptsExhausted)
                }
                core::JobState::Dead(core::DeadReason::PermanentFailure) => {
                    JobState::Dead(DeadReason::PermanentFailure)
                }
            },
        }
    }

    fn convert_error(error: core::QueueError) -> QueueError {
        match error {
            core::QueueError::NotFound => QueueError::NotFound,
            core::QueueError::StaleLease => QueueError::StaleLease,
            core::QueueError::NotDead => QueueError::NotDead,
            core::QueueError::Invalid(field) => QueueError::Invalid(match field {
                core::InvalidField::Kind => InvalidField::Kind,
                core::InvalidField::MaxAttempts => InvalidField::MaxAttempts,
                core::InvalidField::LeaseMs => InvalidField::LeaseMs,
            }),
        }
    }

    struct Component;

    impl Guest for Component {
        fn enqueue(spec: JobSpec) -> Result<JobId, QueueError> {
            with_queue(|q| q.enqueue(convert_spec(spec))).map_err(convert_error)
        }

        fn lease(worker: String, lease_ms: u64) -> Result<Option<LeasedJob>, QueueError> {
            with_queue(|q| q.lease(&worker, lease_ms))
                .map(|lease| lease.map(convert_lease))
                .map_err(convert_error)
        }

        fn heartbeat(job: JobId, token: String, lease_ms: u64) -> Result<u64, QueueError> {
            with_queue(|q| q.heartbeat(&job, &token, lease_ms)).map_err(convert_error)
        }

        fn complete(job: JobId, token: String) -> Result<(), QueueError> {
            with_queue(|q| q.complete(&job, &token)).map_err(convert_error)
        }

        fn fail(
            job: JobId,
            token: String,
            message: String,
            retryable: bool,
        ) -> Result<(), QueueError> {
            with_queue(|q| q.fail(&job, &token, &message, retryable)).map_err(convert_error)
        }

        fn status(job: JobId) -> Result<JobStatus, QueueError> {
            with_queue(|q| q.status(&job))
                .map(convert_status)
                .map_err(convert_error)
        }

        fn dead_letters() -> Vec<JobStatus> {
            with_queue(|q| q.dead_letters())
                .into_iter()
                .map(convert_status)
                .collect()
        }

        fn requeue(job: JobId) -> Result<(), QueueError> {
            with_queue(|q| q.requeue(&job)).map_err(convert_error)
        }

        fn recover() {
            with_queue(|q| q.recover());
        }
    }

    export!(Component);
}
