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
    let page = env.list(i64::MIN, i64::MAX, None).unwrap();
    assert_eq!((page.traces.len(), page.total), (20, 20));
    assert_eq!(env.list(i64::MIN, i64::MAX, Some(100)).unwrap().total, 30);
}
