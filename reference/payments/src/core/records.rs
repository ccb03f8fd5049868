//! The store layout: keys, and the records kept under them (see the module
//! docs of [`crate::core`] for the whole layout).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::types::{Card, Payment, PaymentError};

/// The key of the last payment sequence number (decimal ASCII; absent: 0).
pub const SEQ_KEY: &str = "seq/payment";

/// The prefix of every payment record.
pub const PAYMENT_PREFIX: &str = "payment/";

/// The gateway's operations; idempotency keys are scoped by operation, and
/// the bank key of an operation on a payment is `{payment-id}/{operation}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Authorize,
    Capture,
    Void,
    Refund,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Authorize => "authorize",
            Operation::Capture => "capture",
            Operation::Void => "void",
            Operation::Refund => "refund",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `pay-{seq:06}`.
pub fn payment_id(seq: u64) -> String {
    format!("pay-{seq:06}")
}

/// `payment/{id}`.
pub fn payment_key(payment_id: &str) -> String {
    format!("{PAYMENT_PREFIX}{payment_id}")
}

/// `idem/{operation}/{key}` (the key verbatim: it is only ever read
/// exactly, never scanned).
pub fn idempotency_key(operation: Operation, key: &str) -> String {
    format!("idem/{operation}/{key}")
}

/// `order/{escaped order id}/`: the prefix of an order's index entries.
pub fn order_prefix(order_id: &str) -> String {
    format!("order/{}/", escape(order_id))
}

/// `customer/{escaped customer id}/`.
pub fn customer_prefix(customer_id: &str) -> String {
    format!("customer/{}/", escape(customer_id))
}

/// An index entry: `{prefix}{seq:010}`.
pub fn index_key(prefix: &str, seq: u64) -> String {
    format!("{prefix}{seq:010}")
}

/// The bank idempotency key of an operation on a payment, stable across
/// retries, crashes and recoveries.
pub fn bank_key(payment_id: &str, operation: Operation) -> String {
    format!("{payment_id}/{operation}")
}

/// Escapes an id for use as one segment of an index key: `%` becomes `%25`
/// and `/` becomes `%2F`, so the scan of order `a` (prefix `order/a/`) never
/// sees the entries of order `a/b` (prefix `order/a%2Fb/`).
pub fn escape(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            c => out.push(c),
        }
    }
    out
}

/// A bank operation the gateway started and has not settled yet: written
/// to the payment record before the bank is first called, and cleared (in
/// the same transaction) when the outcome is recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Intent {
    pub operation: Operation,
    pub started_ms: u64,
    /// The client's idempotency key of the request that started it: its
    /// record under `idem/{operation}/{key}` gets the final response.
    pub idempotency_key: String,
    /// The card, for an authorization (needed to call the bank again after
    /// a crash); `None` for the other operations.
    pub card: Option<Card>,
}

/// The value under `payment/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PaymentRecord {
    /// The payment's sequence number (its index entries end with it).
    pub seq: u64,
    pub payment: Payment,
    pub intent: Option<Intent>,
}

/// The value under `idem/{operation}/{key}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct IdempotencyRecord {
    /// The request's parameters, canonical (see [`authorize_fingerprint`];
    /// the payment id for the other operations).
    pub fingerprint: String,
    /// The payment the request created (authorize) or named (the others).
    pub payment_id: String,
    /// The final response; `None` while the request is in flight.
    pub response: Option<Result<Payment, PaymentError>>,
}

/// An authorization's fingerprint: its parameters but the idempotency key,
/// verbatim, as a JSON array `[order-id, customer-id, amount, number, cvv,
/// expiry-month, expiry-year]`. Verbatim rather than hashed, so that the
/// comparison is exact (a real gateway would not keep the cvv).
pub fn authorize_fingerprint(
    order_id: &str,
    customer_id: &str,
    amount: u64,
    card: &Card,
) -> String {
    serde_json::to_string(&(
        order_id,
        customer_id,
        amount,
        &card.number,
        &card.cvv,
        card.expiry_month,
        card.expiry_year,
    ))
    .unwrap_or_default()
}

/// A record as JSON bytes.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain records (strings, integers, options, enums
    // with string tags) cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A record from JSON bytes; a record that does not parse is reported as
/// `other("store: corrupt record at {key}")`.
pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, PaymentError> {
    serde_json::from_slice(bytes)
        .map_err(|_| PaymentError::Other(format!("store: corrupt record at {key}")))
}
