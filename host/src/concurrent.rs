//! Concurrent runs: several replicas of a plugin (separate instances of one
//! component, like pods) over one durable store and the track's mock
//! dependencies, and a client that keeps up to C requests in flight.
//!
//! The client is a set of *processes* (a worker, a producer, a shop
//! client: the track names them), each sending its calls one after another
//! in plan order, as a Jepsen process does; calls of different processes
//! overlap. A call is sent once its planned instant has come, its process
//! is idle, and fewer than C calls are in flight; it is routed to a replica
//! (round robin, or drawn from the seed) and waits there if that replica is
//! busy (an instance serves one call at a time). Every call runs until it
//! reaches an import, parks there, and the seeded scheduler
//! ([`crate::sched`]) picks which parked call goes on. Virtual time moves
//! only when no call can run: to the earliest sleeper's deadline or the
//! next call's instant.
//!
//! The history records each call's [`Span`]: its invocation and completion
//! (positions in one order of events, and clock readings), the replica and
//! the process, and the imports it parked at. Checks judge overlap from it:
//! call A happens before call B iff A completed before B was invoked.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::sandbox::{Abort, VirtualClock};
use crate::sched::{Executor, Stall, Stepped, StrategySpec};
use crate::sim::{Action, Entry, Event, History, Outcome, Plan, SeedTree, SimClock};

/// The most replicas a scenario may run (each may hold the memory cap:
/// 16 of 64 MiB is 1 GiB of the host's), and calls it may keep in flight.
pub const MAX_REPLICAS: u32 = 16;
pub const MAX_IN_FLIGHT: u32 = 1_024;

/// A scenario's `[concurrency]` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConcurrencySpec {
    /// Instances of the plugin serving at once, over one store.
    pub replicas: u32,
    /// The most calls in flight at once.
    pub in_flight: u32,
    #[serde(default)]
    pub routing: Routing,
    /// How the scheduler picks the next parked call.
    pub scheduler: StrategySpec,
}

impl ConcurrencySpec {
    /// What is wrong with the section, if anything, for its error message.
    pub fn problem(&self) -> Option<String> {
        if !(1..=MAX_REPLICAS).contains(&self.replicas) {
            return Some(format!("replicas must be 1..={MAX_REPLICAS}"));
        }
        if !(1..=MAX_IN_FLIGHT).contains(&self.in_flight) {
            return Some(format!("in-flight must be 1..={MAX_IN_FLIGHT}"));
        }
        if let StrategySpec::Pct { depth, steps } = self.scheduler
            && (depth == 0 || steps == 0)
        {
            return Some("a pct scheduler's depth and steps must be at least 1".into());
        }
        None
    }
}

/// Why a step of a concurrent scenario takes no `expect`.
pub const NO_EXPECT: &str = "a concurrent scenario's answers depend on the interleaving: its steps take no expect (its checks judge the run)";

/// A scenario's `[concurrency]` section, checked (an error at its line).
pub fn section(
    source: &crate::scenario::Source,
    spec: Option<&toml::Spanned<ConcurrencySpec>>,
) -> crate::error::Result<Option<ConcurrencySpec>> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    match spec.get_ref().problem() {
        Some(problem) => Err(source.error_at_span(spec.span(), problem)),
        None => Ok(Some(spec.get_ref().clone())),
    }
}

/// Which replica a call goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    /// Replica 0, 1, …, in the order calls are sent.
    #[default]
    RoundRobin,
    /// A replica drawn from the seed for each call.
    Seeded,
}

/// A call of a concurrent run, as it overlapped the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    pub replica: u32,
    /// The client process that sent it.
    pub process: String,
    /// When it was sent and answered: positions in the run's one order of
    /// events (every send and every answer has its own).
    pub invoked: u64,
    pub completed: u64,
    /// The clock when it was answered (the entry's `time-ms` is when it was
    /// sent).
    pub completed_ms: u64,
    /// The imports it parked at, in order (the last instance's, if it was
    /// crashed and made again).
    pub imports: Vec<&'static str>,
}

/// How a track serves one call of a concurrent run on a replica.
pub trait Client<'a> {
    type Op: 'a;
    type Output;
    /// A replica of the plugin (see [`crate::replica::Replica`]).
    type Replica: 'a;

    /// The process that sends `op`, the plan's call number `call` (from 0).
    fn process(&self, call: usize, op: &Self::Op) -> String;

    /// Serves `op`, the plan's call number `call`, on `replica`: the
    /// replica back, the fuel burnt, the answer, and the imports the call
    /// parked at.
    #[allow(clippy::type_complexity)]
    fn call(
        &'a self,
        call: usize,
        op: &'a Self::Op,
        replica: Self::Replica,
    ) -> Pin<Box<dyn Future<Output = Served<Self::Replica, Self::Output>> + 'a>>;
}

/// A call of a concurrent run, answered.
pub struct Served<R, O> {
    pub replica: R,
    pub fuel: u64,
    pub result: Result<O, Abort>,
    pub imports: Vec<&'static str>,
}

/// A finished concurrent run.
pub struct Finished<R, O> {
    pub history: History<O>,
    /// The replicas, for the settling pass and the figures.
    pub replicas: Vec<R>,
}

/// A call of the plan: its action index, its instant, its process.
struct Planned<'a, Op> {
    step: usize,
    call: usize,
    at_ms: u64,
    op: &'a Op,
    process: String,
}

/// A call sent, not yet answered.
struct InFlight {
    call: usize,
    invoked: u64,
    invoked_ms: u64,
}

/// Runs `plan` concurrently on `replicas` (one or more), as the module's
/// docs say. The plan must have no clock faults (a concurrent scenario
/// refuses them when it is read).
pub fn run<'a, C: Client<'a>>(
    client: &'a C,
    plan: &'a Plan<C::Op>,
    spec: &ConcurrencySpec,
    seeds: &SeedTree,
    clock: &VirtualClock,
    replicas: Vec<C::Replica>,
) -> Finished<C::Replica, C::Output> {
    let planned = planned(client, plan);
    let mut strategy = spec.scheduler.build(seeds);
    let mut routing = seeds.rng("routing");
    let width = replicas.len();
    let mut idle: Vec<Option<C::Replica>> = replicas.into_iter().map(Some).collect();
    // Per replica: the calls routed to it, waiting for it.
    let mut inbox: Vec<VecDeque<usize>> = vec![VecDeque::new(); width];
    // Per task: the replica it runs on and the call.
    let mut tasks: BTreeMap<usize, (usize, InFlight)> = BTreeMap::new();
    let mut executor: Executor<'a, Served<C::Replica, C::Output>> = Executor::default();
    let mut sent: Vec<Option<InFlight>> = (0..planned.len()).map(|_| None).collect();
    // Per process: its calls whose instant has come, not yet sent, in
    // order; and whether it has a call in flight. `ready` holds the idle
    // processes with a call waiting, by that call's index: the next call
    // to send is the first of them. (Every step costs in the processes,
    // never in the calls: a scenario of many calls at one instant does
    // not make the run quadratic.)
    let mut queued: BTreeMap<&str, VecDeque<usize>> = BTreeMap::new();
    let mut busy: BTreeSet<&str> = BTreeSet::new();
    let mut ready: BTreeSet<(usize, &str)> = BTreeSet::new();
    let mut next_to_send = 0usize;
    let mut in_flight = 0usize;
    let mut events = 0u64;
    let mut round_robin = 0usize;
    let mut history = History::default();
    clock.set_ms(plan.start_ms);

    'run: loop {
        // The calls whose instant has come join their process's queue.
        while next_to_send < planned.len() && planned[next_to_send].at_ms <= clock.now_ms() {
            let process = planned[next_to_send].process.as_str();
            let queue = queued.entry(process).or_default();
            if queue.is_empty() && !busy.contains(process) {
                ready.insert((next_to_send, process));
            }
            queue.push_back(next_to_send);
            next_to_send += 1;
        }
        // Send what may be sent, earliest first: its process idle, and
        // room in flight.
        while in_flight < spec.in_flight as usize
            && let Some((i, process)) = ready.pop_first()
        {
            queued
                .get_mut(process)
                .and_then(VecDeque::pop_front)
                .expect("a ready process has a call queued");
            busy.insert(process);
            in_flight += 1;
            events += 1;
            sent[i] = Some(InFlight {
                call: i,
                invoked: events,
                invoked_ms: clock.now_ms(),
            });
            let replica = match spec.routing {
                Routing::RoundRobin => {
                    round_robin += 1;
                    (round_robin - 1) % width
                }
                Routing::Seeded => routing.random_range(0..width),
            };
            inbox[replica].push_back(i);
        }
        // Every idle replica with a call waiting starts it.
        for replica in 0..width {
            if idle[replica].is_none() {
                continue;
            }
            let Some(i) = inbox[replica].pop_front() else {
                continue;
            };
            let instance = idle[replica].take().expect("an idle replica");
            let task = executor.spawn(
                strategy.as_mut(),
                client.call(planned[i].call, planned[i].op, instance),
            );
            let flight = sent[i].take().expect("a call sent");
            tasks.insert(task, (replica, flight));
        }
        // Run until a call finishes or nothing can run.
        let stepped = match executor.step(strategy.as_mut()) {
            Ok(stepped) => stepped,
            Err(Stall::Foreign(task)) => {
                let (replica, flight) = tasks.remove(&task).expect("a task's call");
                events += 1;
                let abort = Abort::Trap {
                    trap: "the call waited on something that is not a gauntlet import".into(),
                    guest_message: None,
                };
                push(
                    &mut history,
                    &planned[flight.call],
                    &flight,
                    events,
                    clock.now_ms(),
                    replica,
                    0,
                    Outcome::Aborted(abort),
                    Vec::new(),
                );
                break 'run;
            }
        };
        match stepped {
            Stepped::Parked(_) | Stepped::Asleep(..) => {}
            Stepped::Finished(task, served) => {
                let (replica, flight) = tasks.remove(&task).expect("a task's call");
                events += 1;
                let call = &planned[flight.call];
                let process = call.process.as_str();
                busy.remove(process);
                if let Some(&next) = queued.get(process).and_then(VecDeque::front) {
                    ready.insert((next, process));
                }
                in_flight -= 1;
                let aborted = served.result.is_err();
                let outcome = match served.result {
                    Ok(out) => Outcome::Returned(out),
                    Err(abort) => Outcome::Aborted(abort),
                };
                push(
                    &mut history,
                    call,
                    &flight,
                    events,
                    clock.now_ms(),
                    replica,
                    served.fuel,
                    outcome,
                    served.imports,
                );
                idle[replica] = Some(served.replica);
                if aborted {
                    // An aborted instance cannot be called again: the run
                    // stops, as a sequential one does.
                    break 'run;
                }
            }
            Stepped::Idle => {
                // Time moves on to the next sleeper's deadline or the next
                // call's instant; with neither, every call was answered.
                let next_call = planned.get(next_to_send).map(|p| p.at_ms);
                if !executor.advance(clock, next_call) {
                    break 'run;
                }
            }
        }
    }
    drop(executor);
    // Calls still in flight when the run stopped have no entry; their
    // replicas are gone with their futures.
    let replicas = idle.into_iter().flatten().collect();
    Finished { history, replicas }
}

#[allow(clippy::too_many_arguments)]
fn push<Op, O>(
    history: &mut History<O>,
    call: &Planned<'_, Op>,
    flight: &InFlight,
    completed: u64,
    completed_ms: u64,
    replica: usize,
    fuel: u64,
    outcome: Outcome<O>,
    imports: Vec<&'static str>,
) {
    history.entries.push(Entry {
        step: call.step,
        time_ms: flight.invoked_ms,
        event: Event::Call {
            call: call.call,
            fuel,
            outcome,
            span: Some(Box::new(Span {
                replica: replica as u32,
                process: call.process.clone(),
                invoked: flight.invoked,
                completed,
                completed_ms,
                imports,
            })),
        },
    });
}

/// The plan's calls with their action index, instant and process.
fn planned<'a, 'c, C: Client<'c>>(client: &C, plan: &'a Plan<C::Op>) -> Vec<Planned<'a, C::Op>> {
    let mut clock = SimClock::new(plan.start_ms);
    let mut calls = Vec::new();
    for (step, action) in plan.actions.iter().enumerate() {
        match action {
            Action::Advance(ms) => clock.advance(*ms),
            Action::Fault(fault) => clock.apply(fault),
            Action::Call(op) => calls.push(Planned {
                step,
                call: calls.len(),
                at_ms: clock.reading(),
                op,
                process: client.process(calls.len(), op),
            }),
        }
    }
    calls
}

/// Runs a track's settling pass after a concurrent run (on one of its
/// replicas) on gauntlet's own executor: a call that waits on anything but
/// a gauntlet import is a trap.
pub fn settle<T>(
    clock: &VirtualClock,
    pass: impl Future<Output = Result<T, Abort>>,
) -> Result<T, Abort> {
    crate::sched::block_on(clock, pass).unwrap_or_else(|stall| {
        Err(Abort::Trap {
            trap: stall.to_string(),
            guest_message: None,
        })
    })
}

/// The largest peak memory of the replicas' instances.
pub fn peak_memory(stores: &[&wasmtime::Store<crate::sandbox::HostState>]) -> usize {
    stores
        .iter()
        .map(|s| crate::sandbox::peak_memory(s))
        .max()
        .unwrap_or(0)
}

/// What the replicas printed and logged, each under its number (only the
/// output itself if there is one replica).
pub fn outputs(stores: &[&wasmtime::Store<crate::sandbox::HostState>]) -> String {
    if let [store] = stores {
        return crate::sandbox::output(store).0;
    }
    let mut out = String::new();
    for (replica, store) in stores.iter().enumerate() {
        let text = crate::sandbox::output(store).0;
        if !text.is_empty() {
            out.push_str(&format!("--- replica {replica} ---\n{text}"));
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
