//! Errors at the library's boundary and the exit codes they map to.
//!
//! Every error here means "the input could not be used" (exit 2): a missing
//! or malformed file, a component of no known track, a bad scenario, a plugin
//! crate that does not build. A plugin that misbehaves while running is not an
//! error: it is a verdict (see [`crate::verdict`]).

use std::path::PathBuf;

/// The documented exit codes of `gauntlet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Every check held.
    Pass = 0,
    /// A check failed: an invariant, a divergence from the reference, a trap.
    CheckFailed = 1,
    /// The input could not be used: bad file, unknown track, bad scenario.
    BadInput = 2,
}

/// Why an input could not be used. Messages read after "failed to ...": they
/// are lowercase fragments with no trailing period.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a WebAssembly file (it does not start with the `\\0asm` magic)")]
    NotWasm { path: PathBuf },
    #[error(
        "{path} is a core WebAssembly module, not a component: build it for `wasm32-wasip2` (or make one of it with `gauntlet componentize`)"
    )]
    CoreModule { path: PathBuf },
    #[error("{path} is not a valid component: {reason}")]
    InvalidComponent { path: PathBuf, reason: String },
    #[error("{path} implements no gauntlet track: it exports {exports}; {expected}")]
    UnknownWorld {
        path: PathBuf,
        exports: String,
        expected: String,
    },
    #[error("{path} cannot be linked: {reason}")]
    Link { path: PathBuf, reason: String },
    #[error("unknown track `{name}` (known: {known})")]
    UnknownTrack { name: String, known: String },
    #[error("unknown scenario `{name}` for track {track} (known: {known})")]
    UnknownScenario {
        track: String,
        name: String,
        known: String,
    },
    #[error("{file}:{line}: {message}")]
    Scenario {
        file: String,
        line: usize,
        message: String,
    },
    #[error("cannot build plugin crate {path}: {reason}")]
    Build { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        // Every error is about input gauntlet could not use; an internal
        // error is reported the same way rather than as a failed check, so
        // that CI never mistakes a broken host for a broken plugin.
        ExitCode::BadInput
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(format!("{e:#}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
