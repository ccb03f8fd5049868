//! Parsing: names, prefixes, both formats, escapes, bad files.

use std::borrow::Cow;

use super::harness::{Archive, Env, current, legacy};
use crate::core::archive::{Format, classify_path, parse};
use crate::core::{ArchiveFile, AuditError};

fn parse_one(path: &str, content: &str) -> Result<Vec<(String, String)>, String> {
    let files = [ArchiveFile { path, content }];
    parse(&files).map(|tweets| {
        tweets
            .into_iter()
            .map(|t| (t.id.into_owned(), t.text.into_owned()))
            .collect()
    })
}

fn owned(tweets: &[(&str, &str)]) -> Vec<(String, String)> {
    tweets
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn file_names_of_both_formats_with_any_directory() {
    assert_eq!(classify_path("data/tweets.js"), Some((Format::Current, 0)));
    assert_eq!(classify_path("tweets.js"), Some((Format::Current, 0)));
    assert_eq!(
        classify_path("a/b/data/tweets-part12.js"),
        Some((Format::Current, 12))
    );
    assert_eq!(classify_path("data/tweet.js"), Some((Format::Legacy, 0)));
    assert_eq!(
        classify_path("data/tweet-part3.js"),
        Some((Format::Legacy, 3))
    );
    for bad in [
        "data/tweets.json",
        "data/like.js",
        "data/tweets-part.js",
        "data/tweets-part0.js",
        "data/tweets-part01.js",
        "data/tweets-part1x.js",
        "data/my-tweets.js",
        "data/Tweets.js",
        "data/tweets.js/",
        "",
    ] {
        assert_eq!(classify_path(bad), None, "{bad}");
    }
}

#[test]
fn current_format_reads_wrapped_tweets_and_skips_other_fields() {
    let content = current(0, &[("1", "hello"), ("2", "world")]);
    assert_eq!(
        parse_one("data/tweets.js", &content).unwrap(),
        owned(&[("1", "hello"), ("2", "world")])
    );
}

#[test]
fn legacy_format_reads_bare_tweets() {
    let content = legacy(0, &[("7", "old"), ("8", "older")]);
    assert_eq!(
        parse_one("data/tweet.js", &content).unwrap(),
        owned(&[("7", "old"), ("8", "older")])
    );
    // A legacy file of the current format's objects is bad, and back.
    assert!(
        parse_one(
            "data/tweet.js",
            &current(0, &[("1", "x")]).replace("tweets.part0", "tweet.part0")
        )
        .is_err()
    );
    assert!(
        parse_one(
            "data/tweets.js",
            &legacy(0, &[("1", "x")]).replace("tweet.part0", "tweets.part0")
        )
        .is_err()
    );
}

#[test]
fn parts_in_the_order_given_make_one_archive() {
    let files = [
        ("data/tweets.js".to_string(), current(0, &[("1", "a")])),
        (
            "data/tweets-part1.js".to_string(),
            current(1, &[("2", "b"), ("3", "c")]),
        ),
        ("data/tweet-part2.js".to_string(), legacy(2, &[("4", "d")])),
    ];
    let files: Vec<ArchiveFile<'_>> = files
        .iter()
        .map(|(path, content)| ArchiveFile { path, content })
        .collect();
    let ids: Vec<_> = parse(&files).unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
}

#[test]
fn the_prefix_must_name_the_files_format_and_part() {
    let ok = current(0, &[("1", "a")]);
    assert!(parse_one("data/tweets.js", &ok).is_ok());
    // Part 0 in part 1's file, the legacy prefix in a current file.
    assert!(parse_one("data/tweets-part1.js", &ok).is_err());
    assert!(parse_one("data/tweet.js", &ok).is_err());
    assert!(parse_one("data/tweets.js", "[]").is_err());
    assert!(parse_one("data/tweets.js", "window.YTD.tweets.part0 [] ").is_err());
    // Whitespace around `=`, an empty array, a trailing `;` and newlines.
    assert_eq!(
        parse_one("data/tweets.js", "\n window.YTD.tweets.part0=[]\n").unwrap(),
        vec![]
    );
    assert_eq!(
        parse_one("data/tweets.js", &format!("{ok};\n\n")).unwrap(),
        owned(&[("1", "a")])
    );
    assert!(parse_one("data/tweets.js", &format!("{ok};;")).is_err());
    assert!(parse_one("data/tweets.js", &format!("{ok} []")).is_err());
}

#[test]
fn json_escapes_are_decoded_and_plain_strings_borrowed() {
    let content = r#"window.YTD.tweets.part0 = [
        {"tweet": {"id_str": "1", "full_text": "line\none \"quoted\" caf\u00e9 \ud83d\ude00 a\/b \\ \t", "created_at": "x"}},
        {"tweet": {"id_str": "2", "full_text": "plain, with \u2019 and 🎉", "created_at": "x"}}
    ]"#;
    let files = [ArchiveFile {
        path: "tweets.js",
        content,
    }];
    let tweets = parse(&files).unwrap();
    assert_eq!(tweets[0].text, "line\none \"quoted\" café 😀 a/b \\ \t");
    assert!(matches!(tweets[0].text, Cow::Owned(_)));
    assert_eq!(tweets[1].text, "plain, with \u{2019} and 🎉");
    assert!(matches!(tweets[1].id, Cow::Borrowed("2")));
}

#[test]
fn a_tweet_needs_its_three_strings() {
    for tweet in [
        r#"{"tweet": {"full_text": "a", "created_at": "x"}}"#,
        r#"{"tweet": {"id_str": "1", "created_at": "x"}}"#,
        r#"{"tweet": {"id_str": "1", "full_text": "a"}}"#,
        r#"{"tweet": {"id_str": 1, "full_text": "a", "created_at": "x"}}"#,
        r#"{"tweet": {"id_str": "1", "full_text": null, "created_at": "x"}}"#,
        r#"{"tweet": {"id_str": "1", "full_text": "a", "created_at": 5}}"#,
        r#"{"id_str": "1", "full_text": "a", "created_at": "x"}"#,
        r#""text""#,
    ] {
        let content = format!("window.YTD.tweets.part0 = [{tweet}]");
        assert!(parse_one("data/tweets.js", &content).is_err(), "{tweet}");
    }
    let content = r#"window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "full_text": "a", "created_at": "x", "extra": [1, {"b": null}]}, "other": 2}]"#;
    assert_eq!(
        parse_one("data/tweets.js", content).unwrap(),
        owned(&[("1", "a")])
    );
}

#[test]
fn a_bad_file_is_bad_archive_with_its_path_before_any_import() {
    let env = Env::new();
    let archive = Archive::new(vec![
        ("data/tweets.js".to_string(), current(0, &[("1", "a #bad")])),
        (
            "data/tweets-part1.js".to_string(),
            "window.YTD.tweets.part1 = [{".to_string(),
        ),
    ]);
    let result = env.run(&archive).unwrap();
    let Err(AuditError::BadArchive(why)) = result else {
        panic!("{result:?}");
    };
    assert!(why.starts_with("data/tweets-part1.js: "), "{why}");
    assert_eq!(env.points.calls(), Vec::<&str>::new());

    let archive = Archive::new(vec![("data/likes.js".to_string(), current(0, &[]))]);
    let result = env.run(&archive).unwrap();
    assert!(
        matches!(&result, Err(AuditError::BadArchive(why)) if why.starts_with("data/likes.js: ")),
        "{result:?}"
    );
    assert_eq!(env.points.calls(), Vec::<&str>::new());
}
