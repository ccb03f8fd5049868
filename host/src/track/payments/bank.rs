//! The host's mock bank for the payment-gateway track: a pure, deterministic
//! state machine that reproduces the rules of the track's brief ("The mock
//! bank (host side), rules to reproduce exactly").
//!
//! - Time is virtual: every operation takes `now_ms`, milliseconds since the
//!   Unix epoch; the bank never reads a clock and draws no randomness.
//! - Amounts are integer cents. Receipt ids come from one counter per kind,
//!   in order: `auth-000001`, `cap-000001`, `void-000001`, `ref-000001`.
//! - Faults (unavailability, latency, timeouts after commit) are the
//!   driver's business, around these calls; the bank only offers
//!   [`Bank::forget_idempotency_key`] and [`Bank::forget_all_idempotency_keys`]
//!   for "the bank's memory of an idempotency key lost".
//! - Everything the checks need is kept in order: the [`Bank::ledger`] of
//!   every call (a driver can attribute calls to a gateway operation by the
//!   ledger's length before and after it), and the true state of every
//!   authorization and capture.
//!
//! Choices where the brief is silent:
//! - Card numbers: see [`card::is_well_formed_number`] (ASCII spaces are
//!   skipped by the format check, so a spaced number fails at "card known").
//! - The request's expiry month and year are carried but never looked at,
//!   not even for range (the brief: "required but never compared").
//! - The idempotency memory of a success lasts `idempotency_ttl_ms`
//!   inclusive, like an authorization: a replay at exactly `stored + ttl`
//!   still replays; one millisecond later the key is forgotten. A replay
//!   does not extend the memory. A new success under a forgotten key is
//!   remembered afresh. The empty string is a key like any other.
//! - Arithmetic saturates instead of overflowing (only reachable with a
//!   configuration that [`BankConfig::validate`] rejects or absurd amounts).

pub mod card;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// One hour of virtual time.
pub const HOUR_MS: u64 = 3_600_000;

/// How long an authorization can be captured: 168 hours.
pub const DEFAULT_AUTHORIZATION_TTL_MS: u64 = 168 * HOUR_MS;

/// How long the bank remembers a successful answer under its key: 24 hours.
pub const DEFAULT_IDEMPOTENCY_TTL_MS: u64 = 24 * HOUR_MS;

/// A card the bank knows, with its current balances in cents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CardAccount {
    pub number: String,
    pub cvv: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
    /// The money on the account.
    pub balance: u64,
    /// The balance less the active holds.
    pub available: u64,
}

impl CardAccount {
    /// A card with `available == balance`.
    pub fn new(number: &str, cvv: &str, expiry_month: u8, expiry_year: u16, balance: u64) -> Self {
        CardAccount {
            number: number.to_string(),
            cvv: cvv.to_string(),
            expiry_month,
            expiry_year,
            balance,
            available: balance,
        }
    }

    /// Whether the card's stored expiry has passed at `now_ms`: a card
    /// expiring MM/YYYY is valid through the last millisecond of that month,
    /// UTC.
    pub fn is_expired_at(&self, now_ms: u64) -> bool {
        card::is_expired(self.expiry_month, self.expiry_year, now_ms)
    }
}

/// The brief's four test cards, in the brief's order.
pub fn test_cards() -> Vec<CardAccount> {
    vec![
        CardAccount::new("4111111111111111", "123", 12, 2030, 1_000_000),
        CardAccount::new("4242424242424242", "456", 6, 2030, 50_000),
        CardAccount::new("5555555555554444", "789", 9, 2030, 0),
        CardAccount::new("5105105105105100", "321", 3, 2020, 500_000),
    ]
}

/// What a bank starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BankConfig {
    /// The known cards. A later card with the same number as an earlier one
    /// replaces it (so a scenario can override a test card by appending).
    pub cards: Vec<CardAccount>,
    /// How long after its creation an authorization can be captured.
    pub authorization_ttl_ms: u64,
    /// How long a successful answer is remembered under its key.
    pub idempotency_ttl_ms: u64,
}

impl Default for BankConfig {
    fn default() -> Self {
        BankConfig {
            cards: test_cards(),
            authorization_ttl_ms: DEFAULT_AUTHORIZATION_TTL_MS,
            idempotency_ttl_ms: DEFAULT_IDEMPOTENCY_TTL_MS,
        }
    }
}

impl BankConfig {
    /// Whether the configuration is sound; the first problem otherwise. A
    /// card's number must be 13 to 19 digits passing Luhn (no spaces: a
    /// spaced number would be reachable by a spaced request), its cvv 3 or
    /// 4 digits, its expiry month 1..=12, and its available balance at most
    /// its balance. A bank built from an unsound configuration still never
    /// panics (an invalid month makes the card expired).
    pub fn validate(&self) -> Result<(), String> {
        for c in &self.cards {
            let number = &c.number;
            if !(c.number.bytes().all(|b| b.is_ascii_digit())
                && card::is_well_formed_number(number))
            {
                return Err(format!(
                    "card {number:?}: a card number is 13 to 19 digits that pass the Luhn check"
                ));
            }
            if !card::is_well_formed_cvv(&c.cvv) {
                return Err(format!(
                    "card {number}: cvv {:?} is not 3 or 4 digits",
                    c.cvv
                ));
            }
            if !(1..=12).contains(&c.expiry_month) {
                return Err(format!(
                    "card {number}: expiry month {} is not 1 to 12",
                    c.expiry_month
                ));
            }
            if c.available > c.balance {
                return Err(format!(
                    "card {number}: available {} exceeds balance {}",
                    c.available, c.balance
                ));
            }
        }
        Ok(())
    }
}

/// The card part of an authorization request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CardRequest {
    pub number: String,
    pub cvv: String,
    /// Required, never compared with the card's stored expiry.
    pub expiry_month: u8,
    /// Required, never compared with the card's stored expiry.
    pub expiry_year: u16,
}

impl CardRequest {
    pub fn new(number: &str, cvv: &str, expiry_month: u8, expiry_year: u16) -> Self {
        CardRequest {
            number: number.to_string(),
            cvv: cvv.to_string(),
            expiry_month,
            expiry_year,
        }
    }

    /// The request that matches a known card exactly.
    pub fn for_card(card: &CardAccount) -> Self {
        CardRequest::new(&card.number, &card.cvv, card.expiry_month, card.expiry_year)
    }
}

/// The bank's operations; idempotency keys are scoped by operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Authorize,
    Capture,
    Void,
    Refund,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::Authorize,
        Operation::Capture,
        Operation::Void,
        Operation::Refund,
    ];

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

/// The bank's refusals. Every one is deterministic given the bank's state:
/// the transient faults (unavailable, timeout) are injected by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BankError {
    InvalidCard,
    InvalidCvv,
    InvalidAmount,
    CardExpired,
    InsufficientFunds,
    UnknownAuthorization,
    AlreadyUsed,
    AuthorizationExpired,
    AmountMismatch,
    UnknownCapture,
    AlreadyRefunded,
}

impl BankError {
    pub const ALL: [BankError; 11] = [
        BankError::InvalidCard,
        BankError::InvalidCvv,
        BankError::InvalidAmount,
        BankError::CardExpired,
        BankError::InsufficientFunds,
        BankError::UnknownAuthorization,
        BankError::AlreadyUsed,
        BankError::AuthorizationExpired,
        BankError::AmountMismatch,
        BankError::UnknownCapture,
        BankError::AlreadyRefunded,
    ];

    /// The kebab-case name, as serialised.
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
        }
    }
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for BankError {}

/// An approved authorization: a hold of `amount` on `card_number`,
/// capturable through `expires_ms` inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Authorization {
    pub id: String,
    pub card_number: String,
    pub amount: u64,
    pub created_ms: u64,
    /// `created_ms + authorization_ttl_ms`; a capture after this instant is
    /// refused as expired.
    pub expires_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Capture {
    pub id: String,
    pub authorization_id: String,
    pub amount: u64,
    pub created_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VoidReceipt {
    pub id: String,
    pub authorization_id: String,
    pub created_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Refund {
    pub id: String,
    pub capture_id: String,
    pub amount: u64,
    pub created_ms: u64,
}

/// The true state of an authorization (reading one back with
/// [`Bank::get_authorization`] never tells it). An expired authorization
/// that was never captured nor voided is still `Active`: nothing marks it
/// expired or releases its hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorizationStatus {
    Active,
    Captured,
    Voided,
}

/// An authorization and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AuthorizationRecord {
    pub authorization: Authorization,
    pub status: AuthorizationStatus,
    /// Set when `status` is `Captured`.
    pub capture_id: Option<String>,
    /// Set when `status` is `Voided`.
    pub void_id: Option<String>,
}

impl AuthorizationRecord {
    /// Whether its hold is still on the card (active, expired or not).
    pub fn holds(&self) -> bool {
        self.status == AuthorizationStatus::Active
    }
}

/// A capture and whether it was refunded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CaptureRecord {
    pub capture: Capture,
    pub refund_id: Option<String>,
}

/// A call's request, as the bank received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "operation")]
pub enum Request {
    #[serde(rename_all = "kebab-case")]
    Authorize { card: CardRequest, amount: u64 },
    #[serde(rename_all = "kebab-case")]
    Capture {
        authorization_id: String,
        amount: u64,
    },
    #[serde(rename_all = "kebab-case")]
    Void { authorization_id: String },
    #[serde(rename_all = "kebab-case")]
    Refund { capture_id: String, amount: u64 },
}

impl Request {
    pub fn operation(&self) -> Operation {
        match self {
            Request::Authorize { .. } => Operation::Authorize,
            Request::Capture { .. } => Operation::Capture,
            Request::Void { .. } => Operation::Void,
            Request::Refund { .. } => Operation::Refund,
        }
    }
}

/// A call's answer: the receipt's id, or the refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok(String),
    Err(BankError),
}

impl Outcome {
    pub fn id(&self) -> Option<&str> {
        match self {
            Outcome::Ok(id) => Some(id),
            Outcome::Err(_) => None,
        }
    }

    pub fn error(&self) -> Option<BankError> {
        match self {
            Outcome::Ok(_) => None,
            Outcome::Err(e) => Some(*e),
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}

/// What a call did to a card's balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Effect {
    /// Authorize: `available -= amount`.
    #[serde(rename_all = "kebab-case")]
    Hold { card_number: String, amount: u64 },
    /// Capture: `balance -= amount`; the hold is consumed, so `available`
    /// does not change.
    #[serde(rename_all = "kebab-case")]
    Debit { card_number: String, amount: u64 },
    /// Void: `available += amount`.
    #[serde(rename_all = "kebab-case")]
    Release { card_number: String, amount: u64 },
    /// Refund: `balance += amount` and `available += amount`.
    #[serde(rename_all = "kebab-case")]
    Credit { card_number: String, amount: u64 },
}

impl Effect {
    pub fn card_number(&self) -> &str {
        match self {
            Effect::Hold { card_number, .. }
            | Effect::Debit { card_number, .. }
            | Effect::Release { card_number, .. }
            | Effect::Credit { card_number, .. } => card_number,
        }
    }

    pub fn amount(&self) -> u64 {
        match *self {
            Effect::Hold { amount, .. }
            | Effect::Debit { amount, .. }
            | Effect::Release { amount, .. }
            | Effect::Credit { amount, .. } => amount,
        }
    }

    /// Applies the effect to the card's balances (saturating).
    pub fn apply(&self, card: &mut CardAccount) {
        let amount = self.amount();
        match self {
            Effect::Hold { .. } => card.available = card.available.saturating_sub(amount),
            Effect::Debit { .. } => card.balance = card.balance.saturating_sub(amount),
            Effect::Release { .. } => card.available = card.available.saturating_add(amount),
            Effect::Credit { .. } => {
                card.balance = card.balance.saturating_add(amount);
                card.available = card.available.saturating_add(amount);
            }
        }
    }
}

/// One call to the bank, in call order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LedgerEntry {
    /// The entry's index in the ledger.
    pub seq: usize,
    pub time_ms: u64,
    /// The bank idempotency key.
    pub key: String,
    pub request: Request,
    /// Whether the answer was replayed from the idempotency memory (then
    /// `outcome` is the remembered success and `effect` is `None`).
    pub replay: bool,
    pub outcome: Outcome,
    /// `Some` exactly for a fresh (not replayed) success.
    pub effect: Option<Effect>,
}

impl LedgerEntry {
    pub fn operation(&self) -> Operation {
        self.request.operation()
    }

    /// A fresh success: the call changed the bank's state.
    pub fn took_effect(&self) -> bool {
        self.effect.is_some()
    }
}

/// A remembered success.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Authorize(Authorization),
    Capture(Capture),
    Void(VoidReceipt),
    Refund(Refund),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Remembered {
    stored_ms: u64,
    answer: Answer,
}

/// The receipts, for the shared idempotent call path.
trait Receipt: Clone {
    fn id(&self) -> &str;
    fn into_answer(self) -> Answer;
    fn from_answer(answer: &Answer) -> Option<Self>;
}

macro_rules! receipt {
    ($ty:ty, $variant:ident) => {
        impl Receipt for $ty {
            fn id(&self) -> &str {
                &self.id
            }
            fn into_answer(self) -> Answer {
                Answer::$variant(self)
            }
            fn from_answer(answer: &Answer) -> Option<Self> {
                match answer {
                    Answer::$variant(r) => Some(r.clone()),
                    _ => None,
                }
            }
        }
    };
}

receipt!(Authorization, Authorize);
receipt!(Capture, Capture);
receipt!(VoidReceipt, Void);
receipt!(Refund, Refund);

/// Records of one kind in creation order, with an index by id (ids are not
/// relied on to sort: past 999999 they grow a digit).
#[derive(Clone, Debug)]
struct Records<T> {
    items: Vec<T>,
    index: BTreeMap<String, usize>,
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Records {
            items: Vec::new(),
            index: BTreeMap::new(),
        }
    }
}

impl<T> Records<T> {
    fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}-{:06}", self.items.len() + 1)
    }

    fn push(&mut self, id: String, item: T) {
        self.index.insert(id, self.items.len());
        self.items.push(item);
    }

    fn get(&self, id: &str) -> Option<&T> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.index.get(id).map(|&i| &mut self.items[i])
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
}

/// The mock bank.
#[derive(Clone, Debug)]
pub struct Bank {
    authorization_ttl_ms: u64,
    idempotency_ttl_ms: u64,
    initial_cards: BTreeMap<String, CardAccount>,
    cards: BTreeMap<String, CardAccount>,
    authorizations: Records<AuthorizationRecord>,
    captures: Records<CaptureRecord>,
    voids: Records<VoidReceipt>,
    refunds: Records<Refund>,
    memory: BTreeMap<(Operation, String), Remembered>,
    ledger: Vec<LedgerEntry>,
}

impl Default for Bank {
    fn default() -> Self {
        Bank::new(BankConfig::default())
    }
}

impl Bank {
    pub fn new(config: BankConfig) -> Self {
        let cards: BTreeMap<String, CardAccount> = config
            .cards
            .into_iter()
            .map(|c| (c.number.clone(), c))
            .collect();
        Bank {
            authorization_ttl_ms: config.authorization_ttl_ms,
            idempotency_ttl_ms: config.idempotency_ttl_ms,
            initial_cards: cards.clone(),
            cards,
            authorizations: Records::default(),
            captures: Records::default(),
            voids: Records::default(),
            refunds: Records::default(),
            memory: BTreeMap::new(),
            ledger: Vec::new(),
        }
    }

    pub fn authorization_ttl_ms(&self) -> u64 {
        self.authorization_ttl_ms
    }

    pub fn idempotency_ttl_ms(&self) -> u64 {
        self.idempotency_ttl_ms
    }

    // ---- the operations -------------------------------------------------

    /// Places a hold of `amount` cents. Checks, in order: the number's
    /// format and Luhn (invalid-card), the cvv's format (invalid-cvv),
    /// `amount >= 1` (invalid-amount), the card known (invalid-card), the
    /// cvv matching (invalid-cvv), the card's stored expiry not passed
    /// (card-expired), `available >= amount` (insufficient-funds).
    pub fn authorize(
        &mut self,
        now_ms: u64,
        card: &CardRequest,
        amount: u64,
        key: &str,
    ) -> Result<Authorization, BankError> {
        let request = Request::Authorize {
            card: card.clone(),
            amount,
        };
        self.call(now_ms, key, request, |bank| {
            bank.do_authorize(now_ms, card, amount)
        })
    }

    /// Captures an authorization in full. Checks, in order: authorization
    /// known (unknown-authorization), active (already-used), not past its
    /// expiry (authorization-expired), the amount equal to the authorized
    /// one (amount-mismatch).
    pub fn capture(
        &mut self,
        now_ms: u64,
        authorization_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<Capture, BankError> {
        let request = Request::Capture {
            authorization_id: authorization_id.to_string(),
            amount,
        };
        self.call(now_ms, key, request, |bank| {
            bank.do_capture(now_ms, authorization_id, amount)
        })
    }

    /// Voids an authorization, releasing its hold, expired or not. Checks,
    /// in order: authorization known (unknown-authorization), active
    /// (already-used).
    pub fn void(
        &mut self,
        now_ms: u64,
        authorization_id: &str,
        key: &str,
    ) -> Result<VoidReceipt, BankError> {
        let request = Request::Void {
            authorization_id: authorization_id.to_string(),
        };
        self.call(now_ms, key, request, |bank| {
            bank.do_void(now_ms, authorization_id)
        })
    }

    /// Refunds a capture in full. Checks, in order: capture known
    /// (unknown-capture), the amount equal to the captured one
    /// (amount-mismatch), not already refunded (already-refunded).
    pub fn refund(
        &mut self,
        now_ms: u64,
        capture_id: &str,
        amount: u64,
        key: &str,
    ) -> Result<Refund, BankError> {
        let request = Request::Refund {
            capture_id: capture_id.to_string(),
            amount,
        };
        self.call(now_ms, key, request, |bank| {
            bank.do_refund(now_ms, capture_id, amount)
        })
    }

    /// The idempotent path shared by the operations: replay a remembered
    /// success, else run the operation, apply its effect, remember it if it
    /// succeeded; log the call either way.
    fn call<R: Receipt>(
        &mut self,
        now_ms: u64,
        key: &str,
        request: Request,
        run: impl FnOnce(&mut Self) -> Result<(R, Effect), BankError>,
    ) -> Result<R, BankError> {
        let operation = request.operation();
        if let Some(receipt) = self.recall(now_ms, operation, key).and_then(R::from_answer) {
            let outcome = Outcome::Ok(receipt.id().to_string());
            self.log(now_ms, key, request, true, outcome, None);
            return Ok(receipt);
        }
        match run(self) {
            Ok((receipt, effect)) => {
                if let Some(card) = self.cards.get_mut(effect.card_number()) {
                    effect.apply(card);
                }
                self.memory.insert(
                    (operation, key.to_string()),
                    Remembered {
                        stored_ms: now_ms,
                        answer: receipt.clone().into_answer(),
                    },
                );
                let outcome = Outcome::Ok(receipt.id().to_string());
                self.log(now_ms, key, request, false, outcome, Some(effect));
                Ok(receipt)
            }
            Err(error) => {
                self.log(now_ms, key, request, false, Outcome::Err(error), None);
                Err(error)
            }
        }
    }

    /// The remembered answer under (operation, key), if still remembered at
    /// `now_ms`; an expired memory is dropped.
    fn recall(&mut self, now_ms: u64, operation: Operation, key: &str) -> Option<&Answer> {
        let slot = (operation, key.to_string());
        if !self.remembers(now_ms, operation, key) {
            self.memory.remove(&slot);
            return None;
        }
        self.memory.get(&slot).map(|m| &m.answer)
    }

    fn log(
        &mut self,
        time_ms: u64,
        key: &str,
        request: Request,
        replay: bool,
        outcome: Outcome,
        effect: Option<Effect>,
    ) {
        self.ledger.push(LedgerEntry {
            seq: self.ledger.len(),
            time_ms,
            key: key.to_string(),
            request,
            replay,
            outcome,
            effect,
        });
    }

    fn do_authorize(
        &mut self,
        now_ms: u64,
        request: &CardRequest,
        amount: u64,
    ) -> Result<(Authorization, Effect), BankError> {
        if !card::is_well_formed_number(&request.number) {
            return Err(BankError::InvalidCard);
        }
        if !card::is_well_formed_cvv(&request.cvv) {
            return Err(BankError::InvalidCvv);
        }
        if amount < 1 {
            return Err(BankError::InvalidAmount);
        }
        let account = self
            .cards
            .get(&request.number)
            .ok_or(BankError::InvalidCard)?;
        if account.cvv != request.cvv {
            return Err(BankError::InvalidCvv);
        }
        if account.is_expired_at(now_ms) {
            return Err(BankError::CardExpired);
        }
        if account.available < amount {
            return Err(BankError::InsufficientFunds);
        }
        let id = self.authorizations.next_id("auth");
        let authorization = Authorization {
            id: id.clone(),
            card_number: account.number.clone(),
            amount,
            created_ms: now_ms,
            expires_ms: now_ms.saturating_add(self.authorization_ttl_ms),
        };
        let effect = Effect::Hold {
            card_number: account.number.clone(),
            amount,
        };
        self.authorizations.push(
            id,
            AuthorizationRecord {
                authorization: authorization.clone(),
                status: AuthorizationStatus::Active,
                capture_id: None,
                void_id: None,
            },
        );
        Ok((authorization, effect))
    }

    fn do_capture(
        &mut self,
        now_ms: u64,
        authorization_id: &str,
        amount: u64,
    ) -> Result<(Capture, Effect), BankError> {
        let id = self.captures.next_id("cap");
        let record = self
            .authorizations
            .get_mut(authorization_id)
            .ok_or(BankError::UnknownAuthorization)?;
        if record.status != AuthorizationStatus::Active {
            return Err(BankError::AlreadyUsed);
        }
        let authorization = &record.authorization;
        if now_ms > authorization.expires_ms {
            return Err(BankError::AuthorizationExpired);
        }
        if amount != authorization.amount {
            return Err(BankError::AmountMismatch);
        }
        let capture = Capture {
            id: id.clone(),
            authorization_id: authorization.id.clone(),
            amount,
            created_ms: now_ms,
        };
        let effect = Effect::Debit {
            card_number: authorization.card_number.clone(),
            amount,
        };
        record.status = AuthorizationStatus::Captured;
        record.capture_id = Some(id.clone());
        self.captures.push(
            id,
            CaptureRecord {
                capture: capture.clone(),
                refund_id: None,
            },
        );
        Ok((capture, effect))
    }

    fn do_void(
        &mut self,
        now_ms: u64,
        authorization_id: &str,
    ) -> Result<(VoidReceipt, Effect), BankError> {
        let id = self.voids.next_id("void");
        let record = self
            .authorizations
            .get_mut(authorization_id)
            .ok_or(BankError::UnknownAuthorization)?;
        if record.status != AuthorizationStatus::Active {
            return Err(BankError::AlreadyUsed);
        }
        record.status = AuthorizationStatus::Voided;
        record.void_id = Some(id.clone());
        let authorization = &record.authorization;
        let receipt = VoidReceipt {
            id: id.clone(),
            authorization_id: authorization.id.clone(),
            created_ms: now_ms,
        };
        let effect = Effect::Release {
            card_number: authorization.card_number.clone(),
            amount: authorization.amount,
        };
        self.voids.push(id, receipt.clone());
        Ok((receipt, effect))
    }

    fn do_refund(
        &mut self,
        now_ms: u64,
        capture_id: &str,
        amount: u64,
    ) -> Result<(Refund, Effect), BankError> {
        let id = self.refunds.next_id("ref");
        let record = self
            .captures
            .get_mut(capture_id)
            .ok_or(BankError::UnknownCapture)?;
        if amount != record.capture.amount {
            return Err(BankError::AmountMismatch);
        }
        if record.refund_id.is_some() {
            return Err(BankError::AlreadyRefunded);
        }
        record.refund_id = Some(id.clone());
        let refund = Refund {
            id: id.clone(),
            capture_id: record.capture.id.clone(),
            amount,
            created_ms: now_ms,
        };
        let authorization_id = record.capture.authorization_id.clone();
        let card_number = self
            .authorizations
            .get(&authorization_id)
            .map(|a| a.authorization.card_number.clone())
            .unwrap_or_default();
        self.refunds.push(id, refund.clone());
        Ok((
            refund,
            Effect::Credit {
                card_number,
                amount,
            },
        ))
    }

    // ---- reading back (the gateway's imports) -----------------------------

    /// The original receipt, whatever happened to the authorization since
    /// (captured, voided, expired): polling it never tells the true state.
    pub fn get_authorization(&self, id: &str) -> Option<Authorization> {
        self.authorizations.get(id).map(|r| r.authorization.clone())
    }

    pub fn get_capture(&self, id: &str) -> Option<Capture> {
        self.captures.get(id).map(|r| r.capture.clone())
    }

    pub fn get_void(&self, id: &str) -> Option<VoidReceipt> {
        self.voids.get(id).cloned()
    }

    pub fn get_refund(&self, id: &str) -> Option<Refund> {
        self.refunds.get(id).cloned()
    }

    // ---- fault injection --------------------------------------------------

    /// Whether a success under (operation, key) is still remembered at
    /// `now_ms` (a call now would replay it).
    pub fn remembers(&self, now_ms: u64, operation: Operation, key: &str) -> bool {
        self.memory
            .get(&(operation, key.to_string()))
            .is_some_and(|m| now_ms <= m.stored_ms.saturating_add(self.idempotency_ttl_ms))
    }

    /// The bank loses its memory of one key for one operation.
    pub fn forget_idempotency_key(&mut self, operation: Operation, key: &str) {
        self.memory.remove(&(operation, key.to_string()));
    }

    /// The bank loses its memory of every key.
    pub fn forget_all_idempotency_keys(&mut self) {
        self.memory.clear();
    }

    // ---- the host's view, for the checks ----------------------------------

    pub fn card(&self, number: &str) -> Option<&CardAccount> {
        self.cards.get(number)
    }

    /// The cards now, in number order.
    pub fn cards(&self) -> impl Iterator<Item = &CardAccount> {
        self.cards.values()
    }

    /// The cards as configured, before any call, in number order.
    pub fn initial_cards(&self) -> impl Iterator<Item = &CardAccount> {
        self.initial_cards.values()
    }

    /// Every call, in order.
    pub fn ledger(&self) -> &[LedgerEntry] {
        &self.ledger
    }

    /// Every authorization with its true state, in creation order.
    pub fn authorizations(&self) -> impl Iterator<Item = (&Authorization, AuthorizationStatus)> {
        self.authorizations
            .iter()
            .map(|r| (&r.authorization, r.status))
    }

    /// Every authorization with its true state and what closed it, in
    /// creation order.
    pub fn authorization_records(&self) -> impl Iterator<Item = &AuthorizationRecord> {
        self.authorizations.iter()
    }

    pub fn authorization_record(&self, id: &str) -> Option<&AuthorizationRecord> {
        self.authorizations.get(id)
    }

    /// The true state of an authorization.
    pub fn authorization_status(&self, id: &str) -> Option<AuthorizationStatus> {
        self.authorizations.get(id).map(|r| r.status)
    }

    /// Every capture with its refund, if any, in creation order.
    pub fn captures(&self) -> impl Iterator<Item = (&Capture, Option<&Refund>)> {
        self.captures.iter().map(|r| {
            let refund = r.refund_id.as_deref().and_then(|id| self.refunds.get(id));
            (&r.capture, refund)
        })
    }

    pub fn capture_record(&self, id: &str) -> Option<&CaptureRecord> {
        self.captures.get(id)
    }

    /// Every void, in creation order.
    pub fn voids(&self) -> impl Iterator<Item = &VoidReceipt> {
        self.voids.iter()
    }

    /// Every refund, in creation order.
    pub fn refunds(&self) -> impl Iterator<Item = &Refund> {
        self.refunds.iter()
    }

    /// The capture of an authorization, if it was captured.
    pub fn capture_of(&self, authorization_id: &str) -> Option<&Capture> {
        let record = self.authorizations.get(authorization_id)?;
        let id = record.capture_id.as_deref()?;
        self.captures.get(id).map(|r| &r.capture)
    }

    /// The void of an authorization, if it was voided.
    pub fn void_of(&self, authorization_id: &str) -> Option<&VoidReceipt> {
        let record = self.authorizations.get(authorization_id)?;
        self.voids.get(record.void_id.as_deref()?)
    }

    /// The refund of a capture, if it was refunded.
    pub fn refund_of(&self, capture_id: &str) -> Option<&Refund> {
        let record = self.captures.get(capture_id)?;
        self.refunds.get(record.refund_id.as_deref()?)
    }

    /// The sum of the active holds on a card (expired ones included: nothing
    /// releases them but a void).
    pub fn held(&self, card_number: &str) -> u64 {
        self.authorizations
            .iter()
            .filter(|r| r.holds() && r.authorization.card_number == card_number)
            .map(|r| r.authorization.amount)
            .sum()
    }

    /// The bank's self-consistency, as a list of problems (empty when all
    /// is well): every card's balances equal its initial ones with the
    /// ledger's effects applied, and equal what the records imply
    /// (`balance = initial - captured + refunded`, `available = initial -
    /// held - captured + refunded`); every record is consistent with its
    /// status; every fresh success in the ledger has a record and every
    /// record one fresh success.
    pub fn reconcile(&self) -> Vec<String> {
        let mut problems = Vec::new();

        let mut replayed = self.initial_cards.clone();
        for entry in &self.ledger {
            if let Some(effect) = &entry.effect {
                match replayed.get_mut(effect.card_number()) {
                    Some(card) => effect.apply(card),
                    None => problems.push(format!(
                        "ledger entry {} affects unknown card {}",
                        entry.seq,
                        effect.card_number()
                    )),
                }
            }
        }

        // (balance, available) implied by the records, as i128 to see
        // underflows rather than hide them.
        let mut implied: BTreeMap<&str, (i128, i128)> = self
            .initial_cards
            .values()
            .map(|c| {
                (
                    c.number.as_str(),
                    (i128::from(c.balance), i128::from(c.available)),
                )
            })
            .collect();
        for r in self.authorizations.iter() {
            let a = &r.authorization;
            let Some((balance, available)) = implied.get_mut(a.card_number.as_str()) else {
                problems.push(format!("{} is on unknown card {}", a.id, a.card_number));
                continue;
            };
            let amount = i128::from(a.amount);
            match r.status {
                AuthorizationStatus::Active => *available -= amount,
                AuthorizationStatus::Voided => {}
                AuthorizationStatus::Captured => {
                    *balance -= amount;
                    *available -= amount;
                    if let Some(c) = self.capture_of(&a.id)
                        && self.refund_of(&c.id).is_some()
                    {
                        *balance += amount;
                        *available += amount;
                    }
                }
            }
            let consistent = match r.status {
                AuthorizationStatus::Active => r.capture_id.is_none() && r.void_id.is_none(),
                AuthorizationStatus::Captured => {
                    r.void_id.is_none()
                        && self
                            .capture_of(&a.id)
                            .is_some_and(|c| c.authorization_id == a.id && c.amount == a.amount)
                }
                AuthorizationStatus::Voided => {
                    r.capture_id.is_none()
                        && self
                            .void_of(&a.id)
                            .is_some_and(|v| v.authorization_id == a.id)
                }
            };
            if !consistent {
                problems.push(format!(
                    "{} is {:?} with inconsistent links",
                    a.id, r.status
                ));
            }
        }
        for r in self.captures.iter() {
            let c = &r.capture;
            if self.authorization_status(&c.authorization_id) != Some(AuthorizationStatus::Captured)
                || self
                    .authorization_record(&c.authorization_id)
                    .and_then(|a| a.capture_id.as_deref())
                    != Some(c.id.as_str())
            {
                problems.push(format!("{} does not match {}", c.id, c.authorization_id));
            }
            if let Some(refund_id) = &r.refund_id
                && self
                    .refunds
                    .get(refund_id)
                    .is_none_or(|f| f.capture_id != c.id || f.amount != c.amount)
            {
                problems.push(format!("{} has a mismatched refund {refund_id}", c.id));
            }
        }

        for (number, card) in &self.cards {
            if replayed.get(number) != Some(card) {
                problems.push(format!(
                    "card {number}: balances {}/{} but the ledger gives {:?}",
                    card.balance,
                    card.available,
                    replayed.get(number).map(|c| (c.balance, c.available))
                ));
            }
            let expected = implied.get(number.as_str()).copied();
            let actual = (i128::from(card.balance), i128::from(card.available));
            if expected != Some(actual) {
                problems.push(format!(
                    "card {number}: balances {}/{} but the records give {expected:?}",
                    card.balance, card.available
                ));
            }
        }

        let fresh = |op: Operation| {
            self.ledger
                .iter()
                .filter(move |e| e.operation() == op && e.took_effect())
                .filter_map(|e| e.outcome.id())
                .collect::<Vec<_>>()
        };
        let counts = [
            (
                Operation::Authorize,
                self.authorizations
                    .iter()
                    .map(|r| r.authorization.id.as_str())
                    .collect::<Vec<_>>(),
            ),
            (
                Operation::Capture,
                self.captures
                    .iter()
                    .map(|r| r.capture.id.as_str())
                    .collect(),
            ),
            (
                Operation::Void,
                self.voids.iter().map(|v| v.id.as_str()).collect(),
            ),
            (
                Operation::Refund,
                self.refunds.iter().map(|f| f.id.as_str()).collect(),
            ),
        ];
        for (op, ids) in counts {
            if fresh(op) != ids {
                problems.push(format!(
                    "{op}: the ledger's fresh successes differ from the records"
                ));
            }
        }
        problems
    }
}
