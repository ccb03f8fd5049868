//! The WIT types of `gauntlet:payments` and `gauntlet:harness/store` as plain
//! Rust, and the three traits the gateway is generic over ([`Bank`],
//! [`Store`], [`Clock`]), which mirror the imported interfaces.

use std::fmt;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// The gateway's types (`gauntlet:payments/gateway`)
// ---------------------------------------------------------------------------

/// The only currency.
pub const CURRENCY: &str = "USD";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentState {
    Pending,
    Authorized,
    Captured,
    Voided,
    Refunded,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Authorized => "authorized",
            PaymentState::Captured => "captured",
            PaymentState::Voided => "voided",
            PaymentState::Refunded => "refunded",
        }
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state the payment entered, and when (virtual milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Transition {
    pub state: PaymentState,
    pub at_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Payment {
    /// The gateway's own id, `pay-{seq:06}`.
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    /// In cents.
    pub amount: u64,
    /// Always [`CURRENCY`].
    pub currency: String,
    pub state: PaymentState,
    pub authorization_id: Option<String>,
    pub capture_id: Option<String>,
    pub void_id: Option<String>,
    pub refund_id: Option<String>,
    /// Every state the payment entered, oldest first.
    pub transitions: Vec<Transition>,
}

/// A card as the shop sends it (the WIT's `bank.card`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Card {
    pub number: String,
    pub cvv: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub idempotency_key: String,
    pub order_id: String,
    pub customer_id: String,
    /// In cents.
    pub amount: u64,
    pub card: Card,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentError {
    InvalidCard,
    InvalidCvv,
    InvalidAmount,
    CardExpired,
    InsufficientFunds,
    /// The bank refused a capture because the authorization expired.
    AuthorizationExpired,
    /// The operation is not allowed from the payment's state (given); the
    /// bank was not called.
    InvalidTransition(PaymentState),
    NotFound,
    /// The idempotency key was used before with different parameters.
    IdempotencyKeyReused,
    /// The bank stayed unavailable (or silent); the operation stays in
    /// flight and a retry or `recover` settles it.
    BankUnavailable,
    Other(String),
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentError::InvalidCard => f.write_str("invalid-card"),
            PaymentError::InvalidCvv => f.write_str("invalid-cvv"),
            PaymentError::InvalidAmount => f.write_str("invalid-amount"),
            PaymentError::CardExpired => f.write_str("card-expired"),
            PaymentError::InsufficientFunds => f.write_str("insufficient-funds"),
            PaymentError::AuthorizationExpired => f.write_str("authorization-expired"),
            PaymentError::InvalidTransition(state) => write!(f, "invalid-transition({state})"),
            PaymentError::NotFound => f.write_str("not-found"),
            PaymentError::IdempotencyKeyReused => f.write_str("idempotency-key-reused"),
            PaymentError::BankUnavailable => f.write_str("bank-unavailable"),
            PaymentError::Other(message) => write!(f, "other({message})"),
        }
    }
}

impl std::error::Error for PaymentError {}

// ---------------------------------------------------------------------------
// The bank (`gauntlet:payments/bank`)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BankError {
    InvalidCard,
    InvalidCvv,
    InvalidAmount,
    CardExpired,
    InsufficientFunds,
    UnknownAuthorization,
    /// The authorization was already captured or voided.
    AlreadyUsed,
    AuthorizationExpired,
    AmountMismatch,
    UnknownCapture,
    AlreadyRefunded,
    /// Not processed: a retry is safe.
    Unavailable,
    /// No answer in time: maybe processed. Retry with the same key.
    Timeout,
}

impl BankError {
    /// The WIT (kebab-case) name.
    pub fn as_str(self) -> &'static str {
        match self {
            BankError::InvalidCard => "invalid-card",
            BankError::InvalidCvv => "invalid-cvv",
            BankError::InvalidAmount => "invalid-amount",
            BankError::CardExpired => "card-expired",
            BankError::InsufficientFunds => "insufficient-funds",
            BankError::UnknownAuthorization => "unknown-authorization",
            BankError::AlreadyUsed => "already-used",
            BankError::AuthorizationExpired => "authorization-expired",
            BankError::AmountMismatch => "amount-mismatch",
            BankError::UnknownCapture => "unknown-capture",
            BankError::AlreadyRefunded => "already-refunded",
            BankError::Unavailable => "unavailable",
            BankError::Timeout => "timeout",
        }
    }

    /// Whether the gateway retries it (with the same bank key): only
    /// `unavailable` and `timeout`.
    pub fn is_transient(self) -> bool {
        matches!(self, BankError::Unavailable | BankError::Timeout)
    }
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub id: String,
    pub amount: u64,
    pub created_ms: u64,
    pub expires_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureReceipt {
    pub id: String,
    pub authorization_id: String,
    pub amount: u64,
    pub created_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoidReceipt {
    pub id: String,
    pub authorization_id: String,
    pub created_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundReceipt {
    pub id: String,
    pub capture_id: String,
    pub amount: u64,
    pub created_ms: u64,
}

/// The bank's four operations (`gauntlet:payments/bank`). The read-backs
/// (`get-authorization`, ...) are left out: they never tell what became of
/// an authorization, so the gateway has no use for them.
pub trait Bank {
    fn authorize(
        &mut self,
        card: &Card,
        amount: u64,
        key: &str,
    ) -> Result<Authorization, BankError>;
    fn capture(
        &mut self,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<CaptureReceipt, BankError>;
    fn void(&mut self, authorization_id: &str, key: &str) -> Result<VoidReceipt, BankError>;
    fn refund(
        &mut self,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<RefundReceipt, BankError>;
}

// ---------------------------------------------------------------------------
// The durable store (`gauntlet:harness/store`)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    KeyTooLarge,
    ValueTooLarge,
    QuotaExceeded,
}

impl StoreError {
    /// The WIT (kebab-case) name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreError::KeyTooLarge => "key-too-large",
            StoreError::ValueTooLarge => "value-too-large",
            StoreError::QuotaExceeded => "quota-exceeded",
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition of a transaction: `key` holds `expected` (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub key: String,
    pub expected: Option<Vec<u8>>,
}

/// A write of a transaction: `value` `None` deletes `key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// The part of `gauntlet:harness/store` the gateway uses: every write goes
/// through [`Store::transact`] (so `put` and `delete` are left out).
pub trait Store {
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    /// Atomically: if every condition holds, applies every write in order
    /// and returns `true`; otherwise changes nothing and returns `false`.
    fn transact(&mut self, conditions: &[Condition], writes: &[Write]) -> Result<bool, StoreError>;
    /// Up to `limit` entries whose key starts with `prefix` and comes after
    /// `start_after`, in key order.
    fn scan(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Vec<(String, Vec<u8>)>;
}

// ---------------------------------------------------------------------------
// The clock (`gauntlet:harness/clock`)
// ---------------------------------------------------------------------------

pub trait Clock {
    /// The current virtual time, in milliseconds.
    fn now_ms(&mut self) -> u64;
    /// Waits `ms` milliseconds of virtual time.
    fn sleep_ms(&mut self, ms: u64);
}
