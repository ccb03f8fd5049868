//! The hooks the buggy plugins override do change what the core does, in
//! the way the gauntlet check named in each plugin's README sees. These
//! rules mirror `plugins/tweet-audit/*/src/lib.rs`; the reference passes
//! the same tests.

use std::collections::BTreeSet;

use super::harness::{Answer, Archive, Env, LATENCY_MS, T0, expected_lines, numbered, refs};
use crate::core::{
    Action, AuditError, Decision, MINUTE_MS, ModelError, Quota, Reference, Rules, backoff_ms,
    decisions,
};

struct ReappendsAfterCrash;

impl Rules for ReappendsAfterCrash {
    fn records_progress(batch: u64) -> bool {
        batch % 4 == 1
    }

    fn truncates_on_resume() -> bool {
        false
    }
}

struct Hammers429;

impl Rules for Hammers429 {
    fn on_model_error(error: ModelError, streak: u32, now: u64) -> Action {
        match error {
            ModelError::ResourceExhausted => Action::Wait(1_000),
            _ => Reference::on_model_error(error, streak, now),
        }
    }
}

struct Retries403;

impl Rules for Retries403 {
    fn on_model_error(error: ModelError, streak: u32, now: u64) -> Action {
        match error {
            ModelError::Rejected(status) if streak > 5 => Action::Stop(status),
            ModelError::Rejected(_) => Action::Wait(backoff_ms(streak)),
            _ => Reference::on_model_error(error, streak, now),
        }
    }
}

struct TrustsBadOutput;

impl Rules for TrustsBadOutput {
    fn decide(text: &str, ids: &[&str]) -> Vec<Option<Decision>> {
        decisions(text, ids)
            .into_iter()
            .map(|d| match d {
                Some(Decision::Keep) => Some(Decision::Keep),
                _ => Some(Decision::Delete),
            })
            .collect()
    }
}

struct BreaksCsvEscaping;

impl Rules for BreaksCsvEscaping {
    fn row(username: &str, id: &str) -> String {
        format!("https://x.com/{username}/status/{id},false")
    }
}

fn archive() -> Archive {
    let tweets = numbered(1, 60);
    Archive::of(&refs(&tweets))
}

fn duplicate_rows(lines: &[String]) -> usize {
    let distinct: BTreeSet<&String> = lines.iter().collect();
    lines.len() - distinct.len()
}

#[test]
fn reappends_after_crash_duplicates_rows_when_crashed_in_every_third_request() {
    let run = |reference: bool| {
        let env = Env::with_quota(Quota {
            max_batch: 4,
            ..super::harness::QUOTA
        });
        env.model.state.borrow_mut().crash_every = Some(3);
        let (result, crashes) = if reference {
            env.run_to_end_with::<Reference>(&archive(), 1_000)
        } else {
            env.run_to_end_with::<ReappendsAfterCrash>(&archive(), 1_000)
        };
        result.unwrap();
        assert!(crashes > 3);
        env.lines()
    };
    assert_eq!(run(true), expected_lines(&archive()));
    let buggy = run(false);
    assert!(duplicate_rows(&buggy) > 0, "{buggy:?}");
    // Without crashes it is the reference.
    let env = Env::new();
    env.run_with::<ReappendsAfterCrash>(&archive())
        .unwrap()
        .unwrap();
    assert_eq!(env.lines(), expected_lines(&archive()));
}

#[test]
fn hammers_429_calls_again_in_the_minute_of_a_429() {
    let run = |reference: bool| {
        let env = Env::new();
        let minute = T0 / MINUTE_MS;
        env.model.state.borrow_mut().storm_minutes = [minute, minute + 1].into();
        let result = if reference {
            env.run_with::<Reference>(&archive())
        } else {
            env.run_with::<Hammers429>(&archive())
        };
        result.unwrap().unwrap();
        assert_eq!(env.lines(), expected_lines(&archive()));
        env.calls()
            .windows(2)
            .filter(|pair| {
                pair[0].result == Err(ModelError::ResourceExhausted)
                    && pair[1].at_ms / MINUTE_MS <= (pair[0].at_ms + LATENCY_MS) / MINUTE_MS
            })
            .count()
    };
    assert_eq!(run(true), 0);
    assert!(run(false) > 10);
}

#[test]
fn retries_403_calls_again_after_a_permanent_error() {
    let run = |reference: bool| {
        let env = Env::new();
        env.script(vec![Answer::Error(ModelError::Rejected(403)); 100]);
        let result = if reference {
            env.run_with::<Reference>(&archive())
        } else {
            env.run_with::<Retries403>(&archive())
        };
        assert_eq!(result, Some(Err(AuditError::ModelRejected(403))));
        env.calls().len()
    };
    assert_eq!(run(true), 1);
    assert_eq!(run(false), 6);
}

#[test]
fn trusts_bad_output_writes_rows_for_tweets_it_was_not_told_to_delete() {
    let run = |reference: bool| {
        let env = Env::new();
        env.script(vec![Answer::Malformed, Answer::Omit(0), Answer::Unknown(1)]);
        let result = if reference {
            env.run_with::<Reference>(&archive())
        } else {
            env.run_with::<TrustsBadOutput>(&archive())
        };
        result.unwrap().unwrap();
        env.lines()
    };
    assert_eq!(run(true), expected_lines(&archive()));
    let buggy = run(false);
    let expected: BTreeSet<String> = expected_lines(&archive()).into_iter().collect();
    let false_rows = buggy.iter().filter(|r| !expected.contains(*r)).count();
    assert!(false_rows > 5, "{false_rows}");
    // Without bad output it is the reference.
    let env = Env::new();
    env.run_with::<TrustsBadOutput>(&archive())
        .unwrap()
        .unwrap();
    assert_eq!(env.lines(), expected_lines(&archive()));
}

#[test]
fn breaks_csv_escaping_leaves_commas_and_quotes_bare() {
    let run = |reference: bool, username: &str| {
        let env = Env::new();
        let mut archive = Archive::of(&[("1", "#bad")]);
        archive.username = username.to_string();
        let result = if reference {
            env.run_with::<Reference>(&archive)
        } else {
            env.run_with::<BreaksCsvEscaping>(&archive)
        };
        result.unwrap().unwrap();
        (env.lines(), expected_lines(&archive))
    };
    let (lines, expected) = run(true, "team \"alpha\", inc");
    assert_eq!(lines, expected);
    let (lines, expected) = run(false, "team \"alpha\", inc");
    assert_ne!(lines, expected);
    assert_eq!(lines[1], "https://x.com/team \"alpha\", inc/status/1,false");
    // A plain username is the same row either way.
    let (lines, expected) = run(false, "ada");
    assert_eq!(lines, expected);
}
