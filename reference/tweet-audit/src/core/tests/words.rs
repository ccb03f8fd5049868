//! The forbidden-word rule.

use super::harness::{Archive, Env, criteria};
use crate::core::Summary;
use crate::core::words::{ForbiddenWords, NON_ASCII_TO_ASCII, occurs_whole};

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

/// The facts the in-place check of ASCII words rests on, for every char
/// not ASCII: its lowercase holds an ASCII char only for the chars of
/// `NON_ASCII_TO_ASCII`, and its lowercase's first and last chars are
/// alphanumeric exactly when it is. (`str::to_lowercase` lowercases char by
/// char but for 'Σ', whose other lowercase, 'ς', is alphabetic too.)
#[test]
fn lowercase_keeps_non_ascii_chars_apart_from_ascii_ones() {
    assert!('ς'.is_alphanumeric());
    for c in (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|c| !c.is_ascii())
    {
        let lower: Vec<char> = c.to_lowercase().collect();
        assert_eq!(
            lower.iter().any(char::is_ascii),
            NON_ASCII_TO_ASCII.contains(&c),
            "{c:?}"
        );
        if NON_ASCII_TO_ASCII.contains(&c) {
            continue;
        }
        let (first, last) = (lower[0], lower[lower.len() - 1]);
        assert_eq!(first.is_alphanumeric(), c.is_alphanumeric(), "{c:?}");
        assert_eq!(last.is_alphanumeric(), c.is_alphanumeric(), "{c:?}");
    }
}

/// ASCII words are checked in place on the text; the result is the rule's,
/// lowercasing the text.
#[test]
fn ascii_words_in_place_agree_with_lowercasing_the_text() {
    let words = ["crypto", "nft", "hodl", "i", "k", "a-a", "bad word"];
    let texts = [
        "CRYPTO",
        "Crypto!",
        "cryptography",
        "éNFT",
        "NFTé",
        "ΣNFT",
        "NFTΣ",
        "nftΣ nft",
        "\u{130}",
        "\u{130}nft",
        "nft\u{130}",
        "x \u{130} y",
        "\u{212A}",
        "\u{212A}x",
        "ok \u{212A} ok",
        "ⅰhodl",
        "hodlⅰ",
        "日本hodl",
        "hodl😀",
        "😀HoDl😀",
        "ba-A-a",
        "BAD WORD!",
        "bad words",
        "\u{2126}nft",
        "a “curly” nft",
        "…nft…",
        "k",
        "I",
        "ik",
        "",
    ];
    for word in words {
        for text in texts {
            let expected = occurs_whole(&text.to_lowercase(), word);
            assert_eq!(matches(&[word], text), expected, "{word:?} in {text:?}");
        }
    }
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
