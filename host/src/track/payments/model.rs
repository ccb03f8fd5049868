//! The host's own types for the payment-gateway track: the client's
//! requests, and the gateway's answers normalised for the diff (states,
//! error kinds and amounts are compared; generated ids and times are not).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bindings::payments::gateway as wit;

/// A card as a client sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CardDetails {
    pub number: String,
    pub cvv: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
}

/// One client request. Payments are named by the label of the authorize
/// step that created them (`as = "p1"`): the driver maps labels to the ids
/// each gateway returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Authorize {
        key: String,
        label: Option<String>,
        order: String,
        customer: String,
        amount: u64,
        card: CardDetails,
    },
    Capture {
        key: String,
        payment: String,
    },
    Void {
        key: String,
        payment: String,
    },
    Refund {
        key: String,
        payment: String,
    },
    Get {
        payment: String,
    },
    ByOrder {
        order: String,
    },
    ByCustomer {
        customer: String,
    },
}

impl Op {
    /// The gateway idempotency key of a state-changing request.
    pub fn key(&self) -> Option<&str> {
        match self {
            Op::Authorize { key, .. }
            | Op::Capture { key, .. }
            | Op::Void { key, .. }
            | Op::Refund { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The label of the payment a capture, void or refund changes.
    pub fn changes(&self) -> Option<&str> {
        match self {
            Op::Capture { payment, .. } | Op::Void { payment, .. } | Op::Refund { payment, .. } => {
                Some(payment)
            }
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::Authorize { .. } => "authorize",
            Op::Capture { .. } => "capture",
            Op::Void { .. } => "void",
            Op::Refund { .. } => "refund",
            Op::Get { .. } => "get-payment",
            Op::ByOrder { .. } => "payments-by-order",
            Op::ByCustomer { .. } => "payments-by-customer",
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Authorize {
                key,
                amount,
                card,
                order,
                ..
            } => write!(
                f,
                "authorize(key {key:?}, order {order:?}, {amount} cents, card {})",
                card.number
            ),
            Op::Capture { key, payment }
            | Op::Void { key, payment }
            | Op::Refund { key, payment } => {
                write!(f, "{}(key {key:?}, payment {payment})", self.name())
            }
            Op::Get { payment } => write!(f, "get-payment({payment})"),
            Op::ByOrder { order } => write!(f, "payments-by-order({order:?})"),
            Op::ByCustomer { customer } => write!(f, "payments-by-customer({customer:?})"),
        }
    }
}

/// A payment as the diff compares it: no ids, no times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Payment {
    pub order: String,
    pub customer: String,
    pub amount: u64,
    pub currency: String,
    pub state: String,
    /// The states entered, oldest first.
    pub states: Vec<String>,
    pub authorized_by_bank: bool,
    pub captured_by_bank: bool,
    pub voided_by_bank: bool,
    pub refunded_by_bank: bool,
}

/// The ids and times a payment carried, kept for replays and checks but
/// left out of the diff.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PaymentIds {
    pub id: String,
    pub authorization_id: Option<String>,
    pub capture_id: Option<String>,
    pub void_id: Option<String>,
    pub refund_id: Option<String>,
    pub transition_times_ms: Vec<u64>,
}

fn state_name(state: wit::PaymentState) -> &'static str {
    match state {
        wit::PaymentState::Pending => "pending",
        wit::PaymentState::Authorized => "authorized",
        wit::PaymentState::Captured => "captured",
        wit::PaymentState::Voided => "voided",
        wit::PaymentState::Refunded => "refunded",
    }
}

pub(crate) fn payment(p: &wit::Payment) -> (Payment, PaymentIds) {
    (
        Payment {
            order: p.order_id.clone(),
            customer: p.customer_id.clone(),
            amount: p.amount,
            currency: p.currency.clone(),
            state: state_name(p.state).to_string(),
            states: p
                .transitions
                .iter()
                .map(|t| state_name(t.state).to_string())
                .collect(),
            authorized_by_bank: p.authorization_id.is_some(),
            captured_by_bank: p.capture_id.is_some(),
            voided_by_bank: p.void_id.is_some(),
            refunded_by_bank: p.refund_id.is_some(),
        },
        PaymentIds {
            id: p.id.clone(),
            authorization_id: p.authorization_id.clone(),
            capture_id: p.capture_id.clone(),
            void_id: p.void_id.clone(),
            refund_id: p.refund_id.clone(),
            transition_times_ms: p.transitions.iter().map(|t| t.at_ms).collect(),
        },
    )
}

/// A gateway error, by its WIT variant name (with the state, for an
/// invalid transition).
pub(crate) fn error_kind(e: &wit::PaymentError) -> String {
    match e {
        wit::PaymentError::InvalidCard => "invalid-card".into(),
        wit::PaymentError::InvalidCvv => "invalid-cvv".into(),
        wit::PaymentError::InvalidAmount => "invalid-amount".into(),
        wit::PaymentError::CardExpired => "card-expired".into(),
        wit::PaymentError::InsufficientFunds => "insufficient-funds".into(),
        wit::PaymentError::AuthorizationExpired => "authorization-expired".into(),
        wit::PaymentError::InvalidTransition(state) => {
            format!("invalid-transition({})", state_name(*state))
        }
        wit::PaymentError::NotFound => "not-found".into(),
        wit::PaymentError::IdempotencyKeyReused => "idempotency-key-reused".into(),
        wit::PaymentError::BankUnavailable => "bank-unavailable".into(),
        wit::PaymentError::Other(_) => "other".into(),
    }
}

/// The errors that are permanent: the bank said no for good.
pub const PERMANENT_ERRORS: &[&str] = &[
    "invalid-card",
    "invalid-cvv",
    "invalid-amount",
    "card-expired",
    "insufficient-funds",
];

/// What the diff compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Payment(Payment),
    Error(String),
    Payments(Vec<Payment>),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Payment(p) => {
                let receipts: Vec<&str> = [
                    (p.authorized_by_bank, "authorization"),
                    (p.captured_by_bank, "capture"),
                    (p.voided_by_bank, "void"),
                    (p.refunded_by_bank, "refund"),
                ]
                .iter()
                .filter(|(known, _)| *known)
                .map(|(_, name)| *name)
                .collect();
                write!(
                    f,
                    "{} {} cents ({}; bank receipts: {})",
                    p.state,
                    p.amount,
                    p.states.join(" > "),
                    if receipts.is_empty() {
                        "none".to_string()
                    } else {
                        receipts.join(", ")
                    }
                )
            }
            Answer::Error(kind) => write!(f, "error {kind}"),
            Answer::Payments(list) => {
                let states: Vec<&str> = list.iter().map(|p| p.state.as_str()).collect();
                write!(f, "{} payments [{}]", list.len(), states.join(", "))
            }
        }
    }
}

/// One client request's outcome: the normalised answer (compared), and
/// what the host saw on the way (not compared).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Output {
    pub answer: Answer,
    /// The ids behind the answer's payments, in order.
    pub ids: Vec<PaymentIds>,
    /// The free text of an `other` error.
    pub message: Option<String>,
    /// Crashes injected while serving this request (each followed by a
    /// fresh instance, `recover`, and the client's retry).
    pub crashes: u32,
    /// Bank calls made while serving it, and the virtual time it took
    /// (bank latency and the gateway's own backoff sleeps).
    pub bank_calls: u64,
    pub waited_ms: u64,
    /// The bank ledger entries made while serving it: indices into the
    /// ledger, in order (other requests' interleave in a concurrent run).
    pub ledger: Vec<usize>,
    /// The bank faults injected while serving it: indices into the bank's
    /// list of injected faults.
    pub injected: Vec<usize>,
    /// The bank calls made while serving it: indices into the bank's call
    /// log.
    pub bank_log: Vec<usize>,
}

impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        self.answer == other.answer
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.answer.fmt(f)?;
        if self.bank_calls > 0 || self.crashes > 0 {
            write!(
                f,
                " [not compared: {} bank call(s), {} ms",
                self.bank_calls, self.waited_ms
            )?;
            if self.crashes > 0 {
                write!(f, "; {} injected crash(es) recovered", self.crashes)?;
            }
            write!(f, "]")?;
        }
        Ok(())
    }
}

/// Payment labels to the ids one gateway gave them.
pub type Labels = BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_marks_the_bank_figures_not_compared() {
        let output = |bank_calls, waited_ms| Output {
            answer: Answer::Error("bank-unavailable".into()),
            ids: Vec::new(),
            message: None,
            crashes: 1,
            bank_calls,
            waited_ms,
            ledger: Vec::new(),
            injected: Vec::new(),
            bank_log: Vec::new(),
        };
        assert_eq!(
            output(5, 1_500).to_string(),
            "error bank-unavailable [not compared: 5 bank call(s), 1500 ms; 1 injected crash(es) recovered]"
        );
        // The figures alone never make a difference.
        assert_eq!(output(5, 1_500), output(3, 0));
    }
}
