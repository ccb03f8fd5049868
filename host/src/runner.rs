//! Runs a track's scenarios against a plugin and the reference, and turns
//! each pair of runs into a [`ScenarioReport`] for the reporters.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::{CheckResult, Divergence, Status, Verdict};
use crate::diff::{LINE_LIMIT, clip};
use crate::error::Result;
use crate::plugin::Plugin;
use crate::report::Reporter;
use crate::sandbox::{Abort, Sandbox};
use crate::scenario::Source;
use crate::sim::{Action, Event, History, Outcome, Plan};
use crate::track::kind::{TrackKind, with_track};

/// The format version of the JSON report.
pub const REPORT_FORMAT: u32 = 1;

/// Everything known about one scenario's run.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub file: String,
    pub description: String,
    pub seed: u64,
    pub verdict: Verdict,
    pub checks: Vec<CheckResult>,
    /// The first call whose answer differs from the reference's.
    pub first_divergence: Option<Divergence>,
    /// Why the run stopped early, if it did.
    pub abort: Option<AbortReport>,
    /// Calls the scenario plans, and calls the plugin answered.
    pub planned_operations: usize,
    pub operations: usize,
    pub fuel: u64,
    pub fuel_per_operation: u64,
    pub reference_fuel: u64,
    pub reference_fuel_per_operation: u64,
    pub peak_memory_bytes: usize,
    pub reference_peak_memory_bytes: usize,
    /// For tracks with simulated dependencies: the calls the plugin made to
    /// them and the virtual time it spent waiting, beside the reference's.
    pub dependency: Option<DependencyReport>,
    /// The faults injected into the plugin's run, in order (at most
    /// [`TIMELINE_LIMIT`]; `timeline_total` counts them all).
    pub timeline: Vec<TimelineEvent>,
    pub timeline_total: usize,
    /// A concurrent run's calls, in the order they were answered, for the
    /// report to draw in lanes (at most [`LANES_LIMIT`], around the call
    /// the first failing check names; `lanes_total` counts them all). Empty,
    /// and absent from the JSON, for a sequential run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<LaneCall>,
    #[serde(skip_serializing_if = "is_zero")]
    pub lanes_total: usize,
    /// The plugin's output (stdout, stderr, log), as much as was kept.
    pub output: String,
    /// The command that replays this scenario step by step.
    pub replay: String,
    /// Wall-clock time of the plugin's run (not deterministic; not compared).
    #[serde(skip)]
    pub wall: Duration,
}

/// The most faults a report lists for one scenario.
pub const TIMELINE_LIMIT: usize = 1_000;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The most calls of a concurrent run a report draws in lanes.
pub const LANES_LIMIT: usize = 2_000;

/// A call of a concurrent run as the report's lanes draw it: its
/// [`Span`](crate::concurrent::Span) with the call and its answer, each cut
/// to a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LaneCall {
    /// The index of the call among the plan's calls.
    pub call: usize,
    pub replica: u32,
    /// The client process that sent it.
    pub process: String,
    pub operation: String,
    /// The answer, or `ABORTED: ...`.
    pub answer: String,
    /// When it was sent and answered: positions in the run's one order of
    /// events.
    pub invoked: u64,
    pub completed: u64,
    /// The clock when it was sent and when it was answered.
    pub invoked_ms: u64,
    pub completed_ms: u64,
    /// The imports it parked at, in order.
    pub imports: Vec<&'static str>,
}

/// Every call of `history` that has a span (a concurrent run's), in the
/// order they were answered; nothing for a sequential run.
pub fn lane_calls<Op: std::fmt::Display, Out: std::fmt::Display>(
    plan: &Plan<Op>,
    history: &History<Out>,
) -> Vec<LaneCall> {
    history
        .entries
        .iter()
        .filter_map(|entry| match &entry.event {
            Event::Call {
                call,
                outcome,
                span: Some(span),
                ..
            } => Some(LaneCall {
                call: *call,
                replica: span.replica,
                process: span.process.clone(),
                operation: match plan.actions.get(entry.step) {
                    Some(Action::Call(op)) => clip(&op.to_string(), LINE_LIMIT),
                    _ => String::new(),
                },
                answer: match outcome {
                    Outcome::Returned(out) => clip(&out.to_string(), LINE_LIMIT),
                    Outcome::Aborted(abort) => clip(&format!("ABORTED: {abort}"), LINE_LIMIT),
                },
                invoked: span.invoked,
                completed: span.completed,
                invoked_ms: entry.time_ms,
                completed_ms: span.completed_ms,
                imports: span.imports.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The call the first failing check that names one names: the call a
/// report's lanes are centred on and mark.
pub fn first_failing_call(checks: &[CheckResult]) -> Option<usize> {
    checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .find_map(|c| c.call)
}

/// `lanes` cut to at most `limit` calls: those around `focus` (by the
/// order answered) when it is one of them, else the first.
fn window(lanes: &mut Vec<LaneCall>, focus: Option<usize>, limit: usize) {
    if lanes.len() <= limit {
        return;
    }
    let start = focus
        .and_then(|call| lanes.iter().position(|l| l.call == call))
        .map_or(0, |at| {
            at.saturating_sub(limit / 2).min(lanes.len() - limit)
        });
    lanes.drain(..start);
    lanes.truncate(limit);
}

/// A fault injected during a run: a clock jump before a call, or what a
/// dependency did while the plugin served a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    /// The call it came before (a clock fault) or during (a dependency's).
    pub call: usize,
    /// The clock reading at that call.
    pub time_ms: u64,
    /// `clock`, or the dependency's name (e.g. `bank`).
    pub kind: &'static str,
    pub description: String,
}

/// The clock faults of a history, each with the call it came before.
pub fn clock_faults<Out>(history: &History<Out>) -> Vec<TimelineEvent> {
    let mut calls = 0;
    let mut events = Vec::new();
    for entry in &history.entries {
        match &entry.event {
            Event::Call { .. } => calls += 1,
            Event::Fault { fault } => events.push(TimelineEvent {
                call: calls,
                time_ms: entry.time_ms,
                kind: "clock",
                description: fault.to_string(),
            }),
        }
    }
    events
}

/// One run's figures for a [`DependencyReport`] (see
/// [`TrackKind::dependency`]).
#[derive(Clone, Copy, Debug)]
pub struct DependencyUse {
    pub name: &'static str,
    pub calls: u64,
    pub waited_ms: u64,
    pub crashes: u64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct DependencyReport {
    /// The dependency, e.g. `bank`.
    pub name: &'static str,
    pub calls: u64,
    /// Virtual time the requests took: waiting on the dependency, and the
    /// plugin's own backoff.
    pub waited_ms: u64,
    /// Crashes injected into the plugin (each recovered by a fresh instance).
    pub crashes: u64,
    pub reference_calls: u64,
    pub reference_waited_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AbortReport {
    pub call: usize,
    #[serde(flatten)]
    pub abort: Abort,
    pub message: String,
}

impl ScenarioReport {
    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }
}

/// The whole run, as the JSON report serialises it.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub format: u32,
    pub gauntlet: &'static str,
    pub track: &'static str,
    pub world: &'static str,
    pub plugin: PluginInfo,
    pub reference_sha256: String,
    pub scenarios: Vec<ScenarioReport>,
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize)]
pub struct PluginInfo {
    pub path: String,
    pub wasm: String,
    pub sha256: String,
    pub track: &'static str,
}

impl PluginInfo {
    pub fn of(plugin: &Plugin) -> Self {
        PluginInfo {
            path: plugin.path.display().to_string(),
            wasm: plugin.wasm.display().to_string(),
            sha256: plugin.sha256.clone(),
            track: plugin.track.name,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Summary {
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
}

impl RunReport {
    pub fn all_passed(&self) -> bool {
        self.summary.failed == 0
    }
}

/// A shell-quoted path, for commands the user can paste.
pub fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

pub fn replay_command(plugin: &Plugin, scenario: &str, seed: u64) -> String {
    format!(
        "gauntlet replay {} --scenario {} --seed {seed}",
        shell_quote(&plugin.path.display().to_string()),
        shell_quote(scenario)
    )
}

/// Runs every selected scenario against `plugin` and `reference`, reporting
/// as it goes. Scenarios are all loaded first, so that a bad file stops the
/// run before anything runs.
pub fn run_suite(
    plugin: &Plugin,
    reference: &Plugin,
    sources: &[Source],
    seed: Option<u64>,
    reporter: &mut dyn Reporter,
) -> Result<RunReport> {
    let track = plugin.track;
    let reports =
        with_track!(track.id, K => run_scenarios::<K>(plugin, reference, sources, seed, reporter))?;
    let passed = reports
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    let report = RunReport {
        format: REPORT_FORMAT,
        gauntlet: env!("CARGO_PKG_VERSION"),
        track: track.name,
        world: track.world,
        plugin: PluginInfo::of(plugin),
        reference_sha256: reference.sha256.clone(),
        summary: Summary {
            scenarios: reports.len(),
            passed,
            failed: reports.len() - passed,
        },
        scenarios: reports,
    };
    reporter.finished(&report);
    Ok(report)
}

fn run_scenarios<K: TrackKind>(
    plugin: &Plugin,
    reference: &Plugin,
    sources: &[Source],
    seed: Option<u64>,
    reporter: &mut dyn Reporter,
) -> Result<Vec<ScenarioReport>> {
    let scenarios = sources
        .iter()
        .map(|s| K::load(s, seed))
        .collect::<Result<Vec<_>>>()?;
    reporter.started(plugin, scenarios.len());
    let mut reports = Vec::new();
    for scenario in &scenarios {
        let pair = pair::<K>(&plugin.sandbox, &reference.sandbox, scenario);
        let report = scenario_report(plugin, scenario, pair);
        reporter.scenario(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// Runs `a` here and `b` on a second thread, each on a current-thread
/// runtime of its own, and waits for both. Two runs of a scenario share
/// nothing (each has its own store, clock, fuel and dependencies), so
/// running them side by side changes no result, only the wall time.
pub fn side_by_side<A: Send, B: Send>(
    a: impl Future<Output = A> + Send,
    b: impl Future<Output = B> + Send,
) -> (A, B) {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds")
    };
    std::thread::scope(|scope| {
        let b = std::thread::Builder::new()
            .name("gauntlet-side".into())
            .spawn_scoped(scope, || runtime().block_on(b))
            .expect("a thread starts");
        let a = runtime().block_on(a);
        (a, b.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    })
}

/// `future`'s output and the wall time it took.
async fn timed<T>(future: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = future.await;
    (out, started.elapsed())
}

/// Both runs of one scenario and the plugin's judgement.
pub struct Pair<K: TrackKind> {
    pub plugin: K::Run,
    pub other: K::Run,
    pub checks: Vec<CheckResult>,
    pub divergence: Option<Divergence>,
    /// Wall-clock time of the plugin's run (not deterministic).
    pub wall: Duration,
}

/// Runs `scenario` in `plugin` and in `other` side by side, then evaluates
/// the plugin's run against the other's: what `test`, `replay`, `diff` and
/// `bench` all do.
pub fn pair<K: TrackKind>(plugin: &Sandbox, other: &Sandbox, scenario: &K::Scenario) -> Pair<K> {
    let ((run, wall), other_run) =
        side_by_side(timed(K::run(plugin, scenario)), K::run(other, scenario));
    let (checks, divergence) = K::evaluate(scenario, plugin, &run, &other_run);
    Pair {
        plugin: run,
        other: other_run,
        checks,
        divergence,
        wall,
    }
}

/// The report of one scenario's pair of runs.
fn scenario_report<K: TrackKind>(
    plugin: &Plugin,
    scenario: &K::Scenario,
    pair: Pair<K>,
) -> ScenarioReport {
    let (run, reference) = (K::history(&pair.plugin), K::history(&pair.other));
    let abort = run.abort().map(|(call, abort)| AbortReport {
        call,
        abort: abort.clone(),
        message: abort.to_string(),
    });
    let verdict = Verdict::from_run(abort.as_ref().map(|a| &a.abort), &pair.checks);
    let operations = run.calls();
    let fuel = run.total_fuel();
    let reference_fuel = reference.total_fuel();
    let reference_dependency = K::dependency(&pair.other);
    let mut timeline = K::timeline(&pair.plugin);
    let timeline_total = timeline.len();
    timeline.truncate(TIMELINE_LIMIT);
    let mut lanes = lane_calls(K::plan(scenario), run);
    let lanes_total = lanes.len();
    window(&mut lanes, first_failing_call(&pair.checks), LANES_LIMIT);
    ScenarioReport {
        name: K::name(scenario).to_string(),
        file: K::file(scenario).to_string(),
        description: K::description(scenario).to_string(),
        seed: K::seed(scenario),
        verdict,
        checks: pair.checks,
        first_divergence: pair.divergence,
        abort,
        planned_operations: K::plan(scenario).call_count(),
        operations,
        fuel,
        fuel_per_operation: fuel / operations.max(1) as u64,
        reference_fuel,
        reference_fuel_per_operation: reference_fuel / reference.calls().max(1) as u64,
        peak_memory_bytes: K::peak_memory(&pair.plugin),
        reference_peak_memory_bytes: K::peak_memory(&pair.other),
        dependency: K::dependency(&pair.plugin).map(|d| DependencyReport {
            name: d.name,
            calls: d.calls,
            waited_ms: d.waited_ms,
            crashes: d.crashes,
            reference_calls: reference_dependency.map_or(0, |r| r.calls),
            reference_waited_ms: reference_dependency.map_or(0, |r| r.waited_ms),
        }),
        timeline,
        timeline_total,
        lanes,
        lanes_total,
        output: K::output(&pair.plugin).to_string(),
        replay: replay_command(plugin, K::name(scenario), K::seed(scenario)),
        wall: pair.wall,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concurrent::Span;
    use crate::sim::{Entry, Plan};

    fn lane(call: usize) -> LaneCall {
        LaneCall {
            call,
            replica: (call % 3) as u32,
            process: format!("w{}", call % 6),
            operation: String::new(),
            answer: String::new(),
            invoked: 2 * call as u64 + 1,
            completed: 2 * call as u64 + 2,
            invoked_ms: 0,
            completed_ms: 0,
            imports: Vec::new(),
        }
    }

    fn calls(lanes: &[LaneCall]) -> (usize, usize, usize) {
        (lanes.len(), lanes[0].call, lanes[lanes.len() - 1].call)
    }

    #[test]
    fn a_long_run_keeps_the_lanes_around_the_failing_call() {
        let all: Vec<LaneCall> = (0..5_000).map(lane).collect();
        let cut = |focus| {
            let mut lanes = all.clone();
            window(&mut lanes, focus, LANES_LIMIT);
            calls(&lanes)
        };
        assert_eq!(cut(Some(4_000)), (2_000, 3_000, 4_999));
        assert_eq!(cut(Some(2_500)), (2_000, 1_500, 3_499));
        assert_eq!(cut(Some(10)), (2_000, 0, 1_999));
        assert_eq!(cut(None), (2_000, 0, 1_999));
        // A call the run never answered: the first ones.
        assert_eq!(cut(Some(9_999)), (2_000, 0, 1_999));
        let mut short: Vec<LaneCall> = (0..10).map(lane).collect();
        window(&mut short, Some(9), LANES_LIMIT);
        assert_eq!(calls(&short), (10, 0, 9));
    }

    #[test]
    fn lanes_are_the_calls_with_spans_in_the_order_answered() {
        let plan = Plan {
            start_ms: 1_000,
            actions: vec![
                Action::Call("first".to_string()),
                Action::Advance(5),
                Action::Call("x".repeat(LINE_LIMIT * 2)),
            ],
        };
        let span = |replica, invoked, completed| {
            Some(Box::new(Span {
                replica,
                process: format!("p{replica}"),
                invoked,
                completed,
                completed_ms: 1_009,
                imports: vec!["store.get"],
            }))
        };
        let history = History {
            entries: vec![
                Entry {
                    step: 2,
                    time_ms: 1_005,
                    event: Event::Call {
                        call: 1,
                        fuel: 1,
                        outcome: Outcome::Returned("ok".to_string()),
                        span: span(1, 2, 3),
                    },
                },
                Entry {
                    step: 0,
                    time_ms: 1_000,
                    event: Event::Call {
                        call: 0,
                        fuel: 1,
                        outcome: Outcome::Aborted(crate::sandbox::Abort::OutOfFuel { budget: 10 }),
                        span: span(0, 1, 4),
                    },
                },
            ],
        };
        let lanes = lane_calls(&plan, &history);
        assert_eq!(lanes.len(), 2);
        assert_eq!(
            (lanes[0].call, lanes[0].replica, lanes[0].answer.as_str()),
            (1, 1, "ok")
        );
        assert!(
            lanes[0].operation.len() < LINE_LIMIT + 40,
            "the operation is clipped"
        );
        assert_eq!((lanes[0].invoked_ms, lanes[0].completed_ms), (1_005, 1_009));
        assert_eq!(lanes[1].operation, "first");
        assert!(
            lanes[1].answer.starts_with("ABORTED: "),
            "{}",
            lanes[1].answer
        );
        assert_eq!((lanes[1].invoked, lanes[1].completed), (1, 4));
        assert_eq!(lanes[1].imports, ["store.get"]);
        // A sequential history has none.
        let sequential = History {
            entries: vec![Entry {
                step: 0,
                time_ms: 1_000,
                event: Event::Call {
                    call: 0,
                    fuel: 1,
                    outcome: Outcome::Returned("ok".to_string()),
                    span: None,
                },
            }],
        };
        assert!(lane_calls(&plan, &sequential).is_empty());
    }

    #[test]
    fn the_lanes_centre_on_the_first_failing_check_that_names_a_call() {
        let checks = [
            CheckResult::pass("completes", ""),
            CheckResult::fail("no-job-lost", None, ""),
            CheckResult::fail("lease-exclusive", Some(7), ""),
            CheckResult::fail("completion-kept", Some(3), ""),
        ];
        assert_eq!(first_failing_call(&checks), Some(7));
        assert_eq!(first_failing_call(&checks[..2]), None);
    }
}
