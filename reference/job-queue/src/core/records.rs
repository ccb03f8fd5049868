//! What the queue keeps in the durable store, and the names it gives jobs
//! and leases. See the module docs of [`crate::core`] for the layout.

use serde::{Deserialize, Serialize};

use super::types::{Backoff, DeadReason, JobState, JobStatus};

/// The key of the [`Counters`].
pub const COUNTERS_KEY: &str = "counters";
/// The prefix of every [`JobRecord`] key.
pub const JOB_PREFIX: &str = "job/";

/// The last job sequence number and the last lease number handed out (both
/// from 1; 0: none yet). Saved in the same transaction as the job or lease
/// that used the number, so no number is ever handed out twice, across any
/// crash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Counters {
    pub last_job: u64,
    pub last_lease: u64,
}

/// A job as stored: its spec (minus the schedule, which only sets the first
/// run's instant), its run count and its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobRecord {
    /// The enqueue order, from 1; the id is [`job_id`] of it.
    pub seq: u64,
    pub kind: String,
    pub payload: String,
    pub priority: u8,
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub dedup_key: Option<String>,
    /// Leases handed out since the enqueue or the last requeue.
    pub attempts: u32,
    pub state: StoredState,
}

/// A job's state with what the WIT's [`JobState`] leaves out: the lease's
/// token, and when a dead job died (the dead-letter order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoredState {
    Queued {
        run_at: u64,
    },
    Leased {
        worker: String,
        token: String,
        expires_ms: u64,
    },
    Succeeded,
    Retrying {
        run_at: u64,
    },
    Dead {
        reason: DeadReason,
        died_at: u64,
    },
}

impl StoredState {
    /// The instant a waiting job may run from (`None`: not waiting).
    pub fn run_at(&self) -> Option<u64> {
        match self {
            StoredState::Queued { run_at } | StoredState::Retrying { run_at } => Some(*run_at),
            _ => None,
        }
    }
}

impl JobRecord {
    pub fn id(&self) -> String {
        job_id(self.seq)
    }

    pub fn key(&self) -> String {
        job_key(self.seq)
    }

    pub fn status(&self) -> JobStatus {
        let state = match &self.state {
            StoredState::Queued { run_at } => JobState::Queued(*run_at),
            StoredState::Leased {
                worker, expires_ms, ..
            } => JobState::Leased {
                worker: worker.clone(),
                expires_ms: *expires_ms,
            },
            StoredState::Succeeded => JobState::Succeeded,
            StoredState::Retrying { run_at } => JobState::FailedRetrying(*run_at),
            StoredState::Dead { reason, .. } => JobState::Dead(*reason),
        };
        JobStatus {
            id: self.id(),
            kind: self.kind.clone(),
            priority: self.priority,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            state,
        }
    }
}

/// `job-{seq}`.
pub fn job_id(seq: u64) -> String {
    format!("job-{seq}")
}

/// The sequence number an id names, if it is one this queue could have
/// given (`job-` and a decimal number from 1, no leading zeros).
pub fn parse_job_id(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("job-")?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `job/{seq:020}`: zero-padded to the width of `u64::MAX`, so that key
/// order is enqueue order.
pub fn job_key(seq: u64) -> String {
    format!("{JOB_PREFIX}{seq:020}")
}

/// `lease-{n}`.
pub fn lease_token(n: u64) -> String {
    format!("lease-{n}")
}
