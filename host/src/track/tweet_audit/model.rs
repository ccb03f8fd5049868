//! The host's own types for the tweet-audit track: the one operation of its
//! plan (a `run` of the pipeline), what a run answers (compared with the
//! reference's: the result and the file written), the truth every check
//! judges against (how the model decides a tweet), and the CSV rows a
//! correct pipeline writes.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::archive::{self, Tweet};
use crate::bindings::tweet_audit::pipeline as wit;

/// The CSV header every output starts with.
pub const HEADER: &str = "tweet_url,deleted";

/// A call of the plan: `run` on the whole archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Op {
    pub files: usize,
    pub tweets: usize,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run({}, {})",
            crate::report::count(self.files, "file"),
            crate::report::count(self.tweets, "tweet")
        )
    }
}

/// What `run` returned (the text of `bad-archive` is the pipeline's own
/// and is not compared).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Summary(Summary),
    BadArchive(String),
    ModelRejected(u16),
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Summary(a), Outcome::Summary(b)) => a == b,
            (Outcome::BadArchive(_), Outcome::BadArchive(_)) => true,
            (Outcome::ModelRejected(a), Outcome::ModelRejected(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Summary(s) => write!(
                f,
                "ok ({} tweets, {} retweets, {} deleted, {} kept)",
                s.tweets, s.retweets, s.deleted, s.kept
            ),
            Outcome::BadArchive(why) => write!(f, "bad-archive({why:?})"),
            Outcome::ModelRejected(status) => write!(f, "model-rejected({status})"),
        }
    }
}

impl From<wit::Summary> for Summary {
    fn from(s: wit::Summary) -> Self {
        Summary {
            tweets: s.tweets,
            retweets: s.retweets,
            deleted: s.deleted,
            kept: s.kept,
        }
    }
}

impl From<Result<wit::Summary, wit::AuditError>> for Outcome {
    fn from(r: Result<wit::Summary, wit::AuditError>) -> Self {
        match r {
            Ok(s) => Outcome::Summary(s.into()),
            Err(wit::AuditError::BadArchive(why)) => Outcome::BadArchive(why),
            Err(wit::AuditError::ModelRejected(status)) => Outcome::ModelRejected(status),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub tweets: u32,
    pub retweets: u32,
    pub deleted: u32,
    pub kept: u32,
}

/// The answer to one `run`, after every crash and resume it took.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Output {
    pub outcome: Outcome,
    /// The output file's lines when `run` returned.
    pub lines: usize,
    /// The first 12 hex digits of the file's sha256 (lines joined by
    /// `\n`): two pipelines that wrote the same file agree.
    pub digest: String,
    /// Crashes injected during this `run` (each followed by a fresh
    /// instance and `run` again).
    pub crashes: u32,
    /// Model calls made during it, and the virtual time it took.
    pub model_calls: u64,
    pub waited_ms: u64,
}

/// Two runs agree when they return alike and, for a finished audit, wrote
/// the same file. A run that stopped early (a bad archive, a rejected key)
/// may have written more or less by then, by its own strategy.
impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        self.outcome == other.outcome
            && (!matches!(self.outcome, Outcome::Summary(_))
                || (self.lines == other.lines && self.digest == other.digest))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, file of {} (sha256 {})",
            self.outcome,
            crate::report::count(self.lines, "line"),
            self.digest
        )?;
        if self.model_calls > 0 || self.crashes > 0 {
            write!(
                f,
                " [not compared: {}, {}, {} ms of virtual time]",
                crate::report::count(self.model_calls as usize, "model call"),
                crashes(self.crashes as usize),
                self.waited_ms
            )?;
        }
        Ok(())
    }
}

/// What of a run's answer is compared: the outcome (not the text of a
/// `bad-archive`) and, for a finished audit, the file.
impl crate::diff::Compared for Output {
    fn compared(&self) -> crate::diff::Tree {
        #[derive(Serialize)]
        #[serde(rename_all = "kebab-case")]
        enum Compared {
            Summary(Summary),
            BadArchive,
            ModelRejected(u16),
        }
        #[derive(Serialize)]
        struct Run {
            outcome: Compared,
            file: Option<String>,
        }
        let (outcome, file) = match &self.outcome {
            Outcome::Summary(s) => (
                Compared::Summary(*s),
                Some(format!(
                    "{} (sha256 {})",
                    crate::report::count(self.lines, "line"),
                    self.digest
                )),
            ),
            Outcome::BadArchive(_) => (Compared::BadArchive, None),
            Outcome::ModelRejected(status) => (Compared::ModelRejected(*status), None),
        };
        crate::diff::Tree::of(&Run { outcome, file })
    }
}

/// "1 crash", "2 crashes".
pub fn crashes(n: usize) -> String {
    if n == 1 {
        "1 crash".to_string()
    } else {
        format!("{n} crashes")
    }
}

/// The short digest of a file's lines.
pub fn digest(lines: &[String]) -> String {
    let mut hasher = Sha256::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(line.as_bytes());
    }
    let hash = hasher.finalize();
    hash[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The owner's criteria, as the scenario states them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Criteria {
    pub forbidden_words: Vec<String>,
    pub rules: Vec<String>,
}

/// How the model decides a tweet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// It contains this forbidden word.
    Forbidden(String),
    /// It breaks this rule.
    Rule(String),
    Keep,
}

impl Decision {
    pub fn deletes(&self) -> bool {
        !matches!(self, Decision::Keep)
    }

    pub fn reason(&self) -> String {
        match self {
            Decision::Forbidden(word) => format!("contains the forbidden word \"{word}\""),
            Decision::Rule(rule) => format!("breaks the rule \"{rule}\""),
            Decision::Keep => "breaks none of the criteria".to_string(),
        }
    }
}

/// Of each 1,000 tweets, how many break a given rule (the mock's judgement
/// of a free-form rule is a hash: any tweet may break it).
const RULE_PER_MILLE: u64 = 70;

/// The model's decision on `text` under `criteria`: a forbidden word first
/// (the WIT's whole-word rule), then each rule in order, by a hash of the
/// rule and the text.
pub fn judge(text: &str, criteria: &Criteria) -> Decision {
    if let Some(i) = archive::breaks_forbidden_word(text, &criteria.forbidden_words) {
        return Decision::Forbidden(criteria.forbidden_words[i].clone());
    }
    for rule in &criteria.rules {
        let mut hasher = Sha256::new();
        hasher.update(b"rule\0");
        hasher.update(rule.as_bytes());
        hasher.update(b"\0");
        hasher.update(text.as_bytes());
        let hash = hasher.finalize();
        let n = u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"));
        if n % 1_000 < RULE_PER_MILLE {
            return Decision::Rule(rule.clone());
        }
    }
    Decision::Keep
}

/// The tokens of a request, as the WIT counts them: ceil(characters / 4)
/// over every forbidden word, every rule and every tweet's text.
pub fn tokens<'a>(criteria: &Criteria, texts: impl Iterator<Item = &'a str>) -> u64 {
    let chars: usize = criteria
        .forbidden_words
        .iter()
        .chain(&criteria.rules)
        .map(|s| s.chars().count())
        .sum::<usize>()
        + texts.map(|t| t.chars().count()).sum::<usize>();
    (chars as u64).div_ceil(4)
}

/// A CSV field, quoted as RFC 4180 says when it holds a comma, a double
/// quote or a line break.
pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The row a correct pipeline writes for a tweet to delete.
pub fn row(username: &str, id: &str) -> String {
    format!(
        "{},false",
        csv_field(&format!("https://x.com/{username}/status/{id}"))
    )
}

/// The tweet id a row names: the digits after its last `/status/`, if any.
pub fn row_id(line: &str) -> Option<&str> {
    let at = line.rfind("/status/")? + "/status/".len();
    let digits = &line[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    (end > 0).then_some(&digits[..end])
}

/// One tweet of the archive with what the model makes of it under the
/// scenario's criteria.
#[derive(Clone, Debug)]
pub struct Truth {
    pub tweet: Tweet,
    /// `None` for a retweet (never classified).
    pub decision: Option<Decision>,
}

/// The truth about every tweet, in archive order.
pub fn truths(tweets: &[Tweet], criteria: &Criteria) -> Vec<Truth> {
    tweets
        .iter()
        .map(|t| Truth {
            decision: (!t.is_retweet()).then(|| judge(&t.text, criteria)),
            tweet: t.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(retweets: u32, digest: &str, model_calls: u64) -> Output {
        Output {
            outcome: Outcome::Summary(Summary {
                tweets: 10,
                retweets,
                deleted: 2,
                kept: 10 - retweets - 2,
            }),
            lines: 3,
            digest: digest.into(),
            crashes: 0,
            model_calls,
            waited_ms: 40,
        }
    }

    #[test]
    fn a_diff_names_the_fields_that_differ_and_marks_the_figures_not_compared() {
        let (expected, actual) = (run(1, "aaaa", 5), run(2, "bbbb", 4));
        let c = crate::diff::contrast(&expected, &actual);
        assert_eq!(c.fields, ["retweets", "kept", "file"]);
        assert!(
            c.expected
                .ends_with("[not compared: 5 model calls, 0 crashes, 40 ms of virtual time]"),
            "{}",
            c.expected
        );
        // The figures alone never make a difference.
        assert_eq!(run(1, "aaaa", 5), run(1, "aaaa", 9));
        let bad = |why: &str| Output {
            outcome: Outcome::BadArchive(why.into()),
            ..run(1, "aaaa", 0)
        };
        assert_eq!(bad("one"), bad("two"));
        assert_eq!(
            crate::diff::contrast(&bad("x"), &expected).fields,
            ["outcome", "file"]
        );
    }

    #[test]
    fn fields_with_commas_or_quotes_are_quoted_and_their_quotes_doubled() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            row("team \"alpha\", inc", "12"),
            "\"https://x.com/team \"\"alpha\"\", inc/status/12\",false"
        );
        assert_eq!(row("ada", "7"), "https://x.com/ada/status/7,false");
    }

    #[test]
    fn a_row_names_the_digits_after_its_last_status() {
        assert_eq!(row_id("https://x.com/ada/status/123,false"), Some("123"));
        assert_eq!(row_id("\"https://x.com/a,b/status/9\",false"), Some("9"));
        assert_eq!(row_id("tweet_url,deleted"), None);
        assert_eq!(row_id("https://x.com/ada/status/,false"), None);
    }

    #[test]
    fn tokens_are_a_quarter_of_the_characters_rounded_up() {
        let criteria = Criteria {
            forbidden_words: vec!["nft".into()],
            rules: vec!["ab".into()],
        };
        // 3 + 2 + 4 ("😀😀é!" is 4 scalar values) = 9 -> 3 tokens.
        assert_eq!(tokens(&criteria, ["😀😀é!"].into_iter()), 3);
        assert_eq!(tokens(&Criteria::default(), std::iter::empty()), 0);
    }

    #[test]
    fn a_forbidden_word_decides_first_and_rules_judge_by_hash() {
        let criteria = Criteria {
            forbidden_words: vec!["crypto".into()],
            rules: vec!["talks about work".into()],
        };
        assert_eq!(
            judge("Buy CRYPTO now!", &criteria),
            Decision::Forbidden("crypto".into())
        );
        // Inside a longer word is no match.
        assert!(!matches!(
            judge("cryptography is fun", &criteria),
            Decision::Forbidden(_)
        ));
        // Over many texts, about 7% break the rule.
        let broken = (0..10_000)
            .filter(|i| judge(&format!("tweet number {i}"), &criteria).deletes())
            .count();
        assert!((500..900).contains(&broken), "{broken}");
        // The same text, the same decision.
        assert_eq!(
            judge("tweet number 5", &criteria),
            judge("tweet number 5", &criteria)
        );
    }
}
