//! What the queue keeps in the durable store, and the names it gives jobs
//! and leases. See the module docs of [`crate::core`] for the layout.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::{Backoff, DeadReason, JobState, JobStatus};

/// The key of the [`Counters`].
pub const COUNTERS_KEY: &str = "counters";
/// The key of the store's version: the number of saves so far, in decimal.
/// Every save writes the next one, on condition that it still holds the one
/// the saving instance read (see [`crate::core`], "Replicas").
pub const VERSION_KEY: &str = "version";
/// The prefix of the journal: `journal/{n:020}` lists the sequence numbers
/// of the jobs save `n` changed (a JSON array), so that another instance
/// catches up by re-reading only those. Only the last
/// [`JOURNAL_KEEP`](super::queue::JOURNAL_KEEP) entries are kept.
pub const JOURNAL_PREFIX: &str = "journal/";

/// The journal entry of save `n`.
pub fn journal_key(n: u64) -> String {
    format!("{JOURNAL_PREFIX}{n:020}")
}

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
///
/// Its JSON is an array, the fields in this order without their names (the
/// backoff's two fields inline), and the state as [`StoredState`]'s JSON
/// below: `[7,"email","j7",2,4,500,20000,null,1,{"leased":["w1","lease-9",10500]}]`.
/// Positional, because every record is read back by every recovery: a
/// record a third the size of one with field names is that much cheaper to
/// write and to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
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
///
/// Its JSON names the variant and lists its fields in order:
/// `{"queued":5000}`, `{"leased":["w1","lease-9",10500]}`, `"succeeded"`,
/// `{"retrying":6000}`, `{"dead":["attempts-exhausted",7000]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// [`JobRecord`]'s JSON: the record's fields in order, `S` the strings
/// (borrowed to write a record, owned to read one).
type RecordJson<S> = (u64, S, S, u8, u32, u64, u64, Option<S>, u32, StateJson<S>);

/// [`StoredState`]'s JSON: each variant's fields in order.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StateJson<S> {
    Queued(u64),
    Leased(S, S, u64),
    Succeeded,
    Retrying(u64),
    Dead(DeadReason, u64),
}

impl Serialize for JobRecord {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let state = match &self.state {
            StoredState::Queued { run_at } => StateJson::Queued(*run_at),
            StoredState::Leased {
                worker,
                token,
                expires_ms,
            } => StateJson::Leased(worker.as_str(), token.as_str(), *expires_ms),
            StoredState::Succeeded => StateJson::Succeeded,
            StoredState::Retrying { run_at } => StateJson::Retrying(*run_at),
            StoredState::Dead { reason, died_at } => StateJson::Dead(*reason, *died_at),
        };
        let json: RecordJson<&str> = (
            self.seq,
            &self.kind,
            &self.payload,
            self.priority,
            self.max_attempts,
            self.backoff.base_ms,
            self.backoff.cap_ms,
            self.dedup_key.as_deref(),
            self.attempts,
            state,
        );
        json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JobRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (
            seq,
            kind,
            payload,
            priority,
            max_attempts,
            base_ms,
            cap_ms,
            dedup_key,
            attempts,
            state,
        ): RecordJson<String> = Deserialize::deserialize(deserializer)?;
        let state = match state {
            StateJson::Queued(run_at) => StoredState::Queued { run_at },
            StateJson::Leased(worker, token, expires_ms) => StoredState::Leased {
                worker,
                token,
                expires_ms,
            },
            StateJson::Succeeded => StoredState::Succeeded,
            StateJson::Retrying(run_at) => StoredState::Retrying { run_at },
            StateJson::Dead(reason, died_at) => StoredState::Dead { reason, died_at },
        };
        Ok(JobRecord {
            seq,
            kind,
            payload,
            priority,
            max_attempts,
            backoff: Backoff { base_ms, cap_ms },
            dedup_key,
            attempts,
            state,
        })
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
