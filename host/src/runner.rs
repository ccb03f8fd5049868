//! Runs a track's scenarios against a plugin and the reference, and turns
//! each pair of runs into a [`ScenarioReport`] for the reporters.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::{CheckResult, Divergence, Verdict};
use crate::error::Result;
use crate::plugin::Plugin;
use crate::report::Reporter;
use crate::sandbox::Abort;
use crate::scenario::Source;
use crate::sim::{Event, History};
use crate::track::{TrackId, payments, rate_limiter};

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
        self.checks
            .iter()
            .filter(|c| c.status == crate::check::Status::Fail)
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
    let mut reports = Vec::new();
    match track.id {
        TrackId::RateLimiter => {
            let scenarios = sources
                .iter()
                .map(|s| rate_limiter::scenario::Scenario::load(s, seed))
                .collect::<Result<Vec<_>>>()?;
            reporter.started(plugin, scenarios.len());
            for scenario in &scenarios {
                let report = rate_limiter_scenario(plugin, reference, scenario);
                reporter.scenario(&report);
                reports.push(report);
            }
        }
        TrackId::Payments => {
            let scenarios = sources
                .iter()
                .map(|s| payments::scenario::Scenario::load(s, seed))
                .collect::<Result<Vec<_>>>()?;
            reporter.started(plugin, scenarios.len());
            for scenario in &scenarios {
                let report = payments_scenario(plugin, reference, scenario);
                reporter.scenario(&report);
                reports.push(report);
            }
        }
    }
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

/// What a track's runs of one scenario produced, for [`ScenarioReport`].
struct Finished<'a, Out> {
    name: &'a str,
    file: &'a str,
    description: &'a str,
    seed: u64,
    planned_operations: usize,
    plugin: &'a History<Out>,
    reference: &'a History<Out>,
    checks: Vec<CheckResult>,
    first_divergence: Option<Divergence>,
    peak_memory: (usize, usize),
    dependency: Option<DependencyReport>,
    timeline: Vec<TimelineEvent>,
    output: String,
    wall: Duration,
}

impl<Out> Finished<'_, Out> {
    fn report(self, plugin: &Plugin) -> ScenarioReport {
        let abort = self.plugin.abort().map(|(call, abort)| AbortReport {
            call,
            abort: abort.clone(),
            message: abort.to_string(),
        });
        let verdict = Verdict::from_run(abort.as_ref().map(|a| &a.abort), &self.checks);
        let operations = self.plugin.calls();
        let fuel = self.plugin.total_fuel();
        let reference_fuel = self.reference.total_fuel();
        ScenarioReport {
            name: self.name.to_string(),
            file: self.file.to_string(),
            description: self.description.to_string(),
            seed: self.seed,
            verdict,
            checks: self.checks,
            first_divergence: self.first_divergence,
            abort,
            planned_operations: self.planned_operations,
            operations,
            fuel,
            fuel_per_operation: fuel / operations.max(1) as u64,
            reference_fuel,
            reference_fuel_per_operation: reference_fuel / self.reference.calls().max(1) as u64,
            peak_memory_bytes: self.peak_memory.0,
            reference_peak_memory_bytes: self.peak_memory.1,
            dependency: self.dependency,
            timeline_total: self.timeline.len(),
            timeline: {
                let mut timeline = self.timeline;
                timeline.truncate(TIMELINE_LIMIT);
                timeline
            },
            output: self.output,
            replay: replay_command(plugin, self.name, self.seed),
            wall: self.wall,
        }
    }
}

fn rate_limiter_scenario(
    plugin: &Plugin,
    reference: &Plugin,
    scenario: &rate_limiter::scenario::Scenario,
) -> ScenarioReport {
    let seeds = crate::sim::SeedTree::new(scenario.seed);
    let ((run, wall), reference_run) = side_by_side(
        timed(rate_limiter::run(&plugin.sandbox, &scenario.plan, seeds)),
        rate_limiter::run(&reference.sandbox, &scenario.plan, seeds),
    );
    let (checks, first_divergence) =
        rate_limiter::evaluate(scenario, &plugin.sandbox, &run, &reference_run);
    Finished {
        name: &scenario.name,
        file: &scenario.file,
        description: &scenario.description,
        seed: scenario.seed,
        planned_operations: scenario.plan.call_count(),
        plugin: &run.history,
        reference: &reference_run.history,
        checks,
        first_divergence,
        peak_memory: (run.peak_memory, reference_run.peak_memory),
        dependency: None,
        timeline: clock_faults(&run.history),
        output: run.output.clone(),
        wall,
    }
    .report(plugin)
}

fn payments_scenario(
    plugin: &Plugin,
    reference: &Plugin,
    scenario: &payments::scenario::Scenario,
) -> ScenarioReport {
    let ((run, wall), reference_run) = side_by_side(
        timed(payments::run(&plugin.sandbox, scenario)),
        payments::run(&reference.sandbox, scenario),
    );
    let (checks, first_divergence) = payments::evaluate(scenario, &run, &reference_run);
    Finished {
        name: &scenario.name,
        file: &scenario.file,
        description: &scenario.description,
        seed: scenario.seed,
        planned_operations: scenario.plan.call_count(),
        plugin: &run.history,
        reference: &reference_run.history,
        checks,
        first_divergence,
        peak_memory: (run.peak_memory, reference_run.peak_memory),
        dependency: Some(DependencyReport {
            name: "bank",
            calls: run.bank.stats.calls,
            waited_ms: run.waited_ms(),
            crashes: run.crashes(),
            reference_calls: reference_run.bank.stats.calls,
            reference_waited_ms: reference_run.waited_ms(),
        }),
        timeline: run.timeline(),
        output: run.output.clone(),
        wall,
    }
    .report(plugin)
}
