//! Track `job-queue`: a background job processor. The host plays
//! the producers, a pool of workers (slow, dying with a lease held, failing,
//! completing twice or too late) and the operator, keeps the durable store,
//! and crashes the queue between calls and at its store writes (a fresh
//! instance then gets only the durable store and `recover`, and the call is
//! made again).

pub mod checks;
mod linear;
pub mod model;
pub mod races;
pub mod scenario;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wasmtime::Store;

use self::model::{Answer, Fate, Lease, Op, Output, QueueError, Report, Status};
use self::scenario::Scenario;
use crate::bindings::jobs::{Plugin, PluginPre, queue as wit};
use crate::concurrent::{self, ConcurrencySpec};
use crate::replica::{self, Component, Replica};
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

/// The job a worker holds: the queue's id and token, and their names.
#[derive(Clone, Debug)]
struct Held {
    id: String,
    job: String,
    raw_token: String,
    token: String,
    attempt: u32,
}

/// A replica of the queue.
type Queue<'s> = Replica<'s, Plugin>;

impl Component for Plugin {
    async fn instantiate(
        sandbox: &Sandbox,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Self> {
        PluginPre::new(sandbox.instance_pre().clone())?
            .instantiate_async(store)
            .await
    }

    async fn recover(&self, store: &mut Store<HostState>) -> wasmtime::Result<()> {
        self.gauntlet_jobs_queue().call_recover(store).await
    }
}

/// What the host knows of the queue's names and the workers: job labels
/// and ids, lease tokens and their names, what each worker holds. Shared
/// by the calls in flight of a concurrent run (each worker is one process,
/// so no two calls touch one worker's entry at once); never locked across
/// an await.
struct Names {
    seeds: SeedTree,
    fates: Option<scenario::Fates>,
    /// Job labels to the ids this queue gave them, and back (the first
    /// label of an id names it).
    ids: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    /// The queue's lease tokens, named in order of first appearance.
    tokens: BTreeMap<String, String>,
    /// What each worker holds, and what it completed last.
    holding: BTreeMap<String, Held>,
    completed: BTreeMap<String, Held>,
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

impl replica::Request<Plugin> for Request {
    type Response = Response;

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

/// What serving one operation took: fuel, crashes, and the answer.
type Answered = (u64, u32, Result<Answer, Abort>);

impl Names {
    fn new(scenario: &Scenario) -> Self {
        Names {
            seeds: SeedTree::new(scenario.seed),
            fates: scenario.fates,
            ids: BTreeMap::new(),
            labels: BTreeMap::new(),
            tokens: BTreeMap::new(),
            holding: BTreeMap::new(),
            completed: BTreeMap::new(),
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

    /// The request `op` makes, or its answer if it makes none (a worker
    /// that holds nothing).
    fn request(&mut self, op: &Op) -> Result<Request, Answer> {
        Ok(match op {
            Op::Enqueue(spec) => Request::Enqueue(spec.to_wit()),
            Op::Lease { worker, lease_ms } => Request::Lease(worker.clone(), *lease_ms),
            Op::Heartbeat { worker, lease_ms } => {
                let held = self.holding.get(worker).ok_or(Answer::Idle)?;
                Request::Heartbeat(held.id.clone(), held.raw_token.clone(), *lease_ms)
            }
            Op::Status { job } => Request::Status(self.id_of(job)),
            Op::DeadLetters => Request::DeadLetters,
            Op::Requeue { job } => Request::Requeue(self.id_of(job)),
            Op::Complete { .. }
            | Op::CompleteAgain { .. }
            | Op::Fail { .. }
            | Op::Finish { .. }
            | Op::Crash => unreachable!("served by their own paths"),
        })
    }

    /// The answer to `op`, normalised, from the queue's response.
    fn answer(&mut self, op: &Op, response: Response) -> Answer {
        match (op, response) {
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
        }
    }
}

fn lock(names: &Mutex<Names>) -> std::sync::MutexGuard<'_, Names> {
    names.lock().expect("names lock")
}

/// A worker's report on `held`.
async fn report(
    queue: &mut Queue<'_>,
    held: &Held,
    report: Report,
) -> (u64, u32, Result<Result<(), QueueError>, Abort>) {
    let (id, token) = (held.id.clone(), held.raw_token.clone());
    let request = match report {
        Report::Complete => Request::Complete(id, token),
        Report::FailRetryable => Request::Fail(id, token, "worker: transient failure", true),
        Report::FailPermanent => Request::Fail(id, token, "worker: permanent failure", false),
    };
    let served = queue.serve(&request).await;
    let result = served.result.map(|r| r.done().map_err(|e| (&e).into()));
    (served.fuel, served.crashes, result)
}

/// A worker's report on the job it holds; it holds nothing afterwards.
async fn worker_reports(
    names: &Mutex<Names>,
    queue: &mut Queue<'_>,
    worker: &str,
    how: Report,
    twice: bool,
) -> Answered {
    let Some(held) = lock(names).holding.remove(worker) else {
        return (0, 0, Ok(Answer::Idle));
    };
    let (mut fuel, mut crashes, result) = report(queue, &held, how).await;
    let result = match result {
        Ok(r) => r,
        Err(abort) => return (fuel, crashes, Err(abort)),
    };
    let mut again = None;
    if twice {
        let (f, c, second) = report(queue, &held, how).await;
        fuel += f;
        crashes += c;
        match second {
            Ok(r) => again = Some(r),
            Err(abort) => return (fuel, crashes, Err(abort)),
        }
    }
    if how == Report::Complete {
        lock(names)
            .completed
            .insert(worker.to_string(), held.clone());
    }
    let answer = Answer::Reported {
        job: held.job,
        token: held.token,
        report: how,
        again,
        result,
    };
    (fuel, crashes, Ok(answer))
}

/// A worker ends its run as the job's fate says.
async fn finish(names: &Mutex<Names>, queue: &mut Queue<'_>, worker: &str) -> Answered {
    let fate = {
        let names = lock(names);
        let Some(held) = names.holding.get(worker) else {
            return (0, 0, Ok(Answer::Idle));
        };
        names.fates.map_or(Fate::Complete, |f| {
            f.draw(&names.seeds, &held.job, held.attempt)
        })
    };
    let (how, twice) = match fate {
        Fate::Die => {
            let held = lock(names).holding.remove(worker).expect("held");
            return (0, 0, Ok(Answer::Died { job: held.job }));
        }
        Fate::Complete => (Report::Complete, false),
        Fate::CompleteTwice => (Report::Complete, true),
        Fate::FailRetryable => (Report::FailRetryable, false),
        Fate::FailPermanent => (Report::FailPermanent, false),
    };
    worker_reports(names, queue, worker, how, twice).await
}

/// Serves one operation of the scenario on `queue`.
async fn serve(names: &Mutex<Names>, queue: &mut Queue<'_>, op: &Op) -> Answered {
    match op {
        Op::Complete { worker } => {
            return worker_reports(names, queue, worker, Report::Complete, false).await;
        }
        Op::CompleteAgain { worker } => {
            let Some(held) = lock(names).completed.get(worker).cloned() else {
                return (0, 0, Ok(Answer::Idle));
            };
            let (fuel, crashes, result) = report(queue, &held, Report::Complete).await;
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
            let how = if *retryable {
                Report::FailRetryable
            } else {
                Report::FailPermanent
            };
            return worker_reports(names, queue, worker, how, false).await;
        }
        Op::Finish { worker } => return finish(names, queue, worker).await,
        Op::Crash => {
            queue.crash();
            return match queue.ensure_live().await {
                Ok(fuel) => (fuel, 0, Ok(Answer::Recovered)),
                Err(abort) => (0, 0, Err(abort)),
            };
        }
        _ => {}
    }
    let request = match lock(names).request(op) {
        Ok(request) => request,
        Err(answer) => return (0, 0, Ok(answer)),
    };
    let served = queue.serve(&request).await;
    let answer = served.result.map(|r| lock(names).answer(op, r));
    (served.fuel, served.crashes, answer)
}

/// The end of a run: faults off, then the status of every job enqueued
/// (by label), as the queue reports it; `None`: the queue does not know
/// the job.
async fn settle(
    names: &Mutex<Names>,
    queue: &mut Queue<'_>,
    store_faults: &Mutex<StoreFaults>,
) -> Result<BTreeMap<String, Option<Status>>, Abort> {
    store_faults.lock().expect("store faults lock").clear();
    let mut statuses = BTreeMap::new();
    let ids = lock(names).ids.clone();
    for (job, id) in ids {
        let response = queue.serve(&Request::Status(id)).await.result;
        let status = match response? {
            Response::Status(r) => r.ok().map(|s| lock(names).status(&s)),
            _ => unreachable!("status answers with a status"),
        };
        statuses.insert(job, status);
    }
    Ok(statuses)
}

/// What every replica of a run shares: the durable store and the store
/// faults, and a replica maker.
struct World<'s> {
    sandbox: &'s Sandbox,
    seeds: SeedTree,
    clock: VirtualClock,
    meter: Meter,
    durable: Arc<Mutex<DurableStore>>,
    store_faults: Arc<Mutex<StoreFaults>>,
}

impl<'s> World<'s> {
    fn new(sandbox: &'s Sandbox, scenario: &Scenario) -> Self {
        let seeds = SeedTree::new(scenario.seed);
        let clock = VirtualClock::default();
        clock.set_ms(scenario.plan.start_ms);
        World {
            sandbox,
            seeds,
            clock,
            meter: Meter::new(
                sandbox.limits(),
                FuelPool::new(sandbox.limits().fuel_per_scenario),
            ),
            durable: Arc::new(Mutex::new(DurableStore::new(DEFAULT_QUOTA_BYTES))),
            store_faults: Arc::new(Mutex::new(StoreFaults::new(
                scenario.store_faults.clone(),
                seeds,
            ))),
        }
    }

    fn replica(&self) -> Queue<'s> {
        Replica::new(
            self.sandbox,
            self.seeds,
            self.clock.clone(),
            self.meter.clone(),
            self.durable.clone(),
            Dependencies {
                store_faults: Some(self.store_faults.clone()),
                ..Dependencies::default()
            },
        )
    }

    fn durable(&self) -> DurableStore {
        self.durable.lock().expect("durable store lock").clone()
    }
}

/// Serves a scenario's operations one at a time to one replica of the
/// queue.
struct QueueDriver<'w, 's> {
    world: &'w World<'s>,
    names: Mutex<Names>,
    queue: Queue<'s>,
    step: u64,
}

impl Driver for QueueDriver<'_, '_> {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, op: &Op) -> (u64, Result<Output, Abort>) {
        self.step += 1;
        self.world
            .store_faults
            .lock()
            .expect("store faults lock")
            .begin_step(self.step);
        let (fuel, crashes, answer) = serve(&self.names, &mut self.queue, op).await;
        (fuel, answer.map(|answer| Output { answer, crashes }))
    }
}

/// Serves a concurrent scenario's operations to replicas of the queue.
struct Concurrent<'s> {
    names: Mutex<Names>,
    replicas: std::marker::PhantomData<Queue<'s>>,
}

impl<'a, 's: 'a> concurrent::Client<'a> for Concurrent<'s> {
    type Op = Op;
    type Output = Output;
    type Replica = Queue<'s>;

    fn process(&self, _call: usize, op: &Op) -> String {
        op.process().to_string()
    }

    fn call(
        &'a self,
        _call: usize,
        op: &'a Op,
        mut queue: Queue<'s>,
    ) -> std::pin::Pin<Box<dyn Future<Output = concurrent::Served<Queue<'s>, Output>> + 'a>> {
        Box::pin(async move {
            let (fuel, crashes, answer) = serve(&self.names, &mut queue, op).await;
            let imports = queue.take_imports();
            concurrent::Served {
                replica: queue,
                fuel,
                result: answer.map(|answer| Output { answer, crashes }),
                imports,
            }
        })
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
    /// What the last instance printed and logged (every replica's, in a
    /// concurrent run).
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

/// Runs `scenario` against fresh instances of the sandbox's component:
/// one replica called one operation at a time, or, for a concurrent
/// scenario, several at once ([`crate::concurrent`]).
pub async fn run(sandbox: &Sandbox, scenario: &Scenario) -> Run {
    if let Some(spec) = &scenario.concurrency {
        return run_concurrent(sandbox, scenario, spec);
    }
    let world = World::new(sandbox, scenario);
    let driver = QueueDriver {
        world: &world,
        names: Mutex::new(Names::new(scenario)),
        queue: world.replica(),
        step: 0,
    };
    let mut sim = Sim::new(&scenario.plan, world.clock.clone(), driver);
    sim.run().await;
    let aborted = sim.history().abort().map(|(_, a)| a.clone());
    let (mut driver, history) = sim.into_parts();
    let settled = match aborted {
        Some(abort) => Err(abort),
        None => settle(&driver.names, &mut driver.queue, &world.store_faults).await,
    };
    let store = driver.queue.store();
    Run {
        history,
        settled,
        durable: world.durable(),
        peak_memory: store.map_or(0, sandbox::peak_memory),
        output: store.map(|s| sandbox::output(s).0).unwrap_or_default(),
    }
}

/// A concurrent scenario: its replicas over one store, then the settling
/// pass on the first of them, all on gauntlet's own executor.
fn run_concurrent(sandbox: &Sandbox, scenario: &Scenario, spec: &ConcurrencySpec) -> Run {
    let world = World::new(sandbox, scenario);
    let client = Concurrent {
        names: Mutex::new(Names::new(scenario)),
        replicas: std::marker::PhantomData,
    };
    let replicas = (0..spec.replicas)
        .map(|_| world.replica().parking())
        .collect();
    let finished = concurrent::run(
        &client,
        &scenario.plan,
        spec,
        &world.seeds,
        &world.clock,
        replicas,
    );
    let mut replicas = finished.replicas;
    let settled = match finished.history.abort() {
        Some((_, abort)) => Err(abort.clone()),
        None => {
            let queue = replicas.first_mut().expect("a replica");
            concurrent::settle(
                &world.clock,
                settle(&client.names, queue, &world.store_faults),
            )
        }
    };
    let stores: Vec<_> = replicas.iter().filter_map(|r| r.store()).collect();
    Run {
        history: finished.history,
        settled,
        durable: world.durable(),
        peak_memory: concurrent::peak_memory(&stores),
        output: concurrent::outputs(&stores),
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
    if scenario.concurrency.is_some() {
        let mut results = races::all(scenario, plugin);
        results.push(crate::check::CheckResult::skip(
            crate::diff::CHECK,
            crate::diff::NOT_COMPARED_CONCURRENT,
        ));
        return (results, None);
    }
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
