//! The payment-gateway track's invariants, computed by the host from the
//! client's requests, the gateway's answers and the mock bank's ledger.
//!
//! - `completes`: no trap, fuel or memory abort (injected crashes are
//!   recovered by the driver and do not count).
//! - `expectations`: every scripted expectation holds.
//! - `one-hold-per-payment`: the requests of one authorize idempotency key
//!   cause at most one hold at the bank, whatever faults and crashes.
//! - `idempotent-replay`: a request repeated with its key gets the first
//!   answer and causes no bank effect.
//! - `key-reuse-refused`: a key used again for the same operation with
//!   other parameters is refused (`idempotency-key-reused`), with no bank
//!   effect.
//! - `permanent-errors-once`: a permanent error costs one bank call, and a
//!   bank call refused for good is never asked again, whatever the answer.
//! - `no-call-for-invalid-transition`: an invalid transition is refused
//!   without calling the bank.
//! - `bank-agrees`: after the run and a recovery pass, every payment's state
//!   agrees with the bank both ways (what the gateway says was done was
//!   done, and nothing more: no refund of a payment it calls captured), no
//!   hold or capture belongs to no payment, and balances reconcile.
//! - `retry-contract`: a transient bank failure (`unavailable`, `timeout`)
//!   is retried at least twice before the shop hears `bank-unavailable`, and
//!   no bank call is attempted later than 60 s of virtual time after its
//!   first attempt in the request (the WIT's "Retries"; how many attempts,
//!   and how long between them, is the gateway's choice).
//! - `bank-keys`: every call of a bank operation that changes state
//!   carries a non-empty idempotency key (the bank refuses an empty one,
//!   and gauntlet stops the run there).
//! - `bank-effects-match` (part of the diff against the reference): the
//!   bank saw the same effects (operation, card, amount), in the same order.

use std::collections::BTreeMap;

use super::Run;
use super::bank::{AuthorizationStatus, Effect, Operation};
use super::dependency::{
    BankCallRecord, BankFault, Endpoint, GIVE_UP_WITHIN_MS, MIN_ATTEMPTS, Stop,
};
use super::model::{Answer, Op, Output, PERMANENT_ERRORS};
use super::scenario::Scenario;
use crate::check::CheckResult;
use crate::sim::{Action, Event, Plan};

pub const COMPLETES: &str = crate::check::COMPLETES;
pub const EXPECTATIONS: &str = "expectations";
pub const ONE_HOLD: &str = "one-hold-per-payment";
pub const IDEMPOTENT_REPLAY: &str = "idempotent-replay";
pub const KEY_REUSE_REFUSED: &str = "key-reuse-refused";
pub const PERMANENT_ONCE: &str = "permanent-errors-once";
pub const NO_CALL_FOR_INVALID: &str = "no-call-for-invalid-transition";
pub const BANK_AGREES: &str = "bank-agrees";
pub const BANK_EFFECTS_MATCH: &str = "bank-effects-match";
pub const RETRY_CONTRACT: &str = "retry-contract";
pub const BANK_KEYS: &str = "bank-keys";

/// Whether a bank ledger entry is an authorization of this request's card
/// and amount: during a request the gateway may also settle other payments
/// (`recover` after a crash does), whose calls are not this request's.
fn authorizes(entry: &super::bank::LedgerEntry, op: &Op) -> bool {
    match (&entry.request, op) {
        (
            super::bank::Request::Authorize { card, amount },
            Op::Authorize {
                card: wanted,
                amount: wanted_amount,
                ..
            },
        ) => card.number == wanted.number && amount == wanted_amount,
        _ => false,
    }
}

/// The requests that returned, each with its call index, joined once per
/// evaluation for every check to read: in the order they were answered,
/// with when each was sent and answered (positions in one order of events:
/// request A happened before request B iff A was answered before B was
/// sent; in a sequential run each request happens before the next).
pub struct Answers<'a> {
    pub run: &'a Run,
    pub calls: Vec<(usize, &'a Op, &'a Output)>,
    /// Per entry of `calls`: (sent, answered).
    pub spans: Vec<(u64, u64)>,
    /// Whether requests overlapped (a concurrent run).
    pub concurrent: bool,
}

impl<'a> Answers<'a> {
    pub fn new(plan: &'a Plan<Op>, run: &'a Run) -> Self {
        let mut calls = Vec::new();
        let mut spans = Vec::new();
        let mut concurrent = false;
        for (entry, call, output) in run.history.returned() {
            let Some(Action::Call(op)) = plan.actions.get(entry.step) else {
                continue;
            };
            let span = match &entry.event {
                Event::Call {
                    span: Some(span), ..
                } => {
                    concurrent = true;
                    (span.invoked, span.completed)
                }
                _ => (2 * call as u64, 2 * call as u64 + 1),
            };
            calls.push((call, op, output));
            spans.push(span);
        }
        Answers {
            run,
            calls,
            spans,
            concurrent,
        }
    }

    /// Whether the requests at positions `a` and `b` of `calls` were in
    /// flight at once.
    fn overlap(&self, a: usize, b: usize) -> bool {
        let (a, b) = (self.spans[a], self.spans[b]);
        a.0 < b.1 && b.0 < a.1
    }
}

/// A request with its idempotency key's label left out, as one string: two
/// requests alike are one request made twice.
fn request_string(op: &Op) -> String {
    let mut request = op.clone();
    if let Op::Authorize { label, .. } = &mut request {
        *label = None;
    }
    serde_json::to_string(&request).expect("a request serialises")
}

pub fn completes(plan: &Plan<Op>, run: &Run) -> CheckResult {
    crate::check::completes(plan, &run.history, "requests")
}

pub fn expectations(scenario: &Scenario, answers: &Answers) -> CheckResult {
    let answers: BTreeMap<usize, (&Op, &Output)> = answers
        .calls
        .iter()
        .map(|&(call, op, out)| (call, (op, out)))
        .collect();
    let mut checked = 0;
    for (call, (expect, line)) in &scenario.expectations {
        let Some((op, output)) = answers.get(call) else {
            continue;
        };
        checked += 1;
        if let Some(why) = expect.mismatch(&output.answer) {
            return CheckResult::fail(
                EXPECTATIONS,
                Some(*call),
                format!("{}:{line}: call {call} {op}: {why}", scenario.file),
            );
        }
    }
    CheckResult::pass(EXPECTATIONS, format!("{checked} expectations held"))
}

pub fn one_hold_per_payment(answers: &Answers) -> CheckResult {
    let run = answers.run;
    let ledger = run.bank.bank.ledger();
    let mut holds: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for &(call, op, output) in &answers.calls {
        let Op::Authorize { key, .. } = op else {
            continue;
        };
        let fresh = output
            .ledger
            .iter()
            .map(|&i| &ledger[i])
            .filter(|e| matches!(e.effect, Some(Effect::Hold { .. })) && authorizes(e, op))
            .count();
        let seen = holds.entry(key).or_insert((0, call));
        seen.0 += fresh;
        if seen.0 > 1 {
            return CheckResult::fail(
                ONE_HOLD,
                Some(call),
                format!(
                    "call {call} {op}: requests with key {key:?} have placed {} holds at the bank, the first at call {}",
                    seen.0, seen.1
                ),
            );
        }
    }
    CheckResult::pass(
        ONE_HOLD,
        format!("{} authorize keys, at most one hold each", holds.len()),
    )
}

pub fn idempotent_replay(answers: &Answers) -> CheckResult {
    let run = answers.run;
    let ledger = run.bank.bank.ledger();
    // The first answer to each (request, key), unless it was transient:
    // which call, when it was answered, and what. A repeat sent after that
    // must get the same answer and cause no new bank effect. One sent while
    // the first was still in flight (replicas) may be the one that settles
    // it, so may meet the bank, and may still be waiting on it: it gets the
    // same answer or `bank-unavailable`.
    let mut first: BTreeMap<String, (usize, u64, &Answer)> = BTreeMap::new();
    let mut replays = 0;
    for (i, &(call, op, output)) in answers.calls.iter().enumerate() {
        if op.key().is_none() {
            continue;
        }
        let request = request_string(op);
        let unavailable = output.answer == Answer::Error("bank-unavailable".into());
        match first.get(&request) {
            Some(&(first_call, first_answered, answer)) => {
                replays += 1;
                let after = answers.spans[i].0 > first_answered;
                if answer != &output.answer && (after || !unavailable) {
                    return CheckResult::fail(
                        IDEMPOTENT_REPLAY,
                        Some(call),
                        format!(
                            "call {call} {op} repeats call {first_call}: it answered {}, the first time {answer}",
                            output.answer
                        ),
                    );
                }
                let effect = output
                    .ledger
                    .iter()
                    .map(|&i| &ledger[i])
                    .find(|e| e.effect.is_some());
                if let Some(e) = effect.filter(|_| after) {
                    return CheckResult::fail(
                        IDEMPOTENT_REPLAY,
                        Some(call),
                        format!(
                            "call {call} {op} repeats call {first_call}, yet the bank did a new {}",
                            e.operation()
                        ),
                    );
                }
            }
            None => {
                if !unavailable {
                    first.insert(request, (call, answers.spans[i].1, &output.answer));
                }
            }
        }
    }
    CheckResult::pass(
        IDEMPOTENT_REPLAY,
        format!("{replays} repeated requests answered alike"),
    )
}

pub fn key_reuse_refused(answers: &Answers) -> CheckResult {
    let run = answers.run;
    let ledger = run.bank.bank.ledger();
    // The parameters each (operation, key) was first used with: the first
    // answered without being refused (with replicas, of two requests in
    // flight at once with one key, either may take it; the other is then
    // refused).
    let mut first: BTreeMap<(&str, &str), (usize, String)> = BTreeMap::new();
    let mut reused = 0;
    let refused = Answer::Error("idempotency-key-reused".into());
    for &(call, op, output) in &answers.calls {
        let Some(key) = op.key() else {
            continue;
        };
        let request = request_string(op);
        match first.get(&(op.name(), key)) {
            None if output.answer == refused => {}
            None => {
                first.insert((op.name(), key), (call, request));
            }
            Some((first_call, params)) if *params != request => {
                reused += 1;
                if output.answer != refused {
                    return CheckResult::fail(
                        KEY_REUSE_REFUSED,
                        Some(call),
                        format!(
                            "call {call} {op} reuses the key of call {first_call} with other parameters, yet it was answered {}",
                            output.answer
                        ),
                    );
                }
                if output
                    .ledger
                    .iter()
                    .map(|&i| &ledger[i])
                    .any(|e| e.effect.is_some())
                {
                    return CheckResult::fail(
                        KEY_REUSE_REFUSED,
                        Some(call),
                        format!("call {call} {op} was refused, yet the bank did something for it"),
                    );
                }
            }
            Some(_) => {}
        }
    }
    CheckResult::pass(KEY_REUSE_REFUSED, format!("{reused} reused keys refused"))
}

/// The attempts of each state-changing bank call (operation and bank key)
/// made by each call into the gateway while serving one request (the
/// request itself, and `recover` after a crash: each starts afresh), in
/// order. Read-backs are the gateway's own business: the contract bounds
/// no retries of them.
fn attempts_of<'a>(
    run: &'a Run,
    output: &Output,
) -> BTreeMap<(u64, Endpoint, &'a str), Vec<&'a BankCallRecord>> {
    let mut attempts: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for record in output.bank_log.iter().map(|&i| &run.bank.calls[i]) {
        if record.operation.operation().is_none() {
            continue;
        }
        attempts
            .entry((record.export_call, record.operation, record.key.as_str()))
            .or_default()
            .push(record);
    }
    attempts
}

pub fn permanent_errors_once(answers: &Answers) -> CheckResult {
    let run = answers.run;
    let ledger = run.bank.bank.ledger();
    // Whatever the final answer: a bank call asked again after a
    // permanent refusal, by the same call into the gateway.
    for &(call, op, output) in &answers.calls {
        for ((_, operation, key), tries) in attempts_of(run, output) {
            if let Some(refused) = tries[..tries.len() - 1].iter().position(|t| t.permanent) {
                return CheckResult::fail(
                    PERMANENT_ONCE,
                    Some(call),
                    format!(
                        "call {call} {op}: bank.{operation} with key {key:?} refused for good at attempt {}, yet it was asked {} time(s) more (answered {})",
                        refused + 1,
                        tries.len() - refused - 1,
                        output.answer
                    ),
                );
            }
        }
    }
    let mut seen = 0;
    for &(call, op, output) in &answers.calls {
        let Answer::Error(kind) = &output.answer else {
            continue;
        };
        if !PERMANENT_ERRORS.contains(&kind.as_str()) {
            continue;
        }
        seen += 1;
        let tries = output
            .ledger
            .iter()
            .map(|&i| &ledger[i])
            .filter(|e| authorizes(e, op) && !e.replay)
            .count();
        // A gateway that crashed before saving the answer, or whose answer
        // was lost in a timeout, cannot know it was asked: each such fault
        // excuses one more try.
        let timeouts = output
            .injected
            .iter()
            .map(|&i| &run.bank.injected[i])
            .filter(|(_, o, f)| *o == Endpoint::Authorize && *f == BankFault::TimeoutAfterCommit)
            .count();
        let excused = output.crashes as usize + timeouts;
        if tries > 1 + excused {
            return CheckResult::fail(
                PERMANENT_ONCE,
                Some(call),
                format!(
                    "call {call} {op}: the bank said {kind}, a permanent error, yet it was asked {tries} times ({excused} crash(es) or timeout(s) excuse as many)"
                ),
            );
        }
    }
    CheckResult::pass(
        PERMANENT_ONCE,
        format!("{seen} permanent errors, one bank call at most each"),
    )
}

pub fn no_call_for_invalid_transition(answers: &Answers) -> CheckResult {
    let run = answers.run;
    let ledger = run.bank.bank.ledger();
    let mut seen = 0;
    for (i, &(call, op, output)) in answers.calls.iter().enumerate() {
        let Answer::Error(kind) = &output.answer else {
            continue;
        };
        if !kind.starts_with("invalid-transition") {
            continue;
        }
        seen += 1;
        // With replicas, another request in flight on the payment may
        // change its state between this one's reading it and its bank call:
        // the bank's refusal is then how this request learns of it.
        let raced = answers.concurrent
            && answers.calls.iter().enumerate().any(|(j, &(_, other, _))| {
                j != i
                    && other.changes().is_some()
                    && other.changes() == op.changes()
                    && answers.overlap(i, j)
            });
        if raced {
            continue;
        }
        // Settling an operation already in flight on the payment is fair
        // (the bank accepts or replays it); asking the bank to do what the
        // state forbids (and being refused) is not.
        let operation = match op {
            Op::Authorize { .. } => Operation::Authorize,
            Op::Capture { .. } => Operation::Capture,
            Op::Void { .. } => Operation::Void,
            Op::Refund { .. } => Operation::Refund,
            _ => continue,
        };
        let own = output
            .ledger
            .iter()
            .map(|&i| &ledger[i])
            .filter(|e| e.operation() == operation && !e.outcome.is_ok())
            .count();
        if own > 0 {
            return CheckResult::fail(
                NO_CALL_FOR_INVALID,
                Some(call),
                format!(
                    "call {call} {op}: refused as {kind}, but only after asking the bank to {operation} and being refused ({own} time(s))"
                ),
            );
        }
    }
    CheckResult::pass(
        NO_CALL_FOR_INVALID,
        format!("{seen} invalid transitions, no bank call"),
    )
}

pub fn bank_agrees(run: &Run) -> CheckResult {
    let settled = match &run.settled {
        Ok(settled) => settled,
        Err(abort) => {
            return CheckResult::skip(BANK_AGREES, format!("no recovery pass: the plugin {abort}"));
        }
    };
    let bank = &run.bank.bank;
    let problems = bank.reconcile();
    if let Some(problem) = problems.first() {
        return CheckResult::fail(
            BANK_AGREES,
            None,
            format!("the bank's books do not reconcile: {problem}"),
        );
    }
    let mut referenced = std::collections::BTreeSet::new();
    for (label, payment) in settled {
        let Some((payment, ids)) = payment else {
            continue;
        };
        let fail = |why: String| {
            CheckResult::fail(
                BANK_AGREES,
                None,
                format!(
                    "payment {label} ({}) is {} at the gateway, but {why}",
                    ids.id, payment.state
                ),
            )
        };
        let status = ids
            .authorization_id
            .as_deref()
            .map(|id| (id, bank.authorization_status(id)));
        if let Some((id, _)) = status {
            referenced.insert(id.to_string());
        }
        match (payment.state.as_str(), status) {
            (_, Some((id, None))) => return fail(format!("the bank knows no authorization {id}")),
            ("authorized", Some((id, Some(s)))) if s != AuthorizationStatus::Active => {
                return fail(format!("the bank's authorization {id} is {s:?}"));
            }
            ("captured" | "refunded", Some((id, Some(s))))
                if s != AuthorizationStatus::Captured =>
            {
                return fail(format!("the bank's authorization {id} is {s:?}"));
            }
            ("voided", Some((id, Some(s)))) if s != AuthorizationStatus::Voided => {
                return fail(format!("the bank's authorization {id} is {s:?}"));
            }
            ("authorized" | "captured" | "voided" | "refunded", None) => {
                return fail("it names no bank authorization".to_string());
            }
            _ => {}
        }
        if payment.state == "refunded"
            && let Some(capture) = &ids.capture_id
            && bank.refund_of(capture).is_none()
        {
            return fail(format!("the bank has no refund of capture {capture}"));
        }
        // Two-sided: what the bank did beyond the gateway's state (found
        // through the authorization: the capture's receipt may be unknown).
        if payment.state == "captured"
            && let Some((id, _)) = status
            && let Some(capture) = bank.capture_of(id)
            && let Some(refund) = bank.refund_of(&capture.id)
        {
            return fail(format!(
                "the bank refunded its capture {} (refund {})",
                capture.id, refund.id
            ));
        }
    }
    // A hold or a capture the gateway does not know of is money held or
    // taken for nothing (a voided one is released: no harm done).
    for (authorization, status) in bank.authorizations() {
        if referenced.contains(&authorization.id) {
            continue;
        }
        let what = match status {
            AuthorizationStatus::Active => "holds",
            AuthorizationStatus::Captured => "captured",
            AuthorizationStatus::Voided => continue,
        };
        return CheckResult::fail(
            BANK_AGREES,
            None,
            format!(
                "the bank {what} {} cents on card {} under authorization {}, which no payment of the gateway names",
                authorization.amount, authorization.card_number, authorization.id
            ),
        );
    }
    CheckResult::pass(
        BANK_AGREES,
        format!(
            "{} payments agree with the bank; balances reconcile",
            settled.len()
        ),
    )
}

pub fn retry_contract(answers: &Answers) -> CheckResult {
    let run = answers.run;
    if let Some(Stop::EndlessRetry(reason)) = &run.bank.stopped {
        return CheckResult::fail(RETRY_CONTRACT, None, reason.clone());
    }
    let mut gave_up = 0;
    let mut retried = 0;
    for &(call, op, output) in &answers.calls {
        let attempts = attempts_of(run, output);
        for ((_, operation, key), tries) in &attempts {
            let (first, last) = (tries[0], tries[tries.len() - 1]);
            if tries.len() > 1 && tries[..tries.len() - 1].iter().any(|t| t.transient) {
                retried += 1;
            }
            let span = last.at_ms - first.at_ms;
            if span > GIVE_UP_WITHIN_MS {
                return CheckResult::fail(
                    RETRY_CONTRACT,
                    Some(call),
                    format!(
                        "call {call} {op}: bank.{operation} with key {key:?} was attempted {} times, the last {} ms after the first; the contract gives up within {GIVE_UP_WITHIN_MS} ms",
                        tries.len(),
                        span
                    ),
                );
            }
        }
        if output.answer != Answer::Error("bank-unavailable".into()) {
            continue;
        }
        gave_up += 1;
        // Giving up is allowed once some bank call failed transiently at
        // every one of three attempts or more.
        let exhausted = attempts
            .values()
            .any(|tries| tries.len() >= MIN_ATTEMPTS && tries.iter().all(|t| t.transient));
        if !exhausted {
            let why = match attempts
                .iter()
                .find(|(_, tries)| tries.iter().all(|t| t.transient))
            {
                Some(((_, operation, _), tries)) => format!(
                    "after {} attempt(s) of bank.{operation}, each unavailable or timed out",
                    tries.len()
                ),
                None => "though no bank call failed transiently while it was served".to_string(),
            };
            return CheckResult::fail(
                RETRY_CONTRACT,
                Some(call),
                format!(
                    "call {call} {op}: answered bank-unavailable {why}; the contract makes at least {MIN_ATTEMPTS} attempts before giving up"
                ),
            );
        }
    }
    CheckResult::pass(
        RETRY_CONTRACT,
        format!(
            "{retried} bank calls retried after a transient failure, {gave_up} given up after {MIN_ATTEMPTS} attempts or more, each within {} s",
            GIVE_UP_WITHIN_MS / 1_000
        ),
    )
}

/// The bank effects of a run, in order, without ids or times.
fn effects(run: &Run) -> Vec<String> {
    run.bank
        .bank
        .ledger()
        .iter()
        .filter_map(|e| {
            let effect = e.effect.as_ref()?;
            Some(format!(
                "{} {} cents on card {}",
                e.operation(),
                effect.amount(),
                effect.card_number()
            ))
        })
        .collect()
}

pub fn bank_effects_match(plugin: &Run, reference: &Run) -> CheckResult {
    let (ours, theirs) = (effects(plugin), effects(reference));
    match ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        Some(i) => CheckResult::fail(
            BANK_EFFECTS_MATCH,
            None,
            format!(
                "bank effect {} differs: the reference's gateway caused {}, this one {}",
                i + 1,
                theirs[i],
                ours[i]
            ),
        ),
        None if ours.len() != theirs.len() => {
            let (more, n, first) = if ours.len() > theirs.len() {
                (
                    "this gateway",
                    ours.len() - theirs.len(),
                    &ours[theirs.len()],
                )
            } else {
                (
                    "the reference",
                    theirs.len() - ours.len(),
                    &theirs[ours.len()],
                )
            };
            CheckResult::fail(
                BANK_EFFECTS_MATCH,
                None,
                format!("{more} caused {n} more bank effect(s), the first: {first}"),
            )
        }
        None => CheckResult::pass(
            BANK_EFFECTS_MATCH,
            format!("{} bank effects, the same as the reference's", ours.len()),
        ),
    }
}

pub fn bank_keys(run: &Run) -> CheckResult {
    if let Some(Stop::EmptyKey(reason)) = &run.bank.stopped {
        return CheckResult::fail(BANK_KEYS, None, reason.clone());
    }
    let keyed = run
        .bank
        .calls
        .iter()
        .filter(|c| c.operation.operation().is_some())
        .count();
    CheckResult::pass(
        BANK_KEYS,
        format!("{keyed} bank calls, each with an idempotency key"),
    )
}
