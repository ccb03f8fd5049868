//! Parsing the archive: file names, the `window.YTD.*` prefix, and the JSON
//! array of tweets, into [`Tweet`]s that borrow from the files' content
//! (a string is copied only when it holds a JSON escape).
//!
//! The content is parsed straight into typed structs (serde, unknown fields
//! skipped), never into a `serde_json::Value`: the large scenario passes
//! megabytes of JSON to a guest capped at 64 MiB.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::types::ArchiveFile;

/// One tweet of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet<'a> {
    pub id: Cow<'a, str>,
    /// `full_text`, its JSON escapes decoded.
    pub text: Cow<'a, str>,
    /// The object's `retweeted` field is `true`. Not what makes a retweet
    /// (the contract goes by the text alone; archives write `false` on
    /// every tweet): kept so that a buggy plugin can trust it.
    pub retweeted: bool,
}

impl Tweet<'_> {
    /// A retweet: `full_text` starts with "RT @".
    pub fn is_retweet(&self) -> bool {
        self.text.starts_with("RT @")
    }
}

/// Which archive format a file name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `tweets.js`, `tweets-partN.js`: `window.YTD.tweets.partN = ` and
    /// `{"tweet": {...}}` objects.
    Current,
    /// `tweet.js`, `tweet-partN.js`: `window.YTD.tweet.partN = ` and bare
    /// tweet objects.
    Legacy,
}

impl Format {
    fn var(self) -> &'static str {
        match self {
            Format::Current => "tweets",
            Format::Legacy => "tweet",
        }
    }
}

/// The format and part number a path names (any directory prefix), if it
/// names an archive part: `tweets.js` is part 0, `tweets-partN.js` part N
/// (N a decimal number without leading zeros, at least 1).
pub fn classify_path(path: &str) -> Option<(Format, u64)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.strip_suffix(".js")?;
    let (base, part) = match stem.split_once("-part") {
        Some((base, digits)) => {
            let valid = !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            (
                base,
                if valid {
                    digits.parse().ok()?
                } else {
                    return None;
                },
            )
        }
        None => (stem, 0),
    };
    let format = match base {
        "tweets" => Format::Current,
        "tweet" => Format::Legacy,
        _ => return None,
    };
    Some((format, part))
}

/// Parses every file, in order, into one list of tweets in archive order;
/// the first bad file is `"<path>: <why>"`.
pub fn parse<'a>(files: &[ArchiveFile<'a>]) -> Result<Vec<Tweet<'a>>, String> {
    let mut tweets = Vec::new();
    for file in files {
        parse_file(file, &mut tweets).map_err(|why| format!("{}: {why}", file.path))?;
    }
    Ok(tweets)
}

/// Parses one file, appending its tweets.
fn parse_file<'a>(file: &ArchiveFile<'a>, tweets: &mut Vec<Tweet<'a>>) -> Result<(), String> {
    let (format, part) = classify_path(file.path).ok_or_else(|| {
        "not an archive part (tweets.js, tweets-partN.js, tweet.js or tweet-partN.js)".to_string()
    })?;
    let json = strip_prefix(file.content, format, part)?;
    // Trailing whitespace and one `;` may follow the array.
    let json = json.trim_end();
    let json = json.strip_suffix(';').unwrap_or(json);
    let mut de = serde_json::Deserializer::from_str(json);
    let raw: Vec<RawTweet<'a>> = match format {
        Format::Current => {
            let wrapped = Vec::<Wrapped<'a>>::deserialize(&mut de).map_err(|e| e.to_string())?;
            wrapped.into_iter().map(|w| w.tweet).collect()
        }
        Format::Legacy => Vec::<RawTweet<'a>>::deserialize(&mut de).map_err(|e| e.to_string())?,
    };
    de.end().map_err(|e| e.to_string())?;
    tweets.reserve(raw.len());
    tweets.extend(raw.into_iter().map(|t| Tweet {
        id: t.id_str,
        text: t.full_text,
        retweeted: matches!(t.retweeted, Some(serde_json::Value::Bool(true))),
    }));
    Ok(())
}

/// The JSON after `window.YTD.<var>.part<N> =` (whitespace allowed around
/// the `=` and before `window`).
fn strip_prefix(content: &str, format: Format, part: u64) -> Result<&str, String> {
    let expected = format!("window.YTD.{}.part{part}", format.var());
    let rest = content
        .trim_start()
        .strip_prefix(expected.as_str())
        .and_then(|rest| rest.trim_start().strip_prefix('='))
        .ok_or_else(|| format!("does not start with `{expected} = `"))?;
    Ok(rest)
}

/// `{"tweet": {...}}` (current archives).
#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    tweet: RawTweet<'a>,
}

/// A tweet object: the three strings every tweet has; the rest is skipped.
#[derive(Deserialize)]
struct RawTweet<'a> {
    #[serde(borrow)]
    id_str: Cow<'a, str>,
    #[serde(borrow)]
    full_text: Cow<'a, str>,
    #[allow(dead_code, reason = "checked to be a string, then dropped")]
    created_at: AnyString,
    /// Any value, or none: a field to ignore, read only for [`Tweet::retweeted`].
    #[serde(default)]
    retweeted: Option<serde_json::Value>,
}

/// A JSON string whose value is not kept.
struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnyString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }
        deserializer.deserialize_str(V)
    }
}
