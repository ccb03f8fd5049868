//! A correct but naive payment gateway, written from the WIT specification
//! and the track's brief (it shares no code with the reference).
//!
//! Everything that must survive a crash is in the durable store, as JSON:
//!
//! - `payment/{id}`: the whole payment, plus the operation in flight on it,
//!   if any (which, the client's idempotency key, and the card for an
//!   authorization), written before the bank is first called and cleared
//!   when the bank's answer is recorded;
//! - `idem/{operation}/{key}`: the whole request as the client sent it, the
//!   payment it concerns, and the final answer once there is one;
//! - `meta/last-payment`: the last payment number handed out.
//!
//! Nothing is clever: there are no indexes (a listing reads and parses every
//! payment in the store, then filters and sorts), every record is read,
//! parsed, cloned and re-serialised whole, and `recover` reads every payment
//! before it settles the ones in flight. But every rule is kept: bank keys
//! are `{payment-id}/{operation}` whatever the attempt, crash or recovery;
//! only `unavailable` and `timeout` are retried (after 100, 200, 400 and
//! 800 ms of virtual sleep, five attempts in all); each change of the store
//! is one transaction; and the choices the specification leaves open are
//! made as the reference makes them, so that every answer is the same.

use std::convert::identity;

use serde::{Deserialize, Serialize};

wit_bindgen::generate!({
    path: ["../../../wit/harness", "../../../wit/payments"],
    world: "gauntlet:payments/plugin",
    // The harness package comes from its own directory.
    generate_all,
});

use exports::gauntlet::payments::gateway::{self as wit, Guest};
use gauntlet::harness::{clock, store};
use gauntlet::payments::bank::{self, BankError};

/// The waits between the attempts of one bank call (virtual ms).
const BACKOFF_MS: [u64; 4] = [100, 200, 400, 800];

const LAST_PAYMENT: &str = "meta/last-payment";
const PAYMENTS: &str = "payment/";

// ---------------------------------------------------------------------------
// What is stored
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum State {
    Pending,
    Authorized,
    Captured,
    Voided,
    Refunded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Op {
    Authorize,
    Capture,
    Void,
    Refund,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Authorize => "authorize",
            Op::Capture => "capture",
            Op::Void => "void",
            Op::Refund => "refund",
        }
    }

    /// The state it starts from, and the state it leads to.
    fn states(self) -> (State, State) {
        match self {
            Op::Authorize => (State::Pending, State::Authorized),
            Op::Capture => (State::Authorized, State::Captured),
            Op::Void => (State::Authorized, State::Voided),
            Op::Refund => (State::Captured, State::Refunded),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Card {
    number: String,
    cvv: String,
    month: u8,
    year: u16,
}

/// The request as the client sent it (but its idempotency key): two
/// requests under one key must be equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Request {
    Authorize {
        order_id: String,
        customer_id: String,
        amount: u64,
        card: Card,
    },
    OnPayment {
        payment_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Failure {
    InvalidCard,
    InvalidCvv,
    InvalidAmount,
    CardExpired,
    InsufficientFunds,
    AuthorizationExpired,
    InvalidTransition(State),
    NotFound,
    KeyReused,
    BankUnavailable,
    Other(String),
}

/// An operation started at the bank and not yet settled.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct InFlight {
    op: Op,
    key: String,
    card: Option<Card>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Pay {
    number: u64,
    id: String,
    order_id: String,
    customer_id: String,
    amount: u64,
    state: State,
    authorization_id: Option<String>,
    capture_id: Option<String>,
    void_id: Option<String>,
    refund_id: Option<String>,
    transitions: Vec<(State, u64)>,
    in_flight: Option<InFlight>,
}

type Answer = Result<Pay, Failure>;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Idem {
    request: Request,
    payment_id: String,
    answer: Option<Answer>,
}

// ---------------------------------------------------------------------------
// The store, the naive way
// ---------------------------------------------------------------------------

fn read<T: for<'de> Deserialize<'de>>(key: &str) -> Result<Option<T>, Failure> {
    match store::get(key) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| Failure::Other(format!("store: cannot read {key}"))),
    }
}

fn json<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    Some(serde_json::to_vec(value).unwrap_or_default())
}

/// Several writes (a `None` value deletes), all or nothing.
fn save(writes: Vec<(String, Option<Vec<u8>>)>) -> Result<(), Failure> {
    let writes: Vec<store::Write> = writes
        .into_iter()
        .map(|(key, value)| store::Write { key, value })
        .collect();
    match store::transact(&[], &writes) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::Other("store: transaction refused".into())),
        Err(e) => Err(Failure::Other(format!("store: {e:?}"))),
    }
}

fn payment_key(id: &str) -> String {
    format!("{PAYMENTS}{id}")
}

fn idem_key(op: Op, key: &str) -> String {
    format!("idem/{}/{key}", op.name())
}

/// Every payment in the store, in key order.
fn all_payments() -> Vec<Pay> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store::scan(PAYMENTS, after.as_deref(), 100);
        let done = page.len() < 100;
        for (key, bytes) in page {
            if after.as_ref().is_some_and(|a| key <= *a) {
                return all;
            }
            if let Ok(p) = serde_json::from_slice::<Pay>(&bytes) {
                all.push(p);
            }
            after = Some(key);
        }
        if done {
            return all;
        }
    }
}

// ---------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------

fn authorize(request: wit::AuthorizeRequest) -> Answer {
    let card = Card {
        number: request.card.number.clone(),
        cvv: request.card.cvv.clone(),
        month: request.card.expiry_month,
        year: request.card.expiry_year,
    };
    let asked = Request::Authorize {
        order_id: request.order_id.clone(),
        customer_id: request.customer_id.clone(),
        amount: request.amount,
        card: card.clone(),
    };
    let key = idem_key(Op::Authorize, &request.idempotency_key);
    if let Some(idem) = read::<Idem>(&key)? {
        return replay(Op::Authorize, &request.idempotency_key, idem, &asked);
    }

    let last = match store::get(LAST_PAYMENT) {
        None => 0,
        Some(bytes) => String::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| Failure::Other("store: bad payment counter".into()))?,
    };
    let number = last + 1;
    let id = format!("pay-{number:06}");
    let now = clock::now_ms();
    let payment = Pay {
        number,
        id: id.clone(),
        order_id: request.order_id,
        customer_id: request.customer_id,
        amount: request.amount,
        state: State::Pending,
        authorization_id: None,
        capture_id: None,
        void_id: None,
        refund_id: None,
        transitions: vec![(State::Pending, now)],
        in_flight: Some(InFlight {
            op: Op::Authorize,
            key: request.idempotency_key,
            card: Some(card),
        }),
    };
    let idem = Idem {
        request: asked,
        payment_id: id.clone(),
        answer: None,
    };
    save(vec![
        (
            LAST_PAYMENT.to_string(),
            Some(number.to_string().into_bytes()),
        ),
        (payment_key(&id), json(&payment)),
        (key, json(&idem)),
    ])?;
    settle(payment, true).and_then(identity)
}

/// Capture, void or refund.
fn operate(op: Op, client_key: String, payment_id: String) -> Answer {
    let asked = Request::OnPayment {
        payment_id: payment_id.clone(),
    };
    let key = idem_key(op, &client_key);
    if let Some(idem) = read::<Idem>(&key)? {
        return replay(op, &client_key, idem, &asked);
    }

    let mut payment = read::<Pay>(&payment_key(&payment_id))?;
    if let Some(busy) = payment.clone().filter(|p| p.in_flight.is_some()) {
        // Another request's operation is still in flight on this payment:
        // finish it first (its answer is kept for its own key). If the bank
        // still does not answer, this request cannot be judged either.
        let _ = settle(busy, false)?;
        payment = read::<Pay>(&payment_key(&payment_id))?;
    }

    let (from, _) = op.states();
    let refusal = match &payment {
        None => Some(Failure::NotFound),
        Some(p) if p.state != from => Some(Failure::InvalidTransition(p.state)),
        Some(p) if op == Op::Refund && p.capture_id.is_none() => Some(Failure::Other(
            "refund: the capture's receipt id is unknown".into(),
        )),
        _ => None,
    };
    let mut payment = match (refusal, payment) {
        (None, Some(payment)) => payment,
        (refusal, _) => {
            // Refused without asking the bank: that is the final answer.
            let failure = refusal.unwrap_or(Failure::NotFound);
            let idem = Idem {
                request: asked,
                payment_id,
                answer: Some(Err(failure.clone())),
            };
            save(vec![(key, json(&idem))])?;
            return Err(failure);
        }
    };
    payment.in_flight = Some(InFlight {
        op,
        key: client_key,
        card: None,
    });
    let idem = Idem {
        request: asked,
        payment_id,
        answer: None,
    };
    save(vec![
        (payment_key(&payment.id), json(&payment)),
        (key, json(&idem)),
    ])?;
    settle(payment, true).and_then(identity)
}

/// A request whose key was seen before.
fn replay(op: Op, client_key: &str, idem: Idem, asked: &Request) -> Answer {
    if idem.request != *asked {
        return Err(Failure::KeyReused);
    }
    if let Some(answer) = idem.answer {
        return answer;
    }
    // Still in flight: carry on with it.
    match read::<Pay>(&payment_key(&idem.payment_id))? {
        Some(p)
            if p.in_flight
                .as_ref()
                .is_some_and(|f| f.op == op && f.key == client_key) =>
        {
            settle(p, false).and_then(identity)
        }
        _ => Err(Failure::Other(format!(
            "store: {} is in flight with no operation",
            idem_key(op, client_key)
        ))),
    }
}

/// How the bank ended an operation.
enum Outcome {
    /// Done; the receipt id if the bank gave one.
    Done(Option<String>),
    Refused(Failure),
}

/// Calls the bank for the payment's operation in flight until it answers
/// for good, then records the answer. `Err`: still in flight (or the store
/// refused the record). `fresh`: the operation was recorded by this very
/// request, so the bank has never seen it.
fn settle(payment: Pay, fresh: bool) -> Result<Answer, Failure> {
    let Some(flight) = payment.in_flight.clone() else {
        return Ok(Ok(payment));
    };
    let bank_key = format!("{}/{}", payment.id, flight.op.name());
    let mut maybe_done_before = !fresh;
    let mut attempt = 0;
    let outcome = loop {
        let result = match (flight.op, &flight.card) {
            (Op::Authorize, Some(card)) => bank::authorize(
                &bank::Card {
                    number: card.number.clone(),
                    cvv: card.cvv.clone(),
                    expiry_month: card.month,
                    expiry_year: card.year,
                },
                payment.amount,
                &bank_key,
            )
            .map(|a| a.id),
            (Op::Capture, _) if payment.authorization_id.is_some() => bank::capture(
                payment.authorization_id.as_deref().unwrap_or_default(),
                payment.amount,
                &bank_key,
            )
            .map(|r| r.id),
            (Op::Void, _) if payment.authorization_id.is_some() => bank::void(
                payment.authorization_id.as_deref().unwrap_or_default(),
                &bank_key,
            )
            .map(|r| r.id),
            (Op::Refund, _) if payment.capture_id.is_some() => bank::refund(
                payment.capture_id.as_deref().unwrap_or_default(),
                payment.amount,
                &bank_key,
            )
            .map(|r| r.id),
            _ => {
                let why = Failure::Other(format!("store: {} lacks a bank id", payment.id));
                break Outcome::Refused(why);
            }
        };
        match result {
            Ok(id) => break Outcome::Done(Some(id)),
            Err(e @ (BankError::Unavailable | BankError::Timeout)) => {
                if matches!(e, BankError::Timeout) {
                    maybe_done_before = true;
                }
                if attempt >= BACKOFF_MS.len() {
                    return Err(Failure::BankUnavailable);
                }
                clock::sleep_ms(BACKOFF_MS[attempt]);
                attempt += 1;
            }
            Err(e) => break refusal(flight.op, e, maybe_done_before),
        }
    };
    record(payment, flight, outcome)
}

/// What a refusal by the bank means. `maybe_done_before`: an earlier attempt
/// of this operation may have reached the bank.
fn refusal(op: Op, e: BankError, maybe_done_before: bool) -> Outcome {
    let failure = match (op, e) {
        (Op::Authorize, BankError::InvalidCard) => Failure::InvalidCard,
        (Op::Authorize, BankError::InvalidCvv) => Failure::InvalidCvv,
        (Op::Authorize, BankError::InvalidAmount) => Failure::InvalidAmount,
        (Op::Authorize, BankError::CardExpired) => Failure::CardExpired,
        (Op::Authorize, BankError::InsufficientFunds) => Failure::InsufficientFunds,
        (Op::Capture, BankError::AuthorizationExpired) => Failure::AuthorizationExpired,
        // Nothing but this payment uses its authorization (or capture): an
        // earlier attempt of ours did it, and the bank has since forgotten
        // its key. Done, with the receipt id unknown.
        (Op::Capture | Op::Void, BankError::AlreadyUsed)
        | (Op::Refund, BankError::AlreadyRefunded)
            if maybe_done_before =>
        {
            return Outcome::Done(None);
        }
        (_, e) => Failure::Other(format!("bank: {e:?}")),
    };
    Outcome::Refused(failure)
}

/// Records the outcome of the operation in flight: the payment (deleted
/// if its authorization was declined) and the answer for the client's key,
/// in one transaction.
fn record(mut payment: Pay, flight: InFlight, outcome: Outcome) -> Result<Answer, Failure> {
    let key = idem_key(flight.op, &flight.key);
    let idem = read::<Idem>(&key)?;
    payment.in_flight = None;
    let mut writes = Vec::new();
    let answer = match outcome {
        Outcome::Done(receipt) => {
            let (_, to) = flight.op.states();
            payment.state = to;
            match flight.op {
                Op::Authorize => payment.authorization_id = receipt,
                Op::Capture => payment.capture_id = receipt,
                Op::Void => payment.void_id = receipt,
                Op::Refund => payment.refund_id = receipt,
            }
            payment.transitions.push((to, clock::now_ms()));
            writes.push((payment_key(&payment.id), json(&payment)));
            Ok(payment)
        }
        Outcome::Refused(failure) => {
            if flight.op == Op::Authorize {
                writes.push((payment_key(&payment.id), None));
            } else {
                writes.push((payment_key(&payment.id), json(&payment)));
            }
            Err(failure)
        }
    };
    if let Some(mut idem) = idem {
        idem.answer = Some(answer.clone());
        writes.push((key, json(&idem)));
    }
    save(writes)?;
    Ok(answer)
}

fn recover() {
    for payment in all_payments() {
        if payment.in_flight.is_some() {
            // Recorded for the client's key either way; or still in flight.
            let _ = settle(payment, false);
        }
    }
}

/// Every payment `keep` selects, oldest first.
fn list(keep: impl Fn(&Pay) -> bool) -> Vec<wit::Payment> {
    let mut found: Vec<Pay> = all_payments().into_iter().filter(|p| keep(p)).collect();
    found.sort_by_key(|p| p.number);
    found.into_iter().map(to_wit).collect()
}

// ---------------------------------------------------------------------------
// The WIT types
// ---------------------------------------------------------------------------

fn wit_state(state: State) -> wit::PaymentState {
    match state {
        State::Pending => wit::PaymentState::Pending,
        State::Authorized => wit::PaymentState::Authorized,
        State::Captured => wit::PaymentState::Captured,
        State::Voided => wit::PaymentState::Voided,
        State::Refunded => wit::PaymentState::Refunded,
    }
}

fn to_wit(p: Pay) -> wit::Payment {
    wit::Payment {
        id: p.id,
        order_id: p.order_id,
        customer_id: p.customer_id,
        amount: p.amount,
        currency: "USD".to_string(),
        state: wit_state(p.state),
        authorization_id: p.authorization_id,
        capture_id: p.capture_id,
        void_id: p.void_id,
        refund_id: p.refund_id,
        transitions: p
            .transitions
            .into_iter()
            .map(|(state, at_ms)| wit::Transition {
                state: wit_state(state),
                at_ms,
            })
            .collect(),
    }
}

fn to_wit_answer(answer: Answer) -> Result<wit::Payment, wit::PaymentError> {
    use wit::PaymentError as E;
    answer.map(to_wit).map_err(|f| match f {
        Failure::InvalidCard => E::InvalidCard,
        Failure::InvalidCvv => E::InvalidCvv,
        Failure::InvalidAmount => E::InvalidAmount,
        Failure::CardExpired => E::CardExpired,
        Failure::InsufficientFunds => E::InsufficientFunds,
        Failure::AuthorizationExpired => E::AuthorizationExpired,
        Failure::InvalidTransition(state) => E::InvalidTransition(wit_state(state)),
        Failure::NotFound => E::NotFound,
        Failure::KeyReused => E::IdempotencyKeyReused,
        Failure::BankUnavailable => E::BankUnavailable,
        Failure::Other(message) => E::Other(message),
    })
}

struct Naive;

impl Guest for Naive {
    fn authorize(request: wit::AuthorizeRequest) -> Result<wit::Payment, wit::PaymentError> {
        to_wit_answer(authorize(request))
    }

    fn capture(key: String, payment_id: String) -> Result<wit::Payment, wit::PaymentError> {
        to_wit_answer(operate(Op::Capture, key, payment_id))
    }

    fn void(key: String, payment_id: String) -> Result<wit::Payment, wit::PaymentError> {
        to_wit_answer(operate(Op::Void, key, payment_id))
    }

    fn refund(key: String, payment_id: String) -> Result<wit::Payment, wit::PaymentError> {
        to_wit_answer(operate(Op::Refund, key, payment_id))
    }

    fn get_payment(payment_id: String) -> Result<wit::Payment, wit::PaymentError> {
        match read::<Pay>(&payment_key(&payment_id)) {
            Ok(Some(p)) => to_wit_answer(Ok(p)),
            Ok(None) => to_wit_answer(Err(Failure::NotFound)),
            Err(f) => to_wit_answer(Err(f)),
        }
    }

    fn payments_by_order(order_id: String) -> Vec<wit::Payment> {
        list(|p| p.order_id == order_id)
    }

    fn payments_by_customer(customer_id: String) -> Vec<wit::Payment> {
        list(|p| p.customer_id == customer_id)
    }

    fn recover() {
        recover();
    }
}

export!(Naive);
