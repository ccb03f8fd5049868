//! Whole runs without faults: the file, the summary, what is sent, reruns.

use super::harness::{Archive, Env, current, expected_lines, legacy, numbered, refs};
use crate::core::{CHECKPOINT_KEY, Checkpoint, Summary};

#[test]
fn rows_in_archive_order_with_the_header_and_the_summary() {
    let env = Env::new();
    let archive = Archive::of(&[
        ("10", "good morning"),
        ("11", "this is #bad"),
        ("12", "RT @bob: #bad news"),
        ("13", "crypto, anyone?"),
        ("14", "fine"),
        ("15", "#bad again"),
    ]);
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(
        summary,
        Summary {
            tweets: 6,
            retweets: 1,
            deleted: 3,
            kept: 2
        }
    );
    assert_eq!(
        env.lines(),
        [
            "tweet_url,deleted",
            "https://x.com/ada/status/11,false",
            "https://x.com/ada/status/13,false",
            "https://x.com/ada/status/15,false",
        ]
    );
    assert_eq!(env.lines(), expected_lines(&archive));
}

#[test]
fn retweets_are_counted_and_never_sent() {
    let env = Env::new();
    let archive = Archive::of(&[
        ("1", "RT @a: hello #bad"),
        ("2", "RT @b: crypto"),
        ("3", "rt @c: lowercase is no retweet #bad"),
        ("4", " RT @d: nor is a leading space"),
    ]);
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(summary.retweets, 2);
    assert_eq!(summary.deleted + summary.kept, 2);
    let asked: Vec<String> = env.calls().into_iter().flat_map(|c| c.ids).collect();
    assert_eq!(asked, ["3", "4"]);
    assert_eq!(
        env.lines(),
        ["tweet_url,deleted", "https://x.com/ada/status/3,false"]
    );
}

#[test]
fn the_model_gets_decoded_texts_and_the_criteria() {
    let env = Env::new();
    let text = "quote \" comma, newline\n emoji 😀 é";
    let archive = Archive::of(&[("1", text)]);
    env.run(&archive).unwrap().unwrap();
    let calls = env.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].texts, [text]);
    // "crypto" + "no politics" + the text: 6 + 11 + 33 = 50 chars.
    assert_eq!(text.chars().count(), 33);
    assert_eq!(calls[0].tokens, 13);
}

#[test]
fn both_formats_and_several_parts_in_one_archive() {
    let env = Env::new();
    let archive = Archive::new(vec![
        (
            "data/tweets.js".to_string(),
            current(0, &[("1", "a #bad"), ("2", "b")]),
        ),
        (
            "data/tweets-part1.js".to_string(),
            current(1, &[("3", "c #bad")]),
        ),
        ("old/tweet.js".to_string(), legacy(0, &[("4", "d crypto")])),
        (
            "tweet-part1.js".to_string(),
            legacy(1, &[("5", "e"), ("6", "#bad f")]),
        ),
    ]);
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(summary.tweets, 6);
    assert_eq!(summary.deleted, 4);
    let rows: Vec<String> = env.lines()[1..].to_vec();
    assert_eq!(
        rows,
        ["1", "3", "4", "6"].map(|id| format!("https://x.com/ada/status/{id},false"))
    );
}

#[test]
fn urls_are_quoted_when_the_username_holds_a_comma_or_a_quote() {
    for (username, row) in [
        ("ada", "https://x.com/ada/status/1,false"),
        ("a,b", "\"https://x.com/a,b/status/1\",false"),
        ("say\"hi", "\"https://x.com/say\"\"hi/status/1\",false"),
        (
            "team \"alpha\", inc",
            "\"https://x.com/team \"\"alpha\"\", inc/status/1\",false",
        ),
    ] {
        let env = Env::new();
        let mut archive = Archive::of(&[("1", "#bad")]);
        archive.username = username.to_string();
        env.run(&archive).unwrap().unwrap();
        assert_eq!(env.lines(), ["tweet_url,deleted", row], "{username}");
    }
}

#[test]
fn an_empty_archive_writes_the_header_only() {
    let env = Env::new();
    let archive = Archive::new(vec![("data/tweets.js".to_string(), current(0, &[]))]);
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(summary, Summary::default());
    assert_eq!(env.lines(), ["tweet_url,deleted"]);
    assert!(env.calls().is_empty());
    let archive = Archive::new(vec![]);
    assert_eq!(env.run(&archive).unwrap().unwrap(), Summary::default());
}

#[test]
fn a_rerun_appends_nothing_asks_nothing_and_returns_the_same_summary() {
    let env = Env::new();
    let tweets = numbered(1, 40);
    let archive = Archive::of(&refs(&tweets));
    let first = env.run(&archive).unwrap().unwrap();
    let lines = env.lines();
    let calls = env.calls().len();
    assert_eq!(lines, expected_lines(&archive));
    for _ in 0..3 {
        assert_eq!(env.run(&archive).unwrap().unwrap(), first);
        assert_eq!(env.lines(), lines);
        assert_eq!(env.calls().len(), calls);
    }
    let stored = env.store.map.borrow()[CHECKPOINT_KEY].clone();
    assert!(matches!(
        Checkpoint::from_bytes(&stored),
        Some(Checkpoint::Done(_))
    ));
    assert!(stored.len() < 200, "{}", stored.len());
}

#[test]
fn batches_are_full_and_in_archive_order() {
    let env = Env::new();
    let tweets = numbered(1, 100);
    let archive = Archive::of(&refs(&tweets));
    env.run(&archive).unwrap().unwrap();
    let calls = env.calls();
    let asked: Vec<String> = calls.iter().flat_map(|c| c.ids.clone()).collect();
    let expected: Vec<String> = tweets
        .iter()
        .filter(|(_, text)| !text.starts_with("RT @") && !text.contains("Crypto"))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(asked, expected);
    // 100 tweets, 20 retweets, 12 forbidden (multiples of 7 but not 5):
    // 68 asked in 7 batches.
    assert_eq!(asked.len(), 68);
    assert_eq!(calls.len(), 7);
    assert!(calls[..6].iter().all(|c| c.ids.len() == 10));
}

#[test]
fn a_batch_never_holds_one_id_twice() {
    let env = Env::new();
    let archive = Archive::of(&[("1", "a"), ("2", "b #bad"), ("1", "c #bad"), ("3", "d")]);
    let summary = env.run(&archive).unwrap().unwrap();
    let batches: Vec<Vec<String>> = env.calls().into_iter().map(|c| c.ids).collect();
    assert_eq!(batches, [vec!["1", "2"], vec!["1", "3"]]);
    assert_eq!(summary.deleted, 2);
    assert_eq!(
        env.lines()[1..],
        [
            "https://x.com/ada/status/2,false",
            "https://x.com/ada/status/1,false"
        ]
    );
}

#[test]
fn a_file_that_was_not_empty_keeps_its_lines() {
    // No checkpoint and a file already started: the header is not written
    // again.
    let env = Env::new();
    env.output
        .lines
        .borrow_mut()
        .push("tweet_url,deleted".to_string());
    let archive = Archive::of(&[("1", "#bad")]);
    env.run(&archive).unwrap().unwrap();
    assert_eq!(
        env.lines(),
        ["tweet_url,deleted", "https://x.com/ada/status/1,false"]
    );
}
