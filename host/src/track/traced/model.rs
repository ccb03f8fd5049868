//! The host's own types for the traced track: the batches the emitter sends
//! and the queries it makes, and the store's answers (compared whole: two
//! correct stores answer alike, ids as they were given).

use std::sync::Arc;

use serde::Serialize;

use crate::bindings::traced::collector as wit;

/// The window every store keeps: 30 minutes, in nanoseconds.
pub const WINDOW_NS: i64 = 1_800_000_000_000;

/// A span as the emitter sends it. Ids are kept as text: scripted
/// scenarios send invalid ones on purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Span {
    pub trace_id: Arc<str>,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: Arc<str>,
    pub operation: Arc<str>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub error: bool,
    pub tags: Vec<(String, String)>,
}

impl Span {
    pub fn to_wit(&self) -> wit::Span {
        wit::Span {
            trace_id: self.trace_id.to_string(),
            span_id: self.span_id.clone(),
            parent_span_id: self.parent_span_id.clone(),
            service: self.service.to_string(),
            operation: self.operation.to_string(),
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            status: if self.error {
                wit::SpanStatus::Error
            } else {
                wit::SpanStatus::Ok
            },
            tags: self
                .tags
                .iter()
                .map(|(key, value)| wit::Tag {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }

    pub fn from_wit(span: &wit::Span) -> Span {
        Span {
            trace_id: span.trace_id.as_str().into(),
            span_id: span.span_id.clone(),
            parent_span_id: span.parent_span_id.clone(),
            service: span.service.as_str().into(),
            operation: span.operation.as_str().into(),
            start_ns: span.start_ns,
            end_ns: span.end_ns,
            error: matches!(span.status, wit::SpanStatus::Error),
            tags: span
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
        }
    }
}

/// One call into the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Ingest(Arc<Vec<Span>>),
    ListTraces {
        after_ns: i64,
        before_ns: i64,
        limit: Option<u32>,
    },
    GetTrace {
        trace_id: String,
    },
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Ingest(spans) => {
                // Ids compare case-insensitively.
                let traces: std::collections::BTreeSet<String> = spans
                    .iter()
                    .map(|s| s.trace_id.to_ascii_lowercase())
                    .collect();
                write!(
                    f,
                    "ingest {} of {}",
                    crate::report::count(spans.len(), "span"),
                    crate::report::count(traces.len(), "trace")
                )
            }
            Op::ListTraces {
                after_ns,
                before_ns,
                limit,
            } => {
                write!(f, "list-traces [{after_ns}, {before_ns}) ns")?;
                match limit {
                    Some(limit) => write!(f, ", limit {limit}"),
                    None => Ok(()),
                }
            }
            Op::GetTrace { trace_id } => write!(f, "get-trace {}", short(trace_id)),
        }
    }
}

/// An error, as compared: its WIT name and details (`invalid-span(3,
/// end-before-start)`, `invalid-limit(0)`).
pub fn error(e: &wit::TracedError) -> String {
    match e {
        wit::TracedError::EmptyBatch => "empty-batch".into(),
        wit::TracedError::BatchTooLarge(n) => format!("batch-too-large({n})"),
        wit::TracedError::InvalidSpan(s) => {
            format!("invalid-span({}, {})", s.index, problem(s.problem))
        }
        wit::TracedError::InvalidLimit(n) => format!("invalid-limit({n})"),
        wit::TracedError::InvalidRange => "invalid-range".into(),
        wit::TracedError::InvalidTraceId => "invalid-trace-id".into(),
        wit::TracedError::NotFound => "not-found".into(),
    }
}

pub fn problem(p: wit::SpanProblem) -> &'static str {
    match p {
        wit::SpanProblem::TraceId => "trace-id",
        wit::SpanProblem::SpanId => "span-id",
        wit::SpanProblem::ParentSpanId => "parent-span-id",
        wit::SpanProblem::ServiceTooLong => "service-too-long",
        wit::SpanProblem::OperationTooLong => "operation-too-long",
        wit::SpanProblem::EndBeforeStart => "end-before-start",
        wit::SpanProblem::TooManyTags => "too-many-tags",
        wit::SpanProblem::TagValueTooLong => "tag-value-too-long",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    pub start_ns: i64,
    pub span_count: u32,
    pub duration_ms: f64,
    pub error: bool,
}

impl From<&wit::TraceSummary> for Summary {
    fn from(s: &wit::TraceSummary) -> Self {
        Summary {
            trace_id: s.trace_id.clone(),
            root_service: s.root_service.clone(),
            root_operation: s.root_operation.clone(),
            start_ns: s.start_ns,
            span_count: s.span_count,
            duration_ms: s.duration_ms,
            error: s.error,
        }
    }
}

/// The first 8 characters of an id and an ellipsis: enough to tell ids
/// apart in a listing (the JSON report has them whole).
pub fn short(id: &str) -> String {
    match id.char_indices().nth(8) {
        Some((end, _)) => format!("{}…", &id[..end]),
        None => id.to_string(),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {} ms{})",
            short(&self.trace_id),
            crate::report::count(self.span_count as usize, "span"),
            self.duration_ms,
            if self.error { ", error" } else { "" }
        )
    }
}

/// A call's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    Ingested(Result<(), String>),
    Page(Result<(Vec<Summary>, u32), String>),
    Trace(Result<Vec<Span>, String>),
}

/// The first few of `items`, comma-separated in brackets, `...` for the
/// rest.
fn first_few<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    let mut shown: Vec<String> = items.iter().take(5).map(show).collect();
    if items.len() > 5 {
        shown.push("...".into());
    }
    format!("[{}]", shown.join(", "))
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Ingested(Ok(())) => write!(f, "ok"),
            Output::Page(Ok((traces, total))) => write!(
                f,
                "{} of {total}: {}",
                traces.len(),
                first_few(traces, ToString::to_string)
            ),
            Output::Trace(Ok(spans)) => write!(
                f,
                "{}: {}",
                crate::report::count(spans.len(), "span"),
                first_few(spans, |s| format!("{}@{}", short(&s.span_id), s.start_ns))
            ),
            Output::Ingested(Err(e)) | Output::Page(Err(e)) | Output::Trace(Err(e)) => {
                write!(f, "error {e}")
            }
        }
    }
}
