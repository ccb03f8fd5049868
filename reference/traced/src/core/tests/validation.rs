//! Every rule of `ingest`, `list-traces` and `get-trace`, the order they
//! are checked in, and that a refused batch stores nothing.

use super::harness::*;
use crate::core::{Span, SpanProblem, TracedError, parse_uuid};

fn problem(index: u32, problem: SpanProblem) -> Result<(), TracedError> {
    Err(TracedError::InvalidSpan { index, problem })
}

#[test]
fn batch_sizes() {
    let mut env = Env::new();
    assert_eq!(env.ingest(Vec::new()), Err(TracedError::EmptyBatch));
    let many = |n: u64| (0..n).map(|i| root(i, T0)).collect::<Vec<_>>();
    assert_eq!(env.ingest(many(501)), Err(TracedError::BatchTooLarge(501)));
    assert_eq!(env.collector.stored_spans(), 0);
    env.ok(many(500));
    assert_eq!(env.all().total, 500);
}

#[test]
fn batch_size_comes_before_span_problems() {
    let mut env = Env::new();
    let mut spans: Vec<_> = (0..501).map(|i| root(i, T0)).collect();
    spans[0].trace_id = "nope".to_string();
    assert_eq!(env.ingest(spans), Err(TracedError::BatchTooLarge(501)));
}

/// Makes a valid span invalid in one way.
type Breaks = fn(&mut Span);

#[test]
fn each_problem_alone() {
    let mut env = Env::new();
    let cases: [(Breaks, SpanProblem); 8] = [
        ((|s| s.trace_id = "x".into()), SpanProblem::TraceId),
        ((|s| s.span_id = String::new()), SpanProblem::SpanId),
        (
            (|s| s.parent_span_id = Some("0".into())),
            SpanProblem::ParentSpanId,
        ),
        (
            (|s| s.service = "s".repeat(257)),
            SpanProblem::ServiceTooLong,
        ),
        (
            (|s| s.operation = "o".repeat(257)),
            SpanProblem::OperationTooLong,
        ),
        ((|s| s.end_ns = s.start_ns - 1), SpanProblem::EndBeforeStart),
        (
            (|s| s.tags = (0..51).map(|i| tag(&i.to_string(), "")).collect()),
            SpanProblem::TooManyTags,
        ),
        (
            (|s| s.tags = vec![tag("k", &"v".repeat(1025))]),
            SpanProblem::TagValueTooLong,
        ),
    ];
    for (break_it, expected) in cases {
        let mut bad = child(1, 1, T0);
        break_it(&mut bad);
        let batch = vec![root(1, T0), child(1, 2, T0), bad, child(1, 3, T0)];
        assert_eq!(env.ingest(batch), problem(2, expected), "{expected:?}");
        assert_eq!(env.collector.stored_spans(), 0, "{expected:?}");
    }
}

#[test]
fn limits_are_inclusive() {
    let mut env = Env::new();
    let mut s = child(1, 1, T0);
    s.service = "s".repeat(256);
    s.operation = "o".repeat(256);
    s.end_ns = s.start_ns;
    s.tags = (0..50)
        .map(|_| tag(&"k".repeat(2000), &"v".repeat(1024)))
        .collect();
    env.ok(vec![s]);
    assert_eq!(env.collector.stored_spans(), 1);
}

#[test]
fn lengths_count_characters_not_bytes() {
    let mut env = Env::new();
    let mut s = child(1, 1, T0);
    // 256 characters of 3 bytes, 4-byte characters in the tag value.
    s.service = "€".repeat(256);
    s.operation = "é".repeat(256);
    s.tags = vec![tag("k", &"🦀".repeat(1024))];
    env.ok(vec![s.clone()]);
    s.service.push('€');
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::ServiceTooLong)
    );
    s.service.pop();
    s.operation.push('é');
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::OperationTooLong)
    );
    s.operation.pop();
    s.tags[0].value.push('🦀');
    assert_eq!(
        env.ingest(vec![s]),
        problem(0, SpanProblem::TagValueTooLong)
    );
}

#[test]
fn first_problem_of_a_span_in_the_enums_order() {
    let mut env = Env::new();
    let mut s = child(1, 1, T0);
    s.tags = vec![tag("k", &"v".repeat(1025)); 51];
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::TooManyTags)
    );
    s.end_ns = s.start_ns - 1;
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::EndBeforeStart)
    );
    s.operation = "o".repeat(300);
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::OperationTooLong)
    );
    s.service = "s".repeat(300);
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::ServiceTooLong)
    );
    s.parent_span_id = Some("p".into());
    assert_eq!(
        env.ingest(vec![s.clone()]),
        problem(0, SpanProblem::ParentSpanId)
    );
    s.span_id = "s".into();
    assert_eq!(env.ingest(vec![s.clone()]), problem(0, SpanProblem::SpanId));
    s.trace_id = "t".into();
    assert_eq!(env.ingest(vec![s]), problem(0, SpanProblem::TraceId));
}

#[test]
fn first_invalid_span_is_reported() {
    let mut env = Env::new();
    let mut late = child(1, 3, T0);
    late.trace_id = "bad".into();
    let mut early = child(1, 2, T0);
    early.end_ns = early.start_ns - 1;
    let batch = vec![root(1, T0), child(1, 1, T0), early, late];
    assert_eq!(env.ingest(batch), problem(2, SpanProblem::EndBeforeStart));
}

#[test]
fn stale_invalid_spans_still_refuse_the_batch() {
    let mut env = Env::new();
    let mut stale = root(2, T0 - W - 1);
    stale.span_id = "bad".into();
    assert_eq!(
        env.ingest(vec![root(1, T0), stale]),
        problem(1, SpanProblem::SpanId)
    );
    assert_eq!(env.collector.stored_spans(), 0);
}

#[test]
fn uuid_forms() {
    for good in [
        "123e4567-e89b-12d3-a456-426614174000",
        "123E4567-E89B-12D3-A456-426614174000",
        "123e4567-E89b-12D3-a456-426614174ABC",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ] {
        assert!(parse_uuid(good).is_some(), "{good}");
        assert_eq!(
            crate::core::format_uuid(parse_uuid(good).unwrap().0, parse_uuid(good).unwrap().1),
            good
        );
    }
    for bad in [
        "",
        "123e4567e89b12d3a456426614174000",
        "{123e4567-e89b-12d3-a456-426614174000}",
        "123e4567-e89b-12d3-a456-42661417400",
        "123e4567-e89b-12d3-a456-4266141740000",
        "123e4567-e89b-12d3-a456_426614174000",
        "123e456-7e89b-12d3-a456-426614174000",
        "123g4567-e89b-12d3-a456-426614174000",
        " 23e4567-e89b-12d3-a456-426614174000",
        "123e4567-e89b-12d3-a456-42661417400é",
        "urn:uuid:123e4567-e89b-12d3-a456-4266",
    ] {
        assert!(parse_uuid(bad).is_none(), "{bad}");
    }
}

#[test]
fn uppercase_ids_are_the_same_ids_and_come_back_as_given() {
    let mut env = Env::new();
    let upper = tid(0xabc).to_uppercase();
    let mut r = root(0xabc, T0);
    r.trace_id = upper.clone();
    r.span_id = sid(0xdef).to_uppercase();
    let mut c = child(0xabc, 1, T0 + 1);
    c.parent_span_id = Some(sid(0xdef).to_uppercase());
    env.ok(vec![r, c]);
    assert_eq!(env.listed(), vec![upper.clone()]);
    let spans = env.get(&tid(0xabc)).unwrap();
    assert_eq!(spans[0].trace_id, upper);
    assert_eq!(spans[0].span_id, sid(0xdef).to_uppercase());
    assert_eq!(spans[1].trace_id, tid(0xabc));
    assert_eq!(spans[1].parent_span_id, Some(sid(0xdef).to_uppercase()));
    // The same span id in another case is a duplicate.
    let mut dup = child(0xabc, 1, T0 + 2);
    dup.span_id = sid(1).to_uppercase();
    env.ok(vec![dup]);
    assert_eq!(env.all().traces[0].span_count, 2);
}

#[test]
fn list_limit_then_range() {
    let mut env = Env::new();
    assert_eq!(env.list(5, 5, Some(0)), Err(TracedError::InvalidLimit(0)));
    assert_eq!(
        env.list(5, 5, Some(1001)),
        Err(TracedError::InvalidLimit(1001))
    );
    assert_eq!(
        env.list(5, 5, Some(u32::MAX)),
        Err(TracedError::InvalidLimit(u32::MAX))
    );
    assert_eq!(env.list(5, 5, None), Err(TracedError::InvalidRange));
    assert_eq!(env.list(6, 5, Some(1000)), Err(TracedError::InvalidRange));
    assert!(env.list(4, 5, Some(1)).is_ok());
    assert!(env.list(0, i64::MAX, None).is_ok());
    // Times since the epoch: a negative end is out of range, the limit first.
    assert_eq!(env.list(-1, 5, None), Err(TracedError::InvalidRange));
    assert_eq!(
        env.list(i64::MIN, i64::MAX, None),
        Err(TracedError::InvalidRange)
    );
    assert_eq!(env.list(5, -1, None), Err(TracedError::InvalidRange));
    assert_eq!(env.list(-5, -1, Some(10)), Err(TracedError::InvalidRange));
    assert_eq!(env.list(-1, 5, Some(0)), Err(TracedError::InvalidLimit(0)));
    assert!(env.list(0, 1, None).is_ok());
}

#[test]
fn get_trace_ids() {
    let mut env = Env::new();
    assert_eq!(env.get("nope"), Err(TracedError::InvalidTraceId));
    assert_eq!(env.get(&tid(1)), Err(TracedError::NotFound));
    assert_eq!(env.get(&tid(1).to_uppercase()), Err(TracedError::NotFound));
}

/// `id` with its letters in alternating case, from the first: mixed case.
fn mixed(id: &str) -> String {
    let mut upper = true;
    id.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                upper = !upper;
                if upper { c } else { c.to_ascii_uppercase() }
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn ids_in_mixed_case_are_one_trace_and_one_span_each() {
    let mut env = Env::new();
    let (t, s) = (tid(0xabc_def0), sid(0xfed_cba0));
    assert_ne!(mixed(&t), t);
    assert_ne!(mixed(&t), t.to_uppercase());
    // A child first, its trace id in uppercase and its parent id mixed; then
    // the root, its trace id mixed and its span id in uppercase.
    let mut c = child(0xabc_def0, 1, T0 + 1);
    c.trace_id = t.to_uppercase();
    c.parent_span_id = Some(mixed(&s));
    let mut r = root(0xabc_def0, T0);
    r.trace_id = mixed(&t);
    r.span_id = s.to_uppercase();
    env.ok(vec![c]);
    env.ok(vec![r]);
    // Duplicates in every other case: of the root, of the child.
    let mut dup_root = root(0xabc_def0, T0 + 2);
    dup_root.span_id = s.clone();
    let mut dup_child = child(0xabc_def0, 1, T0 + 3);
    dup_child.span_id = mixed(&sid(1));
    env.ok(vec![dup_root, dup_child]);
    // The summary spells the trace id as the root gave it, not as the first
    // span to arrive did.
    let page = env.all();
    assert_eq!(page.total, 1);
    assert_eq!(page.traces[0].trace_id, mixed(&t));
    assert_eq!(page.traces[0].span_count, 2);
    // Every case of the trace id finds it; each span keeps its own spelling.
    for id in [t.clone(), t.to_uppercase(), mixed(&t)] {
        let spans = env.get(&id).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(
            (spans[0].trace_id.as_str(), spans[0].span_id.as_str()),
            (mixed(&t).as_str(), s.to_uppercase().as_str())
        );
        assert_eq!(spans[1].trace_id, t.to_uppercase());
        assert_eq!(spans[1].parent_span_id, Some(mixed(&s)));
    }
}

#[test]
fn ties_compare_ids_case_insensitively() {
    let mut env = Env::new();
    // As text, "B..." sorts before "a..."; case-insensitively after it.
    let (a, b) = (
        "a0000000-0000-4000-8000-000000000000".to_string(),
        "B0000000-0000-4000-8000-000000000000".to_string(),
    );
    let mut ra = root(0, T0);
    ra.trace_id = a.clone();
    let mut rb = root(0, T0);
    rb.trace_id = b.clone();
    env.ok(vec![rb, ra]);
    assert_eq!(env.listed(), vec![a.clone(), b.clone()]);
    // The same in get-trace, by span id.
    let mut ca = child(7, 1, T0 + 5);
    ca.span_id = a.clone();
    let mut cb = child(7, 2, T0 + 5);
    cb.span_id = b.clone();
    env.ok(vec![root(7, T0), cb, ca]);
    assert_eq!(env.span_ids(&tid(7)), vec![sid(0), a, b]);
}
