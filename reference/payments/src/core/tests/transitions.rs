//! The state machine: every illegal transition (no bank call), unknown
//! payments, expiry, the $500 card's holds, and requests meeting another
//! request's operation in flight.

use super::harness::*;
use crate::core::{Payment, PaymentError, PaymentState as S};

/// A payment brought to `state` (AUTHORIZED, CAPTURED, VOIDED, REFUNDED).
fn payment_in(g: &mut TestGateway, state: S) -> Payment {
    let p = authorized(g, "a");
    match state {
        S::Authorized => p,
        S::Captured => ok(g.capture("c", &p.id)),
        S::Voided => ok(g.void("v", &p.id)),
        S::Refunded => {
            ok(g.capture("c", &p.id));
            ok(g.refund("r", &p.id))
        }
        S::Pending => unreachable!(),
    }
}

#[test]
fn every_illegal_transition_is_refused_without_the_bank() {
    type Op = fn(&mut TestGateway, &str, &str) -> crate::core::Response;
    let ops: [(&str, Op); 3] = [
        ("capture", |g, k, id| g.capture(k, id)),
        ("void", |g, k, id| g.void(k, id)),
        ("refund", |g, k, id| g.refund(k, id)),
    ];
    let illegal = [
        (S::Authorized, "refund"),
        (S::Captured, "capture"),
        (S::Captured, "void"),
        (S::Voided, "capture"),
        (S::Voided, "void"),
        (S::Voided, "refund"),
        (S::Refunded, "capture"),
        (S::Refunded, "void"),
        (S::Refunded, "refund"),
    ];
    for (state, name) in illegal {
        let env = Env::new();
        let mut g = env.gateway();
        let p = payment_in(&mut g, state);
        let calls = env.calls();
        let op = ops.iter().find(|(n, _)| *n == name).unwrap().1;
        let expected = Err(PaymentError::InvalidTransition(state));
        assert_eq!(op(&mut g, "x", &p.id), expected, "{name} from {state}");
        assert_eq!(env.calls(), calls, "{name} from {state}: no bank call");
        // Recorded: the same request again is the same answer.
        assert_eq!(op(&mut g, "x", &p.id), expected, "{name} from {state}");
        assert_eq!(g.get_payment(&p.id), Ok(p), "{name} from {state}");
        assert_eq!(env.calls(), calls);
    }
}

#[test]
fn a_second_capture_with_a_new_key_is_an_invalid_transition() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    ok(g.capture("c1", &p.id));
    assert_eq!(
        g.capture("c2", &p.id),
        Err(PaymentError::InvalidTransition(S::Captured))
    );
    assert_eq!(env.calls(), 2);
}

#[test]
fn unknown_payments_are_not_found_and_recorded() {
    let env = Env::new();
    let mut g = env.gateway();
    assert_eq!(g.capture("c1", "pay-000001"), Err(PaymentError::NotFound));
    assert_eq!(g.void("v1", "nope"), Err(PaymentError::NotFound));
    assert_eq!(g.refund("r1", ""), Err(PaymentError::NotFound));
    assert_eq!(env.calls(), 0);
    // pay-000001 now exists, but c1 was answered already.
    authorized(&mut g, "a1");
    assert_eq!(g.capture("c1", "pay-000001"), Err(PaymentError::NotFound));
    assert_eq!(ok(g.capture("c2", "pay-000001")).state, S::Captured);
}

#[test]
fn expiry_capture_after_168_hours_then_void() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    env.clock.advance(168 * HOUR_MS + 1);
    assert_eq!(
        g.capture("c1", &p.id),
        Err(PaymentError::AuthorizationExpired)
    );
    assert_eq!(env.calls(), 2, "one capture call, not retried");
    let still = g.get_payment(&p.id).unwrap();
    assert_eq!(still, p, "still AUTHORIZED, unchanged");
    // Recorded.
    assert_eq!(
        g.capture("c1", &p.id),
        Err(PaymentError::AuthorizationExpired)
    );
    assert_eq!(env.calls(), 2);
    // The hold is still on the card until voided.
    assert_eq!(env.balances(VISA), (1_000_000, 999_000));
    let v = ok(g.void("v1", &p.id));
    assert_eq!(v.state, S::Voided);
    assert_eq!(v.void_id.as_deref(), Some("void-000001"));
    assert_eq!(v.transitions[2].at_ms, T0 + 168 * HOUR_MS + 1);
    assert_eq!(env.balances(VISA), (1_000_000, 1_000_000));
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn capture_at_exactly_168_hours_succeeds() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    env.clock.advance(168 * HOUR_MS);
    assert_eq!(ok(g.capture("c1", &p.id)).state, S::Captured);
}

#[test]
fn a_capture_refused_as_expired_can_be_asked_again_with_a_new_key() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    env.clock.advance(168 * HOUR_MS + 1);
    assert_eq!(
        g.capture("c1", &p.id),
        Err(PaymentError::AuthorizationExpired)
    );
    assert_eq!(
        g.capture("c2", &p.id),
        Err(PaymentError::AuthorizationExpired)
    );
    assert_eq!(env.calls(), 3);
}

#[test]
fn the_500_dollar_card_holds() {
    let env = Env::new();
    let mut g = env.gateway();
    let first = ok(g.authorize(&auth("a1", 30_000, VISA_500)));
    assert_eq!(
        g.authorize(&auth("a2", 30_000, VISA_500)),
        Err(PaymentError::InsufficientFunds)
    );
    ok(g.void("v1", &first.id));
    let again = ok(g.authorize(&auth("a3", 30_000, VISA_500)));
    assert_eq!(again.id, "pay-000003");
    assert_eq!(again.authorization_id.as_deref(), Some("auth-000002"));
    assert_eq!(env.balances(VISA_500), (50_000, 20_000));
    // The declined request stays declined.
    assert_eq!(
        g.authorize(&auth("a2", 30_000, VISA_500)),
        Err(PaymentError::InsufficientFunds)
    );
    assert_eq!(env.calls(), 4);
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn another_requests_capture_in_flight_is_settled_first() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    env.faults(&[Fault::Unavailable; 5]);
    assert_eq!(g.capture("c1", &p.id), Err(PaymentError::BankUnavailable));
    // A void with a new key settles the capture, then judges the void.
    assert_eq!(
        g.void("v1", &p.id),
        Err(PaymentError::InvalidTransition(S::Captured))
    );
    assert_eq!(env.calls_of(crate::core::Operation::Void), 0);
    // The capture's client learns its outcome without a new bank call.
    let calls = env.calls();
    let c = ok(g.capture("c1", &p.id));
    assert_eq!(c.state, S::Captured);
    assert_eq!(env.calls(), calls);
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn a_request_meeting_an_unsettleable_operation_is_not_recorded() {
    let env = Env::new();
    let mut g = env.gateway();
    env.faults(&[Fault::Unavailable; 10]);
    assert_eq!(
        g.authorize(&auth("a1", 100, VISA)),
        Err(PaymentError::BankUnavailable)
    );
    assert_eq!(g.get_payment("pay-000001").unwrap().state, S::Pending);
    // The bank is still down: the capture cannot be judged yet.
    assert_eq!(
        g.capture("c1", "pay-000001"),
        Err(PaymentError::BankUnavailable)
    );
    assert!(env.store.raw_get("idem/capture/c1").is_none());
    // Back up: the same capture settles the authorization, then captures.
    let c = ok(g.capture("c1", "pay-000001"));
    assert_eq!(states(&c), [S::Pending, S::Authorized, S::Captured]);
    // The authorization's client gets its (recorded) answer.
    let calls = env.calls();
    let a = ok(g.authorize(&auth("a1", 100, VISA)));
    assert_eq!(a.state, S::Authorized);
    assert_eq!(env.calls(), calls);
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn a_declined_authorization_in_flight_leaves_not_found() {
    let env = Env::new();
    let mut g = env.gateway();
    env.faults(&[Fault::Unavailable; 5]);
    assert_eq!(
        g.authorize(&auth("a1", 100, MC_ZERO)),
        Err(PaymentError::BankUnavailable)
    );
    assert_eq!(g.void("v1", "pay-000001"), Err(PaymentError::NotFound));
    assert_eq!(
        g.authorize(&auth("a1", 100, MC_ZERO)),
        Err(PaymentError::InsufficientFunds)
    );
    assert!(env.store.payment_records().is_empty());
    assert!(g.payments_by_order("order-1").is_empty());
}
