//! The tracks gauntlet knows: their WIT, worlds, embedded references and
//! scenarios. Adding a track means adding a module under `track/` and an
//! entry in [`TRACKS`].

pub mod job_queue;
pub mod kind;
pub mod payments;
pub mod rate_limiter;
pub mod traced;
pub mod tweet_audit;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

use crate::scenario::Source;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));
}

/// Which track, for dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackId {
    RateLimiter,
    Payments,
    JobQueue,
    Traced,
    TweetAudit,
}

/// What the host knows about a track.
pub struct Track {
    pub id: TrackId,
    pub name: &'static str,
    /// The world a plugin implements, e.g. `gauntlet:rate-limiter/plugin@0.1.0`.
    pub world: &'static str,
    /// The interface a plugin of this track exports; how a component's track
    /// is recognised.
    pub export: &'static str,
    /// The WIT files (path relative to the output directory, contents).
    pub wit: &'static [(&'static str, &'static str)],
    /// The reference component, built from `reference/` by the build script.
    pub reference: &'static [u8],
    /// The embedded scenarios: (name, file, contents), in name order.
    scenarios: &'static [(&'static str, &'static str, &'static str)],
}

pub static TRACKS: &[Track] = &[
    Track {
        id: TrackId::RateLimiter,
        name: rate_limiter::NAME,
        world: rate_limiter::WORLD,
        export: rate_limiter::EXPORT,
        wit: rate_limiter::WIT,
        reference: rate_limiter::REFERENCE,
        scenarios: embedded::RATE_LIMITER,
    },
    Track {
        id: TrackId::Payments,
        name: payments::NAME,
        world: payments::WORLD,
        export: payments::EXPORT,
        wit: payments::WIT,
        reference: payments::REFERENCE,
        scenarios: embedded::PAYMENT_GATEWAY,
    },
    Track {
        id: TrackId::JobQueue,
        name: job_queue::NAME,
        world: job_queue::WORLD,
        export: job_queue::EXPORT,
        wit: job_queue::WIT,
        reference: job_queue::REFERENCE,
        scenarios: embedded::JOB_QUEUE,
    },
    Track {
        id: TrackId::Traced,
        name: traced::NAME,
        world: traced::WORLD,
        export: traced::EXPORT,
        wit: traced::WIT,
        reference: traced::REFERENCE,
        scenarios: embedded::TRACED,
    },
    Track {
        id: TrackId::TweetAudit,
        name: tweet_audit::NAME,
        world: tweet_audit::WORLD,
        export: tweet_audit::EXPORT,
        wit: tweet_audit::WIT,
        reference: tweet_audit::REFERENCE,
        scenarios: embedded::TWEET_AUDIT,
    },
];

impl Track {
    /// Finds a track by name.
    pub fn named(name: &str) -> Result<&'static Track> {
        TRACKS
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::UnknownTrack {
                name: name.to_string(),
                known: TRACKS.iter().map(|t| t.name).collect::<Vec<_>>().join(", "),
            })
    }

    /// The track whose interface `component` exports, if any.
    pub fn of_component(engine: &Engine, component: &Component) -> Option<&'static Track> {
        let exports = exported_names(engine, component);
        TRACKS
            .iter()
            .find(|t| exports.iter().any(|e| e == t.export))
    }

    /// The embedded scenarios.
    pub fn scenarios(&self) -> Vec<Source> {
        self.scenarios
            .iter()
            .map(|(name, file, text)| Source {
                name: name.to_string(),
                file: file.to_string(),
                text: text.to_string(),
            })
            .collect()
    }

    /// The scenarios selected by `--scenario`: all of them, one embedded one
    /// by name, or a file on disk (`*.toml`).
    pub fn select_scenarios(&self, selector: Option<&str>) -> Result<Vec<Source>> {
        let Some(selector) = selector else {
            return Ok(self.scenarios());
        };
        if selector.ends_with(".toml") {
            return Ok(vec![Source::read(std::path::Path::new(selector))?]);
        }
        let all = self.scenarios();
        match all.iter().find(|s| s.name == selector) {
            Some(s) => Ok(vec![s.clone()]),
            None => Err(Error::UnknownScenario {
                track: self.name.to_string(),
                name: selector.to_string(),
                known: all
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

impl Track {
    /// The track's world, resolved from its embedded WIT (for generating
    /// code from it, or encoding a component of it).
    pub fn resolve(
        &self,
    ) -> std::result::Result<(wit_parser::Resolve, wit_parser::WorldId), String> {
        let mut resolve = wit_parser::Resolve::default();
        // Dependencies first: the track's package refers to them.
        let mut main = None;
        for (path, text) in self.wit.iter().rev() {
            let id = resolve
                .push_str(path, text)
                .map_err(|e| format!("the embedded WIT {path} does not parse: {e:#}"))?;
            main = Some(id);
        }
        let main = main.ok_or("the track has no WIT")?;
        let world = resolve
            .select_world(&[main], Some(self.world))
            .map_err(|e| format!("no world {}: {e:#}", self.world))?;
        Ok((resolve, world))
    }

    /// Writes the track's WIT under `dir` (its package, and `deps/`), as
    /// bindings generators read it; returns the files written.
    pub fn write_wit(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        write_files(dir, self.wit.iter().copied())
    }
}

/// Writes each (relative path, contents) under `dir`, making directories
/// as needed; returns the files written.
pub fn write_files<P: AsRef<Path>, T: AsRef<[u8]>>(
    dir: &Path,
    files: impl IntoIterator<Item = (P, T)>,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (path, text) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a file in a directory"))
            .and_then(|()| std::fs::write(&file, text))
            .map_err(|source| Error::Write {
                path: file.clone(),
                source,
            })?;
        written.push(file);
    }
    Ok(written)
}

/// The names a component exports, for recognising its track and for error
/// messages.
pub fn exported_names(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

// What of each track's answer the diff compares (`crate::diff::Compared`),
// for the tracks whose answer is all compared or whose compared part is one
// field; the job queue and the tweet audit say it beside their answers.

/// Every field of a rate limiter's answer is compared.
impl crate::diff::Compared for rate_limiter::model::Output {}

/// Every field of a trace collector's answer is compared.
impl crate::diff::Compared for traced::model::Output {}

/// Only the gateway's answer is compared, not the ids behind it nor what
/// the host saw while serving it (bank calls, time, crashes).
impl crate::diff::Compared for payments::model::Output {
    fn compared(&self) -> crate::diff::Tree {
        crate::diff::Tree::of(&self.answer)
    }
}
