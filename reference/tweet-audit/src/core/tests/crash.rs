//! Crashes at any import, then a fresh pipeline over the same store,
//! output, model and clock: every DELETE is in the file exactly once.

use super::harness::{Answer, Archive, Env, expected_lines, numbered, refs};
use crate::core::{AuditError, ModelError, Quota, Summary};

const QUOTA: Quota = Quota {
    requests_per_minute: 4,
    tokens_per_minute: 100_000,
    max_batch: 4,
};

/// A small archive whose clean run crosses every path: local rows, pacing
/// sleeps, a 5xx, a 429, a malformed answer, a tweet left out.
fn archive() -> Archive {
    let tweets = numbered(1, 24);
    Archive::of(&refs(&tweets))
}

fn script() -> Vec<Answer> {
    vec![
        Answer::Truth,
        Answer::Error(ModelError::Unavailable(503)),
        Answer::Omit(1),
        Answer::Malformed,
        Answer::Error(ModelError::ResourceExhausted),
    ]
}

fn env() -> Env {
    let env = Env::with_quota(QUOTA);
    env.script(script());
    env
}

/// The clean run's summary and number of crash points.
fn clean() -> (Summary, u64) {
    let env = env();
    let summary = env.run(&archive()).unwrap().unwrap();
    assert_eq!(env.lines(), expected_lines(&archive()));
    (summary, env.points.count())
}

fn assert_exact(env: &Env, result: Result<Summary, AuditError>, summary: Summary, what: &str) {
    assert_eq!(result, Ok(summary), "{what}");
    assert_eq!(env.lines(), expected_lines(&archive()), "{what}");
    // And run again, without crashes: nothing more.
    env.points.clear();
    assert_eq!(env.run(&archive()), Some(Ok(summary)), "{what}");
    assert_eq!(env.lines(), expected_lines(&archive()), "{what}");
}

#[test]
fn one_crash_at_any_point_before_or_after_any_import() {
    let (summary, points) = clean();
    assert!(points > 60, "{points}");
    for at in 0..points {
        let env = env();
        env.points.crash_at(at);
        let (result, crashes) = env.run_to_end(&archive());
        assert_eq!(crashes, 1, "crash at point {at}");
        assert_exact(&env, result, summary, &format!("crash at point {at}"));
    }
}

#[test]
fn two_crashes_at_any_two_points() {
    let (summary, points) = clean();
    for first in (0..points).step_by(3) {
        for gap in (1..points).step_by(4) {
            let env = env();
            env.points.crash_at(first);
            env.points.crash_at(first + gap);
            let (result, _) = env.run_to_end(&archive());
            assert_exact(
                &env,
                result,
                summary,
                &format!("crashes at {first} and {}", first + gap),
            );
        }
    }
}

#[test]
fn many_crashes_at_irregular_points() {
    let (summary, _) = clean();
    for seed in 1..=20u64 {
        let env = env();
        // Gaps of 5 to 60 points, from a small LCG.
        let mut state = seed;
        let mut at = 0;
        for _ in 0..100 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            at += 5 + (state >> 33) % 56;
            env.points.crash_at(at);
        }
        let (result, crashes) = env.run_to_end(&archive());
        assert!(crashes >= 1, "seed {seed}");
        assert_exact(&env, result, summary, &format!("seed {seed}"));
    }
}

#[test]
fn a_crash_inside_every_third_request() {
    let (summary, _) = clean();
    let env = env();
    env.model.state.borrow_mut().crash_every = Some(3);
    let (result, crashes) = env.run_to_end(&archive());
    assert!(crashes >= 3, "{crashes}");
    assert_exact(&env, result, summary, "every 3rd request");
}

#[test]
fn a_crash_on_a_large_archive_resumes_without_asking_again() {
    // 1,000 tweets, a crash inside the 20th request: the 19 batches
    // answered before it are not asked again.
    let env = Env::new();
    let tweets = numbered(1, 1_000);
    let archive = Archive::of(&refs(&tweets));
    let mut crashes_at = None;
    {
        let probe = Env::new();
        probe.run(&archive).unwrap().unwrap();
        let calls = probe.calls();
        // The point right after the 20th classify.
        let classify_points: Vec<usize> = probe
            .points
            .calls()
            .iter()
            .enumerate()
            .filter(|(_, name)| **name == "classify")
            .map(|(i, _)| i)
            .collect();
        crashes_at = crashes_at.or(Some(classify_points[19] as u64 * 2 + 1));
        assert!(calls.len() > 60);
    }
    env.points.crash_at(crashes_at.unwrap());
    let (result, crashes) = env.run_to_end(&archive);
    result.unwrap();
    assert_eq!(crashes, 1);
    assert_eq!(env.lines(), expected_lines(&archive));
    let calls = env.calls();
    assert_eq!(
        calls[20].ids, calls[19].ids,
        "the crashed batch is asked again"
    );
    assert_ne!(calls[21].ids, calls[19].ids);
    let asked: usize = calls.iter().map(|c| c.ids.len()).sum();
    let distinct: std::collections::BTreeSet<&String> = calls.iter().flat_map(|c| &c.ids).collect();
    assert_eq!(asked, distinct.len() + calls[19].ids.len());
}
