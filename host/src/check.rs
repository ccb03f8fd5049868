//! Check results, divergences and verdicts: what every track's checks
//! produce and every reporter consumes.

use serde::Serialize;

use crate::sandbox::Abort;
use crate::sim::{Action, Event, History, Plan};

/// The outcome of one check on one scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The check's name, e.g. `never-over-limit`.
    pub name: &'static str,
    pub status: Status,
    /// Why it failed or was skipped; for a pass, what was covered.
    pub message: String,
    /// The call the failure was found at, if it is about one call.
    pub call: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    /// Could not run (e.g. the plugin aborted before it could be probed).
    Skip,
}

/// The longest a check's message may be, in bytes: past it, the middle is
/// elided (the start names the call, the end what was found). A message
/// that shows answers should show them with [`crate::diff`]'s windows and
/// stay far below this; the cap is the last resort.
pub const MESSAGE_LIMIT: usize = 2_000;

/// `message` within [`MESSAGE_LIMIT`]: its start and its end, with the
/// bytes between counted.
fn capped(message: String) -> String {
    if message.len() <= MESSAGE_LIMIT {
        return message;
    }
    let boundary = |mut i: usize| {
        while !message.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = boundary(MESSAGE_LIMIT * 2 / 3);
    let tail = boundary(message.len() - MESSAGE_LIMIT / 4);
    format!(
        "{}…({} bytes elided)…{}",
        &message[..head],
        tail - head,
        &message[tail..]
    )
}

impl CheckResult {
    pub fn pass(name: &'static str, message: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: Status::Pass,
            message: capped(message.into()),
            call: None,
        }
    }

    pub fn fail(name: &'static str, call: Option<usize>, message: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: Status::Fail,
            message: capped(message.into()),
            call,
        }
    }

    /// Whether the check held: it passed, or it compares with the
    /// reference and the run is concurrent, so it is not compared (see
    /// [`crate::diff::NOT_COMPARED_CONCURRENT`]). A skip for any other
    /// reason did not hold.
    pub fn held(&self) -> bool {
        self.status == Status::Pass
            || (self.status == Status::Skip && self.message == crate::diff::NOT_COMPARED_CONCURRENT)
    }

    pub fn skip(name: &'static str, message: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: Status::Skip,
            message: capped(message.into()),
            call: None,
        }
    }
}

/// The first call where the plugin's answer differs from the reference's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The call's index among the scenario's calls.
    pub call: usize,
    /// The action's index in the plan.
    pub step: usize,
    /// The call, e.g. `check("user-1", 1)`.
    pub operation: String,
    /// The clock reading during the call.
    pub time_ms: u64,
    /// Milliseconds since the scenario started (on the clock).
    pub elapsed_ms: i64,
    pub expected: String,
    pub actual: String,
    /// The compared fields that differ, when both returned a value; when
    /// they differ in a list, last, where: "first at index 37 of 1200
    /// (expected 1200 items, got 1199)" ([`crate::diff::LIST_NOTE`]).
    pub fields: Vec<String>,
    /// The last fault injected before this call, if any.
    pub after_fault: Option<String>,
}

/// A scenario's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// A check failed.
    Fail,
    /// The plugin trapped (a panic, say).
    Trap,
    /// A call burnt its whole fuel budget.
    OutOfFuel,
    /// The plugin hit its memory cap.
    MemoryLimit,
}

impl Verdict {
    pub fn from_run(abort: Option<&Abort>, checks: &[CheckResult]) -> Self {
        match abort {
            Some(Abort::Trap { .. }) => Verdict::Trap,
            Some(Abort::OutOfFuel { .. } | Abort::ScenarioOutOfFuel { .. }) => Verdict::OutOfFuel,
            Some(Abort::MemoryLimit { .. }) => Verdict::MemoryLimit,
            // A crash the host injected is the driver's to recover; one that
            // reaches the verdict is reported as a failure.
            Some(Abort::Crash { .. }) => Verdict::Fail,
            // gauntlet stopped a plugin that would not stop: a failure of
            // the contract, not a trap.
            Some(Abort::Stopped { .. }) => Verdict::Fail,
            None if checks.iter().any(|c| c.status == Status::Fail) => Verdict::Fail,
            None => Verdict::Pass,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Trap => "TRAP",
            Verdict::OutOfFuel => "FUEL",
            Verdict::MemoryLimit => "MEMORY",
        }
    }
}

/// The name of the check every track has: the run finished without a trap,
/// fuel or memory abort.
pub const COMPLETES: &str = "completes";

/// `completes` on a run: passes with the count of `unit`s served, or fails
/// at the call that aborted, naming its operation.
pub fn completes<Op: std::fmt::Display, Out>(
    plan: &Plan<Op>,
    history: &History<Out>,
    unit: &str,
) -> CheckResult {
    let Some((call, abort)) = history.abort() else {
        return CheckResult::pass(COMPLETES, format!("{} {unit}", history.calls()));
    };
    let op = history
        .entries
        .iter()
        .find_map(|e| match (&e.event, plan.actions.get(e.step)) {
            (Event::Call { call: c, .. }, Some(Action::Call(op))) if *c == call => {
                Some(op.to_string())
            }
            _ => None,
        })
        .unwrap_or_else(|| "instantiation".to_string());
    CheckResult::fail(
        COMPLETES,
        Some(call),
        format!("call {call} {op}: the plugin {abort}"),
    )
}
