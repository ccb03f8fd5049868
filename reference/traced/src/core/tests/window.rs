//! The window: stale spans dropped, eviction with and without traffic, at
//! the exact edge, of rooted and rootless traces, and roots from the future.

use super::harness::*;
use crate::core::TracedError;

#[test]
fn stale_spans_are_dropped_without_an_error() {
    let mut env = Env::new();
    let edge = env.now() - W;
    env.ok(vec![
        root(1, edge - 1),
        root(2, edge),
        child(2, 1, edge - 1),
    ]);
    assert_eq!(env.listed(), vec![tid(2)]);
    assert_eq!(env.all().traces[0].span_count, 1);
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
    assert_eq!(env.collector.stored_spans(), 1);
}

#[test]
fn eviction_with_no_traffic_at_the_exact_edge() {
    let mut env = Env::new();
    env.ok(vec![root(1, T0), root(2, T0 - 1), child(1, 1, T0 - W)]);
    // now - W == T0: the root at T0 stays (with its older child); the one
    // a nanosecond older goes.
    env.advance_ms((W / MS) as u64);
    assert_eq!(env.now() - W, T0);
    assert_eq!(env.listed(), vec![tid(1)]);
    assert_eq!(env.all().traces[0].span_count, 2);
    assert_eq!(env.get(&tid(2)), Err(TracedError::NotFound));
    assert_eq!(env.span_ids(&tid(1)), vec![sid(1), sid(0)]);
    assert_eq!(env.collector.stored_spans(), 2);
    env.advance_ms(1);
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
    assert!(env.listed().is_empty());
    assert!(env.collector.is_empty());
}

#[test]
fn get_trace_alone_evicts() {
    let mut env = Env::new();
    env.ok(vec![root(1, T0)]);
    env.advance_ms((W / MS) as u64 + 1);
    assert_eq!(env.get(&tid(2)), Err(TracedError::NotFound));
    assert!(env.collector.is_empty());
}

#[test]
fn rootless_spans_leave_one_by_one() {
    let mut env = Env::new();
    env.ok(vec![child(1, 1, T0 - 10 * MS), child(1, 2, T0)]);
    env.advance_ms((W / MS) as u64 - 5);
    env.listed();
    assert_eq!(env.collector.stored_spans(), 1);
    // The root arrives: the trace holds what is left of it.
    env.ok(vec![root(1, T0 + MS)]);
    assert_eq!(env.all().traces[0].span_count, 2);
    assert_eq!(env.span_ids(&tid(1)), vec![sid(2), sid(0)]);
    // From now on the root decides: the child older than the window stays.
    env.advance_ms(6);
    assert_eq!(env.now() - W, T0 + MS);
    assert_eq!(env.all().traces[0].span_count, 2);
    env.advance_ms(1);
    assert!(env.listed().is_empty());
    assert!(env.collector.is_empty());
}

#[test]
fn an_evicted_rootless_span_no_longer_blocks_its_id() {
    let mut env = Env::new();
    let mut old = failed(child(1, 1, T0));
    old.service = "old".into();
    env.ok(vec![old]);
    env.advance_ms((W / MS) as u64 + 1);
    env.ok(vec![root(1, env.now()), child(1, 1, env.now())]);
    let s = &env.all().traces[0];
    assert_eq!((s.span_count, s.error), (2, false));
}

#[test]
fn an_evicted_trace_can_start_again() {
    let mut env = Env::new();
    env.ok(vec![root(1, T0), child(1, 1, T0)]);
    env.advance_ms((W / MS) as u64 + 1);
    env.ok(vec![child(1, 1, env.now())]);
    assert!(env.listed().is_empty());
    env.ok(vec![root(1, env.now())]);
    assert_eq!(env.all().traces[0].span_count, 2);
}

#[test]
fn future_roots_wait_for_the_clock() {
    let mut env = Env::new();
    env.ok(vec![root(1, T0 + 5 * MS), child(1, 1, T0), root(2, T0)]);
    assert_eq!(env.listed(), vec![tid(2)]);
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
    assert_eq!(env.list(T0 + 5 * MS, i64::MAX, None).unwrap().total, 0);
    env.advance_ms(4);
    assert_eq!(env.listed(), vec![tid(2)]);
    env.advance_ms(1);
    assert_eq!(env.listed(), vec![tid(1), tid(2)]);
    assert_eq!(env.span_ids(&tid(1)), vec![sid(1), sid(0)]);
}

#[test]
fn a_clock_stepped_back_brings_nothing_back() {
    let mut env = Env::new();
    env.ok(vec![root(1, T0), root(2, T0 + 10 * MS)]);
    env.advance_ms((W / MS) as u64 + 5);
    assert_eq!(env.listed(), vec![tid(2)]);
    env.now_ms = T0_MS + 10;
    assert_eq!(env.listed(), vec![tid(2)]);
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
    // And a root now in the future again is not listed.
    env.now_ms = T0_MS + 9;
    assert!(env.listed().is_empty());
}

#[test]
fn extreme_clock_readings_saturate() {
    let mut env = Env::new();
    env.now_ms = 0;
    env.ok(vec![root(1, -W), root(2, -W - 1), root(4, 0)]);
    // A root before 0 is inside the window, but no range (from 0) lists it.
    assert_eq!(env.listed(), vec![tid(4)]);
    assert_eq!(env.span_ids(&tid(1)), vec![sid(0)]);
    assert_eq!(env.get(&tid(2)), Err(TracedError::NotFound));
    env.now_ms = u64::MAX;
    assert!(env.listed().is_empty());
    env.ok(vec![root(3, i64::MAX - W)]);
    assert_eq!(env.listed(), vec![tid(3)]);
}
