//! The native test environment: a virtual clock, an in-memory ordered store
//! with the host's limits, and the host's own mock bank behind a wrapper that
//! injects the track's faults (unavailable before processing, timeout after
//! commit, the bank forgetting the key, latency, and a crash of the gateway
//! right after the bank answered). A crash is a panic with a [`Crash`]
//! payload: the test catches it, drops the gateway, and builds a fresh one
//! over the same store and bank, as the host does with a fresh instance.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;

use crate::core::{
    Authorization, AuthorizeRequest, Bank, BankError, CaptureReceipt, Card, Clock, Condition,
    Gateway, Operation, Payment, PaymentRecord, RefundReceipt, Response, Store, StoreError,
    VoidReceipt, Write, bank_key,
};
use crate::host_payments::bank as mock;

/// 2026-01-01T00:00:00Z: every test card but the expired one is valid.
pub const T0: u64 = 1_767_225_600_000;
pub const HOUR_MS: u64 = 3_600_000;

pub const VISA: &str = "4111111111111111";
pub const VISA_500: &str = "4242424242424242";
pub const MC_ZERO: &str = "5555555555554444";
pub const MC_EXPIRED: &str = "5105105105105100";
/// Passes Luhn and the length check, but no test card has it.
pub const UNKNOWN: &str = "4000056655665556";

/// The host's store limits.
const MAX_KEY: usize = 1024;
const MAX_VALUE: usize = 64 * 1024;

pub type TestGateway = Gateway<TestBank, MemStore, TestClock>;

// ---------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------

/// The payload of a simulated crash of the gateway.
pub struct Crash;

/// Counts the gateway's import calls (bank and store); can crash the gateway
/// right before a given one (which then does not happen).
#[derive(Clone, Default)]
pub struct Imports {
    count: Rc<Cell<u64>>,
    crash_at: Rc<Cell<Option<u64>>>,
}

impl Imports {
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// Crash before the `n`-th import call from now (0: the next one).
    pub fn crash_in(&self, n: u64) {
        self.crash_at.set(Some(self.count.get() + n));
    }

    fn tick(&self) {
        let n = self.count.get();
        if self.crash_at.get() == Some(n) {
            self.crash_at.set(None);
            crash();
        }
        self.count.set(n + 1);
    }
}

/// Panics with [`Crash`] (which the panic hook keeps quiet).
pub fn crash() -> ! {
    quiet_crashes();
    panic::panic_any(Crash)
}

fn quiet_crashes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Crash>().is_none() {
                default(info);
            }
        }));
    });
}

/// Runs `f`; `None` if the gateway crashed (any other panic propagates).
pub fn catch_crash<T>(f: impl FnOnce() -> T) -> Option<T> {
    quiet_crashes();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) if payload.downcast_ref::<Crash>().is_some() => None,
        Err(payload) => panic::resume_unwind(payload),
    }
}

// ---------------------------------------------------------------------------
// The clock
// ---------------------------------------------------------------------------

#[derive(Clone)]
pub struct TestClock {
    now: Rc<Cell<u64>>,
    slept: Rc<Cell<u64>>,
}

impl TestClock {
    pub fn new(now: u64) -> Self {
        TestClock {
            now: Rc::new(Cell::new(now)),
            slept: Rc::new(Cell::new(0)),
        }
    }

    pub fn now(&self) -> u64 {
        self.now.get()
    }

    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }

    /// The virtual time the gateway spent sleeping, in all.
    pub fn slept(&self) -> u64 {
        self.slept.get()
    }
}

impl Clock for TestClock {
    fn now_ms(&mut self) -> u64 {
        self.now.get()
    }

    fn sleep_ms(&mut self, ms: u64) {
        self.advance(ms);
        self.slept.set(self.slept.get() + ms);
    }
}

// ---------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------

/// An ordered in-memory store with the host's semantics and limits.
#[derive(Clone)]
pub struct MemStore {
    map: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    imports: Imports,
}

impl MemStore {
    pub fn new(imports: Imports) -> Self {
        MemStore {
            map: Rc::default(),
            imports,
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.map.borrow().clone()
    }

    pub fn raw_get(&self, key: &str) -> Option<Vec<u8>> {
        self.map.borrow().get(key).cloned()
    }

    /// Every payment record, in key order.
    pub fn payment_records(&self) -> Vec<PaymentRecord> {
        self.map
            .borrow()
            .iter()
            .filter(|(k, _)| k.starts_with("payment/"))
            .map(|(_, v)| serde_json::from_slice(v).unwrap())
            .collect()
    }
}

impl Store for MemStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.imports.tick();
        self.map.borrow().get(key).cloned()
    }

    fn transact(&mut self, conditions: &[Condition], writes: &[Write]) -> Result<bool, StoreError> {
        self.imports.tick();
        for w in writes {
            if w.key.len() > MAX_KEY {
                return Err(StoreError::KeyTooLarge);
            }
            if w.value.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
                return Err(StoreError::ValueTooLarge);
            }
        }
        let mut map = self.map.borrow_mut();
        if !conditions
            .iter()
            .all(|c| map.get(&c.key) == c.expected.as_ref())
        {
            return Ok(false);
        }
        for w in writes {
            match &w.value {
                Some(v) => map.insert(w.key.clone(), v.clone()),
                None => map.remove(&w.key),
            };
        }
        Ok(true)
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        self.imports.tick();
        let start = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        self.map
            .borrow()
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The bank
// ---------------------------------------------------------------------------

/// A fault injected into one bank call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `unavailable`, before the bank processes anything.
    Unavailable,
    /// The bank processes the call, then the answer is lost: `timeout`.
    Timeout,
    /// As `Timeout`, and the bank forgets the call's idempotency key.
    TimeoutForget,
    /// The call takes this long (virtual), then is answered.
    Latency(u64),
    /// The bank answers, then the gateway crashes before it can save.
    CrashAfter,
}

/// Chooses a fault (or none) for a call the script does not cover.
pub type FaultFn = Box<dyn FnMut(Operation) -> Option<Fault>>;

pub struct BankState {
    pub bank: mock::Bank,
    /// Faults for the next calls, in order (one per call).
    pub script: VecDeque<Fault>,
    /// Faults for the calls past the script.
    pub random: Option<FaultFn>,
    /// Every call the gateway made: operation and bank key.
    pub calls: Vec<(Operation, String)>,
}

/// The host's mock bank with fault injection; time is the test clock.
#[derive(Clone)]
pub struct TestBank {
    pub state: Rc<RefCell<BankState>>,
    clock: TestClock,
    imports: Imports,
}

fn mock_operation(operation: Operation) -> mock::Operation {
    match operation {
        Operation::Authorize => mock::Operation::Authorize,
        Operation::Capture => mock::Operation::Capture,
        Operation::Void => mock::Operation::Void,
        Operation::Refund => mock::Operation::Refund,
    }
}

fn convert_error(error: mock::BankError) -> BankError {
    match error {
        mock::BankError::InvalidCard => BankError::InvalidCard,
        mock::BankError::InvalidCvv => BankError::InvalidCvv,
        mock::BankError::InvalidAmount => BankError::InvalidAmount,
        mock::BankError::CardExpired => BankError::CardExpired,
        mock::BankError::InsufficientFunds => BankError::InsufficientFunds,
        mock::BankError::UnknownAuthorization => BankError::UnknownAuthorization,
        mock::BankError::AlreadyUsed => BankError::AlreadyUsed,
        mock::BankError::AuthorizationExpired => BankError::AuthorizationExpired,
        mock::BankError::AmountMismatch => BankError::AmountMismatch,
        mock::BankError::UnknownCapture => BankError::UnknownCapture,
        mock::BankError::AlreadyRefunded => BankError::AlreadyRefunded,
    }
}

impl TestBank {
    fn call<T>(
        &mut self,
        operation: Operation,
        key: &str,
        run: impl FnOnce(&mut mock::Bank, u64) -> Result<T, mock::BankError>,
    ) -> Result<T, BankError> {
        self.imports.tick();
        let fault = {
            let mut state = self.state.borrow_mut();
            state.calls.push((operation, key.to_string()));
            match state.script.pop_front() {
                Some(fault) => Some(fault),
                None => state.random.as_mut().and_then(|f| f(operation)),
            }
        };
        if let Some(Fault::Latency(ms)) = fault {
            self.clock.advance(ms);
        }
        if fault == Some(Fault::Unavailable) {
            return Err(BankError::Unavailable);
        }
        let now = self.clock.now();
        let answer = {
            let mut state = self.state.borrow_mut();
            let answer = run(&mut state.bank, now).map_err(convert_error);
            if fault == Some(Fault::TimeoutForget) {
                state
                    .bank
                    .forget_idempotency_key(mock_operation(operation), key);
            }
            answer
        };
        match fault {
            Some(Fault::Timeout | Fault::TimeoutForget) => Err(BankError::Timeout),
            Some(Fault::CrashAfter) => crash(),
            _ => answer,
        }
    }
}

impl Bank for TestBank {
    fn authorize(
        &mut self,
        card: &Card,
        amount: u64,
        key: &str,
    ) -> Result<Authorization, BankError> {
        let card =
            mock::CardRequest::new(&card.number, &card.cvv, card.expiry_month, card.expiry_year);
        self.call(Operation::Authorize, key, |bank, now| {
            bank.authorize(now, &card, amount, key)
                .map(|a| Authorization {
                    id: a.id,
                    amount: a.amount,
                    created_ms: a.created_ms,
                    expires_ms: a.expires_ms,
                })
        })
    }

    fn capture(
        &mut self,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<CaptureReceipt, BankError> {
        self.call(Operation::Capture, key, |bank, now| {
            bank.capture(now, authorization_id, amount, key)
                .map(|c| CaptureReceipt {
                    id: c.id,
                    authorization_id: c.authorization_id,
                    amount: c.amount,
                    created_ms: c.created_ms,
                })
        })
    }

    fn void(&mut self, authorization_id: &str, key: &str) -> Result<VoidReceipt, BankError> {
        self.call(Operation::Void, key, |bank, now| {
            bank.void(now, authorization_id, key).map(|v| VoidReceipt {
                id: v.id,
                authorization_id: v.authorization_id,
                created_ms: v.created_ms,
            })
        })
    }

    fn refund(
        &mut self,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<RefundReceipt, BankError> {
        self.call(Operation::Refund, key, |bank, now| {
            bank.refund(now, capture_id, amount, key)
                .map(|r| RefundReceipt {
                    id: r.id,
                    capture_id: r.capture_id,
                    amount: r.amount,
                    created_ms: r.created_ms,
                })
        })
    }
}

// ---------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------

/// What survives a crash of the gateway: the clock, the store, the bank.
pub struct Env {
    pub clock: TestClock,
    pub store: MemStore,
    pub bank: TestBank,
    pub imports: Imports,
}

impl Env {
    pub fn new() -> Env {
        let imports = Imports::default();
        let clock = TestClock::new(T0);
        Env {
            store: MemStore::new(imports.clone()),
            bank: TestBank {
                state: Rc::new(RefCell::new(BankState {
                    bank: mock::Bank::default(),
                    script: VecDeque::new(),
                    random: None,
                    calls: Vec::new(),
                })),
                clock: clock.clone(),
                imports: imports.clone(),
            },
            clock,
            imports,
        }
    }

    /// A fresh gateway over this environment (a fresh instance).
    pub fn gateway(&self) -> TestGateway {
        Gateway::new(self.bank.clone(), self.store.clone(), self.clock.clone())
    }

    /// Scripts the faults of the next bank calls.
    pub fn faults(&self, faults: &[Fault]) {
        self.bank.state.borrow_mut().script.extend(faults);
    }

    pub fn set_random_faults(&self, f: Option<FaultFn>) {
        self.bank.state.borrow_mut().random = f;
    }

    /// How many bank calls the gateway made.
    pub fn calls(&self) -> usize {
        self.bank.state.borrow().calls.len()
    }

    pub fn calls_of(&self, operation: Operation) -> usize {
        self.bank
            .state
            .borrow()
            .calls
            .iter()
            .filter(|(o, _)| *o == operation)
            .count()
    }

    /// How many calls changed the bank's state (fresh successes).
    pub fn effects(&self) -> usize {
        self.with_bank(|b| b.ledger().iter().filter(|e| e.took_effect()).count())
    }

    pub fn with_bank<T>(&self, f: impl FnOnce(&mut mock::Bank) -> T) -> T {
        f(&mut self.bank.state.borrow_mut().bank)
    }

    /// `(balance, available)` of a card.
    pub fn balances(&self, number: &str) -> (u64, u64) {
        self.with_bank(|b| {
            let c = b.card(number).unwrap();
            (c.balance, c.available)
        })
    }

    /// Forgets every idempotency key at the bank.
    pub fn bank_forgets(&self) {
        self.with_bank(|b| b.forget_all_idempotency_keys());
    }

    /// Runs `f` on a fresh gateway; `None` if it crashed.
    pub fn run<T>(&self, f: impl FnOnce(&mut TestGateway) -> T) -> Option<T> {
        let mut gateway = self.gateway();
        catch_crash(|| f(&mut gateway))
    }

    /// A fresh instance after a crash: `recover` (which must not crash).
    pub fn recover(&self) {
        self.run(|g| g.recover()).expect("recover crashed");
    }

    /// The bank is self-consistent, no bank key took effect twice, and no
    /// payment has more than one hold.
    #[track_caller]
    pub fn assert_bank_sound(&self) {
        self.with_bank(|b| {
            let problems = b.reconcile();
            assert!(problems.is_empty(), "{problems:#?}");
            let mut seen = BTreeMap::new();
            for e in b.ledger().iter().filter(|e| e.took_effect()) {
                let n = seen.entry((e.operation(), e.key.clone())).or_insert(0);
                *n += 1;
                assert_eq!(*n, 1, "{} {} took effect twice", e.operation(), e.key);
            }
        });
    }

    /// After everything settled: no payment has an operation in flight, and
    /// each agrees with the bank's true state; every bank authorization
    /// belongs to a payment.
    #[track_caller]
    pub fn assert_agrees_with_bank(&self) {
        use crate::core::PaymentState as S;
        use mock::AuthorizationStatus as A;
        let records = self.store.payment_records();
        self.with_bank(|b| {
            let hold_of = |payment_id: &str| {
                let key = bank_key(payment_id, Operation::Authorize);
                b.ledger()
                    .iter()
                    .find(|e| e.took_effect() && e.key == key)
                    .and_then(|e| e.outcome.id().map(str::to_string))
            };
            for r in &records {
                let p = &r.payment;
                assert!(r.intent.is_none(), "{} still in flight", p.id);
                let auth = hold_of(&p.id);
                assert_eq!(auth, p.authorization_id, "{}", p.id);
                let Some(auth) = auth else {
                    panic!("{} has no authorization", p.id)
                };
                let record = b.authorization_record(&auth).unwrap();
                let refunded = record
                    .capture_id
                    .as_deref()
                    .is_some_and(|c| b.refund_of(c).is_some());
                let expected = match record.status {
                    A::Active => S::Authorized,
                    A::Voided => S::Voided,
                    A::Captured if refunded => S::Refunded,
                    A::Captured => S::Captured,
                };
                assert_eq!(p.state, expected, "{}", p.id);
                if let Some(capture_id) = &p.capture_id {
                    assert_eq!(Some(capture_id), record.capture_id.as_ref(), "{}", p.id);
                }
                if let Some(void_id) = &p.void_id {
                    assert_eq!(Some(void_id), record.void_id.as_ref(), "{}", p.id);
                }
            }
            for e in b.ledger().iter().filter(|e| e.took_effect()) {
                if e.operation() == mock::Operation::Authorize {
                    let payment_id = e.key.trim_end_matches("/authorize");
                    assert!(
                        records.iter().any(|r| r.payment.id == payment_id),
                        "hold {} of no payment",
                        e.key
                    );
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// The request that matches a test card exactly.
pub fn card(number: &str) -> Card {
    let c = mock::test_cards()
        .into_iter()
        .find(|c| c.number == number)
        .unwrap_or_else(|| mock::CardAccount::new(number, "123", 12, 2030, 0));
    Card {
        number: c.number,
        cvv: c.cvv,
        expiry_month: c.expiry_month,
        expiry_year: c.expiry_year,
    }
}

pub fn request(
    key: &str,
    order: &str,
    customer: &str,
    amount: u64,
    card: Card,
) -> AuthorizeRequest {
    AuthorizeRequest {
        idempotency_key: key.to_string(),
        order_id: order.to_string(),
        customer_id: customer.to_string(),
        amount,
        card,
    }
}

/// An authorization of `amount` on a test card, order `order-1`, customer
/// `cust-1`.
pub fn auth(key: &str, amount: u64, number: &str) -> AuthorizeRequest {
    request(key, "order-1", "cust-1", amount, card(number))
}

/// Authorizes $10 on the Visa; the payment.
pub fn authorized(gateway: &mut TestGateway, key: &str) -> Payment {
    gateway.authorize(&auth(key, 1000, VISA)).unwrap()
}

/// The states of a payment's transitions.
pub fn states(payment: &Payment) -> Vec<crate::core::PaymentState> {
    payment.transitions.iter().map(|t| t.state).collect()
}

pub fn ok(response: Response) -> Payment {
    response.unwrap_or_else(|e| panic!("expected a payment, got {e}"))
}
