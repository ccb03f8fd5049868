//! The reference pipeline, independent of the component model: plain Rust
//! generic over small traits that mirror the imports ([`Model`],
//! [`Output`], [`Store`], [`Clock`]) and over the [`Rules`] a buggy plugin
//! may change, so it runs natively in tests. (Docs: see the crate root.)

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
