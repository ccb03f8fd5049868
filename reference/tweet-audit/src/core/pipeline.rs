//! The run loop: resume, decide what is local, batch, pace, ask, commit.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use super::archive::{self, Tweet};
use super::checkpoint::{CHECKPOINT_KEY, Checkpoint, Done, Progress};
use super::csv::HEADER;
use super::types::{
    Action, ArchiveFile, AuditError, Clock, Criteria, Decision, Imports, MINUTE_MS, Model,
    ModelError, ModelTweet, Output, Quota, Rules, Store, Summary, to_next_minute,
};
use super::words::ForbiddenWords;

/// Audits the archive under the reference's rules ([`super::Reference`])
/// or a plugin's: parses every file (a bad one is `bad-archive` before any
/// import is called), then resumes from the checkpoint, if any, and runs to
/// the end.
pub fn run<R: Rules, M: Model, O: Output, S: Store, C: Clock>(
    imports: &mut Imports<M, O, S, C>,
    files: &[ArchiveFile<'_>],
    criteria: &Criteria,
    username: &str,
) -> Result<Summary, AuditError> {
    let tweets = archive::parse(files).map_err(AuditError::BadArchive)?;
    Pipeline::<R, M, O, S, C>::new(imports, &tweets, criteria, username).run()
}

/// What is known of a tweet at or after the checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Retweet,
    Decided(Decision),
    /// Only the model can decide it.
    Ask,
}

struct Pipeline<'p, 'a, R, M, O, S, C> {
    imports: &'p mut Imports<M, O, S, C>,
    tweets: &'p [Tweet<'a>],
    criteria: &'p Criteria,
    username: &'p str,
    /// Per tweet from the checkpoint on (before it: unused).
    states: Vec<State>,
    /// Characters of each text to ask about (0 for the others).
    chars: Vec<u32>,
    /// Characters of every forbidden word and rule (in every request).
    criteria_chars: u64,
    retweets: u32,
    /// Progress as of the last answer (rows appended up to here).
    progress: Progress,
    /// Progress as last recorded in the store.
    recorded: Progress,
    quota: Option<Quota>,
    /// Errors in a row that were not 429.
    streak: u32,
    /// Batches answered by this instance.
    answered: u64,
    rules: PhantomData<R>,
}

impl<'p, 'a, R: Rules, M: Model, O: Output, S: Store, C: Clock> Pipeline<'p, 'a, R, M, O, S, C> {
    fn new(
        imports: &'p mut Imports<M, O, S, C>,
        tweets: &'p [Tweet<'a>],
        criteria: &'p Criteria,
        username: &'p str,
    ) -> Self {
        let criteria_chars = criteria
            .forbidden_words
            .iter()
            .chain(&criteria.rules)
            .map(|s| s.chars().count() as u64)
            .sum();
        Pipeline {
            imports,
            tweets,
            criteria,
            username,
            states: Vec::new(),
            chars: Vec::new(),
            criteria_chars,
            retweets: count(tweets.iter().filter(|t| R::is_retweet(t)).count()),
            progress: Progress::default(),
            recorded: Progress::default(),
            quota: None,
            streak: 0,
            answered: 0,
            rules: PhantomData,
        }
    }

    fn run(mut self) -> Result<Summary, AuditError> {
        if let Some(done) = self.resume() {
            return Ok(done.summary());
        }
        self.classify_locally();
        loop {
            self.advance();
            if self.progress.next as usize >= self.tweets.len() {
                return Ok(self.finish());
            }
            let batch = self.batch();
            let decisions = self.ask(&batch)?;
            for (&i, decision) in batch.iter().zip(decisions) {
                if let Some(decision) = decision {
                    self.states[i] = State::Decided(decision);
                }
            }
            self.answered += 1;
        }
    }

    /// Reads the checkpoint: a finished run's record, or where to go on
    /// from (the output truncated back to it). Without one, starts the
    /// output (the header, if the file is empty) and records the start.
    fn resume(&mut self) -> Option<Done> {
        let saved = self.imports.store.get(CHECKPOINT_KEY).map(|bytes| {
            Checkpoint::from_bytes(&bytes).expect("the stored checkpoint is not this pipeline's")
        });
        match saved {
            Some(Checkpoint::Done(done)) if R::remembers_done() => Some(done),
            Some(Checkpoint::Done(_)) => {
                // Starting over: back to the header alone.
                self.imports.output.truncate(1);
                self.progress = Progress {
                    lines: 1,
                    ..Progress::default()
                };
                self.recorded = self.progress;
                None
            }
            Some(Checkpoint::Progress(progress)) => {
                if R::truncates_on_resume() {
                    self.imports.output.truncate(progress.lines);
                }
                self.progress = progress;
                self.recorded = progress;
                None
            }
            None => {
                let mut lines = self.imports.output.lines();
                if lines == 0 {
                    self.imports.output.append(HEADER);
                    lines = 1;
                }
                self.progress = Progress {
                    lines,
                    ..Progress::default()
                };
                self.recorded = self.progress;
                self.put(Checkpoint::Progress(self.progress));
                None
            }
        }
    }

    /// Decides retweets and forbidden words, from the checkpoint on.
    fn classify_locally(&mut self) {
        let words = ForbiddenWords::new(&self.criteria.forbidden_words);
        let from = (self.progress.next as usize).min(self.tweets.len());
        self.states = vec![State::Ask; self.tweets.len()];
        self.chars = vec![0; self.tweets.len()];
        for (i, tweet) in self.tweets.iter().enumerate().skip(from) {
            self.states[i] = if R::is_retweet(tweet) {
                State::Retweet
            } else if words.matches(&tweet.text) {
                State::Decided(Decision::Delete)
            } else {
                self.chars[i] = count(tweet.text.chars().count());
                State::Ask
            };
        }
    }

    /// Moves `next` past every decided tweet, appending their rows.
    fn advance(&mut self) {
        while let Some(&state) = self.states.get(self.progress.next as usize) {
            match state {
                State::Ask => break,
                State::Retweet => {}
                State::Decided(Decision::Keep) => self.progress.kept += 1,
                State::Decided(Decision::Delete) => {
                    let id = &self.tweets[self.progress.next as usize].id;
                    self.imports.output.append(&R::row(self.username, id));
                    self.progress.lines += 1;
                    self.progress.deleted += 1;
                }
            }
            self.progress.next += 1;
        }
    }

    /// Records the end; the summary.
    fn finish(&mut self) -> Summary {
        let done = Done {
            tweets: count(self.tweets.len()),
            retweets: self.retweets,
            deleted: self.progress.deleted,
            kept: self.progress.kept,
            lines: self.progress.lines,
        };
        self.put(Checkpoint::Done(done));
        done.summary()
    }

    fn quota(&mut self) -> Quota {
        *self
            .quota
            .get_or_insert_with(|| self.imports.model.limits())
    }

    /// The next batch: undecided tweets from `next` on, in archive order,
    /// at most `max-batch` (at least one), whose request stays within
    /// `tokens-per-minute` (a single tweet over it is sent alone, and
    /// rejected), with no id twice (an answer names tweets by id).
    fn batch(&mut self) -> Vec<usize> {
        let quota = self.quota();
        let max_batch = R::batch_size(quota.max_batch).clamp(1, quota.max_batch.max(1) as usize);
        let mut batch = Vec::new();
        let mut ids = BTreeSet::new();
        let mut chars = self.criteria_chars;
        let start = self.progress.next as usize;
        for i in start..self.tweets.len() {
            if self.states[i] != State::Ask {
                continue;
            }
            let with = chars + u64::from(self.chars[i]);
            if !batch.is_empty()
                && (batch.len() >= max_batch
                    || tokens(with) > u64::from(quota.tokens_per_minute)
                    || ids.contains(self.tweets[i].id.as_ref()))
            {
                break;
            }
            ids.insert(self.tweets[i].id.as_ref());
            batch.push(i);
            chars = with;
        }
        batch
    }

    /// Asks the model about `batch` until it answers, pacing each request
    /// and waiting after each error as the rules say.
    fn ask(&mut self, batch: &[usize]) -> Result<Vec<Option<Decision>>, AuditError> {
        let tweets: Vec<ModelTweet<'_>> = batch
            .iter()
            .map(|&i| ModelTweet {
                id: &self.tweets[i].id,
                text: &self.tweets[i].text,
            })
            .collect();
        let chars =
            self.criteria_chars + batch.iter().map(|&i| u64::from(self.chars[i])).sum::<u64>();
        let tokens = tokens(chars);
        loop {
            self.pace(tokens);
            match self.imports.model.classify(self.criteria, &tweets) {
                Ok(text) => {
                    self.streak = 0;
                    let ids: Vec<&str> = tweets.iter().map(|t| t.id).collect();
                    return Ok(R::decide(&text, &ids));
                }
                Err(error) => {
                    let now = self.imports.clock.now_ms();
                    if error == ModelError::ResourceExhausted {
                        self.streak = 0;
                    } else {
                        self.streak += 1;
                    }
                    match R::on_model_error(error, self.streak, now) {
                        Action::Wait(0) => {}
                        Action::Wait(ms) => self.imports.clock.sleep_ms(ms),
                        Action::Stop(status) => return Err(AuditError::ModelRejected(status)),
                    }
                }
            }
        }
    }

    /// Waits until a request of `tokens` fits the current minute's quota,
    /// counts it there, and saves the checkpoint (the progress so far and
    /// that count) right before the request is sent.
    fn pace(&mut self, tokens: u64) {
        let quota = self.quota();
        let rpm = u64::from(quota.requests_per_minute);
        let tpm = u64::from(quota.tokens_per_minute);
        let mut now = self.imports.clock.now_ms();
        loop {
            let minute = now / MINUTE_MS;
            if minute != self.progress.minute {
                self.progress.minute = minute;
                self.progress.requests = 0;
                self.progress.tokens = 0;
            }
            let fits =
                u64::from(self.progress.requests) < rpm && self.progress.tokens + tokens <= tpm;
            // A request no minute can hold is sent at once (and refused).
            let never_fits = rpm == 0 || tokens > tpm;
            if !fits && !never_fits {
                self.imports.clock.sleep_ms(to_next_minute(now));
                now = self.imports.clock.now_ms();
                continue;
            }
            self.progress.requests += 1;
            self.progress.tokens += tokens;
            self.save();
            // The save may have taken time: count the request in the
            // minute it is really sent in.
            now = self.imports.clock.now_ms();
            if now / MINUTE_MS == minute {
                return;
            }
        }
    }

    /// Saves the progress (as far as the rules record it) and the pacing.
    fn save(&mut self) {
        if R::records_progress(self.answered) {
            self.recorded = self.progress;
        }
        let checkpoint = Progress {
            minute: self.progress.minute,
            requests: self.progress.requests,
            tokens: self.progress.tokens,
            ..self.recorded
        };
        self.put(Checkpoint::Progress(checkpoint));
    }

    fn put(&mut self, checkpoint: Checkpoint) {
        if let Err(error) = self
            .imports
            .store
            .put(CHECKPOINT_KEY, &checkpoint.to_bytes())
        {
            // The store refusing a record of 100 bytes leaves no way to
            // keep the contract: trap.
            panic!("failed to save the checkpoint: {error}");
        }
    }
}

/// The tokens of a request carrying `chars` characters.
pub fn tokens(chars: u64) -> u64 {
    chars.div_ceil(4)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
