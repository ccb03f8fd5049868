//! The shop's idempotency keys: same key and body, same answer and no bank
//! call; same key and another body, refused.

use super::harness::*;
use crate::core::{Card, PaymentError, PaymentState as S};

#[test]
fn same_key_same_body_authorize() {
    let env = Env::new();
    let mut g = env.gateway();
    let first = authorized(&mut g, "a1");
    env.clock.advance(10_000);
    assert_eq!(authorized(&mut g, "a1"), first);
    // Even from a fresh instance.
    assert_eq!(env.run(|g| authorized(g, "a1")).unwrap(), first);
    assert_eq!(env.calls(), 1);
    assert_eq!(env.balances(VISA), (1_000_000, 999_000));
}

#[test]
fn same_key_same_body_returns_the_first_answer_even_after_changes() {
    let env = Env::new();
    let mut g = env.gateway();
    let first = authorized(&mut g, "a1");
    let captured = ok(g.capture("c1", &first.id));
    // The authorization's answer is as it was, not the payment as it is.
    assert_eq!(authorized(&mut g, "a1"), first);
    assert_eq!(g.capture("c1", &first.id), Ok(captured.clone()));
    let refunded = ok(g.refund("r1", &first.id));
    assert_eq!(g.capture("c1", &first.id), Ok(captured));
    assert_eq!(g.refund("r1", &first.id), Ok(refunded));
    assert_eq!(env.calls(), 3);
}

#[test]
fn same_key_different_parameters_is_refused() {
    let env = Env::new();
    let mut g = env.gateway();
    let first = authorized(&mut g, "a1");
    let base = auth("a1", 1000, VISA);
    let variants = [
        auth("a1", 1001, VISA),
        request("a1", "order-2", "cust-1", 1000, card(VISA)),
        request("a1", "order-1", "cust-2", 1000, card(VISA)),
        auth("a1", 1000, VISA_500),
        request(
            "a1",
            "order-1",
            "cust-1",
            1000,
            Card {
                expiry_year: 2031,
                ..card(VISA)
            },
        ),
        request(
            "a1",
            "order-1",
            "cust-1",
            1000,
            Card {
                cvv: "124".into(),
                ..card(VISA)
            },
        ),
    ];
    for v in &variants {
        assert_eq!(
            g.authorize(v),
            Err(PaymentError::IdempotencyKeyReused),
            "{v:?}"
        );
    }
    assert_eq!(g.authorize(&base), Ok(first));
    assert_eq!(env.calls(), 1);
}

#[test]
fn same_key_different_amount_after_a_decline_is_refused() {
    let env = Env::new();
    let mut g = env.gateway();
    assert_eq!(
        g.authorize(&auth("a1", 60_000, VISA_500)),
        Err(PaymentError::InsufficientFunds)
    );
    assert_eq!(
        g.authorize(&auth("a1", 100, VISA_500)),
        Err(PaymentError::IdempotencyKeyReused)
    );
    assert_eq!(env.calls(), 1);
}

#[test]
fn same_key_different_amount_while_in_flight_is_refused() {
    let env = Env::new();
    let mut g = env.gateway();
    env.faults(&[Fault::Unavailable; 5]);
    assert_eq!(
        g.authorize(&auth("a1", 100, VISA)),
        Err(PaymentError::BankUnavailable)
    );
    assert_eq!(
        g.authorize(&auth("a1", 200, VISA)),
        Err(PaymentError::IdempotencyKeyReused)
    );
    assert_eq!(env.calls(), 5);
    assert_eq!(ok(g.authorize(&auth("a1", 100, VISA))).amount, 100);
}

#[test]
fn same_key_same_body_capture_void_refund() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    let c = ok(g.capture("c1", &p.id));
    assert_eq!(g.capture("c1", &p.id), Ok(c));
    let r = ok(g.refund("r1", &p.id));
    assert_eq!(g.refund("r1", &p.id), Ok(r));
    let q = authorized(&mut g, "a2");
    let v = ok(g.void("v1", &q.id));
    assert_eq!(g.void("v1", &q.id), Ok(v));
    assert_eq!(env.calls(), 5);
}

#[test]
fn same_key_other_payment_is_refused() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    let q = authorized(&mut g, "a2");
    ok(g.capture("c1", &p.id));
    assert_eq!(
        g.capture("c1", &q.id),
        Err(PaymentError::IdempotencyKeyReused)
    );
    // A key answered not-found is bound to that id too.
    assert_eq!(g.void("v1", "pay-000099"), Err(PaymentError::NotFound));
    assert_eq!(g.void("v1", &q.id), Err(PaymentError::IdempotencyKeyReused));
    assert_eq!(env.calls(), 3);
}

#[test]
fn keys_are_scoped_by_operation() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "k");
    let q = authorized(&mut g, "k2");
    assert_eq!(ok(g.capture("k", &p.id)).state, S::Captured);
    assert_eq!(ok(g.void("k", &q.id)).state, S::Voided);
    assert_eq!(ok(g.refund("k", &p.id)).state, S::Refunded);
}

#[test]
fn the_empty_key_is_a_key() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "");
    assert_eq!(authorized(&mut g, ""), p);
    assert_eq!(
        g.authorize(&auth("", 5, VISA)),
        Err(PaymentError::IdempotencyKeyReused)
    );
    assert_eq!(env.calls(), 1);
}
