//! The reference payment gateway, independent of the component model: plain
//! Rust generic over three small traits that mirror the imports ([`Bank`],
//! [`Store`], [`Clock`]), so it runs natively in tests. No randomness, no
//! real time: every clock reading comes from [`Clock`], and everything that
//! must survive a crash is in the [`Store`]. The gateway keeps nothing in
//! memory between calls.
//!
//! The specification is the track's brief and `wit/payments/payments.wit`;
//! where they are silent, this module decides, and every answer of a
//! learner's gateway is diffed against this one.
//!
//! # Store layout
//!
//! Keys are ordered bytewise; values are JSON unless said otherwise.
//!
//! | key | value |
//! |---|---|
//! | `seq/payment` | the last payment sequence number, decimal ASCII (absent: 0) |
//! | `payment/{id}` | [`PaymentRecord`]: the sequence number, the [`Payment`], and the operation in flight if any ([`Intent`]: which, started when, the client's idempotency key, and the card for an authorization) |
//! | `idem/{operation}/{key}` | [`IdempotencyRecord`]: the request's fingerprint, the payment id, the final response once there is one (`{"Ok": payment}` or `{"Err": error}`) |
//! | `order/{order-id}/{seq:010}` | the payment id (raw UTF-8) |
//! | `customer/{customer-id}/{seq:010}` | the payment id (raw UTF-8) |
//!
//! Payment ids are `pay-{seq:06}` (sequence numbers from 1, never reused:
//! a declined authorization leaves a gap). In index keys, the order and
//! customer ids are escaped (`%` as `%25`, `/` as `%2F`) so that a prefix
//! scan for one id never sees another's entries; idempotency keys are used
//! verbatim (only ever read exactly). Every change of more than one key, and
//! the allocation of a sequence number (a compare-and-set of `seq/payment`),
//! is one `transact`, conditioned on the records it replaces being exactly
//! as read (or absent). A store error (a key or value too large, the quota)
//! is `other("store: ...")`, and nothing is written. A failed condition
//! (another replica wrote a record this one read: replicas share the
//! store) starts the request over from its reads, which then see what the
//! other replica did (the key known, the sequence number taken, the outcome
//! recorded), up to [`CONFLICT_RETRIES`] times; then it is
//! `other("store: changed concurrently")`. So two replicas given one key at
//! once place one hold: the second finds the first's record and resumes
//! its operation with the same bank key, which the bank replays.
//!
//! Fingerprints: an authorization's is its parameters but the idempotency
//! key, verbatim, as the JSON array `[order-id, customer-id, amount, number,
//! cvv, expiry-month, expiry-year]`; a capture's, void's or refund's is the
//! payment id. Idempotency keys are scoped by operation: the same key may
//! serve a capture and a void.
//!
//! # Operations
//!
//! **A request with a known idempotency key** (under its operation): a
//! different fingerprint is `idempotency-key-reused` (not recorded); a final
//! response is returned as recorded, with no bank call; a request in flight
//! is resumed (the bank is called again with the same bank key).
//!
//! **authorize** (new key): allocates the next sequence number and writes,
//! in one transaction, the payment PENDING (transition at `now`) with an
//! authorize intent, the in-flight idempotency record and both index
//! entries; then calls the bank. Approved: AUTHORIZED with the
//! authorization id. A permanent refusal (`invalid-card`, `invalid-cvv`,
//! `invalid-amount`, `card-expired`, `insufficient-funds`, mapped to the
//! same-named payment errors; anything else as `other("bank: {error}")`):
//! the final response, and the payment and its index entries are deleted
//! in the same transaction. The currency is always `USD`. Nothing is
//! validated before the bank: the bank is the authority on cards and
//! amounts (so a bad card costs exactly one bank call).
//!
//! **capture / void / refund** (new key, payment id): if another request's
//! operation is in flight on the payment, it is settled first (as `recover`
//! would; if the bank still does not answer, this request fails with
//! `bank-unavailable` and nothing is recorded for it). Then, without calling
//! the bank, with the final response recorded: an unknown payment is
//! `not-found`; a state other than AUTHORIZED (capture, void) or CAPTURED
//! (refund) is `invalid-transition(state)`; a refund of a payment whose
//! capture receipt id is unknown (below) is
//! `other("refund: the capture's receipt id is unknown")`. Otherwise the
//! intent and the in-flight idempotency record are written in one
//! transaction, and the bank is called with the full amount. Capture's
//! `authorization-expired` is the payment error of the same name (the
//! payment stays AUTHORIZED and can still be voided); any other permanent
//! refusal is `other("bank: {error}")`, the state unchanged.
//!
//! **Bank keys** are `{payment-id}/{operation}`: stable across retries,
//! crashes and recoveries, so the bank replays an effect it committed
//! instead of doing it twice.
//!
//! **Lost bank memory.** If an earlier attempt of a capture or void may
//! have reached the bank (it timed out, or the operation is being resumed
//! from the store) and the bank answers `already-used`, that earlier attempt
//! did it (nothing else uses this payment's authorization) and the bank has
//! since forgotten the key (lost memory, or past its 24 hours): the payment
//! is CAPTURED (or VOIDED) with the receipt id unknown (`None`). The same
//! holds for a refund answered `already-refunded`. A first attempt answered
//! so (something else used the authorization) is `other("bank: {error}")`. An authorization cannot be settled
//! that way: the bank has no lookup by key, so if it forgets the key of an
//! authorization that timed out after committing, the retry places a second
//! hold (documented limit of the draft bank interface).
//!
//! **Retries.** Only `unavailable` and `timeout` are retried, with the same
//! bank key, after `clock.sleep-ms` of 100, 200, 400 and 800 ms (five
//! attempts in all). Still failing: `bank-unavailable`, and the intent stays
//! recorded, with no final response: a retry of the same request (same key,
//! same parameters) or `recover` resumes it. A permanent refusal is never
//! retried.
//!
//! **recover** scans `payment/` in key order and settles every payment with
//! an intent as above (same bank key), recording each outcome under its
//! request's idempotency key, so that the client's retry gets it.
//!
//! **get-payment** returns the stored payment (PENDING while its
//! authorization is in flight) or `not-found`; **payments-by-order** and
//! **payments-by-customer** follow the index, oldest first. None calls the
//! bank.
//!
//! **Transitions** list every state entered with the virtual time of the
//! clock reading at that moment: PENDING when the payment is created, the
//! others when the bank's answer is recorded.

mod gateway;
mod records;
mod types;

#[cfg(test)]
mod tests;

pub use gateway::{
    BACKOFF_MS, CHANGED_CONCURRENTLY, CONFLICT_RETRIES, Gateway, REFUND_WITHOUT_CAPTURE_ID,
    Response, RetryPolicy, SCAN_PAGE, reference_retry,
};
pub use records::{
    IdempotencyRecord, Intent, Operation, PaymentRecord, SEQ_KEY, authorize_fingerprint, bank_key,
    escape, payment_id,
};
pub use types::{
    Authorization, AuthorizeRequest, Bank, BankError, CURRENCY, CaptureReceipt, Card, Clock,
    Condition, Payment, PaymentError, PaymentState, RefundReceipt, Store, StoreError, Transition,
    VoidReceipt, Write,
};
