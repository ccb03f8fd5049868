//! The reference pipeline, independent of the component model: plain Rust
//! generic over small traits that mirror the imports ([`Model`],
//! [`Output`], [`Store`], [`Clock`]) and over the [`Rules`] a buggy plugin
//! may change, so it runs natively in tests. No randomness, no real time:
//! every reading of time comes from [`Clock`], and everything that must
//! survive a crash is in the [`Store`] (one [`Checkpoint`]) or the
//! [`Output`]. What the pipeline does, step by step, is in the crate
//! root's docs.
//!
//! # Store layout
//!
//! One key, [`CHECKPOINT_KEY`] (`tweet-audit/checkpoint`), holding a
//! [`Checkpoint`] as JSON: `{"progress": {"next", "lines", "deleted",
//! "kept", "minute", "requests", "tokens"}}` while a run is under way, then
//! `{"done": {"tweets", "retweets", "deleted", "kept", "lines"}}`. It is
//! written with `put` (one write is atomic): first right after the header,
//! then before every model request (committing the rows appended since and
//! counting the request in its minute), and last when the run ends.
//!
//! # Rules
//!
//! [`Rules`] are the behaviours a buggy example plugin changes, one each;
//! [`Reference`] keeps every default: [`Rules::on_model_error`] (429 waits
//! for the next minute, 5xx backs off, 400/403 stops), [`Rules::decide`]
//! (only an exact decision decides), [`Rules::row`] (RFC 4180),
//! [`Rules::records_progress`] (every checkpoint records the progress) and
//! [`Rules::truncates_on_resume`] (a resumed run truncates the output back
//! to its checkpoint).

pub mod answer;
pub mod archive;
pub mod checkpoint;
pub mod csv;
mod pipeline;
mod types;
pub mod words;

#[cfg(test)]
mod tests;

pub use answer::decisions;
pub use checkpoint::{CHECKPOINT_KEY, Checkpoint, Done, Progress};
pub use csv::{HEADER, row};
pub use pipeline::{run, tokens};
pub use types::{
    Action, ArchiveFile, AuditError, Clock, Criteria, Decision, Imports, MAX_BACKOFF_MS, MINUTE_MS,
    Model, ModelError, ModelTweet, Output, Quota, Reference, Rules, Store, StoreError, Summary,
    backoff_ms, to_next_minute,
};
