//! list-traces: order, ties, the range's bounds, the limit and the total.

use super::harness::*;

#[test]
fn newest_root_first_ties_by_trace_id_case_insensitively() {
    let mut env = Env::new();
    let mut upper = root(0xb, T0);
    upper.trace_id = upper.trace_id.to_uppercase();
    env.ok(vec![
        root(0xc, T0),
        root(1, T0 - 5),
        upper.clone(),
        root(0xa, T0),
        root(2, T0),
    ]);
    env.ok(vec![root(3, T0 - 1)]);
    assert_eq!(
        env.listed(),
        vec![tid(2), tid(0xa), upper.trace_id, tid(0xc), tid(3), tid(1)]
    );
}

#[test]
fn only_the_root_start_places_a_trace() {
    let mut env = Env::new();
    env.ok(vec![root(1, T0 - 100), child(1, 1, T0), root(2, T0 - 50)]);
    assert_eq!(env.listed(), vec![tid(2), tid(1)]);
    let page = env.list(T0 - 100, T0 - 99, None).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.traces[0].trace_id, tid(1));
}

#[test]
fn after_is_inclusive_before_exclusive() {
    let mut env = Env::new();
    env.ok((0..10).map(|i| root(i, T0 - 100 + i as i64)).collect());
    let ids = |env: &mut Env, after, before| -> Vec<String> {
        let page = env.list(after, before, None).unwrap();
        assert_eq!(page.total as usize, page.traces.len());
        page.traces.into_iter().map(|s| s.trace_id).collect()
    };
    assert_eq!(
        ids(&mut env, T0 - 98, T0 - 95),
        vec![tid(4), tid(3), tid(2)]
    );
    assert_eq!(ids(&mut env, T0 - 98, T0 - 97), vec![tid(2)]);
    assert!(ids(&mut env, T0 - 200, T0 - 100).is_empty());
    assert!(ids(&mut env, T0 - 90, T0).is_empty());
    assert_eq!(ids(&mut env, T0 - 91, i64::MAX), vec![tid(9)]);
}

#[test]
fn total_is_counted_before_the_limit() {
    let mut env = Env::new();
    env.ok((0..30).map(|i| root(i, T0 - i as i64)).collect());
    let page = env.list(0, i64::MAX, None).unwrap();
    assert_eq!((page.traces.len(), page.total), (20, 30));
    assert_eq!(page.traces[0].trace_id, tid(0));
    assert_eq!(page.traces[19].trace_id, tid(19));
    let page = env.list(T0 - 9, T0 + 1, Some(3)).unwrap();
    assert_eq!((page.traces.len(), page.total), (3, 10));
    let page = env.list(0, i64::MAX, Some(1000)).unwrap();
    assert_eq!((page.traces.len(), page.total), (30, 30));
}

#[test]
fn rootless_traces_are_neither_listed_nor_counted() {
    let mut env = Env::new();
    env.ok(vec![child(1, 1, T0), root(2, T0), child(3, 1, T0 - 5)]);
    let page = env.all();
    assert_eq!(page.total, 1);
    assert_eq!(page.traces[0].trace_id, tid(2));
}

#[test]
fn a_thousand_and_more() {
    let mut env = Env::new();
    for batch in 0..5 {
        env.ok((0..500)
            .map(|i| root(batch * 500 + i, T0 - (batch * 500 + i) as i64))
            .collect());
    }
    let page = env.all();
    assert_eq!((page.traces.len(), page.total), (1000, 2500));
    assert_eq!(page.traces[999].trace_id, tid(999));
}
