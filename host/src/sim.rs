//! The deterministic simulator: a virtual clock, a tree of seeded random
//! number generators, a fault plan, and a loop you can step.
//!
//! A scenario compiles into a [`Plan`]: one ordered list of [`Action`]s
//! (advance the workload's time, inject a fault, call the plugin). The same
//! plan drives the plugin and the reference. [`Sim::step`] performs one
//! action; [`Sim::run`] loops over it. Every call and fault lands in the
//! [`History`], which serialises byte for byte the same for the same seed and
//! component. Nothing here reads the wall clock or the OS's entropy.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::sandbox::{Abort, VirtualClock};

/// The master seed and the children derived from it, one per purpose, so
/// that drawing more from one never shifts another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedTree {
    seed: u64,
}

impl SeedTree {
    pub fn new(seed: u64) -> Self {
        SeedTree { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The 32-byte seed of the child named `purpose`:
    /// sha256(master seed, little-endian || purpose).
    pub fn child_seed(&self, purpose: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.seed.to_le_bytes());
        hasher.update(purpose.as_bytes());
        hasher.finalize().into()
    }

    /// A ChaCha8 generator for `purpose` (portable: the same stream on every
    /// machine).
    pub fn rng(&self, purpose: &str) -> ChaCha8Rng {
        ChaCha8Rng::from_seed(self.child_seed(purpose))
    }
}

/// A fault the simulator injects between calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// The clock steps by this many milliseconds (negative: backwards, as an
    /// NTP step does).
    StepClock { ms: i64 },
    /// The clock stops; the workload's own time goes on.
    FreezeClock,
    /// The clock jumps to the workload's time (plus the steps so far).
    UnfreezeClock,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::StepClock { ms } if *ms < 0 => write!(f, "clock steps back {} ms", -ms),
            Fault::StepClock { ms } => write!(f, "clock steps forward {ms} ms"),
            Fault::FreezeClock => write!(f, "clock freezes"),
            Fault::UnfreezeClock => write!(f, "clock unfreezes"),
        }
    }
}

/// One thing the simulator does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action<Op> {
    /// The workload's time moves forward.
    Advance(u64),
    Fault(Fault),
    /// A call into the plugin.
    Call(Op),
}

/// A compiled scenario: the start time and the actions, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan<Op> {
    pub start_ms: u64,
    pub actions: Vec<Action<Op>>,
}

impl<Op> Plan<Op> {
    /// The calls, in order, each with the clock reading the plugin sees
    /// during it. Every run of this plan serves exactly these readings.
    pub fn calls(&self) -> Vec<(u64, &Op)> {
        let mut clock = SimClock::new(self.start_ms);
        let mut calls = Vec::new();
        for action in &self.actions {
            match action {
                Action::Advance(ms) => clock.advance(*ms),
                Action::Fault(fault) => clock.apply(fault),
                Action::Call(op) => calls.push((clock.reading(), op)),
            }
        }
        calls
    }

    pub fn call_count(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| matches!(a, Action::Call(_)))
            .count()
    }
}

/// The simulator's model of time: the workload's own time, the clock steps
/// injected so far, and whether the clock is frozen.
#[derive(Clone, Copy, Debug)]
pub struct SimClock {
    workload_ms: u64,
    offset_ms: i64,
    frozen_at: Option<u64>,
}

impl SimClock {
    pub fn new(start_ms: u64) -> Self {
        SimClock {
            workload_ms: start_ms,
            offset_ms: 0,
            frozen_at: None,
        }
    }

    /// What the plugin's clock reads now.
    pub fn reading(&self) -> u64 {
        self.frozen_at
            .unwrap_or_else(|| self.workload_ms.saturating_add_signed(self.offset_ms))
    }

    pub fn advance(&mut self, ms: u64) {
        self.workload_ms = self.workload_ms.saturating_add(ms);
    }

    /// The plugin's clock read `reading` at the end of a call (it waited on
    /// a dependency or slept): the workload's time moves on by as much. A
    /// frozen clock stays frozen.
    pub fn catch_up(&mut self, reading: u64) {
        if self.frozen_at.is_none() && reading > self.reading() {
            self.advance(reading - self.reading());
        }
    }

    pub fn apply(&mut self, fault: &Fault) {
        match fault {
            Fault::StepClock { ms } => {
                self.offset_ms = self.offset_ms.saturating_add(*ms);
                if let Some(frozen) = &mut self.frozen_at {
                    *frozen = frozen.saturating_add_signed(*ms);
                }
            }
            Fault::FreezeClock => self.frozen_at = Some(self.reading()),
            Fault::UnfreezeClock => self.frozen_at = None,
        }
    }
}

/// How a track calls its plugin: one operation in, one output (or an abort)
/// and the fuel burnt out.
pub trait Driver {
    type Op;
    type Output: Clone + PartialEq + Serialize;

    fn call(
        &mut self,
        op: &Self::Op,
    ) -> impl std::future::Future<Output = (u64, Result<Self::Output, Abort>)>;
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry<Out> {
    /// The index of the action in the plan.
    pub step: usize,
    /// The clock reading when it happened.
    pub time_ms: u64,
    #[serde(flatten)]
    pub event: Event<Out>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event<Out> {
    Fault {
        #[serde(flatten)]
        fault: Fault,
    },
    Call {
        /// The index of the call among the plan's calls.
        call: usize,
        fuel: u64,
        /// The plugin's answer, or why it gave none.
        outcome: Outcome<Out>,
        /// How the call overlapped the others, in a concurrent run.
        #[serde(skip_serializing_if = "Option::is_none")]
        span: Option<Box<crate::concurrent::Span>>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome<Out> {
    Returned(Out),
    Aborted(Abort),
}

/// Everything that happened in one run, in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct History<Out> {
    pub entries: Vec<Entry<Out>>,
}

impl<Out> Default for History<Out> {
    fn default() -> Self {
        History {
            entries: Vec::new(),
        }
    }
}

impl<Out: Serialize> History<Out> {
    /// One JSON object per line: the replayable record of a run.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            out.push_str(&serde_json::to_string(entry).expect("history serialises"));
            out.push('\n');
        }
        out
    }
}

impl<Out> History<Out> {
    /// The history of a run whose component trapped while starting: the
    /// abort is the first call's outcome, so that the verdict and the diff
    /// show it.
    pub fn aborted_at_start(start_ms: u64, abort: Abort) -> Self {
        History {
            entries: vec![Entry {
                step: 0,
                time_ms: start_ms,
                event: Event::Call {
                    call: 0,
                    fuel: 0,
                    outcome: Outcome::Aborted(abort),
                    span: None,
                },
            }],
        }
    }

    /// The calls that returned: their entry (step and clock reading at the
    /// call) with the call index and output.
    pub fn returned(&self) -> impl Iterator<Item = (&Entry<Out>, usize, &Out)> {
        self.entries.iter().filter_map(|e| match &e.event {
            Event::Call {
                call,
                outcome: Outcome::Returned(out),
                ..
            } => Some((e, *call, out)),
            _ => None,
        })
    }

    /// The abort that ended the run early, if any, with its call index.
    pub fn abort(&self) -> Option<(usize, &Abort)> {
        self.entries.iter().find_map(|e| match &e.event {
            Event::Call {
                call,
                outcome: Outcome::Aborted(abort),
                ..
            } => Some((*call, abort)),
            _ => None,
        })
    }

    /// Whether this is a concurrent run's history (its calls carry spans).
    pub fn is_concurrent(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(&e.event, Event::Call { span: Some(_), .. }))
    }

    pub fn total_fuel(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match e.event {
                Event::Call { fuel, .. } => fuel,
                Event::Fault { .. } => 0,
            })
            .sum()
    }

    pub fn calls(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.event, Event::Call { .. }))
            .count()
    }
}

/// A run in progress.
pub struct Sim<'p, D: Driver> {
    plan: &'p Plan<D::Op>,
    next: usize,
    calls: usize,
    clock: SimClock,
    virtual_clock: VirtualClock,
    driver: D,
    history: History<D::Output>,
    stopped: bool,
}

impl<'p, D: Driver> Sim<'p, D> {
    /// `virtual_clock` is the clock the plugin's store reads.
    pub fn new(plan: &'p Plan<D::Op>, virtual_clock: VirtualClock, driver: D) -> Self {
        let clock = SimClock::new(plan.start_ms);
        virtual_clock.set_ms(clock.reading());
        Sim {
            plan,
            next: 0,
            calls: 0,
            clock,
            virtual_clock,
            driver,
            history: History::default(),
            stopped: false,
        }
    }

    /// Performs the next action. Returns false when the plan is done or the
    /// plugin aborted (an aborted instance cannot be called again).
    pub async fn step(&mut self) -> bool {
        if self.stopped {
            return false;
        }
        let Some(action) = self.plan.actions.get(self.next) else {
            self.stopped = true;
            return false;
        };
        let step = self.next;
        self.next += 1;
        match action {
            Action::Advance(ms) => self.clock.advance(*ms),
            Action::Fault(fault) => {
                self.clock.apply(fault);
                self.history.entries.push(Entry {
                    step,
                    time_ms: self.clock.reading(),
                    event: Event::Fault {
                        fault: fault.clone(),
                    },
                });
            }
            Action::Call(op) => {
                let time_ms = self.clock.reading();
                self.virtual_clock.set_ms(time_ms);
                let (fuel, result) = self.driver.call(op).await;
                // Time the call spent (dependency latency, sleeps) passes
                // for the workload too.
                self.clock.catch_up(self.virtual_clock.now_ms());
                let outcome = match result {
                    Ok(out) => Outcome::Returned(out),
                    Err(abort) => {
                        self.stopped = true;
                        Outcome::Aborted(abort)
                    }
                };
                self.history.entries.push(Entry {
                    step,
                    time_ms,
                    event: Event::Call {
                        call: self.calls,
                        fuel,
                        outcome,
                        span: None,
                    },
                });
                self.calls += 1;
            }
        }
        true
    }

    /// Steps until the plan is done or the plugin aborts.
    pub async fn run(&mut self) {
        while self.step().await {}
    }

    pub fn history(&self) -> &History<D::Output> {
        &self.history
    }

    pub fn driver(&self) -> &D {
        &self.driver
    }

    pub fn into_parts(self) -> (D, History<D::Output>) {
        (self.driver, self.history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_back_moves_the_reading_but_not_the_workload() {
        let mut clock = SimClock::new(10_000);
        clock.advance(500);
        clock.apply(&Fault::StepClock { ms: -2_000 });
        assert_eq!(clock.reading(), 8_500);
        clock.advance(100);
        assert_eq!(clock.reading(), 8_600);
    }

    #[test]
    fn a_frozen_clock_ignores_advances_and_catches_up_when_unfrozen() {
        let mut clock = SimClock::new(0);
        clock.advance(10);
        clock.apply(&Fault::FreezeClock);
        clock.advance(1_000);
        assert_eq!(clock.reading(), 10);
        clock.apply(&Fault::StepClock { ms: 5 });
        assert_eq!(clock.reading(), 15);
        clock.apply(&Fault::UnfreezeClock);
        assert_eq!(clock.reading(), 1_015);
    }

    #[test]
    fn time_spent_inside_a_call_moves_the_workload_on_unless_frozen() {
        let mut clock = SimClock::new(1_000);
        clock.apply(&Fault::StepClock { ms: -100 });
        clock.catch_up(1_400);
        assert_eq!(clock.reading(), 1_400);
        clock.catch_up(1_200);
        assert_eq!(clock.reading(), 1_400);
        clock.apply(&Fault::FreezeClock);
        clock.catch_up(9_000);
        assert_eq!(clock.reading(), 1_400);
    }

    #[test]
    fn the_clock_saturates_instead_of_wrapping() {
        let mut clock = SimClock::new(5);
        clock.apply(&Fault::StepClock { ms: -10 });
        assert_eq!(clock.reading(), 0);
        clock.advance(u64::MAX);
        clock.apply(&Fault::StepClock { ms: 10 });
        assert_eq!(clock.reading(), u64::MAX);
    }

    #[test]
    fn plan_calls_carry_the_reading_each_call_sees() {
        let plan = Plan {
            start_ms: 100,
            actions: vec![
                Action::Call("a"),
                Action::Advance(5),
                Action::Fault(Fault::StepClock { ms: -50 }),
                Action::Call("b"),
            ],
        };
        assert_eq!(plan.calls(), vec![(100, &"a"), (55, &"b")]);
        assert_eq!(plan.call_count(), 2);
    }
}
