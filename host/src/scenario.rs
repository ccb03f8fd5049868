//! Scenario files: loading, the fields every track shares, and errors that
//! point at the file and line.
//!
//! The format is documented in `scenarios/README.md`. Files are data: unknown
//! fields are refused (`deny_unknown_fields`), and no `untagged`/`flatten`
//! is used, so that serde's errors stay precise.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The only scenario format version so far.
pub const FORMAT: u32 = 1;

/// The virtual time a scenario starts at unless it says otherwise.
pub const DEFAULT_START_MS: u64 = 1_700_000_000_000;

/// A scenario file's text and where it came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// The scenario's name: the file name without `.toml`.
    pub name: String,
    /// The path shown in errors.
    pub file: String,
    pub text: String,
}

impl Source {
    /// Reads a scenario file from disk (for `--scenario path/to/file.toml`).
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Source {
            name,
            file: path.display().to_string(),
            text,
        })
    }

    /// Parses the file into a track's scenario type, then checks the common
    /// fields.
    pub fn parse<T: DeserializeOwned + HasCommon>(&self) -> Result<T> {
        let scenario: T = toml::from_str(&self.text).map_err(|e| {
            let line = e.span().map(|s| self.line_of(s.start)).unwrap_or(1);
            Error::Scenario {
                file: self.file.clone(),
                line,
                message: e.message().trim().replace('\n', "; "),
            }
        })?;
        let common = scenario.common();
        if common.format != FORMAT {
            return Err(self.error_at(
                "format",
                format!(
                    "unsupported format {} (this gauntlet reads format {FORMAT})",
                    common.format
                ),
            ));
        }
        Ok(scenario)
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// An error at the first line that sets `key` (or line 1).
    pub fn error_at(&self, key: &str, message: String) -> Error {
        let line = self
            .text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
            })
            .map_or(1, |i| i + 1);
        Error::Scenario {
            file: self.file.clone(),
            line,
            message,
        }
    }

    /// An error at a byte span of the file.
    pub fn error_at_span(&self, span: std::ops::Range<usize>, message: String) -> Error {
        Error::Scenario {
            file: self.file.clone(),
            line: self.line_of(span.start),
            message,
        }
    }
}

/// The fields every track's scenario has.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Common {
    pub format: u32,
    pub description: String,
    pub seed: u64,
    #[serde(default = "default_start")]
    pub start_ms: u64,
}

fn default_start() -> u64 {
    DEFAULT_START_MS
}

/// Implemented by each track's scenario type.
pub trait HasCommon {
    fn common(&self) -> Common;
}

/// A probability from a scenario file in parts per million, as seeded
/// rules draw against it.
pub fn ppm(probability: f64) -> u32 {
    (probability * 1_000_000.0).round() as u32
}

/// A share (0 to 1) from a scenario file, or why it is not one.
pub fn share(value: f64, name: &str) -> std::result::Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{name} must be 0 to 1"))
    }
}

/// `min`..=`max`, uniform.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub min: u64,
    pub max: u64,
}
