//! The collector's logic, free of the bindings: every call takes the clock
//! reading as an argument, so it also runs (and is tested) natively.
//!
//! Nothing clever: the stored spans are grouped per trace (a map keyed by
//! the lowercase trace id, each trace's spans in arrival order, its root
//! remembered), and every call walks every trace: to evict what left the
//! window; a listing checks each trace's root and sorts the matches; a
//! duplicate span id is found by scanning the trace's own spans; a get
//! sorts the trace's spans. No time-ordered index.

use std::collections::BTreeMap;

/// W: 30 minutes, in nanoseconds.
pub const WINDOW_NS: i64 = 30 * 60 * 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: String,
    pub operation: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub error: bool,
    /// (key, value) pairs, in order.
    pub tags: Vec<(String, String)>,
}

/// What is wrong with a span, in the order the WIT checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    TraceId,
    SpanId,
    ParentSpanId,
    ServiceTooLong,
    OperationTooLong,
    EndBeforeStart,
    TooManyTags,
    TagValueTooLong,
}

/// Why a call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    EmptyBatch,
    BatchTooLarge(u32),
    InvalidSpan(u32, Problem),
    InvalidLimit(u32),
    InvalidRange,
    InvalidTraceId,
    NotFound,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    pub start_ns: i64,
    pub span_count: u32,
    pub duration_ms: f64,
    pub error: bool,
}

/// A stored span, with its span id lowercased once, at ingest.
struct Held {
    span: Span,
    span_id: String,
}

/// A trace's stored spans, in the order they were stored.
#[derive(Default)]
struct Trace {
    /// Index in `spans` of the root: the first parentless span stored.
    root: Option<usize>,
    spans: Vec<Held>,
}

/// Every stored span, grouped by lowercase trace id.
#[derive(Default)]
pub struct Collector {
    traces: BTreeMap<String, Trace>,
}

/// The canonical 8-4-4-4-12 form, hex digits of either case.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn now_ns(now_ms: u64) -> i64 {
    (i128::from(now_ms) * 1_000_000).min(i128::from(i64::MAX)) as i64
}

fn problem(span: &Span) -> Option<Problem> {
    if !is_uuid(&span.trace_id) {
        return Some(Problem::TraceId);
    }
    if !is_uuid(&span.span_id) {
        return Some(Problem::SpanId);
    }
    if span.parent_span_id.as_deref().is_some_and(|p| !is_uuid(p)) {
        return Some(Problem::ParentSpanId);
    }
    if span.service.chars().count() > 256 {
        return Some(Problem::ServiceTooLong);
    }
    if span.operation.chars().count() > 256 {
        return Some(Problem::OperationTooLong);
    }
    if span.end_ns < span.start_ns {
        return Some(Problem::EndBeforeStart);
    }
    if span.tags.len() > 50 {
        return Some(Problem::TooManyTags);
    }
    if span.tags.iter().any(|(_, v)| v.chars().count() > 1024) {
        return Some(Problem::TagValueTooLong);
    }
    None
}

impl Collector {
    /// How many spans are stored.
    pub fn stored_spans(&self) -> usize {
        self.traces.values().map(|t| t.spans.len()).sum()
    }

    /// Drops every trace whose root starts before `now - W`, and every
    /// rootless span that does: one pass over every trace.
    fn evict(&mut self, now: i64) {
        let low = now.saturating_sub(WINDOW_NS);
        self.traces.retain(|_, trace| match trace.root {
            Some(i) => trace.spans[i].span.start_ns >= low,
            None => {
                trace.spans.retain(|h| h.span.start_ns >= low);
                !trace.spans.is_empty()
            }
        });
    }

    pub fn ingest(&mut self, now_ms: u64, batch: Vec<Span>) -> Result<(), Refusal> {
        let now = now_ns(now_ms);
        self.evict(now);
        if batch.is_empty() {
            return Err(Refusal::EmptyBatch);
        }
        if batch.len() > 500 {
            return Err(Refusal::BatchTooLarge(batch.len() as u32));
        }
        for (i, span) in batch.iter().enumerate() {
            if let Some(p) = problem(span) {
                return Err(Refusal::InvalidSpan(i as u32, p));
            }
        }
        for span in batch {
            if span.start_ns < now.saturating_sub(WINDOW_NS) {
                continue;
            }
            let trace = self.traces.entry(lower(&span.trace_id)).or_default();
            let span_id = lower(&span.span_id);
            if trace.spans.iter().any(|h| h.span_id == span_id) {
                continue;
            }
            if span.parent_span_id.is_none() && trace.root.is_none() {
                trace.root = Some(trace.spans.len());
            }
            trace.spans.push(Held { span, span_id });
        }
        Ok(())
    }

    pub fn list_traces(
        &mut self,
        now_ms: u64,
        after_ns: i64,
        before_ns: i64,
        limit: Option<u32>,
    ) -> Result<(Vec<Summary>, u32), Refusal> {
        let now = now_ns(now_ms);
        self.evict(now);
        let limit = limit.unwrap_or(20);
        if limit == 0 || limit > 1000 {
            return Err(Refusal::InvalidLimit(limit));
        }
        // Nanoseconds since the epoch: never below 0.
        if after_ns < 0 || before_ns < 0 || after_ns >= before_ns {
            return Err(Refusal::InvalidRange);
        }
        // One pass over every trace, then a sort of the matches.
        let mut found: Vec<(i64, &str, &Trace, &Span)> = Vec::new();
        for (id, trace) in &self.traces {
            let Some(i) = trace.root else { continue };
            let root = &trace.spans[i].span;
            let start = root.start_ns;
            if start < after_ns || start >= before_ns || start > now {
                continue;
            }
            found.push((start, id, trace, root));
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let total = found.len() as u32;
        found.truncate(limit as usize);
        let summaries = found
            .into_iter()
            .map(|(start, _, trace, root)| Summary {
                trace_id: root.trace_id.clone(),
                root_service: root.service.clone(),
                root_operation: root.operation.clone(),
                start_ns: start,
                span_count: trace.spans.len() as u32,
                duration_ms: (i128::from(root.end_ns) - i128::from(root.start_ns)) as f64 / 1e6,
                error: trace.spans.iter().any(|h| h.span.error),
            })
            .collect();
        Ok((summaries, total))
    }

    pub fn get_trace(&mut self, now_ms: u64, trace_id: &str) -> Result<Vec<Span>, Refusal> {
        let now = now_ns(now_ms);
        self.evict(now);
        if !is_uuid(trace_id) {
            return Err(Refusal::InvalidTraceId);
        }
        let trace = match self.traces.get(&lower(trace_id)) {
            Some(t) if t.root.is_some_and(|i| t.spans[i].span.start_ns <= now) => t,
            _ => return Err(Refusal::NotFound),
        };
        let mut held: Vec<&Held> = trace.spans.iter().collect();
        held.sort_by(|a, b| (a.span.start_ns, &a.span_id).cmp(&(b.span.start_ns, &b.span_id)));
        Ok(held.into_iter().map(|h| h.span.clone()).collect())
    }
}
