//! The model and the output file as the pipeline sees them: the mock
//! Gemini-like API behind `gauntlet:tweet-audit/model` (limits per virtual
//! minute, storms, transient and permanent errors, bad answers, latency,
//! crashes after a call) and the CSV file behind `output` (crashes after an
//! append). Both are shared by every instance of a run, and both log what
//! happened for the checks.
//!
//! Faults are decided by rules on the n-th model call (or append) of the
//! run: scripted (`nth`, `every`, `from`) or seeded (a probability drawn
//! from the scenario's seed and n), so that two pipelines making the same
//! calls meet the same faults.

use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Serialize;

use super::model::{Criteria, Decision, judge, tokens};
use crate::bindings::tweet_audit::{model as wit, output as wit_output};
use crate::sandbox::{HostState, HostStopped, InjectedCrash};
use crate::sim::SeedTree;

/// A minute of the model's quota, in milliseconds.
pub const MINUTE_MS: u64 = 60_000;

/// The longest line `output.append` takes.
pub const MAX_LINE_BYTES: usize = 4 << 10;

/// The most bytes the output file may hold.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// Model calls after a permanent rejection before the host stops the run.
pub const MAX_CALLS_AFTER_REJECTION: u64 = 10;

/// The API's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Quota {
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
    pub max_batch: u32,
}

/// How long a call takes: `base + per-tweet * tweets + jitter`, jitter
/// uniform in `0..=jitter`; an error answer takes a quarter of `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Latency {
    pub base_ms: u64,
    pub per_tweet_ms: u64,
    pub jitter_ms: u64,
}

/// When a rule applies, by the 1-based count n of model calls (or appends)
/// in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    Nth(u64),
    /// Every k-th: n = k, 2k, 3k, ...
    Every(u64),
    /// Every call from the n-th on.
    From(u64),
    /// Each call with this probability, in parts per million.
    Seeded {
        ppm: u32,
    },
}

impl Trigger {
    fn fires(self, n: u64, seeds: &SeedTree, purpose: &str) -> bool {
        match self {
            Trigger::Nth(k) => n == k,
            Trigger::Every(k) => k > 0 && n.is_multiple_of(k),
            Trigger::From(k) => n >= k,
            Trigger::Seeded { ppm } => {
                seeds
                    .rng(&format!("{purpose}/{n}"))
                    .random_range(0..1_000_000u32)
                    < ppm
            }
        }
    }
}

/// A fault of the model boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFault {
    /// 500, 503 or 504 (the given status, or one drawn).
    Unavailable(Option<u16>),
    /// 400 or 403.
    Rejected(u16),
    /// The answer's JSON is cut short.
    Malformed,
    /// One object has no `decision`.
    MissingDecision,
    /// One object's decision is neither DELETE nor KEEP.
    UnknownDecision,
    /// One tweet is left out of the answer.
    LeftOut,
    /// The pipeline crashes after the call, before it sees the answer.
    CrashAfterCall,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FaultRule {
    pub trigger: Trigger,
    pub fault: ModelFault,
}

/// Whole virtual minutes in which every request is answered 429 (others
/// sharing the key spent the quota): minutes `first..first + minutes`,
/// counted from the scenario's first minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Storm {
    pub first: u64,
    pub minutes: u64,
}

/// What the model did with one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Answer {
    /// A text answer: the tweets it validly decided (id, DELETE?), and
    /// what was wrong with it, if anything.
    Text {
        decided: Vec<(String, bool)>,
        bad: Option<BadAnswer>,
    },
    /// 429; `storm`: in a storm rather than over the pipeline's own quota.
    Exhausted {
        storm: bool,
    },
    Unavailable {
        status: u16,
    },
    Rejected {
        status: u16,
        why: &'static str,
    },
}

/// A text answer that is not a valid decision for every tweet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "bad", rename_all = "kebab-case")]
pub enum BadAnswer {
    Malformed,
    MissingDecision { id: String },
    UnknownDecision { id: String, decision: &'static str },
    LeftOut { id: String },
}

impl std::fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadAnswer::Malformed => write!(f, "malformed JSON"),
            BadAnswer::MissingDecision { id } => write!(f, "no decision for tweet {id}"),
            BadAnswer::UnknownDecision { id, decision } => {
                write!(f, "the decision {decision:?} for tweet {id}")
            }
            BadAnswer::LeftOut { id } => write!(f, "tweet {id} left out"),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Text { decided, bad: None } => {
                write!(f, "{}", crate::report::count(decided.len(), "decision"))
            }
            Answer::Text {
                decided,
                bad: Some(bad),
            } => write!(
                f,
                "{} and {bad}",
                crate::report::count(decided.len(), "decision")
            ),
            Answer::Exhausted { storm: true } => write!(f, "429 (a storm)"),
            Answer::Exhausted { storm: false } => write!(f, "429 (over the quota)"),
            Answer::Unavailable { status } => write!(f, "{status}"),
            Answer::Rejected { status, why } => write!(f, "{status} ({why})"),
        }
    }
}

/// One call of the model, as the checks see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ModelCall {
    /// 1-based, in the run.
    pub n: u64,
    /// The instance that made it (0 first, then one more per crash).
    pub instance: u32,
    pub sent_ms: u64,
    pub answered_ms: u64,
    /// The ids of the tweets it carried, in order.
    pub ids: Vec<String>,
    pub tokens: u64,
    pub answer: Answer,
    /// Whether the pipeline saw the answer (false: it crashed first).
    pub seen: bool,
}

/// The model of one run.
#[derive(Clone, Debug)]
pub struct ModelSim {
    quota: Quota,
    latency: Latency,
    rules: Vec<FaultRule>,
    storms: Vec<Storm>,
    seeds: SeedTree,
    start_minute: u64,
    /// The current minute's spending: (minute, requests, tokens).
    spent: (u64, u32, u64),
    /// The instance now running.
    pub instance: u32,
    /// The most calls the run may make before the host stops it.
    max_calls: u64,
    /// Every call, in order.
    pub calls: Vec<ModelCall>,
}

impl ModelSim {
    pub fn new(
        quota: Quota,
        latency: Latency,
        rules: Vec<FaultRule>,
        storms: Vec<Storm>,
        seeds: SeedTree,
        start_ms: u64,
        max_calls: u64,
    ) -> Self {
        ModelSim {
            quota,
            latency,
            rules,
            storms,
            seeds,
            start_minute: start_ms / MINUTE_MS,
            spent: (0, 0, 0),
            instance: 0,
            max_calls,
            calls: Vec::new(),
        }
    }

    fn fault(&self, n: u64, applies: impl Fn(ModelFault) -> bool) -> Option<ModelFault> {
        self.rules.iter().enumerate().find_map(|(i, rule)| {
            (applies(rule.fault) && rule.trigger.fires(n, &self.seeds, &format!("model/{i}")))
                .then_some(rule.fault)
        })
    }

    fn in_storm(&self, minute: u64) -> bool {
        let m = minute.saturating_sub(self.start_minute);
        self.storms
            .iter()
            .any(|s| (s.first..s.first.saturating_add(s.minutes)).contains(&m))
    }

    /// The rejection the pipeline saw last, if any: (call, status).
    pub fn seen_rejection(&self) -> Option<(u64, u16)> {
        self.calls.iter().find_map(|c| match c.answer {
            Answer::Rejected { status, .. } if c.seen => Some((c.n, status)),
            _ => None,
        })
    }

    /// Serves call n at `sent_ms`: the answer (with the text, for a text
    /// answer) and how long it took.
    fn serve(
        &mut self,
        n: u64,
        sent_ms: u64,
        criteria: &Criteria,
        tweets: &[wit::Tweet],
        request_tokens: u64,
    ) -> (Answer, Option<String>, u64) {
        let error_latency = self.latency.base_ms / 4;
        let minute = sent_ms / MINUTE_MS;
        if self.spent.0 != minute {
            self.spent = (minute, 0, 0);
        }
        if self.in_storm(minute) {
            return (Answer::Exhausted { storm: true }, None, error_latency);
        }
        if let Some(ModelFault::Rejected(status)) =
            self.fault(n, |f| matches!(f, ModelFault::Rejected(_)))
        {
            let why = if status == 403 {
                "the key was refused"
            } else {
                "the request was refused"
            };
            return (Answer::Rejected { status, why }, None, error_latency);
        }
        let why = if tweets.is_empty() {
            Some("a request with no tweets")
        } else if tweets.len() > self.quota.max_batch as usize {
            Some("more tweets than max-batch")
        } else if request_tokens > u64::from(self.quota.tokens_per_minute) {
            Some("more tokens than tokens-per-minute")
        } else {
            None
        };
        if let Some(why) = why {
            return (Answer::Rejected { status: 400, why }, None, error_latency);
        }
        if self.spent.1 >= self.quota.requests_per_minute
            || self.spent.2 + request_tokens > u64::from(self.quota.tokens_per_minute)
        {
            return (Answer::Exhausted { storm: false }, None, error_latency);
        }
        self.spent.1 += 1;
        self.spent.2 += request_tokens;
        let mut rng = self.seeds.rng(&format!("model-call/{n}"));
        if let Some(ModelFault::Unavailable(status)) =
            self.fault(n, |f| matches!(f, ModelFault::Unavailable(_)))
        {
            let status = status.unwrap_or([500, 503, 504][rng.random_range(0..3usize)]);
            return (Answer::Unavailable { status }, None, error_latency);
        }
        let latency = self.latency.base_ms
            + self.latency.per_tweet_ms * tweets.len() as u64
            + rng.random_range(0..=self.latency.jitter_ms);
        let bad = self.fault(n, |f| {
            matches!(
                f,
                ModelFault::Malformed
                    | ModelFault::MissingDecision
                    | ModelFault::UnknownDecision
                    | ModelFault::LeftOut
            )
        });
        let (answer, text) = answer_text(criteria, tweets, bad, &mut rng);
        (answer, Some(text), latency)
    }
}

/// The model's text for a batch, with the bad answer `bad` (if any) put on
/// a tweet it would keep, when there is one (so that a pipeline trusting the
/// bad answer writes a false row).
fn answer_text(
    criteria: &Criteria,
    tweets: &[wit::Tweet],
    bad: Option<ModelFault>,
    rng: &mut rand::rngs::ChaCha8Rng,
) -> (Answer, String) {
    let decisions: Vec<Decision> = tweets.iter().map(|t| judge(&t.text, criteria)).collect();
    let keeps: Vec<usize> = (0..tweets.len())
        .filter(|&i| !decisions[i].deletes())
        .collect();
    let victim = if keeps.is_empty() {
        rng.random_range(0..tweets.len())
    } else {
        keeps[rng.random_range(0..keeps.len())]
    };
    let mut order: Vec<usize> = (0..tweets.len()).collect();
    if rng.random_range(0..2u32) == 0 {
        order.shuffle(rng);
    }
    let unknown = ["MAYBE", "REVIEW", "DELETE?", "delete"][rng.random_range(0..4usize)];
    let mut objects = Vec::new();
    let mut decided = Vec::new();
    for &i in &order {
        let id = &tweets[i].id;
        let decision = if decisions[i].deletes() {
            "DELETE"
        } else {
            "KEEP"
        };
        let reason = decisions[i].reason();
        let object = match bad {
            Some(ModelFault::LeftOut) if i == victim => continue,
            Some(ModelFault::MissingDecision) if i == victim => serde_json::json!({
                "id": id, "reason": "not sure whether to DELETE this one",
            }),
            Some(ModelFault::UnknownDecision) if i == victim => serde_json::json!({
                "id": id, "decision": unknown, "reason": reason,
            }),
            _ => serde_json::json!({ "id": id, "decision": decision, "reason": reason }),
        };
        objects.push(object.to_string());
        if !matches!(bad, Some(ModelFault::Malformed)) && (bad.is_none() || i != victim) {
            decided.push((i, id.clone(), decisions[i].deletes()));
        }
    }
    // In batch order, whatever order the answer took.
    decided.sort_by_key(|(i, _, _)| *i);
    let decided = decided.into_iter().map(|(_, id, d)| (id, d)).collect();
    let mut text = format!("[{}]", objects.join(","));
    let victim_id = tweets[victim].id.clone();
    let bad = match bad {
        Some(ModelFault::Malformed) => {
            // Cut somewhere in the middle, on a character boundary.
            let chars = text.chars().count();
            let cut = rng.random_range(chars / 3..=(chars * 4 / 5).max(chars / 3));
            text = text.chars().take(cut.max(1)).collect();
            Some(BadAnswer::Malformed)
        }
        Some(ModelFault::MissingDecision) => Some(BadAnswer::MissingDecision { id: victim_id }),
        Some(ModelFault::UnknownDecision) => Some(BadAnswer::UnknownDecision {
            id: victim_id,
            decision: unknown,
        }),
        Some(ModelFault::LeftOut) => Some(BadAnswer::LeftOut { id: victim_id }),
        _ => None,
    };
    (Answer::Text { decided, bad }, text)
}

/// One line of the output file, with the instance that appended it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub text: String,
    pub instance: u32,
}

/// The output file of one run.
#[derive(Clone, Debug, Default)]
pub struct OutputFile {
    pub lines: Vec<Line>,
    bytes: usize,
    appends: u64,
    crash: Option<Trigger>,
    seeds: Option<SeedTree>,
    /// The instance now running.
    pub instance: u32,
    /// The instance behind every change of the file, in order: each append,
    /// and each truncate that removed lines.
    pub changes: Vec<u32>,
}

impl OutputFile {
    /// An empty file; `crash`: crash the pipeline right after the appends
    /// it picks.
    pub fn new(crash: Option<Trigger>, seeds: SeedTree) -> Self {
        OutputFile {
            crash,
            seeds: Some(seeds),
            ..OutputFile::default()
        }
    }

    pub fn texts(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.text.clone()).collect()
    }

    /// Stops crashing (the end of the run).
    pub fn clear_faults(&mut self) {
        self.crash = None;
    }
}

impl HostState {
    fn model_sim(&self) -> wasmtime::Result<std::sync::Arc<std::sync::Mutex<ModelSim>>> {
        self.dependencies
            .model
            .clone()
            .ok_or_else(|| wasmtime::Error::msg("this run has no model"))
    }

    fn output_file(&self) -> wasmtime::Result<std::sync::Arc<std::sync::Mutex<OutputFile>>> {
        self.dependencies
            .output
            .clone()
            .ok_or_else(|| wasmtime::Error::msg("this run has no output file"))
    }
}

impl wit::Host for HostState {
    async fn limits(&mut self) -> wasmtime::Result<wit::Quota> {
        self.scheduling_point("model.limits").await;
        let sim = self.model_sim()?;
        let quota = sim.lock().expect("model lock").quota;
        Ok(wit::Quota {
            requests_per_minute: quota.requests_per_minute,
            tokens_per_minute: quota.tokens_per_minute,
            max_batch: quota.max_batch,
        })
    }

    async fn classify(
        &mut self,
        criteria: wit::Criteria,
        tweets: Vec<wit::Tweet>,
    ) -> wasmtime::Result<Result<String, wit::ModelError>> {
        self.scheduling_point("model.classify").await;
        let sim = self.model_sim()?;
        let mut sim = sim.lock().expect("model lock");
        let n = sim.calls.len() as u64 + 1;
        if n > sim.max_calls {
            return Err(wasmtime::Error::new(HostStopped(format!(
                "{} model calls, far more than the archive needs",
                sim.max_calls
            ))));
        }
        if let Some((rejected, status)) = sim.seen_rejection()
            && n > rejected + MAX_CALLS_AFTER_REJECTION
        {
            return Err(wasmtime::Error::new(HostStopped(format!(
                "{MAX_CALLS_AFTER_REJECTION} model calls after call #{rejected} was rejected for good ({status})"
            ))));
        }
        let criteria = Criteria {
            forbidden_words: criteria.forbidden_words,
            rules: criteria.rules,
        };
        let request_tokens = tokens(&criteria, tweets.iter().map(|t| t.text.as_str()));
        let sent_ms = self.clock().now_ms();
        let (answer, text, latency) = sim.serve(n, sent_ms, &criteria, &tweets, request_tokens);
        let answered_ms = sent_ms.saturating_add(latency);
        self.clock().set_ms(answered_ms);
        let crash = sim.fault(n, |f| f == ModelFault::CrashAfterCall).is_some();
        let result = match (&answer, text) {
            (_, Some(text)) => Ok(text),
            (Answer::Exhausted { .. }, None) => Err(wit::ModelError::ResourceExhausted),
            (Answer::Unavailable { status }, None) => Err(wit::ModelError::Unavailable(*status)),
            (Answer::Rejected { status, .. }, None) => Err(wit::ModelError::Rejected(*status)),
            (Answer::Text { .. }, None) => unreachable!("a text answer has its text"),
        };
        let instance = sim.instance;
        sim.calls.push(ModelCall {
            n,
            instance,
            sent_ms,
            answered_ms,
            ids: tweets.into_iter().map(|t| t.id).collect(),
            tokens: request_tokens,
            answer,
            seen: !crash,
        });
        if crash {
            return Err(wasmtime::Error::new(InjectedCrash(format!(
                "after model call #{n}, before the pipeline saw its answer"
            ))));
        }
        Ok(result)
    }
}

impl wit_output::Host for HostState {
    async fn append(&mut self, line: String) -> wasmtime::Result<()> {
        self.scheduling_point("output.append").await;
        let file = self.output_file()?;
        let mut file = file.lock().expect("output lock");
        if line.len() > MAX_LINE_BYTES {
            return Err(wasmtime::Error::msg(format!(
                "output.append: a line of {} bytes (the most is 4 KiB)",
                line.len()
            )));
        }
        if file.bytes + line.len() > MAX_FILE_BYTES {
            return Err(wasmtime::Error::msg(
                "output.append: the file would pass 64 MiB",
            ));
        }
        file.bytes += line.len() + 1;
        file.appends += 1;
        let instance = file.instance;
        file.changes.push(instance);
        file.lines.push(Line {
            text: line,
            instance,
        });
        let n = file.appends;
        let crash = match (file.crash, &file.seeds) {
            (Some(trigger), Some(seeds)) => trigger.fires(n, seeds, "append"),
            _ => false,
        };
        if crash {
            return Err(wasmtime::Error::new(InjectedCrash(format!(
                "after output append #{n}"
            ))));
        }
        Ok(())
    }

    async fn lines(&mut self) -> wasmtime::Result<u32> {
        self.scheduling_point("output.lines").await;
        let file = self.output_file()?;
        let lines = file.lock().expect("output lock").lines.len();
        Ok(u32::try_from(lines).unwrap_or(u32::MAX))
    }

    async fn truncate(&mut self, lines: u32) -> wasmtime::Result<()> {
        self.scheduling_point("output.truncate").await;
        let file = self.output_file()?;
        let mut file = file.lock().expect("output lock");
        if (lines as usize) < file.lines.len() {
            let instance = file.instance;
            file.changes.push(instance);
        }
        file.lines.truncate(lines as usize);
        file.bytes = file.lines.iter().map(|l| l.text.len() + 1).sum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(id: &str, text: &str) -> wit::Tweet {
        wit::Tweet {
            id: id.into(),
            text: text.into(),
        }
    }

    fn sim(rules: Vec<FaultRule>, storms: Vec<Storm>) -> ModelSim {
        ModelSim::new(
            Quota {
                requests_per_minute: 2,
                tokens_per_minute: 100,
                max_batch: 3,
            },
            Latency {
                base_ms: 400,
                per_tweet_ms: 10,
                jitter_ms: 0,
            },
            rules,
            storms,
            SeedTree::new(3),
            0,
            1_000,
        )
    }

    fn criteria() -> Criteria {
        Criteria {
            forbidden_words: vec!["nft".into()],
            rules: vec![],
        }
    }

    #[test]
    fn requests_over_the_minutes_quota_get_429_and_count_for_nothing() {
        let mut s = sim(vec![], vec![]);
        let batch = [tweet("1", "hello")];
        let c = criteria();
        assert!(matches!(
            s.serve(1, 0, &c, &batch, 5).0,
            Answer::Text { .. }
        ));
        assert!(matches!(
            s.serve(2, 10, &c, &batch, 5).0,
            Answer::Text { .. }
        ));
        assert_eq!(
            s.serve(3, 20, &c, &batch, 5).0,
            Answer::Exhausted { storm: false }
        );
        // The next minute has a fresh quota.
        assert!(matches!(
            s.serve(4, MINUTE_MS, &c, &batch, 5).0,
            Answer::Text { .. }
        ));
        // Tokens: 95 more do not fit in this minute's 100.
        assert_eq!(
            s.serve(5, MINUTE_MS + 1, &c, &batch, 96).0,
            Answer::Exhausted { storm: false }
        );
    }

    #[test]
    fn bad_requests_are_rejected_with_400_and_storms_answer_429() {
        let mut s = sim(
            vec![],
            vec![Storm {
                first: 1,
                minutes: 1,
            }],
        );
        let c = criteria();
        let four: Vec<_> = (0..4).map(|i| tweet(&i.to_string(), "x")).collect();
        assert!(matches!(
            s.serve(1, 0, &c, &four, 1).0,
            Answer::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            s.serve(2, 0, &c, &[], 0).0,
            Answer::Rejected { status: 400, .. }
        ));
        assert_eq!(
            s.serve(3, MINUTE_MS + 5, &c, &four[..1], 1).0,
            Answer::Exhausted { storm: true }
        );
    }

    #[test]
    fn a_bad_answer_lands_on_a_tweet_the_model_keeps() {
        let c = criteria();
        let batch = [tweet("1", "buy my NFT"), tweet("2", "lovely day")];
        for fault in [
            ModelFault::MissingDecision,
            ModelFault::UnknownDecision,
            ModelFault::LeftOut,
        ] {
            let mut rng = SeedTree::new(1).rng("t");
            let (answer, text) = answer_text(&c, &batch, Some(fault), &mut rng);
            let Answer::Text { decided, bad } = answer else {
                panic!("a text answer")
            };
            assert_eq!(decided, vec![("1".to_string(), true)], "{fault:?}");
            assert!(bad.is_some());
            let parsed: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
            assert_eq!(
                parsed.len(),
                if fault == ModelFault::LeftOut { 1 } else { 2 }
            );
        }
        let mut rng = SeedTree::new(1).rng("t");
        let (answer, text) = answer_text(&c, &batch, Some(ModelFault::Malformed), &mut rng);
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        assert_eq!(
            answer,
            Answer::Text {
                decided: vec![],
                bad: Some(BadAnswer::Malformed)
            }
        );
    }

    #[test]
    fn every_kth_and_seeded_triggers_fire_where_they_should() {
        let seeds = SeedTree::new(5);
        let every: Vec<u64> = (1..=9)
            .filter(|&n| Trigger::Every(3).fires(n, &seeds, "x"))
            .collect();
        assert_eq!(every, vec![3, 6, 9]);
        let half = (1..=1_000)
            .filter(|&n| Trigger::Seeded { ppm: 500_000 }.fires(n, &seeds, "x"))
            .count();
        assert!((400..600).contains(&half), "{half}");
        assert!(Trigger::From(4).fires(4, &seeds, "x") && !Trigger::From(4).fires(3, &seeds, "x"));
    }
}
