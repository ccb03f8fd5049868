//! Shorthands: ids, spans and a collector with its own clock.

use crate::core::{Collector, Rules, Span, SpanStatus, Tag, TracePage, TracedError, WINDOW_NS};

/// 2026-01-01T00:00:00Z, in milliseconds.
pub const T0_MS: u64 = 1_767_225_600_000;
/// [`T0_MS`] in nanoseconds.
pub const T0: i64 = T0_MS as i64 * 1_000_000;
/// W.
pub const W: i64 = WINDOW_NS;
/// One millisecond in nanoseconds.
pub const MS: i64 = 1_000_000;

/// The id of trace `n` (lowercase).
pub fn tid(n: u64) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", n >> 32, n & 0xffff_ffff)
}

/// The id of span `n`.
pub fn sid(n: u64) -> String {
    format!("5a5a0000-0000-4000-8000-{n:012x}")
}

/// A root span of trace `trace`, span 0, starting at `start`, 1 ms long.
pub fn root(trace: u64, start: i64) -> Span {
    Span {
        trace_id: tid(trace),
        span_id: sid(0),
        parent_span_id: None,
        service: "gateway".to_string(),
        operation: "GET /".to_string(),
        start_ns: start,
        end_ns: start + MS,
        status: SpanStatus::Ok,
        tags: Vec::new(),
    }
}

/// Span `span` of trace `trace`, a child of its root, at `start`.
pub fn child(trace: u64, span: u64, start: i64) -> Span {
    Span {
        span_id: sid(span),
        parent_span_id: Some(sid(0)),
        service: "db".to_string(),
        operation: "query".to_string(),
        ..root(trace, start)
    }
}

pub fn failed(mut span: Span) -> Span {
    span.status = SpanStatus::Error;
    span
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// A collector and the clock it is called at (milliseconds).
pub struct Env<R: Rules = crate::core::Reference> {
    pub collector: Collector<R>,
    pub now_ms: u64,
}

impl Env {
    pub fn new() -> Env {
        Env::with_rules()
    }
}

impl<R: Rules> Env<R> {
    pub fn with_rules() -> Env<R> {
        Env {
            collector: Collector::new(),
            now_ms: T0_MS,
        }
    }

    /// `now` in nanoseconds.
    pub fn now(&self) -> i64 {
        self.now_ms as i64 * MS
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    pub fn ingest(&mut self, spans: Vec<Span>) -> Result<(), TracedError> {
        self.collector.ingest(self.now_ms, spans)
    }

    #[track_caller]
    pub fn ok(&mut self, spans: Vec<Span>) {
        self.ingest(spans).expect("ingest");
    }

    pub fn list(
        &mut self,
        after: i64,
        before: i64,
        limit: Option<u32>,
    ) -> Result<TracePage, TracedError> {
        self.collector
            .list_traces(self.now_ms, after, before, limit)
    }

    /// Everything listable: the whole time range, the largest page.
    #[track_caller]
    pub fn all(&mut self) -> TracePage {
        self.list(0, i64::MAX, Some(1000)).expect("list")
    }

    /// The trace ids of [`Env::all`], in order.
    pub fn listed(&mut self) -> Vec<String> {
        self.all().traces.into_iter().map(|s| s.trace_id).collect()
    }

    pub fn get(&mut self, trace_id: &str) -> Result<Vec<Span>, TracedError> {
        self.collector.get_trace(self.now_ms, trace_id)
    }

    /// The span ids of a trace, in get-trace's order.
    #[track_caller]
    pub fn span_ids(&mut self, trace_id: &str) -> Vec<String> {
        self.get(trace_id)
            .expect("get-trace")
            .into_iter()
            .map(|s| s.span_id)
            .collect()
    }
}
