//! The reference payment gateway, except that an authorization declined for
//! insufficient funds is tried again. See README.md.

#[path = "../../buggy_glue.rs"]
mod glue;

use glue::reference as core;

/// The waits before each extra try of a declined authorization, in virtual
/// milliseconds.
const DECLINE_RETRIES_MS: [u64; 3] = [500, 1_000, 2_000];

struct Buggy;

impl glue::Bug for Buggy {
    fn bank() -> Box<dyn core::Bank> {
        Box::new(HopefulBank(glue::WitBank))
    }
}

/// The imported bank, asked again when it declines for lack of funds.
struct HopefulBank(glue::WitBank);

impl core::Bank for HopefulBank {
    fn authorize(
        &mut self,
        card: &core::Card,
        amount: u64,
        key: &str,
    ) -> Result<core::Authorization, core::BankError> {
        let mut result = self.0.authorize(card, amount, key);
        for delay in DECLINE_RETRIES_MS {
            // BUG: insufficient funds is taken for a passing condition ("the
            // customer may top up, or a hold may be released") and retried
            // after a wait. It is a permanent refusal: each retry is one
            // more bank call that the bank declines again.
            if result != Err(core::BankError::InsufficientFunds) {
                break;
            }
            core::Clock::sleep_ms(&mut glue::WitClock, delay);
            result = self.0.authorize(card, amount, key);
        }
        result
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
