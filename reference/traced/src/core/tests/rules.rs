//! Each [`Rules`] hook the example plugins override changes what it says
//! and nothing else (the plugins' bugs are these changes).

use super::harness::*;
use crate::core::{Call, Rules, TracedError};

struct LazyEviction;
impl Rules for LazyEviction {
    fn evicts_on(call: Call) -> bool {
        call == Call::Ingest
    }
}

struct ListsRootless;
impl Rules for ListsRootless {
    fn lists_rootless() -> bool {
        true
    }
}

struct MiscountsEarlyChildren;
impl Rules for MiscountsEarlyChildren {
    fn counts_early_children() -> bool {
        false
    }
}

struct LimitBeforeTotal;
impl Rules for LimitBeforeTotal {
    fn total(_matched: u32, returned: u32) -> u32 {
        returned
    }
}

#[test]
fn lazy_eviction_serves_expired_traces_until_the_next_ingest() {
    let mut env = Env::<LazyEviction>::with_rules();
    env.ok(vec![root(1, T0), root(2, T0 + 10 * MS)]);
    env.advance_ms((W / MS) as u64 + 5);
    assert_eq!(env.all().total, 2);
    assert_eq!(env.get(&tid(1)).unwrap().len(), 1);
    env.ok(vec![root(3, env.now())]);
    let ids: Vec<_> = env.all().traces.into_iter().map(|s| s.trace_id).collect();
    assert_eq!(ids, vec![tid(3), tid(2)]);
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
}

#[test]
fn lists_rootless_stands_the_earliest_span_in_for_the_root() {
    let mut env = Env::<ListsRootless>::with_rules();
    let mut early = child(1, 2, T0 - 3);
    early.service = "early".into();
    early.end_ns = T0 + 2 * MS - 3;
    env.ok(vec![child(1, 1, T0), early, root(2, T0 - 1)]);
    let page = env.all();
    assert_eq!(page.total, 2);
    let s = &page.traces[1];
    assert_eq!(
        (s.trace_id.clone(), s.start_ns, s.span_count),
        (tid(1), T0 - 3, 2)
    );
    assert_eq!((s.root_service.as_str(), s.duration_ms), ("early", 2.0));
    assert_eq!(env.get(&tid(1)).unwrap().len(), 2);
    // Once the root arrives, it is the root.
    env.ok(vec![root(1, T0)]);
    assert_eq!(env.all().traces[0].start_ns, T0);
}

#[test]
fn miscounts_early_children_counts_from_the_root_on() {
    let mut env = Env::<MiscountsEarlyChildren>::with_rules();
    env.ok(vec![child(1, 1, T0), child(1, 2, T0)]);
    env.ok(vec![root(1, T0), child(1, 3, T0)]);
    env.ok(vec![child(1, 4, T0)]);
    assert_eq!(env.all().traces[0].span_count, 3);
    assert_eq!(env.get(&tid(1)).unwrap().len(), 5);
}

#[test]
fn limit_before_total_caps_the_total() {
    let mut env = Env::<LimitBeforeTotal>::with_rules();
    env.ok((0..30).map(|i| root(i, T0)).collect());
    let page = env.list(0, i64::MAX, None).unwrap();
    assert_eq!((page.traces.len(), page.total), (20, 20));
    assert_eq!(env.list(0, i64::MAX, Some(100)).unwrap().total, 30);
}

struct CaseSensitiveSpanIds;
impl Rules for CaseSensitiveSpanIds {
    fn span_ids_case_sensitive() -> bool {
        true
    }
}

#[test]
fn case_sensitive_span_ids_store_a_duplicate_in_another_case() {
    let mut env = Env::<CaseSensitiveSpanIds>::with_rules();
    let mut upper = child(1, 1, T0 + 2);
    upper.span_id = sid(1).to_uppercase();
    upper.service = "upper".into();
    let mut root_again = root(1, T0 + 3);
    root_again.span_id = sid(0).to_uppercase();
    env.ok(vec![root(1, T0), child(1, 1, T0 + 1), upper, root_again]);
    // The same spelling is still a duplicate.
    env.ok(vec![child(1, 1, T0 + 4)]);
    let s = &env.all().traces[0];
    assert_eq!((s.span_count, s.start_ns), (4, T0));
    let spans = env.get(&tid(1)).unwrap();
    assert_eq!(spans.len(), 4);
    assert_eq!(spans[2].service, "upper");
    // Rootless spans of one id in two cases are both evicted with their
    // start.
    let mut a = child(2, 1, T0);
    let mut b = child(2, 1, T0);
    b.span_id = sid(1).to_uppercase();
    a.service = "a".into();
    env.ok(vec![a, b]);
    assert_eq!(env.collector.stored_spans(), 6);
    env.advance_ms((W / MS) as u64 + 1);
    env.ok(vec![root(3, env.now())]);
    assert_eq!(env.collector.stored_spans(), 1);
    assert!(env.collector.stored_traces() == 1);
}
