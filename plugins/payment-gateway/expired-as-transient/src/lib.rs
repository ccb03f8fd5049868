//! The reference payment gateway, except that `card-expired` is taken for
//! a transient failure. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl glue::Bug for Buggy {
    fn bank() -> Box<dyn core::Bank> {
        Box::new(HopefulBank(glue::WitBank))
    }
}

/// The imported bank, with `card-expired` read as `unavailable`.
struct HopefulBank(glue::WitBank);

impl core::Bank for HopefulBank {
    fn authorize(
        &mut self,
        card: &core::Card,
        amount: u64,
        key: &str,
    ) -> Result<core::Authorization, core::BankError> {
        match self.0.authorize(card, amount, key) {
            // BUG: "maybe the bank's clock is off": an expired card is
            // retried like an outage, and the shop hears bank-unavailable.
            Err(core::BankError::CardExpired) => Err(core::BankError::Unavailable),
            other => other,
        }
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
        self.0.refund(capture_id, amount, key)
    }
}
