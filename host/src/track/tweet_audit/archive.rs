//! X (Twitter) archive fixtures for the tweet-audit track: seeded tweets,
//! and their rendering as the `data/tweets.js` files of an archive, in the
//! current layout or the legacy one.
//!
//! The fixtures exist to break naive parsers. Tweet objects carry many
//! fields besides `id_str`, `full_text` and `created_at`, in an order drawn
//! per tweet, some of them nested objects with an `id_str` or a `text` of
//! their own. Texts hold emoji (skin tones, ZWJ sequences, flags), CJK and
//! accented words, quotes, commas, real newlines and tabs, HTML entities as
//! real archives keep them (`&amp;`), backslashes and fragments of JSON; the
//! rendering sometimes escapes non-ASCII characters (surrogate pairs for
//! astral ones) and `/`. Whatever the escapes, the decoded text is the
//! generator's.
//!
//! The forbidden-word rule of the contract ([`breaks_forbidden_word`]) lives
//! here too: texts chosen to break a word do, texts not chosen don't (some
//! come close: `cryptography` for `crypto`). Everything is drawn from the
//! caller's generator, so the same seed gives the same files byte for byte.

use std::borrow::Cow;

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

/// The milliseconds of Twitter's epoch, the zero of snowflake ids.
const TWEPOCH_MS: u64 = 1_288_834_974_657;
/// Ids start no earlier than 2012-01-01 (so that they have 18 or 19
/// digits) ...
const MIN_START_MS: u64 = 1_325_376_000_000;
/// ... and no later than 2060-01-01.
const MAX_START_MS: u64 = 2_840_140_800_000;
/// The last millisecond an id of 19 digits can carry (2086).
const LAST_ID_MS: u64 = TWEPOCH_MS + (9_999_999_999_999_999_999 >> 22);
/// The spacing of the hand-written tweets of [`id_at`].
const ID_AT_STEP_MS: u64 = 3_600_000;
/// The longest text, in Unicode scalar values.
const MAX_CHARS: usize = 280;
/// The shortest text.
const MIN_CHARS: usize = 5;

/// The two archive layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `data/tweets.js`, `window.YTD.tweets.partN = [ { "tweet" : {...} } ]`.
    Current,
    /// `data/tweet.js`, `window.YTD.tweet.partN = [ {...} ]`: the tweet
    /// objects bare, without the `"tweet"` wrapper.
    Legacy,
}

/// One tweet as the generator made it (text already decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet {
    /// The `id_str`: a snowflake id of 18 or 19 digits, increasing with
    /// time.
    pub id: String,
    /// The `full_text`, as a pipeline reads it after JSON decoding (HTML
    /// entities such as `&amp;` stay, as in real archives).
    pub text: String,
    /// Like `Wed Oct 10 20:19:24 +0000 2018`.
    pub created_at: String,
    /// The `retweeted` field a scenario wrote on it; `None`: drawn (`false`
    /// or absent, as in real archives). The contract ignores it.
    pub retweeted: Option<bool>,
}

impl Tweet {
    /// Whether the contract counts it as a retweet: its text starts with
    /// `RT @`.
    pub fn is_retweet(&self) -> bool {
        self.text.starts_with("RT @")
    }
}

/// One file of an archive: its path in the archive and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub content: String,
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Generate<'a> {
    /// How many tweets.
    pub tweets: usize,
    /// The share of retweets (`RT @someone: ...`), rounded to a whole
    /// number of tweets.
    pub retweet_share: f64,
    /// The owner's forbidden words (empty ones are ignored).
    pub forbidden_words: &'a [String],
    /// The share of tweets that break a forbidden word (retweets included),
    /// rounded to a whole number of tweets; zero when every word is empty.
    pub forbidden_share: f64,
    /// Heavy on what breaks parsers: emoji, quotes, commas, newlines, tabs,
    /// backslashes, JSON fragments, longer texts.
    pub tricky: bool,
    /// The time of the first tweet (clamped to 2012..2060).
    pub start_ms: u64,
}

/// Generates `spec.tweets` tweets, in archive order: ids and times
/// strictly increasing from `spec.start_ms`, at most an hour apart, texts
/// of 5 to 280 Unicode scalar values.
///
/// Exactly `round(retweet_share * tweets)` texts start with `RT @`, and
/// exactly `round(forbidden_share * tweets)` break a forbidden word, as
/// [`breaks_forbidden_word`] decides; the others don't. (The only
/// exception: a retweet cannot avoid a forbidden word such as `rt`.)
pub fn generate(spec: &Generate, rng: &mut ChaCha8Rng) -> Vec<Tweet> {
    let n = spec.tweets;
    let targets: Vec<&str> = spec
        .forbidden_words
        .iter()
        .filter(|word| !word.is_empty())
        .map(String::as_str)
        .collect();
    let retweets = flags(n, spec.retweet_share, rng);
    let breaking = if targets.is_empty() {
        vec![false; n]
    } else {
        flags(n, spec.forbidden_share, rng)
    };
    let start = spec.start_ms.clamp(MIN_START_MS, MAX_START_MS);
    // Gaps of at most the step of `id_at` (so that its ids from index `n`
    // on come after these), and small enough that the last id still has 19
    // digits.
    let max_gap = ((LAST_ID_MS - start) / (n as u64 + 1)).clamp(1, ID_AT_STEP_MS);
    let mut composer = Composer {
        vocab: Vocab::new(spec.forbidden_words),
        rng,
        words: spec.forbidden_words,
        targets: &targets,
        tricky: spec.tricky,
    };
    let mut ms = start;
    let mut tweets = Vec::with_capacity(n);
    for (i, (&retweet, &breaks)) in retweets.iter().zip(&breaking).enumerate() {
        if i > 0 {
            let hi = if composer.rng.random_bool(0.5) {
                600_000
            } else {
                ID_AT_STEP_MS
            }
            .min(max_gap);
            ms += composer.rng.random_range(1..=hi);
        }
        // A worker number and a non-zero sequence number: ids of `id_at`
        // have sequence 0, so the two never collide.
        let low =
            (composer.rng.random_range(0..1024u64) << 12) | composer.rng.random_range(1..4u64);
        let word = breaks.then(|| targets[composer.rng.random_range(0..targets.len())]);
        let text = composer.text(retweet, word, i);
        tweets.push(Tweet {
            id: snowflake(ms, low).to_string(),
            text,
            created_at: created_at(ms),
            retweeted: None,
        });
    }
    tweets
}

/// The id of the `index`-th hand-written tweet of a scenario file: one an
/// hour from `start_ms` (clamped as [`Generate::start_ms`] is), the same
/// shape as generated ids, increasing with `index`. Generated ids never
/// equal these, and [`generate`]'s gaps are at most an hour: after `n`
/// generated tweets from the same `start_ms`, the hand-written ones from
/// index `n` on come later.
pub fn id_at(start_ms: u64, index: usize) -> String {
    let low = (mix(index as u64) & 0x3ff) << 12;
    snowflake(at_ms(start_ms, index), low).to_string()
}

/// The `created_at` of the `index`-th hand-written tweet (see [`id_at`]).
pub fn created_at_at(start_ms: u64, index: usize) -> String {
    created_at(at_ms(start_ms, index))
}

/// The `index`-th hand-written tweet of a scenario file, with `text`.
pub fn tweet_at(start_ms: u64, index: usize, text: &str) -> Tweet {
    Tweet {
        id: id_at(start_ms, index),
        text: text.to_string(),
        created_at: created_at_at(start_ms, index),
        retweeted: None,
    }
}

/// `created_at` for a time: `Wed Oct 10 20:19:24 +0000 2018`.
pub fn created_at(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let (year, month, day) = civil(days);
    let of_day = secs % 86_400;
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} +0000 {year}",
        // 1970-01-01 was a Thursday.
        DAYS[((days + 4) % 7) as usize],
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
    )
}

/// Renders `tweets` as the files of an archive: `parts` files (at least
/// one), split as evenly as possible (the first ones get one more), each a
/// contiguous run of tweets, in order. Part 0 is `data/tweets.js`, then
/// `data/tweets-part1.js`, ... (legacy: `data/tweet.js`,
/// `data/tweet-part1.js`, ...), each `window.YTD.tweets.partN = ` (legacy
/// `window.YTD.tweet.partN = `) and a JSON array pretty-printed as real
/// archives are: two-space indents, `"key" : value`, `[ ]` when empty.
///
/// The other fields of a tweet object, their order, and the escapes of its
/// strings are drawn from `rng`.
pub fn render(format: Format, tweets: &[Tweet], parts: usize, rng: &mut ChaCha8Rng) -> Vec<File> {
    let parts = parts.max(1);
    let (stem, variable) = match format {
        Format::Current => ("data/tweets", "tweets"),
        Format::Legacy => ("data/tweet", "tweet"),
    };
    let (each, extra) = (tweets.len() / parts, tweets.len() % parts);
    let mut rest = tweets;
    let mut files = Vec::with_capacity(parts);
    for part in 0..parts {
        let (chunk, tail) = rest.split_at(each + usize::from(part < extra));
        rest = tail;
        let path = if part == 0 {
            format!("{stem}.js")
        } else {
            format!("{stem}-part{part}.js")
        };
        let mut content = format!("window.YTD.{variable}.part{part} = ");
        if chunk.is_empty() {
            content.push_str("[ ]");
        } else {
            content.push_str("[\n");
            for (i, tweet) in chunk.iter().enumerate() {
                if i > 0 {
                    content.push_str(",\n");
                }
                let object = tweet_object(tweet, rng);
                let value = match format {
                    Format::Current => J::Obj(vec![("tweet", object)]),
                    Format::Legacy => object,
                };
                let escapes = Escapes::draw(rng);
                indent(&mut content, 1);
                write_json(&mut content, &value, 1, &escapes, rng);
            }
            content.push_str("\n]");
        }
        files.push(File { path, content });
    }
    files
}

/// The index (in `words`) of the first forbidden word `text` breaks, as the
/// contract's `criteria` says: the word occurs in the text as a whole word,
/// both lowercased with [`str::to_lowercase`], with no alphanumeric char
/// ([`char::is_alphanumeric`]) right before or after the occurrence (in the
/// lowercased text). An empty word never matches.
pub fn breaks_forbidden_word(text: &str, words: &[String]) -> Option<usize> {
    let mut haystack: Option<Cow<str>> = None;
    for (i, word) in words.iter().enumerate() {
        if word.is_empty() {
            continue;
        }
        let haystack = haystack.get_or_insert_with(|| lowercase(text));
        if occurs_as_word(haystack, &lowercase(word)) {
            return Some(i);
        }
    }
    None
}

/// `s.to_lowercase()`, without allocating for lowercase ASCII.
fn lowercase(s: &str) -> Cow<'_, str> {
    if !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether `needle` (not empty) occurs in `haystack` with no alphanumeric
/// char right before or after it. Occurrences may overlap: in `yx-x-x`,
/// `x-x` occurs whole at 3 though not at 1.
fn occurs_as_word(haystack: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(found) = haystack[from..].find(needle) {
        let start = from + found;
        let end = start + needle.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// `n` flags, `round(share * n)` of them set, in an order drawn from `rng`.
fn flags(n: usize, share: f64, rng: &mut ChaCha8Rng) -> Vec<bool> {
    let share = if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    };
    let set = ((share * n as f64).round() as usize).min(n);
    let mut flags = vec![true; set];
    flags.resize(n, false);
    flags.shuffle(rng);
    flags
}

/// A snowflake id: milliseconds since Twitter's epoch, then 22 bits of
/// worker and sequence numbers.
fn snowflake(ms: u64, low: u64) -> u64 {
    ((ms.clamp(TWEPOCH_MS, LAST_ID_MS) - TWEPOCH_MS) << 22) | (low & 0x3f_ffff)
}

/// The time a snowflake id carries, if it is one.
fn snowflake_ms(id: &str) -> Option<u64> {
    let id: u64 = id.parse().ok()?;
    (id >> 22 > 0).then(|| (id >> 22) + TWEPOCH_MS)
}

fn at_ms(start_ms: u64, index: usize) -> u64 {
    let start = start_ms.clamp(MIN_START_MS, MAX_START_MS);
    start
        .saturating_add((index as u64).saturating_mul(ID_AT_STEP_MS))
        .min(LAST_ID_MS)
}

/// A fixed scramble of a number (splitmix64's finaliser).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The proleptic Gregorian (year, month, day) of a day since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `2023-11-14T22:13:20.000Z`.
fn iso(ms: u64) -> String {
    let secs = ms / 1000;
    let (year, month, day) = civil(secs / 86_400);
    let of_day = secs % 86_400;
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        ms % 1000,
    )
}

// ---------------------------------------------------------------------------
// Texts

// The word lists are split on whitespace (`FOREIGN` on `|`).

/// Plain words: they may start a sentence, capitalised.
const WORDS: &str = "\
    the a and to of in is it for on with this that my your just so not but we they you I was be \
    have about today tomorrow yesterday really never always maybe finally new old good great bad \
    best worst little big coffee tea weather train bus office meeting code bug deploy release book \
    movie music song concert game match team city park dog cat friend family dinner lunch breakfast \
    pizza weekend morning night time year week day people thing idea thread post photo video news \
    story work home trip flight airport hotel beach mountain rain snow sun love think know want \
    need feel see read write watch listen try make build ship learn teach remember forget agree \
    wonder honestly literally actually probably definitely again still already here there everyone \
    nobody someone can't don't it's I'm we're won't isn't what why how when who all more less very \
    too much many first last next one two three garden kitchen laptop phone server database \
    compiler keyboard river bridge market street neighbour podcast playlist recipe bread soup salad \
    running cycling football tennis chess painting museum";

/// Accented, non-Latin and CJK words (`İstanbul` and `ΟΔΟΣ` lowercase in
/// ways ASCII does not).
const FOREIGN: &str = "\
    café|naïve|façade|jalapeño|Zürich|São Paulo|Straße|crème brûlée|Ångström|smörgåsbord|résumé|\
    mañana|déjà vu|über|Kraków|İstanbul|東京|日本語|ラーメン|こんにちは|ありがとう|北京|你好|\
    한국어|감사합니다|Привет|Москва|λόγος|ΟΔΟΣ|Ελλάδα|مرحبا|שלום|नमस्ते|Ñandú";

/// Emoji with skin tones, ZWJ sequences, variation selectors and flags.
const EMOJI: &str = "\
    😀 😂 🔥 🎉 ❤️ 👍 👍🏽 👋🏿 🙏🏼 👨‍👩‍👧 👩🏽‍💻 🏳️‍🌈 🇫🇷 🇯🇵 ✨ ☕ 🚀 🤔 😅 1️⃣ 🧑‍🤝‍🧑 ™ © ♥ 🤦🏻‍♂️ 😭 💯 🙃 👀 🐈‍⬛";

const HANDLES: &str = "\
    dev_jane tom_codes maria_g nightowl42 the_real_bob Sam_Smith BigNewsNow coffee_snob rustacean99 \
    wasm_fan city_council weather_bot ana_ferreira k_tanaka OpenSourceDaily lisa__m jp_dupont \
    chef_marco ThreadReader";

const NAMES: &[&str] = &[
    "Jane Doe",
    "Tom",
    "María García",
    "Night Owl 🦉",
    "Bob \"the real one\"",
    "Sam Smith",
    "Big News Now",
    "Ana, Ferreira",
    "田中 健",
    "Jean-Pierre Dupont",
    "Marco 🍝",
    "Lisa M.",
];

const HASHTAGS: &str = "\
    #Rust #100DaysOfCode #MondayMotivation #TBT #WebAssembly #FridayFeeling #travel #nofilter #東京 \
    #café #DevOps #bookclub #Caturday #GoodMorning";

const QUOTED: &[&str] = &[
    "\"it works on my machine\"",
    "\"just one more thing\"",
    "“curly quotes”",
    "'single quotes'",
    "\"so, what now?\"",
    "«guillemets»",
    "\"\"",
    "\"a \"\"quoted\"\" quote\"",
];

const ENTITIES: &[&str] = &["&amp;", "&lt;3", "-&gt;", "&gt;", "&lt;&lt;", "Q&amp;A"];

const ENDINGS: &[&str] = &[
    ".", ".", ".", "!", "?", "", "", "...", "…", "!!", "?!", " :)",
];

/// Texts that trip parsers that look for quotes, brackets or backslashes in
/// the raw file, or decode escapes twice.
const TRICKY: &[&str] = &[
    "¯\\_(ツ)_/¯",
    "C:\\Users\\me\\Desktop",
    "\\n",
    "line\\tbreak",
    "\\\"escaped\\\"",
    "{\"full_text\": \"not this one\"}",
    "\"}, {\"tweet\" : {",
    "window.YTD.tweets.part0 = [",
    "</script>",
    "a,b,\"c\"",
    "\",\"",
    "&amp;amp;",
    "https:\\/\\/t.co\\/fake",
    "cafe\u{301}",
    "zero\u{200b}width",
    "100%\\",
    "//comment",
    "/* not a comment */",
    "\\u0041",
    "\\\\",
    "'single' \"double\" `back`",
    "]",
    "[1, 2, 3]",
    "a\u{00a0}b",
];

const NEAR_PREFIXES: &[&str] = &["un", "non", "anti", "re", "my", "e", "super", "x", "2"];
const NEAR_SUFFIXES: &[&str] = &[
    "s", "ed", "ing", "ish", "y", "ography", "ology", "ness", "2", "99", "é", "ista", "verse",
];

/// Positive forms: the word, whole, with what may surround it.
const WRAPS: &[(&str, &str)] = &[
    ("", ""),
    ("", ""),
    ("", ","),
    ("", "!"),
    ("", "."),
    ("(", ")"),
    ("\"", "\""),
    ("#", ""),
    ("", "?"),
    ("", "'s"),
    ("“", "”"),
    ("", ":"),
    ("*", "*"),
    ("", "-related"),
    ("@", ""),
    ("", "…"),
    ("", "_bro"),
];

/// The word lists, less what breaks a forbidden word by itself.
struct Vocab {
    words: Vec<&'static str>,
    foreign: Vec<&'static str>,
    emoji: Vec<&'static str>,
    handles: Vec<&'static str>,
    hashtags: Vec<&'static str>,
    quoted: Vec<&'static str>,
    entities: Vec<&'static str>,
    tricky: Vec<&'static str>,
}

impl Vocab {
    fn new(forbidden: &[String]) -> Self {
        fn keep(list: &[&'static str], forbidden: &[String]) -> Vec<&'static str> {
            list.iter()
                .copied()
                .filter(|item| breaks_forbidden_word(item, forbidden).is_none())
                .collect()
        }
        let split = |list: &'static str| list.split_whitespace().collect::<Vec<_>>();
        Vocab {
            words: keep(&split(WORDS), forbidden),
            foreign: keep(&FOREIGN.split('|').collect::<Vec<_>>(), forbidden),
            emoji: keep(&split(EMOJI), forbidden),
            handles: HANDLES
                .split_whitespace()
                .filter(|handle| breaks_forbidden_word(&format!("@{handle}:"), forbidden).is_none())
                .collect(),
            hashtags: keep(&split(HASHTAGS), forbidden),
            quoted: keep(QUOTED, forbidden),
            entities: keep(ENTITIES, forbidden),
            tricky: keep(TRICKY, forbidden),
        }
    }
}

/// Builds texts from the vocabulary with the generator's RNG.
struct Composer<'a> {
    rng: &'a mut ChaCha8Rng,
    vocab: Vocab,
    words: &'a [String],
    /// The forbidden words that are not empty.
    targets: &'a [&'a str],
    tricky: bool,
}

/// A text in the making: tokens, each with the separator before it (unused
/// for the first, and a space there, so that a token inserted before it
/// leaves a space between them).
type Tokens = Vec<(String, &'static str)>;

impl Composer<'_> {
    /// A text that is a retweet or not and breaks `word` (and maybe
    /// others) or no forbidden word at all, as asked.
    fn text(&mut self, retweet: bool, word: Option<&str>, index: usize) -> String {
        for attempt in 0..12 {
            let text = self.compose(retweet, word, attempt < 6);
            let length = text.chars().count();
            if (MIN_CHARS..=MAX_CHARS).contains(&length)
                && text.starts_with("RT @") == retweet
                && breaks_forbidden_word(&text, self.words).is_some() == word.is_some()
            {
                return text;
            }
        }
        self.fallback(retweet, word, index)
    }

    /// Texts that hold by construction: a single alphanumeric token that is
    /// no forbidden word matches none; a word with only non-alphanumeric
    /// chars around it matches itself.
    fn fallback(&mut self, retweet: bool, word: Option<&str>, index: usize) -> String {
        let body = match word {
            Some(word) => format!("{word} !!!"),
            None => {
                let mut token = format!("note{index}");
                while breaks_forbidden_word(&token, self.words).is_some() {
                    token.push('x');
                }
                token
            }
        };
        if retweet {
            format!(
                "RT @{}: {body}",
                self.vocab.handles.first().copied().unwrap_or("x1")
            )
        } else {
            body
        }
    }

    fn compose(&mut self, retweet: bool, word: Option<&str>, near_miss: bool) -> String {
        let form = word.map(|word| self.forbidden_form(word));
        let miss_share = if self.tricky { 0.5 } else { 0.25 };
        let miss = (near_miss && !self.targets.is_empty() && self.rng.random_bool(miss_share))
            .then(|| {
                let target = self.targets[self.rng.random_range(0..self.targets.len())];
                self.near_miss(target)
            });
        let prefix = retweet.then(|| format!("RT @{}:", self.handle()));
        let reserved: usize = [&form, &miss, &prefix]
            .iter()
            .filter_map(|token| token.as_ref().map(|token| token.chars().count() + 1))
            .sum();
        let max = MAX_CHARS.saturating_sub(reserved);
        let target = self.target_length().min(max);
        let mut tokens = self.body(target, max, !retweet);
        for token in [miss, form].into_iter().flatten() {
            let at = self.rng.random_range(0..=tokens.len());
            tokens.insert(at, (token, " "));
        }
        if let Some(prefix) = prefix {
            tokens.insert(0, (prefix, " "));
        }
        let mut text = String::new();
        for (i, (token, separator)) in tokens.iter().enumerate() {
            if i > 0 {
                text.push_str(separator);
            }
            text.push_str(token);
        }
        text
    }

    fn target_length(&mut self) -> usize {
        let (short, medium) = if self.tricky { (30, 70) } else { (60, 88) };
        match self.rng.random_range(0..100) {
            roll if roll < short => self.rng.random_range(MIN_CHARS..=60),
            roll if roll < medium => self.rng.random_range(60..=140),
            _ => self.rng.random_range(140..=MAX_CHARS),
        }
    }

    /// Sentences of tokens until the text has `target` chars, never more
    /// than `max`.
    fn body(&mut self, target: usize, max: usize, may_reply: bool) -> Tokens {
        let mut tokens: Tokens = Vec::new();
        let mut length = 0;
        if may_reply && self.rng.random_bool(0.1) {
            let reply = format!("@{}", self.handle());
            length += reply.chars().count();
            tokens.push((reply, " "));
        }
        let mut left = 0;
        while length < target {
            let starts = left == 0;
            if starts {
                left = self.rng.random_range(2..=12);
            }
            let (mut token, word) = self.token();
            if starts && word {
                token = capitalize(&token);
            }
            left -= 1;
            if left == 0 {
                if word && token.ends_with(',') {
                    token.pop();
                }
                token.push_str(ENDINGS[self.rng.random_range(0..ENDINGS.len())]);
            }
            let separator = if tokens.is_empty() {
                " "
            } else if starts {
                self.sentence_separator()
            } else {
                self.word_separator()
            };
            let added = token.chars().count() + separator.chars().count();
            if length + added > max {
                break;
            }
            length += added;
            tokens.push((token, separator));
        }
        tokens
    }

    fn sentence_separator(&mut self) -> &'static str {
        const PLAIN: &[(u32, &str)] = &[(70, " "), (22, "\n"), (8, "\n\n")];
        const TRICKY: &[(u32, &str)] = &[
            (40, " "),
            (30, "\n"),
            (15, "\n\n"),
            (5, "\n\n\n"),
            (5, "\t"),
            (3, " \t"),
            (2, "\u{2028}"),
        ];
        let table = if self.tricky { TRICKY } else { PLAIN };
        self.weighted(table)
    }

    fn word_separator(&mut self) -> &'static str {
        const PLAIN: &[(u32, &str)] = &[(992, " "), (4, "  "), (3, "\t"), (1, "\n")];
        const TRICKY: &[(u32, &str)] = &[(90, " "), (3, "  "), (3, "\t"), (4, "\n")];
        let table = if self.tricky { TRICKY } else { PLAIN };
        self.weighted(table)
    }

    fn weighted(&mut self, table: &[(u32, &'static str)]) -> &'static str {
        let total: u32 = table.iter().map(|(weight, _)| weight).sum();
        let mut roll = self.rng.random_range(0..total);
        for &(weight, item) in table {
            if roll < weight {
                return item;
            }
            roll -= weight;
        }
        table[table.len() - 1].1
    }

    /// One token, and whether it is a plain word (which may be capitalised).
    fn token(&mut self) -> (String, bool) {
        // word, word with a comma, foreign, emoji, mention, hashtag, link,
        // entity, number, quoted, tricky
        const PLAIN: [u32; 11] = [70, 6, 3, 4, 3, 3, 1, 2, 2, 2, 0];
        const TRICKY: [u32; 11] = [40, 10, 6, 9, 4, 4, 2, 4, 3, 6, 8];
        let weights = if self.tricky { TRICKY } else { PLAIN };
        let mut roll = self.rng.random_range(0..weights.iter().sum::<u32>());
        let mut kind = 0;
        while roll >= weights[kind] {
            roll -= weights[kind];
            kind += 1;
        }
        let picked = match kind {
            0 => return (self.word(), true),
            1 => return (format!("{},", self.word()), true),
            2 => self.pick(Part::Foreign),
            3 => self.pick(Part::Emoji).map(|emoji| {
                let times = if self.rng.random_bool(0.2) {
                    self.rng.random_range(2..=3)
                } else {
                    1
                };
                emoji.repeat(times)
            }),
            4 => Some(format!("@{}", self.handle())),
            5 => self.pick(Part::Hashtag),
            6 => Some(self.link()),
            7 => self.pick(Part::Entity),
            8 => Some(self.number()),
            9 => self.pick(Part::Quoted),
            _ => {
                if self.rng.random_bool(0.1) {
                    Some(format!("RT @{}:", self.handle()))
                } else {
                    self.pick(Part::Tricky)
                }
            }
        };
        match picked {
            Some(token) => (token, false),
            None => (self.word(), true),
        }
    }

    fn pick(&mut self, part: Part) -> Option<String> {
        let list = match part {
            Part::Foreign => &self.vocab.foreign,
            Part::Emoji => &self.vocab.emoji,
            Part::Hashtag => &self.vocab.hashtags,
            Part::Entity => &self.vocab.entities,
            Part::Quoted => &self.vocab.quoted,
            Part::Tricky => &self.vocab.tricky,
        };
        (!list.is_empty()).then(|| list[self.rng.random_range(0..list.len())].to_string())
    }

    fn word(&mut self) -> String {
        if self.vocab.words.is_empty() {
            return format!("w{}", self.rng.random_range(0..1000));
        }
        self.vocab.words[self.rng.random_range(0..self.vocab.words.len())].to_string()
    }

    fn handle(&mut self) -> &'static str {
        if self.vocab.handles.is_empty() {
            return "x1";
        }
        self.vocab.handles[self.rng.random_range(0..self.vocab.handles.len())]
    }

    fn link(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut link = String::from("https://t.co/");
        for _ in 0..10 {
            link.push(char::from(
                ALPHABET[self.rng.random_range(0..ALPHABET.len())],
            ));
        }
        link
    }

    fn number(&mut self) -> String {
        let n = self.rng.random_range(0..10_000u32);
        match self.rng.random_range(0..6) {
            0 => format!("${n}"),
            1 => format!("{}%", n % 101),
            2 => format!("{},{:03}", n % 100 + 1, n % 1000),
            3 => format!("{}.{}", n / 100, n % 100),
            4 => format!("{}", 1990 + n % 40),
            _ => n.to_string(),
        }
    }

    /// `word` in a case variant, with what may surround a whole word.
    fn forbidden_form(&mut self, word: &str) -> String {
        let variant = self.case_variant(word);
        let (before, after) = WRAPS[self.rng.random_range(0..WRAPS.len())];
        format!("{before}{variant}{after}")
    }

    /// `word` inside a longer word, which does not break it.
    fn near_miss(&mut self, word: &str) -> String {
        let variant = self.case_variant(word);
        let prefix = NEAR_PREFIXES[self.rng.random_range(0..NEAR_PREFIXES.len())];
        let suffix = NEAR_SUFFIXES[self.rng.random_range(0..NEAR_SUFFIXES.len())];
        match self.rng.random_range(0..4) {
            0 => format!("{prefix}{variant}"),
            1 => format!("{prefix}{variant}{suffix}"),
            2 => format!("#{variant}{suffix}"),
            _ => format!("{variant}{suffix}"),
        }
    }

    /// `word` as given, lowercase, uppercase, capitalised or in mixed case;
    /// as given when the variant would not lowercase back (`ß` uppercases
    /// to `SS`).
    fn case_variant(&mut self, word: &str) -> String {
        let variant = match self.rng.random_range(0..5) {
            0 => word.to_string(),
            1 => word.to_lowercase(),
            2 => word.to_uppercase(),
            3 => capitalize(word),
            _ => word
                .chars()
                .map(|c| {
                    if self.rng.random_bool(0.5) {
                        c.to_uppercase().collect::<String>()
                    } else {
                        c.to_lowercase().collect::<String>()
                    }
                })
                .collect(),
        };
        if variant.to_lowercase() == word.to_lowercase() {
            variant
        } else {
            word.to_string()
        }
    }
}

#[derive(Clone, Copy)]
enum Part {
    Foreign,
    Emoji,
    Hashtag,
    Entity,
    Quoted,
    Tricky,
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Rendering

const SOURCES: &[&str] = &[
    "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
    "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
    "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
    "<a href=\"https://about.twitter.com/products/tweetdeck\" rel=\"nofollow\">TweetDeck</a>",
];

const SITES: &[&str] = &[
    "example.com/blog/2019/05/a-post",
    "github.com/someone/project",
    "news.example.org/world?id=42&ref=tw",
    "youtu.be/dQw4w9WgXcQ",
];

/// A JSON value with its keys in order.
enum J {
    Str(String),
    Bool(bool),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

fn s(value: impl Into<String>) -> J {
    J::Str(value.into())
}

fn indices(start: usize, end: usize) -> J {
    J::Arr(vec![s(start.to_string()), s(end.to_string())])
}

/// The object of one tweet: the three fields the contract names, `id`,
/// and a draw of the others, shuffled.
fn tweet_object(tweet: &Tweet, rng: &mut ChaCha8Rng) -> J {
    let mut fields = vec![
        ("id_str", s(&tweet.id)),
        ("id", s(&tweet.id)),
        ("full_text", s(&tweet.text)),
        ("created_at", s(&tweet.created_at)),
    ];
    let count = |rng: &mut ChaCha8Rng| -> String {
        match rng.random_range(0..10) {
            0..6 => "0".to_string(),
            6..9 => rng.random_range(1..20u32).to_string(),
            _ => rng.random_range(20..50_000u32).to_string(),
        }
    };
    // Drawn even when the scenario sets it, so that the draws after it
    // stay those of the same tweet without it.
    let drawn = rng.random_bool(0.5);
    match tweet.retweeted {
        Some(flag) => fields.push(("retweeted", J::Bool(flag))),
        None if drawn => fields.push(("retweeted", J::Bool(false))),
        None => {}
    }
    if rng.random_bool(0.3) {
        fields.push(("favorited", J::Bool(false)));
    }
    if rng.random_bool(0.25) {
        fields.push(("truncated", J::Bool(false)));
    }
    if rng.random_bool(0.6) {
        fields.push(("favorite_count", s(count(rng))));
    }
    if rng.random_bool(0.5) {
        fields.push(("retweet_count", s(count(rng))));
    }
    if rng.random_bool(0.7) {
        fields.push(("lang", s(lang(&tweet.text, rng))));
    }
    if rng.random_bool(0.12) {
        fields.push(("source", s(SOURCES[rng.random_range(0..SOURCES.len())])));
    }
    if rng.random_bool(0.1) {
        fields.push(("display_text_range", indices(0, tweet.text.chars().count())));
    }
    if rng.random_bool(0.06) {
        fields.push(("entities", entities(&tweet.text, rng)));
    }
    if let Some(ms) = snowflake_ms(&tweet.id).filter(|_| rng.random_bool(0.03)) {
        let initial = J::Obj(vec![
            ("editTweetIds", J::Arr(vec![s(&tweet.id)])),
            ("editableUntil", s(iso(ms + 3_600_000))),
            ("editsRemaining", s("5")),
            ("isEditEligible", J::Bool(rng.random_bool(0.5))),
        ]);
        fields.push(("edit_info", J::Obj(vec![("initial", initial)])));
    }
    let reply_to = tweet
        .text
        .strip_prefix('@')
        .map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
        })
        .filter(|handle| !handle.is_empty());
    if let (Some(handle), Ok(id)) = (reply_to, tweet.id.parse::<u64>())
        && rng.random_bool(0.8)
    {
        let to = id
            .saturating_sub(rng.random_range(1u64 << 22..1u64 << 40))
            .to_string();
        let user = rng.random_range(10_000_000..2_000_000_000u64).to_string();
        fields.push(("in_reply_to_status_id_str", s(&to)));
        fields.push(("in_reply_to_status_id", s(to)));
        fields.push(("in_reply_to_user_id_str", s(&user)));
        fields.push(("in_reply_to_user_id", s(user)));
        fields.push(("in_reply_to_screen_name", s(handle)));
    }
    if rng.random_bool(0.03) {
        fields.push(("possibly_sensitive", J::Bool(false)));
    }
    fields.shuffle(rng);
    J::Obj(fields)
}

fn lang(text: &str, rng: &mut ChaCha8Rng) -> &'static str {
    let has = |from: u32, to: u32| text.chars().any(|c| (from..=to).contains(&u32::from(c)));
    if has(0x3040, 0x30ff) {
        "ja"
    } else if has(0xac00, 0xd7af) {
        "ko"
    } else if has(0x4e00, 0x9fff) {
        "zh"
    } else if !text.chars().any(char::is_alphabetic) {
        "und"
    } else {
        ["en", "en", "en", "en", "en", "en", "und", "fr", "de", "es"][rng.random_range(0..10)]
    }
}

/// The hashtags, mentions and links of a text, with their char indices.
fn entities(text: &str, rng: &mut ChaCha8Rng) -> J {
    let (mut hashtags, mut mentions, mut urls) = (Vec::new(), Vec::new(), Vec::new());
    let chars: Vec<char> = text.chars().collect();
    let name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !name_char(chars[i - 1]);
        let rest: String = chars[i..chars.len().min(i + 13)].iter().collect();
        if rest == "https://t.co/" {
            let end = (i + 13..chars.len())
                .find(|&j| !chars[j].is_ascii_alphanumeric())
                .unwrap_or(chars.len());
            let url: String = chars[i..end].iter().collect();
            let site = SITES[rng.random_range(0..SITES.len())];
            let display: String = site.chars().take(20).collect();
            urls.push(J::Obj(vec![
                ("url", s(url)),
                ("expanded_url", s(format!("https://{site}"))),
                ("display_url", s(format!("{display}…"))),
                ("indices", indices(i, end)),
            ]));
            i = end;
            continue;
        }
        if boundary && (chars[i] == '#' || chars[i] == '@') {
            let end = (i + 1..chars.len())
                .find(|&j| !name_char(chars[j]))
                .unwrap_or(chars.len());
            if end > i + 1 {
                let name: String = chars[i + 1..end].iter().collect();
                if chars[i] == '#' {
                    hashtags.push(J::Obj(vec![
                        ("text", s(name)),
                        ("indices", indices(i, end)),
                    ]));
                } else {
                    let id = rng.random_range(10_000_000..2_000_000_000u64).to_string();
                    mentions.push(J::Obj(vec![
                        ("name", s(NAMES[rng.random_range(0..NAMES.len())])),
                        ("screen_name", s(name)),
                        ("indices", indices(i, end)),
                        ("id_str", s(&id)),
                        ("id", s(id)),
                    ]));
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    J::Obj(vec![
        ("hashtags", J::Arr(hashtags)),
        ("symbols", J::Arr(Vec::new())),
        ("user_mentions", J::Arr(mentions)),
        ("urls", J::Arr(urls)),
    ])
}

/// How the strings of one tweet object are escaped, beyond what JSON
/// requires.
struct Escapes {
    /// Non-ASCII chars as `\uXXXX`: never, always, or each with even odds.
    unicode: Unicode,
    /// `/` as `\/`.
    slash: bool,
    /// `\uABCD` rather than `\uabcd`.
    upper: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unicode {
    Never,
    Always,
    Sometimes,
}

impl Escapes {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let unicode = match rng.random_range(0..20) {
            0..2 => Unicode::Always,
            2 => Unicode::Sometimes,
            _ => Unicode::Never,
        };
        Escapes {
            unicode,
            slash: rng.random_bool(0.2),
            upper: rng.random_bool(0.5),
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Writes `value` as real archives do: `"key" : value`, one item or field a
/// line, two spaces an indent, `[ ]` and `{ }` when empty.
fn write_json(out: &mut String, value: &J, depth: usize, escapes: &Escapes, rng: &mut ChaCha8Rng) {
    match value {
        J::Str(string) => write_string(out, string, escapes, rng),
        J::Bool(true) => out.push_str("true"),
        J::Bool(false) => out.push_str("false"),
        J::Arr(items) if items.is_empty() => out.push_str("[ ]"),
        J::Obj(fields) if fields.is_empty() => out.push_str("{ }"),
        J::Arr(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, depth + 1);
                write_json(out, item, depth + 1, escapes, rng);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        J::Obj(fields) => {
            out.push_str("{\n");
            for (i, (key, field)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, depth + 1);
                out.push('"');
                out.push_str(key);
                out.push_str("\" : ");
                write_json(out, field, depth + 1, escapes, rng);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

/// A JSON string literal that decodes to `string`.
fn write_string(out: &mut String, string: &str, escapes: &Escapes, rng: &mut ChaCha8Rng) {
    let hex = |out: &mut String, unit: u16| {
        if escapes.upper {
            out.push_str(&format!("\\u{unit:04X}"));
        } else {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    };
    out.push('"');
    for c in string.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escapes.slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => hex(out, u32::from(c) as u16),
            c if !c.is_ascii()
                && match escapes.unicode {
                    Unicode::Never => false,
                    Unicode::Always => true,
                    Unicode::Sometimes => rng.random_bool(0.5),
                } =>
            {
                let mut units = [0u16; 2];
                for &unit in c.encode_utf16(&mut units).iter() {
                    hex(out, unit);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use serde_json::Value;

    use super::*;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|word| word.to_string()).collect()
    }

    fn spec(tweets: usize, forbidden: &[String], tricky: bool) -> Generate<'_> {
        Generate {
            tweets,
            retweet_share: 0.2,
            forbidden_words: forbidden,
            forbidden_share: 0.3,
            tricky,
            start_ms: 1_700_000_000_000,
        }
    }

    /// The tweets of rendered files, checking each file's name and prefix,
    /// and that every object has `full_text` exactly once.
    fn parse(format: Format, files: &[File]) -> Vec<Tweet> {
        let (stem, variable) = match format {
            Format::Current => ("data/tweets", "tweets"),
            Format::Legacy => ("data/tweet", "tweet"),
        };
        let mut tweets = Vec::new();
        for (part, file) in files.iter().enumerate() {
            let path = if part == 0 {
                format!("{stem}.js")
            } else {
                format!("{stem}-part{part}.js")
            };
            assert_eq!(file.path, path);
            let prefix = format!("window.YTD.{variable}.part{part} = ");
            let json = file.content.strip_prefix(&prefix).expect("prefix");
            let array: Vec<Value> = serde_json::from_str(json).expect("valid JSON");
            assert_eq!(
                file.content.matches("\"full_text\" : ").count(),
                array.len()
            );
            for item in array {
                let object = match format {
                    Format::Current => {
                        let wrapper = item.as_object().expect("object");
                        assert_eq!(wrapper.len(), 1);
                        wrapper["tweet"].clone()
                    }
                    Format::Legacy => {
                        assert!(item.get("tweet").is_none());
                        item
                    }
                };
                let field = |key: &str| object[key].as_str().expect(key).to_string();
                assert_eq!(field("id"), field("id_str"));
                tweets.push(Tweet {
                    id: field("id_str"),
                    text: field("full_text"),
                    created_at: field("created_at"),
                    retweeted: None,
                });
            }
        }
        tweets
    }

    #[test]
    fn same_seed_same_files() {
        let forbidden = words(&["crypto", "NFT"]);
        let files = |seed| {
            let mut rng = rng(seed);
            let tweets = generate(&spec(300, &forbidden, true), &mut rng);
            (
                render(Format::Current, &tweets, 3, &mut rng),
                render(Format::Legacy, &tweets, 2, &mut rng),
            )
        };
        assert_eq!(files(7), files(7));
        assert_ne!(files(7), files(8));
    }

    #[test]
    fn rendered_files_parse_back_to_the_tweets() {
        let forbidden = words(&["crypto", "café"]);
        for tricky in [false, true] {
            let mut rng = rng(1);
            let tweets = generate(&spec(500, &forbidden, tricky), &mut rng);
            for format in [Format::Current, Format::Legacy] {
                for parts in [1, 2, 7] {
                    let files = render(format, &tweets, parts, &mut rng);
                    assert_eq!(files.len(), parts);
                    assert_eq!(parse(format, &files), tweets);
                }
            }
        }
    }

    #[test]
    fn the_layout_is_the_archives() {
        let tweets = [tweet_at(1_700_000_000_000, 0, "hello, world")];
        let files = render(Format::Current, &tweets, 1, &mut rng(3));
        let content = &files[0].content;
        assert!(
            content.starts_with("window.YTD.tweets.part0 = [\n  {\n    \"tweet\" : {\n      \"")
        );
        assert!(content.ends_with("\n    }\n  }\n]"));
        assert!(content.contains("\n      \"full_text\" : \"hello, world\""));
        let files = render(Format::Legacy, &tweets, 1, &mut rng(3));
        assert!(
            files[0]
                .content
                .starts_with("window.YTD.tweet.part0 = [\n  {\n    \"")
        );
        assert!(
            files[0]
                .content
                .contains("\n    \"full_text\" : \"hello, world\"")
        );
    }

    #[test]
    fn key_order_varies() {
        let mut rng = rng(4);
        let tweets = generate(&spec(200, &[], false), &mut rng);
        let files = render(Format::Legacy, &tweets, 1, &mut rng);
        let objects: Vec<&str> = files[0].content.split("\n  {\n").skip(1).collect();
        assert_eq!(objects.len(), 200);
        let first_keys: std::collections::BTreeSet<&str> = objects
            .iter()
            .map(|object| object.trim_start().split('"').nth(1).unwrap())
            .collect();
        assert!(first_keys.len() >= 5, "{first_keys:?}");
        assert!(files[0].content.contains("\"source\" : \"<a href=\\\""));
        assert!(files[0].content.contains("\"user_mentions\" : [\n"));
        assert!(files[0].content.contains("\"hashtags\" : [ ]"));
    }

    #[test]
    fn escapes_round_trip() {
        let text = "😀 👨‍👩‍👧 café \"q\" \\ / \n\t\r \u{1} \u{2028} 東京 https://t.co/x";
        for unicode in [Unicode::Never, Unicode::Always, Unicode::Sometimes] {
            for slash in [false, true] {
                for upper in [false, true] {
                    let escapes = Escapes {
                        unicode,
                        slash,
                        upper,
                    };
                    let mut out = String::new();
                    write_string(&mut out, text, &escapes, &mut rng(5));
                    assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text, "{out}");
                    assert_eq!(out.contains("\\/"), slash);
                    if unicode == Unicode::Always {
                        assert!(out.is_ascii());
                        let pair = if upper {
                            "\\uD83D\\uDE00"
                        } else {
                            "\\ud83d\\ude00"
                        };
                        assert!(out.contains(pair), "{out}");
                    }
                }
            }
        }
        // And in whole files: escapes of each kind show up.
        let mut rng = rng(6);
        let tweets = generate(&spec(400, &[], true), &mut rng);
        let files = render(Format::Current, &tweets, 1, &mut rng);
        let content = &files[0].content;
        assert!(content.contains("\\/"));
        assert!(content.contains("\\ud83d") || content.contains("\\uD83D"));
        assert!(content.contains("\\n") && content.contains("\\t") && content.contains("\\\""));
        assert_eq!(parse(Format::Current, &files), tweets);
    }

    #[test]
    fn forbidden_share_is_respected_and_the_rest_is_clean() {
        let forbidden = words(&["crypto", "NFT", "", "café", "Straße"]);
        for tricky in [false, true] {
            let mut rng = rng(9);
            let tweets = generate(&spec(2000, &forbidden, tricky), &mut rng);
            let breaking = tweets
                .iter()
                .filter(|tweet| breaks_forbidden_word(&tweet.text, &forbidden).is_some())
                .count();
            assert_eq!(breaking, 600);
            assert_eq!(
                tweets.iter().filter(|tweet| tweet.is_retweet()).count(),
                400
            );
            // Near misses: clean texts that hold a forbidden word inside
            // a longer one.
            let near = tweets
                .iter()
                .filter(|tweet| breaks_forbidden_word(&tweet.text, &forbidden).is_none())
                .filter(|tweet| {
                    let lower = tweet.text.to_lowercase();
                    ["crypto", "nft", "café", "straße"]
                        .iter()
                        .any(|word| lower.contains(word))
                })
                .count();
            assert!(near > 100, "{near} near misses");
            // Every word shows up, in more than one case.
            for word in ["crypto", "nft", "café", "straße"] {
                let lower = tweets
                    .iter()
                    .filter(|tweet| tweet.text.contains(word))
                    .count();
                let other = tweets
                    .iter()
                    .filter(|tweet| !tweet.text.contains(word))
                    .filter(|tweet| tweet.text.to_lowercase().contains(word))
                    .count();
                assert!(
                    lower > 0 && other > 0,
                    "{word}: {lower} lowercase, {other} other"
                );
            }
        }
    }

    #[test]
    fn no_forbidden_words_no_breaking_tweets() {
        let only_empty = words(&[""]);
        let tweets = generate(&spec(200, &only_empty, false), &mut rng(10));
        assert!(
            tweets
                .iter()
                .all(|tweet| breaks_forbidden_word(&tweet.text, &only_empty).is_none())
        );
        // Common words as forbidden words still leave clean texts.
        let common = words(&["the", "a", "I", "and", "coffee", "is"]);
        let tweets = generate(&spec(300, &common, false), &mut rng(11));
        let breaking = tweets
            .iter()
            .filter(|tweet| breaks_forbidden_word(&tweet.text, &common).is_some())
            .count();
        assert_eq!(breaking, 90);
        // `rt`: retweets cannot help it, other tweets can.
        let rt = words(&["rt"]);
        let tweets = generate(&spec(100, &rt, false), &mut rng(12));
        let clean_originals = tweets
            .iter()
            .filter(|tweet| {
                !tweet.is_retweet() && breaks_forbidden_word(&tweet.text, &rt).is_none()
            })
            .count();
        assert!(clean_originals > 40);
    }

    #[test]
    fn odd_forbidden_words_keep_the_counts_exact() {
        let lists: [&[&str]; 4] = [
            &[
                "a",
                "c++",
                "🔥",
                "ΟΔΟΣ",
                "ß",
                "x-x",
                "  ",
                "İstanbul",
                "good coffee",
                "the",
            ],
            &[" "],
            &["e", "1", "#"],
            &["https", "amp", "co"],
        ];
        for list in lists {
            let forbidden = words(list);
            for tricky in [false, true] {
                let tweets = generate(&spec(300, &forbidden, tricky), &mut rng(16));
                let breaking = tweets
                    .iter()
                    .filter(|tweet| breaks_forbidden_word(&tweet.text, &forbidden).is_some())
                    .count();
                assert_eq!(breaking, 90, "{list:?}");
                assert_eq!(tweets.iter().filter(|tweet| tweet.is_retweet()).count(), 60);
                for tweet in &tweets {
                    assert!((5..=280).contains(&tweet.text.chars().count()));
                }
            }
        }
    }

    #[test]
    fn breaks_forbidden_word_follows_the_rule() {
        let check = |text: &str, list: &[&str]| breaks_forbidden_word(text, &words(list));
        assert_eq!(check("I love Crypto, really", &["crypto"]), Some(0));
        assert_eq!(check("(CRYPTO)", &["crypto"]), Some(0));
        assert_eq!(check("crypto!", &["Crypto"]), Some(0));
        assert_eq!(check("#crypto", &["crypto"]), Some(0));
        assert_eq!(check("crypto_bro", &["crypto"]), Some(0));
        assert_eq!(check("crypto-related", &["crypto"]), Some(0));
        assert_eq!(check("cryptography", &["crypto"]), None);
        assert_eq!(check("cryptos", &["crypto"]), None);
        assert_eq!(check("bitcrypto", &["crypto"]), None);
        assert_eq!(check("crypto2", &["crypto"]), None);
        assert_eq!(check("cryptoé", &["crypto"]), None);
        assert_eq!(check("cryptography and crypto", &["crypto"]), Some(0));
        assert_eq!(check("CAFÉ au lait", &["café"]), Some(0));
        assert_eq!(check("cafés", &["CAFÉ"]), None);
        assert_eq!(check("Straße", &["straße"]), Some(0));
        assert_eq!(check("STRASSE", &["straße"]), None);
        assert_eq!(check("東京", &["東京"]), Some(0));
        assert_eq!(check("東京都", &["東京"]), None);
        assert_eq!(check("no match here", &["", "nope"]), None);
        assert_eq!(check("", &[""]), None);
        assert_eq!(check("anything", &[]), None);
        assert_eq!(
            check("nft and crypto", &["bitcoin", "crypto", "nft"]),
            Some(1)
        );
        assert_eq!(check("x-x", &["x-x"]), Some(0));
        assert_eq!(check("yx-x-x", &["x-x"]), Some(0));
        assert_eq!(check("bad word!", &["Bad Word"]), Some(0));
        assert_eq!(check("12crypto", &["crypto"]), None);
        assert_eq!(check("İstanbul", &["i\u{307}stanbul"]), Some(0));
        assert_eq!(check("ISTANBUL", &["İstanbul"]), None);
        assert_eq!(check("a\u{301}", &["a"]), Some(0));
    }

    #[test]
    fn ids_increase_and_times_match() {
        let mut rng = rng(13);
        let tweets = generate(&spec(20_000, &[], false), &mut rng);
        let ids: Vec<u64> = tweets
            .iter()
            .map(|tweet| tweet.id.parse().unwrap())
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        for (tweet, id) in tweets.iter().zip(&ids) {
            assert!((18..=19).contains(&tweet.id.len()), "{}", tweet.id);
            assert_eq!(
                tweet.created_at,
                created_at(snowflake_ms(&tweet.id).unwrap())
            );
            let chars = tweet.text.chars().count();
            assert!((5..=280).contains(&chars), "{chars}: {:?}", tweet.text);
            assert_eq!(tweet.text.trim(), tweet.text);
            assert!(*id > 0);
        }
        assert_eq!(
            created_at(1_539_202_764_000),
            "Wed Oct 10 20:19:24 +0000 2018"
        );
        assert_eq!(created_at(0), "Thu Jan 01 00:00:00 +0000 1970");
        assert_eq!(
            created_at(951_782_400_000),
            "Tue Feb 29 00:00:00 +0000 2000"
        );
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        let hand: Vec<u64> = (0..1000)
            .map(|i| id_at(1_700_000_000_000, i).parse().unwrap())
            .collect();
        assert!(hand.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(id_at(0, 0).len(), 18);
        assert_eq!(id_at(u64::MAX, 0).len(), 19);
        assert_eq!(
            created_at_at(1_700_000_000_000, 1),
            "Tue Nov 14 23:13:20 +0000 2023"
        );
        let starts_2012 = generate(
            &Generate {
                start_ms: 0,
                ..spec(3, &[], false)
            },
            &mut rng,
        );
        assert!(starts_2012[0].created_at.ends_with("2012"));
    }

    #[test]
    fn hand_written_tweets_come_after_generated_ones() {
        let start = 1_700_000_000_000;
        let tweets = generate(&spec(2000, &[], false), &mut rng(17));
        let last: u64 = tweets.last().unwrap().id.parse().unwrap();
        let first_hand: u64 = id_at(start, 2000).parse().unwrap();
        assert!(last < first_hand);
        let hand: std::collections::BTreeSet<String> = (0..2000).map(|i| id_at(start, i)).collect();
        assert!(tweets.iter().all(|tweet| !hand.contains(&tweet.id)));
        assert_eq!(tweet_at(start, 3, "x").id, id_at(start, 3));
    }

    #[test]
    fn parts_split_evenly_in_order() {
        let tweets: Vec<Tweet> = (0..10)
            .map(|i| tweet_at(1_700_000_000_000, i, &format!("tweet {i}")))
            .collect();
        let files = render(Format::Current, &tweets, 3, &mut rng(14));
        let sizes: Vec<usize> = files
            .iter()
            .map(|file| file.content.matches("\"full_text\" : ").count())
            .collect();
        assert_eq!(sizes, [4, 3, 3]);
        assert_eq!(parse(Format::Current, &files), tweets);
        let files = render(Format::Legacy, &tweets[..2], 3, &mut rng(14));
        assert_eq!(files[2].content, "window.YTD.tweet.part2 = [ ]");
        assert_eq!(files[2].path, "data/tweet-part2.js");
        assert_eq!(parse(Format::Legacy, &files), tweets[..2]);
        assert_eq!(render(Format::Current, &tweets, 0, &mut rng(14)).len(), 1);
    }

    #[test]
    fn a_large_archive_stays_moderate() {
        let forbidden = words(&["crypto"]);
        let mut rng = rng(15);
        let tweets = generate(&spec(20_000, &forbidden, false), &mut rng);
        for format in [Format::Current, Format::Legacy] {
            let files = render(format, &tweets, 4, &mut rng);
            let bytes: usize = files.iter().map(|file| file.content.len()).sum();
            let per_tweet = bytes / tweets.len();
            assert!(
                (300..=450).contains(&per_tweet),
                "{format:?}: {per_tweet} bytes per tweet"
            );
        }
    }
}
