//! The bank as the plugin sees it: the mock [`Bank`] behind the
//! `gauntlet:payments/bank` import, with the scenario's faults injected at
//! that boundary (unavailable before processing, latency in virtual time, a
//! timeout after the bank committed, the bank forgetting an idempotency key,
//! and crashes of the gateway before or after the bank processed).
//!
//! Faults are decided by rules: scripted (the Nth call of an operation in the
//! run) or seeded (a probability, drawn from a hash of the scenario's seed,
//! the client step in flight, the operation and the attempt within that
//! step), so that the same client request meets the same fault in the
//! learner's run and the reference's.

use rand::RngExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::bank::{self, Bank, Operation};
use crate::bindings::payments::bank as wit;
use crate::sandbox::{HostState, InjectedCrash};
use crate::sim::SeedTree;

/// A fault the bank boundary can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BankFault {
    /// Refused before processing: nothing happened; a retry is safe.
    Unavailable,
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
    /// The Nth call (1-based) of this operation in the run.
    Nth { operation: Operation, n: u64 },
    /// Each call of these operations (all if empty) with this probability,
    /// in parts per million.
    Seeded {
        operations: Vec<Operation>,
        ppm: u32,
    },
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
    /// The client step in flight, and the bank calls made for it so far.
    step: u64,
    attempt: u64,
    calls_per_operation: [u64; 4],
    pub stats: BankStats,
    /// Every fault injected: (client step, operation, fault).
    pub injected: Vec<(u64, Operation, BankFault)>,
}

impl BankSim {
    pub fn new(bank: Bank, rules: Vec<FaultRule>, latency: Latency, seeds: SeedTree) -> Self {
        BankSim {
            bank,
            rules,
            latency,
            seeds,
            step: 0,
            attempt: 0,
            calls_per_operation: [0; 4],
            stats: BankStats::default(),
            injected: Vec::new(),
        }
    }

    /// No more faults or latency (the end-of-run recovery pass runs
    /// without).
    pub fn clear_faults(&mut self) {
        self.rules.clear();
        self.latency = Latency::default();
    }

    /// Marks the start of a client step: seeded faults are drawn per step.
    pub fn begin_step(&mut self, step: u64) {
        self.step = step;
        self.attempt = 0;
    }

    fn draw(&self, operation: Operation, purpose: &str) -> rand::rngs::ChaCha8Rng {
        let mut hasher = Sha256::new();
        hasher.update(self.step.to_le_bytes());
        hasher.update(operation.as_str().as_bytes());
        hasher.update(self.attempt.to_le_bytes());
        hasher.update(purpose.as_bytes());
        let name = hex::encode(hasher.finalize());
        self.seeds.rng(&format!("bank/{name}"))
    }

    /// Counts the call and decides its latency and fault.
    fn next_call(&mut self, operation: Operation) -> (u64, Option<BankFault>) {
        let index = operation as usize;
        self.calls_per_operation[index] += 1;
        let n = self.calls_per_operation[index];
        self.stats.calls += 1;
        let latency = if self.latency.max > 0 {
            self.draw(operation, "latency")
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
                Trigger::Seeded { operations, ppm } => {
                    (operations.is_empty() || operations.contains(&operation))
                        && self
                            .draw(operation, &format!("fault/{index}"))
                            .random_range(0..1_000_000u32)
                            < *ppm
                }
            };
            if applies {
                fault = Some(rule.fault);
                break;
            }
        }
        self.attempt += 1;
        if let Some(fault) = fault {
            self.stats.faults += 1;
            self.injected.push((self.step, operation, fault));
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
    /// clock moves), then the fault, then the bank itself.
    fn bank_call<T>(
        &mut self,
        operation: Operation,
        key: &str,
        process: impl FnOnce(&mut Bank, u64) -> Result<T, bank::BankError>,
    ) -> wasmtime::Result<Result<T, wit::BankError>> {
        let sim = self.bank_sim()?;
        let mut sim = sim.lock().expect("bank lock");
        let (latency, fault) = sim.next_call(operation);
        let now = self.clock().now_ms().saturating_add(latency);
        self.clock().set_ms(now);
        let answer = match fault {
            Some(BankFault::Unavailable) => Answer::Value(Err(wit::BankError::Unavailable)),
            Some(BankFault::CrashBefore) => Answer::Crash("before the bank processed"),
            Some(BankFault::ForgetKey) => {
                sim.bank.forget_idempotency_key(operation, key);
                Answer::Value(process(&mut sim.bank, now).map_err(to_wit_error))
            }
            Some(BankFault::TimeoutAfterCommit) => {
                let _ = process(&mut sim.bank, now);
                Answer::Value(Err(wit::BankError::Timeout))
            }
            Some(BankFault::CrashAfterCommit) => {
                let _ = process(&mut sim.bank, now);
                Answer::Crash("after the bank processed, before the gateway saw the answer")
            }
            None => Answer::Value(process(&mut sim.bank, now).map_err(to_wit_error)),
        };
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
        let request =
            bank::CardRequest::new(&card.number, &card.cvv, card.expiry_month, card.expiry_year);
        self.bank_call(Operation::Authorize, &key, |bank, now| {
            bank.authorize(now, &request, amount, &key)
                .map(authorization)
        })
    }

    async fn capture(
        &mut self,
        authorization_id: String,
        amount: u64,
        key: String,
    ) -> wasmtime::Result<Result<wit::CaptureReceipt, wit::BankError>> {
        self.bank_call(Operation::Capture, &key, |bank, now| {
            bank.capture(now, &authorization_id, amount, &key)
                .map(capture)
        })
    }

    async fn void(
        &mut self,
        authorization_id: String,
        key: String,
    ) -> wasmtime::Result<Result<wit::VoidReceipt, wit::BankError>> {
        self.bank_call(Operation::Void, &key, |bank, now| {
            bank.void(now, &authorization_id, &key)
                .map(|v| wit::VoidReceipt {
                    id: v.id,
                    authorization_id: v.authorization_id,
                    created_ms: v.created_ms,
                })
        })
    }

    async fn refund(
        &mut self,
        capture_id: String,
        amount: u64,
        key: String,
    ) -> wasmtime::Result<Result<wit::RefundReceipt, wit::BankError>> {
        self.bank_call(Operation::Refund, &key, |bank, now| {
            bank.refund(now, &capture_id, amount, &key).map(refund)
        })
    }

    async fn get_authorization(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::Authorization, wit::BankError>> {
        let sim = self.bank_sim()?;
        let sim = sim.lock().expect("bank lock");
        Ok(sim
            .bank
            .get_authorization(&id)
            .map(authorization)
            .ok_or(wit::BankError::UnknownAuthorization))
    }

    async fn get_capture(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::CaptureReceipt, wit::BankError>> {
        let sim = self.bank_sim()?;
        let sim = sim.lock().expect("bank lock");
        Ok(sim
            .bank
            .get_capture(&id)
            .map(capture)
            .ok_or(wit::BankError::UnknownCapture))
    }

    async fn get_refund(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<wit::RefundReceipt, wit::BankError>> {
        let sim = self.bank_sim()?;
        let sim = sim.lock().expect("bank lock");
        Ok(sim
            .bank
            .get_refund(&id)
            .map(refund)
            .ok_or(wit::BankError::UnknownCapture))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::payments::bank::BankConfig;

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
                operation: Operation::Capture,
                n: 2,
            },
            fault: BankFault::TimeoutAfterCommit,
        }]);
        assert_eq!(s.next_call(Operation::Capture).1, None);
        assert_eq!(s.next_call(Operation::Authorize).1, None);
        assert_eq!(
            s.next_call(Operation::Capture).1,
            Some(BankFault::TimeoutAfterCommit)
        );
        assert_eq!(s.next_call(Operation::Capture).1, None);
        assert_eq!(s.stats.calls, 4);
        assert_eq!(s.stats.faults, 1);
    }

    #[test]
    fn seeded_faults_and_latency_depend_on_the_step_and_attempt_not_on_history() {
        let rule = FaultRule {
            trigger: Trigger::Seeded {
                operations: vec![],
                ppm: 500_000,
            },
            fault: BankFault::Unavailable,
        };
        // One run makes extra calls in step 1; step 2 must not notice.
        let mut a = sim(vec![rule.clone()]);
        let mut b = sim(vec![rule]);
        a.begin_step(1);
        a.next_call(Operation::Authorize);
        a.next_call(Operation::Authorize);
        a.next_call(Operation::Authorize);
        b.begin_step(1);
        b.next_call(Operation::Authorize);
        a.begin_step(2);
        b.begin_step(2);
        let draws_a: Vec<_> = (0..20).map(|_| a.next_call(Operation::Capture)).collect();
        let draws_b: Vec<_> = (0..20).map(|_| b.next_call(Operation::Capture)).collect();
        assert_eq!(draws_a, draws_b);
        assert!(draws_a.iter().any(|d| d.1.is_some()));
        assert!(draws_a.iter().any(|d| d.1.is_none()));
        assert!(draws_a.iter().all(|d| (100..=2_000).contains(&d.0)));
    }
}
