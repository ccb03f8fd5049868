//! The tweet-audit checks. Each judges the pipeline's run against the
//! host's own truth (what the model decides of every tweet under the
//! scenario's criteria) and the model's log of every call, so that a
//! failure names the tweet, the line of the file, or the model call.

use std::collections::{BTreeMap, BTreeSet};

use super::Run;
use super::mock::{Answer, BadAnswer, MINUTE_MS, ModelCall};
use super::model::{Decision, HEADER, Outcome, Truth, row, row_id};
use super::scenario::{Expect, Scenario};
use crate::check::{CheckResult, completes};
use crate::report::count;

pub const EVERY_TWEET_CLASSIFIED: &str = "every-tweet-classified";
pub const DELETES_EXACTLY_ONCE: &str = "deletes-exactly-once";
pub const NO_FALSE_ROWS: &str = "no-false-rows";
pub const CSV_EXACT: &str = "csv-exact";
pub const RATE_LIMIT_RESPECTED: &str = "rate-limit-respected";
pub const BACKOFF_RESPECTED: &str = "backoff-respected";
pub const PERMANENT_ERRORS_STOP: &str = "permanent-errors-stop";
pub const RERUN_DOES_NOTHING: &str = "rerun-does-nothing";

/// Every check of the track, in the order reports list them.
pub fn all(scenario: &Scenario, run: &Run) -> Vec<CheckResult> {
    let facts = Facts::new(scenario, run);
    vec![
        completes(&scenario.plan, &run.history, "run"),
        every_tweet_classified(&facts),
        deletes_exactly_once(&facts),
        no_false_rows(&facts),
        csv_exact(&facts),
        rate_limit_respected(&facts),
        backoff_respected(&facts),
        permanent_errors_stop(&facts),
        rerun_does_nothing(&facts),
    ]
}

/// After a `run` returned a finished audit, a later `run` makes no model
/// call and leaves the file alone (the WIT: "called again after it
/// returned, `run` makes no model call, leaves the file as it is"; the
/// file's digest alone cannot tell a pipeline that redid the whole audit
/// and wrote the same rows).
fn rerun_does_nothing(facts: &Facts) -> CheckResult {
    let Some(finished) = facts
        .run
        .history
        .returned()
        .find(|(_, _, o)| matches!(o.outcome, Outcome::Summary(_)))
        .map(|(_, call, _)| call)
    else {
        return CheckResult::pass(RERUN_DOES_NOTHING, "no audit finished".to_string());
    };
    let later = |instance: u32| facts.call_of(instance) > finished;
    if let Some(call) = facts.run.model.calls.iter().find(|c| later(c.instance)) {
        return facts.fail(
            RERUN_DOES_NOTHING,
            call.instance,
            format!(
                "run call {} made model call #{} after the audit had finished at run call {finished}",
                facts.call_of(call.instance),
                call.n
            ),
        );
    }
    if let Some(&instance) = facts.run.file.changes.iter().find(|&&i| later(i)) {
        return facts.fail(
            RERUN_DOES_NOTHING,
            instance,
            format!(
                "run call {} changed the output file after the audit had finished at run call {finished}",
                facts.call_of(instance)
            ),
        );
    }
    let reruns = facts
        .scenario
        .plan
        .call_count()
        .saturating_sub(finished + 1);
    CheckResult::pass(
        RERUN_DOES_NOTHING,
        format!("{reruns} run(s) after the finished audit: no model call, nothing written"),
    )
}

/// What the checks share: the truth by id and the run's rows.
struct Facts<'a> {
    scenario: &'a Scenario,
    run: &'a Run,
    /// Each tweet's index in archive order, by id.
    index: BTreeMap<&'a str, usize>,
    /// What the last `run` returned, if it returned.
    outcome: Option<&'a Outcome>,
    /// The `run` call (plan call index) each instance served.
    run_of_instance: Vec<usize>,
}

impl<'a> Facts<'a> {
    fn new(scenario: &'a Scenario, run: &'a Run) -> Self {
        let index = scenario
            .truths
            .iter()
            .enumerate()
            .map(|(i, t)| (t.tweet.id.as_str(), i))
            .collect();
        let mut run_of_instance = Vec::new();
        for (_, call, output) in run.history.returned() {
            for _ in 0..=output.crashes {
                run_of_instance.push(call);
            }
        }
        Facts {
            scenario,
            run,
            index,
            outcome: run.history.returned().last().map(|(_, _, o)| &o.outcome),
            run_of_instance,
        }
    }

    fn truth(&self, id: &str) -> Option<&'a Truth> {
        self.index.get(id).map(|&i| &self.scenario.truths[i])
    }

    /// The plan call an instance worked for (the last one, for an instance
    /// still running when the run aborted).
    fn call_of(&self, instance: u32) -> usize {
        self.run_of_instance
            .get(instance as usize)
            .copied()
            .unwrap_or_else(|| self.scenario.plan.call_count().saturating_sub(1))
    }

    fn fail(&self, name: &'static str, instance: u32, message: String) -> CheckResult {
        CheckResult::fail(name, Some(self.call_of(instance)), message)
    }

    /// Milliseconds since the scenario began, for messages.
    fn at(&self, ms: u64) -> String {
        let t = ms.saturating_sub(self.scenario.plan.start_ms);
        format!("t+{}.{:03} s", t / 1_000, t % 1_000)
    }

    /// The rows of the file: (1-based line, id named, appending instance).
    fn rows(&self) -> impl Iterator<Item = (usize, &'a str, u32)> {
        self.run
            .file
            .lines
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(i, l)| row_id(&l.text).map(|id| (i + 1, id, l.instance)))
    }

    /// The crash that ended `instance`, as words.
    fn crash_before(&self, instance: u32) -> String {
        match self.run.crashes.iter().find(|c| c.instance + 1 == instance) {
            Some(c) => format!("the resume after the crash {}", c.reason),
            None if instance == 0 => "the first instance".to_string(),
            None => format!("the `run` call of instance {instance}"),
        }
    }

    fn calls(&self) -> &'a [ModelCall] {
        &self.run.model.calls
    }
}

/// Why a check that needs a whole audit does not apply, if it does not.
fn not_whole(f: &Facts, name: &'static str) -> Option<CheckResult> {
    match f.scenario.expect {
        Expect::BadArchive => Some(CheckResult::pass(
            name,
            "not applicable: the archive is bad, the run must stop before any work",
        )),
        Expect::ModelRejected => Some(CheckResult::pass(
            name,
            "not applicable: the model rejects the key, the run must stop early",
        )),
        Expect::Ok if !matches!(f.outcome, Some(Outcome::Summary(_))) => Some(CheckResult::skip(
            name,
            "the run did not finish with a summary (see the other checks)",
        )),
        Expect::Ok => None,
    }
}

fn quote(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    let more = if text.chars().count() > 40 { "…" } else { "" };
    format!("{:?}", format!("{short}{more}"))
}

/// Every non-retweet is decided, by a forbidden word or by a valid answer
/// of the model the pipeline saw; no retweet is sent; the summary counts
/// what the archive holds.
fn every_tweet_classified(f: &Facts) -> CheckResult {
    for c in f.calls() {
        for id in &c.ids {
            match f.truth(id) {
                None => {
                    return f.fail(
                        EVERY_TWEET_CLASSIFIED,
                        c.instance,
                        format!(
                            "model call #{} sent tweet {id}, which is not in the archive",
                            c.n
                        ),
                    );
                }
                Some(t) if t.decision.is_none() => {
                    return f.fail(
                        EVERY_TWEET_CLASSIFIED,
                        c.instance,
                        format!(
                            "model call #{} sent retweet {id} ({}): retweets are skipped, never classified",
                            c.n,
                            quote(&t.tweet.text)
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }
    if let Some(result) = not_whole(f, EVERY_TWEET_CLASSIFIED) {
        return result;
    }
    let decided: BTreeSet<&str> = f
        .calls()
        .iter()
        .filter(|c| c.seen)
        .flat_map(|c| match &c.answer {
            Answer::Text { decided, .. } => decided.iter().map(|(id, _)| id.as_str()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut by_word = 0;
    let last = f.scenario.plan.call_count().saturating_sub(1);
    for t in &f.scenario.truths {
        match &t.decision {
            None => {}
            Some(Decision::Forbidden(_)) => by_word += 1,
            Some(_) if decided.contains(t.tweet.id.as_str()) => {}
            Some(_) => {
                let sent: Vec<String> = f
                    .calls()
                    .iter()
                    .filter(|c| c.ids.contains(&t.tweet.id))
                    .map(|c| format!("#{}", c.n))
                    .collect();
                let how = if sent.is_empty() {
                    "it was never sent to the model".to_string()
                } else {
                    format!(
                        "no answer the pipeline saw decided it (sent in model calls {})",
                        sent.join(", ")
                    )
                };
                return CheckResult::fail(
                    EVERY_TWEET_CLASSIFIED,
                    Some(last),
                    format!(
                        "tweet {} ({}) was never classified: {how}",
                        t.tweet.id,
                        quote(&t.tweet.text)
                    ),
                );
            }
        }
    }
    let expected = f.scenario.summary();
    if let Some(Outcome::Summary(got)) = f.outcome
        && *got != expected
    {
        return CheckResult::fail(
            EVERY_TWEET_CLASSIFIED,
            Some(last),
            format!(
                "the summary says {} tweets, {} retweets, {} deleted, {} kept; the archive has {}, {}, {}, {}",
                got.tweets,
                got.retweets,
                got.deleted,
                got.kept,
                expected.tweets,
                expected.retweets,
                expected.deleted,
                expected.kept
            ),
        );
    }
    let classified = expected.deleted + expected.kept;
    CheckResult::pass(
        EVERY_TWEET_CLASSIFIED,
        format!(
            "{} classified ({by_word} by a forbidden word), {} skipped",
            count(classified as usize, "tweet"),
            count(expected.retweets as usize, "retweet")
        ),
    )
}

/// Every tweet the model decides DELETE has exactly one row, whatever the
/// crashes.
fn deletes_exactly_once(f: &Facts) -> CheckResult {
    let mut rows: BTreeMap<&str, Vec<(usize, u32)>> = BTreeMap::new();
    for (line, id, instance) in f.rows() {
        rows.entry(id).or_default().push((line, instance));
    }
    // A duplicate first: it is a bug whether or not the run finished.
    let duplicate = rows
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .min_by_key(|(_, at)| at[1].0);
    if let Some((id, at)) = duplicate {
        let (line, instance) = at[1];
        return f.fail(
            DELETES_EXACTLY_ONCE,
            instance,
            format!(
                "tweet {id} has {} (lines {}): line {line} was appended again by {}",
                count(at.len(), "row"),
                at.iter()
                    .map(|(l, _)| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                f.crash_before(instance)
            ),
        );
    }
    if let Some(result) = not_whole(f, DELETES_EXACTLY_ONCE) {
        return result;
    }
    let last = f.scenario.plan.call_count().saturating_sub(1);
    let mut deletes = 0;
    for t in &f.scenario.truths {
        let Some(decision) = t.decision.as_ref().filter(|d| d.deletes()) else {
            continue;
        };
        deletes += 1;
        if !rows.contains_key(t.tweet.id.as_str()) {
            return CheckResult::fail(
                DELETES_EXACTLY_ONCE,
                Some(last),
                format!(
                    "no row for tweet {} ({}), which the model decides DELETE: it {}",
                    t.tweet.id,
                    quote(&t.tweet.text),
                    decision.reason()
                ),
            );
        }
    }
    CheckResult::pass(
        DELETES_EXACTLY_ONCE,
        format!(
            "{}, each once, across {}",
            count(deletes, "row"),
            super::model::crashes(f.run.crashes.len())
        ),
    )
}

/// The bad answer a call gave about `id`, if it gave one.
fn bad_answer_about<'a>(c: &'a ModelCall, id: &str) -> Option<&'a BadAnswer> {
    match &c.answer {
        Answer::Text { bad: Some(bad), .. } => match bad {
            BadAnswer::Malformed if c.ids.iter().any(|i| i == id) => Some(bad),
            BadAnswer::MissingDecision { id: i }
            | BadAnswer::UnknownDecision { id: i, .. }
            | BadAnswer::LeftOut { id: i }
                if i == id =>
            {
                Some(bad)
            }
            _ => None,
        },
        _ => None,
    }
}

/// No row names a tweet the model does not decide DELETE: not a bad
/// answer, not a retweet, not an id from nowhere.
fn no_false_rows(f: &Facts) -> CheckResult {
    let mut rows = 0;
    for (line, id, instance) in f.rows() {
        rows += 1;
        let why = match f.truth(id) {
            None => "which is not in the archive".to_string(),
            Some(t) => match &t.decision {
                None => "a retweet (retweets are skipped)".to_string(),
                Some(Decision::Keep) => {
                    let bad = f
                        .calls()
                        .iter()
                        .rev()
                        .find_map(|c| bad_answer_about(c, id).map(|b| (c.n, b)));
                    let context = match bad {
                        Some((n, bad)) => {
                            format!("; model call #{n} answered {bad}, which decides nothing")
                        }
                        None => String::new(),
                    };
                    format!("which the model keeps ({}){context}", quote(&t.tweet.text))
                }
                Some(_) => continue,
            },
        };
        return f.fail(
            NO_FALSE_ROWS,
            instance,
            format!("line {line} deletes tweet {id}, {why}"),
        );
    }
    CheckResult::pass(
        NO_FALSE_ROWS,
        format!(
            "{} checked: each a tweet the model decides DELETE",
            count(rows, "row")
        ),
    )
}

/// The file is the header, then rows exactly as the WIT spells them (URL,
/// escaping), in archive order.
fn csv_exact(f: &Facts) -> CheckResult {
    let lines = &f.run.file.lines;
    let Some(first) = lines.first() else {
        if f.scenario.expect == Expect::Ok && matches!(f.outcome, Some(Outcome::Summary(_))) {
            return CheckResult::fail(
                CSV_EXACT,
                Some(0),
                format!("the file is empty: it starts with the header `{HEADER}`"),
            );
        }
        return CheckResult::pass(CSV_EXACT, "no file written");
    };
    if first.text != HEADER {
        return f.fail(
            CSV_EXACT,
            first.instance,
            format!(
                "line 1: expected the header `{HEADER}`, got `{}`",
                first.text
            ),
        );
    }
    let mut last_index = None;
    let mut seen = BTreeSet::new();
    for (i, l) in lines.iter().enumerate().skip(1) {
        let line = i + 1;
        let Some(id) = row_id(&l.text) else {
            return f.fail(
                CSV_EXACT,
                l.instance,
                format!(
                    "line {line} is not a row `https://x.com/<username>/status/<id>,false`: `{}`",
                    l.text
                ),
            );
        };
        let expected = row(&f.scenario.username, id);
        if l.text != expected {
            return f.fail(
                CSV_EXACT,
                l.instance,
                format!(
                    "line {line}: expected `{expected}`, got `{}` (RFC 4180: a field holding a comma or a quote is quoted, its quotes doubled)",
                    l.text
                ),
            );
        }
        // Order among first rows; repeats are deletes-exactly-once's.
        if !seen.insert(id) {
            continue;
        }
        if let Some(&index) = f.index.get(id) {
            if let Some((prev_line, prev)) = last_index
                && index < prev
            {
                return f.fail(
                    CSV_EXACT,
                    l.instance,
                    format!(
                        "line {line} (tweet {id}) comes after line {prev_line}, but its tweet comes first in the archive: rows are in archive order"
                    ),
                );
            }
            last_index = Some((line, index));
        }
    }
    CheckResult::pass(
        CSV_EXACT,
        format!(
            "the header and {} exactly as specified, in archive order",
            count(lines.len() - 1, "row")
        ),
    )
}

/// After a 429 the pipeline saw, no call in the same minute.
fn rate_limit_respected(f: &Facts) -> CheckResult {
    // Per instance: the last 429 it saw (call, minute, answered at).
    let mut last_429: BTreeMap<u32, (u64, u64, u64)> = BTreeMap::new();
    let (mut own, mut storm) = (0, 0);
    for c in f.calls() {
        if let Some(&(n, minute, answered)) = last_429.get(&c.instance)
            && c.sent_ms / MINUTE_MS == minute
        {
            return f.fail(
                RATE_LIMIT_RESPECTED,
                c.instance,
                format!(
                    "model call #{} at {} came {} ms after the 429 of call #{n}, in the same minute: wait for the next minute (it begins at {})",
                    c.n,
                    f.at(c.sent_ms),
                    c.sent_ms.saturating_sub(answered),
                    f.at((minute + 1) * MINUTE_MS)
                ),
            );
        }
        if let Answer::Exhausted { storm: s } = c.answer {
            if s {
                storm += 1;
            } else {
                own += 1;
            }
            if c.seen {
                last_429.insert(c.instance, (c.n, c.sent_ms / MINUTE_MS, c.answered_ms));
            }
        }
    }
    if own + storm == 0 {
        return CheckResult::pass(RATE_LIMIT_RESPECTED, "no 429 met");
    }
    CheckResult::pass(
        RATE_LIMIT_RESPECTED,
        format!(
            "{}, each waited out ({own} over the pipeline's own pace, {storm} in storms)",
            count(own + storm, "429")
        ),
    )
}

/// After the n-th transient error in a row, the next call waits at least
/// min(1 s * 2^(n-1), 32 s).
fn backoff_respected(f: &Facts) -> CheckResult {
    // Per instance: (errors in a row, the last one's call, status, answered at).
    let mut streak: BTreeMap<u32, (u32, u64, u16, u64)> = BTreeMap::new();
    let mut transient = 0;
    for c in f.calls() {
        if let Some(&(n, call, status, answered)) = streak.get(&c.instance)
            && n > 0
        {
            let need = backoff_ms(n);
            let gap = c.sent_ms.saturating_sub(answered);
            if gap < need {
                return f.fail(
                    BACKOFF_RESPECTED,
                    c.instance,
                    format!(
                        "model call #{} came {gap} ms after call #{call} answered {status} ({} in a row): back off at least {need} ms",
                        c.n,
                        count(n as usize, "transient error")
                    ),
                );
            }
        }
        if !c.seen {
            continue;
        }
        match c.answer {
            Answer::Unavailable { status } => {
                transient += 1;
                let n = streak.get(&c.instance).map_or(0, |s| s.0) + 1;
                streak.insert(c.instance, (n, c.n, status, c.answered_ms));
            }
            _ => {
                streak.remove(&c.instance);
            }
        }
    }
    if transient == 0 {
        return CheckResult::pass(BACKOFF_RESPECTED, "no transient error met");
    }
    CheckResult::pass(
        BACKOFF_RESPECTED,
        format!(
            "{}, each retried after its backoff",
            count(transient, "transient error")
        ),
    )
}

/// The wait the WIT asks for after the n-th transient error in a row.
pub fn backoff_ms(n: u32) -> u64 {
    (1_000u64 << n.saturating_sub(1).min(5)).min(32_000)
}

/// A bad archive is refused before any model call; after a 400 or 403 the
/// model is never called again and `run` returns `model-rejected`.
fn permanent_errors_stop(f: &Facts) -> CheckResult {
    let last = f.scenario.plan.call_count().saturating_sub(1);
    if f.scenario.expect == Expect::BadArchive {
        if let Some(c) = f.calls().first() {
            return f.fail(
                PERMANENT_ERRORS_STOP,
                c.instance,
                format!(
                    "model call #{} was made, but the archive holds a file that is not an archive part ({}): check every file before any call",
                    c.n,
                    f.scenario.files.last().map_or("", |file| file.path.as_str())
                ),
            );
        }
        return match f.outcome {
            Some(Outcome::BadArchive(_)) | None => {
                CheckResult::pass(PERMANENT_ERRORS_STOP, "the bad archive was refused")
            }
            Some(other) => CheckResult::fail(
                PERMANENT_ERRORS_STOP,
                Some(last),
                format!("run returned {other}; expected bad-archive"),
            ),
        };
    }
    if let Some((rejected, status)) = f.run.model.seen_rejection() {
        if let Some(c) = f.calls().iter().find(|c| c.n > rejected) {
            return f.fail(
                PERMANENT_ERRORS_STOP,
                c.instance,
                format!(
                    "model call #{} came after call #{rejected} was rejected for good ({status}): a 400 or 403 is permanent; stop and return model-rejected({status})",
                    c.n
                ),
            );
        }
        return match f.outcome {
            Some(Outcome::ModelRejected(s)) if *s == status => CheckResult::pass(
                PERMANENT_ERRORS_STOP,
                format!("stopped at the {status} of model call #{rejected}"),
            ),
            None => CheckResult::skip(PERMANENT_ERRORS_STOP, "the run did not return"),
            Some(other) => CheckResult::fail(
                PERMANENT_ERRORS_STOP,
                Some(last),
                format!(
                    "run returned {other} after model call #{rejected} was rejected for good; expected model-rejected({status})"
                ),
            ),
        };
    }
    match f.outcome {
        Some(Outcome::ModelRejected(status)) => CheckResult::fail(
            PERMANENT_ERRORS_STOP,
            Some(last),
            format!("run returned model-rejected({status}), but the model rejected no call it saw"),
        ),
        Some(Outcome::BadArchive(why)) => CheckResult::fail(
            PERMANENT_ERRORS_STOP,
            Some(last),
            format!("run refused a good archive: bad-archive({why:?})"),
        ),
        _ => CheckResult::pass(PERMANENT_ERRORS_STOP, "no permanent error to stop at"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_to_a_cap_of_32() {
        let waits: Vec<u64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(
            waits,
            vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000]
        );
    }
}
