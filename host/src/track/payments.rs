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
use crate::concurrent::{self, ConcurrencySpec};
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

/// A replica of the gateway.
type Gateway<'s> = Replica<'s, Plugin>;

/// What every replica of a run shares: the bank, the durable store and
/// the store faults; and a replica maker.
struct World<'s> {
    sandbox: &'s Sandbox,
    seeds: SeedTree,
    clock: VirtualClock,
    meter: Meter,
    durable: Arc<Mutex<DurableStore>>,
    bank: Arc<Mutex<BankSim>>,
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
            bank: Arc::new(Mutex::new(BankSim::new(
                Bank::new(scenario.bank.clone()),
                scenario.faults.clone(),
                scenario.latency,
                seeds,
            ))),
            store_faults: Arc::new(Mutex::new(StoreFaults::new(
                scenario.store_faults.clone(),
                seeds,
            ))),
        }
    }

    fn replica(&self) -> Gateway<'s> {
        Replica::new(
            self.sandbox,
            self.seeds,
            self.clock.clone(),
            self.meter.clone(),
            self.durable.clone(),
            Dependencies {
                bank: Some(self.bank.clone()),
                store_faults: Some(self.store_faults.clone()),
                ..Dependencies::default()
            },
        )
    }

    fn bank(&self) -> std::sync::MutexGuard<'_, BankSim> {
        self.bank.lock().expect("bank lock")
    }
}

/// What the host knows of the gateway's names: the id each payment label
/// got, and the label of each authorize key (for retries that carry none).
/// Shared by the calls in flight of a concurrent run; never locked across
/// an await.
#[derive(Default)]
struct Names {
    labels: Labels,
    label_of_key: BTreeMap<String, String>,
}

impl Names {
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
}

fn lock(names: &Mutex<Names>) -> std::sync::MutexGuard<'_, Names> {
    names.lock().expect("names lock")
}

/// Serves `op`, the client's step `step` (from 1), on `gateway`; after an
/// injected crash the replica drops the instance and makes it again (a
/// fresh one recovers first), and the client retries, as a shop would.
async fn serve(
    world: &World<'_>,
    names: &Mutex<Names>,
    gateway: &mut Gateway<'_>,
    step: u64,
    op: &Op,
) -> (u64, Result<Output, Abort>) {
    let request = {
        let mut names = lock(names);
        if let Op::Authorize {
            key,
            label: Some(label),
            ..
        } = op
        {
            names.label_of_key.insert(key.clone(), label.clone());
        }
        names.request(op)
    };
    world.bank().begin_step(step);
    gateway.serve_step(step);
    let started_ms = world.clock.now_ms();
    let served = gateway.serve(&request).await;
    let at_bank = world.bank().end_step(step);
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
            if let Op::Authorize { key, .. } = op {
                let mut names = lock(names);
                if let Some(label) = names.label_of_key.get(key).cloned() {
                    names.labels.insert(label, ids.id.clone());
                }
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
        waited_ms: world.clock.now_ms().saturating_sub(started_ms),
        ledger: at_bank.ledger,
        injected: at_bank.injected,
        bank_log: at_bank.log,
    };
    (fuel, Ok(output))
}

/// Serves `request`, faults off (the settling pass cannot crash).
async fn settled(gateway: &mut Gateway<'_>, request: Request) -> Result<Answered, Abort> {
    let served = gateway.serve(&request).await;
    served.result.map(|r| r.unwrap_or(Answered::Recovered))
}

/// What the settling pass found: every labelled payment as the gateway
/// reports it (`None`: not found), and every other payment the listings of
/// the scenario's customers show.
pub type SettledPayments = BTreeMap<String, Option<(Payment, PaymentIds)>>;

/// The end of a run: faults off, one more `recover` (on a fresh instance
/// if the last one crashed), then every labelled payment as the gateway
/// reports it, and every other payment the listings of `customers` show
/// (under `id:<payment id>`: a payment whose authorize the client never
/// saw answered, say).
async fn settle(
    world: &World<'_>,
    names: &Mutex<Names>,
    gateway: &mut Gateway<'_>,
    customers: &[String],
) -> Result<SettledPayments, Abort> {
    world.bank().clear_faults();
    world
        .store_faults
        .lock()
        .expect("store faults lock")
        .clear();
    settled(gateway, Request::Recover).await?;
    let mut payments = BTreeMap::new();
    let labels = lock(names).labels.clone();
    for (label, id) in &labels {
        let found = match gateway.serve(&Request::Get(id.clone())).await.result? {
            Ok(Answered::One(p)) => Some(model::payment(&p)),
            _ => None,
        };
        payments.insert(label.clone(), found);
    }
    let known: std::collections::BTreeSet<&String> = labels.values().collect();
    for customer in customers {
        if let Answered::Many(list) =
            settled(gateway, Request::ByCustomer(customer.clone())).await?
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

/// Serves a scenario's requests one at a time to one replica of the
/// gateway.
struct GatewayDriver<'w, 's> {
    world: &'w World<'s>,
    names: Mutex<Names>,
    gateway: Gateway<'s>,
    step: u64,
}

impl Driver for GatewayDriver<'_, '_> {
    type Op = Op;
    type Output = Output;

    async fn call(&mut self, op: &Op) -> (u64, Result<Output, Abort>) {
        self.step += 1;
        self.world
            .store_faults
            .lock()
            .expect("store faults lock")
            .begin_step(self.step);
        serve(self.world, &self.names, &mut self.gateway, self.step, op).await
    }
}

/// Serves a concurrent scenario's requests to replicas of the gateway:
/// each request is its own client process (a shop's checkout sends it at
/// its instant, whatever else is in flight).
struct Concurrent<'w, 's> {
    world: &'w World<'s>,
    names: Mutex<Names>,
}

impl<'a, 'w: 'a, 's: 'a> concurrent::Client<'a> for Concurrent<'w, 's> {
    type Op = Op;
    type Output = Output;
    type Replica = Gateway<'s>;

    fn process(&self, call: usize, _op: &Op) -> String {
        format!("request {call}")
    }

    fn call(
        &'a self,
        call: usize,
        op: &'a Op,
        mut gateway: Gateway<'s>,
    ) -> std::pin::Pin<Box<dyn Future<Output = concurrent::Served<Gateway<'s>, Output>> + 'a>> {
        Box::pin(async move {
            let step = call as u64 + 1;
            let (fuel, result) = serve(self.world, &self.names, &mut gateway, step, op).await;
            let imports = gateway.take_imports();
            concurrent::Served {
                replica: gateway,
                fuel,
                result,
                imports,
            }
        })
    }
}

/// A finished run of one gateway on one scenario.
pub struct Run {
    pub history: History<Output>,
    /// The bank at the end, with its ledger.
    pub bank: BankSim,
    /// Every labelled payment as the gateway reported it after a last
    /// recovery pass (`None`: not found); `Err` if that pass aborted.
    pub settled: Result<SettledPayments, Abort>,
    /// The durable store at the end.
    pub durable: DurableStore,
    pub peak_memory: usize,
    /// What the last instance printed and logged (every replica's, in a
    /// concurrent run).
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

/// The customers of a scenario's authorizations, in order: the settling
/// pass lists their payments.
fn customers(scenario: &Scenario) -> Vec<String> {
    let customers: std::collections::BTreeSet<&String> = scenario
        .plan
        .actions
        .iter()
        .filter_map(|a| match a {
            crate::sim::Action::Call(Op::Authorize { customer, .. }) => Some(customer),
            _ => None,
        })
        .collect();
    customers.into_iter().cloned().collect()
}

/// Runs `scenario` against fresh instances of the sandbox's component:
/// one replica called one request at a time, or, for a concurrent
/// scenario, several at once ([`crate::concurrent`]).
pub async fn run(sandbox: &Sandbox, scenario: &Scenario) -> Run {
    if let Some(spec) = &scenario.concurrency {
        return run_concurrent(sandbox, scenario, spec);
    }
    let world = World::new(sandbox, scenario);
    let driver = GatewayDriver {
        world: &world,
        names: Mutex::new(Names::default()),
        gateway: world.replica(),
        step: 0,
    };
    let mut sim = Sim::new(&scenario.plan, world.clock.clone(), driver);
    sim.run().await;
    let aborted = sim.history().abort().map(|(_, a)| a.clone());
    let (mut driver, history) = sim.into_parts();
    let settled = match aborted {
        Some(abort) => Err(abort),
        None => {
            settle(
                &world,
                &driver.names,
                &mut driver.gateway,
                &customers(scenario),
            )
            .await
        }
    };
    let store = driver.gateway.store();
    Run {
        history,
        bank: world.bank().clone(),
        settled,
        durable: world.durable.lock().expect("durable store lock").clone(),
        peak_memory: store.map_or(0, sandbox::peak_memory),
        output: store.map(|s| sandbox::output(s).0).unwrap_or_default(),
    }
}

/// A concurrent scenario: its replicas over one store and one bank, then
/// the settling pass on the first of them, all on gauntlet's own executor.
fn run_concurrent(sandbox: &Sandbox, scenario: &Scenario, spec: &ConcurrencySpec) -> Run {
    let world = World::new(sandbox, scenario);
    let client = Concurrent {
        world: &world,
        names: Mutex::new(Names::default()),
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
            let gateway = replicas.first_mut().expect("a replica");
            concurrent::settle(
                &world.clock,
                settle(&world, &client.names, gateway, &customers(scenario)),
            )
        }
    };
    let stores: Vec<_> = replicas.iter().filter_map(|r| r.store()).collect();
    Run {
        history: finished.history,
        bank: world.bank().clone(),
        settled,
        durable: world.durable.lock().expect("durable store lock").clone(),
        peak_memory: concurrent::peak_memory(&stores),
        output: concurrent::outputs(&stores),
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
        if scenario.concurrency.is_some() {
            // Which request wins a race depends on where each gateway
            // parks: nothing is compared with the reference.
            for check in [checks::BANK_EFFECTS_MATCH, crate::diff::CHECK] {
                results.push(CheckResult::skip(
                    check,
                    crate::diff::NOT_COMPARED_CONCURRENT,
                ));
            }
            return (results, None);
        }
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
