//! Model errors: 429 waits for the next minute, 5xx backs off, 400/403
//! stops.

use super::harness::{Answer, Archive, Env, LATENCY_MS, T0, expected_lines, numbered, refs};
use crate::core::{AuditError, MINUTE_MS, ModelError};

const E429: Answer = Answer::Error(ModelError::ResourceExhausted);
const E503: Answer = Answer::Error(ModelError::Unavailable(503));

/// After each 429, the next request comes in a later minute than both the
/// 429's request and its answer.
fn assert_no_hammering(env: &Env) {
    let calls = env.calls();
    for pair in calls.windows(2) {
        if pair[0].result == Err(ModelError::ResourceExhausted) {
            let answered = pair[0].at_ms + LATENCY_MS;
            assert!(
                pair[1].at_ms / MINUTE_MS > answered / MINUTE_MS,
                "called at {} after a 429 answered at {answered}",
                pair[1].at_ms
            );
        }
    }
}

#[test]
fn a_429_storm_waits_out_each_minute() {
    let env = Env::new();
    let minute = T0 / MINUTE_MS;
    env.model.state.borrow_mut().storm_minutes = [minute, minute + 1, minute + 2].into();
    let tweets = numbered(1, 30);
    let archive = Archive::of(&refs(&tweets));
    env.run(&archive).unwrap().unwrap();
    assert_eq!(env.lines(), expected_lines(&archive));
    assert_no_hammering(&env);
    let calls = env.calls();
    // One request in each storm minute, then on.
    let e429 = calls
        .iter()
        .filter(|c| c.result == Err(ModelError::ResourceExhausted))
        .count();
    assert_eq!(e429, 3);
    assert_eq!(calls[3].at_ms, (minute + 3) * MINUTE_MS);
}

#[test]
fn a_429_answered_in_the_next_minute_waits_for_the_one_after() {
    let env = Env::new();
    // The request goes 300 ms before a minute ends; its answer comes in
    // the next minute.
    let start = (T0 / MINUTE_MS + 1) * MINUTE_MS - 300;
    env.clock.now.set(start);
    env.script(vec![E429]);
    let archive = Archive::of(&[("1", "#bad")]);
    env.run(&archive).unwrap().unwrap();
    let calls = env.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].at_ms, (T0 / MINUTE_MS + 2) * MINUTE_MS);
    assert_no_hammering(&env);
}

#[test]
fn transient_errors_back_off_exponentially_up_to_32_seconds() {
    let env = Env::new();
    env.script(vec![E503; 8]);
    let archive = Archive::of(&[("1", "#bad"), ("2", "fine")]);
    env.run(&archive).unwrap().unwrap();
    let waits: Vec<u64> = env.sleeps().into_iter().map(|(_, ms)| ms).collect();
    assert_eq!(
        waits,
        [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000]
    );
    assert_eq!(env.calls().len(), 9);
    assert_eq!(env.lines(), expected_lines(&archive));
}

#[test]
fn every_5xx_is_transient() {
    let env = Env::new();
    env.script(vec![
        Answer::Error(ModelError::Unavailable(500)),
        Answer::Error(ModelError::Unavailable(504)),
    ]);
    let archive = Archive::of(&[("1", "#bad")]);
    env.run(&archive).unwrap().unwrap();
    assert_eq!(env.calls().len(), 3);
    assert_eq!(env.lines(), expected_lines(&archive));
}

#[test]
fn a_success_or_a_429_restarts_the_backoff() {
    let env = Env::new();
    // max-batch 10: 30 asked tweets are 3 batches.
    env.script(vec![
        E503,
        Answer::Truth,
        E503,
        E503,
        E429,
        E503,
        Answer::Truth,
    ]);
    let tweets: Vec<(String, String)> =
        (1..=30).map(|i| (i.to_string(), format!("t{i}"))).collect();
    let archive = Archive::of(&refs(&tweets));
    env.run(&archive).unwrap().unwrap();
    let waits: Vec<u64> = env.sleeps().into_iter().map(|(_, ms)| ms).collect();
    assert_eq!(waits.len(), 5);
    assert_eq!(waits[..3], [1_000, 1_000, 2_000]);
    assert_eq!((env.sleeps()[3].0 + waits[3]) % MINUTE_MS, 0);
    assert_eq!(waits[4], 1_000);
}

#[test]
fn a_403_stops_at_once_keeping_the_rows_before_it() {
    let env = Env::new();
    env.script(vec![
        Answer::Truth,
        Answer::Error(ModelError::Rejected(403)),
    ]);
    let tweets = numbered(1, 40);
    let archive = Archive::of(&refs(&tweets));
    assert_eq!(
        env.run(&archive).unwrap(),
        Err(AuditError::ModelRejected(403))
    );
    assert_eq!(env.calls().len(), 2);
    assert!(env.sleeps().is_empty());
    // The first batch's rows (tweets 1 to 13), and the forbidden 14's
    // after them, are in the file; 16 was being asked about.
    let rows = env.lines();
    let before_16: Vec<String> = expected_lines(&archive)
        .into_iter()
        .filter(|r| {
            r.split("/status/")
                .nth(1)
                .is_none_or(|rest| rest.trim_end_matches(",false").parse::<u32>().unwrap() < 16)
        })
        .collect();
    assert_eq!(rows, before_16);
    assert!(rows.iter().any(|r| r.contains("/14,")));
    // Run again once the key works: the rest, each row once.
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(env.lines(), expected_lines(&archive));
    assert_eq!(summary.deleted as usize, env.lines().len() - 1);
}

#[test]
fn a_400_stops_too() {
    let env = Env::new();
    env.script(vec![Answer::Error(ModelError::Rejected(400))]);
    let archive = Archive::of(&[("1", "#bad")]);
    assert_eq!(
        env.run(&archive).unwrap(),
        Err(AuditError::ModelRejected(400))
    );
    assert_eq!(env.calls().len(), 1);
}
