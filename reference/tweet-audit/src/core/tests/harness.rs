//! The native test environment: a fake model (a truthful judge with the
//! API's limits, scripted errors and bad answers, and latency), an output
//! file, a durable store and a virtual clock, all shared through `Rc` so
//! that they survive a crash of the pipeline. Every import call can be
//! made to crash the pipeline right before it (nothing happens) or right
//! after it (it happened, its result is lost): a panic with a [`Crash`]
//! payload, caught by the test, which then runs a fresh pipeline over the
//! same store, output, model and clock, as the host does.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;

use crate::core::{
    ArchiveFile, AuditError, Clock, Criteria, Imports, MINUTE_MS, Model, ModelError, ModelTweet,
    Output, Quota, Reference, Rules, Store, StoreError, Summary, run, tokens, words,
};

/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600_000;

/// The model's default latency.
pub const LATENCY_MS: u64 = 700;

// ---------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------

/// The payload of a simulated crash.
pub struct Crash;

/// Counts crash points: each import call has two (before it, after it).
/// Can crash the pipeline at given points.
#[derive(Clone, Default)]
pub struct Points {
    count: Rc<Cell<u64>>,
    crash_at: Rc<RefCell<BTreeSet<u64>>>,
    /// Names of the import calls, in order (for failure messages).
    log: Rc<RefCell<Vec<&'static str>>>,
}

impl Points {
    /// Crash points passed so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// Crash at the point `n` (counted from the start of the test).
    pub fn crash_at(&self, n: u64) {
        self.crash_at.borrow_mut().insert(n);
    }

    /// Crash at no point still to come.
    pub fn clear(&self) {
        self.crash_at.borrow_mut().clear();
    }

    /// The import calls so far, by name.
    pub fn calls(&self) -> Vec<&'static str> {
        self.log.borrow().clone()
    }

    fn point(&self) {
        let n = self.count.get();
        self.count.set(n + 1);
        if self.crash_at.borrow_mut().remove(&n) {
            crash();
        }
    }

    /// Around one import call named `name`.
    fn call<T>(&self, name: &'static str, f: impl FnOnce() -> T) -> T {
        self.point();
        self.log.borrow_mut().push(name);
        let value = f();
        self.point();
        value
    }
}

pub fn crash() -> ! {
    quiet_crashes();
    panic::panic_any(Crash)
}

fn quiet_crashes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Crash>().is_none() {
                default(info);
            }
        }));
    });
}

/// Runs `f`; `None` if the pipeline crashed (any other panic propagates).
pub fn catch_crash<T>(f: impl FnOnce() -> T) -> Option<T> {
    quiet_crashes();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) if payload.downcast_ref::<Crash>().is_some() => None,
        Err(payload) => panic::resume_unwind(payload),
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// What the fake model does with one request (besides its own limits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Every tweet, truthfully.
    Truth,
    /// Text that is not JSON.
    Malformed,
    /// The array without the tweet at this position.
    Omit(usize),
    /// The tweet at this position without a `decision`.
    NoDecision(usize),
    /// The tweet at this position with `"decision": "MAYBE"`.
    Unknown(usize),
    /// The tweet at this position with `"decision": "delete"` (lowercase).
    Lowercase(usize),
    /// This error instead of an answer.
    Error(ModelError),
}

/// One request the model received.
#[derive(Clone, Debug)]
pub struct Call {
    pub at_ms: u64,
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    pub tokens: u64,
    pub result: Result<(), ModelError>,
    /// A 429 the pipeline caused by overspending the minute (not a storm).
    pub overspent: bool,
}

pub struct ModelState {
    pub quota: Quota,
    pub latency_ms: u64,
    /// What request `n` (0-based, over the whole test) gets; past the end,
    /// `Truth`.
    pub script: Vec<Answer>,
    /// Minutes in which every request gets 429.
    pub storm_minutes: BTreeSet<u64>,
    pub calls: Vec<Call>,
    pub limits_calls: u32,
    /// Crash the pipeline inside every n-th request (after the model
    /// counted it, before the pipeline sees the answer), as the host's
    /// `crash-every-3rd-call` scenario does.
    pub crash_every: Option<usize>,
    /// Requests and tokens counted per minute (429s count for neither).
    used: BTreeMap<u64, (u32, u64)>,
}

#[derive(Clone)]
pub struct FakeModel {
    pub state: Rc<RefCell<ModelState>>,
    clock: FakeClock,
    points: Points,
}

/// The truth: a tweet is DELETE if it breaks a forbidden word or holds
/// "#bad" (the free-form rule of these tests).
pub fn truth(text: &str, criteria: &Criteria) -> bool {
    words::ForbiddenWords::new(&criteria.forbidden_words).matches(text) || text.contains("#bad")
}

impl Model for FakeModel {
    fn limits(&mut self) -> Quota {
        let state = self.state.clone();
        self.points.call("limits", || {
            let mut state = state.borrow_mut();
            state.limits_calls += 1;
            state.quota
        })
    }

    fn classify(
        &mut self,
        criteria: &Criteria,
        tweets: &[ModelTweet<'_>],
    ) -> Result<String, ModelError> {
        let state = self.state.clone();
        let clock = self.clock.clone();
        let result = self.points.call("classify", || {
            let mut state = state.borrow_mut();
            let now = clock.now.get();
            let minute = now / MINUTE_MS;
            let request_tokens = tokens(
                criteria
                    .forbidden_words
                    .iter()
                    .chain(&criteria.rules)
                    .map(|s| s.chars().count() as u64)
                    .sum::<u64>()
                    + tweets
                        .iter()
                        .map(|t| t.text.chars().count() as u64)
                        .sum::<u64>(),
            );
            let n = state.calls.len();
            let scripted = state.script.get(n).cloned().unwrap_or(Answer::Truth);
            let (requests, used_tokens) = state.used.get(&minute).copied().unwrap_or((0, 0));
            let quota = state.quota;
            let mut overspent = false;
            let result: Result<String, ModelError> = if tweets.is_empty()
                || tweets.len() > quota.max_batch as usize
                || request_tokens > u64::from(quota.tokens_per_minute)
            {
                Err(ModelError::Rejected(400))
            } else if state.storm_minutes.contains(&minute) {
                Err(ModelError::ResourceExhausted)
            } else if requests >= quota.requests_per_minute
                || used_tokens + request_tokens > u64::from(quota.tokens_per_minute)
            {
                overspent = true;
                Err(ModelError::ResourceExhausted)
            } else {
                match scripted {
                    Answer::Error(e) => Err(e),
                    answer => Ok(answer_text(&answer, tweets, criteria)),
                }
            };
            if result != Err(ModelError::ResourceExhausted) {
                let entry = state.used.entry(minute).or_default();
                entry.0 += 1;
                entry.1 += request_tokens;
            }
            state.calls.push(Call {
                at_ms: now,
                ids: tweets.iter().map(|t| t.id.to_string()).collect(),
                texts: tweets.iter().map(|t| t.text.to_string()).collect(),
                tokens: request_tokens,
                result: result.as_ref().map(|_| ()).map_err(|e| *e),
                overspent,
            });
            let latency = state.latency_ms;
            drop(state);
            clock.now.set(now + latency);
            result
        });
        let crashes = {
            let state = self.state.borrow();
            state
                .crash_every
                .is_some_and(|n| state.calls.len().is_multiple_of(n))
        };
        if crashes {
            crash();
        }
        result
    }
}

fn answer_text(answer: &Answer, tweets: &[ModelTweet<'_>], criteria: &Criteria) -> String {
    if *answer == Answer::Malformed {
        return "[{\"id\": \"1\", \"decision\": \"DEL".to_string();
    }
    let mut items = Vec::new();
    for (i, tweet) in tweets.iter().enumerate() {
        let decision = if truth(tweet.text, criteria) {
            "DELETE"
        } else {
            "KEEP"
        };
        let item = match answer {
            Answer::Omit(at) if *at == i => continue,
            Answer::NoDecision(at) if *at == i => {
                serde_json::json!({"id": tweet.id, "reason": "unsure"})
            }
            Answer::Unknown(at) if *at == i => {
                serde_json::json!({"id": tweet.id, "decision": "MAYBE", "reason": "unsure"})
            }
            Answer::Lowercase(at) if *at == i => {
                serde_json::json!({"id": tweet.id, "decision": decision.to_lowercase()})
            }
            _ => serde_json::json!({"id": tweet.id, "decision": decision, "reason": "because"}),
        };
        items.push(item);
    }
    // Any order: reversed.
    items.reverse();
    serde_json::to_string(&items).unwrap()
}

// ---------------------------------------------------------------------------
// The output, the store, the clock
// ---------------------------------------------------------------------------

#[derive(Clone)]
pub struct FakeOutput {
    pub lines: Rc<RefCell<Vec<String>>>,
    points: Points,
}

impl Output for FakeOutput {
    fn append(&mut self, line: &str) {
        assert!(line.len() <= 4096, "a line longer than 4 KiB traps");
        let lines = self.lines.clone();
        self.points
            .call("append", || lines.borrow_mut().push(line.to_string()));
    }

    fn lines(&mut self) -> u32 {
        let lines = self.lines.clone();
        self.points.call("lines", || lines.borrow().len() as u32)
    }

    fn truncate(&mut self, n: u32) {
        let lines = self.lines.clone();
        self.points
            .call("truncate", || lines.borrow_mut().truncate(n as usize));
    }
}

#[derive(Clone)]
pub struct FakeStore {
    pub map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    points: Points,
}

impl Store for FakeStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let map = self.map.clone();
        self.points.call("get", || map.borrow().get(key).cloned())
    }

    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let map = self.map.clone();
        self.points.call("put", || {
            if key.len() > 1024 {
                return Err(StoreError::KeyTooLarge);
            }
            if value.len() > 64 * 1024 {
                return Err(StoreError::ValueTooLarge);
            }
            map.borrow_mut().insert(key.to_string(), value.to_vec());
            Ok(())
        })
    }
}

#[derive(Clone)]
pub struct FakeClock {
    pub now: Rc<Cell<u64>>,
    pub sleeps: Rc<RefCell<Vec<(u64, u64)>>>,
    points: Points,
}

impl Clock for FakeClock {
    fn now_ms(&mut self) -> u64 {
        let now = self.now.clone();
        self.points.call("now-ms", || now.get())
    }

    fn sleep_ms(&mut self, ms: u64) {
        let now = self.now.clone();
        let sleeps = self.sleeps.clone();
        self.points.call("sleep-ms", || {
            sleeps.borrow_mut().push((now.get(), ms));
            now.set(now.get() + ms);
        });
    }
}

// ---------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------

pub type TestImports = Imports<FakeModel, FakeOutput, FakeStore, FakeClock>;

/// What survives a crash: everything but the pipeline.
pub struct Env {
    pub model: FakeModel,
    pub output: FakeOutput,
    pub store: FakeStore,
    pub clock: FakeClock,
    pub points: Points,
}

/// A generous quota: 60 requests and 100,000 tokens a minute, 10 tweets a
/// request.
pub const QUOTA: Quota = Quota {
    requests_per_minute: 60,
    tokens_per_minute: 100_000,
    max_batch: 10,
};

impl Env {
    pub fn new() -> Env {
        Env::with_quota(QUOTA)
    }

    pub fn with_quota(quota: Quota) -> Env {
        let points = Points::default();
        let clock = FakeClock {
            now: Rc::new(Cell::new(T0)),
            sleeps: Rc::default(),
            points: points.clone(),
        };
        Env {
            model: FakeModel {
                state: Rc::new(RefCell::new(ModelState {
                    quota,
                    latency_ms: LATENCY_MS,
                    script: Vec::new(),
                    storm_minutes: BTreeSet::new(),
                    calls: Vec::new(),
                    limits_calls: 0,
                    crash_every: None,
                    used: BTreeMap::new(),
                })),
                clock: clock.clone(),
                points: points.clone(),
            },
            output: FakeOutput {
                lines: Rc::default(),
                points: points.clone(),
            },
            store: FakeStore {
                map: Rc::default(),
                points: points.clone(),
            },
            clock,
            points,
        }
    }

    pub fn script(&self, script: Vec<Answer>) {
        self.model.state.borrow_mut().script = script;
    }

    /// Imports for a fresh pipeline over this environment.
    pub fn imports(&self) -> TestImports {
        Imports {
            model: self.model.clone(),
            output: self.output.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }

    /// One `run` under the reference's rules; `None` if it crashed.
    pub fn run(&self, archive: &Archive) -> Option<Result<Summary, AuditError>> {
        self.run_with::<Reference>(archive)
    }

    pub fn run_with<R: Rules>(&self, archive: &Archive) -> Option<Result<Summary, AuditError>> {
        let files: Vec<ArchiveFile<'_>> = archive
            .files
            .iter()
            .map(|(path, content)| ArchiveFile { path, content })
            .collect();
        let mut imports = self.imports();
        catch_crash(|| {
            run::<R, _, _, _, _>(&mut imports, &files, &archive.criteria, &archive.username)
        })
    }

    /// `run` again after every crash until it returns (at most `limit`
    /// runs); the result and the crashes.
    pub fn run_to_end_with<R: Rules>(
        &self,
        archive: &Archive,
        limit: u32,
    ) -> (Result<Summary, AuditError>, u32) {
        for crashes in 0..limit {
            if let Some(result) = self.run_with::<R>(archive) {
                return (result, crashes);
            }
        }
        panic!("no run returned in {limit} attempts");
    }

    pub fn run_to_end(&self, archive: &Archive) -> (Result<Summary, AuditError>, u32) {
        self.run_to_end_with::<Reference>(archive, 10_000)
    }

    pub fn lines(&self) -> Vec<String> {
        self.output.lines.borrow().clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.model.state.borrow().calls.clone()
    }

    pub fn now(&self) -> u64 {
        self.clock.now.get()
    }

    pub fn sleeps(&self) -> Vec<(u64, u64)> {
        self.clock.sleeps.borrow().clone()
    }
}

// ---------------------------------------------------------------------------
// Archives
// ---------------------------------------------------------------------------

/// `run`'s arguments.
#[derive(Clone, Debug)]
pub struct Archive {
    pub files: Vec<(String, String)>,
    pub criteria: Criteria,
    pub username: String,
}

impl Archive {
    pub fn new(files: Vec<(String, String)>) -> Archive {
        Archive {
            files,
            criteria: criteria(&["crypto"], &["no politics"]),
            username: "ada".to_string(),
        }
    }

    /// One current-format file `data/tweets.js` holding `tweets`.
    pub fn of(tweets: &[(&str, &str)]) -> Archive {
        Archive::new(vec![("data/tweets.js".to_string(), current(0, tweets))])
    }
}

pub fn criteria(words: &[&str], rules: &[&str]) -> Criteria {
    Criteria {
        forbidden_words: words.iter().map(|s| s.to_string()).collect(),
        rules: rules.iter().map(|s| s.to_string()).collect(),
    }
}

/// A tweet object with the fields a real archive has around the three the
/// pipeline reads.
fn tweet_object(id: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "edit_info": {"initial": {"editTweetIds": [id], "editable": true}},
        "retweeted": false,
        "entities": {"hashtags": [], "urls": [], "user_mentions": []},
        "favorite_count": "3",
        "id_str": id,
        "full_text": text,
        "created_at": "Wed Jan 01 00:00:00 +0000 2025",
        "lang": "en",
    })
}

/// A current-format part: `window.YTD.tweets.part{part} = [{"tweet": ...}]`.
pub fn current(part: u32, tweets: &[(&str, &str)]) -> String {
    let items: Vec<serde_json::Value> = tweets
        .iter()
        .map(|(id, text)| serde_json::json!({"tweet": tweet_object(id, text)}))
        .collect();
    format!(
        "window.YTD.tweets.part{part} = {}",
        serde_json::to_string_pretty(&items).unwrap()
    )
}

/// A legacy part: `window.YTD.tweet.part{part} = [...]` of bare tweets.
pub fn legacy(part: u32, tweets: &[(&str, &str)]) -> String {
    let items: Vec<serde_json::Value> = tweets
        .iter()
        .map(|(id, text)| tweet_object(id, text))
        .collect();
    format!(
        "window.YTD.tweet.part{part} = {}",
        serde_json::to_string(&items).unwrap()
    )
}

/// The file a correct pipeline writes for `archive`, by the truth.
pub fn expected_lines(archive: &Archive) -> Vec<String> {
    let mut lines = vec![crate::core::HEADER.to_string()];
    for (path, content) in &archive.files {
        let files = [ArchiveFile { path, content }];
        for tweet in crate::core::archive::parse(&files).unwrap() {
            if !tweet.is_retweet() && truth(&tweet.text, &archive.criteria) {
                lines.push(crate::core::row(&archive.username, &tweet.id));
            }
        }
    }
    lines
}

/// `n` tweets with ids from `first`: every 3rd breaks the rule, every 5th
/// is a retweet, every 7th holds the forbidden word "crypto".
pub fn numbered(first: u64, n: u64) -> Vec<(String, String)> {
    (first..first + n)
        .map(|id| {
            let text = if id % 5 == 0 {
                format!("RT @someone: tweet {id} #bad")
            } else if id % 7 == 0 {
                format!("tweet {id} about Crypto.")
            } else if id % 3 == 0 {
                format!("tweet {id} is #bad")
            } else {
                format!("tweet {id} is fine")
            };
            (id.to_string(), text)
        })
        .collect()
}

pub fn refs(tweets: &[(String, String)]) -> Vec<(&str, &str)> {
    tweets
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

/// The requests sent per minute (every request, 429s included).
pub fn requests_per_minute(calls: &[Call]) -> BTreeMap<u64, u32> {
    let mut per = BTreeMap::new();
    for call in calls {
        *per.entry(call.at_ms / MINUTE_MS).or_default() += 1;
    }
    per
}
