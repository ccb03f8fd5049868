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

/// Compares two runs call by call.
pub fn first_divergence<Op: Display, Out: Display + Clone + PartialEq + Serialize>(
    plan: &Plan<Op>,
    expected: &History<Out>,
    actual: &History<Out>,
) -> Option<Divergence> {
    let outcomes = |h: &History<Out>| -> Vec<(usize, u64, Outcome<Out>)> {
        h.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Call { outcome, .. } => Some((e.step, e.time_ms, outcome.clone())),
                Event::Fault { .. } => None,
            })
            .collect()
    };
    let (exp, act) = (outcomes(expected), outcomes(actual));
    let calls = exp.len().max(act.len());
    let index = (0..calls).find(|&i| exp.get(i).map(|e| &e.2) != act.get(i).map(|a| &a.2))?;
    let (step, time_ms) = exp
        .get(index)
        .or(act.get(index))
        .map(|(s, t, _)| (*s, *t))
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
    let fields = match (exp.get(index), act.get(index)) {
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
        expected: describe(exp.get(index).map(|e| &e.2)),
        actual: describe(act.get(index).map(|a| &a.2)),
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
