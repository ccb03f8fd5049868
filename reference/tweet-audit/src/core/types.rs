//! The WIT types of `gauntlet:tweet-audit` as plain Rust, the four traits
//! the pipeline is generic over ([`Model`], [`Output`], [`Store`],
//! [`Clock`]), which mirror the imported interfaces, and [`Rules`], the
//! behaviours a buggy plugin may change.

use std::fmt;

// ---------------------------------------------------------------------------
// The track's types (`gauntlet:tweet-audit`)
// ---------------------------------------------------------------------------

/// One file of the archive, borrowed from `run`'s arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveFile<'a> {
    pub path: &'a str,
    pub content: &'a str,
}

/// What the owner wants gone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Criteria {
    pub forbidden_words: Vec<String>,
    pub rules: Vec<String>,
}

/// One tweet sent to the model: its `id_str` and its decoded `full_text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelTweet<'a> {
    pub id: &'a str,
    pub text: &'a str,
}

/// The API's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    pub max_batch: u32,
}

/// What a failed `classify` answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// 429: do not call again before the next minute begins.
    ResourceExhausted,
    /// 500, 503 or 504: retry with backoff.
    Unavailable(u16),
    /// 400 or 403: stop.
    Rejected(u16),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::ResourceExhausted => f.write_str("resource-exhausted"),
            ModelError::Unavailable(status) => write!(f, "unavailable({status})"),
            ModelError::Rejected(status) => write!(f, "rejected({status})"),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tweets read, retweets included.
    pub tweets: u32,
    pub retweets: u32,
    pub deleted: u32,
    pub kept: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditError {
    /// `"<path>: <why>"`.
    BadArchive(String),
    /// The model's permanent status (400 or 403).
    ModelRejected(u16),
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::BadArchive(why) => write!(f, "bad archive: {why}"),
            AuditError::ModelRejected(status) => write!(f, "model rejected the request ({status})"),
        }
    }
}

impl std::error::Error for AuditError {}

/// How a tweet was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Delete,
    Keep,
}

// ---------------------------------------------------------------------------
// The imports
// ---------------------------------------------------------------------------

/// `gauntlet:tweet-audit/model`.
pub trait Model {
    fn limits(&mut self) -> Quota;
    /// The model's text, or why it answered none.
    fn classify(
        &mut self,
        criteria: &Criteria,
        tweets: &[ModelTweet<'_>],
    ) -> Result<String, ModelError>;
}

/// `gauntlet:tweet-audit/output`: the CSV file the host keeps.
pub trait Output {
    fn append(&mut self, line: &str);
    fn lines(&mut self) -> u32;
    fn truncate(&mut self, lines: u32);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    KeyTooLarge,
    ValueTooLarge,
    QuotaExceeded,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::KeyTooLarge => "key-too-large",
            StoreError::ValueTooLarge => "value-too-large",
            StoreError::QuotaExceeded => "quota-exceeded",
        })
    }
}

/// The part of `gauntlet:harness/store` the pipeline uses: one key, read
/// once per `run` and overwritten with `put`.
pub trait Store {
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}

/// `gauntlet:harness/clock`.
pub trait Clock {
    fn now_ms(&mut self) -> u64;
    fn sleep_ms(&mut self, ms: u64);
}

/// Every import the pipeline calls, by interface.
pub struct Imports<M, O, S, C> {
    pub model: M,
    pub output: O,
    pub store: S,
    pub clock: C,
}

// ---------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------

/// A minute of the clock: `[k * 60,000, (k + 1) * 60,000)`.
pub const MINUTE_MS: u64 = 60_000;

/// The longest backoff after transient errors.
pub const MAX_BACKOFF_MS: u64 = 32_000;

/// What to do after a model error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Sleep this long, then ask again (subject to pacing).
    Wait(u64),
    /// Stop the run: `model-rejected(status)`.
    Stop(u16),
}

/// The behaviours the example plugins (`plugins/tweet-audit/*`) change, as
/// a trait whose defaults are the reference's ([`Reference`] overrides
/// nothing). Each buggy plugin compiles this core in from source and
/// overrides exactly one behaviour, so that the gauntlet check that catches
/// it has little else to report. Everything else (parsing, batching,
/// pacing, the checkpoint's format) is not negotiable and not here.
pub trait Rules {
    /// What to do after `error`, answered at `now`; `streak` counts the
    /// errors in a row that were not 429 (this one included; a success or a
    /// 429 resets it). The reference: a 429 waits for the next minute, a
    /// 5xx waits `min(1,000 * 2^(streak-1), 32,000)` ms, a 400 or 403 stops.
    fn on_model_error(error: ModelError, streak: u32, now: u64) -> Action {
        match error {
            ModelError::ResourceExhausted => Action::Wait(to_next_minute(now)),
            ModelError::Unavailable(_) => Action::Wait(backoff_ms(streak)),
            ModelError::Rejected(status) => Action::Stop(status),
        }
    }

    /// Whether `tweet` is a retweet, skipped and never sent. The contract
    /// and the reference: its `full_text` starts with "RT @", exactly.
    fn is_retweet(tweet: &super::archive::Tweet) -> bool {
        tweet.is_retweet()
    }

    /// The most tweets one request may carry, given the model's
    /// `max-batch` (the contract leaves the batch size open up to it). The
    /// reference fills every batch: `max-batch`.
    fn batch_size(max_batch: u32) -> usize {
        max_batch.max(1) as usize
    }

    /// The decision the answer `text` gives each tweet of the batch (by
    /// position in `ids`): `None` when it gives none. The reference:
    /// [`decisions`](super::answer::decisions).
    fn decide(text: &str, ids: &[&str]) -> Vec<Option<Decision>> {
        super::answer::decisions(text, ids)
    }

    /// The CSV row of a tweet to delete. The reference:
    /// [`row`](super::csv::row), RFC 4180 escaped.
    fn row(username: &str, id: &str) -> String {
        super::csv::row(username, id)
    }

    /// Whether the checkpoint saved after the `batch`-th answered batch of
    /// this instance (0 for its first) records the progress made (else it
    /// keeps the last recorded progress, and only the pacing is saved).
    /// The reference records every batch.
    fn records_progress(batch: u64) -> bool {
        let _ = batch;
        true
    }

    /// Whether a `run` that finds the audit finished returns its record
    /// (the reference does) rather than starting over.
    fn remembers_done() -> bool {
        true
    }

    /// Whether a resumed run truncates the output to the checkpoint's line
    /// count (undoing rows appended after it). The reference does.
    fn truncates_on_resume() -> bool {
        true
    }
}

/// The reference's rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Rules for Reference {}

/// The wait from `now` to the start of the next minute (a full minute at a
/// minute's start).
pub fn to_next_minute(now: u64) -> u64 {
    MINUTE_MS - now % MINUTE_MS
}

/// The wait after the `n`-th transient error in a row:
/// `min(1,000 * 2^(n-1), 32,000)` ms.
pub fn backoff_ms(n: u32) -> u64 {
    let exponent = n.saturating_sub(1).min(6);
    (1_000u64 << exponent).min(MAX_BACKOFF_MS)
}
