//! The reference payment gateway, except that a bank call retried after a
//! timeout is sent with a fresh bank idempotency key. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use std::cell::RefCell;
use std::collections::BTreeMap;

use glue::reference as core;

thread_local! {
    /// Per bank idempotency key, how many of its calls timed out (in this
    /// instance).
    static TIMEOUTS: RefCell<BTreeMap<String, u32>> = const { RefCell::new(BTreeMap::new()) };
}

struct Buggy;

impl glue::Bug for Buggy {
    fn bank() -> Box<dyn core::Bank> {
        Box::new(FreshKeyBank(glue::WitBank))
    }
}

/// The imported bank, with the key of every call after a timeout replaced.
struct FreshKeyBank(glue::WitBank);

impl FreshKeyBank {
    /// The key actually sent for `key`.
    fn key(key: &str) -> String {
        match TIMEOUTS.with_borrow(|t| t.get(key).copied()) {
            // BUG: "the key that timed out is poisoned": after a timeout the
            // retry goes out under a fresh key. But a timeout may come after
            // the bank committed; under a fresh key the bank cannot replay
            // that effect, so it does the operation again: a second hold
            // for an authorization, `already-used` for a capture or void
            // (the core then settles it with an unknown receipt id),
            // `already-refunded` for a refund.
            Some(n) => format!("{key}#retry-{n}"),
            None => key.to_string(),
        }
    }

    fn note<T>(key: &str, result: &Result<T, core::BankError>) {
        if matches!(result, Err(core::BankError::Timeout)) {
            TIMEOUTS.with_borrow_mut(|t| *t.entry(key.to_string()).or_default() += 1);
        }
    }
}

impl core::Bank for FreshKeyBank {
    fn authorize(
        &mut self,
        card: &core::Card,
        amount: u64,
        key: &str,
    ) -> Result<core::Authorization, core::BankError> {
        let result = self.0.authorize(card, amount, &Self::key(key));
        Self::note(key, &result);
        result
    }

    fn capture(
        &mut self,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::CaptureReceipt, core::BankError> {
        let result = self.0.capture(authorization_id, amount, &Self::key(key));
        Self::note(key, &result);
        result
    }

    fn void(
        &mut self,
        authorization_id: &str,
        key: &str,
    ) -> Result<core::VoidReceipt, core::BankError> {
        let result = self.0.void(authorization_id, &Self::key(key));
        Self::note(key, &result);
        result
    }

    fn refund(
        &mut self,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<core::RefundReceipt, core::BankError> {
        let result = self.0.refund(capture_id, amount, &Self::key(key));
        Self::note(key, &result);
        result
    }
}
