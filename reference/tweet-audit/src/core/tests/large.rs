//! The large archive: 20,000 tweets in two files, paced by the token quota.

use super::harness::{Archive, Env, T0, current, expected_lines, requests_per_minute};
use crate::core::{MINUTE_MS, Quota};

/// `n` tweets from `first` of about 280 characters, some with escapes,
/// emoji and commas; every 4th breaks the rule, every 9th is a retweet.
fn long_tweets(first: u64, n: u64) -> Vec<(String, String)> {
    (first..first + n)
        .map(|i| {
            let mut text = if i % 9 == 0 {
                format!("RT @friend: {i} ")
            } else {
                format!("{i}: ")
            };
            text.push_str("a \"quoted\" line,\nthen emoji 😀 and café; ");
            while text.chars().count() < 270 {
                text.push_str("words words ");
            }
            if i % 4 == 0 {
                text.push_str("#bad");
            }
            (format!("{}", 1_500_000_000_000_000_000 + i), text)
        })
        .collect()
}

#[test]
fn twenty_thousand_tweets_fill_every_minute_of_tokens() {
    let quota = Quota {
        requests_per_minute: 60,
        tokens_per_minute: 100_000,
        max_batch: 50,
    };
    let env = Env::with_quota(quota);
    let part0 = long_tweets(0, 10_000);
    let part1 = long_tweets(10_000, 10_000);
    let refs = |t: &[(String, String)]| -> String {
        let r: Vec<(&str, &str)> = t.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        current(0, &r)
    };
    let archive = Archive::new(vec![
        ("data/tweets.js".to_string(), refs(&part0)),
        (
            "data/tweets-part1.js".to_string(),
            refs(&part1).replacen("part0", "part1", 1),
        ),
    ]);
    let bytes: usize = archive.files.iter().map(|(_, c)| c.len()).sum();
    assert!(bytes > 6_000_000, "{bytes}");
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(summary.tweets, 20_000);
    assert_eq!(summary.retweets, 2_223);
    assert_eq!(env.lines(), expected_lines(&archive));

    let calls = env.calls();
    let asked: usize = calls.iter().map(|c| c.ids.len()).sum();
    assert_eq!(asked, 20_000 - 2_223);
    // Full batches: one request per 50 tweets.
    assert_eq!(calls.len(), asked.div_ceil(50));
    assert!(calls.iter().all(|c| !c.overspent));
    let per = requests_per_minute(&calls);
    assert!(per.values().all(|&n| n <= 60));
    // Token-bound: 28 requests of ~3,500 tokens a minute; the run takes
    // no more minutes than the tokens need, plus the last one.
    let tokens: u64 = calls.iter().map(|c| c.tokens).sum();
    let minutes = (env.now() - T0).div_ceil(MINUTE_MS);
    assert!(
        minutes <= tokens.div_ceil(100_000) + 1,
        "{minutes} minutes for {tokens} tokens"
    );
}
