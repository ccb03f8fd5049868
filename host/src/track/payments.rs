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

/// Crashes in a row while serving one request before the run is stopped:
/// a scenario that crashes the gateway every time can never finish.
const MAX_CRASHES_PER_REQUEST: u32 = 8;

/// Serves a scenario's requests to a gateway, replacing it after each
/// injected crash.
pub struct GatewayDriver<'s> {
    sandbox: &'s Sandbox,
    seeds: SeedTree,
    clock: VirtualClock,
    meter: Meter,
    durable: Arc<Mutex<DurableStore>>,
    bank: Arc<Mutex<BankSim>>,
    store_faults: Arc<Mutex<StoreFaults>>,
    /// The live instance; `None` after a crash until the next request.
    live: Option<(Store<HostState>, Plugin)>,
    /// Whether the next instance replaces a crashed one (and so must
    /// `recover` first).
    replacing: bool,
    labels: Labels,
    /// The label of each authorize key, for retries that carry none.
    label_of_key: BTreeMap<String, String>,
    step: u64,
}

impl<'s> GatewayDriver<'s> {
    pub fn new(
        sandbox: &'s Sandbox,
        scenario: &Scenario,
        clock: VirtualClock,
        fuel: FuelPool,
    ) -> Self {
        let seeds = SeedTree::new(scenario.seed);
        let bank = BankSim::new(
            Bank::new(scenario.bank.clone()),
            scenario.faults.clone(),
            scenario.latency,
            seeds,
        );
        GatewayDriver {
            sandbox,
            seeds,
            clock,
            meter: Meter::new(sandbox.limits(), fuel),
            durable: Arc::new(Mutex::new(DurableStore::new(DEFAULT_QUOTA_BYTES))),
            bank: Arc::new(Mutex::new(bank)),
            store_faults: Arc::new(Mutex::new(StoreFaults::new(
                scenario.store_faults.clone(),
                seeds,
            ))),
            live: None,
            replacing: false,
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

    /// The live instance, made (and recovered, if it replaces a crashed
    /// one) if need be. Returns the fuel burnt doing so.
    async fn ensure_live(&mut self) -> Result<u64, Abort> {
        if self.live.is_some() {
            return Ok(0);
        }
        let mut store = self
            .sandbox
            .new_store_with(&self.seeds, &self.clock, self.durable.clone());
        store.data_mut().set_dependencies(Dependencies {
            bank: Some(self.bank.clone()),
            store_faults: Some(self.store_faults.clone()),
            ..Dependencies::default()
        });
        let pre = PluginPre::new(self.sandbox.instance_pre().clone()).map_err(|e| Abort::Trap {
            trap: crate::engine::first_line(&e),
            guest_message: None,
        })?;
        let budget = self.meter.begin(&mut store);
        let result = pre.instantiate_async(&mut store).await;
        let (mut fuel, plugin) = self.meter.finish(&mut store, budget, result);
        let plugin = plugin?;
        if self.replacing {
            self.bank().begin_export_call();
            let budget = self.meter.begin(&mut store);
            let result = plugin
                .gauntlet_payments_gateway()
                .call_recover(&mut store)
                .await;
            let (spent, result) = self.meter.finish(&mut store, budget, result);
            fuel += spent;
            result?;
            self.replacing = false;
        }
        self.live = Some((store, plugin));
        Ok(fuel)
    }

    fn id_of(&self, label: &str) -> String {
        self.labels
            .get(label)
            .cloned()
            .unwrap_or_else(|| format!("unknown-payment-{label}"))
    }

    /// One attempt at `op` on the live instance.
    async fn attempt(
        &mut self,
        op: &Op,
    ) -> (u64, Result<Result<Answered, wit::PaymentError>, Abort>) {
        let ids: Vec<String> = match op {
            Op::Capture { payment, .. }
            | Op::Void { payment, .. }
            | Op::Refund { payment, .. }
            | Op::Get { payment } => vec![self.id_of(payment)],
            _ => Vec::new(),
        };
        self.bank().begin_export_call();
        let (store, plugin) = self.live.as_mut().expect("a live instance");
        let gateway = plugin.gauntlet_payments_gateway();
        let budget = self.meter.begin(store);
        let result = match op {
            Op::Authorize {
                key,
                order,
                customer,
                amount,
                card,
                ..
            } => {
                let request = wit::AuthorizeRequest {
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
                };
                gateway
                    .call_authorize(&mut *store, &request)
                    .await
                    .map(|r| r.map(|p| Answered::One(Box::new(p))))
            }
            Op::Capture { key, .. } => gateway
                .call_capture(&mut *store, key, &ids[0])
                .await
                .map(|r| r.map(|p| Answered::One(Box::new(p)))),
            Op::Void { key, .. } => gateway
                .call_void(&mut *store, key, &ids[0])
                .await
                .map(|r| r.map(|p| Answered::One(Box::new(p)))),
            Op::Refund { key, .. } => gateway
                .call_refund(&mut *store, key, &ids[0])
                .await
                .map(|r| r.map(|p| Answered::One(Box::new(p)))),
            Op::Get { .. } => gateway
                .call_get_payment(&mut *store, &ids[0])
                .await
                .map(|r| r.map(|p| Answered::One(Box::new(p)))),
            Op::ByOrder { order } => gateway
                .call_payments_by_order(&mut *store, order)
                .await
                .map(|list| Ok(Answered::Many(list))),
            Op::ByCustomer { customer } => gateway
                .call_payments_by_customer(&mut *store, customer)
                .await
                .map(|list| Ok(Answered::Many(list))),
        };
        self.meter.finish(store, budget, result)
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
        self.ensure_live().await?;
        self.bank().begin_export_call();
        let (store, plugin) = self.live.as_mut().expect("a live instance");
        let budget = self.meter.begin(store);
        let result = plugin
            .gauntlet_payments_gateway()
            .call_recover(&mut *store)
            .await;
        self.meter.finish(store, budget, result).1?;
        let mut payments = BTreeMap::new();
        for (label, id) in self.labels.clone() {
            let (store, plugin) = self.live.as_mut().expect("a live instance");
            let budget = self.meter.begin(store);
            let result = plugin
                .gauntlet_payments_gateway()
                .call_get_payment(&mut *store, &id)
                .await;
            let found = self.meter.finish(store, budget, result).1?;
            payments.insert(label, found.ok().map(|p| model::payment(&p)));
        }
        let known: std::collections::BTreeSet<String> = self.labels.values().cloned().collect();
        for customer in customers {
            let (store, plugin) = self.live.as_mut().expect("a live instance");
            let budget = self.meter.begin(store);
            let result = plugin
                .gauntlet_payments_gateway()
                .call_payments_by_customer(&mut *store, customer)
                .await;
            for p in self.meter.finish(store, budget, result).1? {
                if !known.contains(&p.id) {
                    payments.insert(format!("id:{}", p.id), Some(model::payment(&p)));
                }
            }
        }
        Ok(payments)
    }
}

enum Answered {
    One(Box<wit::Payment>),
    Many(Vec<wit::Payment>),
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
        let (stats_before, ledger_before, injected_before, log_before) = {
            let mut bank = self.bank();
            bank.begin_step(self.step);
            (
                bank.stats,
                bank.bank.ledger().len(),
                bank.injected.len(),
                bank.calls.len(),
            )
        };
        self.store_faults
            .lock()
            .expect("store faults lock")
            .begin_step(self.step);
        let started_ms = self.clock.now_ms();
        let mut fuel = 0;
        let mut crashes = 0;
        // Serve the request; after an injected crash, drop the instance and
        // try again (a fresh one recovers first), as the client would.
        let answered = loop {
            let result = match self.ensure_live().await {
                Ok(spent) => {
                    fuel += spent;
                    let (spent, result) = self.attempt(op).await;
                    fuel += spent;
                    result
                }
                Err(abort) => Err(abort),
            };
            match result {
                Ok(answered) => break answered,
                Err(Abort::Crash { reason }) => {
                    crashes += 1;
                    self.live = None;
                    self.replacing = true;
                    if crashes > MAX_CRASHES_PER_REQUEST {
                        return (fuel, Err(Abort::Crash { reason }));
                    }
                }
                Err(abort) => return (fuel, Err(abort)),
            }
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
            Err(e) => {
                let message = match &e {
                    wit::PaymentError::Other(text) => Some(text.clone()),
                    _ => None,
                };
                (Answer::Error(model::error_kind(&e)), Vec::new(), message)
            }
        };
        let bank = self.bank();
        let output = Output {
            answer,
            ids,
            message,
            crashes,
            bank_calls: bank.stats.calls - stats_before.calls,
            waited_ms: self.clock.now_ms().saturating_sub(started_ms),
            ledger: (ledger_before, bank.bank.ledger().len()),
            injected: (injected_before, bank.injected.len()),
            bank_log: (log_before, bank.calls.len()),
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
            let (start, end) = output.injected;
            let bank_crashes = self.bank.injected[start..end]
                .iter()
                .filter(|(_, _, f)| f.is_crash())
                .count();
            events.extend(self.bank.injected[start..end].iter().map(|(_, op, fault)| {
                TimelineEvent {
                    call,
                    time_ms: entry.time_ms,
                    kind: "bank",
                    description: format!("{op}: {fault}"),
                }
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
    let peak_memory = driver
        .live
        .as_ref()
        .map_or(0, |(store, _)| sandbox::peak_memory(store));
    let output = driver
        .live
        .as_ref()
        .map(|(store, _)| sandbox::output(store).0)
        .unwrap_or_default();
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
