//! Crashes of the gateway: the instance is dropped, the store and the bank
//! survive, a fresh instance (optionally after `recover`) serves the
//! client's retry. The answer and the store must be exactly those of a run
//! without the crash, and the bank must see no second effect.

use std::collections::BTreeMap;

use super::harness::*;
use crate::core::{PaymentError, PaymentState as S, Response};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Authorize,
    Decline,
    Capture,
    CaptureExpired,
    Void,
    Refund,
}

const CASES: [Case; 6] = [
    Case::Authorize,
    Case::Decline,
    Case::Capture,
    Case::CaptureExpired,
    Case::Void,
    Case::Refund,
];

/// Brings a fresh environment to the point where the case's request is
/// made; the payment id.
fn setup(env: &Env, case: Case) -> String {
    let mut g = env.gateway();
    let id = match case {
        Case::Authorize | Case::Decline => String::new(),
        Case::Capture | Case::Void => authorized(&mut g, "a0").id,
        Case::CaptureExpired => {
            let id = authorized(&mut g, "a0").id;
            env.clock.advance(168 * HOUR_MS + 1);
            id
        }
        Case::Refund => {
            let id = authorized(&mut g, "a0").id;
            ok(g.capture("c0", &id));
            id
        }
    };
    env.clock.advance(1000);
    id
}

fn act(g: &mut TestGateway, case: Case, id: &str) -> Response {
    match case {
        Case::Authorize => g.authorize(&auth("k", 700, VISA)),
        Case::Decline => g.authorize(&auth("k", 700, MC_ZERO)),
        Case::Capture | Case::CaptureExpired => g.capture("k", id),
        Case::Void => g.void("k", id),
        Case::Refund => g.refund("k", id),
    }
}

struct Baseline {
    response: Response,
    store: BTreeMap<String, Vec<u8>>,
    effects: usize,
    /// The request's import calls (bank and store).
    imports: u64,
}

fn baseline(case: Case) -> Baseline {
    let env = Env::new();
    let id = setup(&env, case);
    let before = env.imports.count();
    let response = env.run(|g| act(g, case, &id)).unwrap();
    Baseline {
        response,
        store: env.store.snapshot(),
        effects: env.effects(),
        imports: env.imports.count() - before,
    }
}

#[track_caller]
fn assert_like(env: &Env, base: &Baseline, response: Response, what: &str) {
    assert_eq!(response, base.response, "{what}");
    assert_eq!(env.store.snapshot(), base.store, "{what}");
    assert_eq!(env.effects(), base.effects, "{what}: no second bank effect");
    env.assert_bank_sound();
    env.assert_agrees_with_bank();
}

#[test]
fn the_baselines() {
    let expect = |case| match case {
        Case::Authorize => Some(S::Authorized),
        Case::Capture => Some(S::Captured),
        Case::Void => Some(S::Voided),
        Case::Refund => Some(S::Refunded),
        Case::Decline | Case::CaptureExpired => None,
    };
    for case in CASES {
        let base = baseline(case);
        assert_eq!(base.response.as_ref().ok().map(|p| p.state), expect(case));
        assert!(base.imports >= 4, "{case:?}");
    }
    assert_eq!(
        baseline(Case::Decline).response,
        Err(PaymentError::InsufficientFunds)
    );
    assert_eq!(
        baseline(Case::CaptureExpired).response,
        Err(PaymentError::AuthorizationExpired)
    );
}

#[test]
fn crash_after_the_bank_answered_then_recover_then_retry() {
    for case in CASES {
        let base = baseline(case);
        let env = Env::new();
        let id = setup(&env, case);
        env.faults(&[Fault::CrashAfter]);
        assert!(env.run(|g| act(g, case, &id)).is_none(), "{case:?} crashed");
        env.recover();
        let response = env.run(|g| act(g, case, &id)).unwrap();
        assert_like(&env, &base, response, &format!("{case:?}"));
    }
}

#[test]
fn crash_after_the_bank_answered_then_retry_without_recover() {
    for case in CASES {
        let base = baseline(case);
        let env = Env::new();
        let id = setup(&env, case);
        env.faults(&[Fault::CrashAfter]);
        assert!(env.run(|g| act(g, case, &id)).is_none(), "{case:?} crashed");
        let response = env.run(|g| act(g, case, &id)).unwrap();
        assert_like(&env, &base, response, &format!("{case:?}"));
    }
}

#[test]
fn crash_after_an_authorization_places_no_second_hold() {
    let env = Env::new();
    env.faults(&[Fault::CrashAfter]);
    assert!(env.run(|g| authorized(g, "a1")).is_none());
    // The store has the payment PENDING with its intent.
    let records = env.store.payment_records();
    assert_eq!(records[0].payment.state, S::Pending);
    assert!(records[0].intent.is_some());
    env.recover();
    let p = ok(env.run(|g| g.get_payment("pay-000001")).unwrap());
    assert_eq!(p.state, S::Authorized);
    assert_eq!(p.authorization_id.as_deref(), Some("auth-000001"));
    assert_eq!(env.run(|g| authorized(g, "a1")).unwrap(), p);
    assert_eq!(env.effects(), 1);
    assert_eq!(env.balances(VISA), (1_000_000, 999_000));
    // The bank saw the original call and recover's replay.
    assert_eq!(env.calls(), 2);
    assert!(env.with_bank(|b| b.ledger()[1].replay));
}

#[test]
fn crash_at_every_import_boundary() {
    for case in CASES {
        let base = baseline(case);
        for n in 0..base.imports {
            for with_recover in [true, false] {
                let what = format!("{case:?}, crash before import {n}, recover: {with_recover}");
                let env = Env::new();
                let id = setup(&env, case);
                env.imports.crash_in(n);
                assert!(env.run(|g| act(g, case, &id)).is_none(), "{what}: crashed");
                if with_recover {
                    env.recover();
                }
                let response = env.run(|g| act(g, case, &id)).unwrap();
                assert_like(&env, &base, response, &what);
            }
        }
    }
}

#[test]
fn crash_during_recover_then_recover_again() {
    // Several operations in flight; recover crashes at each boundary in
    // turn; a second recover finishes the job.
    let prepare = || {
        let env = Env::new();
        let mut g = env.gateway();
        let p1 = authorized(&mut g, "a1");
        let p2 = authorized(&mut g, "a2");
        env.faults(&[Fault::Unavailable; 5]);
        assert_eq!(g.capture("c1", &p1.id), Err(PaymentError::BankUnavailable));
        env.faults(&[Fault::Timeout; 5]);
        assert_eq!(g.void("v2", &p2.id), Err(PaymentError::BankUnavailable));
        env.faults(&[Fault::Unavailable; 5]);
        assert_eq!(
            g.authorize(&auth("a3", 100, VISA)),
            Err(PaymentError::BankUnavailable)
        );
        env
    };
    let full = {
        let env = prepare();
        let before = env.imports.count();
        env.recover();
        (env.store.snapshot(), env.imports.count() - before)
    };
    for n in 0..full.1 {
        let env = prepare();
        env.imports.crash_in(n);
        assert!(env.run(|g| g.recover()).is_none());
        env.recover();
        assert_eq!(env.store.snapshot(), full.0, "crash before import {n}");
        env.assert_bank_sound();
        env.assert_agrees_with_bank();
        let c1 = env.run(|g| g.capture("c1", "pay-000001")).unwrap();
        assert_eq!(ok(c1).state, S::Captured);
        let v2 = env.run(|g| g.void("v2", "pay-000002")).unwrap();
        assert_eq!(ok(v2).state, S::Voided);
        let a3 = env.run(|g| g.authorize(&auth("a3", 100, VISA))).unwrap();
        assert_eq!(ok(a3).state, S::Authorized);
    }
}
