//! Track `tweet-audit`: an LLM batch pipeline under rate limits, crashes
//! and bad model output. The host plays the model ([`mock`]) and keeps the
//! output file and the durable store; the plan is one `run` of the whole
//! archive (or two: a rerun after it returned). Each injected crash
//! discards the instance; a fresh one gets the store and the file and
//! `run` is called again, as many times as it takes.

pub mod archive;
pub mod checks;
pub mod mock;
pub mod model;
pub mod scenario;

use std::sync::{Arc, Mutex};

use self::mock::{ModelSim, OutputFile};
use self::model::{Op, Outcome, Output};
use self::scenario::Scenario;
use crate::bindings::tweet_audit::{PluginPre, model as wit_model, pipeline as wit};
use crate::check::{CheckResult, Divergence};
use crate::runner::{DependencyUse, TimelineEvent, clock_faults};
use crate::sandbox::{self, Abort, Dependencies, FuelPool, Limits, Meter, Sandbox, VirtualClock};
use crate::sim::{Driver, History, SeedTree, Sim};
use crate::store::{DEFAULT_QUOTA_BYTES, DurableStore, StoreFaults};
use crate::track::kind::{TrackKind, common_items};

pub const NAME: &str = "tweet-audit";
pub const WORLD: &str = "gauntlet:tweet-audit/plugin@0.1.0";
pub const EXPORT: &str = "gauntlet:tweet-audit/pipeline@0.1.0";
pub const WIT: &[(&str, &str)] = &[
    (
        "tweet-audit.wit",
        include_str!("../../../wit/tweet-audit/tweet-audit.wit"),
    ),
    (
        "deps/harness/harness.wit",
        include_str!("../../../wit/harness/harness.wit"),
    ),
];
pub const REFERENCE: &[u8] = include_bytes!(env!("GAUNTLET_REFERENCE_TWEET_AUDIT"));

/// Fuel one `run` call may burn per thousand tweets of the archive, on top
/// of the sandbox's per-call budget: a `run` does the whole job.
const FUEL_PER_THOUSAND_TWEETS: u64 = 400_000_000;

/// A crash and the resume that followed it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Crash {
    /// The instance that crashed.
    pub instance: u32,
    pub time_ms: u64,
    /// Model calls made before it.
    pub model_calls: u64,
    pub reason: String,
}

/// Runs the plan's `run` calls, replacing the pipeline after each crash.
pub struct AuditDriver<'s> {
    sandbox: &'s Sandbox,
    seeds: SeedTree,
    clock: VirtualClock,
    meter: Meter,
    durable: Arc<Mutex<DurableStore>>,
    model: Arc<Mutex<ModelSim>>,
    output: Arc<Mutex<OutputFile>>,
    store_faults: Arc<Mutex<StoreFaults>>,
    files: Vec<wit::ArchiveFile>,
    criteria: wit_model::Criteria,
    username: String,
    /// The most crashes a run may take before the host gives up.
    max_crashes: usize,
    instance: u32,
    crashes: Vec<Crash>,
    peak_memory: usize,
    /// What the last instance printed and logged.
    log: String,
}

impl<'s> AuditDriver<'s> {
    pub fn new(
        sandbox: &'s Sandbox,
        scenario: &Scenario,
        clock: VirtualClock,
        fuel: FuelPool,
    ) -> Self {
        let seeds = SeedTree::new(scenario.seed);
        let tweets = scenario.truths.len() as u64;
        let limits = Limits {
            fuel_per_call: sandbox
                .limits()
                .fuel_per_call
                .saturating_add(tweets.div_ceil(1_000) * FUEL_PER_THOUSAND_TWEETS),
            ..sandbox.limits()
        };
        // Enough calls to classify every tweet one at a time, ten times
        // over, and some.
        let max_calls = 10 * scenario.classifiable() as u64 + 1_000;
        AuditDriver {
            sandbox,
            seeds,
            clock,
            meter: Meter::new(limits, fuel),
            durable: Arc::new(Mutex::new(DurableStore::new(DEFAULT_QUOTA_BYTES))),
            model: Arc::new(Mutex::new(ModelSim::new(
                scenario.quota,
                scenario.latency,
                scenario.model_faults.clone(),
                scenario.storms.clone(),
                seeds,
                scenario.plan.start_ms,
                max_calls,
            ))),
            output: Arc::new(Mutex::new(OutputFile::new(scenario.append_crash, seeds))),
            store_faults: Arc::new(Mutex::new(StoreFaults::new(
                scenario.store_faults.clone(),
                seeds,
            ))),
            files: scenario
                .files
                .iter()
                .map(|f| wit::ArchiveFile {
                    path: f.path.clone(),
                    content: f.content.clone(),
                })
                .collect(),
            criteria: wit_model::Criteria {
                forbidden_words: scenario.criteria.forbidden_words.clone(),
                rules: scenario.criteria.rules.clone(),
            },
            username: scenario.username.clone(),
            max_crashes: 2 * scenario.classifiable() + 100,
            instance: 0,
            crashes: Vec::new(),
            peak_memory: 0,
            log: String::new(),
        }
    }

    fn model_calls(&self) -> u64 {
        self.model.lock().expect("model lock").calls.len() as u64
    }

    /// One `run` on a fresh instance.
    async fn attempt(&mut self) -> (u64, Result<Outcome, Abort>) {
        self.model.lock().expect("model lock").instance = self.instance;
        self.output.lock().expect("output lock").instance = self.instance;
        let mut store = self
            .sandbox
            .new_store_with(&self.seeds, &self.clock, self.durable.clone());
        store.data_mut().set_dependencies(Dependencies {
            bank: None,
            store_faults: Some(self.store_faults.clone()),
            model: Some(self.model.clone()),
            output: Some(self.output.clone()),
        });
        let pre = match PluginPre::new(self.sandbox.instance_pre().clone()) {
            Ok(pre) => pre,
            Err(e) => {
                let abort = Abort::Trap {
                    trap: crate::engine::first_line(&e),
                    guest_message: None,
                };
                return (0, Err(abort));
            }
        };
        let budget = self.meter.begin(&mut store);
        let result = pre.instantiate_async(&mut store).await;
        let (mut fuel, plugin) = self.meter.finish(&mut store, budget, result);
        let result = match plugin {
            Ok(plugin) => {
                let budget = self.meter.begin(&mut store);
                let result = plugin
                    .gauntlet_tweet_audit_pipeline()
                    .call_run(&mut store, &self.files, &self.criteria, &self.username)
                    .await;
                let (spent, result) = self.meter.finish(&mut store, budget, result);
                fuel += spent;
                result.map(Outcome::from)
            }
            Err(abort) => Err(abort),
        };
        self.peak_memory = self.peak_memory.max(sandbox::peak_memory(&store));
        self.log = sandbox::output(&store).0;
        (fuel, result)
    }
}

impl Driver for AuditDriver<'_> {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, _op: &Op) -> (u64, Result<Output, Abort>) {
        let started_ms = self.clock.now_ms();
        let calls_before = self.model_calls();
        let crashes_before = self.crashes.len();
        let mut fuel = 0;
        let outcome = loop {
            // Each instance draws its store faults afresh: a resume that
            // writes what the crashed one wrote does not meet its crash again.
            self.store_faults
                .lock()
                .expect("store faults lock")
                .begin_step(u64::from(self.instance));
            let (spent, result) = self.attempt().await;
            fuel += spent;
            match result {
                Ok(outcome) => break outcome,
                Err(Abort::Crash { reason }) => {
                    self.crashes.push(Crash {
                        instance: self.instance,
                        time_ms: self.clock.now_ms(),
                        model_calls: self.model_calls(),
                        reason: reason.clone(),
                    });
                    self.instance += 1;
                    if self.crashes.len() > self.max_crashes {
                        let reason = format!(
                            "{reason}; gauntlet gave up after {} crashes (does the pipeline resume from its checkpoint?)",
                            self.crashes.len()
                        );
                        return (fuel, Err(Abort::Crash { reason }));
                    }
                }
                Err(abort) => return (fuel, Err(abort)),
            }
        };
        // The next `run` (a rerun) is a fresh instance too.
        self.instance += 1;
        let file = self.output.lock().expect("output lock");
        let texts = file.texts();
        let output = Output {
            outcome,
            lines: texts.len(),
            digest: model::digest(&texts),
            crashes: (self.crashes.len() - crashes_before) as u32,
            model_calls: self.model_calls() - calls_before,
            waited_ms: self.clock.now_ms().saturating_sub(started_ms),
        };
        (fuel, Ok(output))
    }
}

/// A finished run of one pipeline on one scenario.
pub struct Run {
    pub history: History<Output>,
    /// The model at the end, with every call it served.
    pub model: ModelSim,
    /// The output file at the end.
    pub file: OutputFile,
    pub crashes: Vec<Crash>,
    /// The virtual time from the start to the last `run`'s return.
    pub elapsed_ms: u64,
    pub peak_memory: usize,
    pub output: String,
}

/// Runs `scenario` against fresh instances of the sandbox's component.
pub async fn run(sandbox: &Sandbox, scenario: &Scenario) -> Run {
    let clock = VirtualClock::default();
    clock.set_ms(scenario.plan.start_ms);
    let fuel = FuelPool::new(sandbox.limits().fuel_per_scenario);
    let driver = AuditDriver::new(sandbox, scenario, clock.clone(), fuel);
    let mut sim = Sim::new(&scenario.plan, clock.clone(), driver);
    sim.run().await;
    let (driver, history) = sim.into_parts();
    let model = driver.model.lock().expect("model lock").clone();
    let file = driver.output.lock().expect("output lock").clone();
    Run {
        history,
        model,
        file,
        crashes: driver.crashes,
        elapsed_ms: clock.now_ms().saturating_sub(scenario.plan.start_ms),
        peak_memory: driver.peak_memory,
        output: driver.log,
    }
}

/// The tweet-audit pipeline as a [`TrackKind`].
pub struct TweetAuditKind;

impl TrackKind for TweetAuditKind {
    type Op = Op;
    type Output = Output;
    type Scenario = Scenario;
    type Run = Run;
    common_items!();

    fn call_kind(_op: &Op) -> &'static str {
        "run"
    }

    fn work(scenario: &Scenario) -> Option<(&'static str, u64)> {
        Some(("tweet", scenario.truths.len() as u64))
    }

    fn run(sandbox: &Sandbox, scenario: &Scenario) -> impl Future<Output = Run> + Send {
        run(sandbox, scenario)
    }

    fn evaluate(
        scenario: &Scenario,
        _sandbox: &Sandbox,
        plugin: &Run,
        reference: &Run,
    ) -> (Vec<CheckResult>, Option<Divergence>) {
        let mut results = checks::all(scenario, plugin);
        let divergence =
            crate::diff::first_divergence(&scenario.plan, &reference.history, &plugin.history);
        results.push(crate::diff::as_check(
            divergence.as_ref(),
            plugin.history.calls(),
        ));
        (results, divergence)
    }

    /// Clock faults, then every crash and every fault the model answered,
    /// in order.
    fn timeline(run: &Run) -> Vec<TimelineEvent> {
        let mut events = clock_faults(&run.history);
        let mut answers: Vec<(u64, String)> = run
            .model
            .calls
            .iter()
            .filter_map(|c| {
                let what = match &c.answer {
                    mock::Answer::Text { bad: None, .. } => return None,
                    answer => answer.to_string(),
                };
                Some((c.sent_ms, format!("model call #{}: {what}", c.n)))
            })
            .collect();
        answers.extend(
            run.crashes
                .iter()
                .map(|c| (c.time_ms, format!("crash {}", c.reason))),
        );
        answers.sort_by_key(|(t, _)| *t);
        // The `run` call each event happened during: the last that began
        // at or before it.
        let starts: Vec<u64> = run
            .history
            .entries
            .iter()
            .filter(|e| matches!(e.event, crate::sim::Event::Call { .. }))
            .map(|e| e.time_ms)
            .collect();
        events.extend(
            answers
                .into_iter()
                .map(|(time_ms, description)| TimelineEvent {
                    call: starts.partition_point(|&s| s <= time_ms).saturating_sub(1),
                    time_ms,
                    kind: "model",
                    description,
                }),
        );
        events
    }

    fn dependency(run: &Run) -> Option<DependencyUse> {
        Some(DependencyUse {
            name: "model",
            calls: run.model.calls.len() as u64,
            waited_ms: run.elapsed_ms,
            crashes: run.crashes.len() as u64,
        })
    }
}
