//! Track `job-queue`: a background job processor. The host plays
//! the producers, a pool of workers (slow, dying with a lease held, failing,
//! completing twice or too late) and the operator, keeps the durable store,
//! and crashes the queue between calls and at its store writes (a fresh
//! instance then gets only the durable store and `recover`, and the call is
//! made again).

pub mod checks;
pub mod model;
pub mod scenario;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wasmtime::Store;

use self::model::{Answer, Fate, Lease, Op, Output, QueueError, Report, Status};
use self::scenario::Scenario;
use crate::bindings::jobs::{Plugin, PluginPre, queue as wit};
use crate::sandbox::{
    self, Abort, Dependencies, FuelPool, HostState, Meter, Sandbox, VirtualClock,
};
use crate::sim::{Driver, History, SeedTree, Sim};
use crate::store::{DEFAULT_QUOTA_BYTES, DurableStore, StoreFaults};

pub const NAME: &str = "job-queue";
pub const WORLD: &str = "gauntlet:jobs/plugin@0.1.0";
pub const EXPORT: &str = "gauntlet:jobs/queue@0.1.0";
pub const WIT: &[(&str, &str)] = &[
    ("jobs.wit", include_str!("../../../wit/jobs/jobs.wit")),
    (
        "deps/harness/harness.wit",
        include_str!("../../../wit/harness/harness.wit"),
    ),
];
pub const REFERENCE: &[u8] = include_bytes!(env!("GAUNTLET_REFERENCE_JOB_QUEUE"));

/// Crashes in a row while serving one call before the run is stopped: a
/// scenario that crashes the queue every time can never finish.
const MAX_CRASHES_PER_CALL: u32 = 8;

/// The job a worker holds: the queue's id and token, and their names.
#[derive(Clone, Debug)]
struct Held {
    id: String,
    job: String,
    raw_token: String,
    token: String,
    attempt: u32,
}

/// Serves a scenario's operations to a queue, replacing it after each crash.
pub struct QueueDriver<'s> {
    sandbox: &'s Sandbox,
    seeds: SeedTree,
    clock: VirtualClock,
    meter: Meter,
    durable: Arc<Mutex<DurableStore>>,
    store_faults: Arc<Mutex<StoreFaults>>,
    fates: Option<scenario::Fates>,
    /// The live instance; `None` after a crash until the next call.
    live: Option<(Store<HostState>, Plugin)>,
    replacing: bool,
    /// Job labels to the ids this queue gave them, and back (the first
    /// label of an id names it).
    ids: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    /// The queue's lease tokens, named in order of first appearance.
    tokens: BTreeMap<String, String>,
    /// What each worker holds, and what it completed last.
    holding: BTreeMap<String, Held>,
    completed: BTreeMap<String, Held>,
    step: u64,
}

/// One call into the queue, owned (it is made again after a crash).
enum Request {
    Enqueue(wit::JobSpec),
    Lease(String, u64),
    Heartbeat(String, String, u64),
    Complete(String, String),
    Fail(String, String, &'static str, bool),
    Status(String),
    DeadLetters,
    Requeue(String),
}

/// The queue's answer to a [`Request`], before normalisation.
enum Response {
    Id(Result<String, wit::QueueError>),
    Leased(Result<Option<wit::LeasedJob>, wit::QueueError>),
    Expires(Result<u64, wit::QueueError>),
    Done(Result<(), wit::QueueError>),
    Status(Result<wit::JobStatus, wit::QueueError>),
    List(Vec<wit::JobStatus>),
}

impl Request {
    async fn send(
        &self,
        store: &mut Store<HostState>,
        plugin: &Plugin,
    ) -> wasmtime::Result<Response> {
        let queue = plugin.gauntlet_jobs_queue();
        Ok(match self {
            Request::Enqueue(spec) => Response::Id(queue.call_enqueue(store, spec).await?),
            Request::Lease(worker, ms) => {
                Response::Leased(queue.call_lease(store, worker, *ms).await?)
            }
            Request::Heartbeat(id, token, ms) => {
                Response::Expires(queue.call_heartbeat(store, id, token, *ms).await?)
            }
            Request::Complete(id, token) => {
                Response::Done(queue.call_complete(store, id, token).await?)
            }
            Request::Fail(id, token, message, retryable) => Response::Done(
                queue
                    .call_fail(store, id, token, message, *retryable)
                    .await?,
            ),
            Request::Status(id) => Response::Status(queue.call_status(store, id).await?),
            Request::DeadLetters => Response::List(queue.call_dead_letters(store).await?),
            Request::Requeue(id) => Response::Done(queue.call_requeue(store, id).await?),
        })
    }
}

impl Response {
    fn done(self) -> Result<(), wit::QueueError> {
        match self {
            Response::Done(r) => r,
            _ => unreachable!("complete and fail answer with a unit result"),
        }
    }
}

impl<'s> QueueDriver<'s> {
    pub fn new(
        sandbox: &'s Sandbox,
        scenario: &Scenario,
        clock: VirtualClock,
        fuel: FuelPool,
    ) -> Self {
        let seeds = SeedTree::new(scenario.seed);
        QueueDriver {
            sandbox,
            seeds,
            clock,
            meter: Meter::new(sandbox.limits(), fuel),
            durable: Arc::new(Mutex::new(DurableStore::new(DEFAULT_QUOTA_BYTES))),
            store_faults: Arc::new(Mutex::new(StoreFaults::new(
                scenario.store_faults.clone(),
                seeds,
            ))),
            fates: scenario.fates,
            live: None,
            replacing: false,
            ids: BTreeMap::new(),
            labels: BTreeMap::new(),
            tokens: BTreeMap::new(),
            holding: BTreeMap::new(),
            completed: BTreeMap::new(),
            step: 0,
        }
    }

    /// The live instance, made (and recovered, if it replaces a crashed
    /// one) if need be. Returns the fuel burnt doing so.
    async fn ensure_live(&mut self) -> Result<u64, Abort> {
        if self.live.is_some() {
            return Ok(0);
        }
        let mut store = self
            .sandbox
            .new_store_with(&self.seeds, &self.clock, self.durable.clone());
        store.data_mut().set_dependencies(Dependencies {
            bank: None,
            store_faults: Some(self.store_faults.clone()),
            ..Dependencies::default()
        });
        let pre = PluginPre::new(self.sandbox.instance_pre().clone()).map_err(|e| Abort::Trap {
            trap: crate::engine::first_line(&e),
            guest_message: None,
        })?;
        let budget = self.meter.begin(&mut store);
        let result = pre.instantiate_async(&mut store).await;
        let (mut fuel, plugin) = self.meter.finish(&mut store, budget, result);
        let plugin = plugin?;
        if self.replacing {
            let budget = self.meter.begin(&mut store);
            let result = plugin.gauntlet_jobs_queue().call_recover(&mut store).await;
            let (spent, result) = self.meter.finish(&mut store, budget, result);
            fuel += spent;
            result?;
            self.replacing = false;
        }
        self.live = Some((store, plugin));
        Ok(fuel)
    }

    /// Makes `request` on the live instance, replacing the instance and
    /// making it again after each injected crash. Returns the fuel, the
    /// crashes and the response.
    async fn call(&mut self, request: Request) -> (u64, u32, Result<Response, Abort>) {
        let mut fuel = 0;
        let mut crashes = 0;
        loop {
            let result = match self.ensure_live().await {
                Ok(spent) => {
                    fuel += spent;
                    let (store, plugin) = self.live.as_mut().expect("a live instance");
                    let budget = self.meter.begin(store);
                    let result = request.send(store, plugin).await;
                    let (spent, result) = self.meter.finish(store, budget, result);
                    fuel += spent;
                    result
                }
                Err(abort) => Err(abort),
            };
            match result {
                Err(Abort::Crash { reason }) => {
                    crashes += 1;
                    self.live = None;
                    self.replacing = true;
                    if crashes > MAX_CRASHES_PER_CALL {
                        return (fuel, crashes, Err(Abort::Crash { reason }));
                    }
                }
                other => return (fuel, crashes, other),
            }
        }
    }

    fn id_of(&self, job: &str) -> String {
        self.ids
            .get(job)
            .cloned()
            .unwrap_or_else(|| format!("unknown-job-{job}"))
    }

    /// The label of a job id the queue handed out (an id it never returned
    /// from an enqueue is shown as such).
    fn label_of(&self, id: &str) -> String {
        self.labels
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("unknown id {id:?}"))
    }

    fn token_name(&mut self, raw: &str) -> String {
        let next = format!("t{}", self.tokens.len() + 1);
        self.tokens.entry(raw.to_string()).or_insert(next).clone()
    }

    fn status(&self, s: &wit::JobStatus) -> Status {
        Status {
            job: self.label_of(&s.id),
            kind: s.kind.clone(),
            priority: s.priority,
            attempts: s.attempts,
            max_attempts: s.max_attempts,
            state: model::state(&s.state),
        }
    }

    async fn report(
        &mut self,
        held: &Held,
        report: Report,
    ) -> (u64, u32, Result<Result<(), QueueError>, Abort>) {
        let (id, token) = (held.id.clone(), held.raw_token.clone());
        let request = match report {
            Report::Complete => Request::Complete(id, token),
            Report::FailRetryable => Request::Fail(id, token, "worker: transient failure", true),
            Report::FailPermanent => Request::Fail(id, token, "worker: permanent failure", false),
        };
        let (fuel, crashes, response) = self.call(request).await;
        let result = response.map(|r| r.done().map_err(|e| (&e).into()));
        (fuel, crashes, result)
    }

    /// A worker's report on the job it holds; it holds nothing afterwards.
    async fn worker_reports(
        &mut self,
        worker: &str,
        report: Report,
        twice: bool,
    ) -> (u64, u32, Result<Answer, Abort>) {
        let Some(held) = self.holding.remove(worker) else {
            return (0, 0, Ok(Answer::Idle));
        };
        let (mut fuel, mut crashes, result) = self.report(&held, report).await;
        let result = match result {
            Ok(r) => r,
            Err(abort) => return (fuel, crashes, Err(abort)),
        };
        let mut again = None;
        if twice {
            let (f, c, second) = self.report(&held, report).await;
            fuel += f;
            crashes += c;
            match second {
                Ok(r) => again = Some(r),
                Err(abort) => return (fuel, crashes, Err(abort)),
            }
        }
        if report == Report::Complete {
            self.completed.insert(worker.to_string(), held.clone());
        }
        let answer = Answer::Reported {
            job: held.job,
            token: held.token,
            report,
            again,
            result,
        };
        (fuel, crashes, Ok(answer))
    }

    async fn serve(&mut self, op: &Op) -> (u64, u32, Result<Answer, Abort>) {
        let request = match op {
            Op::Enqueue(spec) => Request::Enqueue(spec.to_wit()),
            Op::Lease { worker, lease_ms } => Request::Lease(worker.clone(), *lease_ms),
            Op::Heartbeat { worker, lease_ms } => {
                let Some(held) = self.holding.get(worker) else {
                    return (0, 0, Ok(Answer::Idle));
                };
                Request::Heartbeat(held.id.clone(), held.raw_token.clone(), *lease_ms)
            }
            Op::Complete { worker } => {
                return self.worker_reports(worker, Report::Complete, false).await;
            }
            Op::CompleteAgain { worker } => {
                let Some(held) = self.completed.get(worker).cloned() else {
                    return (0, 0, Ok(Answer::Idle));
                };
                let (fuel, crashes, result) = self.report(&held, Report::Complete).await;
                let answer = result.map(|result| Answer::Reported {
                    job: held.job,
                    token: held.token,
                    report: Report::Complete,
                    again: None,
                    result,
                });
                return (fuel, crashes, answer);
            }
            Op::Fail { worker, retryable } => {
                let report = if *retryable {
                    Report::FailRetryable
                } else {
                    Report::FailPermanent
                };
                return self.worker_reports(worker, report, false).await;
            }
            Op::Finish { worker } => return self.finish(worker).await,
            Op::Status { job } => Request::Status(self.id_of(job)),
            Op::DeadLetters => Request::DeadLetters,
            Op::Requeue { job } => Request::Requeue(self.id_of(job)),
            Op::Crash => {
                self.live = None;
                self.replacing = true;
                return match self.ensure_live().await {
                    Ok(fuel) => (fuel, 0, Ok(Answer::Recovered)),
                    Err(abort) => (0, 0, Err(abort)),
                };
            }
        };
        let (fuel, crashes, response) = self.call(request).await;
        let response = match response {
            Ok(response) => response,
            Err(abort) => return (fuel, crashes, Err(abort)),
        };
        let answer = match (op, response) {
            (Op::Enqueue(spec), Response::Id(r)) => Answer::Enqueued(match r {
                Ok(id) => {
                    self.labels
                        .entry(id.clone())
                        .or_insert_with(|| spec.label.clone());
                    self.ids.insert(spec.label.clone(), id.clone());
                    Ok(self.label_of(&id))
                }
                Err(e) => Err((&e).into()),
            }),
            (Op::Lease { worker, .. }, Response::Leased(r)) => {
                // A worker that leases again has given up what it held.
                self.holding.remove(worker);
                Answer::Leased(match r {
                    Ok(Some(l)) => Ok(Some(self.leased(worker, l))),
                    Ok(None) => Ok(None),
                    Err(e) => Err((&e).into()),
                })
            }
            (Op::Heartbeat { worker, .. }, Response::Expires(r)) => {
                let held = &self.holding[worker];
                Answer::Extended {
                    job: held.job.clone(),
                    token: held.token.clone(),
                    result: r.map_err(|e| (&e).into()),
                }
            }
            (Op::Status { .. }, Response::Status(r)) => Answer::Status(match r {
                Ok(s) => Ok(self.status(&s)),
                Err(e) => Err((&e).into()),
            }),
            (Op::DeadLetters, Response::List(list)) => {
                Answer::DeadLetters(list.iter().map(|s| self.status(s)).collect())
            }
            (Op::Requeue { .. }, Response::Done(r)) => Answer::Requeued(r.map_err(|e| (&e).into())),
            _ => unreachable!("each request has its own kind of response"),
        };
        (fuel, crashes, Ok(answer))
    }

    /// Records what `worker` was handed, and names it.
    fn leased(&mut self, worker: &str, l: wit::LeasedJob) -> Lease {
        let token = self.token_name(&l.token);
        let job = self.label_of(&l.job_id);
        self.holding.insert(
            worker.to_string(),
            Held {
                id: l.job_id,
                job: job.clone(),
                raw_token: l.token,
                token: token.clone(),
                attempt: l.attempt,
            },
        );
        Lease {
            job,
            token,
            kind: l.kind,
            payload: l.payload,
            attempt: l.attempt,
            expires_ms: l.expires_ms,
        }
    }

    /// A worker ends its run as the job's fate says.
    async fn finish(&mut self, worker: &str) -> (u64, u32, Result<Answer, Abort>) {
        let Some(held) = self.holding.get(worker) else {
            return (0, 0, Ok(Answer::Idle));
        };
        let fate = self.fates.map_or(Fate::Complete, |f| {
            f.draw(&self.seeds, &held.job, held.attempt)
        });
        let (report, twice) = match fate {
            Fate::Die => {
                let held = self.holding.remove(worker).expect("held");
                return (0, 0, Ok(Answer::Died { job: held.job }));
            }
            Fate::Complete => (Report::Complete, false),
            Fate::CompleteTwice => (Report::Complete, true),
            Fate::FailRetryable => (Report::FailRetryable, false),
            Fate::FailPermanent => (Report::FailPermanent, false),
        };
        self.worker_reports(worker, report, twice).await
    }

    /// The end of a run: faults off, then the status of every job enqueued
    /// (by label), as the queue reports it; `None`: the queue does not know
    /// the job.
    pub async fn settle(&mut self) -> Result<BTreeMap<String, Option<Status>>, Abort> {
        self.store_faults.lock().expect("store faults lock").clear();
        let mut statuses = BTreeMap::new();
        for (job, id) in self.ids.clone() {
            let (_, _, response) = self.call(Request::Status(id)).await;
            let status = match response? {
                Response::Status(r) => r.ok().map(|s| self.status(&s)),
                _ => unreachable!("status answers with a status"),
            };
            statuses.insert(job, status);
        }
        Ok(statuses)
    }
}

impl Driver for QueueDriver<'_> {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, op: &Op) -> (u64, Result<Output, Abort>) {
        self.step += 1;
        self.store_faults
            .lock()
            .expect("store faults lock")
            .begin_step(self.step);
        let (fuel, crashes, answer) = self.serve(op).await;
        (fuel, answer.map(|answer| Output { answer, crashes }))
    }
}

/// A finished run of one queue on one scenario.
pub struct Run {
    pub history: History<Output>,
    /// Every job enqueued, by label, as the queue reported it at the end
    /// (`None`: not found); `Err` if that pass aborted.
    pub settled: Result<BTreeMap<String, Option<Status>>, Abort>,
    /// The durable store at the end.
    pub durable: DurableStore,
    pub peak_memory: usize,
    /// What the last instance printed and logged.
    pub output: String,
}

impl Run {
    /// The faults injected, in order: crashes between calls and at store
    /// writes.
    pub fn timeline(&self) -> Vec<crate::runner::TimelineEvent> {
        let mut events = crate::runner::clock_faults(&self.history);
        for (entry, call, output) in self.history.returned() {
            if output.answer == Answer::Recovered {
                events.push(crate::runner::TimelineEvent {
                    call,
                    time_ms: entry.time_ms,
                    kind: "crash",
                    description: "the queue crashed between calls".into(),
                });
            }
            if output.crashes > 0 {
                events.push(crate::runner::TimelineEvent {
                    call,
                    time_ms: entry.time_ms,
                    kind: "store",
                    description: format!(
                        "{} crash(es) before a durable-store write",
                        output.crashes
                    ),
                });
            }
        }
        events.sort_by_key(|e| e.call);
        events
    }

    /// Crashes injected, between calls and at store writes.
    pub fn crashes(&self) -> u64 {
        self.history
            .returned()
            .map(|(_, _, o)| u64::from(o.crashes) + u64::from(o.answer == Answer::Recovered))
            .sum()
    }
}

/// Runs `scenario` against fresh instances of the sandbox's component.
pub async fn run(sandbox: &Sandbox, scenario: &Scenario) -> Run {
    let clock = VirtualClock::default();
    clock.set_ms(scenario.plan.start_ms);
    let fuel = FuelPool::new(sandbox.limits().fuel_per_scenario);
    let driver = QueueDriver::new(sandbox, scenario, clock.clone(), fuel);
    let mut sim = Sim::new(&scenario.plan, clock, driver);
    sim.run().await;
    let aborted = sim.history().abort().map(|(_, a)| a.clone());
    let (mut driver, history) = sim.into_parts();
    let settled = match aborted {
        Some(abort) => Err(abort),
        None => driver.settle().await,
    };
    let peak_memory = driver
        .live
        .as_ref()
        .map_or(0, |(store, _)| sandbox::peak_memory(store));
    let output = driver
        .live
        .as_ref()
        .map(|(store, _)| sandbox::output(store).0)
        .unwrap_or_default();
    let durable = driver.durable.lock().expect("durable store lock").clone();
    Run {
        history,
        settled,
        durable,
        peak_memory,
        output,
    }
}

/// Every check of the track on the plugin's run, and the diff of its
/// normalised answers against the reference's.
pub fn evaluate(
    scenario: &Scenario,
    plugin: &Run,
    reference: &Run,
) -> (
    Vec<crate::check::CheckResult>,
    Option<crate::check::Divergence>,
) {
    let plan = &scenario.plan;
    let mut results = checks::all(scenario, plugin);
    let divergence = crate::diff::first_divergence(plan, &reference.history, &plugin.history);
    results.push(crate::diff::as_check(
        divergence.as_ref(),
        plugin.history.calls(),
    ));
    (results, divergence)
}

/// The job queue as a [`TrackKind`](super::kind::TrackKind).
pub struct JobQueueKind;

impl super::kind::TrackKind for JobQueueKind {
    type Op = Op;
    type Output = Output;
    type Scenario = Scenario;
    type Run = Run;

    super::kind::common_items!();

    fn call_kind(op: &Op) -> &'static str {
        op.name()
    }

    fn work(scenario: &Scenario) -> Option<(&'static str, u64)> {
        let jobs = scenario
            .plan
            .actions
            .iter()
            .filter(|a| matches!(a, crate::sim::Action::Call(Op::Enqueue(_))))
            .count();
        Some(("job", jobs as u64))
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
        evaluate(scenario, plugin, other)
    }

    fn timeline(run: &Run) -> Vec<crate::runner::TimelineEvent> {
        run.timeline()
    }
}
