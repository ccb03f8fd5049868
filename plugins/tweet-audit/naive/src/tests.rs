//! Native tests of the whole pipeline over a simulated host: a model that
//! deletes the tweets saying "bad", enforces its quota with 429s, answers
//! scripted faults, and checks the rules a pipeline must keep (no call in
//! the minute of a 429, backoff after transient errors, no call after a
//! rejection); a durable store and output that survive crashes injected at
//! any import.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use serde_json::json;

use crate::archive::Tweet;
use crate::csv;
use crate::pipeline::{
    self, CHECKPOINT_KEY, Criteria, Failure, Host, ModelError, Quota, Summary, backoff_ms,
};

/// The payload of an injected crash.
struct Crash;

/// Keeps the injected crashes out of the test output.
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

/// A scripted answer for the next model call.
#[derive(Clone, Debug)]
enum Fault {
    Exhausted,
    Unavailable(u16),
    Rejected(u16),
    /// Text that is not JSON.
    Garbage,
    /// A JSON array cut short.
    Truncated,
    /// The first tweet's object without a decision.
    NoDecision,
    /// The first tweet's decision neither DELETE nor KEEP.
    UnknownDecision,
    /// The first tweet left out.
    LeaveOut,
    /// A well-formed answer (under quota).
    Fine,
}

struct Call {
    sent_ms: u64,
    ids: Vec<String>,
}

struct Sim {
    // Durable: survives crashes.
    store: BTreeMap<String, Vec<u8>>,
    lines: Vec<String>,
    now: u64,
    // The model.
    quota: Quota,
    criteria_chars: u64,
    latency_ms: u64,
    faults: VecDeque<Fault>,
    minute: u64,
    minute_requests: u32,
    minute_tokens: u64,
    calls: Vec<Call>,
    // The rules.
    not_before: Option<u64>,
    unavailable_in_a_row: u32,
    rejected: bool,
    /// Whether the pipeline stored anything since the last error answer
    /// (a crash before it did excuses it from waiting).
    stored_since_error: bool,
    violations: Vec<String>,
    sleeps: Vec<u64>,
    // Crashes, at global import numbers.
    imports: u64,
    crash_at: BTreeSet<u64>,
    /// Crash at every k-th model call (counted over every instance).
    crash_every_call: Option<u64>,
    attempts: u64,
    crashes: u32,
}

impl Sim {
    fn new(quota: Quota, criteria: &Criteria) -> Self {
        quiet_crashes();
        Sim {
            store: BTreeMap::new(),
            lines: Vec::new(),
            now: 1_700_000_012_345,
            quota,
            criteria_chars: pipeline::criteria_chars(criteria),
            latency_ms: 700,
            faults: VecDeque::new(),
            minute: 0,
            minute_requests: 0,
            minute_tokens: 0,
            calls: Vec::new(),
            not_before: None,
            unavailable_in_a_row: 0,
            rejected: false,
            stored_since_error: true,
            violations: Vec::new(),
            sleeps: Vec::new(),
            imports: 0,
            crash_at: BTreeSet::new(),
            crash_every_call: None,
            attempts: 0,
            crashes: 0,
        }
    }

    /// Counts an import; true when the instance crashes at it.
    fn crashes_here(&mut self) -> bool {
        self.imports += 1;
        self.crash_at.contains(&self.imports)
    }

    fn enter(&mut self) {
        if self.crashes_here() {
            panic::panic_any(Crash);
        }
    }

    fn crashed(&mut self) {
        self.crashes += 1;
        if !self.stored_since_error {
            self.not_before = None;
            self.unavailable_in_a_row = 0;
            self.rejected = false;
        }
    }

    fn error_answered(&mut self) {
        self.stored_since_error = false;
    }

    fn answer(&mut self, tweets: &[Tweet], fault: Option<Fault>) -> String {
        let mut objects: Vec<serde_json::Value> = tweets
            .iter()
            .rev()
            .map(|t| {
                let decision = if t.text.to_lowercase().contains("bad") {
                    "DELETE"
                } else {
                    "KEEP"
                };
                json!({"id": t.id, "decision": decision, "reason": "because, \"reasons\""})
            })
            .collect();
        let first = objects.len() - 1;
        match fault {
            Some(Fault::Garbage) => return "I cannot help with that.".to_string(),
            Some(Fault::Truncated) => {
                let whole = serde_json::to_string(&objects).unwrap();
                return whole[..whole.len() - 3].to_string();
            }
            Some(Fault::NoDecision) => {
                objects[first].as_object_mut().unwrap().remove("decision");
            }
            Some(Fault::UnknownDecision) => objects[first]["decision"] = json!("MAYBE"),
            Some(Fault::LeaveOut) => {
                objects.remove(first);
            }
            _ => {}
        }
        serde_json::to_string(&objects).unwrap()
    }
}

impl Host for Sim {
    fn now_ms(&mut self) -> u64 {
        self.enter();
        self.now
    }

    fn sleep_ms(&mut self, ms: u64) {
        self.enter();
        self.sleeps.push(ms);
        self.now += ms;
    }

    fn log(&mut self, _message: &str) {
        self.enter();
    }

    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.enter();
        self.store.get(key).cloned()
    }

    fn put(&mut self, key: &str, value: &[u8]) {
        self.enter();
        assert!(value.len() <= 64 * 1024);
        self.store.insert(key.to_string(), value.to_vec());
        self.stored_since_error = true;
    }

    fn append(&mut self, line: &str) {
        self.enter();
        assert!(line.len() <= 4096);
        self.lines.push(line.to_string());
    }

    fn truncate(&mut self, lines: u32) {
        self.enter();
        self.lines.truncate(lines as usize);
    }

    fn limits(&mut self) -> Quota {
        self.enter();
        self.quota
    }

    fn classify(&mut self, tweets: &[Tweet]) -> Result<String, ModelError> {
        // A crash at an odd import loses the call; at an even one, its
        // answer (the call counts, its answer never arrives).
        self.attempts += 1;
        let crash = self.crashes_here()
            || self
                .crash_every_call
                .is_some_and(|k| self.attempts.is_multiple_of(k));
        if crash && self.imports % 2 == 1 {
            panic::panic_any(Crash);
        }
        let sent = self.now;
        if self.rejected {
            self.violations
                .push(format!("called at {sent} after a rejection"));
        }
        if let Some(at) = self.not_before.filter(|&at| sent < at) {
            self.violations
                .push(format!("called at {sent}, before {at} (too early)"));
        }
        self.not_before = None;
        self.calls.push(Call {
            sent_ms: sent,
            ids: tweets.iter().map(|t| t.id.clone()).collect(),
        });
        let chars: u64 = self.criteria_chars
            + tweets
                .iter()
                .map(|t| t.text.chars().count() as u64)
                .sum::<u64>();
        let tokens = pipeline::tokens(chars);
        let result = if tweets.is_empty()
            || tweets.len() > self.quota.max_batch as usize
            || tokens > u64::from(self.quota.tokens_per_minute)
        {
            self.violations.push(format!(
                "a request the API refuses: {} tweets",
                tweets.len()
            ));
            Err(ModelError::Rejected(400))
        } else {
            let fault = self.faults.pop_front();
            if sent / 60_000 != self.minute {
                self.minute = sent / 60_000;
                self.minute_requests = 0;
                self.minute_tokens = 0;
            }
            match fault {
                Some(Fault::Exhausted) => Err(ModelError::ResourceExhausted),
                Some(Fault::Unavailable(s)) => Err(ModelError::Unavailable(s)),
                Some(Fault::Rejected(s)) => Err(ModelError::Rejected(s)),
                _ if self.minute_requests + 1 > self.quota.requests_per_minute
                    || self.minute_tokens + tokens > u64::from(self.quota.tokens_per_minute) =>
                {
                    Err(ModelError::ResourceExhausted)
                }
                fault => {
                    self.minute_requests += 1;
                    self.minute_tokens += tokens;
                    Ok(self.answer(tweets, fault))
                }
            }
        };
        self.now += self.latency_ms;
        match &result {
            Ok(_) => self.unavailable_in_a_row = 0,
            Err(ModelError::ResourceExhausted) => {
                self.error_answered();
                self.not_before = Some((sent / 60_000 + 1) * 60_000);
            }
            Err(ModelError::Unavailable(_)) => {
                self.error_answered();
                self.unavailable_in_a_row += 1;
                self.not_before = Some(self.now + backoff_ms(self.unavailable_in_a_row));
            }
            Err(ModelError::Rejected(_)) => {
                self.error_answered();
                self.rejected = true;
            }
        }
        if crash {
            panic::panic_any(Crash);
        }
        result
    }
}

/// Runs the pipeline until it returns, on a fresh instance after every
/// crash.
fn drive(
    sim: &mut Sim,
    files: &[(String, String)],
    criteria: &Criteria,
) -> Result<Summary, Failure> {
    for _ in 0..100_000 {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            pipeline::run(sim, files.to_vec(), criteria, "some_user")
        }));
        match outcome {
            Ok(result) => return result,
            Err(payload) if payload.is::<Crash>() => sim.crashed(),
            Err(payload) => panic::resume_unwind(payload),
        }
    }
    panic!("no progress after 100,000 crashes");
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const PIECES: [&str; 10] = [
    "hello",
    "bad",
    "a, comma",
    "\"quoted\"",
    "new\nline",
    "émoji 😀",
    "BAD day",
    "fine",
    "tab\there",
    "back\\slash",
];

/// `n` tweets over `parts` current-format files, every fifth-ish a
/// retweet; the files and the tweets.
fn archive(n: usize, parts: usize, seed: u64) -> (Vec<(String, String)>, Vec<Tweet>) {
    let mut rng = Lcg(seed);
    let tweets: Vec<Tweet> = (0..n)
        .map(|i| {
            let mut text = String::new();
            if rng.next(5) == 0 {
                text.push_str("RT @other: ");
            }
            for _ in 0..1 + rng.next(3) {
                text.push_str(PIECES[rng.next(PIECES.len() as u64) as usize]);
                text.push(' ');
            }
            Tweet {
                id: (1_000_000_000 + i * 7).to_string(),
                text,
            }
        })
        .collect();
    let per = n.div_ceil(parts.max(1)).max(1);
    let files = (0..parts)
        .map(|p| {
            let chunk: Vec<serde_json::Value> = tweets
                .iter()
                .skip(p * per)
                .take(per)
                .map(|t| {
                    json!({"tweet": {"id_str": t.id, "full_text": t.text,
                        "created_at": "Wed Oct 10 20:19:24 +0000 2018", "retweet_count": "0"}})
                })
                .collect();
            let name = if p == 0 {
                "data/tweets.js".to_string()
            } else {
                format!("data/tweets-part{p}.js")
            };
            let content = format!(
                "window.YTD.tweets.part{p} = {}",
                serde_json::to_string_pretty(&chunk).unwrap()
            );
            (name, content)
        })
        .collect();
    (files, tweets)
}

/// The file a correct pipeline writes, and its summary.
fn expected(tweets: &[Tweet]) -> (Vec<String>, Summary) {
    let mut lines = vec![csv::HEADER.to_string()];
    let mut summary = Summary {
        tweets: tweets.len() as u32,
        ..Summary::default()
    };
    for t in tweets {
        if t.is_retweet() {
            summary.retweets += 1;
        } else if t.text.to_lowercase().contains("bad") {
            summary.deleted += 1;
            lines.push(format!("https://x.com/some_user/status/{},false", t.id));
        } else {
            summary.kept += 1;
        }
    }
    (lines, summary)
}

fn criteria() -> Criteria {
    Criteria {
        forbidden_words: vec!["bad".to_string()],
        rules: vec!["no complaining".to_string()],
    }
}

const QUOTA: Quota = Quota {
    requests_per_minute: 15,
    tokens_per_minute: 100_000,
    max_batch: 25,
};

/// Runs `sim` over a fresh archive and checks the file, the summary and
/// the rules; then checks that a rerun changes nothing.
/// The imports of the first run.
fn check_complete(sim: &mut Sim, n: usize, parts: usize, seed: u64) -> u64 {
    let (files, tweets) = archive(n, parts, seed);
    let criteria = criteria();
    let (lines, summary) = expected(&tweets);
    assert_eq!(drive(sim, &files, &criteria), Ok(summary));
    assert_eq!(sim.lines, lines);
    assert_eq!(sim.violations, Vec::<String>::new());
    assert!(sim.calls.iter().all(|c| c.ids.len() <= 10));
    let imports = sim.imports;
    let calls = sim.calls.len();
    sim.crash_at.clear();
    sim.crash_every_call = None;
    assert_eq!(drive(sim, &files, &criteria), Ok(summary));
    assert_eq!(sim.lines, lines);
    assert_eq!(sim.calls.len(), calls);
    imports
}

#[test]
fn a_clean_run_sends_batches_of_ten_and_writes_every_delete_once() {
    let mut sim = Sim::new(QUOTA, &criteria());
    check_complete(&mut sim, 95, 3, 1);
    let (_, tweets) = archive(95, 3, 1);
    let sent = tweets.iter().filter(|t| !t.is_retweet()).count();
    assert_eq!(sim.calls.len(), sent.div_ceil(10));
    let asked: Vec<String> = sim.calls.iter().flat_map(|c| c.ids.clone()).collect();
    let archive_order: Vec<String> = tweets
        .iter()
        .filter(|t| !t.is_retweet())
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(asked, archive_order);
}

#[test]
fn an_archive_without_tweets_to_ask_about_writes_the_header_only() {
    let criteria = criteria();
    let mut sim = Sim::new(QUOTA, &criteria);
    let files = vec![
        (
            "data/tweet.js".to_string(),
            r#"window.YTD.tweet.part0 = [{"id_str": "5", "full_text": "RT @x: bad", "created_at": "c"}]"#
                .to_string(),
        ),
        (
            "data/tweet-part1.js".to_string(),
            "window.YTD.tweet.part1 = []".to_string(),
        ),
    ];
    let summary = Summary {
        tweets: 1,
        retweets: 1,
        deleted: 0,
        kept: 0,
    };
    assert_eq!(drive(&mut sim, &files, &criteria), Ok(summary));
    assert_eq!(sim.lines, vec![csv::HEADER.to_string()]);
    assert!(sim.calls.is_empty());
}

#[test]
fn a_bad_archive_is_refused_before_any_import() {
    let criteria = criteria();
    let mut sim = Sim::new(QUOTA, &criteria);
    let (mut files, _) = archive(20, 2, 3);
    files[1].1 = files[1].1.replace("part1", "part7");
    let got = drive(&mut sim, &files, &criteria);
    let Err(Failure::BadArchive(why)) = got else {
        panic!("{got:?}");
    };
    assert!(why.starts_with("data/tweets-part1.js: "), "{why}");
    assert_eq!(sim.imports, 0);
    assert!(sim.lines.is_empty());
}

#[test]
fn the_request_quota_is_learnt_from_429s_without_hammering() {
    let mut sim = Sim::new(
        Quota {
            requests_per_minute: 3,
            ..QUOTA
        },
        &criteria(),
    );
    check_complete(&mut sim, 200, 1, 4);
    // Each 429 makes the pipeline sleep to the next minute.
    assert!(sim.sleeps.iter().all(|&ms| ms <= 60_000));
    assert!(sim.sleeps.len() >= 5);
}

#[test]
fn the_token_quota_shrinks_batches_and_is_learnt_from_429s() {
    // 3 + 3 + 14 = 20 criteria characters; tweets of up to ~30.
    let mut sim = Sim::new(
        Quota {
            requests_per_minute: 100,
            tokens_per_minute: 40,
            max_batch: 4,
        },
        &criteria(),
    );
    check_complete(&mut sim, 60, 2, 5);
    assert!(sim.calls.iter().all(|c| c.ids.len() <= 4));
}

#[test]
fn a_429_storm_under_quota_waits_a_minute_each_time() {
    let mut sim = Sim::new(QUOTA, &criteria());
    sim.faults = VecDeque::from(vec![Fault::Exhausted; 5]);
    check_complete(&mut sim, 30, 1, 6);
    let minutes: Vec<u64> = sim.calls.iter().map(|c| c.sent_ms / 60_000).collect();
    for pair in minutes[..6].windows(2) {
        assert!(pair[1] > pair[0], "{minutes:?}");
    }
}

#[test]
fn transient_errors_back_off_exponentially_up_to_32_seconds() {
    let mut sim = Sim::new(QUOTA, &criteria());
    sim.faults = [500, 503, 504, 503, 503, 503, 503, 500]
        .into_iter()
        .map(Fault::Unavailable)
        .collect();
    check_complete(&mut sim, 30, 1, 7);
    assert_eq!(
        sim.sleeps[..8],
        [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000]
    );
}

#[test]
fn a_rejection_stops_the_run_and_a_rerun_returns_it_again() {
    for status in [400, 403] {
        let criteria = criteria();
        let mut sim = Sim::new(QUOTA, &criteria);
        let (files, tweets) = archive(60, 1, 8);
        // Two batches go through, then the key is refused.
        sim.faults = VecDeque::from(vec![
            Fault::Garbage,
            Fault::Unavailable(503),
            Fault::Fine,
            Fault::Fine,
            Fault::Rejected(status),
        ]);
        let got = drive(&mut sim, &files, &criteria);
        assert_eq!(got, Err(Failure::ModelRejected(status)));
        assert_eq!(sim.violations, Vec::<String>::new());
        let calls = sim.calls.len();
        let (lines, _) = expected(&tweets);
        let done: Vec<&String> = tweets
            .iter()
            .filter(|t| !t.is_retweet())
            .take(20)
            .map(|t| &t.id)
            .collect();
        let written = lines
            .iter()
            .take_while(|l| l == &csv::HEADER || done.iter().any(|id| l.contains(id.as_str())))
            .count();
        assert_eq!(sim.lines, lines[..written]);

        assert_eq!(
            drive(&mut sim, &files, &criteria),
            Err(Failure::ModelRejected(status))
        );
        assert_eq!(sim.calls.len(), calls);
        assert_eq!(sim.lines, lines[..written]);
    }
}

#[test]
fn bad_answers_decide_nothing_and_only_the_undecided_are_asked_again() {
    let mut sim = Sim::new(QUOTA, &criteria());
    sim.faults = VecDeque::from(vec![
        Fault::LeaveOut,
        Fault::NoDecision,
        Fault::UnknownDecision,
        Fault::Garbage,
        Fault::Truncated,
    ]);
    check_complete(&mut sim, 40, 1, 9);
    let asked: Vec<usize> = sim.calls.iter().map(|c| c.ids.len()).collect();
    // The batch's first tweet is the one the faults touch.
    assert_eq!(asked[..6], [10, 1, 1, 1, 1, 1]);
    assert_eq!(sim.calls[1].ids[0], sim.calls[0].ids[0]);
    assert_eq!(sim.calls[5].ids, sim.calls[1].ids);
}

#[test]
fn a_crash_at_any_single_import_loses_and_repeats_nothing() {
    // Count the imports of a run with errors of every kind.
    let faults = || {
        VecDeque::from(vec![
            Fault::Unavailable(503),
            Fault::LeaveOut,
            Fault::Exhausted,
            Fault::Garbage,
            Fault::Unavailable(500),
            Fault::Unavailable(504),
        ])
    };
    let mut sim = Sim::new(QUOTA, &criteria());
    sim.faults = faults();
    let imports = check_complete(&mut sim, 70, 2, 10);
    for at in 1..=imports {
        let mut sim = Sim::new(QUOTA, &criteria());
        sim.faults = faults();
        sim.crash_at.insert(at);
        check_complete(&mut sim, 70, 2, 10);
        assert_eq!(sim.crashes, 1, "crash at import {at}");
    }
}

#[test]
fn crashes_every_kth_model_call_under_pressure_still_give_the_exact_file() {
    for k in 2..=12 {
        let mut sim = Sim::new(
            Quota {
                requests_per_minute: 4,
                ..QUOTA
            },
            &criteria(),
        );
        sim.faults = VecDeque::from(vec![
            Fault::Unavailable(503),
            Fault::Unavailable(503),
            Fault::Exhausted,
            Fault::NoDecision,
            Fault::Unavailable(500),
        ]);
        sim.crash_every_call = Some(k);
        check_complete(&mut sim, 120, 3, 100 + k);
        assert!(sim.crashes > 0, "k = {k}");
    }
}

#[test]
fn a_crash_while_waiting_out_a_429_still_waits_for_the_next_minute() {
    let mut sim = Sim::new(QUOTA, &criteria());
    sim.faults = VecDeque::from(vec![Fault::Exhausted]);
    // get, truncate, append, put, limits, classify (429), now, put, sleep:
    // crash at the sleep, after the wait was stored.
    sim.crash_at.insert(9);
    check_complete(&mut sim, 30, 1, 11);
    assert_eq!(sim.crashes, 1);
    assert!(sim.calls[1].sent_ms / 60_000 > sim.calls[0].sent_ms / 60_000);
}

#[test]
fn a_large_archive_fits_in_memory_and_finishes() {
    let mut sim = Sim::new(
        Quota {
            requests_per_minute: 60,
            tokens_per_minute: 1_000_000,
            max_batch: 100,
        },
        &criteria(),
    );
    check_complete(&mut sim, 20_000, 4, 12);
    assert!(sim.stored_since_error);
    assert!(sim.store.contains_key(CHECKPOINT_KEY));
}
