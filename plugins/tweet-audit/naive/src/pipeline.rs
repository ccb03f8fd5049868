//! The pipeline, over the host's imports seen through [`Host`] so that it
//! also runs natively (the tests drive it over a simulated host).
//!
//! The whole run is one function, [`run`], and keeps nothing in memory
//! between calls: everything it must remember across a crash is in one
//! checkpoint record in the durable store. The steps:
//!
//! 1. Parse every file (before any import is called): a bad file ends the
//!    run with `bad-archive`, having written nothing.
//! 2. Read the checkpoint. Without one, empty the output, write the header
//!    and store a first checkpoint. With one, drop the output lines written
//!    after it, and answer at once if the run already finished (the same
//!    summary, or the same rejection).
//! 3. Take the next batch: up to min(10, max-batch) tweets that are not
//!    retweets, in archive order, fewer if one more would make the request
//!    carry more tokens than `tokens-per-minute`. Retweets on the way are
//!    counted and skipped.
//! 4. Ask the model about the batch's undecided tweets until none is left:
//!    on 429 sleep to the next minute, on 5xx back off (1 s, 2 s, 4 s, ...
//!    32 s), on 400/403 store the rejection and stop. Before sleeping, the
//!    checkpoint records when the wait ends, so a fresh instance waits too.
//! 5. Append the batch's DELETE rows, then store the checkpoint (the next
//!    tweet, the counts, the output's line count). With no batch left,
//!    store the finished summary.

use serde::{Deserialize, Serialize};

use crate::answer::{self, Decision};
use crate::archive::{self, Tweet};
use crate::csv;

/// The store key of the checkpoint.
pub const CHECKPOINT_KEY: &str = "tweet-audit-naive/checkpoint";

/// The most tweets a batch carries, whatever `max-batch` allows.
pub const BATCH: u32 = 10;

/// The longest wait a checkpoint can ask a fresh instance for (the clock
/// may have stepped back since it was stored).
const LONGEST_WAIT_MS: u64 = 60_000;

const MINUTE_MS: u64 = 60_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Criteria {
    pub forbidden_words: Vec<String>,
    pub rules: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    pub max_batch: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    ResourceExhausted,
    Unavailable(u16),
    Rejected(u16),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub tweets: u32,
    pub retweets: u32,
    pub deleted: u32,
    pub kept: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    BadArchive(String),
    ModelRejected(u16),
}

/// The imports the pipeline uses. Any of them may never return (the host
/// crashes the instance there).
pub trait Host {
    fn now_ms(&mut self) -> u64;
    fn sleep_ms(&mut self, ms: u64);
    fn log(&mut self, message: &str);
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    fn put(&mut self, key: &str, value: &[u8]);
    fn append(&mut self, line: &str);
    fn truncate(&mut self, lines: u32);
    fn limits(&mut self) -> Quota;
    fn classify(&mut self, tweets: &[Tweet]) -> Result<String, ModelError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Outcome {
    Running,
    Done,
    Rejected(u16),
}

/// What survives a crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// The first tweet (an index in archive order, retweets included) not
    /// yet accounted for.
    next: u32,
    retweets: u32,
    deleted: u32,
    kept: u32,
    /// The output's lines once the rows of every tweet before `next` are
    /// written.
    lines: u32,
    /// Transient errors in a row (reset by an answer).
    unavailable_streak: u32,
    /// No model call before this time (a 429's next minute, a backoff).
    wait_until_ms: Option<u64>,
    outcome: Outcome,
}

impl Checkpoint {
    fn fresh() -> Self {
        Checkpoint {
            next: 0,
            retweets: 0,
            deleted: 0,
            kept: 0,
            lines: 1,
            unavailable_streak: 0,
            wait_until_ms: None,
            outcome: Outcome::Running,
        }
    }

    fn summary(&self, tweets: usize) -> Summary {
        Summary {
            tweets: count(tweets),
            retweets: self.retweets,
            deleted: self.deleted,
            kept: self.kept,
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 tweets")
}

/// The wait after the `n`-th transient error in a row.
pub fn backoff_ms(n: u32) -> u64 {
    let doubling = n.saturating_sub(1).min(5);
    (1_000u64 << doubling).min(32_000)
}

/// The tokens of a request carrying `chars` characters.
pub fn tokens(chars: u64) -> u64 {
    chars.div_ceil(4)
}

/// The characters the criteria add to every request.
pub fn criteria_chars(criteria: &Criteria) -> u64 {
    criteria
        .forbidden_words
        .iter()
        .chain(&criteria.rules)
        .map(|s| s.chars().count() as u64)
        .sum()
}

/// The indices (in `tweets`) of the next batch starting at `start`, the
/// retweets passed on the way, and where the following batch starts.
/// Empty when no tweet to classify is left.
pub fn next_batch(
    tweets: &[Tweet],
    start: usize,
    quota: &Quota,
    fixed_chars: u64,
) -> (Vec<usize>, u32, usize) {
    let size = BATCH.min(quota.max_batch).max(1) as usize;
    let budget = u64::from(quota.tokens_per_minute);
    let mut batch = Vec::with_capacity(size);
    let mut retweets = 0;
    let mut chars = fixed_chars;
    let mut i = start;
    while i < tweets.len() && batch.len() < size {
        let tweet = &tweets[i];
        if tweet.is_retweet() {
            retweets += 1;
            i += 1;
            continue;
        }
        let more = chars + tweet.text.chars().count() as u64;
        if !batch.is_empty() && tokens(more) > budget {
            break;
        }
        chars = more;
        batch.push(i);
        i += 1;
    }
    (batch, retweets, i)
}

fn save(host: &mut impl Host, checkpoint: &Checkpoint) {
    let bytes = serde_json::to_vec(checkpoint).expect("a checkpoint serialises");
    host.put(CHECKPOINT_KEY, &bytes);
}

/// Sleeps until `until_ms` if the clock says it is not there yet.
fn wait_until(host: &mut impl Host, until_ms: u64) {
    let now = host.now_ms();
    if until_ms > now {
        host.sleep_ms((until_ms - now).min(LONGEST_WAIT_MS));
    }
}

/// Asks the model until every tweet of `batch` is decided; the decisions
/// in batch order, or the status of a rejection.
fn decide(
    host: &mut impl Host,
    tweets: &[Tweet],
    batch: &[usize],
    checkpoint: &mut Checkpoint,
) -> Result<Vec<Decision>, u16> {
    let mut decided: Vec<Option<Decision>> = vec![None; batch.len()];
    loop {
        let asked: Vec<usize> = (0..batch.len()).filter(|&p| decided[p].is_none()).collect();
        if asked.is_empty() {
            return Ok(decided.into_iter().flatten().collect());
        }
        let request: Vec<Tweet> = asked.iter().map(|&p| tweets[batch[p]].clone()).collect();
        match host.classify(&request) {
            Ok(text) => {
                checkpoint.unavailable_streak = 0;
                checkpoint.wait_until_ms = None;
                let answered = answer::decisions(&text);
                for &p in &asked {
                    decided[p] = answered.get(&tweets[batch[p]].id).copied();
                }
            }
            Err(ModelError::ResourceExhausted) => {
                let now = host.now_ms();
                let until = (now / MINUTE_MS + 1) * MINUTE_MS;
                checkpoint.wait_until_ms = Some(until);
                save(host, checkpoint);
                host.sleep_ms(until - now);
            }
            Err(ModelError::Unavailable(_)) => {
                checkpoint.unavailable_streak += 1;
                let wait = backoff_ms(checkpoint.unavailable_streak);
                let now = host.now_ms();
                checkpoint.wait_until_ms = Some(now + wait);
                save(host, checkpoint);
                host.sleep_ms(wait);
            }
            Err(ModelError::Rejected(status)) => return Err(status),
        }
    }
}

/// Audits the archive from the start or from the stored checkpoint.
pub fn run<H, I>(
    host: &mut H,
    files: I,
    criteria: &Criteria,
    username: &str,
) -> Result<Summary, Failure>
where
    H: Host,
    I: IntoIterator<Item = (String, String)>,
{
    let tweets = archive::parse(files).map_err(Failure::BadArchive)?;

    let mut checkpoint = match host.get(CHECKPOINT_KEY) {
        Some(bytes) => {
            let checkpoint: Checkpoint =
                serde_json::from_slice(&bytes).expect("the stored checkpoint parses");
            host.truncate(checkpoint.lines);
            checkpoint
        }
        None => {
            host.truncate(0);
            host.append(csv::HEADER);
            let checkpoint = Checkpoint::fresh();
            save(host, &checkpoint);
            checkpoint
        }
    };
    match checkpoint.outcome {
        Outcome::Done => return Ok(checkpoint.summary(tweets.len())),
        Outcome::Rejected(status) => return Err(Failure::ModelRejected(status)),
        Outcome::Running => {}
    }
    if let Some(until) = checkpoint.wait_until_ms {
        wait_until(host, until);
    }

    let quota = host.limits();
    let fixed_chars = criteria_chars(criteria);
    loop {
        let start = checkpoint.next as usize;
        let (batch, retweets, end) = next_batch(&tweets, start, &quota, fixed_chars);
        if batch.is_empty() {
            checkpoint.next = count(end);
            checkpoint.retweets += retweets;
            checkpoint.wait_until_ms = None;
            checkpoint.outcome = Outcome::Done;
            save(host, &checkpoint);
            let summary = checkpoint.summary(tweets.len());
            host.log(&format!(
                "done: {} tweets, {} retweets, {} deleted, {} kept",
                summary.tweets, summary.retweets, summary.deleted, summary.kept
            ));
            return Ok(summary);
        }
        let decisions = match decide(host, &tweets, &batch, &mut checkpoint) {
            Ok(decisions) => decisions,
            Err(status) => {
                checkpoint.wait_until_ms = None;
                checkpoint.outcome = Outcome::Rejected(status);
                save(host, &checkpoint);
                host.log(&format!("the model rejected a request with {status}"));
                return Err(Failure::ModelRejected(status));
            }
        };
        for (&i, decision) in batch.iter().zip(&decisions) {
            match decision {
                Decision::Delete => {
                    host.append(&csv::row(username, &tweets[i].id));
                    checkpoint.deleted += 1;
                    checkpoint.lines += 1;
                }
                Decision::Keep => checkpoint.kept += 1,
            }
        }
        checkpoint.next = count(end);
        checkpoint.retweets += retweets;
        save(host, &checkpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(id: &str, text: &str) -> Tweet {
        Tweet {
            id: id.to_string(),
            text: text.to_string(),
        }
    }

    const ROOMY: Quota = Quota {
        requests_per_minute: 100,
        tokens_per_minute: 1_000_000,
        max_batch: 50,
    };

    #[test]
    fn backoff_doubles_from_one_second_up_to_thirty_two() {
        let waits: Vec<u64> = (1..=9).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000, 32_000
            ]
        );
        assert_eq!(backoff_ms(u32::MAX), 32_000);
    }

    #[test]
    fn tokens_round_up_and_count_characters() {
        assert_eq!(tokens(0), 0);
        assert_eq!(tokens(1), 1);
        assert_eq!(tokens(4), 1);
        assert_eq!(tokens(5), 2);
        let criteria = Criteria {
            forbidden_words: vec!["é😀".to_string(), "ab".to_string()],
            rules: vec!["xyz".to_string()],
        };
        assert_eq!(criteria_chars(&criteria), 7);
    }

    #[test]
    fn batches_hold_ten_tweets_and_skip_retweets() {
        let mut tweets: Vec<Tweet> = (0..25).map(|i| tweet(&i.to_string(), "t")).collect();
        tweets[3].text = "RT @a: x".to_string();
        tweets[11].text = "RT @b: y".to_string();
        let (batch, retweets, end) = next_batch(&tweets, 0, &ROOMY, 0);
        assert_eq!(batch, vec![0, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!((retweets, end), (1, 11));
        let (batch, retweets, end) = next_batch(&tweets, end, &ROOMY, 0);
        assert_eq!(batch, (12..22).collect::<Vec<_>>());
        assert_eq!((retweets, end), (1, 22));
        let (batch, retweets, end) = next_batch(&tweets, end, &ROOMY, 0);
        assert_eq!(batch, vec![22, 23, 24]);
        assert_eq!((retweets, end), (0, 25));
        assert_eq!(next_batch(&tweets, end, &ROOMY, 0), (vec![], 0, 25));
    }

    #[test]
    fn trailing_retweets_are_counted_by_the_empty_batch() {
        let tweets = vec![tweet("1", "RT @a"), tweet("2", "RT @b")];
        assert_eq!(next_batch(&tweets, 0, &ROOMY, 0), (vec![], 2, 2));
    }

    #[test]
    fn batches_respect_max_batch_and_the_token_budget() {
        let tweets: Vec<Tweet> = (0..10).map(|i| tweet(&i.to_string(), "12345678")).collect();
        let small = Quota {
            max_batch: 3,
            ..ROOMY
        };
        assert_eq!(next_batch(&tweets, 0, &small, 0).0, vec![0, 1, 2]);
        // 4 fixed characters + 8 per tweet, 7 tokens: 3 tweets (28 chars).
        let tight = Quota {
            tokens_per_minute: 7,
            ..ROOMY
        };
        assert_eq!(next_batch(&tweets, 0, &tight, 4).0, vec![0, 1, 2]);
        // One tweet always goes, even over the budget (the model refuses it).
        let tiny = Quota {
            tokens_per_minute: 1,
            ..ROOMY
        };
        assert_eq!(next_batch(&tweets, 0, &tiny, 0).0, vec![0]);
        let zero = Quota {
            max_batch: 0,
            ..ROOMY
        };
        assert_eq!(next_batch(&tweets, 0, &zero, 0).0, vec![0]);
    }
}
