//! A correct but naive tweet-audit pipeline, written from the WIT
//! specification alone (it shares no code with the reference).
//!
//! It parses the whole archive first, then sends fixed batches of up to ten
//! tweets in archive order, one request at a time, with no pacing of its
//! own: it learns the rate limit from the 429s it gets. It asks the model
//! about every tweet that is not a retweet (no local forbidden-word
//! shortcut), and stores a checkpoint after every batch. The logic is in
//! [`pipeline`] (with [`archive`], [`answer`] and [`csv`]), free of the
//! bindings, so it also runs (and is unit-tested) natively.

pub mod answer;
pub mod archive;
pub mod csv;
pub mod pipeline;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::archive::Tweet;
    use crate::pipeline::{self, Failure, Host, ModelError as Refusal, Quota};

    wit_bindgen::generate!({
        path: ["../../../wit/harness", "../../../wit/tweet-audit"],
        world: "gauntlet:tweet-audit/plugin",
        // The harness package comes from its own directory.
        generate_all,
    });

    use exports::gauntlet::tweet_audit::pipeline::{
        ArchiveFile, AuditError, Criteria, Guest, Summary,
    };
    use gauntlet::harness::{clock, log, store};
    use gauntlet::tweet_audit::{model, output};

    /// The imports, with the criteria every request carries.
    struct Imports {
        criteria: Criteria,
    }

    impl Host for Imports {
        fn now_ms(&mut self) -> u64 {
            clock::now_ms()
        }

        fn sleep_ms(&mut self, ms: u64) {
            clock::sleep_ms(ms);
        }

        fn log(&mut self, message: &str) {
            log::log(log::Level::Info, message);
        }

        fn get(&mut self, key: &str) -> Option<Vec<u8>> {
            store::get(key)
        }

        fn put(&mut self, key: &str, value: &[u8]) {
            if let Err(e) = store::put(key, value) {
                panic!("failed to store the checkpoint: {e:?}");
            }
        }

        fn append(&mut self, line: &str) {
            output::append(line);
        }

        fn truncate(&mut self, lines: u32) {
            output::truncate(lines);
        }

        fn limits(&mut self) -> Quota {
            let q = model::limits();
            Quota {
                requests_per_minute: q.requests_per_minute,
                tokens_per_minute: q.tokens_per_minute,
                max_batch: q.max_batch,
            }
        }

        fn classify(&mut self, tweets: &[Tweet]) -> Result<String, Refusal> {
            let tweets: Vec<model::Tweet> = tweets
                .iter()
                .map(|t| model::Tweet {
                    id: t.id.clone(),
                    text: t.text.clone(),
                })
                .collect();
            model::classify(&self.criteria, &tweets).map_err(|e| match e {
                model::ModelError::ResourceExhausted => Refusal::ResourceExhausted,
                model::ModelError::Unavailable(status) => Refusal::Unavailable(status),
                model::ModelError::Rejected(status) => Refusal::Rejected(status),
            })
        }
    }

    struct Naive;

    impl Guest for Naive {
        fn run(
            files: Vec<ArchiveFile>,
            criteria: Criteria,
            username: String,
        ) -> Result<Summary, AuditError> {
            let ours = pipeline::Criteria {
                forbidden_words: criteria.forbidden_words.clone(),
                rules: criteria.rules.clone(),
            };
            let mut imports = Imports { criteria };
            let files = files.into_iter().map(|f| (f.path, f.content));
            match pipeline::run(&mut imports, files, &ours, &username) {
                Ok(s) => Ok(Summary {
                    tweets: s.tweets,
                    retweets: s.retweets,
                    deleted: s.deleted,
                    kept: s.kept,
                }),
                Err(Failure::BadArchive(why)) => Err(AuditError::BadArchive(why)),
                Err(Failure::ModelRejected(status)) => Err(AuditError::ModelRejected(status)),
            }
        }
    }

    export!(Naive);
}
