//! The checks of `ingest`, in the WIT's order.

use super::types::{Span, SpanProblem, TracedError};
use super::uuid::{self, Case, Key};

/// The most spans one `ingest` takes.
pub const MAX_BATCH: usize = 500;
/// The most characters of a service or an operation.
pub const MAX_NAME_CHARS: usize = 256;
/// The most tags of a span.
pub const MAX_TAGS: usize = 50;
/// The most characters of a tag's value.
pub const MAX_TAG_VALUE_CHARS: usize = 1024;

/// A valid span's ids, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub trace: (Key, Case),
    pub span: (Key, Case),
    pub parent: Option<(Key, Case)>,
}

/// The batch's ids, span by span, or what is wrong with it: its size
/// first, then the first invalid span's first problem.
pub fn check_batch(spans: &[Span]) -> Result<Vec<Ids>, TracedError> {
    if spans.is_empty() {
        return Err(TracedError::EmptyBatch);
    }
    if spans.len() > MAX_BATCH {
        return Err(TracedError::BatchTooLarge(
            u32::try_from(spans.len()).unwrap_or(u32::MAX),
        ));
    }
    spans
        .iter()
        .enumerate()
        .map(|(index, span)| {
            check_span(span).map_err(|problem| TracedError::InvalidSpan {
                // At most MAX_BATCH.
                index: index as u32,
                problem,
            })
        })
        .collect()
}

/// The span's ids, or its first problem in [`SpanProblem`]'s order.
pub fn check_span(span: &Span) -> Result<Ids, SpanProblem> {
    let trace = uuid::parse(&span.trace_id).ok_or(SpanProblem::TraceId)?;
    let span_id = uuid::parse(&span.span_id).ok_or(SpanProblem::SpanId)?;
    let parent = match &span.parent_span_id {
        Some(parent) => Some(uuid::parse(parent).ok_or(SpanProblem::ParentSpanId)?),
        None => None,
    };
    if longer_than(&span.service, MAX_NAME_CHARS) {
        return Err(SpanProblem::ServiceTooLong);
    }
    if longer_than(&span.operation, MAX_NAME_CHARS) {
        return Err(SpanProblem::OperationTooLong);
    }
    if span.end_ns < span.start_ns {
        return Err(SpanProblem::EndBeforeStart);
    }
    if span.tags.len() > MAX_TAGS {
        return Err(SpanProblem::TooManyTags);
    }
    if span
        .tags
        .iter()
        .any(|tag| longer_than(&tag.value, MAX_TAG_VALUE_CHARS))
    {
        return Err(SpanProblem::TagValueTooLong);
    }
    Ok(Ids {
        trace,
        span: span_id,
        parent,
    })
}

/// Whether `s` has more than `max` characters (Unicode scalar values).
fn longer_than(s: &str, max: usize) -> bool {
    // A character is at least one byte: few bytes are few characters.
    s.len() > max && s.chars().count() > max
}
