//! The reference payment gateway, except that a refund whose answer timed
//! out is taken for a refusal. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl glue::Bug for Buggy {
    fn bank() -> Box<dyn core::Bank> {
        Box::new(PessimisticBank(glue::WitBank))
    }
}

/// The imported bank, with a refund's `timeout` read as a refusal.
struct PessimisticBank(glue::WitBank);

impl core::Bank for PessimisticBank {
    fn authorize(
        &mut self,
        card: &core::Card,
        amount: u64,
        key: &str,
    ) -> Result<core::Authorization, core::BankError> {
        self.0.authorize(card, amount, key)
    }

    fn capture(
        &mut self,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::CaptureReceipt, core::BankError> {
        self.0.capture(authorization_id, amount, key)
    }

    fn void(
        &mut self,
        authorization_id: &str,
        key: &str,
    ) -> Result<core::VoidReceipt, core::BankError> {
        self.0.void(authorization_id, key)
    }

    fn refund(
        &mut self,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::RefundReceipt, core::BankError> {
        match self.0.refund(capture_id, amount, key) {
            // BUG: "no answer means no refund": the bank may have refunded
            // before the answer was lost, but the payment stays CAPTURED.
            Err(core::BankError::Timeout) => Err(core::BankError::UnknownCapture),
            other => other,
        }
    }
}
