//! The WIT types of `gauntlet:jobs` and `gauntlet:harness/store` as plain
//! Rust, the two traits the queue is generic over ([`Store`], [`Clock`]),
//! which mirror the imported interfaces, and [`Rules`], the delivery rules.

use std::fmt;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// The queue's types (`gauntlet:jobs/queue`)
// ---------------------------------------------------------------------------

/// When a job may first run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Now,
    /// This many milliseconds after the enqueue.
    DelayMs(u64),
    /// At this instant (an instant already past means at once).
    AtMs(u64),
}

/// Retry n waits `min(base-ms * 2^(n-1), cap-ms)` after the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Backoff {
    pub base_ms: u64,
    pub cap_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSpec {
    pub kind: String,
    pub payload: String,
    pub priority: u8,
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub schedule: Schedule,
    pub dedup_key: Option<String>,
}

/// A job handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeasedJob {
    pub job_id: String,
    pub token: String,
    pub kind: String,
    pub payload: String,
    /// 1 for the first run.
    pub attempt: u32,
    pub expires_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadReason {
    AttemptsExhausted,
    PermanentFailure,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    /// May be leased from this instant on.
    Queued(u64),
    Leased {
        worker: String,
        expires_ms: u64,
    },
    Succeeded,
    /// May be leased again from this instant on.
    FailedRetrying(u64),
    Dead(DeadReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatus {
    pub id: String,
    pub kind: String,
    pub priority: u8,
    /// Runs started since the enqueue or the last requeue.
    pub attempts: u32,
    pub max_attempts: u32,
    pub state: JobState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InvalidField {
    Kind,
    MaxAttempts,
    LeaseMs,
}

/// In the order of precedence the WIT gives: `Invalid`, then `NotFound`,
/// then `StaleLease` or `NotDead`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueError {
    NotFound,
    StaleLease,
    NotDead,
    Invalid(InvalidField),
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::NotFound => f.write_str("not-found"),
            QueueError::StaleLease => f.write_str("stale-lease"),
            QueueError::NotDead => f.write_str("not-dead"),
            QueueError::Invalid(InvalidField::Kind) => f.write_str("invalid(kind)"),
            QueueError::Invalid(InvalidField::MaxAttempts) => f.write_str("invalid(max-attempts)"),
            QueueError::Invalid(InvalidField::LeaseMs) => f.write_str("invalid(lease-ms)"),
        }
    }
}

impl std::error::Error for QueueError {}

// ---------------------------------------------------------------------------
// The delivery rules
// ---------------------------------------------------------------------------

/// The rules that decide when and in what order jobs run, as a trait whose
/// defaults are the reference's rules ([`Reference`] overrides nothing).
///
/// Why a trait: the example plugins (`plugins/job-queue/*`) compile this
/// core in from source and each changes exactly one rule, so that the
/// gauntlet check that catches the change has nothing else to report.
/// Everything that is not a rule (the store layout, crash safety, how
/// tokens are made, errors) is not negotiable and not here.
pub trait Rules {
    /// The earliest instant the job may run again after its `attempts`-th
    /// run failed at `failed_at`: `failed_at + min(base * 2^(attempts-1),
    /// cap)`, saturating.
    fn retry_at(backoff: Backoff, attempts: u32, failed_at: u64) -> u64 {
        failed_at.saturating_add(backoff_delay(backoff, attempts))
    }

    /// Whether a retryable failure of the `attempts`-th run leaves the job
    /// another run (otherwise it is dead, `attempts-exhausted`).
    fn may_retry(attempts: u32, max_attempts: u32) -> bool {
        attempts < max_attempts
    }

    /// Where a runnable job stands among the runnable ones: the smallest
    /// rank is leased first. Highest priority first, then enqueue order.
    fn rank(priority: u8, seq: u64) -> (u8, u64) {
        (u8::MAX - priority, seq)
    }

    /// Whether completing a job cancels its lease's expiry. When it does
    /// not, the expiry still fires at the lease's `expires-ms` and counts as
    /// a failed run of the succeeded job.
    fn complete_cancels_expiry() -> bool {
        true
    }

    /// Whether a report or heartbeat must carry the job's current lease
    /// token. When not, any token is taken while the job is leased: a worker
    /// whose lease ran out and was handed to another can still report.
    fn checks_token() -> bool {
        true
    }

    /// Whether a dedup key keeps naming its job after the job succeeded.
    /// When not, a key is free again once its job succeeded ("unique while
    /// active").
    fn dedup_outlives_success() -> bool {
        true
    }

    /// Whether a save is conditional on the store's version being the one
    /// the call read (a compare-and-set). When not, the last save wins: two
    /// replicas that read the same state both act on it, and one's save
    /// overwrites the other's.
    fn saves_conditionally() -> bool {
        true
    }

    /// Whether the index is kept from one call to the next (checked against
    /// the store's version, caught up by the journal). When not, every call
    /// reads the whole store afresh: no cache at all, another way to be
    /// correct as a replica.
    fn keeps_index() -> bool {
        true
    }
}

/// The reference's rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Rules for Reference {}

/// The wait before retry `attempts` (1 = the first retry):
/// `min(base * 2^(attempts-1), cap)`, computed without overflow (an
/// overflowing product is `u64::MAX` before the cap applies).
pub fn backoff_delay(backoff: Backoff, attempts: u32) -> u64 {
    let exponent = attempts.saturating_sub(1);
    let uncapped = if backoff.base_ms == 0 {
        0
    } else if exponent >= 64 {
        u64::MAX
    } else {
        backoff.base_ms.saturating_mul(1u64 << exponent)
    };
    uncapped.min(backoff.cap_ms)
}

// ---------------------------------------------------------------------------
// The durable store (`gauntlet:harness/store`)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    KeyTooLarge,
    ValueTooLarge,
    QuotaExceeded,
}

impl StoreError {
    /// The WIT (kebab-case) name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreError::KeyTooLarge => "key-too-large",
            StoreError::ValueTooLarge => "value-too-large",
            StoreError::QuotaExceeded => "quota-exceeded",
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition of a transaction: `key` holds `expected` (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub key: String,
    pub expected: Option<Vec<u8>>,
}

/// A write of a transaction: `value` `None` deletes `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// The part of `gauntlet:harness/store` the queue uses: every write goes
/// through [`Store::transact`] (so `put` and `delete` are left out).
pub trait Store {
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    /// Atomically: if every condition holds, applies every write in order
    /// and returns `true`; otherwise changes nothing and returns `false`.
    fn transact(&mut self, conditions: &[Condition], writes: &[Write]) -> Result<bool, StoreError>;
    /// Up to `limit` entries whose key starts with `prefix` and comes after
    /// `start_after`, in key order.
    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)>;
}

// ---------------------------------------------------------------------------
// The clock (`gauntlet:harness/clock`)
// ---------------------------------------------------------------------------

/// The part of `gauntlet:harness/clock` the queue uses: it never sleeps.
pub trait Clock {
    /// The current virtual time, in milliseconds.
    fn now_ms(&mut self) -> u64;
}
