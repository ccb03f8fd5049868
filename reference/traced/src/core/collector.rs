//! The collector: the stored spans, trace by trace, and the two time
//! indexes that evict them and list them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

use super::types::{
    Call, Reference, Rules, Span, SpanStatus, Tag, TracePage, TraceSummary, TracedError,
};
use super::uuid::{self, Case, Key};
use super::validate::{self, Ids};

/// W: the window's width, 30 minutes in nanoseconds.
pub const WINDOW_NS: i64 = 1_800_000_000_000;
/// The limit of `list-traces` when none is given.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest limit of `list-traces`.
pub const MAX_LIMIT: u32 = 1000;

/// `now` in nanoseconds for a clock reading in milliseconds (saturating).
pub fn now_ns(now_ms: u64) -> i64 {
    i64::try_from(now_ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .unwrap_or(i64::MAX)
}

/// The window's lower end at `now`: spans that start before it are out.
pub fn cutoff(now: i64) -> i64 {
    now.saturating_sub(WINDOW_NS)
}

/// A stored span, compactly: ids as [`Key`] and [`Case`], strings boxed
/// (no spare capacity).
struct Stored {
    span: Key,
    /// 0 when there is none (`has_parent`).
    parent: Key,
    start_ns: i64,
    end_ns: i64,
    service: Box<str>,
    operation: Box<str>,
    tags: Box<[(Box<str>, Box<str>)]>,
    /// The cases of the trace id, the span id and the parent id as given.
    cases: [Case; 3],
    has_parent: bool,
    error: bool,
}

impl Stored {
    fn new(span: Span, ids: Ids) -> Stored {
        let (parent, parent_case) = ids.parent.unwrap_or((0, 0));
        Stored {
            span: ids.span.0,
            parent,
            start_ns: span.start_ns,
            end_ns: span.end_ns,
            service: span.service.into_boxed_str(),
            operation: span.operation.into_boxed_str(),
            tags: span
                .tags
                .into_iter()
                .map(|t| (t.key.into_boxed_str(), t.value.into_boxed_str()))
                .collect(),
            cases: [ids.trace.1, ids.span.1, parent_case],
            has_parent: ids.parent.is_some(),
            error: span.status == SpanStatus::Error,
        }
    }

    /// The span as it was given.
    fn to_span(&self, trace: Key) -> Span {
        Span {
            trace_id: uuid::format(trace, self.cases[0]),
            span_id: uuid::format(self.span, self.cases[1]),
            parent_span_id: self
                .has_parent
                .then(|| uuid::format(self.parent, self.cases[2])),
            service: self.service.to_string(),
            operation: self.operation.to_string(),
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            status: if self.error {
                SpanStatus::Error
            } else {
                SpanStatus::Ok
            },
            tags: self
                .tags
                .iter()
                .map(|(key, value)| Tag {
                    key: key.to_string(),
                    value: value.to_string(),
                })
                .collect(),
        }
    }
}

/// The stored spans of one trace.
struct Trace {
    /// By span id: one per span id (under [`Rules::span_ids_case_sensitive`],
    /// by span id then by the case it was given in: one per spelling).
    spans: Vec<Stored>,
    /// The root's span id and the case it was given in, once it arrived
    /// (`rooted`). Apart rather than an `Option<(Key, Case)>`, which would
    /// take 16 bytes more a trace.
    root: Key,
    root_case: Case,
    rooted: bool,
    /// How many spans were stored before the root arrived.
    early: u32,
}

impl Trace {
    /// Where the span of id `id` is, or would go: by span id, or under
    /// [`Rules::span_ids_case_sensitive`] by span id and case.
    fn position<R: Rules>(&self, (key, case): (Key, Case)) -> Result<usize, usize> {
        if R::span_ids_case_sensitive() {
            self.spans
                .binary_search_by(|s| (s.span, s.cases[1]).cmp(&(key, case)))
        } else {
            self.spans.binary_search_by_key(&key, |s| s.span)
        }
    }

    fn root<R: Rules>(&self) -> Option<&Stored> {
        if !self.rooted {
            return None;
        }
        let at = self.position::<R>((self.root, self.root_case)).ok()?;
        Some(&self.spans[at])
    }

    /// The root, or under [`Rules::lists_rootless`] the earliest span of a
    /// trace without one.
    fn head<R: Rules>(&self) -> Option<&Stored> {
        if self.rooted {
            self.root::<R>()
        } else if R::lists_rootless() {
            self.spans.iter().min_by_key(|s| (s.start_ns, s.span))
        } else {
            None
        }
    }

    fn summary<R: Rules>(&self, trace: Key, head: &Stored) -> TraceSummary {
        let count = if R::counts_early_children() || !self.rooted {
            self.spans.len()
        } else {
            self.spans.len() - self.early as usize
        };
        TraceSummary {
            trace_id: uuid::format(trace, head.cases[0]),
            root_service: head.service.to_string(),
            root_operation: head.operation.to_string(),
            start_ns: head.start_ns,
            span_count: u32::try_from(count).unwrap_or(u32::MAX),
            duration_ms: (i128::from(head.end_ns) - i128::from(head.start_ns)) as f64 / 1e6,
            error: self.spans.iter().any(|s| s.error),
        }
    }
}

/// The reference trace collector under the rules `R` (the reference's
/// unless an example plugin says otherwise).
///
/// Every call takes the clock's reading, evicts what left the window at
/// that instant, and serves. Memory is what is stored: evicted spans are
/// freed at once, and a trace's `Vec` is kept to the size of its spans.
pub struct Collector<R = Reference> {
    /// Every stored trace, rooted or not, by trace id.
    traces: BTreeMap<Key, Trace>,
    /// The rooted traces, newest root first then by trace id: the listing
    /// order. The last entry is the next to be evicted.
    rooted: BTreeSet<(Reverse<i64>, Key)>,
    /// The spans of traces whose root has not arrived, oldest first: (start,
    /// trace id, span id).
    rootless: BTreeSet<(i64, Key, Key)>,
    /// How many spans are stored.
    spans: usize,
    rules: PhantomData<R>,
}

impl<R: Rules> Default for Collector<R> {
    fn default() -> Self {
        Collector {
            traces: BTreeMap::new(),
            rooted: BTreeSet::new(),
            rootless: BTreeSet::new(),
            spans: 0,
            rules: PhantomData,
        }
    }
}

impl<R: Rules> Collector<R> {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many spans are stored.
    pub fn stored_spans(&self) -> usize {
        self.spans
    }

    /// How many traces are stored (with or without their root).
    pub fn stored_traces(&self) -> usize {
        self.traces.len()
    }

    /// Whether nothing at all is held: no trace, no index entry.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty() && self.rooted.is_empty() && self.rootless.is_empty()
    }

    /// `ingest` at `now_ms`.
    pub fn ingest(&mut self, now_ms: u64, spans: Vec<Span>) -> Result<(), TracedError> {
        let now = now_ns(now_ms);
        if R::evicts_on(Call::Ingest) {
            self.evict(now);
        }
        let ids = validate::check_batch(&spans)?;
        let cutoff = cutoff(now);
        let mut touched = Vec::new();
        for (span, ids) in spans.into_iter().zip(ids) {
            if span.start_ns >= cutoff && self.store(span, ids) {
                touched.push(ids.trace.0);
            }
        }
        // Batches bring whole traces: give back what `Vec` growth reserved.
        for trace in touched {
            if let Some(trace) = self.traces.get_mut(&trace)
                && trace.spans.capacity() > trace.spans.len()
            {
                trace.spans.shrink_to_fit();
            }
        }
        Ok(())
    }

    /// `list-traces` at `now_ms`.
    pub fn list_traces(
        &mut self,
        now_ms: u64,
        after_ns: i64,
        before_ns: i64,
        limit: Option<u32>,
    ) -> Result<TracePage, TracedError> {
        let now = now_ns(now_ms);
        if R::evicts_on(Call::ListTraces) {
            self.evict(now);
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(TracedError::InvalidLimit(limit));
        }
        // Times since the epoch: neither end is below 0.
        if after_ns < 0 || before_ns < 0 || after_ns >= before_ns {
            return Err(TracedError::InvalidRange);
        }
        // Root starts in [after, before) and not after now; the window's
        // lower end is eviction's.
        let (low, high) = (after_ns, (before_ns - 1).min(now));
        let mut traces = Vec::new();
        let mut matched: u32 = 0;
        if low <= high {
            if R::lists_rootless() {
                let mut heads: Vec<(Reverse<i64>, Key)> = self
                    .traces
                    .iter()
                    .filter_map(|(&key, trace)| Some((Reverse(trace.head::<R>()?.start_ns), key)))
                    .filter(|&(Reverse(start), _)| low <= start && start <= high)
                    .collect();
                heads.sort_unstable();
                for (_, key) in heads {
                    matched = matched.saturating_add(1);
                    self.push_summary(&mut traces, key, limit);
                }
            } else {
                let range = (Reverse(high), Key::MIN)..=(Reverse(low), Key::MAX);
                for &(_, key) in self.rooted.range(range) {
                    matched = matched.saturating_add(1);
                    self.push_summary(&mut traces, key, limit);
                }
            }
        }
        let total = R::total(matched, traces.len() as u32);
        Ok(TracePage { traces, total })
    }

    fn push_summary(&self, traces: &mut Vec<TraceSummary>, key: Key, limit: u32) {
        if traces.len() < limit as usize
            && let Some(trace) = self.traces.get(&key)
            && let Some(head) = trace.head::<R>()
        {
            traces.push(trace.summary::<R>(key, head));
        }
    }

    /// `get-trace` at `now_ms`.
    pub fn get_trace(&mut self, now_ms: u64, trace_id: &str) -> Result<Vec<Span>, TracedError> {
        let now = now_ns(now_ms);
        if R::evicts_on(Call::GetTrace) {
            self.evict(now);
        }
        let (key, _) = uuid::parse(trace_id).ok_or(TracedError::InvalidTraceId)?;
        let trace = self.traces.get(&key).ok_or(TracedError::NotFound)?;
        let head = trace.head::<R>().ok_or(TracedError::NotFound)?;
        // A root that starts after now is not in the window yet.
        if head.start_ns > now {
            return Err(TracedError::NotFound);
        }
        let mut spans: Vec<&Stored> = trace.spans.iter().collect();
        spans.sort_unstable_by_key(|s| (s.start_ns, s.span, s.cases[1]));
        Ok(spans.into_iter().map(|s| s.to_span(key)).collect())
    }

    /// Stores a span inside the window; false if its trace already holds
    /// its span id.
    fn store(&mut self, span: Span, ids: Ids) -> bool {
        let key = ids.trace.0;
        let trace = self.traces.entry(key).or_insert_with(|| Trace {
            spans: Vec::with_capacity(1),
            root: 0,
            root_case: 0,
            rooted: false,
            early: 0,
        });
        let at = match trace.position::<R>(ids.span) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let stored = Stored::new(span, ids);
        if !trace.rooted {
            if stored.has_parent {
                self.rootless.insert((stored.start_ns, key, stored.span));
            } else {
                // The root: the trace is evicted with it from now on, not
                // span by span.
                for early in &trace.spans {
                    self.rootless.remove(&(early.start_ns, key, early.span));
                }
                (trace.root, trace.root_case, trace.rooted) = (stored.span, stored.cases[1], true);
                trace.early = u32::try_from(trace.spans.len()).unwrap_or(u32::MAX);
                self.rooted.insert((Reverse(stored.start_ns), key));
            }
        }
        trace.spans.insert(at, stored);
        self.spans += 1;
        true
    }

    /// Evicts every trace whose root starts before `now - W`, and every
    /// span of a rootless trace that does; oldest first, through the
    /// indexes (the cost is what is evicted, not what is stored).
    fn evict(&mut self, now: i64) {
        let cutoff = cutoff(now);
        while let Some(&(Reverse(start), key)) = self.rooted.last() {
            if start >= cutoff {
                break;
            }
            self.rooted.pop_last();
            if let Some(trace) = self.traces.remove(&key) {
                self.spans -= trace.spans.len();
            }
        }
        while let Some(&(start, key, span)) = self.rootless.first() {
            if start >= cutoff {
                break;
            }
            self.rootless.pop_first();
            let Some(trace) = self.traces.get_mut(&key) else {
                continue;
            };
            // The span of that id and start (under the reference's rules
            // the one span of that id; under case-sensitive ids, each
            // spelling of it that starts then).
            let mut i = trace.spans.partition_point(|s| s.span < span);
            while i < trace.spans.len() && trace.spans[i].span == span {
                if trace.spans[i].start_ns == start {
                    trace.spans.remove(i);
                    self.spans -= 1;
                } else {
                    i += 1;
                }
            }
            if trace.spans.is_empty() {
                self.traces.remove(&key);
            } else if trace.spans.len() * 2 <= trace.spans.capacity() {
                trace.spans.shrink_to_fit();
            }
        }
    }
}
