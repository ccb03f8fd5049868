//! Track `traced`: span ingestion with a rolling 30-minute window. The host
//! emits whole traces in batches (children often before their root, bursts,
//! traffic in waves), queries now and then, and moves the clock with no
//! traffic to see evicted traces go.

pub mod checks;
pub mod model;
pub mod scenario;

use wasmtime::Store;

use self::model::{Op, Output, Span, Summary};
use self::scenario::Scenario;
use crate::bindings::traced::{Plugin, PluginPre};
use crate::sandbox::{self, Abort, FuelPool, HostState, Meter, Sandbox, VirtualClock};
use crate::sim::{Driver, History, SeedTree, Sim};

pub const NAME: &str = "traced";
pub const WORLD: &str = "gauntlet:traced/plugin@0.1.0";
pub const EXPORT: &str = "gauntlet:traced/collector@0.1.0";
pub const WIT: &[(&str, &str)] = &[
    ("traced.wit", include_str!("../../../wit/traced/traced.wit")),
    (
        "deps/harness/harness.wit",
        include_str!("../../../wit/harness/harness.wit"),
    ),
];
pub const REFERENCE: &[u8] = include_bytes!(env!("GAUNTLET_REFERENCE_TRACED"));

/// Calls one store instance for the whole run (no crashes in this track).
pub struct CollectorDriver {
    store: Store<HostState>,
    plugin: Plugin,
    meter: Meter,
}

impl CollectorDriver {
    pub async fn new(
        sandbox: &Sandbox,
        seeds: &SeedTree,
        clock: &VirtualClock,
        fuel: &FuelPool,
    ) -> Result<Self, Abort> {
        let meter = Meter::new(sandbox.limits(), fuel.clone());
        let mut store = sandbox.new_store(seeds, clock);
        let pre = PluginPre::new(sandbox.instance_pre().clone()).map_err(|e| Abort::Trap {
            trap: crate::engine::first_line(&e),
            guest_message: None,
        })?;
        let budget = meter.begin(&mut store);
        let result = pre.instantiate_async(&mut store).await;
        let (_, plugin) = meter.finish(&mut store, budget, result);
        Ok(CollectorDriver {
            plugin: plugin?,
            store,
            meter,
        })
    }
}

impl Driver for CollectorDriver {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, op: &Op) -> (u64, Result<Output, Abort>) {
        let collector = self.plugin.gauntlet_traced_collector();
        let budget = self.meter.begin(&mut self.store);
        let result = match op {
            Op::Ingest(spans) => {
                let batch: Vec<_> = spans.iter().map(Span::to_wit).collect();
                collector
                    .call_ingest(&mut self.store, &batch)
                    .await
                    .map(|r| Output::Ingested(r.map_err(|e| model::error(&e))))
            }
            Op::ListTraces {
                after_ns,
                before_ns,
                limit,
            } => collector
                .call_list_traces(&mut self.store, *after_ns, *before_ns, *limit)
                .await
                .map(|r| {
                    Output::Page(
                        r.map(|page| (page.traces.iter().map(Summary::from).collect(), page.total))
                            .map_err(|e| model::error(&e)),
                    )
                }),
            Op::GetTrace { trace_id } => collector
                .call_get_trace(&mut self.store, trace_id)
                .await
                .map(|r| {
                    Output::Trace(
                        r.map(|spans| spans.iter().map(Span::from_wit).collect())
                            .map_err(|e| model::error(&e)),
                    )
                }),
        };
        self.meter.finish(&mut self.store, budget, result)
    }
}

/// A finished run of one component on one scenario.
pub struct Run {
    pub history: History<Output>,
    pub peak_memory: usize,
    pub output: String,
}

/// Runs `scenario` against a fresh instance of the sandbox's component.
pub async fn run(sandbox: &Sandbox, scenario: &Scenario) -> Run {
    let plan = &scenario.plan;
    let seeds = SeedTree::new(scenario.seed);
    let clock = VirtualClock::default();
    clock.set_ms(plan.start_ms);
    let fuel = FuelPool::new(sandbox.limits().fuel_per_scenario);
    let driver = match CollectorDriver::new(sandbox, &seeds, &clock, &fuel).await {
        Ok(driver) => driver,
        Err(abort) => {
            return Run {
                history: History::aborted_at_start(plan.start_ms, abort),
                peak_memory: 0,
                output: String::new(),
            };
        }
    };
    let mut sim = Sim::new(plan, clock, driver);
    sim.run().await;
    let (driver, history) = sim.into_parts();
    Run {
        history,
        peak_memory: sandbox::peak_memory(&driver.store),
        output: sandbox::output(&driver.store).0,
    }
}

/// The trace store as a [`TrackKind`](super::kind::TrackKind).
pub struct TracedKind;

impl super::kind::TrackKind for TracedKind {
    type Op = Op;
    type Output = Output;
    type Scenario = Scenario;
    type Run = Run;

    super::kind::common_items!();

    fn call_kind(op: &Op) -> &'static str {
        match op {
            Op::Ingest(_) => "ingest",
            Op::ListTraces { .. } => "list-traces",
            Op::GetTrace { .. } => "get-trace",
        }
    }

    fn work(scenario: &Scenario) -> Option<(&'static str, u64)> {
        let spans: usize = scenario
            .plan
            .actions
            .iter()
            .map(|a| match a {
                crate::sim::Action::Call(Op::Ingest(spans)) => spans.len(),
                _ => 0,
            })
            .sum();
        Some(("span", spans as u64))
    }

    fn run(sandbox: &Sandbox, scenario: &Scenario) -> impl Future<Output = Run> + Send {
        run(sandbox, scenario)
    }

    fn evaluate(
        scenario: &Scenario,
        _sandbox: &Sandbox,
        plugin: &Run,
        other: &Run,
    ) -> (
        Vec<crate::check::CheckResult>,
        Option<crate::check::Divergence>,
    ) {
        let mut results = checks::all(scenario, plugin);
        let divergence =
            crate::diff::first_divergence(&scenario.plan, &other.history, &plugin.history);
        results.push(crate::diff::as_check(
            divergence.as_ref(),
            plugin.history.calls(),
        ));
        (results, divergence)
    }
}
