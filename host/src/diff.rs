//! The strict diff of a plugin's run against the reference's run on the same
//! plan: the first call whose outcome differs, with its context.

use std::fmt::Display;

use serde::Serialize;

use crate::check::Divergence;
use crate::sim::{Action, Event, History, Outcome, Plan};

/// The name of the diff as a check.
pub const CHECK: &str = "reference-diff";

fn describe<Out: Display>(outcome: Option<&Outcome<Out>>) -> String {
    match outcome {
        Some(Outcome::Returned(out)) => out.to_string(),
        Some(Outcome::Aborted(abort)) => format!("no answer: the plugin {abort}"),
        None => "no call (the run had ended)".to_string(),
    }
}

/// The top-level fields of two serialised values that differ.
fn differing_fields<Out: Serialize>(a: &Out, b: &Out) -> Vec<String> {
    let (a, b) = (serde_json::to_value(a), serde_json::to_value(b));
    let (Ok(a), Ok(b)) = (a, b) else {
        return Vec::new();
    };
    // Outputs are enums: {"decision": {...}}. Look one level in.
    let inner = |v: &serde_json::Value| -> Option<serde_json::Map<String, serde_json::Value>> {
        let obj = v.as_object()?;
        if obj.len() == 1 {
            obj.values().next()?.as_object().cloned()
        } else {
            Some(obj.clone())
        }
    };
    match (inner(&a), inner(&b)) {
        (Some(a), Some(b)) => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
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
pub fn first_divergence<Op: Display, Out: Display + PartialEq + Serialize>(
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
            Action::Call(op) => Some(op.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    let after_fault = plan.actions[..step].iter().rev().find_map(|a| match a {
        Action::Fault(f) => Some(f.to_string()),
        _ => None,
    });
    let fields = match (e, a) {
        (Some((_, _, Outcome::Returned(e))), Some((_, _, Outcome::Returned(a)))) => {
            differing_fields(e, a)
        }
        _ => Vec::new(),
    };
    Some(Divergence {
        call: index,
        step,
        operation: op,
        time_ms,
        elapsed_ms: i64::try_from(i128::from(time_ms) - i128::from(plan.start_ms))
            .unwrap_or(i64::MAX),
        expected: describe(e.map(|e| e.2)),
        actual: describe(a.map(|a| a.2)),
        fields,
        after_fault,
    })
}

/// The diff as a check result: pass, or the first divergence.
pub fn as_check(divergence: Option<&Divergence>, calls: usize) -> crate::check::CheckResult {
    use crate::check::CheckResult;
    match divergence {
        None => CheckResult::pass(CHECK, format!("{calls} answers identical to the reference")),
        Some(d) => CheckResult::fail(
            CHECK,
            Some(d.call),
            format!(
                "call {} {}: expected {}, got {}",
                d.call, d.operation, d.expected, d.actual
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
pub fn compare<Op: Display, Out: Display>(
    sides: Sides<'_, Op, Out>,
    context: usize,
) -> ComparedScenario {
    let rows = match &sides.divergence {
        None => Vec::new(),
        Some(d) => {
            let first = d.call.saturating_sub(context);
            let count = d.call + context + 1 - first;
            // Each side's answers in the window, read in one pass.
            let answers = |h: &History<Out>| -> Vec<String> {
                outcomes(h)
                    .skip(first)
                    .take(count)
                    .map(|(_, _, outcome)| match outcome {
                        Outcome::Returned(out) => out.to_string(),
                        Outcome::Aborted(abort) => format!("ABORTED: {abort}"),
                    })
                    .collect()
            };
            let (plugin, other) = (answers(sides.plugin), answers(sides.other));
            let answer = |v: &[String], i: usize| {
                v.get(i).cloned().unwrap_or_else(|| "(not run)".to_string())
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
                    let (plugin, other) = (answer(&plugin, i), answer(&other, i));
                    DiffRow {
                        call,
                        operation: op.to_string(),
                        differs: plugin != other,
                        plugin,
                        other,
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
