//! The reference payment gateway: the oracle every payment-gateway plugin is
//! diffed against, answer by answer.
//!
//! [`core`] is the gateway itself, plain Rust generic over the bank, the
//! durable store and the clock, that builds and tests natively; its module
//! docs are the exact rules (store layout, idempotency, retries, recovery).
//! On `wasm32`, with the `component` feature (on by default), this crate is
//! also the component exporting `gauntlet:payments/gateway`: every call
//! builds a [`core::Gateway`] over the imported `bank`, `store` and `clock`
//! (the gateway keeps no state of its own) and converts the WIT types. The
//! contract is `wit/payments/payments.wit`.

pub mod core;

/// The host's mock bank, compiled from source for the native tests (its own
/// unit tests come along). An inline module with a `path`, so that the
/// bank's `mod card;` resolves to `bank/card.rs` as in the host.
#[cfg(test)]
#[path = "../../../host/src/track/payments"]
#[allow(dead_code)]
mod host_payments {
    pub mod bank;
}

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component {
    use crate::core;

    wit_bindgen::generate!({
        path: ["../../wit/harness", "../../wit/payments"],
        world: "gauntlet:payments/plugin",
        // The harness package is a dependency path; generate its bindings too.
        generate_all,
    });

    use exports::gauntlet::payments::gateway::{
        AuthorizeRequest, Guest, Payment, PaymentError, PaymentState, Transition,
    };
    use gauntlet::harness::{clock, store};
    use gauntlet::payments::bank;

    /// The imported bank.
    struct WitBank;

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
                .map_err(convert_bank_error)
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
                .map_err(convert_bank_error)
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
                .map_err(convert_bank_error)
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
                .map_err(convert_bank_error)
        }
    }

    fn convert_bank_error(error: bank::BankError) -> core::BankError {
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
    struct WitStore;

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
    struct WitClock;

    impl core::Clock for WitClock {
        fn now_ms(&mut self) -> u64 {
            clock::now_ms()
        }

        fn sleep_ms(&mut self, ms: u64) {
            clock::sleep_ms(ms);
        }
    }

    fn gateway() -> core::Gateway<WitBank, WitStore, WitClock> {
        core::Gateway::new(WitBank, WitStore, WitClock)
    }

    fn convert_state(state: core::PaymentState) -> PaymentState {
        match state {
            core::PaymentState::Pending => PaymentState::Pending,
            core::PaymentState::Authorized => PaymentState::Authorized,
            core::PaymentState::Captured => PaymentState::Captured,
            core::PaymentState::Voided => PaymentState::Voided,
            core::PaymentState::Refunded => PaymentState::Refunded,
        }
    }

    fn convert_payment(p: core::Payment) -> Payment {
        Payment {
            id: p.id,
            order_id: p.order_id,
            customer_id: p.customer_id,
            amount: p.amount,
            currency: p.currency,
            state: convert_state(p.state),
            authorization_id: p.authorization_id,
            capture_id: p.capture_id,
            void_id: p.void_id,
            refund_id: p.refund_id,
            transitions: p
                .transitions
                .into_iter()
                .map(|t| Transition {
                    state: convert_state(t.state),
                    at_ms: t.at_ms,
                })
                .collect(),
        }
    }

    fn convert_error(error: core::PaymentError) -> PaymentError {
        use core::PaymentError as C;
        match error {
            C::InvalidCard => PaymentError::InvalidCard,
            C::InvalidCvv => PaymentError::InvalidCvv,
            C::InvalidAmount => PaymentError::InvalidAmount,
            C::CardExpired => PaymentError::CardExpired,
            C::InsufficientFunds => PaymentError::InsufficientFunds,
            C::AuthorizationExpired => PaymentError::AuthorizationExpired,
            C::InvalidTransition(state) => PaymentError::InvalidTransition(convert_state(state)),
            C::NotFound => PaymentError::NotFound,
            C::IdempotencyKeyReused => PaymentError::IdempotencyKeyReused,
            C::BankUnavailable => PaymentError::BankUnavailable,
            C::Other(message) => PaymentError::Other(message),
        }
    }

    fn convert_response(response: core::Response) -> Result<Payment, PaymentError> {
        response.map(convert_payment).map_err(convert_error)
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
            convert_response(gateway().authorize(&request))
        }

        fn capture(idempotency_key: String, payment_id: String) -> Result<Payment, PaymentError> {
            convert_response(gateway().capture(&idempotency_key, &payment_id))
        }

        fn void(idempotency_key: String, payment_id: String) -> Result<Payment, PaymentError> {
            convert_response(gateway().void(&idempotency_key, &payment_id))
        }

        fn refund(idempotency_key: String, payment_id: String) -> Result<Payment, PaymentError> {
            convert_response(gateway().refund(&idempotency_key, &payment_id))
        }

        fn get_payment(payment_id: String) -> Result<Payment, PaymentError> {
            convert_response(gateway().get_payment(&payment_id))
        }

        fn payments_by_order(order_id: String) -> Vec<Payment> {
            gateway()
                .payments_by_order(&order_id)
                .into_iter()
                .map(convert_payment)
                .collect()
        }

        fn payments_by_customer(customer_id: String) -> Vec<Payment> {
            gateway()
                .payments_by_customer(&customer_id)
                .into_iter()
                .map(convert_payment)
                .collect()
        }

        fn recover() {
            gateway().recover();
        }
    }

    export!(Component);
}
