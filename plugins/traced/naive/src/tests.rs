//! Native tests: generated workloads answered by this collector and by the
//! reference's core side by side, every answer compared. Ids come from small
//! pools in random cases, so that duplicates, traces that grow over several
//! batches, children before their root and second parentless spans come
//! up; the clock jumps by whole windows (to the millisecond) and steps back,
//! so that eviction is exercised at its edge.

use reference_traced::core as reference;

use crate::spans::{Collector, Problem, Refusal, Span, Summary, WINDOW_NS};

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const MS: i64 = 1_000_000;

/// UUID `n` of the pool `pool`, each letter in a random case now and then.
fn uuid(rng: &mut Rng, pool: u64, n: u64) -> String {
    let text = format!("{pool:08x}-abcd-4ef0-8a1b-{n:012x}");
    if rng.chance(20) {
        text.chars()
            .map(|c| {
                if rng.chance(50) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    } else {
        text
    }
}

fn span(rng: &mut Rng, now_ns: i64, traces: u64) -> Span {
    let trace = rng.below(traces);
    let start = match rng.below(10) {
        0 => now_ns - WINDOW_NS,
        1 => now_ns - WINDOW_NS - 1,
        2 => now_ns + rng.below(3) as i64 * MS,
        3 => now_ns - WINDOW_NS + rng.below(4) as i64 * MS - 2 * MS,
        _ => now_ns - rng.below((WINDOW_NS / MS) as u64) as i64 * MS - rng.below(3) as i64,
    };
    let (span_n, parent_n) = (rng.below(6), rng.below(6));
    let mut span = Span {
        trace_id: uuid(rng, 0xaaaa_0000, trace),
        span_id: uuid(rng, 0x5555_0000, span_n),
        parent_span_id: (!rng.chance(30)).then(|| uuid(rng, 0x5555_0000, parent_n)),
        service: format!("svc-{}", rng.below(3)),
        operation: format!("op-{}", rng.below(3)),
        start_ns: start,
        end_ns: start + rng.below(5_000_000_000) as i64,
        error: rng.chance(10),
        tags: (0..rng.below(3))
            .map(|i| (format!("k{i}"), "v".repeat(rng.below(4) as usize)))
            .collect(),
    };
    if rng.chance(4) {
        match rng.below(9) {
            0 => span.trace_id.pop().map(drop).unwrap_or(()),
            1 => span.span_id = span.span_id.replace('-', "_"),
            2 => span.parent_span_id = Some("g".repeat(36)),
            3 => span.service = "é".repeat(256 + rng.below(2) as usize),
            4 => span.operation = "o".repeat(256 + rng.below(2) as usize),
            5 => span.end_ns = span.start_ns - rng.below(2) as i64,
            6 => span.tags = vec![(String::new(), String::new()); 50 + rng.below(2) as usize],
            7 => span.tags = vec![("k".into(), "🦀".repeat(1024 + rng.below(2) as usize))],
            _ => span.trace_id = span.trace_id.to_uppercase(),
        }
    }
    span
}

fn to_reference(span: &Span) -> reference::Span {
    reference::Span {
        trace_id: span.trace_id.clone(),
        span_id: span.span_id.clone(),
        parent_span_id: span.parent_span_id.clone(),
        service: span.service.clone(),
        operation: span.operation.clone(),
        start_ns: span.start_ns,
        end_ns: span.end_ns,
        status: if span.error {
            reference::SpanStatus::Error
        } else {
            reference::SpanStatus::Ok
        },
        tags: span
            .tags
            .iter()
            .map(|(key, value)| reference::Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

fn from_reference_error(e: reference::TracedError) -> Refusal {
    use reference::SpanProblem as P;
    match e {
        reference::TracedError::EmptyBatch => Refusal::EmptyBatch,
        reference::TracedError::BatchTooLarge(n) => Refusal::BatchTooLarge(n),
        reference::TracedError::InvalidSpan { index, problem } => Refusal::InvalidSpan(
            index,
            match problem {
                P::TraceId => Problem::TraceId,
                P::SpanId => Problem::SpanId,
                P::ParentSpanId => Problem::ParentSpanId,
                P::ServiceTooLong => Problem::ServiceTooLong,
                P::OperationTooLong => Problem::OperationTooLong,
                P::EndBeforeStart => Problem::EndBeforeStart,
                P::TooManyTags => Problem::TooManyTags,
                P::TagValueTooLong => Problem::TagValueTooLong,
            },
        ),
        reference::TracedError::InvalidLimit(n) => Refusal::InvalidLimit(n),
        reference::TracedError::InvalidRange => Refusal::InvalidRange,
        reference::TracedError::InvalidTraceId => Refusal::InvalidTraceId,
        reference::TracedError::NotFound => Refusal::NotFound,
    }
}

fn from_reference_summary(s: reference::TraceSummary) -> Summary {
    Summary {
        trace_id: s.trace_id,
        root_service: s.root_service,
        root_operation: s.root_operation,
        start_ns: s.start_ns,
        span_count: s.span_count,
        duration_ms: s.duration_ms,
        error: s.error,
    }
}

/// Runs `steps` random calls on both collectors; panics at the first answer
/// that differs. Returns how many listings and gets found something, so the
/// caller can check the workload was not vacuous.
fn compare(seed: u64, steps: usize) -> (usize, usize) {
    let mut rng = Rng(seed);
    let mut now_ms: u64 = 1_767_225_600_000;
    let mut r: reference::Collector = reference::Collector::new();
    let mut n = Collector::default();
    let (mut listed, mut got) = (0, 0);
    for step in 0..steps {
        now_ms = match rng.below(20) {
            0 => now_ms + (WINDOW_NS / MS) as u64 - rng.below(3),
            1 => now_ms - rng.below(5),
            2..=9 => now_ms,
            _ => now_ms + rng.below(200_000),
        };
        let now_ns = now_ms as i64 * MS;
        let traces = 4 + step as u64 / 50;
        match rng.below(10) {
            0..=4 => {
                let size = match rng.below(40) {
                    0 => 0,
                    1 => 501,
                    _ => 1 + rng.below(8) as usize,
                };
                let batch: Vec<Span> = (0..size).map(|_| span(&mut rng, now_ns, traces)).collect();
                let expected = r
                    .ingest(now_ms, batch.iter().map(to_reference).collect())
                    .map_err(from_reference_error);
                let got = n.ingest(now_ms, batch);
                assert_eq!(got, expected, "seed {seed}, step {step}: ingest");
            }
            5..=7 => {
                let at = |rng: &mut Rng| match rng.below(10) {
                    0 => 0,
                    1 => i64::MAX,
                    2 => now_ns - WINDOW_NS,
                    3 => now_ns + 1,
                    // Below 0: refused.
                    4 if rng.chance(50) => i64::MIN,
                    4 => -(1 + rng.below(2) as i64),
                    _ => now_ns - rng.below((WINDOW_NS / MS) as u64) as i64 * MS,
                };
                let (after, before) = (at(&mut rng), at(&mut rng));
                let limit = match rng.below(12) {
                    0 => None,
                    1 => Some(0),
                    2 => Some(1001),
                    3 => Some(1000),
                    _ => Some(1 + rng.below(6) as u32),
                };
                let expected = r
                    .list_traces(now_ms, after, before, limit)
                    .map(|page| {
                        let traces: Vec<Summary> = page
                            .traces
                            .into_iter()
                            .map(from_reference_summary)
                            .collect();
                        (traces, page.total)
                    })
                    .map_err(from_reference_error);
                let answer = n.list_traces(now_ms, after, before, limit);
                assert_eq!(answer, expected, "seed {seed}, step {step}: list-traces");
                if answer.is_ok_and(|(t, _)| !t.is_empty()) {
                    listed += 1;
                }
            }
            _ => {
                let id = if rng.chance(5) {
                    "not-a-uuid".to_string()
                } else {
                    let trace = rng.below(traces);
                    uuid(&mut rng, 0xaaaa_0000, trace)
                };
                let expected = r.get_trace(now_ms, &id).map_err(from_reference_error);
                let answer = n.get_trace(now_ms, &id);
                let answer_as_reference =
                    answer.map(|spans| spans.iter().map(to_reference).collect::<Vec<_>>());
                assert_eq!(
                    answer_as_reference, expected,
                    "seed {seed}, step {step}: get-trace {id}"
                );
                if expected.is_ok() {
                    got += 1;
                }
            }
        }
        assert_eq!(
            n.stored_spans(),
            r.stored_spans(),
            "seed {seed}, step {step}: spans stored"
        );
    }
    (listed, got)
}

#[test]
fn answers_like_the_reference_on_generated_workloads() {
    let (mut listed, mut got) = (0, 0);
    for seed in 0..40 {
        let (l, g) = compare(seed, 600);
        listed += l;
        got += g;
    }
    assert!(listed > 1000, "{listed}");
    assert!(got > 500, "{got}");
}

#[test]
fn a_quiet_window_empties_it() {
    let mut rng = Rng(7);
    let mut c = Collector::default();
    let now_ms = 1_767_225_600_000;
    for _ in 0..300 {
        // Invalid ones are refused; the rest are stored or dropped.
        let _ = c.ingest(now_ms, vec![span(&mut rng, now_ms as i64 * MS, 50)]);
    }
    assert!(c.stored_spans() > 0);
    let later = now_ms + (WINDOW_NS / MS) as u64 + 10_000;
    assert_eq!(c.list_traces(later, 0, i64::MAX, None), Ok((Vec::new(), 0)));
    assert_eq!(c.stored_spans(), 0);
}
