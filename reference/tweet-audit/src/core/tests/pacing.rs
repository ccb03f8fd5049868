//! Pacing: never more requests or tokens in a minute than the quota, and no
//! sleep that is not needed.

use super::harness::{
    Archive, Env, LATENCY_MS, T0, expected_lines, numbered, refs, requests_per_minute,
};
use crate::core::{AuditError, MINUTE_MS, Quota};

fn assert_within_quota(env: &Env, quota: Quota) {
    let calls = env.calls();
    for (minute, n) in requests_per_minute(&calls) {
        assert!(
            n <= quota.requests_per_minute,
            "{n} requests in minute {minute}"
        );
    }
    let mut tokens = std::collections::BTreeMap::<u64, u64>::new();
    for call in &calls {
        *tokens.entry(call.at_ms / MINUTE_MS).or_default() += call.tokens;
        assert!(call.ids.len() <= quota.max_batch as usize);
    }
    for (minute, n) in tokens {
        assert!(
            n <= u64::from(quota.tokens_per_minute),
            "{n} tokens in minute {minute}"
        );
    }
    assert!(
        calls.iter().all(|c| !c.overspent),
        "a 429 the pipeline caused"
    );
}

#[test]
fn never_more_requests_in_a_minute_than_allowed() {
    let quota = Quota {
        requests_per_minute: 3,
        tokens_per_minute: 100_000,
        max_batch: 2,
    };
    let env = Env::with_quota(quota);
    let tweets = numbered(1, 60);
    let archive = Archive::of(&refs(&tweets));
    env.run(&archive).unwrap().unwrap();
    assert_eq!(env.lines(), expected_lines(&archive));
    assert_within_quota(&env, quota);
    let calls = env.calls();
    // Full minutes: 3 requests in each but the last.
    let per = requests_per_minute(&calls);
    assert_eq!(calls.len(), 21);
    assert!(per.values().rev().skip(1).all(|&n| n == 3), "{per:?}");
    // Every sleep ends at a minute's start.
    assert!(!env.sleeps().is_empty());
    for (at, ms) in env.sleeps() {
        assert_eq!((at + ms) % MINUTE_MS, 0);
    }
}

#[test]
fn never_more_tokens_in_a_minute_than_allowed_and_batches_fill_the_request() {
    // Criteria of 17 chars; texts of 15 to 17 chars: 5 or 6 a request.
    let quota = Quota {
        requests_per_minute: 100,
        tokens_per_minute: 40,
        max_batch: 50,
    };
    let env = Env::with_quota(quota);
    let tweets = numbered(1, 60);
    let archive = Archive::of(&refs(&tweets));
    env.run(&archive).unwrap().unwrap();
    assert_eq!(env.lines(), expected_lines(&archive));
    assert_within_quota(&env, quota);
    // Each request is as large as the budget allows: the next tweet would
    // pass it.
    let calls = env.calls();
    let chars = |texts: &[String]| 17 + texts.iter().map(|t| t.chars().count()).sum::<usize>();
    for pair in calls.windows(2) {
        let with_next = chars(&pair[0].texts) + pair[1].texts[0].chars().count();
        assert!(with_next.div_ceil(4) > 40, "{:?}", pair[0].texts);
        assert!(pair[0].tokens <= 40);
    }
    assert!(calls.len() > 4);
}

#[test]
fn a_tweet_no_request_can_hold_is_sent_alone_and_refused() {
    let quota = Quota {
        requests_per_minute: 10,
        tokens_per_minute: 10,
        max_batch: 10,
    };
    let env = Env::with_quota(quota);
    let archive = Archive::of(&[("1", "short"), ("2", &"long ".repeat(20))]);
    let result = env.run(&archive).unwrap();
    assert_eq!(result, Err(AuditError::ModelRejected(400)));
    let batches: Vec<Vec<String>> = env.calls().into_iter().map(|c| c.ids).collect();
    assert_eq!(batches, [vec!["1"], vec!["2"]]);
}

#[test]
fn a_fresh_instance_in_the_same_minute_knows_what_the_minute_spent() {
    // 2 requests a minute; the pipeline crashes right after its second
    // request of the first minute is answered (before it saves anything
    // else), and is run again at once.
    let quota = Quota {
        requests_per_minute: 2,
        tokens_per_minute: 100_000,
        max_batch: 2,
    };
    let env = Env::with_quota(quota);
    env.model.state.borrow_mut().crash_every = Some(2);
    let tweets = numbered(1, 20);
    let archive = Archive::of(&refs(&tweets));
    let (result, crashes) = env.run_to_end(&archive);
    result.unwrap();
    assert!(crashes > 2);
    assert_eq!(env.lines(), expected_lines(&archive));
    assert_within_quota(&env, quota);
}

#[test]
fn no_sleep_while_the_quota_has_room() {
    let env = Env::new();
    let tweets = numbered(1, 200);
    let archive = Archive::of(&refs(&tweets));
    env.run(&archive).unwrap().unwrap();
    assert!(env.sleeps().is_empty(), "{:?}", env.sleeps());
    let calls = env.calls().len() as u64;
    assert_eq!(env.now(), T0 + calls * LATENCY_MS);
}
