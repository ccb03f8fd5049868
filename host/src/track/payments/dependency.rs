//! The bank as the plugin sees it: the mock [`Bank`] behind the
//! `gauntlet:payments/bank` import, with the scenario's faults injected at
//! that boundary (unavailable before processing, the bank down for a whole
//! request, latency in virtual time, a timeout after the bank committed,
//! the bank forgetting an idempotency key, and crashes of the gateway before
//! or after the bank processed). Faults and latency apply to every endpoint,
//! the read-backs included, as the real mock bank's chaos applies to every
//! path; a call the bank answers from its idempotency memory is answered
//! before its chaos (`unavailable`) can strike, as the real bank's
//! middleware is ordered, but not while the bank is down (an outage).
//!
//! Faults are decided by rules: scripted on a client request (the Nth call
//! of an operation while that request is served, or every call from the
//! Nth on: an outage), scripted on the run (the Nth call of an operation in
//! the whole run), or seeded (a probability, drawn from a hash of the
//! scenario's seed, the client step in flight and the operation, applying
//! to the first call of that operation in the step, or to every call from
//! it on for an outage). Faults on a request, whatever the gateway did
//! before it, land on the same request in the learner's run and the
//! reference's; and two transient failures in a row are ridden out by every gateway
//! that keeps the retry contract, an outage by none, so the outcome never
//! depends on the retry budget a gateway chose (`retry-contract` holds it
//! to the contract instead: see `checks.rs`).
//!
//! Every call of a state-changing operation is logged ([`BankCallRecord`]),
//! and a bank call retried without end (more than [`MAX_ATTEMPTS`] times, or
//! for more than [`MAX_RETRY_SPAN_MS`] of virtual time, within one request)
//! stops the run with [`crate::sandbox::HostStopped`].

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bank::{self, Bank, Operation};
use crate::bindings::payments::bank as wit;
use std::collections::BTreeMap;

use crate::sandbox::{HostState, HostStopped, InjectedCrash, Serving};
use crate::sim::SeedTree;

/// A bank endpoint: one of the four operations that change state, or a
/// read-back. Faults and latency apply to all seven; scenarios name them
/// as here (`get-authorization`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    Authorize,
    Capture,
    Void,
    Refund,
    GetAuthorization,
    GetCapture,
    GetRefund,
}

impl Endpoint {
    const COUNT: usize = 7;

    /// The operation, for the four that change state (and take an
    /// idempotency key); `None` for a read-back.
    pub fn operation(self) -> Option<Operation> {
        match self {
            Endpoint::Authorize => Some(Operation::Authorize),
            Endpoint::Capture => Some(Operation::Capture),
            Endpoint::Void => Some(Operation::Void),
            Endpoint::Refund => Some(Operation::Refund),
            Endpoint::GetAuthorization | Endpoint::GetCapture | Endpoint::GetRefund => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Capture => "capture",
            Endpoint::Void => "void",
            Endpoint::Refund => "refund",
            Endpoint::GetAuthorization => "get-authorization",
            Endpoint::GetCapture => "get-capture",
            Endpoint::GetRefund => "get-refund",
        }
    }
}

impl From<Operation> for Endpoint {
    fn from(op: Operation) -> Self {
        match op {
            Operation::Authorize => Endpoint::Authorize,
            Operation::Capture => Endpoint::Capture,
            Operation::Void => Endpoint::Void,
            Operation::Refund => Endpoint::Refund,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault the bank boundary can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BankFault {
    /// Refused before processing: nothing happened; a retry is safe. A call
    /// the bank remembers (its idempotency key's first success) is replayed
    /// instead: the bank's memory answers before its chaos.
    Unavailable,
    /// The bank is down: `unavailable`, remembered key or not.
    Down,
    /// Processed, but the answer is lost: the plugin sees a timeout.
    TimeoutAfterCommit,
    /// The bank forgets the request's idempotency key, then processes it.
    ForgetKey,
    /// The gateway crashes before the request reaches the bank.
    CrashBefore,
    /// The gateway crashes after the bank processed, before it sees the answer.
    CrashAfterCommit,
}

impl BankFault {
    /// Whether the fault crashes the gateway (rather than the bank's answer).
    pub fn is_crash(self) -> bool {
        matches!(self, BankFault::CrashBefore | BankFault::CrashAfterCommit)
    }
}

impl std::fmt::Display for BankFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BankFault::Unavailable => "the bank is unavailable (nothing happened)",
            BankFault::Down => "the bank is down (nothing happened)",
            BankFault::TimeoutAfterCommit => "the bank committed, then the answer timed out",
            BankFault::ForgetKey => "the bank forgot the idempotency key",
            BankFault::CrashBefore => "the gateway crashed before the bank call",
            BankFault::CrashAfterCommit => "the gateway crashed after the bank committed",
        })
    }
}

/// When a fault applies.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The Nth call (1-based) of this endpoint in the run.
    Nth { operation: Endpoint, n: u64 },
    /// The Nth call (1-based) of this endpoint while client step `step`
    /// is served (its `recover` after a crash included), or with `onward`
    /// every call from the Nth on (an outage for the rest of the request).
    Step {
        step: u64,
        operation: Endpoint,
        n: u64,
        onward: bool,
    },
    /// With this probability (parts per million), drawn once per client
    /// step and endpoint (of these endpoints, all seven if empty): the
    /// first call of the endpoint in the step, or with `onward` every call
    /// of it in the step.
    Seeded {
        operations: Vec<Endpoint>,
        ppm: u32,
        onward: bool,
    },
}

/// The most attempts of one bank call (an operation and a bank key) within
/// one client request before gauntlet stops the run: a gateway that retries
/// forever would otherwise never answer.
pub const MAX_ATTEMPTS: u64 = 100;

/// The longest virtual time between the first and the last attempt of one
/// bank call within one request before gauntlet stops the run (ten times
/// the contract's bound, [`GIVE_UP_WITHIN_MS`]).
pub const MAX_RETRY_SPAN_MS: u64 = 600_000;

/// The contract's floor (payments.wit, "Retries"): a bank call that fails
/// transiently is attempted at least this many times before the gateway
/// answers `bank-unavailable`; scenarios never fail one more than
/// `MIN_ATTEMPTS - 1` times in a row except in an outage.
pub const MIN_ATTEMPTS: usize = 3;

/// The contract's bound (payments.wit, "Retries"): no attempt of a bank
/// call later than this after its first attempt, within one request.
pub const GIVE_UP_WITHIN_MS: u64 = 60_000;

/// One bank call, as the host saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BankCallRecord {
    /// The client step being served.
    pub step: u64,
    /// Which call into the gateway made it (a request, or `recover`),
    /// counted from 1 over the run: each starts its retries afresh.
    pub export_call: u64,
    pub operation: Endpoint,
    /// The bank idempotency key the gateway sent (for a read-back, the id
    /// it read).
    pub key: String,
    /// Virtual time when the call was made (before its latency).
    pub at_ms: u64,
    /// Whether the gateway saw `unavailable` or `timeout`.
    pub transient: bool,
    /// Whether the gateway saw a permanent refusal (a decline, or
    /// `authorization-expired`): asking again can only get the same.
    pub permanent: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultRule {
    pub trigger: Trigger,
    pub fault: BankFault,
}

/// Latency of every bank call, uniform in `min..=max` virtual milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    pub min: u64,
    pub max: u64,
}

/// Counts for reports: what the plugin asked of the bank, and how long it
/// waited for it in virtual time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BankStats {
    pub calls: u64,
    pub waited_ms: u64,
    pub faults: u64,
}

/// The bank, its faults, and what the plugin did with it.
#[derive(Clone, Debug)]
pub struct BankSim {
    pub bank: Bank,
    rules: Vec<FaultRule>,
    latency: Latency,
    seeds: SeedTree,
    /// The calls of each endpoint made so far for each client step in
    /// flight (one at a time in a sequential run, several in a concurrent
    /// one), and in the whole run.
    in_step: BTreeMap<u64, [u64; Endpoint::COUNT]>,
    calls_per_operation: [u64; Endpoint::COUNT],
    /// Calls into the gateway so far (requests and `recover`s).
    export_calls: u64,
    /// For each call into the gateway in flight, the attempts of each bank
    /// call it made: how many, and the first one's time.
    attempts: BTreeMap<(u64, Endpoint, String), (u64, u64)>,
    /// What each client step in flight did at the bank, so far.
    by_step: BTreeMap<u64, Attributed>,
    pub stats: BankStats,
    /// Every fault injected: (client step, endpoint, fault).
    pub injected: Vec<(u64, Endpoint, BankFault)>,
    /// Every bank call, in order.
    pub calls: Vec<BankCallRecord>,
    /// Why gauntlet stopped the run at the bank, if it did.
    pub stopped: Option<Stop>,
}

/// What one client request did at the bank, attributed by the instance
/// that served it (calls of other requests in flight interleave with its
/// own in a concurrent run): indices into the bank's ledger, its list of
/// injected faults and its call log, and its bank calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributed {
    pub ledger: Vec<usize>,
    pub injected: Vec<usize>,
    pub log: Vec<usize>,
    pub calls: u64,
}

/// Why gauntlet stopped a run at the bank: a call the contract rules out,
/// which the bank has no answer for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "reason", rename_all = "kebab-case")]
pub enum Stop {
    /// One bank call retried without end (see [`MAX_ATTEMPTS`]).
    EndlessRetry(String),
    /// A state-changing call with an empty idempotency key, which the bank
    /// refuses (the real one answers 400, which the WIT has no case for).
    EmptyKey(String),
}

impl Stop {
    pub fn reason(&self) -> &str {
        match self {
            Stop::EndlessRetry(reason) | Stop::EmptyKey(reason) => reason,
        }
    }
}

impl BankSim {
    pub fn new(bank: Bank, rules: Vec<FaultRule>, latency: Latency, seeds: SeedTree) -> Self {
        BankSim {
            bank,
            rules,
            latency,
            seeds,
            in_step: BTreeMap::new(),
            calls_per_operation: [0; Endpoint::COUNT],
            export_calls: 0,
            attempts: BTreeMap::new(),
            by_step: BTreeMap::new(),
            stats: BankStats::default(),
            injected: Vec::new(),
            calls: Vec::new(),
            stopped: None,
        }
    }

    /// No more faults or latency (the end-of-run recovery pass runs
    /// without).
    pub fn clear_faults(&mut self) {
        self.rules.clear();
        self.latency = Latency::default();
    }

    /// Numbers a new call into the gateway (a request, or `recover`): the
    /// bank calls of the instance making it are its.
    pub fn begin_export_call(&mut self) -> u64 {
        self.export_calls += 1;
        self.export_calls
    }

    /// Forgets a finished call into the gateway's retry counts.
    pub fn end_export_call(&mut self, export_call: u64) {
        self.attempts.retain(|(call, _, _), _| *call != export_call);
    }

    /// Marks the start of a client step: seeded faults are drawn per step.
    pub fn begin_step(&mut self, step: u64) {
        self.in_step.insert(step, [0; Endpoint::COUNT]);
        self.by_step.insert(step, Attributed::default());
    }

    /// Marks the end of a client step: what it did at the bank.
    pub fn end_step(&mut self, step: u64) -> Attributed {
        self.in_step.remove(&step);
        self.by_step.remove(&step).unwrap_or_default()
    }

    /// A generator for one purpose in `step`: the `attempt`-th call of
    /// `operation` in it (latency), or the operation itself (faults, drawn
    /// once per step).
    fn draw(
        &self,
        step: u64,
        operation: Endpoint,
        attempt: u64,
        purpose: &str,
    ) -> rand::rngs::ChaCha8Rng {
        let mut hasher = Sha256::new();
        hasher.update(step.to_le_bytes());
        hasher.update(operation.as_str().as_bytes());
        hasher.update(attempt.to_le_bytes());
        hasher.update(purpose.as_bytes());
        let name = hex::encode(hasher.finalize());
        self.seeds.rng(&format!("bank/{name}"))
    }

    /// Why the run must stop before this attempt at (`operation`, `key`)
    /// by `export_call`: the same bank call retried past [`MAX_ATTEMPTS`]
    /// or [`MAX_RETRY_SPAN_MS`] within one call into the gateway.
    fn endless_retry(
        &self,
        export_call: u64,
        operation: Endpoint,
        key: &str,
        now_ms: u64,
    ) -> Option<String> {
        let (attempts, first_ms) = self
            .attempts
            .get(&(export_call, operation, key.to_string()))
            .copied()
            .unwrap_or((0, now_ms));
        let span = now_ms.saturating_sub(first_ms);
        (attempts >= MAX_ATTEMPTS || span > MAX_RETRY_SPAN_MS).then(|| {
            format!(
                "bank.{operation} with key {key:?} was attempted {attempts} times over {} s of virtual time and would be again (the contract gives up within {} s of the first attempt)",
                span / 1_000,
                GIVE_UP_WITHIN_MS / 1_000
            )
        })
    }

    /// Counts the call (sent at `sent_ms` with `key`) and decides its
    /// latency and fault. A call the bank answers from its idempotency
    /// memory cannot meet its chaos (`unavailable`), though the bank can be
    /// down.
    fn next_call(
        &mut self,
        serving: Serving,
        operation: Endpoint,
        key: &str,
        sent_ms: u64,
    ) -> (u64, Option<BankFault>) {
        let step = serving.step;
        let index = operation as usize;
        self.calls_per_operation[index] += 1;
        let counts = self.in_step.entry(step).or_default();
        counts[index] += 1;
        let in_step = counts[index];
        let n = self.calls_per_operation[index];
        self.stats.calls += 1;
        self.by_step.entry(step).or_default().calls += 1;
        let attempts = self
            .attempts
            .entry((serving.export_call, operation, key.to_string()))
            .or_insert((0, sent_ms));
        attempts.0 += 1;
        let latency = if self.latency.max > 0 {
            self.draw(step, operation, in_step, "latency")
                .random_range(self.latency.min..=self.latency.max)
        } else {
            0
        };
        let mut fault = None;
        // Each seeded rule draws for itself: its probability is its own.
        for (index, rule) in self.rules.iter().enumerate() {
            let applies = match &rule.trigger {
                Trigger::Nth {
                    operation: op,
                    n: nth,
                } => *op == operation && *nth == n,
                Trigger::Step {
                    step,
                    operation: op,
                    n: nth,
                    onward,
                } => {
                    *step == serving.step
                        && *op == operation
                        && (in_step == *nth || (*onward && in_step > *nth))
                }
                Trigger::Seeded {
                    operations,
                    ppm,
                    onward,
                } => {
                    (operations.is_empty() || operations.contains(&operation))
                        && (in_step == 1 || *onward)
                        && self
                            .draw(step, operation, 0, &format!("fault/{index}"))
                            .random_range(0..1_000_000u32)
                            < *ppm
                }
            };
            if applies {
                fault = Some(rule.fault);
                break;
            }
        }
        let arrives_ms = sent_ms.saturating_add(latency);
        let remembered = |op| self.bank.remembers(arrives_ms, op, key);
        if fault == Some(BankFault::Unavailable) && operation.operation().is_some_and(remembered) {
            fault = None;
        }
        if let Some(fault) = fault {
            self.stats.faults += 1;
            self.by_step
                .entry(step)
                .or_default()
                .injected
                .push(self.injected.len());
            self.injected.push((step, operation, fault));
        }
        self.stats.waited_ms = self.stats.waited_ms.saturating_add(latency);
        (latency, fault)
    }
}

/// What one bank call gives back to the plugin, before conversion.
enum Answer<T> {
    Value(Result<T, wit::BankError>),
    Crash(&'static str),
}

impl HostState {
    fn bank_sim(&self) -> wasmtime::Result<std::sync::Arc<std::sync::Mutex<BankSim>>> {
        self.dependencies
            .bank
            .clone()
            .ok_or_else(|| wasmtime::Error::msg("this run has no bank"))
    }

    /// Runs one bank operation through the fault rules: latency first (the
    /// clock moves; in a concurrent run the call sleeps through it while
    /// the others go on), then the fault, then the bank itself.
    async fn bank_call<T>(
        &mut self,
        operation: Endpoint,
        key: &str,
        process: impl FnOnce(&mut Bank, u64) -> Result<T, bank::BankError>,
    ) -> wasmtime::Result<Result<T, wit::BankError>> {
        let shared = self.bank_sim()?;
        let serving = self.serving;
        let sent_ms = self.clock().now_ms();
        let (latency, fault) = {
            let mut sim = shared.lock().expect("bank lock");
            if let Some(stop) = sim.stop(serving, operation, key, sent_ms) {
                return Err(stop);
            }
            sim.next_call(serving, operation, key, sent_ms)
        };
        let now = sent_ms.saturating_add(latency);
        if self.parks {
            crate::sched::sleep_until(now).await;
        } else {
            self.clock().set_ms(now);
        }
        let mut sim = shared.lock().expect("bank lock");
        sim.answer(serving, operation, key, sent_ms, now, fault, process)
    }
}

impl BankSim {
    /// Why the run must stop at this call, if it must: the error that
    /// stops it.
    fn stop(
        &mut self,
        serving: Serving,
        operation: Endpoint,
        key: &str,
        sent_ms: u64,
    ) -> Option<wasmtime::Error> {
        let stop = if key.is_empty() && operation.operation().is_some() {
            Some(Stop::EmptyKey(format!(
                "bank.{operation} was called with an empty idempotency key, which the bank refuses (the contract has no answer for it: every bank key is a non-empty string)"
            )))
        } else {
            self.endless_retry(serving.export_call, operation, key, sent_ms)
                .map(Stop::EndlessRetry)
        }?;
        let reason = stop.reason().to_string();
        self.stopped = Some(stop);
        Some(wasmtime::Error::new(HostStopped(reason)))
    }

    /// The bank's answer to a call sent at `sent_ms` that arrives at `now`
    /// with `fault`, recorded for the request `serving` serves.
    #[allow(clippy::too_many_arguments)]
    fn answer<T>(
        &mut self,
        serving: Serving,
        operation: Endpoint,
        key: &str,
        sent_ms: u64,
        now: u64,
        fault: Option<BankFault>,
        process: impl FnOnce(&mut Bank, u64) -> Result<T, bank::BankError>,
    ) -> wasmtime::Result<Result<T, wit::BankError>> {
        let ledger_before = self.bank.ledger().len();
        let answer = match fault {
            Some(BankFault::Unavailable | BankFault::Down) => {
                Answer::Value(Err(wit::BankError::Unavailable))
            }
            Some(BankFault::CrashBefore) => Answer::Crash("before the bank processed"),
            Some(BankFault::ForgetKey) => {
                if let Some(op) = operation.operation() {
                    self.bank.forget_idempotency_key(op, key);
                }
                Answer::Value(process(&mut self.bank, now).map_err(to_wit_error))
            }
            Some(BankFault::TimeoutAfterCommit) => {
                let _ = process(&mut self.bank, now);
                Answer::Value(Err(wit::BankError::Timeout))
            }
            Some(BankFault::CrashAfterCommit) => {
                let _ = process(&mut self.bank, now);
                Answer::Crash("after the bank processed, before the gateway saw the answer")
            }
            None => Answer::Value(process(&mut self.bank, now).map_err(to_wit_error)),
        };
        let transient = matches!(
            answer,
            Answer::Value(Err(wit::BankError::Unavailable | wit::BankError::Timeout))
        );
        let permanent = matches!(
            answer,
            Answer::Value(Err(wit::BankError::InvalidCard
                | wit::BankError::InvalidCvv
                | wit::BankError::InvalidAmount
                | wit::BankError::CardExpired
                | wit::BankError::InsufficientFunds
                | wit::BankError::AuthorizationExpired))
        );
        let (ledger_after, logged) = (self.bank.ledger().len(), self.calls.len());
        let attributed = self.by_step.entry(serving.step).or_default();
        attributed.ledger.extend(ledger_before..ledger_after);
        attributed.log.push(logged);
        self.calls.push(BankCallRecord {
            step: serving.step,
            export_call: serving.export_call,
            operation,
            key: key.to_string(),
            at_ms: sent_ms,
            transient,
            permanent,
        });
        match answer {
            Answer::Value(v) => Ok(v),
            Answer::Crash(when) => Err(wasmtime::Error::new(InjectedCrash(format!(
                "at bank.{operation}, {when}"
            )))),
        }
    }
}

fn to_wit_error(e: bank::BankError) -> wit::BankError {
    use bank::BankError as B;
    match e {
        B::InvalidCard => wit::BankError::InvalidCard,
        B::InvalidCvv => wit::BankError::InvalidCvv,
        B::InvalidAmount => wit::BankError::InvalidAmount,
        B::CardExpired => wit::BankError::CardExpired,
        B::InsufficientFunds => wit::BankError::InsufficientFunds,
        B::UnknownAuthorization => wit::BankError::UnknownAuthorization,
        B::AlreadyUsed => wit::BankError::AlreadyUsed,
        B::AuthorizationExpired => wit::BankError::AuthorizationExpired,
        B::AmountMismatch => wit::BankError::AmountMismatch,
        B::UnknownCapture => wit::BankError::UnknownCapture,
        B::AlreadyRefunded => wit::BankError::AlreadyRefunded,
    }
}

fn authorization(a: bank::Authorization) -> wit::Authorization {
    wit::Authorization {
        id: a.id,
        amount: a.amount,
        created_ms: a.created_ms,
        expires_ms: a.expires_ms,
    }
}

fn capture(c: bank::Capture) -> wit::CaptureReceipt {
    wit::CaptureReceipt {
        id: c.id,
        authorization_id: c.authorization_id,
        amount: c.amount,
        created_ms: c.created_ms,
    }
}

fn refund(r: bank::Refund) -> wit::RefundReceipt {
    wit::RefundReceipt {
        id: r.id,
        capture_id: r.capture_id,
        amount: r.amount,
        created_ms: r.created_ms,
    }
}

impl wit::Host for HostState {
    async fn authorize(
        &mut self,
        card: wit::Card,
        amount: u64,
        key: String,
    ) -> wasmtime::Result<Result<wit::Authorization, wit::BankError>> {
        self.scheduling_point("bank.authorize").await;
        let request =
            bank::CardRequest::new(&card.number, &card.cvv, card.expiry_month, card.expiry_year);
        self.bank_call(Endpoint::Authorize, &key, |bank, now| {
            bank.authorize(now, &request, amount, &key)
                .map(authorization)
        })
        .await
    }

    async fn capture(
        &mut self,
        authorization_id: String,
        amount: u64,
        key: String,
    ) -> wasmtime::Result<Result<wit::CaptureReceipt, wit::BankError>> {
        self.scheduling_point("bank.capture").await;
        self.bank_call(Endpoint::Capture, &key, |bank, now| {
            bank.capture(now, &authorization_id, amount, &key)
                .map(capture)
        })
        .await
    }

    async fn void(
        &mut self,
        authorization_id: String,
        key: String,
    ) -> wasmtime::Result<Result<wit::VoidReceipt, wit::BankError>> {
        self.scheduling_point("bank.void").await;
        self.bank_call(Endpoint::Void, &key, |bank, now| {
            bank.void(now, &authorization_id, &key)
                .map(|v| wit::VoidReceipt {
                    id: v.id,
                    authorization_id: v.authorization_id,
                    created_ms: v.created_ms,
                })
        })
        .await
    }

    async fn refund(
        &mut self,
        capture_id: String,
        amount: u64,
        key: String,
    ) -> wasmtime::Result<Result<wit::RefundReceipt, wit::BankError>> {
        self.scheduling_point("bank.refund").await;
        self.bank_call(Endpoint::Refund, &key, |bank, now| {
            bank.refund(now, &capture_id, amount, &key).map(refund)
        })
        .await
    }

    async fn get_authorization(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::Authorization, wit::BankError>> {
        self.scheduling_point("bank.get-authorization").await;
        self.bank_call(Endpoint::GetAuthorization, &id, |bank, _| {
            bank.get_authorization(&id)
                .map(authorization)
                .ok_or(bank::BankError::UnknownAuthorization)
        })
        .await
    }

    async fn get_capture(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::CaptureReceipt, wit::BankError>> {
        self.scheduling_point("bank.get-capture").await;
        self.bank_call(Endpoint::GetCapture, &id, |bank, _| {
            bank.get_capture(&id)
                .map(capture)
                .ok_or(bank::BankError::UnknownCapture)
        })
        .await
    }

    async fn get_refund(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::RefundReceipt, wit::BankError>> {
        self.scheduling_point("bank.get-refund").await;
        self.bank_call(Endpoint::GetRefund, &id, |bank, _| {
            bank.get_refund(&id)
                .map(refund)
                .ok_or(bank::BankError::UnknownCapture)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::payments::bank::{BankConfig, CardRequest};

    /// A call of client step `step`, made by its first call into the
    /// gateway.
    fn at(step: u64) -> Serving {
        Serving {
            step,
            export_call: step,
        }
    }

    fn sim(rules: Vec<FaultRule>) -> BankSim {
        BankSim::new(
            Bank::new(BankConfig::default()),
            rules,
            Latency {
                min: 100,
                max: 2_000,
            },
            SeedTree::new(9),
        )
    }

    #[test]
    fn the_nth_call_of_an_operation_gets_the_scripted_fault() {
        let mut s = sim(vec![FaultRule {
            trigger: Trigger::Nth {
                operation: Endpoint::Capture,
                n: 2,
            },
            fault: BankFault::TimeoutAfterCommit,
        }]);
        assert_eq!(s.next_call(at(0), Endpoint::Capture, "k", 0).1, None);
        assert_eq!(s.next_call(at(0), Endpoint::Authorize, "k", 0).1, None);
        assert_eq!(
            s.next_call(at(0), Endpoint::Capture, "k", 0).1,
            Some(BankFault::TimeoutAfterCommit)
        );
        assert_eq!(s.next_call(at(0), Endpoint::Capture, "k", 0).1, None);
        assert_eq!(s.stats.calls, 4);
        assert_eq!(s.stats.faults, 1);
    }

    #[test]
    fn seeded_faults_and_latency_depend_on_the_step_not_on_history() {
        let rule = FaultRule {
            trigger: Trigger::Seeded {
                operations: vec![],
                ppm: 500_000,
                onward: false,
            },
            fault: BankFault::Unavailable,
        };
        // One run makes extra calls in step 1; the steps after must not
        // notice.
        let mut a = sim(vec![rule.clone()]);
        let mut b = sim(vec![rule]);
        a.begin_step(1);
        a.next_call(at(1), Endpoint::Authorize, "k", 0);
        a.next_call(at(1), Endpoint::Authorize, "k", 0);
        a.next_call(at(1), Endpoint::Authorize, "k", 0);
        b.begin_step(1);
        b.next_call(at(1), Endpoint::Authorize, "k", 0);
        let mut first_calls = Vec::new();
        for step in 2..40 {
            a.begin_step(step);
            b.begin_step(step);
            let (draw_a, draw_b) = (
                a.next_call(at(step), Endpoint::Capture, "k", 0),
                b.next_call(at(step), Endpoint::Capture, "k", 0),
            );
            assert_eq!(draw_a, draw_b);
            assert!((100..=2_000).contains(&draw_a.0));
            first_calls.push(draw_a.1);
            // A seeded fault that is not an outage hits only the first call
            // of the operation in the step: one retry rides it out.
            assert_eq!(a.next_call(at(step), Endpoint::Capture, "k", 0).1, None);
        }
        assert!(first_calls.iter().any(Option::is_some));
        assert!(first_calls.iter().any(Option::is_none));
    }

    #[test]
    fn a_step_fault_lands_on_its_request_whatever_came_before() {
        let outage = |step| FaultRule {
            trigger: Trigger::Step {
                step,
                operation: Endpoint::Void,
                n: 2,
                onward: true,
            },
            fault: BankFault::Unavailable,
        };
        let mut s = sim(vec![outage(3)]);
        s.begin_step(1);
        for _ in 0..7 {
            assert_eq!(s.next_call(at(1), Endpoint::Void, "k", 0).1, None);
        }
        s.begin_step(3);
        assert_eq!(s.next_call(at(3), Endpoint::Void, "k", 0).1, None);
        assert_eq!(s.next_call(at(3), Endpoint::Capture, "k", 0).1, None);
        for _ in 0..20 {
            assert_eq!(
                s.next_call(at(3), Endpoint::Void, "k", 0).1,
                Some(BankFault::Unavailable)
            );
        }
        s.begin_step(4);
        assert_eq!(s.next_call(at(4), Endpoint::Void, "k", 0).1, None);
    }

    #[test]
    fn the_banks_memory_answers_before_its_chaos_but_not_while_it_is_down() {
        let fault = |fault| FaultRule {
            trigger: Trigger::Step {
                step: 1,
                operation: Endpoint::Authorize,
                n: 1,
                onward: true,
            },
            fault,
        };
        for (rule, remembered_fault) in [
            (BankFault::Unavailable, None),
            (BankFault::Down, Some(BankFault::Down)),
        ] {
            let mut s = sim(vec![fault(rule)]);
            let card = CardRequest::new("4111111111111111", "123", 12, 2030);
            s.bank.authorize(0, &card, 500, "seen").expect("approved");
            s.begin_step(1);
            assert_eq!(
                s.next_call(at(1), Endpoint::Authorize, "new", 0).1,
                Some(rule)
            );
            assert_eq!(
                s.next_call(at(1), Endpoint::Authorize, "seen", 0).1,
                remembered_fault
            );
        }
    }

    #[test]
    fn read_backs_meet_latency_and_seeded_faults_like_every_call() {
        let mut s = sim(vec![FaultRule {
            trigger: Trigger::Seeded {
                operations: vec![],
                ppm: 1_000_000,
                onward: true,
            },
            fault: BankFault::Unavailable,
        }]);
        s.begin_step(1);
        for read in [
            Endpoint::GetAuthorization,
            Endpoint::GetCapture,
            Endpoint::GetRefund,
        ] {
            let (latency, fault) = s.next_call(at(1), read, "auth_1", 0);
            assert!((100..=2_000).contains(&latency));
            assert_eq!(fault, Some(BankFault::Unavailable));
        }
        assert_eq!(s.stats.faults, 3);
    }
}
