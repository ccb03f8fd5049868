//! The strict diff of a plugin's run against the reference's run on the same
//! plan: the first call whose outcome differs, with its context, and how two
//! answers are shown side by side: the compared fields that differ named,
//! a long list shown as a window around its first differing item, and no
//! printed answer longer than [`LINE_LIMIT`].

pub mod tree;

use std::fmt::Display;

use serde::Serialize;

pub use self::tree::Tree;
use crate::check::Divergence;
use crate::sim::{Action, Event, History, Outcome, Plan};

/// The name of the diff as a check.
pub const CHECK: &str = "reference-diff";

/// The longest an answer is printed in a divergence, a diff row or a
/// mismatch message, in bytes; the rest is elided ("…(N more bytes)").
pub const LINE_LIMIT: usize = 600;
/// The longest one item of a list window is printed, in bytes.
pub const ITEM_LIMIT: usize = 160;
/// The items shown on each side of the first item that differs.
pub const WINDOW: usize = 2;

/// An answer as the diff compares it. By default every field of its
/// serialised form is compared; a track whose answer carries figures the
/// diff does not compare (crashes, dependency calls, time waited) gives
/// only the compared part, so that the fields named as differing are
/// fields that decide. Such figures, when the answer prints them, are
/// printed as `[not compared: ...]`.
pub trait Compared: Display + Serialize + PartialEq {
    /// What of the answer is compared, as a tree to find where two answers
    /// differ and to print them when their `Display` does not tell them
    /// apart.
    fn compared(&self) -> Tree {
        Tree::of(self)
    }
}

/// `s` cut to at most about `limit` bytes (on a character boundary), with
/// what was cut counted: "…(N more bytes)".
pub fn clip(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let end = floor_boundary(s, limit);
    format!("{}…({} more bytes)", &s[..end], s.len() - end)
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `s` cut to about `limit` bytes around where it first differs from
/// `other`: "…(N bytes)…" before, "…(N more bytes)" after.
fn around(s: &str, other: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let first = s
        .bytes()
        .zip(other.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(s.len().min(other.len()));
    let start = floor_boundary(s, first.saturating_sub(limit / 4));
    let end = floor_boundary(s, start + limit);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("…({start} bytes)…"));
    }
    out.push_str(&s[start..end]);
    if end < s.len() {
        out.push_str(&format!("…({} more bytes)", s.len() - end));
    }
    out
}

/// A tree printed compactly: records as `{field: value, ...}`, variants by
/// name (`dead(attempts-exhausted)`), `Ok` as its value, `Err` as `error
/// ...`, strings bare when they are one plain word.
pub fn compact(tree: &Tree) -> String {
    let mut out = String::new();
    write_compact(tree, &mut out);
    out
}

fn write_compact(tree: &Tree, out: &mut String) {
    let items = |out: &mut String, open: &str, items: &[Tree], close: &str| {
        out.push_str(open);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_compact(item, out);
        }
        out.push_str(close);
    };
    match tree {
        Tree::Unit => out.push_str("none"),
        Tree::Bool(b) => out.push_str(&b.to_string()),
        Tree::Number(n) => out.push_str(n),
        Tree::Str(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c));
            if plain {
                out.push_str(s);
            } else {
                out.push_str(&format!("{s:?}"));
            }
        }
        Tree::List(list) => items(out, "[", list, "]"),
        Tree::Tuple(list) => items(out, "(", list, ")"),
        Tree::Record(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_compact(v, out);
            }
            out.push('}');
        }
        Tree::Variant(name, inner) => match (name.as_str(), &**inner) {
            ("Ok", Tree::Unit) => out.push_str("ok"),
            ("Ok", inner) => write_compact(inner, out),
            ("Err", inner) => {
                out.push_str("error ");
                write_compact(inner, out);
            }
            (name, Tree::Unit) => out.push_str(name),
            (name, inner @ Tree::Record(_)) => {
                out.push_str(name);
                out.push(' ');
                write_compact(inner, out);
            }
            (name, Tree::Tuple(list)) => {
                out.push_str(name);
                items(out, "(", list, ")");
            }
            (name, inner) => {
                out.push_str(name);
                out.push('(');
                write_compact(inner, out);
                out.push(')');
            }
        },
    }
}

/// Where two answers differ.
#[derive(Default)]
struct Found<'a> {
    /// The compared fields that differ, by name, in order.
    names: Vec<String>,
    /// The outermost list where they differ.
    list: Option<ListAt<'a>>,
}

struct ListAt<'a> {
    index: usize,
    expected: &'a [Tree],
    actual: &'a [Tree],
}

impl Found<'_> {
    fn name(&mut self, name: Option<&str>) {
        if let Some(name) = name
            && !self.names.iter().any(|n| n == name)
        {
            self.names.push(name.to_string());
        }
    }
}

/// Walks two trees to where they differ. `name` is the field (or, for a
/// list, the variant) the trees are the value of.
fn walk<'a>(a: &'a Tree, b: &'a Tree, name: Option<&'a str>, found: &mut Found<'a>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Tree::Record(fa), Tree::Record(fb)) => {
            for (k, va) in fa {
                match fb.iter().find(|(kb, _)| kb == k) {
                    Some((_, vb)) => walk(va, vb, Some(k), found),
                    None => found.name(Some(k)),
                }
            }
            for (k, _) in fb.iter().filter(|(k, _)| !fa.iter().any(|(ka, _)| ka == k)) {
                found.name(Some(k));
            }
        }
        (Tree::Variant(na, xa), Tree::Variant(nb, xb)) if na == nb => {
            // A variant names what it carries only for a list (the
            // `dead-letters` of an answer); `Ok` and `Err` never do.
            let inner = match name {
                Some(n) => Some(n),
                None if na != "Ok" && na != "Err" => Some(na.as_str()),
                None => None,
            };
            walk(xa, xb, inner, found);
        }
        (Tree::Tuple(ta), Tree::Tuple(tb)) if ta.len() == tb.len() => {
            for (x, y) in ta.iter().zip(tb) {
                walk(x, y, name, found);
            }
        }
        (Tree::List(la), Tree::List(lb)) => {
            let index = la
                .iter()
                .zip(lb)
                .position(|(x, y)| x != y)
                .unwrap_or(la.len().min(lb.len()));
            if found.list.is_none() {
                found.list = Some(ListAt {
                    index,
                    expected: la,
                    actual: lb,
                });
            }
            let before = found.names.len();
            if let (Some(x), Some(y)) = (la.get(index), lb.get(index)) {
                walk(x, y, None, found);
            }
            if found.names.len() == before {
                found.name(name);
            }
        }
        _ => found.name(name),
    }
}

/// One side of a list window: its length, then the items from `WINDOW`
/// before `index` to `WINDOW` after it, "…" for the rest.
fn window(items: &[Tree], index: usize) -> String {
    let lo = index.saturating_sub(WINDOW);
    let hi = (index + WINDOW + 1).min(items.len());
    let mut parts = Vec::new();
    if lo > 0 {
        parts.push(format!("… {lo} before"));
    }
    for (i, item) in items.iter().enumerate().take(hi).skip(lo) {
        parts.push(format!("#{i} {}", clip(&compact(item), ITEM_LIMIT)));
    }
    if index >= items.len() {
        parts.push("(end)".into());
    } else if hi < items.len() {
        parts.push(format!("… {} more", items.len() - hi));
    }
    format!(
        "{}: [{}]",
        crate::report::count(items.len(), "item"),
        parts.join(", ")
    )
}

/// The prefix of the entry of [`Divergence::fields`] that says where two
/// lists first differ.
pub const LIST_NOTE: &str = "first at index ";

/// "first at index 37 of 1200 (expected 1200 items, got 1199)".
fn list_note(index: usize, expected: usize, actual: usize) -> String {
    format!("{LIST_NOTE}{index} of {expected} (expected {expected} items, got {actual})")
}

/// Two different answers as a divergence shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contrast {
    pub expected: String,
    pub actual: String,
    /// The compared fields that differ, then, if they differ in a list,
    /// where: "first at index 37 of 1200 (expected 1200 items, got 1199)".
    pub fields: Vec<String>,
}

/// How two answers that differ are shown: each by its `Display`, unless
/// that is long, or alike for both, or they differ in a list of more than
/// `2 * WINDOW + 1` items; then the list around its first differing item,
/// or the text around where it first differs. Never longer than
/// [`LINE_LIMIT`] (plus a count of what was elided).
pub fn contrast<Out: Compared>(expected: &Out, actual: &Out) -> Contrast {
    let (te, ta) = (expected.compared(), actual.compared());
    let mut found = Found::default();
    walk(&te, &ta, None, &mut found);
    let (de, da) = (expected.to_string(), actual.to_string());
    let long = de.len() > LINE_LIMIT || da.len() > LINE_LIMIT;
    let mut fields = std::mem::take(&mut found.names);
    let (e, a) = match &found.list {
        Some(list)
            if long || de == da || list.expected.len().max(list.actual.len()) > 2 * WINDOW + 1 =>
        {
            (
                window(list.expected, list.index),
                window(list.actual, list.index),
            )
        }
        _ if de != da => (around(&de, &da, LINE_LIMIT), around(&da, &de, LINE_LIMIT)),
        _ => {
            let (ce, ca) = (compact(&te), compact(&ta));
            (around(&ce, &ca, LINE_LIMIT), around(&ca, &ce, LINE_LIMIT))
        }
    };
    if let Some(list) = &found.list {
        fields.push(list_note(
            list.index,
            list.expected.len(),
            list.actual.len(),
        ));
    }
    Contrast {
        expected: clip(&e, LINE_LIMIT + ITEM_LIMIT),
        actual: clip(&a, LINE_LIMIT + ITEM_LIMIT),
        fields,
    }
}

/// Two lists that should be equal, as a mismatch message: `None` if they
/// are; else where they first differ and a window of each around it,
/// e.g. "differ first at index 37 of 1200 (expected 1200 items, got 1199):
/// expected [… 35 before, #35 j36, ...], got [...]".
pub fn list_mismatch<T: Serialize + PartialEq>(expected: &[T], actual: &[T]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let te: Vec<Tree> = expected.iter().map(Tree::of).collect();
    let ta: Vec<Tree> = actual.iter().map(Tree::of).collect();
    let index = te
        .iter()
        .zip(&ta)
        .position(|(x, y)| x != y)
        .unwrap_or(te.len().min(ta.len()));
    Some(format!(
        "differ {}: expected {}, got {}",
        list_note(index, te.len(), ta.len()),
        window(&te, index),
        window(&ta, index)
    ))
}

/// "differs in: retweets, deleted, kept, file", or nothing if no field is
/// named.
pub fn differs_in(fields: &[String]) -> Option<String> {
    (!fields.is_empty()).then(|| format!("differs in: {}", fields.join(", ")))
}

fn describe<Out: Display>(outcome: Option<&Outcome<Out>>) -> String {
    match outcome {
        Some(Outcome::Returned(out)) => clip(&out.to_string(), LINE_LIMIT),
        Some(Outcome::Aborted(abort)) => format!("no answer: the plugin {abort}"),
        None => "no call (the run had ended)".to_string(),
    }
}

/// A run's calls in order: (step, clock reading, outcome).
fn outcomes<Out>(h: &History<Out>) -> impl Iterator<Item = (usize, u64, &Outcome<Out>)> {
    h.entries.iter().filter_map(|e| match &e.event {
        Event::Call { outcome, .. } => Some((e.step, e.time_ms, outcome)),
        Event::Fault { .. } => None,
    })
}

/// Compares two runs call by call.
pub fn first_divergence<Op: Display, Out: Compared>(
    plan: &Plan<Op>,
    expected: &History<Out>,
    actual: &History<Out>,
) -> Option<Divergence> {
    // Walk both runs in step, without copying them: the first call where the
    // outcomes differ, or where one run has ended and the other has not.
    let mut exp = outcomes(expected);
    let mut act = outcomes(actual);
    let mut index = 0;
    let (e, a) = loop {
        match (exp.next(), act.next()) {
            (None, None) => return None,
            (e, a) if e.map(|e| e.2) != a.map(|a| a.2) => break (e, a),
            _ => index += 1,
        }
    };
    let (step, time_ms) = e
        .or(a)
        .map(|(s, t, _)| (s, t))
        .expect("one side has this call");
    let op = plan
        .actions
        .get(step)
        .and_then(|a| match a {
            Action::Call(op) => Some(clip(&op.to_string(), LINE_LIMIT)),
            _ => None,
        })
        .unwrap_or_default();
    let after_fault = plan.actions[..step].iter().rev().find_map(|a| match a {
        Action::Fault(f) => Some(f.to_string()),
        _ => None,
    });
    let (expected, actual, fields) = match (e, a) {
        (Some((_, _, Outcome::Returned(e))), Some((_, _, Outcome::Returned(a)))) => {
            let c = contrast(e, a);
            (c.expected, c.actual, c.fields)
        }
        _ => (
            describe(e.map(|e| e.2)),
            describe(a.map(|a| a.2)),
            Vec::new(),
        ),
    };
    Some(Divergence {
        call: index,
        step,
        operation: op,
        time_ms,
        elapsed_ms: i64::try_from(i128::from(time_ms) - i128::from(plan.start_ms))
            .unwrap_or(i64::MAX),
        expected,
        actual,
        fields,
        after_fault,
    })
}

/// Why a concurrent run has no diff against the reference: the message of
/// its skipped check.
pub const NOT_COMPARED_CONCURRENT: &str = "not compared: two correct implementations park at different imports, so one seed interleaves them differently; a concurrent run is judged by its own checks";

/// The diff as a check result: pass, or the first divergence, with the
/// fields that differ.
pub fn as_check(divergence: Option<&Divergence>, calls: usize) -> crate::check::CheckResult {
    use crate::check::CheckResult;
    match divergence {
        None => CheckResult::pass(CHECK, format!("{calls} answers identical to the reference")),
        Some(d) => CheckResult::fail(
            CHECK,
            Some(d.call),
            format!(
                "call {} {}: expected {}, got {}{}",
                d.call,
                d.operation,
                d.expected,
                d.actual,
                differs_in(&d.fields)
                    .map(|f| format!("; {f}"))
                    .unwrap_or_default()
            ),
        ),
    }
}

/// The format version of the JSON diff report.
pub const DIFF_FORMAT: u32 = 1;

/// `gauntlet diff`'s whole run, as `--json` serialises it and the HTML
/// report renders it.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    pub format: u32,
    pub gauntlet: &'static str,
    pub track: &'static str,
    pub plugin: crate::runner::PluginInfo,
    pub other: crate::runner::PluginInfo,
    /// Whether OTHER is the track's reference.
    pub other_is_reference: bool,
    pub scenarios: Vec<ComparedScenario>,
    pub summary: DiffSummary,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DiffSummary {
    pub scenarios: usize,
    pub agree: usize,
    pub differ: usize,
}

/// One scenario run against both sides.
#[derive(Clone, Debug, Serialize)]
pub struct ComparedScenario {
    pub name: String,
    pub seed: u64,
    /// The first call whose answers differ (`expected` is OTHER's answer,
    /// `actual` PLUGIN's); none if every answer agrees.
    pub divergence: Option<Divergence>,
    /// The calls around the divergence, both answers side by side.
    pub rows: Vec<DiffRow>,
    /// The checks PLUGIN broke on this scenario (the diff itself aside).
    pub broken_checks: Vec<crate::check::CheckResult>,
    /// The faults injected into PLUGIN's run, in order (at most
    /// [`crate::runner::TIMELINE_LIMIT`]).
    pub timeline: Vec<crate::runner::TimelineEvent>,
}

/// One call, both answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffRow {
    pub call: usize,
    pub operation: String,
    pub plugin: String,
    pub other: String,
    pub differs: bool,
    /// Where two answers differ, the compared fields that do (see
    /// [`Contrast::fields`]).
    pub fields: Vec<String>,
}

/// Everything both runs of one scenario produced, for [`compare`].
pub struct Sides<'a, Op, Out> {
    pub name: &'a str,
    pub seed: u64,
    pub plan: &'a Plan<Op>,
    pub plugin: &'a History<Out>,
    pub other: &'a History<Out>,
    pub checks: Vec<crate::check::CheckResult>,
    pub divergence: Option<Divergence>,
    pub timeline: Vec<crate::runner::TimelineEvent>,
}

/// Lays two runs side by side around their first divergence, with
/// `context` calls before and after it.
pub fn compare<'a, Op: Display, Out: Compared>(
    sides: Sides<'a, Op, Out>,
    context: usize,
) -> ComparedScenario {
    let rows = match &sides.divergence {
        None => Vec::new(),
        Some(d) => {
            let first = d.call.saturating_sub(context);
            let count = d.call + context + 1 - first;
            // Each side's outcomes in the window, read in one pass.
            let window = |h: &'a History<Out>| -> Vec<&'a Outcome<Out>> {
                outcomes(h)
                    .skip(first)
                    .take(count)
                    .map(|(_, _, outcome)| outcome)
                    .collect()
            };
            let (plugin, other) = (window(sides.plugin), window(sides.other));
            let show = |o: Option<&Outcome<Out>>| match o {
                Some(Outcome::Returned(out)) => clip(&out.to_string(), LINE_LIMIT),
                Some(Outcome::Aborted(abort)) => format!("ABORTED: {abort}"),
                None => "(not run)".to_string(),
            };
            sides
                .plan
                .actions
                .iter()
                .filter_map(|action| match action {
                    Action::Call(op) => Some(op),
                    _ => None,
                })
                .enumerate()
                .skip(first)
                .take(count)
                .enumerate()
                .map(|(i, (call, op))| {
                    let (p, o) = (plugin.get(i).copied(), other.get(i).copied());
                    let differs = p != o;
                    let (plugin, other, fields) = match (p, o) {
                        (Some(Outcome::Returned(p)), Some(Outcome::Returned(o))) if differs => {
                            let c = contrast(o, p);
                            (c.actual, c.expected, c.fields)
                        }
                        _ => (show(p), show(o), Vec::new()),
                    };
                    DiffRow {
                        call,
                        operation: clip(&op.to_string(), LINE_LIMIT),
                        differs,
                        plugin,
                        other,
                        fields,
                    }
                })
                .collect()
        }
    };
    let mut timeline = sides.timeline;
    timeline.truncate(crate::runner::TIMELINE_LIMIT);
    ComparedScenario {
        name: sides.name.to_string(),
        seed: sides.seed,
        divergence: sides.divergence,
        rows,
        broken_checks: sides
            .checks
            .into_iter()
            .filter(|c| c.status == crate::check::Status::Fail && c.name != CHECK)
            .collect(),
        timeline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Entry;

    #[test]
    fn a_map_is_a_record_named_by_its_keys_and_other_keys_are_refused() {
        use std::collections::BTreeMap;
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum Key {
            Low,
        }
        let by_name = BTreeMap::from([("a", 1u32), ("b", 2)]);
        let record = |k: &str, v: &str| (k.to_string(), Tree::Number(v.to_string()));
        assert_eq!(
            Tree::of(&by_name),
            Tree::Record(vec![record("a", "1"), record("b", "2")])
        );
        assert_eq!(
            Tree::of(&BTreeMap::from([(7u8, 1u32), (9, 2)])),
            Tree::Record(vec![record("7", "1"), record("9", "2")])
        );
        assert_eq!(
            Tree::of(&BTreeMap::from([(Key::Low, 3u32)])),
            Tree::Record(vec![record("Low", "3")])
        );
        // A key that is not a name makes no tree.
        assert_eq!(Tree::of(&BTreeMap::from([((1u8, 2u8), 3u32)])), Tree::Unit);
    }

    #[derive(Clone, Debug, PartialEq, Serialize)]
    #[serde(rename_all = "kebab-case")]
    enum Answer {
        Item { name: String, size: u32 },
        Listing(Vec<Item>),
    }

    #[derive(Clone, Debug, PartialEq, Serialize)]
    struct Item {
        name: String,
        state: String,
    }

    /// Prints only part of what is compared, as a careless `Display`
    /// would.
    impl Display for Answer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Answer::Item { name, .. } => write!(f, "item {name}"),
                Answer::Listing(items) => {
                    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
                    write!(f, "[{}]", names.join(", "))
                }
            }
        }
    }

    impl Compared for Answer {}

    fn listing(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                name: format!("job-{i}-{}", "x".repeat(30)),
                state: "dead".into(),
            })
            .collect()
    }

    #[test]
    fn answers_that_print_alike_are_shown_apart_with_the_field_that_differs() {
        let a = Answer::Item {
            name: "j1".into(),
            size: 1,
        };
        let b = Answer::Item {
            name: "j1".into(),
            size: 2,
        };
        assert_eq!(a.to_string(), b.to_string());
        let c = contrast(&a, &b);
        assert_ne!(c.expected, c.actual, "{c:?}");
        assert_eq!(c.fields, ["size"]);
        assert!(c.actual.contains("size: 2"), "{c:?}");
    }

    #[test]
    fn a_long_list_mismatch_names_the_first_index_and_shows_a_window() {
        let expected = listing(1200);
        let mut actual = expected.clone();
        actual[37].state = "queued".into();
        actual.remove(500);
        let (expected, actual) = (Answer::Listing(expected), Answer::Listing(actual));
        assert!(expected.to_string().len() > 40_000);
        let c = contrast(&expected, &actual);
        assert_eq!(
            c.fields,
            [
                "state",
                "first at index 37 of 1200 (expected 1200 items, got 1199)"
            ]
        );
        for side in [&c.expected, &c.actual] {
            assert!(side.len() <= LINE_LIMIT + ITEM_LIMIT + 40, "{side}");
            assert!(side.contains("… 35 before"), "{side}");
            assert!(side.contains("#35 ") && side.contains("#39 "), "{side}");
            assert!(!side.contains("#34 ") && !side.contains("#40 "), "{side}");
        }
        assert!(c.expected.starts_with("1200 items: ["), "{}", c.expected);
        assert!(c.expected.contains("… 1160 more"), "{}", c.expected);
        assert!(c.actual.contains("… 1159 more"), "{}", c.actual);
        assert!(c.actual.contains("state: queued"), "{}", c.actual);
    }

    #[test]
    fn a_list_cut_short_is_shown_to_its_end() {
        let expected = listing(10);
        let actual = expected[..8].to_vec();
        let c = contrast(&Answer::Listing(expected), &Answer::Listing(actual));
        assert_eq!(
            c.fields.last().unwrap(),
            "first at index 8 of 10 (expected 10 items, got 8)"
        );
        assert!(c.actual.ends_with("#6 {name: job-6-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx, state: dead}, #7 {name: job-7-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx, state: dead}, (end)]"), "{}", c.actual);
        assert!(c.expected.contains("#9 "), "{}", c.expected);
    }

    #[test]
    fn the_reference_diff_of_a_long_list_is_short_and_names_the_index() {
        let plan = Plan {
            start_ms: 0,
            actions: vec![Action::Call("dead-letters".to_string())],
        };
        let history = |answer: Answer| History {
            entries: vec![Entry {
                step: 0,
                time_ms: 0,
                event: Event::Call {
                    call: 0,
                    fuel: 0,
                    outcome: Outcome::Returned(answer),
                    span: None,
                },
            }],
        };
        let expected = listing(1200);
        let mut actual = expected.clone();
        actual.truncate(1199);
        actual[37].name = "j-wrong".into();
        let (e, a) = (
            history(Answer::Listing(expected)),
            history(Answer::Listing(actual)),
        );
        let d = first_divergence(&plan, &e, &a).expect("a divergence");
        let check = as_check(Some(&d), 1);
        assert!(
            check.message.len() < 2 * (LINE_LIMIT + ITEM_LIMIT) + 200,
            "{}",
            check.message
        );
        assert!(
            check.message.contains(
                "differs in: name, first at index 37 of 1200 (expected 1200 items, got 1199)"
            ),
            "{}",
            check.message
        );
        let rows = compare(
            Sides {
                name: "s",
                seed: 0,
                plan: &plan,
                plugin: &a,
                other: &e,
                checks: Vec::new(),
                divergence: Some(d),
                timeline: Vec::new(),
            },
            3,
        )
        .rows;
        assert!(rows[0].differs);
        assert!(
            rows[0].plugin.contains("#37 {name: j-wrong"),
            "{}",
            rows[0].plugin
        );
        assert!(
            rows[0].other.len() <= LINE_LIMIT + ITEM_LIMIT,
            "{}",
            rows[0].other
        );
    }

    #[test]
    fn a_long_answer_is_shown_around_where_it_differs() {
        let long = "a".repeat(5_000);
        let a = format!("{long}X{long}");
        let b = format!("{long}Y{long}");
        let shown = around(&a, &b, LINE_LIMIT);
        assert!(shown.len() < LINE_LIMIT + 60, "{shown}");
        assert!(shown.starts_with("…(4850 bytes)…"), "{shown}");
        assert!(shown.contains('X'));
        assert!(shown.ends_with("more bytes)"), "{shown}");
        assert_eq!(clip("héllo", 2), "h…(5 more bytes)");
    }

    #[test]
    fn a_list_mismatch_message_is_windowed() {
        let want: Vec<String> = (0..1200).map(|i| format!("j{i}")).collect();
        let mut got = want.clone();
        got.remove(37);
        let why = list_mismatch(&want, &got).expect("a mismatch");
        assert!(why.len() < 400, "{why}");
        assert!(
            why.starts_with(
                "differ first at index 37 of 1200 (expected 1200 items, got 1199): expected 1200 items: [… 35 before, #35 j35, #36 j36, #37 j37, #38 j38, #39 j39, … 1160 more], got 1199 items: [… 35 before, #35 j35, #36 j36, #37 j38"
            ),
            "{why}"
        );
        assert_eq!(list_mismatch(&want, &want), None);
    }
}
