//! The gateway itself: [`Gateway`] over a [`Bank`], a [`Store`] and a
//! [`Clock`]. The rules are in the module docs of [`crate::core`].

use std::convert::identity;

use serde::de::DeserializeOwned;

use super::records::{
    IdempotencyRecord, Intent, Operation, PAYMENT_PREFIX, PaymentRecord, SEQ_KEY,
    authorize_fingerprint, bank_key, customer_prefix, decode, encode, idempotency_key, index_key,
    order_prefix, payment_id, payment_key,
};
use super::types::{
    AuthorizeRequest, Bank, BankError, CURRENCY, Card, Clock, Condition, Payment, PaymentError,
    PaymentState, Store, Transition, Write,
};

/// The waits between the attempts of one bank call, in virtual
/// milliseconds: five attempts in all. (The contract asks for three at
/// least, none later than 60 s after the first: payments.wit, "Retries".)
pub const BACKOFF_MS: [u64; 4] = [100, 200, 400, 800];

/// How long to wait after the `failures`-th transient failure in a row of
/// one bank call (from 1) before attempting it again; `None`: give up.
pub type RetryPolicy = fn(failures: usize) -> Option<u64>;

/// The reference's policy: [`BACKOFF_MS`].
pub fn reference_retry(failures: usize) -> Option<u64> {
    BACKOFF_MS.get(failures - 1).copied()
}

/// How many entries one store scan asks for.
pub const SCAN_PAGE: u32 = 64;

/// The message of `other` for a refund of a payment whose capture receipt
/// id is unknown (see the module docs: a capture settled by the bank's
/// `already-used`).
/// The answer when the store keeps changing under an operation (other
/// replicas writing the same records) for [`CONFLICT_RETRIES`] starts.
pub const CHANGED_CONCURRENTLY: &str = "store: changed concurrently";

/// How many times an operation is started over from its reads when a
/// transaction's condition fails because another replica wrote a record it
/// read (it then sees what that replica did: a key now known, a sequence
/// number taken, an outcome recorded).
pub const CONFLICT_RETRIES: u32 = 32;

pub const REFUND_WITHOUT_CAPTURE_ID: &str = "refund: the capture's receipt id is unknown";

/// A response to the shop, as recorded for its idempotency key.
pub type Response = Result<Payment, PaymentError>;

/// A record read from the store, with the exact bytes it was read from (the
/// condition of the transaction that replaces it).
struct Stored<T> {
    key: String,
    bytes: Vec<u8>,
    value: T,
}

/// How an operation in flight ends.
enum Finish {
    /// The bank did it; the receipt's id, if known.
    Done(Option<String>),
    /// A permanent refusal, the final response.
    Failed(PaymentError),
}

/// A bank call, with its arguments taken from the payment record.
enum BankCall {
    Authorize(Card, u64),
    Capture(String, u64),
    Void(String),
    Refund(String, u64),
}

impl BankCall {
    /// The call an intent makes; `None` when the record lacks what it needs
    /// (a corrupt record: the gateway writes an authorize intent with its
    /// card and only starts the others from a state that has the ids).
    fn of(record: &PaymentRecord, intent: &Intent) -> Option<BankCall> {
        let payment = &record.payment;
        Some(match intent.operation {
            Operation::Authorize => BankCall::Authorize(intent.card.clone()?, payment.amount),
            Operation::Capture => {
                BankCall::Capture(payment.authorization_id.clone()?, payment.amount)
            }
            Operation::Void => BankCall::Void(payment.authorization_id.clone()?),
            Operation::Refund => BankCall::Refund(payment.capture_id.clone()?, payment.amount),
        })
    }
}

/// The state an operation moves a payment to.
fn target_state(operation: Operation) -> PaymentState {
    match operation {
        Operation::Authorize => PaymentState::Authorized,
        Operation::Capture => PaymentState::Captured,
        Operation::Void => PaymentState::Voided,
        Operation::Refund => PaymentState::Refunded,
    }
}

/// The only state an operation is allowed from.
fn source_state(operation: Operation) -> PaymentState {
    match operation {
        Operation::Authorize => PaymentState::Pending,
        Operation::Capture | Operation::Void => PaymentState::Authorized,
        Operation::Refund => PaymentState::Captured,
    }
}

/// What a permanent bank error means for an operation. `maybe_committed`:
/// an earlier attempt of this operation may have taken effect (it timed
/// out, or it was started by an instance that is gone).
fn settle_error(operation: Operation, error: BankError, maybe_committed: bool) -> Finish {
    use BankError as B;
    use Operation as O;
    match (operation, error) {
        (O::Authorize, B::InvalidCard) => Finish::Failed(PaymentError::InvalidCard),
        (O::Authorize, B::InvalidCvv) => Finish::Failed(PaymentError::InvalidCvv),
        (O::Authorize, B::InvalidAmount) => Finish::Failed(PaymentError::InvalidAmount),
        (O::Authorize, B::CardExpired) => Finish::Failed(PaymentError::CardExpired),
        (O::Authorize, B::InsufficientFunds) => Finish::Failed(PaymentError::InsufficientFunds),
        (O::Capture, B::AuthorizationExpired) => Finish::Failed(PaymentError::AuthorizationExpired),
        // Our own earlier attempt did it and the bank has forgotten the key.
        (O::Capture | O::Void, B::AlreadyUsed) | (O::Refund, B::AlreadyRefunded)
            if maybe_committed =>
        {
            Finish::Done(None)
        }
        (_, error) => Finish::Failed(PaymentError::Other(format!("bank: {error}"))),
    }
}

fn corrupt(key: &str) -> PaymentError {
    PaymentError::Other(format!("store: corrupt record at {key}"))
}

fn write(key: &str, value: Option<Vec<u8>>) -> Write {
    Write {
        key: key.to_string(),
        value,
    }
}

fn condition(key: &str, expected: Option<Vec<u8>>) -> Condition {
    Condition {
        key: key.to_string(),
        expected,
    }
}

/// The reference payment gateway. It keeps nothing in memory between calls:
/// every method works from the durable store alone, so a fresh gateway over
/// the same store (after a crash) carries on where the old one stopped.
pub struct Gateway<B, S, C> {
    bank: B,
    store: S,
    clock: C,
    retry: RetryPolicy,
}

impl<B: Bank, S: Store, C: Clock> Gateway<B, S, C> {
    pub fn new(bank: B, store: S, clock: C) -> Self {
        Gateway {
            bank,
            store,
            clock,
            retry: reference_retry,
        }
    }

    /// The same gateway with another retry policy (the contract leaves the
    /// budget and the backoff open).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn into_parts(self) -> (B, S, C) {
        (self.bank, self.store, self.clock)
    }

    // ---- the exports ------------------------------------------------------

    /// Authorizes a new payment: PENDING, then AUTHORIZED or declined (a
    /// declined authorization leaves no payment).
    pub fn authorize(&mut self, request: &AuthorizeRequest) -> Response {
        self.retrying(|gateway| gateway.authorize_once(request))
    }

    fn authorize_once(&mut self, request: &AuthorizeRequest) -> Response {
        let operation = Operation::Authorize;
        let fingerprint = authorize_fingerprint(
            &request.order_id,
            &request.customer_id,
            request.amount,
            &request.card,
        );
        let idem_key = idempotency_key(operation, &request.idempotency_key);
        if let Some(idem) = self.load::<IdempotencyRecord>(&idem_key)? {
            return self.replay(operation, &request.idempotency_key, idem, &fingerprint);
        }

        let seq_bytes = self.store.get(SEQ_KEY);
        let last = match &seq_bytes {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| corrupt(SEQ_KEY))?,
        };
        let seq = last.checked_add(1).ok_or_else(|| corrupt(SEQ_KEY))?;
        let id = payment_id(seq);
        let now = self.clock.now_ms();
        let record = PaymentRecord {
            seq,
            payment: Payment {
                id: id.clone(),
                order_id: request.order_id.clone(),
                customer_id: request.customer_id.clone(),
                amount: request.amount,
                currency: CURRENCY.to_string(),
                state: PaymentState::Pending,
                authorization_id: None,
                capture_id: None,
                void_id: None,
                refund_id: None,
                transitions: vec![Transition {
                    state: PaymentState::Pending,
                    at_ms: now,
                }],
            },
            intent: Some(Intent {
                operation,
                started_ms: now,
                idempotency_key: request.idempotency_key.clone(),
                card: Some(request.card.clone()),
            }),
        };
        let idem = IdempotencyRecord {
            fingerprint,
            payment_id: id.clone(),
            response: None,
        };
        let key = payment_key(&id);
        let bytes = encode(&record);
        self.commit(
            &[
                condition(SEQ_KEY, seq_bytes),
                condition(&idem_key, None),
                condition(&key, None),
            ],
            &[
                write(SEQ_KEY, Some(seq.to_string().into_bytes())),
                write(&key, Some(bytes.clone())),
                write(&idem_key, Some(encode(&idem))),
                write(
                    &index_key(&order_prefix(&request.order_id), seq),
                    Some(id.clone().into_bytes()),
                ),
                write(
                    &index_key(&customer_prefix(&request.customer_id), seq),
                    Some(id.into_bytes()),
                ),
            ],
        )?;
        self.settle(
            Stored {
                key,
                bytes,
                value: record,
            },
            true,
        )
        .and_then(identity)
    }

    /// Captures an AUTHORIZED payment in full.
    pub fn capture(&mut self, idempotency_key: &str, payment_id: &str) -> Response {
        self.operate(Operation::Capture, idempotency_key, payment_id)
    }

    /// Voids an AUTHORIZED payment (expired or not).
    pub fn void(&mut self, idempotency_key: &str, payment_id: &str) -> Response {
        self.operate(Operation::Void, idempotency_key, payment_id)
    }

    /// Refunds a CAPTURED payment in full.
    pub fn refund(&mut self, idempotency_key: &str, payment_id: &str) -> Response {
        self.operate(Operation::Refund, idempotency_key, payment_id)
    }

    /// The payment as stored (PENDING while its authorization is in
    /// flight). Never calls the bank.
    pub fn get_payment(&mut self, payment_id: &str) -> Response {
        match self.load::<PaymentRecord>(&payment_key(payment_id))? {
            Some(stored) => Ok(stored.value.payment),
            None => Err(PaymentError::NotFound),
        }
    }

    /// An order's payments, oldest first.
    pub fn payments_by_order(&mut self, order_id: &str) -> Vec<Payment> {
        self.list(&order_prefix(order_id))
    }

    /// A customer's payments, oldest first.
    pub fn payments_by_customer(&mut self, customer_id: &str) -> Vec<Payment> {
        self.list(&customer_prefix(customer_id))
    }

    /// Settles every operation in flight, in payment-key order, recording
    /// each outcome for its request's idempotency key. One that the bank
    /// still does not answer stays in flight.
    pub fn recover(&mut self) {
        let mut after: Option<String> = None;
        loop {
            let page = self.store.scan(PAYMENT_PREFIX, after.as_deref(), SCAN_PAGE);
            let full = page.len() >= SCAN_PAGE as usize;
            for (key, bytes) in page {
                if after.as_ref().is_some_and(|a| key <= *a) {
                    // A store that does not move forward: stop rather than
                    // loop.
                    return;
                }
                after = Some(key.clone());
                if let Ok(record) = decode::<PaymentRecord>(&key, &bytes)
                    && record.intent.is_some()
                {
                    // Whatever the outcome, it is recorded (or stays in
                    // flight); nobody waits for it here.
                    let _ = self.settle(
                        Stored {
                            key,
                            bytes,
                            value: record,
                        },
                        false,
                    );
                }
            }
            if !full {
                return;
            }
        }
    }

    // ---- the common paths -------------------------------------------------

    /// Capture, void or refund.
    fn operate(&mut self, operation: Operation, key: &str, payment_id: &str) -> Response {
        self.retrying(|gateway| gateway.operate_once(operation, key, payment_id))
    }

    /// Runs `once` until no other replica changed what it read, at most
    /// [`CONFLICT_RETRIES`] times more.
    fn retrying(&mut self, mut once: impl FnMut(&mut Self) -> Response) -> Response {
        let mut conflicts = 0;
        loop {
            match once(self) {
                Err(PaymentError::Other(why))
                    if why == CHANGED_CONCURRENTLY && conflicts < CONFLICT_RETRIES =>
                {
                    conflicts += 1;
                }
                response => return response,
            }
        }
    }

    fn operate_once(&mut self, operation: Operation, key: &str, payment_id: &str) -> Response {
        let idem_key = idempotency_key(operation, key);
        if let Some(idem) = self.load::<IdempotencyRecord>(&idem_key)? {
            return self.replay(operation, key, idem, payment_id);
        }

        let payment_key = payment_key(payment_id);
        let mut stored = self.load::<PaymentRecord>(&payment_key)?;
        // Another request's operation is in flight on this payment: settle
        // it first (as `recover` would), then judge this request against
        // the settled state. If it cannot be settled now, neither can this
        // request: nothing is recorded for it.
        if let Some(other) = stored.take_if(|s| s.value.intent.is_some()) {
            // Its response is recorded for its own key, not returned here.
            let _: Response = self.settle(other, false)?;
            stored = self.load::<PaymentRecord>(&payment_key)?;
        }

        let final_error = match &stored {
            None => Some(PaymentError::NotFound),
            Some(s) if s.value.payment.state != source_state(operation) => {
                Some(PaymentError::InvalidTransition(s.value.payment.state))
            }
            Some(s) if operation == Operation::Refund && s.value.payment.capture_id.is_none() => {
                Some(PaymentError::Other(REFUND_WITHOUT_CAPTURE_ID.to_string()))
            }
            Some(_) => None,
        };
        let idem = IdempotencyRecord {
            fingerprint: payment_id.to_string(),
            payment_id: payment_id.to_string(),
            response: final_error.clone().map(Err),
        };
        let idem_write = write(&idem_key, Some(encode(&idem)));
        let (Some(stored), None) = (stored, &final_error) else {
            // Refused without calling the bank: that is the final response.
            let error = final_error.unwrap_or(PaymentError::NotFound);
            self.commit(&[condition(&idem_key, None)], &[idem_write])?;
            return Err(error);
        };

        let mut record = stored.value;
        record.intent = Some(Intent {
            operation,
            started_ms: self.clock.now_ms(),
            idempotency_key: key.to_string(),
            card: None,
        });
        let bytes = encode(&record);
        self.commit(
            &[
                condition(&payment_key, Some(stored.bytes)),
                condition(&idem_key, None),
            ],
            &[write(&payment_key, Some(bytes.clone())), idem_write],
        )?;
        self.settle(
            Stored {
                key: payment_key,
                bytes,
                value: record,
            },
            true,
        )
        .and_then(identity)
    }

    /// A request whose idempotency key has a record: refused if the
    /// parameters differ, else the final response, else (in flight) the
    /// operation resumed.
    fn replay(
        &mut self,
        operation: Operation,
        key: &str,
        idem: Stored<IdempotencyRecord>,
        fingerprint: &str,
    ) -> Response {
        let idem_key = idem.key;
        let idem = idem.value;
        if idem.fingerprint != fingerprint {
            return Err(PaymentError::IdempotencyKeyReused);
        }
        if let Some(response) = idem.response {
            return response;
        }
        let stored = self.load::<PaymentRecord>(&payment_key(&idem.payment_id))?;
        match stored {
            Some(stored)
                if stored
                    .value
                    .intent
                    .as_ref()
                    .is_some_and(|i| i.operation == operation && i.idempotency_key == key) =>
            {
                self.settle(stored, false).and_then(identity)
            }
            // An in-flight record and its intent are written and cleared
            // together: another replica settled it between the two reads
            // (read it again).
            _ => Err(PaymentError::Other(CHANGED_CONCURRENTLY.to_string())),
        }
    }

    /// Drives the payment's operation in flight to its outcome: `Ok` with
    /// the final response once it is recorded, `Err` when it stays in
    /// flight (the bank stayed unavailable: `bank-unavailable`; or the store
    /// refused the outcome: `other`).
    ///
    /// `fresh`: the intent was recorded by this very call, so no earlier
    /// attempt exists; otherwise one may have reached the bank.
    fn settle(
        &mut self,
        stored: Stored<PaymentRecord>,
        fresh: bool,
    ) -> Result<Response, PaymentError> {
        let Some(intent) = stored.value.intent.clone() else {
            return Ok(Ok(stored.value.payment));
        };
        let operation = intent.operation;
        let Some(call) = BankCall::of(&stored.value, &intent) else {
            let error = corrupt(&stored.key);
            return self.finish(stored, &intent, Finish::Failed(error));
        };
        let key = bank_key(&stored.value.payment.id, operation);
        let mut maybe_committed = !fresh;
        let mut failures = 0;
        let finish = loop {
            match self.call_bank(&call, &key) {
                Ok(id) => break Finish::Done(Some(id)),
                Err(error) if error.is_transient() => {
                    maybe_committed |= error == BankError::Timeout;
                    failures += 1;
                    let Some(delay) = (self.retry)(failures) else {
                        return Err(PaymentError::BankUnavailable);
                    };
                    self.clock.sleep_ms(delay);
                }
                Err(error) => break settle_error(operation, error, maybe_committed),
            }
        };
        self.finish(stored, &intent, finish)
    }

    /// One bank call; the receipt's id.
    fn call_bank(&mut self, call: &BankCall, key: &str) -> Result<String, BankError> {
        match call {
            BankCall::Authorize(card, amount) => {
                self.bank.authorize(card, *amount, key).map(|r| r.id)
            }
            BankCall::Capture(authorization_id, amount) => self
                .bank
                .capture(authorization_id, *amount, key)
                .map(|r| r.id),
            BankCall::Void(authorization_id) => self.bank.void(authorization_id, key).map(|r| r.id),
            BankCall::Refund(capture_id, amount) => {
                self.bank.refund(capture_id, *amount, key).map(|r| r.id)
            }
        }
    }

    /// Records an operation's outcome in one transaction: the payment (or,
    /// for a declined authorization, its removal with its index entries)
    /// with the intent cleared, and the final response under the request's
    /// idempotency key.
    fn finish(
        &mut self,
        stored: Stored<PaymentRecord>,
        intent: &Intent,
        finish: Finish,
    ) -> Result<Response, PaymentError> {
        let operation = intent.operation;
        let idem_key = idempotency_key(operation, &intent.idempotency_key);
        let idem = self.load::<IdempotencyRecord>(&idem_key)?;

        let mut record = stored.value;
        record.intent = None;
        let mut conditions = vec![condition(&stored.key, Some(stored.bytes))];
        let mut writes = Vec::new();
        let response = match finish {
            Finish::Done(id) => {
                let payment = &mut record.payment;
                let state = target_state(operation);
                payment.state = state;
                let slot = match operation {
                    Operation::Authorize => &mut payment.authorization_id,
                    Operation::Capture => &mut payment.capture_id,
                    Operation::Void => &mut payment.void_id,
                    Operation::Refund => &mut payment.refund_id,
                };
                *slot = id;
                payment.transitions.push(Transition {
                    state,
                    at_ms: self.clock.now_ms(),
                });
                writes.push(write(&stored.key, Some(encode(&record))));
                Ok(record.payment)
            }
            Finish::Failed(error) if operation == Operation::Authorize => {
                writes.push(write(&stored.key, None));
                writes.push(write(
                    &index_key(&order_prefix(&record.payment.order_id), record.seq),
                    None,
                ));
                writes.push(write(
                    &index_key(&customer_prefix(&record.payment.customer_id), record.seq),
                    None,
                ));
                Err(error)
            }
            Finish::Failed(error) => {
                writes.push(write(&stored.key, Some(encode(&record))));
                Err(error)
            }
        };
        // The idempotency record is always there (written with the intent);
        // without it the outcome is still applied to the payment.
        if let Some(idem) = idem {
            conditions.push(condition(&idem_key, Some(idem.bytes)));
            let mut value = idem.value;
            value.response = Some(response.clone());
            writes.push(write(&idem_key, Some(encode(&value))));
        }
        self.commit(&conditions, &writes)?;
        Ok(response)
    }

    /// The payments named by the index entries under `prefix`, in key
    /// (creation) order.
    fn list(&mut self, prefix: &str) -> Vec<Payment> {
        let mut payments = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.scan(prefix, after.as_deref(), SCAN_PAGE);
            let full = page.len() >= SCAN_PAGE as usize;
            for (key, id) in page {
                if after.as_ref().is_some_and(|a| key <= *a) {
                    return payments;
                }
                after = Some(key);
                let Ok(id) = String::from_utf8(id) else {
                    continue;
                };
                if let Ok(Some(stored)) = self.load::<PaymentRecord>(&payment_key(&id)) {
                    payments.push(stored.value.payment);
                }
            }
            if !full {
                return payments;
            }
        }
    }

    // ---- the store --------------------------------------------------------

    fn load<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<Stored<T>>, PaymentError> {
        let Some(bytes) = self.store.get(key) else {
            return Ok(None);
        };
        let value = decode(key, &bytes)?;
        Ok(Some(Stored {
            key: key.to_string(),
            bytes,
            value,
        }))
    }

    /// One transaction; a failed condition (another replica changed a
    /// record this one read: never, with one instance at a time) or a store
    /// error is `other`, and nothing was written.
    fn commit(&mut self, conditions: &[Condition], writes: &[Write]) -> Result<(), PaymentError> {
        match self.store.transact(conditions, writes) {
            Ok(true) => Ok(()),
            Ok(false) => Err(PaymentError::Other(CHANGED_CONCURRENTLY.to_string())),
            Err(error) => Err(PaymentError::Other(format!("store: {error}"))),
        }
    }
}
