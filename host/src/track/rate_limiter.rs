//! Track `rate-limiter`: per-key limits with tiers and four algorithms.
//!
//! The plugin exports `gauntlet:rate-limiter/limiter`; the host drives it
//! with `configure` and `check` calls from a scenario's plan, then checks the
//! invariants from its own model of the decisions and diffs every decision
//! against the reference's.

pub mod checks;
pub mod model;
pub mod scenario;

use wasmtime::Store;

use self::model::{Op, Output};
use self::scenario::Scenario;
use crate::bindings::rate_limiter::{Plugin, PluginPre};
use crate::check::{CheckResult, Divergence};
use crate::sandbox::{self, Abort, FuelPool, HostState, Meter, Sandbox, VirtualClock};
use crate::sim::{Driver, History, Plan, SeedTree, Sim};
use crate::track::kind::{TrackKind, common_items};

pub const NAME: &str = "rate-limiter";
pub const WORLD: &str = "gauntlet:rate-limiter/plugin@0.1.0";
pub const EXPORT: &str = "gauntlet:rate-limiter/limiter@0.1.0";
pub const WIT: &[(&str, &str)] = &[
    (
        "rate-limiter.wit",
        include_str!("../../../wit/rate-limiter/rate-limiter.wit"),
    ),
    (
        "deps/harness/harness.wit",
        include_str!("../../../wit/harness/harness.wit"),
    ),
];
pub const REFERENCE: &[u8] = include_bytes!(env!("GAUNTLET_REFERENCE_RATE_LIMITER"));

/// Calls a live rate-limiter instance.
pub struct LimiterDriver {
    store: Store<HostState>,
    plugin: Plugin,
    meter: Meter,
}

impl LimiterDriver {
    /// Instantiates the component in a fresh store.
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
        Ok(LimiterDriver {
            plugin: plugin?,
            store,
            meter,
        })
    }

    pub fn store(&self) -> &Store<HostState> {
        &self.store
    }
}

impl Driver for LimiterDriver {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, op: &Op) -> (u64, Result<Output, Abort>) {
        let limiter = self.plugin.gauntlet_rate_limiter_limiter();
        let budget = self.meter.begin(&mut self.store);
        match op {
            Op::Configure { config, .. } => {
                let result = limiter
                    .call_configure(&mut self.store, &config.to_wit())
                    .await
                    .map(|r| Output::Configured(r.map_err(Into::into)));
                self.meter.finish(&mut self.store, budget, result)
            }
            Op::Check { key, cost } => {
                let result = limiter
                    .call_check(&mut self.store, key, *cost)
                    .await
                    .map(|d| Output::Decision(d.into()));
                self.meter.finish(&mut self.store, budget, result)
            }
        }
    }
}

/// A finished run of one component on one scenario.
pub struct Run {
    pub history: History<Output>,
    pub peak_memory: usize,
    pub output: String,
    pub dropped_output: u64,
}

/// Runs `plan` against a fresh instance of the sandbox's component.
pub async fn run(sandbox: &Sandbox, plan: &Plan<Op>, seeds: SeedTree) -> Run {
    let clock = VirtualClock::default();
    clock.set_ms(plan.start_ms);
    let fuel = FuelPool::new(sandbox.limits().fuel_per_scenario);
    let driver = match LimiterDriver::new(sandbox, &seeds, &clock, &fuel).await {
        Ok(driver) => driver,
        Err(abort) => {
            return Run {
                history: History::aborted_at_start(plan.start_ms, abort),
                peak_memory: 0,
                output: String::new(),
                dropped_output: 0,
            };
        }
    };
    let mut sim = Sim::new(plan, clock, driver);
    sim.run().await;
    let (driver, history) = sim.into_parts();
    let (output, dropped_output) = sandbox::output(driver.store());
    Run {
        history,
        peak_memory: sandbox::peak_memory(driver.store()),
        output,
        dropped_output,
    }
}

/// The rate limiter as a [`TrackKind`]. Its runs and probes draw their
/// randomness from the scenario's seed.
pub struct RateLimiterKind;

impl TrackKind for RateLimiterKind {
    type Op = Op;
    type Output = Output;
    type Scenario = Scenario;
    type Run = Run;
    common_items!();

    fn call_kind(op: &Op) -> &'static str {
        match op {
            Op::Configure { .. } => "configure",
            Op::Check { .. } => "check",
        }
    }

    fn run(sandbox: &Sandbox, scenario: &Scenario) -> impl Future<Output = Run> + Send {
        run(sandbox, &scenario.plan, SeedTree::new(scenario.seed))
    }

    /// Every check of the track on the plugin's run, and the strict diff
    /// against the other run. The probing checks (which replay keys in
    /// fresh instances) run on a second thread beside the others.
    fn evaluate(
        scenario: &Scenario,
        sandbox: &Sandbox,
        plugin: &Run,
        reference: &Run,
    ) -> (Vec<CheckResult>, Option<Divergence>) {
        let seeds = SeedTree::new(scenario.seed);
        let views = checks::views(&scenario.plan, &plugin.history);
        let probing = async {
            if plugin.history.abort().is_some() {
                return [
                    CheckResult::skip(checks::HONEST_RETRY_AFTER, "not probed: the plugin aborted"),
                    CheckResult::skip(checks::INDEPENDENT_KEYS, "not probed: the plugin aborted"),
                ];
            }
            // The probes share one fuel budget of their own.
            let probes = checks::Probes {
                sandbox,
                seeds,
                fuel: FuelPool::new(sandbox.limits().fuel_per_scenario),
            };
            [
                checks::honest_retry_after(&probes, &views).await,
                checks::independent_keys(&probes, &views).await,
            ]
        };
        let direct = async {
            let checks = [
                checks::completes(&scenario.plan, &plugin.history),
                checks::expectations(scenario, &views),
                checks::never_over_limit(&views),
                checks::right_tier(&views),
            ];
            let divergence =
                crate::diff::first_divergence(&scenario.plan, &reference.history, &plugin.history);
            (checks, divergence)
        };
        let (
            ([completes, expectations, never_over, right_tier], divergence),
            [honest, independent],
        ) = crate::runner::side_by_side(direct, probing);
        let results = vec![
            completes,
            expectations,
            never_over,
            honest,
            independent,
            right_tier,
            crate::diff::as_check(divergence.as_ref(), plugin.history.calls()),
        ];
        (results, divergence)
    }
}
