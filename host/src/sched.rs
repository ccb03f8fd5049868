//! Deterministic interleaving of concurrent calls (issue 16's first part).
//!
//! A concurrent run keeps several calls into plugin instances in flight at
//! once. Each is a future (a wasmtime async call) that runs until it
//! reaches an import, where it parks ([`park`]: the future returns
//! `Pending`); then a seeded [`Strategy`] picks which parked call proceeds,
//! and the [`Executor`] polls exactly that one. One OS thread, no tokio, no
//! waker that anything else may trigger: the same seed picks the same
//! calls in the same order, so the run is the same byte for byte.
//!
//! Two strategies:
//! - [`Uniform`]: every step, a call drawn uniformly from the parked ones;
//! - [`Pct`]: probabilistic concurrency testing (Burckhardt, Kothari,
//!   Musuvathi and Nagarakatte, ASPLOS 2010). Calls get random distinct
//!   priorities and the highest-priority parked call always runs; at
//!   `depth - 1` steps drawn from the first `steps`, the running call drops
//!   below every other. A bug that needs `d` ordering constraints between
//!   `n` calls is found with probability at least `1 / (n * k^(d-1))` per
//!   run, `k` the steps.
//!
//! Every gauntlet import (harness clock, log and store; the bank; the model
//! and the output file) begins with a scheduling point, live in an instance
//! set to park (`HostState::park_at_imports`); `tests/all/concurrency.rs`
//! runs two real components interleaved this way. Not wired into the tracks
//! yet: replicas, the concurrent client, what `sleep-ms` means when calls
//! overlap (today it moves the one shared clock), and the histories with
//! overlap are the next parts of issue 16.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::sandbox::VirtualClock;
use crate::sim::SeedTree;

/// A call in flight, numbered from 0 in the order it was spawned.
pub type TaskId = usize;

/// How the future being polled parked (see [`park`] and [`sleep_until`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parked {
    /// At a scheduling point: it may go on at once.
    Now,
    /// Asleep until this virtual instant (ms).
    Until(u64),
}

thread_local! {
    /// Whether, and how, the future being polled parked.
    static PARKED: Cell<Option<Parked>> = const { Cell::new(None) };
}

/// A scheduling point: the call parks here once, and the scheduler decides
/// when it goes on. Under any other executor it yields once and asks to be
/// polled again at once (it wakes its own waker), so sequential runs are
/// unaffected but for one extra poll.
pub fn park() -> Park {
    Park {
        parked: false,
        how: Parked::Now,
    }
}

/// A sleep until the virtual instant `until_ms`: the call parks, and the
/// [`Executor`] runs it again only once its clock has reached that instant
/// (time moves on only while no call can run: see [`Executor::run`]).
/// Under any other executor it yields once, as [`park`] does.
pub fn sleep_until(until_ms: u64) -> Park {
    Park {
        parked: false,
        how: Parked::Until(until_ms),
    }
}

/// The future [`park`] and [`sleep_until`] return.
#[derive(Debug)]
pub struct Park {
    parked: bool,
    how: Parked,
}

impl Future for Park {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.parked {
            return Poll::Ready(());
        }
        self.parked = true;
        PARKED.with(|p| p.set(Some(self.how)));
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// How a concurrent scenario picks the next call to run, as the scenario
/// names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StrategySpec {
    Uniform,
    Pct {
        /// Ordering constraints of the bugs sought (1: none, the calls run
        /// one after another in priority order).
        depth: u32,
        /// The steps over which priority changes are spread: about the
        /// number of scheduling points in the run.
        steps: u64,
    },
}

impl StrategySpec {
    /// The strategy, seeded.
    pub fn build(&self, seeds: &SeedTree) -> Box<dyn Strategy> {
        let rng = seeds.rng("scheduler");
        match *self {
            StrategySpec::Uniform => Box::new(Uniform { rng }),
            StrategySpec::Pct { depth, steps } => Box::new(Pct::new(rng, depth, steps)),
        }
    }
}

/// Picks which parked call runs next.
pub trait Strategy {
    /// A call became runnable for the first time.
    fn spawned(&mut self, _task: TaskId) {}

    /// The call to poll next, one of `runnable` (not empty, ascending).
    fn pick(&mut self, runnable: &[TaskId]) -> TaskId;
}

/// Every step, a parked call drawn uniformly.
#[derive(Debug)]
pub struct Uniform {
    rng: ChaCha8Rng,
}

impl Strategy for Uniform {
    fn pick(&mut self, runnable: &[TaskId]) -> TaskId {
        runnable[self.rng.random_range(0..runnable.len())]
    }
}

/// Probabilistic concurrency testing: see the module's docs.
#[derive(Debug)]
pub struct Pct {
    rng: ChaCha8Rng,
    /// Calls from the highest priority to the lowest.
    order: Vec<TaskId>,
    /// The steps (counted from 1) at which the running call drops to the
    /// lowest priority.
    change_points: BTreeSet<u64>,
    step: u64,
}

impl Pct {
    pub fn new(mut rng: ChaCha8Rng, depth: u32, steps: u64) -> Self {
        let steps = steps.max(1);
        let wanted = (depth.saturating_sub(1) as u64).min(steps);
        let mut change_points = BTreeSet::new();
        while (change_points.len() as u64) < wanted {
            change_points.insert(rng.random_range(1..=steps));
        }
        Pct {
            rng,
            order: Vec::new(),
            change_points,
            step: 0,
        }
    }
}

impl Strategy for Pct {
    fn spawned(&mut self, task: TaskId) {
        // A random place among the calls already known: every order of
        // priorities is as likely.
        let at = self.rng.random_range(0..=self.order.len());
        self.order.insert(at, task);
    }

    fn pick(&mut self, runnable: &[TaskId]) -> TaskId {
        self.step += 1;
        let chosen = *self
            .order
            .iter()
            .find(|t| runnable.binary_search(t).is_ok())
            .expect("every runnable call was spawned");
        if self.change_points.contains(&self.step) {
            // Lowered after this step: it runs now, then every other call
            // goes before it.
            self.order.retain(|&t| t != chosen);
            self.order.push(chosen);
        }
        chosen
    }
}

/// Why a concurrent run cannot go on.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stall {
    /// A call returned `Pending` without parking at an import: it waits on
    /// something only another executor could wake.
    #[error("call {0} is waiting on something that is not a gauntlet import")]
    Foreign(TaskId),
}

/// A call in flight.
struct Task<'a, T> {
    future: Pin<Box<dyn Future<Output = T> + 'a>>,
}

/// What one [`Executor::step`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Stepped<T> {
    /// Nothing can run: every call in flight is asleep (or none is).
    Idle,
    /// The call parked at a scheduling point.
    Parked(TaskId),
    /// The call went to sleep until this virtual instant.
    Asleep(TaskId, u64),
    /// The call finished with this output.
    Finished(TaskId, T),
}

/// Runs spawned futures one poll at a time, in the strategy's order. Calls
/// asleep ([`sleep_until`]) are not runnable until [`Executor::advance`]
/// moves the clock to their deadline. Every operation costs in
/// the calls in flight, never in the calls spawned so far.
pub struct Executor<'a, T> {
    /// By id; `None` once finished.
    tasks: Vec<Option<Task<'a, T>>>,
    /// The calls that can run now.
    runnable: BTreeSet<TaskId>,
    /// The calls asleep, with their deadlines.
    asleep: std::collections::BTreeMap<TaskId, u64>,
    /// Every poll, in order: the call polled (kept only by an executor
    /// made with [`Executor::tracing`]: a run's polls are as many as its
    /// imports).
    pub trace: Vec<TaskId>,
    traces: bool,
}

impl<T> Default for Executor<'_, T> {
    fn default() -> Self {
        Executor {
            tasks: Vec::new(),
            runnable: BTreeSet::new(),
            asleep: std::collections::BTreeMap::new(),
            trace: Vec::new(),
            traces: false,
        }
    }
}

impl<'a, T> Executor<'a, T> {
    /// An executor that keeps its [`trace`](Executor::trace).
    pub fn tracing() -> Self {
        Executor {
            traces: true,
            ..Executor::default()
        }
    }

    /// Adds a call; it is runnable at once, and has not run yet.
    pub fn spawn(
        &mut self,
        strategy: &mut dyn Strategy,
        future: impl Future<Output = T> + 'a,
    ) -> TaskId {
        let id = self.tasks.len();
        self.tasks.push(Some(Task {
            future: Box::pin(future),
        }));
        self.runnable.insert(id);
        strategy.spawned(id);
        id
    }

    /// The calls that can run now, ascending.
    pub fn runnable(&self) -> Vec<TaskId> {
        self.runnable.iter().copied().collect()
    }

    /// For when nothing can run: moves `clock` on to the earliest of the
    /// sleepers' deadlines and `also` (the next thing due outside the
    /// executor), and makes runnable every call asleep until then. False if
    /// there is neither: nothing will ever run again.
    pub fn advance(&mut self, clock: &VirtualClock, also: Option<u64>) -> bool {
        let next = self.asleep.values().copied().min();
        let Some(until) = next.into_iter().chain(also).min() else {
            return false;
        };
        clock.set_ms(clock.now_ms().max(until));
        let now = clock.now_ms();
        let due: Vec<TaskId> = self
            .asleep
            .iter()
            .filter(|&(_, &until)| until <= now)
            .map(|(&id, _)| id)
            .collect();
        for id in due {
            self.asleep.remove(&id);
            self.runnable.insert(id);
        }
        true
    }

    /// Polls the call the strategy picks until it parks, sleeps or
    /// finishes.
    pub fn step(&mut self, strategy: &mut dyn Strategy) -> Result<Stepped<T>, Stall> {
        let runnable = self.runnable();
        if runnable.is_empty() {
            return Ok(Stepped::Idle);
        }
        let id = strategy.pick(&runnable);
        if self.traces {
            self.trace.push(id);
        }
        let task = self.tasks[id].as_mut().expect("a runnable call");
        PARKED.with(|p| p.set(None));
        let mut cx = Context::from_waker(Waker::noop());
        match task.future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => {
                self.tasks[id] = None;
                self.runnable.remove(&id);
                Ok(Stepped::Finished(id, out))
            }
            Poll::Pending => match PARKED.with(Cell::take) {
                Some(Parked::Now) => Ok(Stepped::Parked(id)),
                Some(Parked::Until(until)) => {
                    self.runnable.remove(&id);
                    self.asleep.insert(id, until);
                    Ok(Stepped::Asleep(id, until))
                }
                None => {
                    self.tasks[id] = None;
                    self.runnable.remove(&id);
                    Err(Stall::Foreign(id))
                }
            },
        }
    }

    /// Runs every call to its end on `clock`: when every call in flight is
    /// asleep, the clock jumps to the earliest deadline. Their outputs by
    /// id.
    pub fn run(
        &mut self,
        strategy: &mut dyn Strategy,
        clock: &VirtualClock,
    ) -> Result<Vec<T>, Stall> {
        let mut outputs: Vec<Option<T>> = (0..self.tasks.len()).map(|_| None).collect();
        loop {
            match self.step(strategy)? {
                Stepped::Finished(id, out) => outputs[id] = Some(out),
                Stepped::Parked(_) | Stepped::Asleep(..) => {}
                Stepped::Idle if self.advance(clock, None) => {}
                Stepped::Idle => break,
            }
        }
        Ok(outputs
            .into_iter()
            .map(|o| o.expect("every call finished"))
            .collect())
    }
}

/// Picks the first runnable call: for a lone call, where there is nothing
/// to choose.
struct First;

impl Strategy for First {
    fn pick(&mut self, runnable: &[TaskId]) -> TaskId {
        runnable[0]
    }
}

/// Runs one call to its end on `clock` (its sleeps move the clock): a call
/// into an instance set to park, outside a concurrent run's interleaving
/// (the settling pass after it, say).
pub fn block_on<T>(clock: &VirtualClock, future: impl Future<Output = T>) -> Result<T, Stall> {
    let mut executor = Executor::default();
    executor.spawn(&mut First, future);
    let mut outputs = executor.run(&mut First, clock)?;
    Ok(outputs.pop().expect("one call, finished"))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// `steps` parks, logging (task, step) before each.
    async fn worker(log: Rc<RefCell<Vec<(usize, usize)>>>, task: usize, steps: usize) -> usize {
        for step in 0..steps {
            log.borrow_mut().push((task, step));
            park().await;
        }
        task * 10
    }

    fn interleaving(spec: &StrategySpec, seed: u64) -> Vec<(usize, usize)> {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut strategy = spec.build(&SeedTree::new(seed));
        let mut executor = Executor::default();
        for task in 0..3 {
            executor.spawn(strategy.as_mut(), worker(log.clone(), task, 4));
        }
        assert_eq!(
            executor
                .run(strategy.as_mut(), &VirtualClock::default())
                .unwrap(),
            [0, 10, 20]
        );
        log.take()
    }

    /// Two read-then-write increments of one counter, with a park between
    /// the read and the write: the second write loses the first's unless
    /// one runs wholly before the other.
    fn lost_update(spec: &StrategySpec, seed: u64) -> bool {
        let counter = Rc::new(Cell::new(0));
        let mut strategy = spec.build(&SeedTree::new(seed));
        let mut executor = Executor::default();
        for _ in 0..2 {
            let counter = counter.clone();
            executor.spawn(strategy.as_mut(), async move {
                park().await;
                let read = counter.get();
                park().await;
                counter.set(read + 1);
            });
        }
        executor
            .run(strategy.as_mut(), &VirtualClock::default())
            .unwrap();
        counter.get() != 2
    }

    const UNIFORM: StrategySpec = StrategySpec::Uniform;

    #[test]
    fn the_same_seed_gives_the_same_interleaving_and_seeds_differ() {
        let pct = StrategySpec::Pct {
            depth: 3,
            steps: 12,
        };
        for spec in [&UNIFORM, &pct] {
            assert_eq!(interleaving(spec, 7), interleaving(spec, 7));
            let distinct: BTreeSet<_> = (0..20).map(|seed| interleaving(spec, seed)).collect();
            assert!(
                distinct.len() > 5,
                "{spec:?}: {} interleavings",
                distinct.len()
            );
        }
    }

    #[test]
    fn pct_of_depth_one_runs_each_call_to_its_end_before_the_next() {
        let spec = StrategySpec::Pct {
            depth: 1,
            steps: 12,
        };
        for seed in 0..20 {
            let log = interleaving(&spec, seed);
            let tasks: Vec<usize> = log.iter().map(|&(t, _)| t).collect();
            let mut runs = tasks.clone();
            runs.dedup();
            assert_eq!(runs.len(), 3, "seed {seed}: {tasks:?}");
            assert!(!lost_update(&spec, seed), "seed {seed}");
        }
    }

    #[test]
    fn both_strategies_find_a_read_then_write_race() {
        // PCT of depth 2 finds it with probability at least 1/(n k) = 1/12
        // a run; 100 runs that all missed would be a broken scheduler.
        let pct = StrategySpec::Pct { depth: 2, steps: 6 };
        for spec in [&UNIFORM, &pct] {
            let found = (0..100).filter(|&seed| lost_update(spec, seed)).count();
            assert!(found >= 8, "{spec:?}: {found} of 100");
            assert!(found < 100, "{spec:?}: every run raced");
        }
    }

    #[test]
    fn sleepers_wake_in_deadline_order_and_time_moves_only_when_nothing_can_run() {
        let clock = VirtualClock::default();
        clock.set_ms(1_000);
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut strategy = UNIFORM.build(&SeedTree::new(4));
        let mut executor = Executor::default();
        for (task, nap) in [(0, 300), (1, 100), (2, 0)] {
            let (log, clock) = (log.clone(), clock.clone());
            executor.spawn(strategy.as_mut(), async move {
                if nap > 0 {
                    sleep_until(clock.now_ms() + nap).await;
                }
                log.borrow_mut().push((task, clock.now_ms()));
            });
        }
        executor.run(strategy.as_mut(), &clock).unwrap();
        assert_eq!(log.take(), [(2, 1_000), (1, 1_100), (0, 1_300)]);
        assert_eq!(clock.now_ms(), 1_300);
    }

    #[test]
    fn a_call_waiting_on_a_foreign_wakeup_is_a_stall_not_a_hang() {
        struct Never;
        impl Future for Never {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                Poll::Pending
            }
        }
        let mut strategy = UNIFORM.build(&SeedTree::new(1));
        let mut executor = Executor::default();
        executor.spawn(strategy.as_mut(), Never);
        assert_eq!(
            executor.run(strategy.as_mut(), &VirtualClock::default()),
            Err(Stall::Foreign(0))
        );
    }

    #[test]
    fn park_under_another_executor_only_yields_once() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let log = Rc::new(RefCell::new(Vec::new()));
        assert_eq!(rt.block_on(worker(log.clone(), 2, 3)), 20);
        assert_eq!(log.take(), [(2, 0), (2, 1), (2, 2)]);
    }

    #[test]
    fn a_strategy_is_named_in_a_scenario() {
        let spec: StrategySpec =
            toml::from_str("strategy = \"pct\"\ndepth = 3\nsteps = 500\n").unwrap();
        assert_eq!(
            spec,
            StrategySpec::Pct {
                depth: 3,
                steps: 500
            }
        );
        assert!(toml::from_str::<StrategySpec>("strategy = \"pct\"\ndepth = 3\n").is_err());
    }
}
