//! The glue every buggy tweet-audit plugin shares, included by each with
//! `#[path = "../../buggy_glue.rs"] mod glue;`: the reference core, the
//! bindings, the imports as the core's [`core::Model`], [`core::Output`],
//! [`core::Store`] and [`core::Clock`], and a component that runs the core
//! under the crate's [`Bug`].
//!
//! A buggy plugin is the reference with exactly one behaviour changed, so
//! the gauntlet check that catches it has little else to report. Each crate
//! defines `struct Buggy` and implements [`core::Rules`] for it (every
//! method defaults to the reference's), overriding only what the bug
//! touches, and [`Bug`].

/// The reference's core (`reference_tweet_audit::core`), compiled into the
/// plugin from its source. Not a cargo dependency on purpose: the reference
/// crate is a `cdylib` whose glue exports the same world (the symbols would
/// clash), and a build of it without that glue would share its unhashed
/// output file names in the guest target directory with the real reference
/// component.
#[path = "../../reference/tweet-audit/src/core/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "each plugin uses part of the core's API"
)]
pub mod reference;

use reference as core;

wit_bindgen::generate!({
    path: ["../../../wit/harness", "../../../wit/tweet-audit"],
    world: "gauntlet:tweet-audit/plugin",
    // The harness package comes from its own directory.
    generate_all,
});

use exports::gauntlet::tweet_audit::pipeline::{ArchiveFile, AuditError, Criteria, Guest, Summary};
use gauntlet::harness::{clock, store};
use gauntlet::tweet_audit::{model, output};

/// One deliberate departure from the reference, as the core's rules.
pub trait Bug: core::Rules {}

// ---------------------------------------------------------------------------
// The imports as the core's traits
// ---------------------------------------------------------------------------

/// The imported model.
pub struct WitModel;

impl core::Model for WitModel {
    fn limits(&mut self) -> core::Quota {
        let q = model::limits();
        core::Quota {
            requests_per_minute: q.requests_per_minute,
            tokens_per_minute: q.tokens_per_minute,
            max_batch: q.max_batch,
        }
    }

    fn classify(
        &mut self,
        criteria: &core::Criteria,
        tweets: &[core::ModelTweet<'_>],
    ) -> Result<String, core::ModelError> {
        let criteria = model::Criteria {
            forbidden_words: criteria.forbidden_words.clone(),
            rules: criteria.rules.clone(),
        };
        let tweets: Vec<model::Tweet> = tweets
            .iter()
            .map(|t| model::Tweet {
                id: t.id.to_string(),
                text: t.text.to_string(),
            })
            .collect();
        model::classify(&criteria, &tweets).map_err(|e| match e {
            model::ModelError::ResourceExhausted => core::ModelError::ResourceExhausted,
            model::ModelError::Unavailable(status) => core::ModelError::Unavailable(status),
            model::ModelError::Rejected(status) => core::ModelError::Rejected(status),
        })
    }
}

/// The imported output file.
pub struct WitOutput;

impl core::Output for WitOutput {
    fn append(&mut self, line: &str) {
        output::append(line);
    }

    fn lines(&mut self) -> u32 {
        output::lines()
    }

    fn truncate(&mut self, lines: u32) {
        output::truncate(lines);
    }
}

/// The imported durable store.
pub struct WitStore;

impl core::Store for WitStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        store::get(key)
    }

    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), core::StoreError> {
        store::put(key, value).map_err(|e| match e {
            store::StoreError::KeyTooLarge => core::StoreError::KeyTooLarge,
            store::StoreError::ValueTooLarge => core::StoreError::ValueTooLarge,
            store::StoreError::QuotaExceeded => core::StoreError::QuotaExceeded,
        })
    }
}

/// The imported virtual clock.
pub struct WitClock;

impl core::Clock for WitClock {
    fn now_ms(&mut self) -> u64 {
        clock::now_ms()
    }

    fn sleep_ms(&mut self, ms: u64) {
        clock::sleep_ms(ms);
    }
}

// ---------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------

/// `run` under the bug's rules.
fn audit<B: Bug>(
    files: Vec<ArchiveFile>,
    criteria: Criteria,
    username: String,
) -> Result<Summary, AuditError> {
    let files: Vec<core::ArchiveFile<'_>> = files
        .iter()
        .map(|f| core::ArchiveFile {
            path: &f.path,
            content: &f.content,
        })
        .collect();
    let criteria = core::Criteria {
        forbidden_words: criteria.forbidden_words,
        rules: criteria.rules,
    };
    let mut imports = core::Imports {
        model: WitModel,
        output: WitOutput,
        store: WitStore,
        clock: WitClock,
    };
    core::run::<B, _, _, _, _>(&mut imports, &files, &criteria, &username)
        .map(|s| Summary {
            tweets: s.tweets,
            retweets: s.retweets,
            deleted: s.deleted,
            kept: s.kept,
        })
        .map_err(|e| match e {
            core::AuditError::BadArchive(why) => AuditError::BadArchive(why),
            core::AuditError::ModelRejected(status) => AuditError::ModelRejected(status),
        })
}

struct Component;

impl Guest for Component {
    fn run(
        files: Vec<ArchiveFile>,
        criteria: Criteria,
        username: String,
    ) -> Result<Summary, AuditError> {
        audit::<crate::Buggy>(files, criteria, username)
    }
}

export!(Component);
