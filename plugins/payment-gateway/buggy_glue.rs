//! The glue every buggy payment-gateway plugin shares, included by each with
//! `#[path = "../../buggy_glue.rs"] mod glue;`: the reference core, the
//! bindings, the imports as the core's [`core::Bank`] and [`core::Store`],
//! the conversions between the WIT types and the core's, and a component
//! that runs the core through the crate's [`Bug`].
//!
//! A buggy plugin is the reference with exactly one behaviour changed, so the
//! gauntlet check that catches it has little else to report. Each crate
//! defines `struct Buggy` and implements [`Bug`] for it, overriding only what
//! the bug touches: the bank or the store the core is given (a wrapper around
//! [`WitBank`] or [`WitStore`]), or one of the exported operations. A bug's
//! state, if any, lives in a `thread_local!` of its crate: guest memory,
//! lost when the host discards a crashed instance.

/// The reference's core (`reference_payments::core`), compiled into the
/// plugin from its source. Not a cargo dependency on purpose: the reference
/// crate is a `cdylib` whose glue exports the same world (the symbols would
/// clash), and a build of it without that glue would share its unhashed
/// output file names (`libreference_payments.rlib`, `.wasm`) in the guest
/// target directory with the real reference component.
#[path = "../../reference/payments/src/core/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "each plugin uses part of the core's API"
)]
pub mod reference;

use reference as core;

wit_bindgen::generate!({
    path: ["../../../wit/harness", "../../../wit/payments"],
    world: "gauntlet:payments/plugin",
    // The harness package comes from its own directory.
    generate_all,
});

use exports::gauntlet::payments::gateway::{
    AuthorizeRequest, Guest, Payment, PaymentError, PaymentState, Transition,
};
use gauntlet::harness::{clock, store};
use gauntlet::payments::bank;

/// The gateway every export builds (it keeps nothing in memory between
/// calls): the core over the bank and store the [`Bug`] chose.
pub type Gateway = core::Gateway<Box<dyn core::Bank>, Box<dyn core::Store>, WitClock>;

/// One deliberate departure from the reference. Every method defaults to
/// the reference's behaviour.
pub trait Bug {
    /// The bank the core calls.
    fn bank() -> Box<dyn core::Bank> {
        Box::new(WitBank)
    }

    /// The durable store the core keeps its records in.
    fn store() -> Box<dyn core::Store> {
        Box::new(WitStore)
    }

    /// How long to wait after the n-th transient failure in a row of a
    /// bank call before trying it again (`None`: give up). The contract
    /// leaves this open within bounds: allowed-variant plugins override it
    /// too.
    fn retry(failures: usize) -> Option<u64> {
        core::reference_retry(failures)
    }

    /// The `authorize` export.
    fn authorize(gateway: &mut Gateway, request: &core::AuthorizeRequest) -> core::Response {
        gateway.authorize(request)
    }

    /// The `capture`, `void` and `refund` exports.
    fn operate(
        gateway: &mut Gateway,
        operation: core::Operation,
        key: &str,
        payment_id: &str,
    ) -> core::Response {
        operate(gateway, operation, key, payment_id)
    }
}

/// The reference's `capture`, `void` or `refund`.
pub fn operate(
    gateway: &mut Gateway,
    operation: core::Operation,
    key: &str,
    payment_id: &str,
) -> core::Response {
    match operation {
        core::Operation::Capture => gateway.capture(key, payment_id),
        core::Operation::Void => gateway.void(key, payment_id),
        core::Operation::Refund => gateway.refund(key, payment_id),
        core::Operation::Authorize => Err(core::PaymentError::Other(
            "authorize is not an operation on a payment".to_string(),
        )),
    }
}

/// The only state an operation on a payment is allowed from.
#[allow(dead_code, reason = "only some bugs look at states")]
pub fn source_state(operation: core::Operation) -> core::PaymentState {
    match operation {
        core::Operation::Authorize => core::PaymentState::Pending,
        core::Operation::Capture | core::Operation::Void => core::PaymentState::Authorized,
        core::Operation::Refund => core::PaymentState::Captured,
    }
}

// ---------------------------------------------------------------------------
// The imports as the core's traits
// ---------------------------------------------------------------------------

impl<T: core::Bank + ?Sized> core::Bank for Box<T> {
    fn authorize(
        &mut self,
        card: &core::Card,
        amount: u64,
        key: &str,
    ) -> Result<core::Authorization, core::BankError> {
        (**self).authorize(card, amount, key)
    }

    fn capture(
        &mut self,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::CaptureReceipt, core::BankError> {
        (**self).capture(authorization_id, amount, key)
    }

    fn void(
        &mut self,
        authorization_id: &str,
        key: &str,
    ) -> Result<core::VoidReceipt, core::BankError> {
        (**self).void(authorization_id, key)
    }

    fn refund(
        &mut self,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::RefundReceipt, core::BankError> {
        (**self).refund(capture_id, amount, key)
    }
}

impl<T: core::Store + ?Sized> core::Store for Box<T> {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        (**self).get(key)
    }

    fn transact(
        &mut self,
        conditions: &[core::Condition],
        writes: &[core::Write],
    ) -> Result<bool, core::StoreError> {
        (**self).transact(conditions, writes)
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        (**self).scan(prefix, start_after, limit)
    }
}

/// The imported bank.
pub struct WitBank;

impl core::Bank for WitBank {
    fn authorize(
        &mut self,
        card: &core::Card,
        amount: u64,
        key: &str,
    ) -> Result<core::Authorization, core::BankError> {
        let card = bank::Card {
            number: card.number.clone(),
            cvv: card.cvv.clone(),
            expiry_month: card.expiry_month,
            expiry_year: card.expiry_year,
        };
        bank::authorize(&card, amount, key)
            .map(|a| core::Authorization {
                id: a.id,
                amount: a.amount,
                created_ms: a.created_ms,
                expires_ms: a.expires_ms,
            })
            .map_err(core_bank_error)
    }

    fn capture(
        &mut self,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::CaptureReceipt, core::BankError> {
        bank::capture(authorization_id, amount, key)
            .map(|r| core::CaptureReceipt {
                id: r.id,
                authorization_id: r.authorization_id,
                amount: r.amount,
                created_ms: r.created_ms,
            })
            .map_err(core_bank_error)
    }

    fn void(
        &mut self,
        authorization_id: &str,
        key: &str,
    ) -> Result<core::VoidReceipt, core::BankError> {
        bank::void(authorization_id, key)
            .map(|r| core::VoidReceipt {
                id: r.id,
                authorization_id: r.authorization_id,
                created_ms: r.created_ms,
            })
            .map_err(core_bank_error)
    }

    fn refund(
        &mut self,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::RefundReceipt, core::BankError> {
        bank::refund(capture_id, amount, key)
            .map(|r| core::RefundReceipt {
                id: r.id,
                capture_id: r.capture_id,
                amount: r.amount,
                created_ms: r.created_ms,
            })
            .map_err(core_bank_error)
    }
}

fn core_bank_error(error: bank::BankError) -> core::BankError {
    use bank::BankError as W;
    use core::BankError as C;
    match error {
        W::InvalidCard => C::InvalidCard,
        W::InvalidCvv => C::InvalidCvv,
        W::InvalidAmount => C::InvalidAmount,
        W::CardExpired => C::CardExpired,
        W::InsufficientFunds => C::InsufficientFunds,
        W::UnknownAuthorization => C::UnknownAuthorization,
        W::AlreadyUsed => C::AlreadyUsed,
        W::AuthorizationExpired => C::AuthorizationExpired,
        W::AmountMismatch => C::AmountMismatch,
        W::UnknownCapture => C::UnknownCapture,
        W::AlreadyRefunded => C::AlreadyRefunded,
        W::Unavailable => C::Unavailable,
        W::Timeout => C::Timeout,
    }
}

/// The imported durable store.
pub struct WitStore;

impl core::Store for WitStore {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        store::get(key)
    }

    fn transact(
        &mut self,
        conditions: &[core::Condition],
        writes: &[core::Write],
    ) -> Result<bool, core::StoreError> {
        let conditions: Vec<store::Condition> = conditions
            .iter()
            .map(|c| store::Condition {
                key: c.key.clone(),
                expected: c.expected.clone(),
            })
            .collect();
        let writes: Vec<store::Write> = writes
            .iter()
            .map(|w| store::Write {
                key: w.key.clone(),
                value: w.value.clone(),
            })
            .collect();
        store::transact(&conditions, &writes).map_err(|e| match e {
            store::StoreError::KeyTooLarge => core::StoreError::KeyTooLarge,
            store::StoreError::ValueTooLarge => core::StoreError::ValueTooLarge,
            store::StoreError::QuotaExceeded => core::StoreError::QuotaExceeded,
        })
    }

    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)> {
        store::scan(prefix, start_after, limit)
    }
}

/// The imported virtual clock.
pub struct WitClock;

impl core::Clock for WitClock {
    fn now_ms(&mut self) -> u64 {
        clock::now_ms()
    }

    fn sleep_ms(&mut self, ms: u64) {
        clock::sleep_ms(ms);
    }
}

// ---------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------

fn gateway() -> Gateway {
    use crate::Buggy as B;
    core::Gateway::new(<B as Bug>::bank(), <B as Bug>::store(), WitClock)
        .with_retry(<B as Bug>::retry)
}

fn wit_state(state: core::PaymentState) -> PaymentState {
    match state {
        core::PaymentState::Pending => PaymentState::Pending,
        core::PaymentState::Authorized => PaymentState::Authorized,
        core::PaymentState::Captured => PaymentState::Captured,
        core::PaymentState::Voided => PaymentState::Voided,
        core::PaymentState::Refunded => PaymentState::Refunded,
    }
}

fn wit_payment(p: core::Payment) -> Payment {
    Payment {
        id: p.id,
        order_id: p.order_id,
        customer_id: p.customer_id,
        amount: p.amount,
        currency: p.currency,
        state: wit_state(p.state),
        authorization_id: p.authorization_id,
        capture_id: p.capture_id,
        void_id: p.void_id,
        refund_id: p.refund_id,
        transitions: p
            .transitions
            .into_iter()
            .map(|t| Transition {
                state: wit_state(t.state),
                at_ms: t.at_ms,
            })
            .collect(),
    }
}

fn wit_error(error: core::PaymentError) -> PaymentError {
    use core::PaymentError as C;
    match error {
        C::InvalidCard => PaymentError::InvalidCard,
        C::InvalidCvv => PaymentError::InvalidCvv,
        C::InvalidAmount => PaymentError::InvalidAmount,
        C::CardExpired => PaymentError::CardExpired,
        C::InsufficientFunds => PaymentError::InsufficientFunds,
        C::AuthorizationExpired => PaymentError::AuthorizationExpired,
        C::InvalidTransition(state) => PaymentError::InvalidTransition(wit_state(state)),
        C::NotFound => PaymentError::NotFound,
        C::IdempotencyKeyReused => PaymentError::IdempotencyKeyReused,
        C::BankUnavailable => PaymentError::BankUnavailable,
        C::Other(message) => PaymentError::Other(message),
    }
}

fn wit_response(response: core::Response) -> Result<Payment, PaymentError> {
    response.map(wit_payment).map_err(wit_error)
}

fn wit_operate(
    operation: core::Operation,
    key: String,
    payment_id: String,
) -> Result<Payment, PaymentError> {
    wit_response(<crate::Buggy as Bug>::operate(
        &mut gateway(),
        operation,
        &key,
        &payment_id,
    ))
}

struct Component;

impl Guest for Component {
    fn authorize(request: AuthorizeRequest) -> Result<Payment, PaymentError> {
        let request = core::AuthorizeRequest {
            idempotency_key: request.idempotency_key,
            order_id: request.order_id,
            customer_id: request.customer_id,
            amount: request.amount,
            card: core::Card {
                number: request.card.number,
                cvv: request.card.cvv,
                expiry_month: request.card.expiry_month,
                expiry_year: request.card.expiry_year,
            },
        };
        wit_response(<crate::Buggy as Bug>::authorize(&mut gateway(), &request))
    }

    fn capture(idempotency_key: String, payment_id: String) -> Result<Payment, PaymentError> {
        wit_operate(core::Operation::Capture, idempotency_key, payment_id)
    }

    fn void(idempotency_key: String, payment_id: String) -> Result<Payment, PaymentError> {
        wit_operate(core::Operation::Void, idempotency_key, payment_id)
    }

    fn refund(idempotency_key: String, payment_id: String) -> Result<Payment, PaymentError> {
        wit_operate(core::Operation::Refund, idempotency_key, payment_id)
    }

    fn get_payment(payment_id: String) -> Result<Payment, PaymentError> {
        wit_response(gateway().get_payment(&payment_id))
    }

    fn payments_by_order(order_id: String) -> Vec<Payment> {
        gateway()
            .payments_by_order(&order_id)
            .into_iter()
            .map(wit_payment)
            .collect()
    }

    fn payments_by_customer(customer_id: String) -> Vec<Payment> {
        gateway()
            .payments_by_customer(&customer_id)
            .into_iter()
            .map(wit_payment)
            .collect()
    }

    fn recover() {
        gateway().recover();
    }
}

export!(Component);
