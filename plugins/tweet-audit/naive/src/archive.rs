//! Reading an X (Twitter) archive: which files are archive parts, and the
//! tweets they hold, in archive order.
//!
//! A part is named `tweets.js` / `tweets-partN.js` (current archives) or
//! `tweet.js` / `tweet-partN.js` (older ones), under any directory, and
//! holds `window.YTD.tweets.partN = ` (`window.YTD.tweet.partN = `), N being
//! 0 for the unnumbered file, then a JSON array: of `{"tweet": {...}}` in a
//! current part, of bare tweet objects in an older one. Only `id_str` and
//! `full_text` are kept; `created_at` must be there (a string) too; every
//! other field is skipped without being built.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// One tweet as the archive holds it (JSON escapes decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet {
    pub id: String,
    pub text: String,
}

impl Tweet {
    /// A retweet: skipped, never sent to the model.
    pub fn is_retweet(&self) -> bool {
        self.text.starts_with("RT @")
    }
}

/// The two layouts of an archive part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `tweets*.js`: `{"tweet": {...}}` elements.
    Current,
    /// `tweet*.js`: bare tweet objects.
    Legacy,
}

/// The layout and part number a file name stands for, if it names a part.
fn part_of(path: &str) -> Option<(Layout, &str)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.strip_suffix(".js")?;
    let (layout, rest) = if let Some(rest) = stem.strip_prefix("tweets") {
        (Layout::Current, rest)
    } else {
        (Layout::Legacy, stem.strip_prefix("tweet")?)
    };
    if rest.is_empty() {
        return Some((layout, "0"));
    }
    let number = rest.strip_prefix("-part")?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((layout, number))
}

/// A string field that must be there but is not kept.
struct Discarded;

impl<'de> Deserialize<'de> for Discarded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Any;
        impl Visitor<'_> for Any {
            type Value = Discarded;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Discarded, E> {
                Ok(Discarded)
            }
        }
        deserializer.deserialize_str(Any)
    }
}

#[derive(Deserialize)]
struct RawTweet {
    id_str: String,
    full_text: String,
    #[allow(dead_code)]
    created_at: Discarded,
}

impl From<RawTweet> for Tweet {
    fn from(raw: RawTweet) -> Self {
        Tweet {
            id: raw.id_str,
            text: raw.full_text,
        }
    }
}

#[derive(Deserialize)]
struct Wrapped {
    tweet: RawTweet,
}

/// The JSON array after the prefix, whole (trailing whitespace allowed).
fn array<'a, T: Deserialize<'a>>(json: &'a str) -> Result<Vec<T>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let items = Vec::<T>::deserialize(&mut de)?;
    de.end()?;
    Ok(items)
}

/// The tweets of one file, or why it is not an archive part (a fragment
/// without the path).
pub fn parse_file(path: &str, content: &str) -> Result<Vec<Tweet>, String> {
    let Some((layout, number)) = part_of(path) else {
        return Err(
            "not an archive part (expected tweets.js, tweets-partN.js, tweet.js or tweet-partN.js)"
                .to_string(),
        );
    };
    let kind = match layout {
        Layout::Current => "tweets",
        Layout::Legacy => "tweet",
    };
    let prefix = format!("window.YTD.{kind}.part{number} = ");
    let Some(json) = content.strip_prefix(prefix.as_str()) else {
        return Err(format!("content does not start with `{prefix}`"));
    };
    let parsed = match layout {
        Layout::Current => array::<Wrapped>(json)
            .map(|items| items.into_iter().map(|w| Tweet::from(w.tweet)).collect()),
        Layout::Legacy => {
            array::<RawTweet>(json).map(|items| items.into_iter().map(Tweet::from).collect())
        }
    };
    parsed.map_err(|e| format!("not a JSON array of tweets: {e}"))
}

/// Every tweet of every file, files in the order given. Each file's content
/// is dropped once it is read. A bad file gives `<path>: <why>`.
pub fn parse<I>(files: I) -> Result<Vec<Tweet>, String>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut tweets = Vec::new();
    for (path, content) in files {
        match parse_file(&path, &content) {
            Ok(mut part) => tweets.append(&mut part),
            Err(why) => return Err(format!("{path}: {why}")),
        }
    }
    Ok(tweets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect()
    }

    fn tweet(id: &str, text: &str) -> Tweet {
        Tweet {
            id: id.to_string(),
            text: text.to_string(),
        }
    }

    #[test]
    fn current_parts_in_the_order_given() {
        let got = parse(files(&[
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [ {"tweet": {"id_str": "1", "full_text": "one", "created_at": "x", "favorite_count": "3", "entities": {"hashtags": [], "urls": [{"url": "u"}]}}}, {"tweet": {"created_at": "y", "full_text": "two", "id_str": "2"}, "other": 5} ]"#,
            ),
            (
                "data/tweets-part1.js",
                "window.YTD.tweets.part1 = [\n  {\"tweet\": {\"id_str\": \"3\", \"full_text\": \"three\", \"created_at\": \"z\"}}\n]\n",
            ),
        ]))
        .unwrap();
        assert_eq!(
            got,
            vec![tweet("1", "one"), tweet("2", "two"), tweet("3", "three")]
        );
    }

    #[test]
    fn legacy_parts_hold_bare_tweets() {
        let got = parse(files(&[
            (
                "tweet.js",
                r#"window.YTD.tweet.part0 = [{"id_str": "7", "full_text": "old", "created_at": "c", "retweeted": false}]"#,
            ),
            (
                "archive/data/tweet-part12.js",
                r#"window.YTD.tweet.part12 = []"#,
            ),
        ]))
        .unwrap();
        assert_eq!(got, vec![tweet("7", "old")]);
    }

    #[test]
    fn json_escapes_are_decoded() {
        let got = parse_file(
            "data/tweets.js",
            r#"window.YTD.tweets.part0 = [{"tweet": {"id_str": "9", "full_text": "a \"quote\", a comma\nand \u00e9 \ud83d\ude00 \\ \/", "created_at": "c"}}]"#,
        )
        .unwrap();
        assert_eq!(got, vec![tweet("9", "a \"quote\", a comma\nand é 😀 \\ /")]);
    }

    #[test]
    fn retweets_are_recognised_by_their_prefix() {
        assert!(tweet("1", "RT @someone: hi").is_retweet());
        assert!(!tweet("1", "rt @someone: hi").is_retweet());
        assert!(!tweet("1", " RT @someone").is_retweet());
        assert!(!tweet("1", "RT someone").is_retweet());
    }

    #[test]
    fn other_file_names_are_bad() {
        for path in [
            "data/like.js",
            "data/tweets.json",
            "data/tweets-part.js",
            "data/tweets-partx.js",
            "data/tweets_part1.js",
            "data/tweetsx.js",
            "data/tweets.js/other.txt",
            "tweets-part1.js.bak",
        ] {
            let err = parse(files(&[(path, "window.YTD.tweets.part0 = []")])).unwrap_err();
            assert!(
                err.starts_with(&format!("{path}: not an archive part")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_prefix_that_does_not_match_the_name_is_bad() {
        for (path, content) in [
            ("data/tweets.js", "window.YTD.tweet.part0 = []"),
            ("data/tweet.js", "window.YTD.tweets.part0 = []"),
            ("data/tweets-part2.js", "window.YTD.tweets.part0 = []"),
            ("data/tweets.js", "window.YTD.tweets.part0 =[]"),
            ("data/tweets.js", " window.YTD.tweets.part0 = []"),
            ("data/tweets.js", "[]"),
            ("data/tweets.js", ""),
        ] {
            let err = parse(files(&[(path, content)])).unwrap_err();
            assert!(
                err.starts_with(&format!("{path}: content does not start with")),
                "{err}"
            );
        }
    }

    #[test]
    fn content_that_does_not_parse_is_bad() {
        for (path, content) in [
            // Not JSON, or not only JSON.
            ("data/tweets.js", "window.YTD.tweets.part0 = [{\"tweet\": "),
            ("data/tweets.js", "window.YTD.tweets.part0 = [] x"),
            ("data/tweets.js", "window.YTD.tweets.part0 = [];"),
            // Not an array.
            ("data/tweets.js", "window.YTD.tweets.part0 = {}"),
            // Bare tweets in a current part, wrapped ones in an older one.
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [{"id_str": "1", "full_text": "a", "created_at": "c"}]"#,
            ),
            (
                "data/tweet.js",
                r#"window.YTD.tweet.part0 = [{"tweet": {"id_str": "1", "full_text": "a", "created_at": "c"}}]"#,
            ),
            // A required string missing or of another type.
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [{"tweet": {"full_text": "a", "created_at": "c"}}]"#,
            ),
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "created_at": "c"}}]"#,
            ),
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "full_text": "a"}}]"#,
            ),
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [{"tweet": {"id_str": 1, "full_text": "a", "created_at": "c"}}]"#,
            ),
            (
                "data/tweets.js",
                r#"window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "full_text": "a", "created_at": 5}}]"#,
            ),
        ] {
            let err = parse(files(&[(path, content)])).unwrap_err();
            assert!(
                err.starts_with(&format!("{path}: not a JSON array of tweets")),
                "{content}: {err}"
            );
        }
    }

    #[test]
    fn the_first_bad_file_is_named() {
        let err = parse(files(&[
            ("data/tweets.js", "window.YTD.tweets.part0 = []"),
            ("data/tweets-part1.js", "window.YTD.tweets.part1 = nope"),
            ("data/likes.js", "whatever"),
        ]))
        .unwrap_err();
        assert!(err.starts_with("data/tweets-part1.js: "), "{err}");
    }
}
