//! The host's own types for the job-queue track: what the producers and the
//! workers do, and the queue's answers normalised for the diff. Jobs are
//! named by the label of the enqueue that created them (`j1`, or the
//! scenario's `as = "..."`), lease tokens by their order of first appearance
//! in the run (`t1`, `t2`, ...): ids and tokens are the queue's own, so two
//! correct queues differ in them and agree on what they name.

use serde::Serialize;

use crate::bindings::jobs::queue as wit;

/// When a job may first run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    Now,
    DelayMs(u64),
    AtMs(u64),
}

/// A job as a producer enqueues it. Its payload is its label, so that a
/// worker knows which job it was handed whatever id the queue chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobSpec {
    pub label: String,
    pub kind: String,
    pub priority: u8,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_cap_ms: u64,
    pub schedule: Schedule,
    pub dedup_key: Option<String>,
}

impl JobSpec {
    pub fn to_wit(&self) -> wit::JobSpec {
        wit::JobSpec {
            kind: self.kind.clone(),
            payload: self.label.clone(),
            priority: self.priority,
            max_attempts: self.max_attempts,
            backoff: wit::Backoff {
                base_ms: self.backoff_base_ms,
                cap_ms: self.backoff_cap_ms,
            },
            schedule: match self.schedule {
                Schedule::Now => wit::Schedule::Now,
                Schedule::DelayMs(ms) => wit::Schedule::DelayMs(ms),
                Schedule::AtMs(ms) => wit::Schedule::AtMs(ms),
            },
            dedup_key: self.dedup_key.clone(),
        }
    }

    /// The delay before retry `n` (1 = the first retry), as the WIT defines
    /// it: min(base * 2^(n-1), cap), saturating.
    pub fn backoff_ms(&self, n: u32) -> u64 {
        let doubled = match 1u64.checked_shl(n.saturating_sub(1)) {
            Some(factor) => self.backoff_base_ms.saturating_mul(factor),
            None if self.backoff_base_ms == 0 => 0,
            None => u64::MAX,
        };
        doubled.min(self.backoff_cap_ms)
    }
}

/// How a worker ends a run of a job in a generated workload: drawn per
/// (job, attempt), so that every queue sees the same fates whichever worker
/// gets the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    Complete,
    /// Completes, then completes again with the same token.
    CompleteTwice,
    FailRetryable,
    FailPermanent,
    /// The worker dies holding the lease, without a word.
    Die,
}

/// One thing a producer, a worker, the operator or the host does: each is at
/// most one call into the queue (a worker holding no job makes none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Enqueue(Box<JobSpec>),
    Lease {
        worker: String,
        lease_ms: u64,
    },
    /// The worker extends the lease of the job it holds.
    Heartbeat {
        worker: String,
        lease_ms: u64,
    },
    /// The worker completes the job it holds, with its token.
    Complete {
        worker: String,
    },
    /// The worker completes once more the job it completed last, with the
    /// same token (a duplicate delivery of its report).
    CompleteAgain {
        worker: String,
    },
    Fail {
        worker: String,
        retryable: bool,
    },
    /// The worker ends its run as the job's fate says.
    Finish {
        worker: String,
    },
    Status {
        job: String,
    },
    DeadLetters,
    Requeue {
        job: String,
    },
    /// The queue crashes between calls: the instance is discarded and a
    /// fresh one recovers from the durable store.
    Crash,
}

impl Op {
    /// The client process that sends it in a concurrent run: a worker's
    /// calls are the worker's, enqueues the producer's, the rest the
    /// operator's.
    pub fn process(&self) -> &str {
        match self {
            Op::Lease { worker, .. }
            | Op::Heartbeat { worker, .. }
            | Op::Complete { worker }
            | Op::CompleteAgain { worker }
            | Op::Fail { worker, .. }
            | Op::Finish { worker } => worker,
            Op::Enqueue(_) => "producer",
            Op::Status { .. } | Op::DeadLetters | Op::Requeue { .. } | Op::Crash => "operator",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::Enqueue(_) => "enqueue",
            Op::Lease { .. } => "lease",
            Op::Heartbeat { .. } => "heartbeat",
            Op::Complete { .. } | Op::CompleteAgain { .. } => "complete",
            Op::Fail { .. } => "fail",
            Op::Finish { .. } => "finish",
            Op::Status { .. } => "status",
            Op::DeadLetters => "dead-letters",
            Op::Requeue { .. } => "requeue",
            Op::Crash => "crash",
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Enqueue(spec) => {
                write!(
                    f,
                    "enqueue {} ({}, priority {}, max-attempts {}, backoff {}..{} ms",
                    spec.label,
                    spec.kind,
                    spec.priority,
                    spec.max_attempts,
                    spec.backoff_base_ms,
                    spec.backoff_cap_ms
                )?;
                match spec.schedule {
                    Schedule::Now => {}
                    Schedule::DelayMs(ms) => write!(f, ", delay {ms} ms")?,
                    Schedule::AtMs(ms) => write!(f, ", at {ms} ms")?,
                }
                if let Some(key) = &spec.dedup_key {
                    write!(f, ", dedup {key:?}")?;
                }
                write!(f, ")")
            }
            Op::Lease { worker, lease_ms } => write!(f, "{worker}: lease for {lease_ms} ms"),
            Op::Heartbeat { worker, lease_ms } => {
                write!(f, "{worker}: heartbeat for {lease_ms} ms")
            }
            Op::Complete { worker } => write!(f, "{worker}: complete"),
            Op::CompleteAgain { worker } => write!(f, "{worker}: complete again"),
            Op::Fail { worker, retryable } => write!(
                f,
                "{worker}: fail ({})",
                if *retryable { "retryable" } else { "permanent" }
            ),
            Op::Finish { worker } => write!(f, "{worker}: finish its job"),
            Op::Status { job } => write!(f, "status {job}"),
            Op::DeadLetters => write!(f, "dead-letters"),
            Op::Requeue { job } => write!(f, "requeue {job}"),
            Op::Crash => write!(f, "the queue crashes; a fresh instance recovers"),
        }
    }
}

/// A queue error, as compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueError {
    NotFound,
    StaleLease,
    NotDead,
    Invalid(String),
}

impl From<&wit::QueueError> for QueueError {
    fn from(e: &wit::QueueError) -> Self {
        match e {
            wit::QueueError::NotFound => QueueError::NotFound,
            wit::QueueError::StaleLease => QueueError::StaleLease,
            wit::QueueError::NotDead => QueueError::NotDead,
            wit::QueueError::Invalid(field) => QueueError::Invalid(
                match field {
                    wit::InvalidField::Kind => "kind",
                    wit::InvalidField::MaxAttempts => "max-attempts",
                    wit::InvalidField::LeaseMs => "lease-ms",
                }
                .to_string(),
            ),
        }
    }
}

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueError::NotFound => write!(f, "not-found"),
            QueueError::StaleLease => write!(f, "stale-lease"),
            QueueError::NotDead => write!(f, "not-dead"),
            QueueError::Invalid(field) => write!(f, "invalid({field})"),
        }
    }
}

/// A lease as compared: the job by label, the token by order of appearance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Lease {
    pub job: String,
    pub token: String,
    pub kind: String,
    pub payload: String,
    pub attempt: u32,
    pub expires_ms: u64,
}

/// Every field of a lease is compared, so every field is shown: kind and
/// payload too (a lease of the wrong job with the right label must not
/// print as the right one).
impl std::fmt::Display for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (kind {:?}, payload {:?}, token {}, attempt {}, until {} ms)",
            self.job,
            Clipped(&self.kind),
            Clipped(&self.payload),
            self.token,
            self.attempt,
            self.expires_ms
        )
    }
}

/// A string of the queue's, quoted and cut to
/// [`ITEM_LIMIT`](crate::diff::ITEM_LIMIT) bytes (the diff shows a long one
/// around where it differs).
struct Clipped<'a>(&'a str);

impl std::fmt::Debug for Clipped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let limit = crate::diff::ITEM_LIMIT;
        if self.0.len() <= limit {
            return write!(f, "{:?}", self.0);
        }
        let mut end = limit;
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        write!(
            f,
            "{:?}…({} more bytes)",
            &self.0[..end],
            self.0.len() - end
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Queued(u64),
    Leased { worker: String, expires_ms: u64 },
    Succeeded,
    FailedRetrying(u64),
    Dead(String),
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Queued(at) => write!(f, "queued (from {at} ms)"),
            State::Leased { worker, expires_ms } => {
                write!(f, "leased by {worker} until {expires_ms} ms")
            }
            State::Succeeded => write!(f, "succeeded"),
            State::FailedRetrying(at) => write!(f, "failed-retrying (from {at} ms)"),
            State::Dead(reason) => write!(f, "dead ({reason})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Status {
    pub job: String,
    pub kind: String,
    pub priority: u8,
    pub attempts: u32,
    pub max_attempts: u32,
    pub state: State,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} (kind {:?}, priority {}, attempts {}/{})",
            self.job,
            self.state,
            Clipped(&self.kind),
            self.priority,
            self.attempts,
            self.max_attempts
        )
    }
}

pub fn state(state: &wit::JobState) -> State {
    match state {
        wit::JobState::Queued(at) => State::Queued(*at),
        wit::JobState::Leased(held) => State::Leased {
            worker: held.worker.clone(),
            expires_ms: held.expires_ms,
        },
        wit::JobState::Succeeded => State::Succeeded,
        wit::JobState::FailedRetrying(at) => State::FailedRetrying(*at),
        wit::JobState::Dead(reason) => State::Dead(
            match reason {
                wit::DeadReason::AttemptsExhausted => "attempts-exhausted",
                wit::DeadReason::PermanentFailure => "permanent-failure",
            }
            .to_string(),
        ),
    }
}

/// What a worker did when its turn came: how the call it made went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Report {
    Complete,
    FailRetryable,
    FailPermanent,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Report::Complete => "complete",
            Report::FailRetryable => "fail (retryable)",
            Report::FailPermanent => "fail (permanent)",
        })
    }
}

/// A call's answer, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Enqueued(Result<String, QueueError>),
    Leased(Result<Option<Lease>, QueueError>),
    /// A worker extended its lease of `job`.
    Extended {
        job: String,
        token: String,
        result: Result<u64, QueueError>,
    },
    /// A worker reported on `job` with `token` (complete or fail).
    Reported {
        job: String,
        token: String,
        report: Report,
        /// For a fate of "complete twice": how the second complete went.
        again: Option<Result<(), QueueError>>,
        result: Result<(), QueueError>,
    },
    /// The worker died holding `job`'s lease: no call.
    Died {
        job: String,
    },
    /// The worker held no job (its lease came back empty): no call.
    Idle,
    Status(Result<Status, QueueError>),
    DeadLetters(Vec<Status>),
    Requeued(Result<(), QueueError>),
    Recovered,
}

fn result<T>(
    f: &mut std::fmt::Formatter<'_>,
    r: &Result<T, QueueError>,
    ok: impl FnOnce(&mut std::fmt::Formatter<'_>, &T) -> std::fmt::Result,
) -> std::fmt::Result {
    match r {
        Ok(v) => ok(f, v),
        Err(e) => write!(f, "error {e}"),
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Enqueued(r) => result(f, r, |f, job| write!(f, "job {job}")),
            Answer::Leased(r) => result(f, r, |f, lease| match lease {
                None => write!(f, "no job"),
                Some(l) => l.fmt(f),
            }),
            Answer::Extended {
                job,
                token,
                result: r,
            } => {
                write!(f, "{job} with {token}: ")?;
                result(f, r, |f, until| write!(f, "until {until} ms"))
            }
            Answer::Reported {
                job,
                token,
                report,
                again,
                result: r,
            } => {
                write!(f, "{report} {job} with {token}: ")?;
                result(f, r, |f, ()| write!(f, "ok"))?;
                if let Some(again) = again {
                    write!(f, "; again: ")?;
                    result(f, again, |f, ()| write!(f, "ok"))?;
                }
                Ok(())
            }
            Answer::Died { job } => write!(f, "died holding {job} (no call)"),
            Answer::Idle => write!(f, "holds no job (no call)"),
            Answer::Status(r) => result(f, r, |f, s| s.fmt(f)),
            Answer::DeadLetters(list) => {
                write!(f, "[")?;
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{s}")?;
                }
                write!(f, "]")
            }
            Answer::Requeued(r) => result(f, r, |f, ()| write!(f, "ok")),
            Answer::Recovered => write!(f, "recovered"),
        }
    }
}

/// One call's outcome: the normalised answer (compared) and what the host
/// saw on the way (not compared: where store-write crashes fall depends on
/// how many writes a queue makes).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Output {
    pub answer: Answer,
    /// Crashes injected while serving it (each followed by a fresh
    /// instance, `recover`, and the call again).
    pub crashes: u32,
}

impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        self.answer == other.answer
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.answer.fmt(f)?;
        if self.crashes > 0 {
            write!(
                f,
                " [not compared: {} injected crash(es) recovered]",
                self.crashes
            )?;
        }
        Ok(())
    }
}

/// Only the normalised answer is compared.
impl crate::diff::Compared for Output {
    fn compared(&self) -> crate::diff::Tree {
        crate::diff::Tree::of(&self.answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(base: u64, cap: u64) -> JobSpec {
        JobSpec {
            label: "j".into(),
            kind: "k".into(),
            priority: 0,
            max_attempts: 3,
            backoff_base_ms: base,
            backoff_cap_ms: cap,
            schedule: Schedule::Now,
            dedup_key: None,
        }
    }

    fn leased(kind: &str, payload: &str) -> Output {
        Output {
            answer: Answer::Leased(Ok(Some(Lease {
                job: "j1".into(),
                token: "t1".into(),
                kind: kind.into(),
                payload: payload.into(),
                attempt: 1,
                expires_ms: 5_000,
            }))),
            crashes: 0,
        }
    }

    #[test]
    fn leases_that_differ_only_in_payload_or_kind_print_differently() {
        let right = leased("email", "j1");
        for wrong in [leased("email", "j2"), leased("sms", "j1")] {
            assert_ne!(right, wrong);
            assert_ne!(right.to_string(), wrong.to_string());
            let c = crate::diff::contrast(&right, &wrong);
            assert_ne!(c.expected, c.actual);
        }
        assert_eq!(
            crate::diff::contrast(&right, &leased("email", "j2")).fields,
            ["payload"]
        );
        assert_eq!(
            crate::diff::contrast(&right, &leased("sms", "j1")).fields,
            ["kind"]
        );
        assert_eq!(
            right.to_string(),
            "j1 (kind \"email\", payload \"j1\", token t1, attempt 1, until 5000 ms)"
        );
    }

    #[test]
    fn statuses_that_differ_only_in_kind_or_priority_print_differently() {
        let status = |kind: &str, priority| Status {
            job: "j1".into(),
            kind: kind.into(),
            priority,
            attempts: 1,
            max_attempts: 3,
            state: State::Succeeded,
        };
        let right = status("email", 1).to_string();
        assert_ne!(right, status("sms", 1).to_string());
        assert_ne!(right, status("email", 2).to_string());
    }

    #[test]
    fn injected_crashes_are_shown_as_not_compared() {
        let mut a = leased("email", "j1");
        a.crashes = 2;
        assert_eq!(a, leased("email", "j1"));
        assert!(
            a.to_string()
                .ends_with(" [not compared: 2 injected crash(es) recovered]"),
            "{a}"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_saturates() {
        let s = spec(100, 1_000);
        assert_eq!(
            [1, 2, 3, 4, 5].map(|n| s.backoff_ms(n)),
            [100, 200, 400, 800, 1_000]
        );
        let s = spec(3, u64::MAX);
        assert_eq!(s.backoff_ms(63), 3u64.saturating_mul(1 << 62));
        assert_eq!(s.backoff_ms(64), u64::MAX);
        assert_eq!(s.backoff_ms(65), u64::MAX);
        assert_eq!(s.backoff_ms(1_000), u64::MAX);
        assert_eq!(spec(0, 50).backoff_ms(200), 0);
    }
}
