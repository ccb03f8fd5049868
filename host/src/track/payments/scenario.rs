//! The payment-gateway scenario format (see `scenarios/README.md`) and its
//! compilation into a [`Plan`] plus the bank's configuration and faults.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;
use serde::Deserialize;
use toml::Spanned;

use super::bank::{BankConfig, CardAccount, HOUR_MS};
use super::dependency::{BankFault, Endpoint, FaultRule, Latency, Trigger};
use super::model::{CardDetails, Op};
use crate::concurrent::ConcurrencySpec;
use crate::error::Result;
use crate::scenario::{Common, DEFAULT_START_MS, HasCommon, Range, Source};
use crate::sim::{Action, Plan, SeedTree};
use crate::store::{STORE_FAULT_USAGE, StoreFault, WriteTrigger};

const MAX_OPERATIONS: u64 = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Spec {
    format: u32,
    description: String,
    seed: u64,
    #[serde(default = "default_start")]
    start_ms: u64,
    #[serde(default)]
    bank: BankSpec,
    #[serde(default)]
    faults: Vec<Spanned<FaultSpec>>,
    #[serde(default)]
    steps: Vec<Spanned<StepSpec>>,
    generate: Option<Spanned<GenerateSpec>>,
    /// Replicas, calls in flight, the scheduler: a concurrent scenario.
    concurrency: Option<Spanned<ConcurrencySpec>>,
}

fn default_start() -> u64 {
    DEFAULT_START_MS
}

impl HasCommon for Spec {
    fn common(&self) -> Common {
        Common {
            format: self.format,
            description: self.description.clone(),
            seed: self.seed,
            start_ms: self.start_ms,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BankSpec {
    latency_ms: Option<Range>,
    authorization_ttl_hours: Option<u64>,
    #[serde(default)]
    cards: Vec<Spanned<CardSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CardSpec {
    number: String,
    cvv: String,
    expiry: String,
    balance: u64,
}

/// Why a bank fault cannot hit `endpoint`, if it cannot: a read-back has no
/// idempotency key to forget.
fn misplaced(fault: BankFault, endpoint: Endpoint) -> Option<String> {
    (fault == BankFault::ForgetKey && endpoint.operation().is_none()).then(|| {
        format!("forget-key hits an operation that takes an idempotency key, not {endpoint}")
    })
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum FaultKind {
    Unavailable,
    /// `unavailable` on every call from the one named on: the bank is down
    /// for the rest of the request (a step's fault, or seeded), and even a
    /// call it remembers is not answered.
    Outage,
    TimeoutAfterCommit,
    ForgetKey,
    CrashBefore,
    CrashAfterCommit,
    CrashBeforeStoreWrite,
    CrashAfterStoreWrite,
}

impl FaultKind {
    /// The fault at the bank boundary, or at a store write.
    fn target(self) -> Result<BankFault, StoreFault> {
        match self {
            FaultKind::Unavailable => Ok(BankFault::Unavailable),
            FaultKind::Outage => Ok(BankFault::Down),
            FaultKind::TimeoutAfterCommit => Ok(BankFault::TimeoutAfterCommit),
            FaultKind::ForgetKey => Ok(BankFault::ForgetKey),
            FaultKind::CrashBefore => Ok(BankFault::CrashBefore),
            FaultKind::CrashAfterCommit => Ok(BankFault::CrashAfterCommit),
            FaultKind::CrashBeforeStoreWrite => Err(StoreFault::CrashBeforeWrite),
            FaultKind::CrashAfterStoreWrite => Err(StoreFault::CrashAfterWrite),
        }
    }
}

/// `fault` at the `nth` call of `operation` in the run, or with
/// `probability` on the first call of each of `operations` (all if absent)
/// in each request (on every call of it in the request, for an outage).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FaultSpec {
    fault: FaultKind,
    operation: Option<Endpoint>,
    nth: Option<u64>,
    probability: Option<f64>,
    operations: Option<Vec<Endpoint>>,
}

/// A fault on the request of its step: `fault` at the `nth` call (1 if
/// absent) of `operation` (the step's own if absent) while the request is
/// served, its `recover` after a crash included; an `outage` from that call
/// on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepFaultSpec {
    fault: FaultKind,
    operation: Option<Endpoint>,
    nth: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AuthorizeSpec {
    key: String,
    order: String,
    customer: String,
    amount: u64,
    card: String,
    cvv: String,
    expiry: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KeyedSpec {
    key: String,
    payment: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepSpec {
    advance_ms: Option<u64>,
    authorize: Option<AuthorizeSpec>,
    #[serde(rename = "as")]
    label: Option<String>,
    capture: Option<KeyedSpec>,
    void: Option<KeyedSpec>,
    refund: Option<KeyedSpec>,
    get: Option<String>,
    by_order: Option<String>,
    by_customer: Option<String>,
    #[serde(default)]
    faults: Vec<StepFaultSpec>,
    expect: Option<Expect>,
}

/// What a scripted step expects of every gateway (the reference included).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    /// The payment's state (`pending`, `authorized`, ...).
    pub state: Option<String>,
    /// The error's kind (`insufficient-funds`, `invalid-transition(captured)`, ...).
    pub error: Option<String>,
    /// How many payments a listing returns.
    pub count: Option<usize>,
}

impl Expect {
    /// The first way `answer` falls short, as "expected X, got Y".
    pub fn mismatch(&self, answer: &super::model::Answer) -> Option<String> {
        use super::model::Answer;
        if let Some(state) = &self.state {
            match answer {
                Answer::Payment(p) if &p.state == state => {}
                other => return Some(format!("expected a {state} payment, got {other}")),
            }
        }
        if let Some(kind) = &self.error {
            match answer {
                Answer::Error(k) if k == kind => {}
                other => return Some(format!("expected error {kind}, got {other}")),
            }
        }
        if let Some(count) = self.count {
            match answer {
                Answer::Payments(list) if list.len() == count => {}
                other => return Some(format!("expected {count} payments, got {other}")),
            }
        }
        None
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GenerateSpec {
    operations: u64,
    customers: u64,
    /// Cents, uniform.
    amount: Option<Range>,
    interval_ms: Option<Range>,
}

/// A loaded scenario: the bank, its faults, the plan and the expectations.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub description: String,
    pub seed: u64,
    pub bank: BankConfig,
    pub faults: Vec<FaultRule>,
    /// Crashes at writes to the durable store.
    pub store_faults: Vec<(WriteTrigger, StoreFault)>,
    pub latency: Latency,
    pub plan: Plan<Op>,
    /// Expectations by call index, with the line they were written on.
    pub expectations: BTreeMap<usize, (Expect, usize)>,
    /// Replicas of the gateway serving at once, if any.
    pub concurrency: Option<ConcurrencySpec>,
}

/// "MM/YYYY".
fn parse_expiry(text: &str) -> Option<(u8, u16)> {
    let (month, year) = text.split_once('/')?;
    let month: u8 = month.parse().ok()?;
    let year: u16 = year.parse().ok()?;
    (1..=12).contains(&month).then_some((month, year))
}

impl Scenario {
    pub fn load(source: &Source, seed: Option<u64>) -> Result<Self> {
        let spec: Spec = source.parse()?;
        let seed = seed.unwrap_or(spec.seed);

        let mut bank = BankConfig::default();
        if let Some(hours) = spec.bank.authorization_ttl_hours {
            bank.authorization_ttl_ms = hours.saturating_mul(HOUR_MS);
        }
        for card in &spec.bank.cards {
            let c = card.get_ref();
            let Some((month, year)) = parse_expiry(&c.expiry) else {
                return Err(source
                    .error_at_span(card.span(), format!("expiry {:?} is not MM/YYYY", c.expiry)));
            };
            bank.cards
                .push(CardAccount::new(&c.number, &c.cvv, month, year, c.balance));
        }
        if let Err(e) = bank.validate() {
            return Err(source.error_at("cards", format!("bank cards: {e}")));
        }
        let latency = spec
            .bank
            .latency_ms
            .map_or(Latency::default(), |r| Latency {
                min: r.min,
                max: r.max,
            });
        if latency.min > latency.max {
            return Err(source.error_at("latency-ms", "latency-ms: min is above max".into()));
        }

        let mut faults = Vec::new();
        let mut store_faults = Vec::new();
        for fault in &spec.faults {
            let f = fault.get_ref();
            let err = |m: String| source.error_at_span(fault.span(), m);
            if let Err(store_fault) = f.fault.target() {
                let trigger = (f.operation.is_none() && f.operations.is_none())
                    .then(|| WriteTrigger::from_spec(f.nth, f.probability))
                    .flatten()
                    .ok_or_else(|| err(STORE_FAULT_USAGE.into()))?;
                store_faults.push((trigger, store_fault));
                continue;
            }
            let onward = f.fault == FaultKind::Outage;
            let trigger = match (f.operation, f.nth, f.probability, &f.operations) {
                (Some(_), Some(_), None, None) if onward => {
                    return Err(err(
                        "an outage lasts the rest of a request: put it in a step's `faults`, or give it a `probability`".into(),
                    ));
                }
                (Some(operation), Some(n), None, None) if n >= 1 => Trigger::Nth { operation, n },
                (None, None, Some(p), ops) if (0.0..=1.0).contains(&p) => Trigger::Seeded {
                    operations: ops.clone().unwrap_or_default(),
                    ppm: crate::scenario::ppm(p),
                    onward,
                },
                _ => {
                    return Err(err(
                        "a fault takes `operation` and `nth` (from 1), or `probability` (0 to 1) and optionally `operations`".into(),
                    ));
                }
            };
            let fault = f.fault.target().expect("a bank fault");
            let mut hit = f.operation.iter().chain(f.operations.iter().flatten());
            if let Some(why) = hit.find_map(|&e| misplaced(fault, e)) {
                return Err(err(why));
            }
            faults.push(FaultRule { trigger, fault });
        }

        let mut actions = Vec::new();
        let mut expectations = BTreeMap::new();
        let mut labels = BTreeSet::new();
        let mut calls = 0;
        for step in &spec.steps {
            let span = step.span();
            let line = source.line_of(span.start);
            let s = step.get_ref();
            let err = |m: String| source.error_at_span(span.clone(), m);
            if let Some(ms) = s.advance_ms {
                actions.push(Action::Advance(ms));
            }
            let keyed = |k: &KeyedSpec| -> Result<(String, String)> {
                if !labels.contains(&k.payment) {
                    return Err(err(format!(
                        "no earlier authorize step is labelled {:?} (as = ...)",
                        k.payment
                    )));
                }
                Ok((k.key.clone(), k.payment.clone()))
            };
            let mut ops = Vec::new();
            if let Some(a) = &s.authorize {
                let Some((month, year)) = parse_expiry(&a.expiry) else {
                    return Err(err(format!("expiry {:?} is not MM/YYYY", a.expiry)));
                };
                ops.push(Op::Authorize {
                    key: a.key.clone(),
                    label: s.label.clone(),
                    order: a.order.clone(),
                    customer: a.customer.clone(),
                    amount: a.amount,
                    card: CardDetails {
                        number: a.card.clone(),
                        cvv: a.cvv.clone(),
                        expiry_month: month,
                        expiry_year: year,
                    },
                });
            }
            if let Some(k) = &s.capture {
                let (key, payment) = keyed(k)?;
                ops.push(Op::Capture { key, payment });
            }
            if let Some(k) = &s.void {
                let (key, payment) = keyed(k)?;
                ops.push(Op::Void { key, payment });
            }
            if let Some(k) = &s.refund {
                let (key, payment) = keyed(k)?;
                ops.push(Op::Refund { key, payment });
            }
            if let Some(payment) = &s.get {
                ops.push(Op::Get {
                    payment: payment.clone(),
                });
            }
            if let Some(order) = &s.by_order {
                ops.push(Op::ByOrder {
                    order: order.clone(),
                });
            }
            if let Some(customer) = &s.by_customer {
                ops.push(Op::ByCustomer {
                    customer: customer.clone(),
                });
            }
            if ops.len() > 1 {
                return Err(err("a step has one request".into()));
            }
            if ops.is_empty() && s.advance_ms.is_none() {
                return Err(err(
                    "empty step: give one of authorize, capture, void, refund, get, by-order, by-customer or advance-ms".into(),
                ));
            }
            if s.label.is_some() && s.authorize.is_none() {
                return Err(err("`as` names the payment of an authorize step".into()));
            }
            if let Some(label) = &s.label {
                labels.insert(label.clone());
            }
            if let Some(op) = ops.pop() {
                let own = match &op {
                    Op::Authorize { .. } => Some(Endpoint::Authorize),
                    Op::Capture { .. } => Some(Endpoint::Capture),
                    Op::Void { .. } => Some(Endpoint::Void),
                    Op::Refund { .. } => Some(Endpoint::Refund),
                    _ => None,
                };
                for f in &s.faults {
                    let Ok(fault) = f.fault.target() else {
                        return Err(err(
                            "a step's faults are bank faults; crashes at store writes go in [[faults]]".into(),
                        ));
                    };
                    let Some(operation) = f.operation.or(own) else {
                        return Err(err(
                            "a fault on a read names the bank `operation` it hits".into()
                        ));
                    };
                    if let Some(why) = misplaced(fault, operation) {
                        return Err(err(why));
                    }
                    let n = f.nth.unwrap_or(1);
                    if n == 0 {
                        return Err(err("a step fault's `nth` counts from 1".into()));
                    }
                    faults.push(FaultRule {
                        trigger: Trigger::Step {
                            // The driver numbers client steps from 1.
                            step: calls as u64 + 1,
                            operation,
                            n,
                            onward: f.fault == FaultKind::Outage,
                        },
                        fault,
                    });
                }
                if let Some(expect) = &s.expect {
                    if spec.concurrency.is_some() {
                        return Err(err(crate::concurrent::NO_EXPECT.into()));
                    }
                    expectations.insert(calls, (expect.clone(), line));
                }
                actions.push(Action::Call(op));
                calls += 1;
            } else if s.expect.is_some() || !s.faults.is_empty() {
                return Err(err(
                    "expect and faults belong to a step with a request".into()
                ));
            }
        }
        if let Some(generate) = &spec.generate {
            generate_workload(source, generate, SeedTree::new(seed), &mut actions)?;
        }
        let concurrency = crate::concurrent::section(source, spec.concurrency.as_ref())?;
        Ok(Scenario {
            name: source.name.clone(),
            file: source.file.clone(),
            description: spec.description,
            seed,
            bank,
            faults,
            store_faults,
            latency,
            plan: Plan {
                start_ms: spec.start_ms,
                actions,
            },
            expectations,
            concurrency,
        })
    }
}

/// A shop's traffic: new authorizations on the test cards, captures, voids
/// and refunds of earlier payments (some no longer allowed), retries of an
/// earlier request with its key, and reads.
fn generate_workload(
    source: &Source,
    generate: &Spanned<GenerateSpec>,
    seeds: SeedTree,
    actions: &mut Vec<Action<Op>>,
) -> Result<()> {
    let spec = generate.get_ref();
    let err = |m: String| source.error_at_span(generate.span(), m);
    if spec.operations == 0 || spec.operations > MAX_OPERATIONS {
        return Err(err(format!("operations must be 1..={MAX_OPERATIONS}")));
    }
    if spec.customers == 0 {
        return Err(err("customers must be at least 1".into()));
    }
    let amount = spec.amount.unwrap_or(Range {
        min: 100,
        max: 20_000,
    });
    let interval = spec.interval_ms.unwrap_or(Range { min: 0, max: 1_000 });
    if amount.min > amount.max || interval.min > interval.max {
        return Err(err("a range's min is above its max".into()));
    }
    // Mostly the roomy card; sometimes the small, the empty and the expired.
    let cards = [
        ("4111111111111111", "123", 12, 2030, 80),
        ("4242424242424242", "456", 6, 2030, 10),
        ("5555555555554444", "789", 9, 2030, 5),
        ("5105105105105100", "321", 3, 2020, 5),
    ];
    let mut rng = seeds.rng("workload");
    let mut payments: Vec<String> = Vec::new();
    let mut requests: Vec<Op> = Vec::new();
    for i in 0..spec.operations {
        let gap = rng.random_range(interval.min..=interval.max);
        if gap > 0 {
            actions.push(Action::Advance(gap));
        }
        let roll = rng.random_range(0..100u32);
        let op = if payments.is_empty() || roll < 40 {
            let pick = rng.random_range(0..100u32);
            let mut acc = 0;
            let card = cards
                .iter()
                .find(|c| {
                    acc += c.4;
                    pick < acc
                })
                .unwrap_or(&cards[0]);
            let label = format!("p{i}");
            let customer = format!("c{}", rng.random_range(0..spec.customers));
            let op = Op::Authorize {
                key: format!("auth-{i}"),
                label: Some(label.clone()),
                order: format!("o{i}"),
                customer,
                amount: rng.random_range(amount.min..=amount.max),
                card: CardDetails {
                    number: card.0.into(),
                    cvv: card.1.into(),
                    expiry_month: card.2,
                    expiry_year: card.3,
                },
            };
            payments.push(label);
            op
        } else if roll < 85 {
            let payment = payments[rng.random_range(0..payments.len())].clone();
            let key = format!("req-{i}");
            match rng.random_range(0..3u32) {
                0 => Op::Capture { key, payment },
                1 => Op::Void { key, payment },
                _ => Op::Refund { key, payment },
            }
        } else if roll < 93 && !requests.is_empty() {
            // A client retrying an earlier request with the same key.
            requests[rng.random_range(0..requests.len())].clone()
        } else {
            Op::Get {
                payment: payments[rng.random_range(0..payments.len())].clone(),
            }
        };
        if op.key().is_some() {
            let mut retry = op.clone();
            if let Op::Authorize { label, .. } = &mut retry {
                *label = None;
            }
            requests.push(retry);
        }
        actions.push(Action::Call(op));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn load(faults: &str) -> Result<Scenario> {
        let text = format!(
            "format = 1\ndescription = \"d\"\nseed = 1\n{faults}\n[[steps]]\nget = \"p\"\n"
        );
        Scenario::load(
            &Source {
                name: "t".into(),
                file: "t.toml".into(),
                text,
            },
            None,
        )
    }

    #[test]
    fn faults_can_target_the_read_backs_but_forget_key_needs_a_key() {
        let s = load("[[faults]]\nfault = \"unavailable\"\nprobability = 0.5\noperations = [\"get-capture\"]\n").unwrap();
        assert_eq!(
            s.faults[0].trigger,
            Trigger::Seeded {
                operations: vec![Endpoint::GetCapture],
                ppm: 500_000,
                onward: false,
            }
        );
        match load("[[faults]]\nfault = \"forget-key\"\noperation = \"get-refund\"\nnth = 1\n") {
            Err(Error::Scenario { line, message, .. }) => {
                assert_eq!(line, 4);
                assert!(message.contains("not get-refund"), "{message}");
            }
            other => panic!("loaded: {:?}", other.map(|s| s.faults)),
        }
        assert!(
            load("[[faults]]\nfault = \"unavailable\"\noperation = \"get-everything\"\nnth = 1\n")
                .is_err()
        );
    }
}
