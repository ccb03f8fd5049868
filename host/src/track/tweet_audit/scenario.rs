//! The tweet-audit scenario format (see `scenarios/README.md`) and its
//! compilation: the archive (generated from the seed, plus hand-written
//! tweets and raw files), the criteria, the model's limits and faults, the
//! crashes, and a plan of one `run` (or two: a rerun after it returned).

use serde::Deserialize;
use toml::Spanned;

use super::archive::{self, Format};
use super::mock::{FaultRule, Latency, ModelFault, Quota, Storm, Trigger};
use super::model::{Criteria, Op, Summary, Truth, truths};
use crate::error::Result;
use crate::scenario::{Common, DEFAULT_START_MS, HasCommon, Source, ppm, share};
use crate::sim::{Action, Plan, SeedTree};
use crate::store::{STORE_FAULT_USAGE, StoreFault, WriteTrigger};

/// The most tweets a scenario may hold.
const MAX_TWEETS: usize = 200_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Spec {
    format: u32,
    description: String,
    seed: u64,
    #[serde(default = "default_start")]
    start_ms: u64,
    #[serde(default = "default_username")]
    username: String,
    /// How many times `run` is called (2: again after it returned).
    #[serde(default = "one")]
    runs: usize,
    /// What the run must end in; by default `model-rejected` when a fault
    /// rejects, `bad-archive` when raw files are given, else `ok`.
    expect: Option<Spanned<ExpectSpec>>,
    #[serde(default)]
    criteria: CriteriaSpec,
    #[serde(default)]
    model: ModelSpec,
    #[serde(default)]
    archive: ArchiveSpec,
    #[serde(default)]
    faults: Vec<Spanned<FaultSpec>>,
}

fn default_start() -> u64 {
    DEFAULT_START_MS
}

fn default_username() -> String {
    "ada_lovelace".to_string()
}

fn one() -> usize {
    1
}

impl HasCommon for Spec {
    fn common(&self) -> Common {
        Common {
            format: self.format,
            description: self.description.clone(),
            seed: self.seed,
            start_ms: self.start_ms,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum ExpectSpec {
    Ok,
    BadArchive,
    ModelRejected,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CriteriaSpec {
    #[serde(default = "default_words")]
    forbidden_words: Vec<String>,
    #[serde(default = "default_rules")]
    rules: Vec<String>,
}

fn default_words() -> Vec<String> {
    vec!["crypto".into(), "nft".into(), "hodl".into()]
}

fn default_rules() -> Vec<String> {
    vec![
        "complains about my employer".into(),
        "could embarrass me in a job interview".into(),
    ]
}

impl Default for CriteriaSpec {
    fn default() -> Self {
        CriteriaSpec {
            forbidden_words: default_words(),
            rules: default_rules(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ModelSpec {
    #[serde(default = "default_rpm")]
    requests_per_minute: u32,
    #[serde(default = "default_tpm")]
    tokens_per_minute: u32,
    #[serde(default = "default_batch")]
    max_batch: u32,
    #[serde(default = "default_base")]
    latency_ms: u64,
    #[serde(default = "default_per_tweet")]
    latency_per_tweet_ms: u64,
    #[serde(default = "default_jitter")]
    jitter_ms: u64,
}

fn default_rpm() -> u32 {
    60
}
fn default_tpm() -> u32 {
    60_000
}
fn default_batch() -> u32 {
    25
}
fn default_base() -> u64 {
    400
}
fn default_per_tweet() -> u64 {
    15
}
fn default_jitter() -> u64 {
    300
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            requests_per_minute: default_rpm(),
            tokens_per_minute: default_tpm(),
            max_batch: default_batch(),
            latency_ms: default_base(),
            latency_per_tweet_ms: default_per_tweet(),
            jitter_ms: default_jitter(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum FormatSpec {
    #[default]
    Current,
    Legacy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ArchiveSpec {
    #[serde(default)]
    layout: FormatSpec,
    /// Files the tweets are split into.
    #[serde(default = "one")]
    parts: usize,
    /// Tweets generated from the seed.
    #[serde(default = "default_tweets")]
    tweets: usize,
    #[serde(default = "default_retweets")]
    retweets: f64,
    /// The share of tweets holding a forbidden word.
    #[serde(default = "default_forbidden")]
    forbidden: f64,
    /// Emoji, quotes, commas, newlines and escapes in most texts.
    #[serde(default)]
    tricky: bool,
    /// Hand-written tweets, after the generated ones.
    #[serde(default)]
    tweet: Vec<TweetSpec>,
    /// Raw files, after the archive's own (to test what is not an
    /// archive part).
    #[serde(default)]
    file: Vec<FileSpec>,
}

fn default_tweets() -> usize {
    200
}
fn default_retweets() -> f64 {
    0.1
}
fn default_forbidden() -> f64 {
    0.05
}

impl Default for ArchiveSpec {
    fn default() -> Self {
        ArchiveSpec {
            layout: FormatSpec::Current,
            parts: 1,
            tweets: default_tweets(),
            retweets: default_retweets(),
            forbidden: default_forbidden(),
            tricky: false,
            tweet: Vec::new(),
            file: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TweetSpec {
    text: String,
    /// The tweet object's `retweeted` field (the contract ignores it).
    retweeted: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    path: String,
    content: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum FaultKind {
    Storm,
    Unavailable,
    Rejected,
    Malformed,
    MissingDecision,
    UnknownDecision,
    LeftOut,
    CrashAfterCall,
    CrashAfterAppend,
    CrashBeforeStoreWrite,
    CrashAfterStoreWrite,
}

/// One fault: when (`nth`, `every`, `from` or `probability` of model calls,
/// appends or store writes; a storm's `minute` and `minutes`) and, for
/// `unavailable` and `rejected`, the `status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FaultSpec {
    fault: FaultKind,
    nth: Option<u64>,
    every: Option<u64>,
    from: Option<u64>,
    probability: Option<f64>,
    status: Option<u16>,
    minute: Option<u64>,
    minutes: Option<u64>,
}

impl FaultSpec {
    fn trigger(&self) -> std::result::Result<Trigger, String> {
        let usage =
            "takes one of `nth`, `every`, `from` (model calls, from 1) or `probability` (0 to 1)";
        match (self.nth, self.every, self.from, self.probability) {
            (Some(n), None, None, None) if n >= 1 => Ok(Trigger::Nth(n)),
            (None, Some(k), None, None) if k >= 1 => Ok(Trigger::Every(k)),
            (None, None, Some(n), None) if n >= 1 => Ok(Trigger::From(n)),
            (None, None, None, Some(p)) => Ok(Trigger::Seeded {
                ppm: ppm(share(p, "probability")?),
            }),
            _ => Err(format!("a {:?} fault {usage}", self.fault)),
        }
    }
}

/// What the run must end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    BadArchive,
    ModelRejected,
}

/// A compiled scenario.
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub description: String,
    pub seed: u64,
    pub plan: Plan<Op>,
    pub username: String,
    pub criteria: Criteria,
    /// The archive as the pipeline gets it.
    pub files: Vec<archive::File>,
    /// Every tweet in archive order, with the model's decision.
    pub truths: Vec<Truth>,
    pub expect: Expect,
    pub quota: Quota,
    pub latency: Latency,
    pub model_faults: Vec<FaultRule>,
    pub storms: Vec<Storm>,
    pub append_crash: Option<Trigger>,
    pub store_faults: Vec<(WriteTrigger, StoreFault)>,
}

impl Scenario {
    pub fn load(source: &Source, seed: Option<u64>) -> Result<Self> {
        let spec: Spec = source.parse()?;
        let seed = seed.unwrap_or(spec.seed);
        let seeds = SeedTree::new(seed);
        let a = &spec.archive;
        if a.parts == 0 {
            return Err(source.error_at("parts", "an archive has at least 1 part".into()));
        }
        if a.tweets + a.tweet.len() > MAX_TWEETS {
            return Err(source.error_at(
                "tweets",
                format!("at most {MAX_TWEETS} tweets in a scenario"),
            ));
        }
        let retweet_share =
            share(a.retweets, "retweets").map_err(|m| source.error_at("retweets", m))?;
        let forbidden_share =
            share(a.forbidden, "forbidden").map_err(|m| source.error_at("forbidden", m))?;
        if !(1..=2).contains(&spec.runs) {
            return Err(source.error_at("runs", "runs is 1 or 2".into()));
        }
        let m = &spec.model;
        if m.requests_per_minute == 0 || m.tokens_per_minute == 0 || m.max_batch == 0 {
            return Err(source.error_at(
                "max-batch",
                "requests-per-minute, tokens-per-minute and max-batch are at least 1".into(),
            ));
        }
        if spec.username.contains(['\n', '\r']) {
            return Err(source.error_at("username", "a username holds no line breaks".into()));
        }
        let criteria = Criteria {
            forbidden_words: spec.criteria.forbidden_words.clone(),
            rules: spec.criteria.rules.clone(),
        };
        let mut tweets = archive::generate(
            &archive::Generate {
                tweets: a.tweets,
                retweet_share,
                forbidden_words: &criteria.forbidden_words,
                forbidden_share,
                tricky: a.tricky,
                start_ms: spec.start_ms,
            },
            &mut seeds.rng("archive"),
        );
        for (i, t) in a.tweet.iter().enumerate() {
            let mut tweet = archive::tweet_at(spec.start_ms, a.tweets + i, &t.text);
            tweet.retweeted = t.retweeted;
            tweets.push(tweet);
        }
        let format = match a.layout {
            FormatSpec::Current => Format::Current,
            FormatSpec::Legacy => Format::Legacy,
        };
        let mut files = archive::render(format, &tweets, a.parts, &mut seeds.rng("render"));
        files.extend(a.file.iter().map(|f| archive::File {
            path: f.path.clone(),
            content: f.content.clone(),
        }));

        let mut model_faults = Vec::new();
        let mut storms = Vec::new();
        let mut append_crash = None;
        let mut store_faults = Vec::new();
        let mut rejects = false;
        for f in &spec.faults {
            let err = |m: String| source.error_at_span(f.span(), m);
            let f = f.get_ref();
            if f.status.is_some()
                && !matches!(f.fault, FaultKind::Unavailable | FaultKind::Rejected)
            {
                return Err(err("only `unavailable` and `rejected` take a status".into()));
            }
            let model = |fault: ModelFault| -> Result<FaultRule> {
                Ok(FaultRule {
                    trigger: f.trigger().map_err(err)?,
                    fault,
                })
            };
            match f.fault {
                FaultKind::Storm => {
                    let (Some(first), Some(minutes), None, None, None, None) =
                        (f.minute, f.minutes, f.nth, f.every, f.from, f.probability)
                    else {
                        return Err(err(
                            "a storm takes `minute` (from 0, the scenario's first minute) and `minutes`"
                                .into(),
                        ));
                    };
                    storms.push(Storm { first, minutes });
                }
                FaultKind::Unavailable => {
                    if let Some(s) = f.status
                        && ![500, 503, 504].contains(&s)
                    {
                        return Err(err("an unavailable status is 500, 503 or 504".into()));
                    }
                    model_faults.push(model(ModelFault::Unavailable(f.status))?);
                }
                FaultKind::Rejected => {
                    let status = f.status.unwrap_or(403);
                    if ![400, 403].contains(&status) {
                        return Err(err("a rejected status is 400 or 403".into()));
                    }
                    rejects = true;
                    model_faults.push(model(ModelFault::Rejected(status))?);
                }
                FaultKind::Malformed => model_faults.push(model(ModelFault::Malformed)?),
                FaultKind::MissingDecision => {
                    model_faults.push(model(ModelFault::MissingDecision)?)
                }
                FaultKind::UnknownDecision => {
                    model_faults.push(model(ModelFault::UnknownDecision)?)
                }
                FaultKind::LeftOut => model_faults.push(model(ModelFault::LeftOut)?),
                FaultKind::CrashAfterCall => model_faults.push(model(ModelFault::CrashAfterCall)?),
                FaultKind::CrashAfterAppend => {
                    append_crash = Some(f.trigger().map_err(err)?);
                }
                FaultKind::CrashBeforeStoreWrite | FaultKind::CrashAfterStoreWrite => {
                    let trigger = WriteTrigger::from_spec(f.nth, f.probability)
                        .filter(|_| f.every.is_none() && f.from.is_none())
                        .ok_or_else(|| err(STORE_FAULT_USAGE.into()))?;
                    let fault = if f.fault == FaultKind::CrashBeforeStoreWrite {
                        StoreFault::CrashBeforeWrite
                    } else {
                        StoreFault::CrashAfterWrite
                    };
                    store_faults.push((trigger, fault));
                }
            }
        }
        let expect = match spec.expect.as_ref().map(|e| *e.get_ref()) {
            Some(ExpectSpec::Ok) => Expect::Ok,
            Some(ExpectSpec::BadArchive) => Expect::BadArchive,
            Some(ExpectSpec::ModelRejected) => Expect::ModelRejected,
            None if rejects => Expect::ModelRejected,
            None if !a.file.is_empty() => Expect::BadArchive,
            None => Expect::Ok,
        };
        let op = Op {
            files: files.len(),
            tweets: tweets.len(),
        };
        let mut actions = vec![Action::Call(op.clone())];
        if spec.runs == 2 {
            actions.push(Action::Advance(60_000));
            actions.push(Action::Call(op));
        }
        Ok(Scenario {
            name: source.name.clone(),
            file: source.file.clone(),
            description: spec.description.clone(),
            seed,
            plan: Plan {
                start_ms: spec.start_ms,
                actions,
            },
            username: spec.username.clone(),
            truths: truths(&tweets, &criteria),
            criteria,
            files,
            expect,
            quota: Quota {
                requests_per_minute: m.requests_per_minute,
                tokens_per_minute: m.tokens_per_minute,
                max_batch: m.max_batch,
            },
            latency: Latency {
                base_ms: m.latency_ms,
                per_tweet_ms: m.latency_per_tweet_ms,
                jitter_ms: m.jitter_ms,
            },
            model_faults,
            storms,
            append_crash,
            store_faults,
        })
    }

    /// The tweets the pipeline must send or decide: every non-retweet.
    pub fn classifiable(&self) -> usize {
        self.truths.iter().filter(|t| t.decision.is_some()).count()
    }

    /// The summary a correct pipeline returns.
    pub fn summary(&self) -> Summary {
        let n = |f: &dyn Fn(&Truth) -> bool| self.truths.iter().filter(|t| f(t)).count() as u32;
        Summary {
            tweets: self.truths.len() as u32,
            retweets: n(&|t| t.decision.is_none()),
            deleted: n(&|t| t.decision.as_ref().is_some_and(|d| d.deletes())),
            kept: n(&|t| t.decision.as_ref().is_some_and(|d| !d.deletes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Scenario> {
        Scenario::load(
            &Source {
                name: "t".into(),
                file: "t.toml".into(),
                text: text.into(),
            },
            None,
        )
    }

    const HEAD: &str = "format = 1\ndescription = \"d\"\nseed = 1\n";

    #[test]
    fn defaults_make_a_small_archive_and_one_run() {
        let s = load(HEAD).unwrap();
        assert_eq!(s.truths.len(), 200);
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.plan.call_count(), 1);
        assert_eq!(s.expect, Expect::Ok);
        assert_eq!(s.quota.max_batch, 25);
    }

    #[test]
    fn hand_written_tweets_and_raw_files_come_last() {
        let s = load(&format!(
            "{HEAD}[archive]\ntweets = 3\n[[archive.tweet]]\ntext = \"RT @x: hi\"\n[[archive.file]]\npath = \"data/like.js\"\ncontent = \"window.YTD.like.part0 = []\"\n"
        ))
        .unwrap();
        assert_eq!(s.truths.len(), 4);
        assert!(s.truths[3].decision.is_none(), "a retweet is never judged");
        assert_eq!(s.files.last().unwrap().path, "data/like.js");
        assert_eq!(s.expect, Expect::BadArchive);
    }

    #[test]
    fn bad_faults_are_refused_with_their_line() {
        let e = load(&format!("{HEAD}[[faults]]\nfault = \"malformed\"\n"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("t.toml:4") && e.contains("nth"), "{e}");
        let e = load(&format!(
            "{HEAD}[[faults]]\nfault = \"rejected\"\nstatus = 401\nfrom = 1\n"
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("400 or 403"), "{e}");
        let e = load(&format!("{HEAD}[[faults]]\nfault = \"storm\"\nnth = 1\n"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("minute"), "{e}");
    }

    #[test]
    fn a_rejection_means_the_run_must_end_rejected() {
        let s = load(&format!(
            "{HEAD}[[faults]]\nfault = \"rejected\"\nfrom = 1\n"
        ))
        .unwrap();
        assert_eq!(s.expect, Expect::ModelRejected);
        assert_eq!(s.model_faults[0].fault, ModelFault::Rejected(403));
    }
}
