//! The forbidden-word rule.

use super::harness::{Archive, Env, criteria};
use crate::core::Summary;
use crate::core::words::ForbiddenWords;

fn matches(words: &[&str], text: &str) -> bool {
    let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    ForbiddenWords::new(&words).matches(text)
}

#[test]
fn whole_words_after_lowercasing_both() {
    assert!(matches(&["crypto"], "I love CRYPTO"));
    assert!(matches(&["CrYpTo"], "crypto"));
    assert!(matches(&["crypto"], "crypto"));
    assert!(!matches(&["crypto"], "cryptography"));
    assert!(!matches(&["crypto"], "cryptocurrency and more"));
    assert!(!matches(&["crypto"], "anticrypto"));
    assert!(!matches(&["crypto"], "crypt"));
}

#[test]
fn class_does_not_break_ass() {
    assert!(!matches(&["ass"], "a class of its own, passing by"));
    assert!(matches(&["ass"], "what an ass."));
}

#[test]
fn punctuation_and_spaces_are_boundaries_letters_and_digits_are_not() {
    for text in [
        "crypto!",
        "(crypto)",
        "#crypto",
        "@crypto",
        "crypto's",
        "\"crypto\"",
        "crypto_",
        "-crypto-",
        "x\ncrypto\ty",
        "🚀crypto🚀",
    ] {
        assert!(matches(&["crypto"], text), "{text}");
    }
    for text in [
        "crypto2",
        "2crypto",
        "cryptoé",
        "écrypto",
        "crypto٣",
        "ⅰcrypto",
    ] {
        assert!(!matches(&["crypto"], text), "{text}");
    }
}

#[test]
fn non_ascii_words_and_texts() {
    assert!(matches(&["café"], "Un CAFÉ, s'il vous plaît"));
    assert!(!matches(&["caf"], "un café"));
    assert!(matches(&["straße"], "die STRAßE ist lang"));
    assert!(matches(&["ΣΟΦΊΑ"], "η σοφία"));
    // 'İ' lowercases to "i̇" (two chars): compared after lowercasing.
    assert!(matches(&["i\u{307}stanbul"], "\u{130}STANBUL!"));
    assert!(matches(&["日本"], "日本"));
    // CJK ideographs are alphabetic: no boundary between them.
    assert!(!matches(&["日本"], "日本語"));
}

#[test]
fn empty_words_never_match_and_phrases_do() {
    assert!(!matches(&[""], "anything"));
    assert!(!matches(&[""], ""));
    assert!(!matches(&[], "anything"));
    assert!(matches(&["", "bad word"], "such a Bad Word!"));
    assert!(!matches(&["bad word"], "bad words"));
}

#[test]
fn a_later_occurrence_counts_when_an_earlier_one_is_inside_a_word() {
    assert!(matches(&["ass"], "class ass"));
    assert!(matches(&["aa"], "aaa aa"));
    // Overlapping: "-a" inside "x-a" fails, the next one at the end holds.
    assert!(matches(&["a-a"], "ba-a-a"));
}

#[test]
fn forbidden_tweets_are_deleted_without_asking() {
    let env = Env::new();
    let mut archive = Archive::of(&[
        ("1", "Crypto is the future"),
        ("2", "a classic"),
        ("3", "so #bad"),
        ("4", "RT @x: crypto"),
    ]);
    archive.criteria = criteria(&["crypto", "ass"], &["be nice"]);
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(
        summary,
        Summary {
            tweets: 4,
            retweets: 1,
            deleted: 2,
            kept: 1
        }
    );
    let asked: Vec<String> = env.calls().into_iter().flat_map(|c| c.ids).collect();
    assert_eq!(asked, ["2", "3"]);
    assert_eq!(
        env.lines(),
        [
            "tweet_url,deleted",
            "https://x.com/ada/status/1,false",
            "https://x.com/ada/status/3,false"
        ]
    );
}
