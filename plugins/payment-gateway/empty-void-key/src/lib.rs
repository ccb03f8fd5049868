//! The reference payment gateway, except that every void goes to the bank
//! with an empty idempotency key. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

struct Buggy;

impl glue::Bug for Buggy {
    fn bank() -> Box<dyn core::Bank> {
        Box::new(EmptyVoidKeyBank(glue::WitBank))
    }
}

/// The imported bank, with the key of every void emptied.
struct EmptyVoidKeyBank(glue::WitBank);

impl core::Bank for EmptyVoidKeyBank {
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
        _key: &str,
    ) -> Result<core::VoidReceipt, core::BankError> {
        // BUG: the void's bank key is never filled in: it goes out empty.
        // The bank refuses a call without a key (the real one answers 400),
        // and one key shared by every void could not tell their retries
        // apart anyway.
        self.0.void(authorization_id, "")
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
