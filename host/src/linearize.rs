//! Linearizability checking of a concurrent run's history, in the style of
//! Knossos and Porcupine.
//!
//! A concurrent run ([`crate::concurrent`]) records when each call was
//! invoked and when it completed, as positions in one total order of events.
//! This module asks of such a history the question Jepsen's checkers ask: is
//! there one order of the calls that respects real time (a call that
//! completed before another was invoked comes first) and in which a
//! sequential specification, a [`Model`], gives every call the answer it
//! actually got? If there is, the run was *linearizable* and that order is a
//! witness. If there is not, the plugin let concurrent calls see each other
//! half done, and [`Violation`] says where the search got stuck.
//!
//! # Algorithm
//!
//! Wing & Gong's search with Lowe's memoisation, as Porcupine implements it.
//! The calls' invocations and completions form one list of events, in
//! position order. A call is a *candidate* to be linearized next when its
//! invocation comes before the earliest completion among the calls not yet
//! linearized: any later call would overtake a call that had already
//! returned. The search linearizes a candidate (if the model accepts its
//! answer), takes it out of the list, and starts again from the head; when
//! no candidate is left before that earliest completion it backtracks. A
//! cache of (set of linearized calls, model state) pairs prunes every
//! configuration the search has been in before: the rest of the search
//! depends on nothing else, so it would fail again.
//!
//! Models may be nondeterministic ([`Model::step`] returns every state the
//! answer allows, for instance when a lease may hand out any of two ready
//! jobs); each successor state is its own branch of the search.
//!
//! # Calls without an answer
//!
//! A call whose answer is unknown (the run was cut short while it was in
//! flight, Jepsen's "info" operations) has `output: None`. It may have taken
//! effect at any point after its invocation, or not at all, and its answer is
//! not checked. If its completion is known (a finite `completed`) it took
//! effect before then or never; a call that never completed is given
//! `completed = `[`NEVER`] and may take effect anywhere after its invocation.
//! The search succeeds once every call *with* an answer is linearized.
//!
//! # Budget
//!
//! The search is exponential in the worst case, and a hostile plugin can
//! shape its history so that it is. [`check`] therefore takes a budget of
//! search steps (one step: one candidate considered, or one backtrack) and
//! answers [`Verdict::Unknown`] when it runs out, rather than running on. The
//! cache grows by at most one entry a step (a bitset of the partition's
//! calls and a state), so the budget bounds memory too: at worst about
//! `budget × (calls / 8 + size of a state)` bytes. As a scale, a history of
//! 2,000 calls from 8 concurrent clients takes some 15 steps a call.
//!
//! # Partitions
//!
//! Linearizability is local: a history is linearizable iff its restriction
//! to each independent object is. A model that knows its calls touch
//! separate keys says so with [`Model::partition`]; each partition is then
//! searched on its own, from [`Model::init`], which is exponentially cheaper
//! than searching them together.
//!
//! # Determinism
//!
//! The verdict, the witness and the violation depend only on the history and
//! the model: partitions are searched in ascending order, candidates in event
//! order, branches in the order the model returns them, and hash sets serve
//! only for membership. The same history gets the same report on every run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

use serde::Serialize;

/// The `completed` position of a call that never returned (the run ended
/// while it was in flight): it may take effect at any point after its
/// invocation. Give such a call `output: None`.
pub const NEVER: u64 = u64::MAX;

/// A sequential specification: what each call may do, one at a time.
///
/// The checker never asks the model to choose: it asks for every state the
/// model may be in after a call that got a given answer, and searches all of
/// them. That keeps contracts that leave a choice open (which of two ready
/// jobs a lease hands out) as easy to write as deterministic ones.
pub trait Model {
    /// The specification's state. It is cloned and hashed at every search
    /// step, into the memoisation cache, so keep it small and canonical
    /// (ordered collections, no incidental data): two states that behave the
    /// same should compare equal, or the cache prunes less.
    type State: Clone + Eq + Hash;
    /// What a call asked for.
    type Input;
    /// What a call answered.
    type Output;

    /// The state before any call.
    fn init(&self) -> Self::State;

    /// Every state the model may be in after `input` was applied in `state`
    /// and answered `output`, in a fixed order; empty if the answer is
    /// impossible there.
    ///
    /// `output` is `None` when the answer is unknown: the call is taken to
    /// have happened, so return every state it may have led to. (The checker
    /// itself considers the case that it never happened.) Several states mean
    /// the contract leaves a choice open; the checker tries each.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Vec<Self::State>;

    /// The independent object (a key, an account) a call touches. Calls in
    /// different partitions are checked separately, each partition from
    /// [`Model::init`], so `State` then describes one partition. The default
    /// puts every call in one partition.
    fn partition(&self, _input: &Self::Input) -> u64 {
        0
    }
}

/// One call of a concurrent history.
///
/// `invoked` and `completed` are positions in one total order of the run's
/// events, so they are distinct; a call happens before another iff it
/// completed before the other was invoked. (A `completed` before `invoked`
/// is read as completing right after the invocation.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Op<I, O> {
    /// How reports name the call: its index in the history, as given. Keep
    /// ids unique; the checker reports them and does not interpret them.
    pub id: usize,
    /// The position of the call's invocation.
    pub invoked: u64,
    /// The position of its completion, or [`NEVER`].
    pub completed: u64,
    /// What the call asked for.
    pub input: I,
    /// What it answered, or `None` if the answer is unknown: the call may
    /// then have taken effect or not, and its answer is not checked.
    pub output: Option<O>,
}

impl<I, O> Op<I, O> {
    /// Whether this call returned before `other` was invoked, so that every
    /// linearization puts it first.
    pub fn happens_before(&self, other: &Op<I, O>) -> bool {
        self.completed < other.invoked
    }
}

/// What [`check`] concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Some order of the calls explains every answer.
    Linearizable {
        /// One such order, as op ids: it respects real time across all
        /// partitions and the model accepts it. Calls without an answer that
        /// never take effect in it are left out.
        order: Vec<usize>,
    },
    /// No order explains every answer.
    Violation(Violation),
    /// The budget ran out before the search could tell.
    Unknown {
        /// The partition being searched when the budget ran out (those
        /// before it were linearizable; those after it were not searched).
        partition: u64,
        /// The steps spent, over all partitions: the whole budget.
        explored: u64,
    },
}

impl Verdict {
    /// Whether the history was found linearizable.
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable { .. })
    }
}

/// Where the search for a linearization got stuck: what a learner needs to
/// see the bug, as Porcupine shows it.
///
/// The search reached `prefix` (the longest linearization of part of the
/// history it found) and could go no further: the calls that could come next
/// in real time are `stuck`, and the model rejects each of their answers in
/// the state that `prefix` leads to. Other, shorter prefixes failed too; this
/// one is where the search got deepest, which is usually where the bug shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Violation {
    /// The partition that is not linearizable (the first, in ascending
    /// order, if several are not).
    pub partition: u64,
    /// Op ids of the longest linearizable prefix found, in linearization
    /// order. Calls without an answer that never take effect in it are left
    /// out.
    pub prefix: Vec<usize>,
    /// Op ids of the calls that were candidates to come after `prefix` and
    /// whose answers the model rejects there, in invocation order.
    pub stuck: Vec<usize>,
}

impl Violation {
    /// The op ids the diagnosis is about, `prefix` and `stuck`, in
    /// ascending order: every call the report needs to show to tell the
    /// story "these happened, in this order, and then none of these answers
    /// could be right".
    ///
    /// This is what the search saw, not a certificate: on its own this
    /// sub-history may well be linearizable (the calls left out can be what
    /// ruled the other orders out). [`shrink`] cuts a sub-history that is
    /// verified to be a violation.
    pub fn ops(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.prefix.iter().chain(&self.stuck).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Checks whether `ops` is linearizable with respect to `model`, spending at
/// most `budget` search steps over all partitions.
///
/// Partitions are searched in ascending order and the first violation is
/// reported; if the budget runs out first the verdict is
/// [`Verdict::Unknown`], never a guess.
pub fn check<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>], budget: u64) -> Verdict {
    let mut partitions: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        partitions
            .entry(model.partition(&op.input))
            .or_default()
            .push(index);
    }
    let mut explored = 0;
    let mut orders = Vec::with_capacity(partitions.len());
    for (&partition, members) in &partitions {
        let (outcome, spent) = Search::new(model, ops, members, true).run(budget - explored);
        explored += spent;
        match outcome {
            Outcome::Linearizable(order) => orders.push(order),
            Outcome::Stuck { prefix, stuck } => {
                return Verdict::Violation(Violation {
                    partition,
                    prefix: prefix.iter().map(|&i| ops[i].id).collect(),
                    stuck: stuck.iter().map(|&i| ops[i].id).collect(),
                });
            }
            Outcome::OutOfBudget => {
                return Verdict::Unknown {
                    partition,
                    explored,
                };
            }
        }
    }
    Verdict::Linearizable {
        order: merge(ops, &orders),
    }
}

/// Cuts a small sub-history of `ops` that is itself a violation like
/// `violation` (which [`check`] found in `ops` with `model`), for display:
/// returns its op ids in ascending order.
///
/// "Like" means two things, so that the cut shows the same bug rather than
/// one it made up (leaving out a write can make an earlier read wrong, or a
/// stale read look like a read of a value nobody wrote):
///
/// - checked on its own, the sub-history is not linearizable, and the calls
///   it gets stuck at are among `violation.stuck`;
/// - if the violation is one of order (with the calls all taken as
///   concurrent, some order would explain every answer), the cut's is too.
///
/// The cut starts from the violation's partition, jumps to
/// [`Violation::ops`] if that alone is stuck at the same calls, then drops
/// calls one at a time, earliest invocation first, keeping each drop that is
/// still like the violation, until no single call can go. The result is
/// minimal in that sense (dropping any one call loses the violation), not
/// necessarily the smallest there is.
///
/// Every re-check spends from `budget`; when it runs out the cut stops where
/// it is, which is still a verified violation, only a larger one. (The
/// starting point, the whole partition, is taken on `check`'s word.)
pub fn shrink<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    violation: &Violation,
    budget: u64,
) -> Vec<usize> {
    let mut cut = Cut {
        model,
        ops,
        stuck: violation.stuck.iter().copied().collect(),
        left: budget,
        of_order: false,
    };
    let mut current: Vec<usize> = (0..ops.len())
        .filter(|&i| model.partition(&ops[i].input) == violation.partition)
        .collect();
    let named: HashSet<usize> = violation.ops().into_iter().collect();
    let jump: Vec<usize> = current
        .iter()
        .copied()
        .filter(|&i| named.contains(&ops[i].id))
        .collect();
    if jump.len() < current.len() && cut.reproduces(&jump) {
        current = jump;
    }
    cut.of_order = matches!(cut.run(&current, false), Outcome::Linearizable(_));

    let mut by_invocation = current.clone();
    by_invocation.sort_by_key(|&i| (ops[i].invoked, i));
    loop {
        let mut dropped = false;
        for &candidate in &by_invocation {
            let Some(at) = current.iter().position(|&i| i == candidate) else {
                continue;
            };
            let mut trial = current.clone();
            trial.remove(at);
            if cut.reproduces(&trial) {
                current = trial;
                dropped = true;
            }
        }
        if !dropped || cut.left == 0 {
            break;
        }
    }

    let mut ids: Vec<usize> = current.iter().map(|&i| ops[i].id).collect();
    ids.sort_unstable();
    ids
}

/// [`shrink`]'s re-checks, and the budget they have left.
struct Cut<'a, M: Model> {
    model: &'a M,
    ops: &'a [Op<M::Input, M::Output>],
    /// Op ids the violation was stuck at.
    stuck: HashSet<usize>,
    left: u64,
    /// Whether the violation is one of order, to be kept so.
    of_order: bool,
}

impl<M: Model> Cut<'_, M> {
    /// Searches the calls `members`, in real time or all taken as
    /// concurrent.
    fn run(&mut self, members: &[usize], timed: bool) -> Outcome {
        let (outcome, spent) = Search::new(self.model, self.ops, members, timed).run(self.left);
        self.left -= spent;
        outcome
    }

    /// Whether the calls `members` are a violation like the one cut.
    fn reproduces(&mut self, members: &[usize]) -> bool {
        let stuck_alike = match self.run(members, true) {
            Outcome::Stuck { stuck, .. } => {
                !stuck.is_empty() && stuck.iter().all(|&i| self.stuck.contains(&self.ops[i].id))
            }
            Outcome::Linearizable(_) | Outcome::OutOfBudget => false,
        };
        stuck_alike
            && (!self.of_order || matches!(self.run(members, false), Outcome::Linearizable(_)))
    }
}

/// The states `model` may be in after the calls `order` (op ids, as in a
/// witness or [`Violation::prefix`]) ran one after another from
/// [`Model::init`] with the answers they got, each distinct state once, in a
/// fixed order. Calls without an answer are taken to have happened.
///
/// A report uses it to show what the model expected where a violation got
/// stuck: replay the prefix. `order` should lie within one partition (the
/// model's state describes one). Empty if the model rejects the order;
/// `None` if an id is not in `ops`.
pub fn replay<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    order: &[usize],
) -> Option<Vec<M::State>> {
    let by_id: HashMap<usize, &Op<M::Input, M::Output>> =
        ops.iter().map(|op| (op.id, op)).collect();
    let mut states = vec![model.init()];
    for id in order {
        let op = by_id.get(id)?;
        let mut seen = HashSet::new();
        let mut next = Vec::new();
        for state in &states {
            for after in model.step(state, &op.input, op.output.as_ref()) {
                if seen.insert(after.clone()) {
                    next.push(after);
                }
            }
        }
        states = next;
    }
    Some(states)
}

/// Merges the partitions' linearizations (indices into `ops`) into one that
/// respects real time across partitions.
///
/// Each call gets a linearization point: the latest invocation among it and
/// the calls before it in its partition's order. That point lies within the
/// call's own interval (a call ordered before it cannot have been invoked
/// after it completed) and grows along the order, and it is the position of
/// an invocation in the same partition, so points of different partitions
/// never tie. Sorting all calls by point therefore keeps every partition's
/// order and puts a call that completed before another was invoked first.
fn merge<I, O>(ops: &[Op<I, O>], orders: &[Vec<usize>]) -> Vec<usize> {
    let mut points = Vec::new();
    for (partition, order) in orders.iter().enumerate() {
        let mut point = 0;
        for (seq, &index) in order.iter().enumerate() {
            point = point.max(ops[index].invoked);
            points.push((point, partition, seq, index));
        }
    }
    points.sort_unstable();
    points
        .into_iter()
        .map(|(.., index)| ops[index].id)
        .collect()
}

/// A set of calls of one partition (by local index), as a cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(bits: usize) -> Self {
        Bitset(vec![0; bits.div_ceil(64)])
    }

    fn set(&mut self, bit: usize) {
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    fn clear(&mut self, bit: usize) {
        self.0[bit / 64] &= !(1 << (bit % 64));
    }

    fn get(&self, bit: usize) -> bool {
        (self.0[bit / 64] >> (bit % 64)) & 1 == 1
    }
}

/// The end of the event list.
const NIL: usize = usize::MAX;

/// The event list's entries: call `i` (local index) has its invocation at
/// entry `2 * i` and its completion at `2 * i + 1`.
fn is_invocation(entry: usize) -> bool {
    entry.is_multiple_of(2)
}

/// One way to linearize a call: the state it leads to, and whether the call
/// took effect (false: a call without an answer that never happened).
struct Branch<S> {
    state: S,
    effect: bool,
}

/// A linearized call on the search stack, with what backtracking needs: the
/// state before it, and its branches with the one taken.
struct Frame<S> {
    call: usize,
    before: S,
    branches: Vec<Branch<S>>,
    taken: usize,
}

/// How the search of one partition ended. Calls are indices into the
/// history.
enum Outcome {
    Linearizable(Vec<usize>),
    Stuck {
        prefix: Vec<usize>,
        stuck: Vec<usize>,
    },
    OutOfBudget,
}

/// The search of one partition: Porcupine's `checkSingle`, with branches for
/// nondeterministic steps and for calls without an answer.
struct Search<'a, M: Model> {
    model: &'a M,
    history: &'a [Op<M::Input, M::Output>],
    /// The partition's calls: local index to index in `history`.
    members: &'a [usize],
    /// The event list's entries in event order.
    sorted: Vec<usize>,
    /// The event list, doubly linked, with its head at `head`; linearized
    /// calls are lifted out and put back in the reverse order.
    next: Vec<usize>,
    prev: Vec<usize>,
    head: usize,
    state: M::State,
    linearized: Bitset,
    cache: HashSet<(Bitset, M::State)>,
    stack: Vec<Frame<M::State>>,
    /// Calls with an answer not yet linearized; the search succeeds at zero.
    answered_left: usize,
    /// The deepest point the search reached (stack length), whether it is
    /// recorded yet, and the record: the calls decided there, the state,
    /// and the calls that took effect, in order.
    deepest: usize,
    deepest_recorded: bool,
    deepest_linearized: Bitset,
    deepest_state: M::State,
    deepest_prefix: Vec<usize>,
}

impl<'a, M: Model> Search<'a, M> {
    /// The search of the calls `members` (indices into `history`). With
    /// `timed` false, real time is ignored: every call is taken as
    /// concurrent with every other.
    fn new(
        model: &'a M,
        history: &'a [Op<M::Input, M::Output>],
        members: &'a [usize],
        timed: bool,
    ) -> Self {
        let n = members.len();
        let position = |entry: usize| {
            let op = &history[members[entry / 2]];
            match (timed, is_invocation(entry)) {
                (false, true) => 0,
                (false, false) => NEVER,
                (true, true) => op.invoked,
                (true, false) => op.completed.max(op.invoked),
            }
        };
        let mut sorted: Vec<usize> = (0..2 * n).collect();
        sorted.sort_by_key(|&entry| (position(entry), entry % 2, entry / 2));
        let head = 2 * n;
        let mut next = vec![NIL; 2 * n + 1];
        let mut prev = vec![NIL; 2 * n + 1];
        let mut last = head;
        for &entry in &sorted {
            next[last] = entry;
            prev[entry] = last;
            last = entry;
        }
        let state = model.init();
        Search {
            model,
            history,
            members,
            sorted,
            next,
            prev,
            head,
            answered_left: members
                .iter()
                .filter(|&&i| history[i].output.is_some())
                .count(),
            linearized: Bitset::new(n),
            cache: HashSet::new(),
            stack: Vec::new(),
            deepest: 0,
            deepest_recorded: true,
            deepest_linearized: Bitset::new(n),
            deepest_state: state.clone(),
            deepest_prefix: Vec::new(),
            state,
        }
    }

    fn op(&self, call: usize) -> &'a Op<M::Input, M::Output> {
        &self.history[self.members[call]]
    }

    /// Searches for a linearization, spending at most `budget` steps; also
    /// returns the steps spent.
    fn run(mut self, budget: u64) -> (Outcome, u64) {
        let mut explored = 0;
        let mut cursor = self.next[self.head];
        loop {
            if self.answered_left == 0 {
                let order = self.taken_effect();
                return (Outcome::Linearizable(order), explored);
            }
            if explored >= budget {
                return (Outcome::OutOfBudget, explored);
            }
            explored += 1;
            if cursor != NIL && is_invocation(cursor) {
                let call = cursor / 2;
                let branches = self.branches(&self.state, call);
                cursor = if self.descend(call, branches, 0) {
                    self.next[self.head]
                } else {
                    self.next[cursor]
                };
            } else {
                // No candidate left before the earliest pending completion:
                // undo the last call and try its next branch, or the next
                // candidate after it.
                if !self.deepest_recorded && self.stack.len() == self.deepest {
                    // The first backtrack from a new deepest point: there is
                    // nowhere deeper to go from it. Record it now rather than
                    // on every step deeper, which would cost O(n²) on a
                    // long history that goes straight through.
                    self.deepest_recorded = true;
                    self.deepest_linearized = self.linearized.clone();
                    self.deepest_state = self.state.clone();
                    self.deepest_prefix = self.taken_effect();
                }
                let Some(frame) = self.stack.pop() else {
                    return (self.stuck(), explored);
                };
                let call = frame.call;
                self.linearized.clear(call);
                self.unlift(call);
                if self.op(call).output.is_some() {
                    self.answered_left += 1;
                }
                self.state = frame.before;
                cursor = if self.descend(call, frame.branches, frame.taken + 1) {
                    self.next[self.head]
                } else {
                    self.next[2 * call]
                };
            }
        }
    }

    /// The ways `call` can be linearized in `state`: every state the model
    /// allows (each once), and for a call without an answer that completed,
    /// also never having happened. (One that never completed needs no such
    /// branch: it blocks no other call, and the search may end without it.)
    fn branches(&self, state: &M::State, call: usize) -> Vec<Branch<M::State>> {
        let op = self.op(call);
        let states = self.model.step(state, &op.input, op.output.as_ref());
        let mut branches: Vec<Branch<M::State>> = Vec::with_capacity(states.len() + 1);
        if states.len() > 1 {
            let mut seen = HashSet::new();
            for after in states {
                if seen.insert(after.clone()) {
                    branches.push(Branch {
                        state: after,
                        effect: true,
                    });
                }
            }
        } else {
            branches.extend(states.into_iter().map(|after| Branch {
                state: after,
                effect: true,
            }));
        }
        if op.output.is_none()
            && op.completed != NEVER
            && !branches.iter().any(|branch| branch.state == *state)
        {
            branches.push(Branch {
                state: state.clone(),
                effect: false,
            });
        }
        branches
    }

    /// Linearizes `call` by the first of `branches` from `from` on that
    /// leads somewhere new; false if none does.
    fn descend(&mut self, call: usize, branches: Vec<Branch<M::State>>, from: usize) -> bool {
        self.linearized.set(call);
        for taken in from..branches.len() {
            let key = (self.linearized.clone(), branches[taken].state.clone());
            if self.cache.insert(key) {
                let after = branches[taken].state.clone();
                let before = std::mem::replace(&mut self.state, after);
                self.stack.push(Frame {
                    call,
                    before,
                    branches,
                    taken,
                });
                self.lift(call);
                if self.op(call).output.is_some() {
                    self.answered_left -= 1;
                }
                if self.stack.len() > self.deepest {
                    self.deepest = self.stack.len();
                    self.deepest_recorded = false;
                }
                return true;
            }
        }
        self.linearized.clear(call);
        false
    }

    /// The calls on the stack that took effect, in order, as history
    /// indices.
    fn taken_effect(&self) -> Vec<usize> {
        self.stack
            .iter()
            .filter(|frame| frame.branches[frame.taken].effect)
            .map(|frame| self.members[frame.call])
            .collect()
    }

    /// Where the search got stuck: the deepest prefix, and the candidates
    /// after it that the model rejects there. (From the deepest point no
    /// candidate leads anywhere, or the search would have got deeper; a
    /// branch already in the cache was reached at that depth plus one.)
    fn stuck(&self) -> Outcome {
        let mut stuck = Vec::new();
        for &entry in &self.sorted {
            let call = entry / 2;
            if self.deepest_linearized.get(call) {
                continue;
            }
            if !is_invocation(entry) {
                break;
            }
            if self.branches(&self.deepest_state, call).is_empty() {
                stuck.push(self.members[call]);
            }
        }
        Outcome::Stuck {
            prefix: self.deepest_prefix.clone(),
            stuck,
        }
    }

    fn unlink(&mut self, entry: usize) {
        let (before, after) = (self.prev[entry], self.next[entry]);
        self.next[before] = after;
        if after != NIL {
            self.prev[after] = before;
        }
    }

    fn relink(&mut self, entry: usize) {
        let (before, after) = (self.prev[entry], self.next[entry]);
        self.next[before] = entry;
        if after != NIL {
            self.prev[after] = entry;
        }
    }

    /// Takes a linearized call's two entries out of the event list.
    fn lift(&mut self, call: usize) {
        self.unlink(2 * call);
        self.unlink(2 * call + 1);
    }

    /// Puts the last lifted call's entries back (dancing links: in the
    /// reverse order of `lift`).
    fn unlift(&mut self, call: usize) {
        self.relink(2 * call + 1);
        self.relink(2 * call);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn op<I, O>(id: usize, invoked: u64, completed: u64, input: I, output: Option<O>) -> Op<I, O> {
        Op {
            id,
            invoked,
            completed,
            input,
            output,
        }
    }

    /// Read/write registers, one per key.
    struct Register;

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum RegIn {
        Write(i64),
        Read,
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum RegOut {
        Ack,
        Value(i64),
    }

    impl Model for Register {
        type State = i64;
        type Input = (u8, RegIn);
        type Output = RegOut;

        fn init(&self) -> i64 {
            0
        }

        fn step(&self, state: &i64, input: &(u8, RegIn), output: Option<&RegOut>) -> Vec<i64> {
            match (&input.1, output) {
                (RegIn::Write(v), None | Some(RegOut::Ack)) => vec![*v],
                (RegIn::Read, None) => vec![*state],
                (RegIn::Read, Some(RegOut::Value(v))) if v == state => vec![*state],
                _ => vec![],
            }
        }

        fn partition(&self, input: &(u8, RegIn)) -> u64 {
            u64::from(input.0)
        }
    }

    type RegOp = Op<(u8, RegIn), RegOut>;

    fn write(id: usize, invoked: u64, completed: u64, v: i64) -> RegOp {
        keyed_write(id, invoked, completed, b'a', v)
    }

    fn read(id: usize, invoked: u64, completed: u64, v: i64) -> RegOp {
        keyed_read(id, invoked, completed, b'a', v)
    }

    fn keyed_write(id: usize, invoked: u64, completed: u64, key: u8, v: i64) -> RegOp {
        op(
            id,
            invoked,
            completed,
            (key, RegIn::Write(v)),
            Some(RegOut::Ack),
        )
    }

    fn keyed_read(id: usize, invoked: u64, completed: u64, key: u8, v: i64) -> RegOp {
        op(
            id,
            invoked,
            completed,
            (key, RegIn::Read),
            Some(RegOut::Value(v)),
        )
    }

    /// A counter with add, get and compare-and-set.
    struct Counter;

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum CountIn {
        Add(i64),
        Get,
        Cas(i64, i64),
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum CountOut {
        Ack,
        Value(i64),
        Swapped(bool),
    }

    impl Model for Counter {
        type State = i64;
        type Input = CountIn;
        type Output = CountOut;

        fn init(&self) -> i64 {
            0
        }

        fn step(&self, state: &i64, input: &CountIn, output: Option<&CountOut>) -> Vec<i64> {
            match (input, output) {
                (CountIn::Add(d), None | Some(CountOut::Ack)) => vec![state + d],
                (CountIn::Get, None) => vec![*state],
                (CountIn::Get, Some(CountOut::Value(v))) if v == state => vec![*state],
                (CountIn::Cas(old, new), None) if old == state => vec![*new],
                (CountIn::Cas(..), None) => vec![*state],
                (CountIn::Cas(old, new), Some(CountOut::Swapped(true))) if old == state => {
                    vec![*new]
                }
                (CountIn::Cas(old, _), Some(CountOut::Swapped(false))) if old != state => {
                    vec![*state]
                }
                _ => vec![],
            }
        }
    }

    fn counter(
        id: usize,
        invoked: u64,
        completed: u64,
        input: CountIn,
        out: CountOut,
    ) -> Op<CountIn, CountOut> {
        op(id, invoked, completed, input, Some(out))
    }

    /// A job queue: jobs are enqueued, leased and completed. A lease answers
    /// only that it leased *a* job (an opaque token): which ready job it took
    /// is the contract's open choice, and later calls tell.
    struct Queue;

    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    struct Jobs {
        ready: BTreeSet<u32>,
        leased: BTreeSet<u32>,
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum QueueIn {
        Enqueue(u32),
        Lease,
        Complete(u32),
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum QueueOut {
        Ack,
        Leased,
        Empty,
        Done,
        NotLeased,
    }

    impl Model for Queue {
        type State = Jobs;
        type Input = QueueIn;
        type Output = QueueOut;

        fn init(&self) -> Jobs {
            Jobs::default()
        }

        fn step(&self, jobs: &Jobs, input: &QueueIn, output: Option<&QueueOut>) -> Vec<Jobs> {
            let lease_each = || {
                jobs.ready
                    .iter()
                    .map(|&job| {
                        let mut after = jobs.clone();
                        after.ready.remove(&job);
                        after.leased.insert(job);
                        after
                    })
                    .collect::<Vec<_>>()
            };
            match (input, output) {
                (QueueIn::Enqueue(job), None | Some(QueueOut::Ack)) => {
                    let mut after = jobs.clone();
                    if !after.leased.contains(job) {
                        after.ready.insert(*job);
                    }
                    vec![after]
                }
                (QueueIn::Lease, Some(QueueOut::Leased)) => lease_each(),
                (QueueIn::Lease, Some(QueueOut::Empty)) if jobs.ready.is_empty() => {
                    vec![jobs.clone()]
                }
                (QueueIn::Lease, None) if jobs.ready.is_empty() => vec![jobs.clone()],
                (QueueIn::Lease, None) => lease_each(),
                (QueueIn::Complete(job), None | Some(QueueOut::Done))
                    if jobs.leased.contains(job) =>
                {
                    let mut after = jobs.clone();
                    after.leased.remove(job);
                    vec![after]
                }
                (QueueIn::Complete(job), None | Some(QueueOut::NotLeased))
                    if !jobs.leased.contains(job) =>
                {
                    vec![jobs.clone()]
                }
                _ => vec![],
            }
        }
    }

    fn queue(
        id: usize,
        invoked: u64,
        completed: u64,
        input: QueueIn,
        out: Option<QueueOut>,
    ) -> Op<QueueIn, QueueOut> {
        op(id, invoked, completed, input, out)
    }

    const BUDGET: u64 = 1_000_000;

    fn order(verdict: &Verdict) -> &[usize] {
        match verdict {
            Verdict::Linearizable { order } => order,
            other => panic!("expected linearizable, got {other:?}"),
        }
    }

    fn violation(verdict: &Verdict) -> &Violation {
        match verdict {
            Verdict::Violation(violation) => violation,
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    /// Whether `order` is a linearization of `ops`: every call with an
    /// answer once, real time respected, and each partition's calls
    /// accepted by the model in order.
    fn is_witness<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>], order: &[usize]) -> bool {
        let unique: BTreeSet<usize> = order.iter().copied().collect();
        if unique.len() != order.len()
            || ops
                .iter()
                .any(|op| op.output.is_some() && !unique.contains(&op.id))
        {
            return false;
        }
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i + 1..] {
                if ops[b].happens_before(&ops[a]) {
                    return false;
                }
            }
        }
        let mut partitions: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for &id in order {
            partitions
                .entry(model.partition(&ops[id].input))
                .or_default()
                .push(id);
        }
        partitions
            .values()
            .all(|part| replay(model, ops, part).is_some_and(|states| !states.is_empty()))
    }

    /// Linearizability by brute force, for one partition: every subset of
    /// the calls without an answer, every order consistent with real time.
    fn brute<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> bool {
        fn orders<M: Model>(
            model: &M,
            ops: &[Op<M::Input, M::Output>],
            included: &[usize],
            used: &mut [bool],
            states: Vec<M::State>,
        ) -> bool {
            if states.is_empty() {
                return false;
            }
            if included.iter().all(|&i| used[i]) {
                return true;
            }
            for &x in included {
                let blocked = included
                    .iter()
                    .any(|&y| !used[y] && y != x && ops[y].happens_before(&ops[x]));
                if used[x] || blocked {
                    continue;
                }
                let mut next: Vec<M::State> = Vec::new();
                for state in &states {
                    for after in model.step(state, &ops[x].input, ops[x].output.as_ref()) {
                        if !next.contains(&after) {
                            next.push(after);
                        }
                    }
                }
                used[x] = true;
                let found = orders(model, ops, included, used, next);
                used[x] = false;
                if found {
                    return true;
                }
            }
            false
        }
        let unknown: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].output.is_none())
            .collect();
        (0..1u32 << unknown.len()).any(|mask| {
            let included: Vec<usize> = (0..ops.len())
                .filter(|&i| {
                    ops[i].output.is_some()
                        || unknown
                            .iter()
                            .position(|&u| u == i)
                            .is_some_and(|bit| mask >> bit & 1 == 1)
                })
                .collect();
            orders(
                model,
                ops,
                &included,
                &mut vec![false; ops.len()],
                vec![model.init()],
            )
        })
    }

    /// The project's seeded generator (a ChaCha8 child of a `SeedTree`),
    /// drawn from as the randomised tests need.
    struct Rng(rand::rngs::ChaCha8Rng);

    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(crate::sim::SeedTree::new(seed).rng("linearize-tests"))
        }

        fn below(&mut self, n: u64) -> u64 {
            rand::RngExt::random_range(&mut self.0, 0..n)
        }
    }

    /// A random history of `n` calls with random intervals; `call` draws
    /// each call's input and answer. A call without an answer never
    /// completes half the time.
    fn random_history<I, O>(
        rng: &mut Rng,
        n: usize,
        mut call: impl FnMut(&mut Rng) -> (I, Option<O>),
    ) -> Vec<Op<I, O>> {
        let mut positions: Vec<u64> = (0..2 * n as u64).collect();
        for i in (1..positions.len()).rev() {
            positions.swap(i, rng.below(i as u64 + 1) as usize);
        }
        (0..n)
            .map(|id| {
                let (a, b) = (positions[2 * id], positions[2 * id + 1]);
                let (input, output) = call(rng);
                let completed = if output.is_none() && rng.below(2) == 0 {
                    NEVER
                } else {
                    a.max(b)
                };
                op(id, a.min(b), completed, input, output)
            })
            .collect()
    }

    /// Checks `check` against brute force on a history, and the witness or
    /// violation it reports; returns whether it was linearizable.
    fn agrees<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> bool
    where
        M::Input: std::fmt::Debug,
        M::Output: std::fmt::Debug,
    {
        let verdict = check(model, ops, BUDGET);
        let expected = brute(model, ops);
        assert_eq!(verdict.is_linearizable(), expected, "{ops:#?}\n{verdict:?}");
        match &verdict {
            Verdict::Linearizable { order } => {
                assert!(is_witness(model, ops, order), "{ops:#?}\n{order:?}")
            }
            Verdict::Violation(v) => {
                assert!(!v.stuck.is_empty(), "{ops:#?}\n{v:?}");
                let states = replay(model, ops, &v.prefix).unwrap();
                assert!(!states.is_empty(), "{ops:#?}\n{v:?}");
                // The cut, checked alone, is stuck at some of the same calls.
                let shrunk = shrink(model, ops, v, BUDGET);
                let members: Vec<usize> = (0..ops.len())
                    .filter(|&i| shrunk.contains(&ops[i].id))
                    .collect();
                assert_eq!(members, shrunk);
                let (outcome, _) = Search::new(model, ops, &members, true).run(BUDGET);
                match outcome {
                    Outcome::Stuck { stuck, .. } => {
                        assert!(
                            !stuck.is_empty() && stuck.iter().all(|i| v.stuck.contains(i)),
                            "{ops:#?}\n{v:?}\n{shrunk:?}"
                        )
                    }
                    _ => panic!("the cut {shrunk:?} of {ops:#?} is no violation"),
                }
            }
            Verdict::Unknown { .. } => panic!("budget too small for {ops:#?}"),
        }
        expected
    }

    #[test]
    fn sequential_history_passes_with_its_own_order() {
        let ops = vec![
            write(0, 0, 1, 1),
            read(1, 2, 3, 1),
            write(2, 4, 5, 2),
            read(3, 6, 7, 2),
        ];
        assert_eq!(
            check(&Register, &ops, BUDGET),
            Verdict::Linearizable {
                order: vec![0, 1, 2, 3]
            }
        );
    }

    #[test]
    fn empty_history_is_linearizable_even_without_budget() {
        let ops: Vec<RegOp> = Vec::new();
        assert_eq!(
            check(&Register, &ops, 0),
            Verdict::Linearizable { order: vec![] }
        );
    }

    #[test]
    fn overlapping_calls_are_reordered() {
        // The write spans both reads: the first read saw the old value, the
        // second the new one.
        let ops = vec![write(0, 0, 5, 1), read(1, 1, 2, 0), read(2, 3, 4, 1)];
        let verdict = check(&Register, &ops, BUDGET);
        assert_eq!(order(&verdict), [1, 0, 2]);
        assert!(is_witness(&Register, &ops, order(&verdict)));
    }

    #[test]
    fn stale_read_after_a_completed_write_is_named() {
        let ops = vec![write(0, 0, 1, 1), write(1, 2, 3, 2), read(2, 4, 5, 1)];
        let verdict = check(&Register, &ops, BUDGET);
        let v = violation(&verdict);
        assert_eq!(v.partition, u64::from(b'a'));
        assert_eq!(v.prefix, [0, 1]);
        assert_eq!(v.stuck, [2]);
        assert_eq!(v.ops(), [0, 1, 2]);
        assert_eq!(replay(&Register, &ops, &v.prefix), Some(vec![2]));
    }

    #[test]
    fn a_read_concurrent_with_a_write_may_see_either_value() {
        for seen in [0, 1] {
            let ops = vec![write(0, 0, 3, 1), read(1, 1, 2, seen)];
            assert!(check(&Register, &ops, BUDGET).is_linearizable());
        }
        let ops = vec![write(0, 0, 3, 1), read(1, 1, 2, 7)];
        assert_eq!(violation(&check(&Register, &ops, BUDGET)).stuck, [1]);
    }

    #[test]
    fn two_successful_cas_from_the_same_value_fail() {
        let ops = vec![
            counter(0, 0, 3, CountIn::Cas(0, 1), CountOut::Swapped(true)),
            counter(1, 1, 2, CountIn::Cas(0, 1), CountOut::Swapped(true)),
        ];
        let verdict = check(&Counter, &ops, BUDGET);
        let v = violation(&verdict);
        assert_eq!(v.prefix.len(), 1);
        assert_eq!(v.stuck.len(), 1);
        assert_eq!(v.ops(), [0, 1]);
        assert_eq!(shrink(&Counter, &ops, v, BUDGET), [0, 1]);
    }

    #[test]
    fn racing_cas_where_one_loses_passes() {
        let ops = vec![
            counter(0, 0, 3, CountIn::Cas(0, 1), CountOut::Swapped(true)),
            counter(1, 1, 4, CountIn::Cas(0, 2), CountOut::Swapped(false)),
            counter(2, 2, 6, CountIn::Add(10), CountOut::Ack),
            counter(3, 7, 8, CountIn::Get, CountOut::Value(11)),
        ];
        let verdict = check(&Counter, &ops, BUDGET);
        assert!(is_witness(&Counter, &ops, order(&verdict)));
    }

    #[test]
    fn an_aborted_write_may_or_may_not_have_happened() {
        let aborted = op(1, 2, NEVER, (b'a', RegIn::Write(2)), None);
        for seen in [1, 2] {
            let ops = vec![write(0, 0, 1, 1), aborted.clone(), read(2, 3, 4, seen)];
            let verdict = check(&Register, &ops, BUDGET);
            let expected: &[usize] = if seen == 1 { &[0, 2] } else { &[0, 1, 2] };
            assert_eq!(order(&verdict), expected);
        }
        let ops = vec![write(0, 0, 1, 1), aborted, read(2, 3, 4, 3)];
        assert_eq!(violation(&check(&Register, &ops, BUDGET)).stuck, [2]);
    }

    #[test]
    fn an_unknown_answer_that_completed_took_effect_before_completing_or_never() {
        // The write of 2 completed (answer lost) before the read of 1 began:
        // it cannot take effect between the two reads.
        let ops = vec![
            write(0, 0, 1, 1),
            op(1, 2, 3, (b'a', RegIn::Write(2)), None),
            read(2, 4, 5, 1),
            read(3, 6, 7, 2),
        ];
        let v = violation(&check(&Register, &ops, BUDGET)).clone();
        assert_eq!(v.stuck, [3]);
        // Left out of the prefix: it never happened there.
        assert_eq!(v.prefix, [0, 2]);
        // Had it never completed, it could have.
        let mut ops = ops;
        ops[1].completed = NEVER;
        assert_eq!(order(&check(&Register, &ops, BUDGET)), [0, 2, 1, 3]);
    }

    #[test]
    fn a_nondeterministic_lease_takes_whichever_job_later_calls_need() {
        let ops = vec![
            queue(0, 0, 1, QueueIn::Enqueue(1), Some(QueueOut::Ack)),
            queue(1, 2, 3, QueueIn::Enqueue(2), Some(QueueOut::Ack)),
            queue(2, 4, 5, QueueIn::Lease, Some(QueueOut::Leased)),
            queue(3, 6, 7, QueueIn::Complete(1), Some(QueueOut::NotLeased)),
            queue(4, 8, 9, QueueIn::Complete(2), Some(QueueOut::Done)),
        ];
        assert_eq!(order(&check(&Queue, &ops, BUDGET)), [0, 1, 2, 3, 4]);

        // Neither job was leased, by the later answers: no choice explains
        // them, and the deepest prefix is the branch that leased job 2.
        let mut ops = ops;
        ops[4].output = Some(QueueOut::NotLeased);
        let verdict = check(&Queue, &ops, BUDGET);
        let v = violation(&verdict);
        assert_eq!(v.prefix, [0, 1, 2, 3]);
        assert_eq!(v.stuck, [4]);
        let expected = Jobs {
            ready: BTreeSet::from([1]),
            leased: BTreeSet::from([2]),
        };
        assert_eq!(replay(&Queue, &ops, &v.prefix), Some(vec![expected]));
    }

    #[test]
    fn an_aborted_lease_may_hold_a_job() {
        let mut ops = vec![
            queue(0, 0, 1, QueueIn::Enqueue(1), Some(QueueOut::Ack)),
            queue(1, 2, 3, QueueIn::Enqueue(2), Some(QueueOut::Ack)),
            queue(2, 4, NEVER, QueueIn::Lease, None),
            queue(3, 5, 6, QueueIn::Lease, Some(QueueOut::Leased)),
            queue(4, 7, 8, QueueIn::Complete(1), Some(QueueOut::Done)),
            queue(5, 9, 10, QueueIn::Lease, Some(QueueOut::Empty)),
        ];
        // The aborted lease must have taken job 2 (its second branch).
        let verdict = check(&Queue, &ops, BUDGET);
        assert!(is_witness(&Queue, &ops, order(&verdict)));
        assert!(order(&verdict).contains(&2));
        // Without it, the queue answered empty with job 2 still ready.
        ops.remove(2);
        for (id, op) in ops.iter_mut().enumerate() {
            op.id = id;
        }
        assert_eq!(violation(&check(&Queue, &ops, BUDGET)).stuck, [4]);
    }

    /// Forty writes and a read of a value none wrote, all overlapping: no
    /// pruning helps, the search space is every subset of the writes.
    fn adversarial() -> Vec<RegOp> {
        let mut ops: Vec<RegOp> = (0..40)
            .map(|i| write(i, i as u64, 100 + i as u64, i as i64))
            .collect();
        ops.push(read(40, 50, 200, 999));
        ops
    }

    #[test]
    fn the_budget_bounds_an_adversarial_search() {
        let ops = adversarial();
        assert_eq!(
            check(&Register, &ops, 20_000),
            Verdict::Unknown {
                partition: u64::from(b'a'),
                explored: 20_000,
            }
        );
        assert_eq!(
            check(&Register, &ops, 0),
            Verdict::Unknown {
                partition: u64::from(b'a'),
                explored: 0,
            }
        );
    }

    #[test]
    fn the_budget_is_shared_by_the_partitions() {
        let mut ops = vec![keyed_write(0, 0, 1, b'0', 5), keyed_read(1, 2, 3, b'0', 5)];
        for mut op in adversarial() {
            op.id += 2;
            ops.push(op);
        }
        let verdict = check(&Register, &ops, 1_000);
        assert_eq!(
            verdict,
            Verdict::Unknown {
                partition: u64::from(b'a'),
                explored: 1_000,
            }
        );
    }

    #[test]
    fn partitions_are_checked_independently() {
        // Key a is fine; key b has a stale read. Calls of the two keys
        // interleave and overlap.
        let ops = vec![
            keyed_write(0, 0, 3, b'a', 1),
            keyed_write(1, 1, 2, b'b', 1),
            keyed_write(2, 4, 7, b'b', 2),
            keyed_read(3, 5, 6, b'a', 1),
            keyed_read(4, 8, 9, b'b', 1),
            keyed_read(5, 10, 11, b'a', 1),
        ];
        let verdict = check(&Register, &ops, BUDGET);
        let v = violation(&verdict);
        assert_eq!(v.partition, u64::from(b'b'));
        assert_eq!(v.prefix, [1, 2]);
        assert_eq!(v.stuck, [4]);

        // Fixed, the merged witness respects real time across keys.
        let mut ops = ops;
        ops[4] = keyed_read(4, 8, 9, b'b', 2);
        let verdict = check(&Register, &ops, BUDGET);
        assert!(is_witness(&Register, &ops, order(&verdict)));
        assert_eq!(order(&verdict).len(), ops.len());
    }

    #[test]
    fn shrink_cuts_the_violation_to_what_shows_it() {
        let ops = vec![
            write(0, 0, 1, 1),
            read(1, 2, 3, 1),
            write(2, 4, 5, 2),
            read(3, 6, 7, 2),
            write(4, 8, 9, 3),
            read(5, 10, 11, 2),
            read(6, 12, 13, 3),
        ];
        let verdict = check(&Register, &ops, BUDGET);
        let v = violation(&verdict);
        assert_eq!(v.stuck, [5]);
        assert_eq!(v.ops(), [0, 1, 2, 3, 4, 5]);
        // "2 and then 3 were written, then a read returned 2." (Not just
        // "3 was written, then a read returned 2", nor the read alone: the
        // violation is a stale read, one of order, and the cut keeps it so.)
        let cut = shrink(&Register, &ops, v, BUDGET);
        assert_eq!(cut, [2, 4, 5]);
        let sub: Vec<RegOp> = ops
            .iter()
            .filter(|op| cut.contains(&op.id))
            .cloned()
            .collect();
        assert_eq!(violation(&check(&Register, &sub, BUDGET)).stuck, [5]);
        // With no budget to re-check, the cut stays where it was.
        assert_eq!(shrink(&Register, &ops, v, 0), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn shrink_cuts_an_impossible_answer_to_the_call_alone() {
        let ops = vec![write(0, 0, 1, 1), read(1, 2, 3, 1), read(2, 4, 5, 7)];
        let v = violation(&check(&Register, &ops, BUDGET)).clone();
        assert_eq!(shrink(&Register, &ops, &v, BUDGET), [2]);
    }

    #[test]
    fn shrink_keeps_the_same_bug() {
        // Dropping the first write would make the first read wrong instead:
        // the cut keeps a history stuck at the stale read.
        let ops = vec![
            write(0, 0, 1, 1),
            read(1, 2, 3, 1),
            write(2, 4, 5, 2),
            read(3, 6, 7, 1),
        ];
        let v = violation(&check(&Register, &ops, BUDGET)).clone();
        assert_eq!(v.stuck, [3]);
        let cut = shrink(&Register, &ops, &v, BUDGET);
        assert_eq!(cut, [0, 2, 3]);
    }

    #[test]
    fn agrees_with_brute_force_on_random_registers() {
        let mut rng = Rng::new(7);
        let mut outcomes = [0; 2];
        for round in 0..1_500 {
            let n = 1 + round % 7;
            let ops = random_history(&mut rng, n, |rng| match rng.below(5) {
                0 => ((b'a', RegIn::Write(rng.below(3) as i64)), None),
                1 | 2 => ((b'a', RegIn::Write(rng.below(3) as i64)), Some(RegOut::Ack)),
                _ => (
                    (b'a', RegIn::Read),
                    Some(RegOut::Value(rng.below(3) as i64)),
                ),
            });
            outcomes[usize::from(agrees(&Register, &ops))] += 1;
        }
        assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
    }

    #[test]
    fn agrees_with_brute_force_on_random_counters() {
        let mut rng = Rng::new(11);
        let mut outcomes = [0; 2];
        for round in 0..1_500 {
            let n = 1 + round % 7;
            let ops = random_history(&mut rng, n, |rng| {
                let v = |rng: &mut Rng| rng.below(3) as i64;
                match rng.below(6) {
                    0 => (CountIn::Add(1), Some(CountOut::Ack)),
                    1 => (CountIn::Get, Some(CountOut::Value(v(rng)))),
                    2 => (CountIn::Cas(v(rng), v(rng)), None),
                    _ => (
                        CountIn::Cas(v(rng), v(rng)),
                        Some(CountOut::Swapped(rng.below(2) == 0)),
                    ),
                }
            });
            outcomes[usize::from(agrees(&Counter, &ops))] += 1;
        }
        assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
    }

    #[test]
    fn agrees_with_brute_force_on_random_queues() {
        let mut rng = Rng::new(13);
        let mut outcomes = [0; 2];
        for round in 0..1_500 {
            let n = 1 + round % 7;
            let ops = random_history(&mut rng, n, |rng| {
                let job = 1 + rng.below(2) as u32;
                match rng.below(7) {
                    0 | 1 => (QueueIn::Enqueue(job), Some(QueueOut::Ack)),
                    2 => (QueueIn::Lease, None),
                    3 => (QueueIn::Lease, Some(QueueOut::Leased)),
                    4 => (QueueIn::Lease, Some(QueueOut::Empty)),
                    5 => (QueueIn::Complete(job), Some(QueueOut::Done)),
                    _ => (QueueIn::Complete(job), Some(QueueOut::NotLeased)),
                }
            });
            outcomes[usize::from(agrees(&Queue, &ops))] += 1;
        }
        assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
    }

    /// A long history of a real register served by `processes` concurrent
    /// clients: each call takes effect at some instant between its
    /// invocation and completion, so the history is linearizable. Now and
    /// then a client gives up on a call (its answer is lost, before or after
    /// it took effect) and moves on.
    fn simulated(rng: &mut Rng, calls: usize, processes: usize) -> Vec<RegOp> {
        #[derive(Clone, Copy)]
        enum Client {
            Idle,
            Invoked(usize),
            Applied(usize),
        }
        let mut register = 0;
        let mut position = 0;
        let mut ops: Vec<RegOp> = Vec::new();
        let mut clients = vec![Client::Idle; processes];
        while ops.len() < calls || clients.iter().any(|c| !matches!(c, Client::Idle)) {
            let p = rng.below(processes as u64) as usize;
            position += 1;
            clients[p] = match clients[p] {
                Client::Idle if ops.len() < calls => {
                    let input = if rng.below(2) == 0 {
                        RegIn::Write(rng.below(5) as i64)
                    } else {
                        RegIn::Read
                    };
                    ops.push(op(ops.len(), position, NEVER, (b'a', input), None));
                    Client::Invoked(ops.len() - 1)
                }
                Client::Idle => Client::Idle,
                // Gave up: the answer is lost, the call never completes.
                Client::Invoked(_) | Client::Applied(_) if rng.below(50) == 0 => Client::Idle,
                Client::Invoked(i) => {
                    ops[i].output = Some(match ops[i].input.1 {
                        RegIn::Write(v) => {
                            register = v;
                            RegOut::Ack
                        }
                        RegIn::Read => RegOut::Value(register),
                    });
                    Client::Applied(i)
                }
                Client::Applied(i) => {
                    ops[i].completed = position;
                    Client::Idle
                }
            };
        }
        // A call given up before it took effect has no answer; one given up
        // after has one nobody saw.
        for op in &mut ops {
            if op.completed == NEVER {
                op.output = None;
            }
        }
        ops
    }

    #[test]
    fn long_linearizable_histories_pass_within_a_modest_budget() {
        let mut rng = Rng::new(5);
        for processes in [2, 4, 8] {
            let ops = simulated(&mut rng, 2_000, processes);
            let verdict = check(&Register, &ops, 200_000);
            assert!(
                is_witness(&Register, &ops, order(&verdict)),
                "{processes} processes"
            );
        }
    }

    #[test]
    fn verdicts_are_deterministic() {
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let ops = random_history(&mut rng, 60, |rng| {
                let key = b'a' + rng.below(3) as u8;
                match rng.below(3) {
                    0 => ((key, RegIn::Write(rng.below(4) as i64)), Some(RegOut::Ack)),
                    1 => ((key, RegIn::Write(rng.below(4) as i64)), None),
                    _ => ((key, RegIn::Read), Some(RegOut::Value(rng.below(4) as i64))),
                }
            });
            let first = check(&Register, &ops, 50_000);
            assert_eq!(first, check(&Register, &ops, 50_000));
            if let Verdict::Violation(v) = &first {
                assert_eq!(
                    shrink(&Register, &ops, v, 50_000),
                    shrink(&Register, &ops, v, 50_000)
                );
            }
        }
    }

    #[test]
    fn verdicts_serialize_for_reports() {
        let ops = vec![write(0, 0, 1, 1), write(1, 2, 3, 2), read(2, 4, 5, 1)];
        let json = serde_json::to_value(check(&Register, &ops, BUDGET)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"verdict": "violation", "partition": 97, "prefix": [0, 1], "stuck": [2]})
        );
        let json = serde_json::to_value(check(&Register, &adversarial(), 5)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"verdict": "unknown", "partition": 97, "explored": 5})
        );
    }
}
