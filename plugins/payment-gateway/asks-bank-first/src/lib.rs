//! The reference payment gateway, except that an operation the payment's
//! state does not allow is tried at the bank before it is refused. See
//! README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl glue::Bug for Buggy {
    fn operate(
        gateway: &mut glue::Gateway,
        operation: core::Operation,
        key: &str,
        payment_id: &str,
    ) -> core::Response {
        if let Ok(payment) = gateway.get_payment(payment_id)
            && payment.state != glue::source_state(operation)
        {
            // BUG: "the bank is the authority on what is allowed": before
            // refusing a transition its state does not allow, the gateway
            // tries it at the bank (under a key of its own, so that no
            // earlier success is replayed). The bank refuses too
            // (`already-used`, `already-refunded`), so nothing changes
            // hands, and the gateway then refuses as the reference does,
            // with `invalid-transition`; but the bank was called.
            let mut bank = glue::WitBank;
            let bank_key = format!("{}/probe", core::bank_key(payment_id, operation));
            let amount = payment.amount;
            let _ = match (operation, payment.authorization_id, payment.capture_id) {
                (core::Operation::Capture, Some(authorization), _) => {
                    core::Bank::capture(&mut bank, &authorization, amount, &bank_key).map(drop)
                }
                (core::Operation::Void, Some(authorization), _) => {
                    core::Bank::void(&mut bank, &authorization, &bank_key).map(drop)
                }
                (core::Operation::Refund, _, Some(capture)) => {
                    core::Bank::refund(&mut bank, &capture, amount, &bank_key).map(drop)
                }
                // Nothing to name at the bank yet.
                _ => Ok(()),
            };
        }
        glue::operate(gateway, operation, key, payment_id)
    }
}
