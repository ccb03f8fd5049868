//! What every track is to the commands: [`TrackKind`], the one trait a
//! track implements, and [`with_track!`], the one place a runtime
//! [`TrackId`](super::TrackId) becomes a type. `test`, `replay`, `diff` and
//! `bench` are generic over `K: TrackKind` and never name a track.

use std::fmt::Display;

use serde::Serialize;

use crate::check::{CheckResult, Divergence};
use crate::diff::Compared;
use crate::error::Result;
use crate::runner::{DependencyUse, TimelineEvent, clock_faults};
use crate::sandbox::Sandbox;
use crate::scenario::Source;
use crate::sim::{History, Plan};

/// A track as the runner sees it: its scenario, how one component runs it,
/// and how the plugin's run is judged beside the other side's. Implemented
/// by a zero-sized type in each track's module; dispatched statically.
pub trait TrackKind {
    /// A call in a scenario's plan.
    type Op: Display + Serialize + Clone + PartialEq + Send + Sync;
    /// The answer to a call, as the diff compares it (what of it is
    /// compared: [`Compared`]).
    type Output: Compared + Clone + Send + Sync;
    /// A scenario file, compiled (its plan generated).
    type Scenario;
    /// One component's finished run of a scenario.
    type Run: Send;

    /// Parses and compiles a scenario file. `seed` overrides the file's.
    fn load(source: &Source, seed: Option<u64>) -> Result<Self::Scenario>;
    fn name(scenario: &Self::Scenario) -> &str;
    fn file(scenario: &Self::Scenario) -> &str;
    fn description(scenario: &Self::Scenario) -> &str;
    fn seed(scenario: &Self::Scenario) -> u64;
    fn plan(scenario: &Self::Scenario) -> &Plan<Self::Op>;

    /// Runs the scenario against fresh instances of the sandbox's component.
    fn run(sandbox: &Sandbox, scenario: &Self::Scenario) -> impl Future<Output = Self::Run> + Send;

    /// Every check of the track on the plugin's run (probing checks replay
    /// in `sandbox`, the plugin's), and the diff against the other side's.
    fn evaluate(
        scenario: &Self::Scenario,
        sandbox: &Sandbox,
        plugin: &Self::Run,
        other: &Self::Run,
    ) -> (Vec<CheckResult>, Option<Divergence>);

    fn history(run: &Self::Run) -> &History<Self::Output>;
    fn peak_memory(run: &Self::Run) -> usize;
    /// What the component printed and logged, as much as was kept.
    fn output(run: &Self::Run) -> &str;

    /// The faults injected into the run, in order. By default its clock
    /// faults.
    fn timeline(run: &Self::Run) -> Vec<TimelineEvent> {
        clock_faults(Self::history(run))
    }

    /// The run's use of a simulated dependency, for a track that has one.
    fn dependency(_run: &Self::Run) -> Option<DependencyUse> {
        None
    }

    /// The unit of work a scenario carries, when it is not the call (jobs
    /// enqueued, spans ingested), and how many: bench reports throughput
    /// and fuel per unit beside per call.
    fn work(_scenario: &Self::Scenario) -> Option<(&'static str, u64)> {
        None
    }

    /// The name of a call's operation (`check`, `lease`, `ingest`), for the
    /// fuel each kind of call costs.
    fn call_kind(op: &Self::Op) -> &'static str;
}

/// Evaluates `$body` with `$kind` the [`TrackKind`] of the track `$id`
/// names: `with_track!(plugin.track.id, K => run_scenarios::<K>(...))`.
/// The only place besides `track.rs` that names every track: a new track
/// adds its line here.
#[rustfmt::skip]
macro_rules! with_track {
    ($id:expr, $kind:ident => $body:expr) => {
        match $id {
            $crate::track::TrackId::RateLimiter => { type $kind = $crate::track::rate_limiter::RateLimiterKind; $body }
            $crate::track::TrackId::Payments => { type $kind = $crate::track::payments::PaymentsKind; $body }
            $crate::track::TrackId::JobQueue => { type $kind = $crate::track::job_queue::JobQueueKind; $body }
            $crate::track::TrackId::Traced => { type $kind = $crate::track::traced::TracedKind; $body }
            $crate::track::TrackId::TweetAudit => { type $kind = $crate::track::tweet_audit::TweetAuditKind; $body }
        }
    };
}

/// The items of a [`TrackKind`] that every track writes alike, for
/// `common_items!();` in its impl: `load` by the scenario's own
/// `Scenario::load`, and the accessors of the common fields of its
/// scenario (`name`, `file`, `description`, `seed`, `plan`) and its run
/// (`history`, `peak_memory`, `output`).
#[rustfmt::skip]
macro_rules! common_items {
    () => {
        fn load(source: &$crate::scenario::Source, seed: Option<u64>) -> $crate::Result<Self::Scenario> { <Self::Scenario>::load(source, seed) }
        fn name(scenario: &Self::Scenario) -> &str { &scenario.name }
        fn file(scenario: &Self::Scenario) -> &str { &scenario.file }
        fn description(scenario: &Self::Scenario) -> &str { &scenario.description }
        fn seed(scenario: &Self::Scenario) -> u64 { scenario.seed }
        fn plan(scenario: &Self::Scenario) -> &$crate::sim::Plan<Self::Op> { &scenario.plan }
        fn history(run: &Self::Run) -> &$crate::sim::History<Self::Output> { &run.history }
        fn peak_memory(run: &Self::Run) -> usize { run.peak_memory }
        fn output(run: &Self::Run) -> &str { &run.output }
    };
}

pub(crate) use {common_items, with_track};
