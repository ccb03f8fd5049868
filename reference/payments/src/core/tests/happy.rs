//! Happy paths of every transition, the records they leave, and the reads.

use super::harness::*;
use crate::core::{CURRENCY, Operation, PaymentError, PaymentState as S, Transition};

#[test]
fn authorize_capture_refund() {
    let env = Env::new();
    let mut g = env.gateway();

    let p = ok(g.authorize(&request("a1", "order-1", "cust-1", 1234, card(VISA))));
    assert_eq!(p.id, "pay-000001");
    assert_eq!(p.order_id, "order-1");
    assert_eq!(p.customer_id, "cust-1");
    assert_eq!(p.amount, 1234);
    assert_eq!(p.currency, CURRENCY);
    assert_eq!(p.state, S::Authorized);
    assert_eq!(p.authorization_id.as_deref(), Some("auth-000001"));
    assert_eq!(
        p.transitions,
        vec![
            Transition {
                state: S::Pending,
                at_ms: T0
            },
            Transition {
                state: S::Authorized,
                at_ms: T0
            },
        ]
    );
    assert_eq!(env.balances(VISA), (1_000_000, 1_000_000 - 1234));

    env.clock.advance(1000);
    let c = ok(g.capture("c1", &p.id));
    assert_eq!(c.state, S::Captured);
    assert_eq!(c.capture_id.as_deref(), Some("cap-000001"));
    assert_eq!(c.authorization_id, p.authorization_id);
    assert_eq!(c.transitions.len(), 3);
    assert_eq!(c.transitions[2].at_ms, T0 + 1000);
    assert_eq!(env.balances(VISA), (1_000_000 - 1234, 1_000_000 - 1234));

    env.clock.advance(1000);
    let r = ok(g.refund("r1", &p.id));
    assert_eq!(r.state, S::Refunded);
    assert_eq!(r.refund_id.as_deref(), Some("ref-000001"));
    assert_eq!(r.void_id, None);
    assert_eq!(
        states(&r),
        [S::Pending, S::Authorized, S::Captured, S::Refunded]
    );
    assert_eq!(r.transitions[3].at_ms, T0 + 2000);
    assert_eq!(env.balances(VISA), (1_000_000, 1_000_000));

    assert_eq!(g.get_payment(&p.id), Ok(r));
    assert_eq!(env.calls(), 3);
    assert_eq!(env.effects(), 3);
    assert_eq!(env.clock.slept(), 0);
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn authorize_void() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    env.clock.advance(5);
    let v = ok(g.void("v1", &p.id));
    assert_eq!(v.state, S::Voided);
    assert_eq!(v.void_id.as_deref(), Some("void-000001"));
    assert_eq!(v.capture_id, None);
    assert_eq!(states(&v), [S::Pending, S::Authorized, S::Voided]);
    assert_eq!(v.transitions[2].at_ms, T0 + 5);
    assert_eq!(env.balances(VISA), (1_000_000, 1_000_000));
    assert_eq!(env.calls(), 2);
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn transitions_are_stamped_when_the_answer_arrives() {
    let env = Env::new();
    let mut g = env.gateway();
    env.faults(&[Fault::Latency(1500)]);
    let p = authorized(&mut g, "a1");
    assert_eq!(p.transitions[0].at_ms, T0);
    assert_eq!(p.transitions[1].at_ms, T0 + 1500);
    env.faults(&[Fault::Latency(100)]);
    let c = ok(g.capture("c1", &p.id));
    assert_eq!(c.transitions[2].at_ms, T0 + 1600);
    // Latency is not sleeping.
    assert_eq!(env.clock.slept(), 0);
}

#[test]
fn ids_are_sequential() {
    let env = Env::new();
    let mut g = env.gateway();
    for i in 1..=3 {
        let p = authorized(&mut g, &format!("a{i}"));
        assert_eq!(p.id, format!("pay-{i:06}"));
        assert_eq!(p.authorization_id, Some(format!("auth-{i:06}")));
    }
    assert_eq!(env.store.raw_get("seq/payment").unwrap(), b"3");
}

#[test]
fn get_payment_unknown_is_not_found() {
    let env = Env::new();
    let mut g = env.gateway();
    assert_eq!(g.get_payment("pay-000001"), Err(PaymentError::NotFound));
    assert_eq!(g.get_payment(""), Err(PaymentError::NotFound));
    assert_eq!(env.calls(), 0);
}

#[test]
fn listings_are_oldest_first() {
    let env = Env::new();
    let mut g = env.gateway();
    let p1 = ok(g.authorize(&request("a1", "o1", "alice", 100, card(VISA))));
    let p2 = ok(g.authorize(&request("a2", "o2", "bob", 200, card(VISA))));
    let p3 = ok(g.authorize(&request("a3", "o1", "bob", 300, card(VISA))));
    let c1 = ok(g.capture("c1", &p1.id));

    let ids = |ps: Vec<crate::core::Payment>| ps.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(g.payments_by_order("o1")),
        [p1.id.clone(), p3.id.clone()]
    );
    assert_eq!(ids(g.payments_by_order("o2")), vec![p2.id.clone()]);
    assert_eq!(
        ids(g.payments_by_customer("bob")),
        [p2.id.clone(), p3.id.clone()]
    );
    assert!(g.payments_by_order("o3").is_empty());
    assert!(g.payments_by_order("").is_empty());
    // The listing shows the current records.
    assert_eq!(g.payments_by_customer("alice"), vec![c1]);
    assert_eq!(env.calls(), 4);
}

#[test]
fn listings_span_many_pages() {
    let env = Env::new();
    let mut g = env.gateway();
    let n = crate::core::SCAN_PAGE as usize * 2 + 3;
    for i in 0..n {
        ok(g.authorize(&request(&format!("a{i}"), "big", "c", 1, card(VISA))));
    }
    let listed = g.payments_by_order("big");
    assert_eq!(listed.len(), n);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
}

#[test]
fn ids_with_slashes_and_percents_do_not_mix() {
    let env = Env::new();
    let mut g = env.gateway();
    let a = ok(g.authorize(&request("k1", "a", "c/1", 1, card(VISA))));
    let ab = ok(g.authorize(&request("k2", "a/b", "c%2F1", 1, card(VISA))));
    let a_pct = ok(g.authorize(&request("k3", "a%2Fb", "c", 1, card(VISA))));
    assert_eq!(g.payments_by_order("a"), vec![a.clone()]);
    assert_eq!(g.payments_by_order("a/b"), vec![ab.clone()]);
    assert_eq!(g.payments_by_order("a%2Fb"), vec![a_pct]);
    assert_eq!(g.payments_by_customer("c/1"), vec![a]);
    assert_eq!(g.payments_by_customer("c%2F1"), vec![ab]);
}

#[test]
fn the_store_holds_the_documented_layout() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = ok(g.authorize(&request("a1", "o/1", "cust", 100, card(VISA))));
    let keys: Vec<String> = env.store.snapshot().into_keys().collect();
    assert_eq!(
        keys,
        [
            "customer/cust/0000000001",
            "idem/authorize/a1",
            "order/o%2F1/0000000001",
            "payment/pay-000001",
            "seq/payment",
        ]
    );
    assert_eq!(
        env.store.raw_get("order/o%2F1/0000000001").unwrap(),
        b"pay-000001"
    );
    let record: crate::core::PaymentRecord =
        serde_json::from_slice(&env.store.raw_get("payment/pay-000001").unwrap()).unwrap();
    assert_eq!(record.seq, 1);
    assert_eq!(record.payment, p);
    assert_eq!(record.intent, None);
    let idem: crate::core::IdempotencyRecord =
        serde_json::from_slice(&env.store.raw_get("idem/authorize/a1").unwrap()).unwrap();
    assert_eq!(idem.payment_id, "pay-000001");
    assert_eq!(
        idem.fingerprint,
        r#"["o/1","cust",100,"4111111111111111","123",12,2030]"#
    );
    assert_eq!(idem.response, Some(Ok(p.clone())));

    ok(g.capture("c/1", &p.id));
    let idem: crate::core::IdempotencyRecord =
        serde_json::from_slice(&env.store.raw_get("idem/capture/c/1").unwrap()).unwrap();
    assert_eq!(idem.fingerprint, "pay-000001");
    // The bank keys.
    let calls = env.bank.state.borrow().calls.clone();
    assert_eq!(
        calls,
        [
            (Operation::Authorize, "pay-000001/authorize".to_string()),
            (Operation::Capture, "pay-000001/capture".to_string()),
        ]
    );
}

#[test]
fn recover_with_nothing_in_flight_calls_no_bank() {
    let env = Env::new();
    let mut g = env.gateway();
    let p = authorized(&mut g, "a1");
    ok(g.capture("c1", &p.id));
    let before = env.store.snapshot();
    env.recover();
    assert_eq!(env.calls(), 2);
    assert_eq!(env.store.snapshot(), before);
    // And on an empty store.
    Env::new().recover();
}

#[test]
fn a_key_too_large_for_the_store_is_other_without_a_bank_call() {
    let env = Env::new();
    let mut g = env.gateway();
    let long = "o".repeat(2000);
    let e = g
        .authorize(&request("a1", &long, "c", 100, card(VISA)))
        .unwrap_err();
    assert_eq!(e, PaymentError::Other("store: key-too-large".into()));
    assert_eq!(env.calls(), 0);
    assert!(env.store.snapshot().is_empty());
    // Nothing was consumed: the next payment is still the first.
    assert_eq!(authorized(&mut g, "a2").id, "pay-000001");
}
