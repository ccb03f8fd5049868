//! What a trace is: its root, its spans, its summary, get-trace's answer.

use super::harness::*;
use crate::core::{SpanStatus, TracedError};

#[test]
fn children_before_their_root_are_counted_once_it_arrives() {
    let mut env = Env::new();
    env.ok(vec![child(1, 1, T0 + 5), child(1, 2, T0 + 7)]);
    assert!(env.listed().is_empty());
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
    env.ok(vec![child(1, 3, T0 + 6), root(1, T0)]);
    let page = env.all();
    assert_eq!(page.total, 1);
    let s = &page.traces[0];
    assert_eq!(s.trace_id, tid(1));
    assert_eq!(s.span_count, 4);
    assert_eq!(s.root_service, "gateway");
    assert_eq!(s.root_operation, "GET /");
    assert_eq!(s.start_ns, T0);
    assert_eq!(s.duration_ms, 1.0);
    assert!(!s.error);
    assert_eq!(env.span_ids(&tid(1)), vec![sid(0), sid(1), sid(3), sid(2)]);
}

#[test]
fn an_error_child_marks_the_trace() {
    let mut env = Env::new();
    env.ok(vec![failed(child(1, 1, T0)), root(1, T0), root(2, T0)]);
    env.ok(vec![child(2, 1, T0)]);
    let page = env.all();
    assert!(page.traces[0].error);
    assert!(!page.traces[1].error);
    env.ok(vec![failed(child(2, 2, T0))]);
    assert!(env.all().traces[1].error);
    assert_eq!(env.get(&tid(1)).unwrap()[1].status, SpanStatus::Error);
}

#[test]
fn duplicate_span_ids_keep_the_first_and_are_not_counted() {
    let mut env = Env::new();
    let mut first = child(1, 1, T0 + 1);
    first.service = "first".into();
    let mut second = failed(child(1, 1, T0 + 2));
    second.service = "second".into();
    env.ok(vec![root(1, T0), first, second.clone()]);
    env.ok(vec![second]);
    // A duplicate of the root (same span id, parentless) is ignored too.
    let mut again = root(1, T0 + 3);
    again.operation = "again".into();
    env.ok(vec![again]);
    let s = &env.all().traces[0];
    assert_eq!((s.span_count, s.error, s.start_ns), (2, false, T0));
    assert_eq!(s.root_operation, "GET /");
    let spans = env.get(&tid(1)).unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[1].service, "first");
    // The same span id in another trace is another span.
    env.ok(vec![root(2, T0), child(2, 1, T0)]);
    assert_eq!(env.all().traces[1].span_count, 2);
}

#[test]
fn a_second_parentless_span_is_an_ordinary_span() {
    let mut env = Env::new();
    let mut other = root(1, T0 - 10);
    other.span_id = sid(9);
    other.service = "other".into();
    other.end_ns = T0 + 50 * MS;
    env.ok(vec![root(1, T0)]);
    env.ok(vec![other]);
    let s = &env.all().traces[0];
    assert_eq!((s.span_count, s.start_ns, s.duration_ms), (2, T0, 1.0));
    assert_eq!(s.root_service, "gateway");
    assert_eq!(env.span_ids(&tid(1)), vec![sid(9), sid(0)]);
}

#[test]
fn the_first_parentless_span_of_a_batch_is_the_root() {
    let mut env = Env::new();
    let mut later = root(1, T0 - 10);
    later.span_id = sid(9);
    env.ok(vec![child(1, 1, T0 - 20), root(1, T0), later]);
    assert_eq!(env.all().traces[0].start_ns, T0);
}

#[test]
fn get_trace_orders_by_start_then_span_id_case_insensitively() {
    let mut env = Env::new();
    let mut b = child(1, 0xb, T0 + 1);
    b.span_id = b.span_id.to_uppercase();
    env.ok(vec![
        child(1, 0xc, T0 + 1),
        b.clone(),
        child(1, 0xa, T0 + 1),
        child(1, 1, T0 - 1),
        root(1, T0),
    ]);
    assert_eq!(
        env.span_ids(&tid(1)),
        vec![sid(1), sid(0), sid(0xa), b.span_id, sid(0xc)]
    );
}

#[test]
fn get_trace_returns_every_field_as_given() {
    let mut env = Env::new();
    let mut s = failed(child(1, 1, T0 + 3));
    s.tags = vec![tag("b", "2"), tag("a", "1"), tag("a", "1")];
    s.end_ns = i64::MAX;
    env.ok(vec![root(1, T0), s.clone()]);
    assert_eq!(env.get(&tid(1)).unwrap(), vec![root(1, T0), s]);
}

#[test]
fn durations_are_exact_differences() {
    let mut env = Env::new();
    let mut r = root(1, T0);
    r.end_ns = T0 + 1_234_567;
    let mut long = root(2, T0);
    long.end_ns = i64::MAX;
    env.ok(vec![r, long]);
    let page = env.all();
    assert_eq!(page.traces[0].duration_ms, 1.234567);
    assert_eq!(
        page.traces[1].duration_ms,
        (i128::from(i64::MAX) - i128::from(T0)) as f64 / 1e6
    );
}
