//! The collector's logic, free of the bindings: every call takes the clock
//! reading as an argument, so it also runs (and is tested) natively.
//!
//! Nothing clever: the stored spans are one `Vec` in arrival order, and
//! every call walks all of it: to evict what left the window, to find each
//! trace's root (its first parentless span in that order), to spot a
//! duplicate span id, to count, and it sorts what it answers.

use std::collections::{BTreeMap, BTreeSet};

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

/// Every stored span, in the order it was stored.
#[derive(Default)]
pub struct Collector {
    pub spans: Vec<Span>,
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
    /// Each trace's root (lowercase trace id -> index in `spans`): its
    /// first parentless span in arrival order.
    fn roots(&self) -> BTreeMap<String, usize> {
        let mut roots = BTreeMap::new();
        for (i, s) in self.spans.iter().enumerate() {
            if s.parent_span_id.is_none() {
                roots.entry(lower(&s.trace_id)).or_insert(i);
            }
        }
        roots
    }

    /// Drops every trace whose root starts before `now - W`, and every
    /// rootless span that does.
    fn evict(&mut self, now: i64) {
        let low = now.saturating_sub(WINDOW_NS);
        let root_starts: BTreeMap<String, i64> = self
            .roots()
            .into_iter()
            .map(|(trace, i)| (trace, self.spans[i].start_ns))
            .collect();
        self.spans
            .retain(|s| match root_starts.get(&lower(&s.trace_id)) {
                Some(&root_start) => root_start >= low,
                None => s.start_ns >= low,
            });
        if self.spans.capacity() > 2 * self.spans.len() + 64 {
            self.spans.shrink_to_fit();
        }
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
        let mut held: BTreeSet<(String, String)> = self
            .spans
            .iter()
            .map(|s| (lower(&s.trace_id), lower(&s.span_id)))
            .collect();
        for span in batch {
            if span.start_ns < now.saturating_sub(WINDOW_NS) {
                continue;
            }
            if held.insert((lower(&span.trace_id), lower(&span.span_id))) {
                self.spans.push(span);
            }
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
        if after_ns >= before_ns {
            return Err(Refusal::InvalidRange);
        }
        // Every trace's span count and status, in one pass.
        let mut families: BTreeMap<String, (u32, bool)> = BTreeMap::new();
        for s in &self.spans {
            let family = families.entry(lower(&s.trace_id)).or_default();
            *family = (family.0 + 1, family.1 || s.error);
        }
        let mut found: Vec<(i64, String, Summary)> = Vec::new();
        for (trace, i) in self.roots() {
            let root = &self.spans[i];
            let start = root.start_ns;
            if start < after_ns || start >= before_ns || start > now {
                continue;
            }
            let (count, error) = families[&trace];
            found.push((
                start,
                trace,
                Summary {
                    trace_id: root.trace_id.clone(),
                    root_service: root.service.clone(),
                    root_operation: root.operation.clone(),
                    start_ns: start,
                    span_count: count,
                    duration_ms: (i128::from(root.end_ns) - i128::from(root.start_ns)) as f64 / 1e6,
                    error,
                },
            ));
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let total = found.len() as u32;
        found.truncate(limit as usize);
        Ok((found.into_iter().map(|(_, _, s)| s).collect(), total))
    }

    pub fn get_trace(&mut self, now_ms: u64, trace_id: &str) -> Result<Vec<Span>, Refusal> {
        let now = now_ns(now_ms);
        self.evict(now);
        if !is_uuid(trace_id) {
            return Err(Refusal::InvalidTraceId);
        }
        let trace = lower(trace_id);
        match self.roots().get(&trace) {
            Some(&i) if self.spans[i].start_ns <= now => {}
            _ => return Err(Refusal::NotFound),
        }
        let mut spans: Vec<Span> = self
            .spans
            .iter()
            .filter(|s| lower(&s.trace_id) == trace)
            .cloned()
            .collect();
        spans.sort_by_key(|s| (s.start_ns, lower(&s.span_id)));
        Ok(spans)
    }
}
