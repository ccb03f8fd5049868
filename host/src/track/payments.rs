//! Track `payment-gateway`: a gateway between a shop
//! and a flaky bank. The host simulates the bank ([`bank`]) behind the
//! plugin's `bank` import with the scenario's faults ([`dependency`]),
//! keeps the durable store, crashes the plugin at import boundaries and
//! replaces it (a fresh instance, `recover`, then the client's retry with
//! the same idempotency key).

pub mod bank;
pub mod checks;
pub mod dependency;
pub mod model;
pub mod scenario;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wasmtime::Store;

use self::bank::Bank;
use self::dependency::BankSim;
use self::model::{Answer, Labels, Op, Output, Payment, PaymentIds};
use self::scenario::Scenario;
use crate::bindings::payments::{Plugin, PluginPre, gateway as wit};
use crate::check::{CheckResult, Divergence};
use crate::replica::{self, Component, Replica};
use crate::runner::{DependencyUse, TimelineEvent, clock_faults};
use crate::sandbox::{
    self, Abort, Dependencies, FuelPool, HostState, Meter, Sandbox, VirtualClock,
};
use crate::sim::{Driver, History, SeedTree, Sim};
use crate::store::{DEFAULT_QUOTA_BYTES, DurableStore, StoreFaults};
use crate::track::kind::{TrackKind, common_items};

pub const NAME: &str = "payment-gateway";
pub const WORLD: &str = "gauntlet:payments/plugin@0.1.0";
pub const EXPORT: &str = "gauntlet:payments/gateway@0.1.0";
pub const WIT: &[(&str, &str)] = &[
    (
        "payments.wit",
        include_str!("../../../wit/payments/payments.wit"),
    ),
    (
        "deps/harness/harness.wit",
        include_str!("../../../wit/harness/harness.wit"),
    ),
];
pub const REFERENCE: &[u8] = include_bytes!(env!("GAUNTLET_REFERENCE_PAYMENTS"));

/// Serves a scenario's requests to a gateway: one replica, replaced after
/// each injected crash (a fresh instance, `recover`, the request again).
pub struct GatewayDriver<'s> {
    clock: VirtualClock,
    durable: Arc<Mutex<DurableStore>>,
    bank: Arc<Mutex<BankSim>>,
    store_faults: Arc<Mutex<StoreFaults>>,
    replica: Replica<'s, Plugin>,
    labels: Labels,
    /// The label of each authorize key, for retries that carry none.
    label_of_key: BTreeMap<String, String>,
    step: u64,
}

/// Tells the bank that a call into the gateway begins on this instance
/// (its bank calls are counted per call: the retry bounds hold within one).
fn begin_export_call(store: &mut Store<HostState>) {
    if let Some(bank) = store.data().dependencies.bank.clone() {
        let call = bank.lock().expect("bank lock").begin_export_call();
        store.data_mut().serving.export_call = call;
    }
}

/// Tells the bank that the instance's call into the gateway has ended.
fn end_export_call(store: &Store<HostState>) {
    if let Some(bank) = &store.data().dependencies.bank {
        let call = store.data().serving.export_call;
        bank.lock().expect("bank lock").end_export_call(call);
    }
}

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
        begin_export_call(store);
        let recovered = self
            .gauntlet_payments_gateway()
            .call_recover(&mut *store)
            .await;
        end_export_call(store);
        recovered
    }
}

/// One call into the gateway, owned (it is made again after a crash).
enum Request {
    Authorize(Box<wit::AuthorizeRequest>),
    Capture(String, String),
    Void(String, String),
    Refund(String, String),
    Get(String),
    ByOrder(String),
    ByCustomer(String),
    Recover,
}

enum Answered {
    One(Box<wit::Payment>),
    Many(Vec<wit::Payment>),
    Recovered,
}

impl replica::Request<Plugin> for Request {
    type Response = Result<Answered, wit::PaymentError>;

    async fn send(
        &self,
        store: &mut Store<HostState>,
        plugin: &Plugin,
    ) -> wasmtime::Result<Self::Response> {
        begin_export_call(store);
        let answered = self.call(&mut *store, plugin).await;
        end_export_call(store);
        answered
    }
}

impl Request {
    async fn call(
        &self,
        store: &mut Store<HostState>,
        plugin: &Plugin,
    ) -> wasmtime::Result<Result<Answered, wit::PaymentError>> {
        let gateway = plugin.gauntlet_payments_gateway();
        let one =
            |r: Result<wit::Payment, wit::PaymentError>| r.map(|p| Answered::One(Box::new(p)));
        Ok(match self {
            Request::Authorize(request) => one(gateway.call_authorize(store, request).await?),
            Request::Capture(key, id) => one(gateway.call_capture(store, key, id).await?),
            Request::Void(key, id) => one(gateway.call_void(store, key, id).await?),
            Request::Refund(key, id) => one(gateway.call_refund(store, key, id).await?),
            Request::Get(id) => one(gateway.call_get_payment(store, id).await?),
            Request::ByOrder(order) => Ok(Answered::Many(
                gateway.call_payments_by_order(store, order).await?,
            )),
            Request::ByCustomer(customer) => Ok(Answered::Many(
                gateway.call_payments_by_customer(store, customer).await?,
            )),
            Request::Recover => {
                gateway.call_recover(store).await?;
                Ok(Answered::Recovered)
            }
        })
    }
}

impl<'s> GatewayDriver<'s> {
    pub fn new(
        sandbox: &'s Sandbox,
        scenario: &Scenario,
        clock: VirtualClock,
        fuel: FuelPool,
    ) -> Self {
        let seeds = SeedTree::new(scenario.seed);
        let bank = Arc::new(Mutex::new(BankSim::new(
            Bank::new(scenario.bank.clone()),
            scenario.faults.clone(),
            scenario.latency,
            seeds,
        )));
        let durable = Arc::new(Mutex::new(DurableStore::new(DEFAULT_QUOTA_BYTES)));
        let store_faults = Arc::new(Mutex::new(StoreFaults::new(
            scenario.store_faults.clone(),
            seeds,
        )));
        let replica = Replica::new(
            sandbox,
            seeds,
            clock.clone(),
            Meter::new(sandbox.limits(), fuel),
            durable.clone(),
            Dependencies {
                bank: Some(bank.clone()),
                store_faults: Some(store_faults.clone()),
                ..Dependencies::default()
            },
        );
        GatewayDriver {
            clock,
            durable,
            bank,
            store_faults,
            replica,
            labels: Labels::new(),
            label_of_key: BTreeMap::new(),
            step: 0,
        }
    }

    pub fn bank(&self) -> std::sync::MutexGuard<'_, BankSim> {
        self.bank.lock().expect("bank lock")
    }

    pub fn durable(&self) -> std::sync::MutexGuard<'_, DurableStore> {
        self.durable.lock().expect("durable store lock")
    }

    fn id_of(&self, label: &str) -> String {
        self.labels
            .get(label)
            .cloned()
            .unwrap_or_else(|| format!("unknown-payment-{label}"))
    }

    /// The request `op` makes.
    fn request(&self, op: &Op) -> Request {
        match op {
            Op::Authorize {
                key,
                order,
                customer,
                amount,
                card,
                ..
            } => Request::Authorize(Box::new(wit::AuthorizeRequest {
                idempotency_key: key.clone(),
                order_id: order.clone(),
                customer_id: customer.clone(),
                amount: *amount,
                card: crate::bindings::payments::bank::Card {
                    number: card.number.clone(),
                    cvv: card.cvv.clone(),
                    expiry_month: card.expiry_month,
                    expiry_year: card.expiry_year,
                },
            })),
            Op::Capture { key, payment } => Request::Capture(key.clone(), self.id_of(payment)),
            Op::Void { key, payment } => Request::Void(key.clone(), self.id_of(payment)),
            Op::Refund { key, payment } => Request::Refund(key.clone(), self.id_of(payment)),
            Op::Get { payment } => Request::Get(self.id_of(payment)),
            Op::ByOrder { order } => Request::ByOrder(order.clone()),
            Op::ByCustomer { customer } => Request::ByCustomer(customer.clone()),
        }
    }

    /// Serves `request`, faults off (the settling pass cannot crash).
    async fn settled(&mut self, request: Request) -> Result<Answered, Abort> {
        let served = self.replica.serve(&request).await;
        served.result.map(|r| r.unwrap_or(Answered::Recovered))
    }

    /// The end of a run: faults off, one more `recover` (on a fresh instance
    /// if the last one crashed), then every labelled payment as the gateway
    /// reports it, and every other payment the listings of `customers`
    /// show (under `id:<payment id>`: a payment whose authorize the client
    /// never saw answered, say).
    pub async fn settle(
        &mut self,
        customers: &[String],
    ) -> Result<BTreeMap<String, Option<(Payment, PaymentIds)>>, Abort> {
        self.bank().clear_faults();
        self.store_faults.lock().expect("store faults lock").clear();
        self.settled(Request::Recover).await?;
        let mut payments = BTreeMap::new();
        for (label, id) in self.labels.clone() {
            let found = match self.replica.serve(&Request::Get(id)).await.result? {
                Ok(Answered::One(p)) => Some(model::payment(&p)),
                _ => None,
            };
            payments.insert(label, found);
        }
        let known: std::collections::BTreeSet<String> = self.labels.values().cloned().collect();
        for customer in customers {
            if let Answered::Many(list) =
                self.settled(Request::ByCustomer(customer.clone())).await?
            {
                for p in list {
                    if !known.contains(&p.id) {
                        payments.insert(format!("id:{}", p.id), Some(model::payment(&p)));
                    }
                }
            }
        }
        Ok(payments)
    }
}

impl Driver for GatewayDriver<'_> {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, op: &Op) -> (u64, Result<Output, Abort>) {
        self.step += 1;
        if let Op::Authorize {
            key,
            label: Some(label),
            ..
        } = op
        {
            self.label_of_key.insert(key.clone(), label.clone());
        }
        self.bank().begin_step(self.step);
        self.store_faults
            .lock()
            .expect("store faults lock")
            .begin_step(self.step);
        self.replica.serve_step(self.step);
        let started_ms = self.clock.now_ms();
        // Serve the request; after an injected crash the replica drops the
        // instance and makes it again (a fresh one recovers first), as the
        // client would.
        let served = self.replica.serve(&self.request(op)).await;
        let at_bank = self.bank().end_step(self.step);
        let (fuel, crashes) = (served.fuel, served.crashes);
        let answered = match served.result {
            Ok(answered) => answered,
            Err(abort) => return (fuel, Err(abort)),
        };
        let (answer, ids, message) = match answered {
            Ok(Answered::One(p)) => {
                let (payment, ids) = model::payment(&p);
                // A retry (no label of its own) names the payment of the
                // labelled request with its key.
                if let Op::Authorize { key, .. } = op
                    && let Some(label) = self.label_of_key.get(key)
                {
                    self.labels.insert(label.clone(), ids.id.clone());
                }
                (Answer::Payment(payment), vec![ids], None)
            }
            Ok(Answered::Many(list)) => {
                let (payments, ids) = list.iter().map(model::payment).unzip();
                (Answer::Payments(payments), ids, None)
            }
            Ok(Answered::Recovered) => unreachable!("a scenario's request is never recover"),
            Err(e) => {
                let message = match &e {
                    wit::PaymentError::Other(text) => Some(text.clone()),
                    _ => None,
                };
                (Answer::Error(model::error_kind(&e)), Vec::new(), message)
            }
        };
        let output = Output {
            answer,
            ids,
            message,
            crashes,
            bank_calls: at_bank.calls,
            waited_ms: self.clock.now_ms().saturating_sub(started_ms),
            ledger: at_bank.ledger,
            injected: at_bank.injected,
            bank_log: at_bank.log,
        };
        (fuel, Ok(output))
    }
}

/// A finished run of one gateway on one scenario.
pub struct Run {
    pub history: History<Output>,
    /// The bank at the end, with its ledger.
    pub bank: BankSim,
    /// Every labelled payment as the gateway reported it after a last
    /// recovery pass (`None`: not found); `Err` if that pass aborted.
    pub settled: Result<BTreeMap<String, Option<(Payment, PaymentIds)>>, Abort>,
    /// The durable store at the end.
    pub durable: DurableStore,
    pub peak_memory: usize,
    /// What the last instance printed and logged.
    pub output: String,
}

impl Run {
    /// Virtual time the requests took: waiting on the bank and backing off.
    pub fn waited_ms(&self) -> u64 {
        self.history.returned().map(|(_, _, o)| o.waited_ms).sum()
    }

    /// The faults injected, in order: clock faults, and what the bank
    /// boundary injected while each request was served.
    pub fn timeline(&self) -> Vec<TimelineEvent> {
        let mut events = clock_faults(&self.history);
        for (entry, call, output) in self.history.returned() {
            let injected = || output.injected.iter().map(|&i| &self.bank.injected[i]);
            let bank_crashes = injected().filter(|(_, _, f)| f.is_crash()).count();
            events.extend(injected().map(|(_, op, fault)| TimelineEvent {
                call,
                time_ms: entry.time_ms,
                kind: "bank",
                description: format!("{op}: {fault}"),
            }));
            let other_crashes = (output.crashes as usize).saturating_sub(bank_crashes);
            if other_crashes > 0 {
                events.push(TimelineEvent {
                    call,
                    time_ms: entry.time_ms,
                    kind: "store",
                    description: format!("{other_crashes} crash(es) at a durable-store write"),
                });
            }
        }
        events.sort_by_key(|e| e.call);
        events
    }

    /// Crashes injected while serving the requests.
    pub fn crashes(&self) -> u64 {
        self.history
            .returned()
            .map(|(_, _, o)| u64::from(o.crashes))
            .sum()
    }
}

/// Runs `scenario` against fresh instances of the sandbox's component.
pub async fn run(sandbox: &Sandbox, scenario: &Scenario) -> Run {
    let clock = VirtualClock::default();
    clock.set_ms(scenario.plan.start_ms);
    let fuel = FuelPool::new(sandbox.limits().fuel_per_scenario);
    let driver = GatewayDriver::new(sandbox, scenario, clock.clone(), fuel);
    let mut sim = Sim::new(&scenario.plan, clock, driver);
    sim.run().await;
    let aborted = sim.history().abort().is_some();
    let (mut driver, history) = sim.into_parts();
    let customers: std::collections::BTreeSet<String> = scenario
        .plan
        .actions
        .iter()
        .filter_map(|a| match a {
            crate::sim::Action::Call(Op::Authorize { customer, .. }) => Some(customer.clone()),
            _ => None,
        })
        .collect();
    let customers: Vec<String> = customers.into_iter().collect();
    let settled = if aborted {
        Err(history.abort().expect("aborted").1.clone())
    } else {
        driver.settle(&customers).await
    };
    let store = driver.replica.store();
    let peak_memory = store.map_or(0, sandbox::peak_memory);
    let output = store.map(|s| sandbox::output(s).0).unwrap_or_default();
    let bank = driver.bank().clone();
    let durable = driver.durable().clone();
    Run {
        history,
        bank,
        settled,
        durable,
        peak_memory,
        output,
    }
}

/// The payment gateway as a [`TrackKind`].
pub struct PaymentsKind;

impl TrackKind for PaymentsKind {
    type Op = Op;
    type Output = Output;
    type Scenario = Scenario;
    type Run = Run;
    common_items!();

    fn call_kind(op: &Op) -> &'static str {
        op.name()
    }

    fn run(sandbox: &Sandbox, scenario: &Scenario) -> impl Future<Output = Run> + Send {
        run(sandbox, scenario)
    }

    /// Every check of the track on the plugin's run, and the diff of its
    /// normalised answers against the other run's.
    fn evaluate(
        scenario: &Scenario,
        _sandbox: &Sandbox,
        plugin: &Run,
        reference: &Run,
    ) -> (Vec<CheckResult>, Option<Divergence>) {
        let plan = &scenario.plan;
        let answers = checks::Answers::new(plan, plugin);
        let mut results = vec![
            checks::completes(plan, plugin),
            checks::expectations(scenario, &answers),
            checks::one_hold_per_payment(&answers),
            checks::idempotent_replay(&answers),
            checks::key_reuse_refused(&answers),
            checks::permanent_errors_once(&answers),
            checks::no_call_for_invalid_transition(&answers),
            checks::bank_agrees(plugin),
            checks::retry_contract(&answers),
            checks::bank_keys(plugin),
        ];
        results.push(checks::bank_effects_match(plugin, reference));
        let divergence = crate::diff::first_divergence(plan, &reference.history, &plugin.history);
        results.push(crate::diff::as_check(
            divergence.as_ref(),
            plugin.history.calls(),
        ));
        (results, divergence)
    }

    fn timeline(run: &Run) -> Vec<TimelineEvent> {
        run.timeline()
    }

    fn dependency(run: &Run) -> Option<DependencyUse> {
        Some(DependencyUse {
            name: "bank",
            calls: run.bank.stats.calls,
            waited_ms: run.waited_ms(),
            crashes: run.crashes(),
        })
    }
}
