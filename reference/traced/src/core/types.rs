//! The collector's values (the WIT's types, as plain Rust) and the
//! [`Rules`] the example plugins bend.

/// `span-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    Ok,
    Error,
}

/// `tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// `span`: ids as given (UUIDs once validated), times in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// Absent on a root.
    pub parent_span_id: Option<String>,
    pub service: String,
    pub operation: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: SpanStatus,
    pub tags: Vec<Tag>,
}

/// `span-problem`, in the WIT's order: the order spans are checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpanProblem {
    TraceId,
    SpanId,
    ParentSpanId,
    ServiceTooLong,
    OperationTooLong,
    EndBeforeStart,
    TooManyTags,
    TagValueTooLong,
}

/// `traced-error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TracedError {
    EmptyBatch,
    BatchTooLarge(u32),
    /// The first invalid span's index in the batch and its first problem.
    InvalidSpan {
        index: u32,
        problem: SpanProblem,
    },
    InvalidLimit(u32),
    InvalidRange,
    InvalidTraceId,
    NotFound,
}

/// `trace-summary`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSummary {
    /// As the root gave it.
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    /// The root's start.
    pub start_ns: i64,
    pub span_count: u32,
    /// (root end - root start) / 1e6, the difference taken exactly.
    pub duration_ms: f64,
    pub error: bool,
}

/// `trace-page`.
#[derive(Clone, Debug, PartialEq)]
pub struct TracePage {
    pub traces: Vec<TraceSummary>,
    /// Counted before the limit.
    pub total: u32,
}

/// The collector's exports, for [`Rules::evicts_on`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Ingest,
    ListTraces,
    GetTrace,
}

/// The behaviours the example plugins change, one each. Every default is
/// the reference's rule; the reference is [`Reference`].
pub trait Rules {
    /// Whether a call evicts what left the window before it is served. The
    /// reference evicts on every call: with no traffic, the next query
    /// must not see what time alone expired. Listing and getting rely on
    /// it: they never look at the window's lower end themselves.
    fn evicts_on(_call: Call) -> bool {
        true
    }

    /// Whether a trace whose root has not arrived is listed and gettable,
    /// its earliest span (by start, then span id) standing in for the root.
    fn lists_rootless() -> bool {
        false
    }

    /// Whether a trace's span count includes the spans stored before its
    /// root arrived.
    fn counts_early_children() -> bool {
        true
    }

    /// The `total` of a page whose range matched `matched` traces, of which
    /// `returned` (at most the limit) are on the page.
    fn total(matched: u32, _returned: u32) -> u32 {
        matched
    }

    /// Whether a trace's span ids are compared as given, case and all, so
    /// that a span id the trace holds in another case is another span (not
    /// a duplicate). The reference compares them case-insensitively.
    fn span_ids_case_sensitive() -> bool {
        false
    }
}

/// The reference's rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Rules for Reference {}
