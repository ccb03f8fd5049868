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

/// The names a component exports, for recognising its track and for error
/// messages.
pub fn exported_names(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}
