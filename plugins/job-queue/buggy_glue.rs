//! The glue every buggy job-queue plugin shares, included by each with
//! `#[path = "../../buggy_glue.rs"] mod glue;`: the reference core, the
//! bindings, the imports as the core's [`core::Store`] and [`core::Clock`],
//! the conversions between the WIT types and the core's, and a component
//! that runs the core under the crate's [`Bug`].
//!
//! A buggy plugin is the reference with exactly one behaviour changed, so the
//! gauntlet check that catches it has little else to report. Each crate
//! defines `struct Buggy` and implements [`Bug`] for it, overriding only what
//! the bug touches: one of the core's delivery rules ([`core::Rules`], whose
//! defaults are the reference's), or the store the core is given (a wrapper
//! around [`WitStore`]). A bug's state, if any, lives in a `thread_local!` of
//! its crate: guest memory, lost when the host discards a crashed instance.

/// The reference's core (`reference_job_queue::core`), compiled into the
/// plugin from its source. Not a cargo dependency on purpose: the reference
/// crate is a `cdylib` whose glue exports the same world (the symbols would
/// clash), and a build of it without that glue would share its unhashed
/// output file names (`libreference_job_queue.rlib`, `.wasm`) in the guest
/// target directory with the real reference component.
#[path = "../../reference/job-queue/src/core/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "each plugin uses part of the core's API"
)]
pub mod reference;

use std::cell::RefCell;

use reference as core;

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

/// The queue every export serves from: the core under the [`Bug`]'s rules,
/// over the store it chose.
pub type Queue = core::Queue<Box<dyn core::Store>, WitClock, crate::Buggy>;

/// One deliberate departure from the reference: a delivery rule (every
/// [`core::Rules`] method defaults to the reference's) or the store.
pub trait Bug: core::Rules {
    /// The durable store the core keeps its records in.
    fn store() -> Box<dyn core::Store> {
        Box::new(WitStore)
    }
}

// ---------------------------------------------------------------------------
// The imports as the core's traits
// ---------------------------------------------------------------------------

impl<T: core::Store + ?Sized> core::Store for Box<T> {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        (**self).get(key)
    }

    fn transact(
        &mut self,
        conditions: &[core::Condition],
        writes: &[core::Write],
    ) -> Result<bool, core::StoreError> {
        (**self).transact(conditions, writes)
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        (**self).scan(prefix, start_after, limit)
    }
}

/// The imported durable store.
pub struct WitStore;

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
pub struct WitClock;

impl core::Clock for WitClock {
    fn now_ms(&mut self) -> u64 {
        clock::now_ms()
    }
}

// ---------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------

thread_local! {
    /// The instance's queue; its index is guest memory, gone with a crashed
    /// instance.
    static QUEUE: RefCell<Queue> =
        RefCell::new(core::Queue::new(<crate::Buggy as Bug>::store(), WitClock));
}

fn with_queue<T>(f: impl FnOnce(&mut Queue) -> T) -> T {
    QUEUE.with_borrow_mut(f)
}

fn core_spec(spec: JobSpec) -> core::JobSpec {
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

fn wit_lease(lease: core::LeasedJob) -> LeasedJob {
    LeasedJob {
        job_id: lease.job_id,
        token: lease.token,
        kind: lease.kind,
        payload: lease.payload,
        attempt: lease.attempt,
        expires_ms: lease.expires_ms,
    }
}

fn wit_status(status: core::JobStatus) -> JobStatus {
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

fn wit_error(error: core::QueueError) -> QueueError {
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
        with_queue(|q| q.enqueue(core_spec(spec))).map_err(wit_error)
    }

    fn lease(worker: String, lease_ms: u64) -> Result<Option<LeasedJob>, QueueError> {
        with_queue(|q| q.lease(&worker, lease_ms))
            .map(|lease| lease.map(wit_lease))
            .map_err(wit_error)
    }

    fn heartbeat(job: JobId, token: String, lease_ms: u64) -> Result<u64, QueueError> {
        with_queue(|q| q.heartbeat(&job, &token, lease_ms)).map_err(wit_error)
    }

    fn complete(job: JobId, token: String) -> Result<(), QueueError> {
        with_queue(|q| q.complete(&job, &token)).map_err(wit_error)
    }

    fn fail(job: JobId, token: String, message: String, retryable: bool) -> Result<(), QueueError> {
        with_queue(|q| q.fail(&job, &token, &message, retryable)).map_err(wit_error)
    }

    fn status(job: JobId) -> Result<JobStatus, QueueError> {
        with_queue(|q| q.status(&job))
            .map(wit_status)
            .map_err(wit_error)
    }

    fn dead_letters() -> Vec<JobStatus> {
        with_queue(|q| q.dead_letters())
            .into_iter()
            .map(wit_status)
            .collect()
    }

    fn requeue(job: JobId) -> Result<(), QueueError> {
        with_queue(|q| q.requeue(&job)).map_err(wit_error)
    }

    fn recover() {
        with_queue(|q| q.recover());
    }
}

export!(Component);
