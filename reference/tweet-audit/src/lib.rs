//! The reference tweet-audit pipeline: the oracle every tweet-audit plugin
//! is diffed against, file line by file line.
//!
//! [`core`] is the pipeline itself, plain Rust generic over the imports
//! ([`core::Model`], [`core::Output`], [`core::Store`], [`core::Clock`])
//! and over the [`core::Rules`] a buggy plugin changes, that builds and
//! tests natively. On `wasm32`, with the `component` feature (on by
//! default), this crate is also the component exporting
//! `gauntlet:tweet-audit/pipeline`. The contract is
//! `wit/tweet-audit/tweet-audit.wit`.
//!
//! # What the reference does
//!
//! 1. **Parse** every file before any import is called: the path's file
//!    name (any directory) must be `tweets.js` / `tweets-partN.js` (content
//!    `window.YTD.tweets.partN = ` then an array of `{"tweet": {...}}`) or
//!    `tweet.js` / `tweet-partN.js` (`window.YTD.tweet.partN = `, bare
//!    tweet objects); `tweets.js` is part 0 and the prefix's N must be the
//!    file's. Whitespace may surround the `=`, and whitespace and one `;`
//!    may follow the array. Each tweet needs the strings `id_str`,
//!    `full_text` and `created_at`; other fields are skipped. The tweets
//!    borrow their strings from the files (serde into typed structs, a
//!    string copied only when it holds an escape): the large scenario's
//!    megabytes of JSON are never held twice. A bad file is
//!    `bad-archive("<path>: <why>")`.
//! 2. **Resume** from the checkpoint (see below): a finished run returns
//!    its summary again; a run under way truncates the output back to the
//!    checkpoint's line count; a first run appends the header if the file
//!    is empty and saves a first checkpoint before any row.
//! 3. **Decide locally** what needs no model: retweets (`full_text`
//!    starting "RT @") are counted and never sent; a tweet breaking a
//!    forbidden word (the WIT's whole-word rule, [`core::words`]) is
//!    DELETE.
//! 4. **Batch** the rest in archive order: up to `max-batch` tweets whose
//!    request stays within `tokens-per-minute` (tokens are ceil(chars / 4)
//!    of every forbidden word, every rule and every text), never the same
//!    id twice in one batch.
//! 5. **Pace**: the requests and tokens of the current minute are counted;
//!    a request that would overflow either sleeps to the next minute. The
//!    count is saved in the checkpoint right before each request, so a
//!    fresh instance resumed in the same minute does not overspend it.
//! 6. **Ask**: a 429 sleeps to the start of the minute after the one the
//!    answer came in; the n-th 5xx in a row sleeps min(1,000 * 2^(n-1),
//!    32,000) ms; a 400 or 403 stops with `model-rejected`. An answer
//!    decides a tweet only by an object with its id and a decision exactly
//!    "DELETE" or "KEEP" ([`core::answer`]); undecided tweets are asked
//!    again in the next batch, and decisions after them wait in memory.
//! 7. **Commit**: rows go out in archive order, as soon as every tweet
//!    before them is decided; the checkpoint saved before the next request
//!    (or the final `done` record) covers them.
//!
//! # Crashes
//!
//! The store holds one record, [`core::Checkpoint`] under
//! [`core::CHECKPOINT_KEY`] (JSON, under 200 bytes): the index of the
//! first tweet not yet decided, the output's line count up to it, the
//! counts so far and the current minute's pacing; or, once finished, the
//! summary. Rows are appended only after a checkpoint, and the next
//! checkpoint is saved only after them, so a crash at any import leaves
//! the output at most some rows past the checkpoint, which the resumed run
//! truncates away and writes again: every DELETE is in the file exactly
//! once.

pub mod core;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component {
    use crate::core;

    wit_bindgen::generate!({
        path: ["../../wit/harness", "../../wit/tweet-audit"],
        world: "gauntlet:tweet-audit/plugin",
        // The harness package is a dependency path; generate its bindings too.
        generate_all,
    });

    use exports::gauntlet::tweet_audit::pipeline::{
        ArchiveFile, AuditError, Criteria, Guest, Summary,
    };
    use gauntlet::harness::{clock, store};
    use gauntlet::tweet_audit::{model, output};

    /// The imported model.
    struct WitModel;

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
    struct WitOutput;

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
    struct WitStore;

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
    struct WitClock;

    impl core::Clock for WitClock {
        fn now_ms(&mut self) -> u64 {
            clock::now_ms()
        }

        fn sleep_ms(&mut self, ms: u64) {
            clock::sleep_ms(ms);
        }
    }

    struct Component;

    impl Guest for Component {
        fn run(
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
            core::run::<core::Reference, _, _, _, _>(&mut imports, &files, &criteria, &username)
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
    }

    export!(Component);
}
