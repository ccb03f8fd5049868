//! The glue every buggy traced plugin shares, included by each with
//! `#[path = "../../buggy_glue.rs"] mod glue;`: the reference core, the
//! bindings, the conversions between the WIT types and the core's, and a
//! component that runs the core under the crate's [`Bug`].
//!
//! A buggy plugin is the reference with exactly one behaviour changed, so the
//! gauntlet check that catches it has little else to report. Each crate
//! defines `struct Buggy` and implements [`Bug`] for it, overriding only what
//! the bug touches: one of the core's rules ([`core::Rules`], whose defaults
//! are the reference's), or what becomes of the spans it ingests
//! ([`Bug::ingested`]). A bug's state, if any, lives in a `thread_local!` of
//! its crate: guest memory.

/// The reference's core (`reference_traced::core`), compiled into the plugin
/// from its source. Not a cargo dependency on purpose: the reference crate
/// is a `cdylib` whose glue exports the same world (the symbols would
/// clash), and a build of it without that glue would share its unhashed
/// output file names (`libreference_traced.rlib`, `.wasm`) in the guest
/// target directory with the real reference component.
#[path = "../../reference/traced/src/core/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "each plugin uses part of the core's API"
)]
pub mod reference;

use std::cell::RefCell;

use reference as core;

wit_bindgen::generate!({
    path: ["../../../wit/harness", "../../../wit/traced"],
    world: "gauntlet:traced/plugin",
    // The harness package comes from its own directory.
    generate_all,
});

use exports::gauntlet::traced::collector::{
    Guest, InvalidSpan, Span, SpanProblem, SpanStatus, Tag, TracePage, TraceSummary, TracedError,
};
use gauntlet::harness::clock;

/// The collector every export serves from: the core under the [`Bug`]'s
/// rules.
pub type Collector = core::Collector<crate::Buggy>;

/// One deliberate departure from the reference: a rule (every
/// [`core::Rules`] method defaults to the reference's) or what is kept of
/// the spans ingested.
pub trait Bug: core::Rules {
    /// Sees every batch `ingest` is given, before the collector does. The
    /// reference keeps nothing of it beyond what the collector stores.
    fn ingested(_spans: &[core::Span]) {}

    /// A check of the plugin's own, run on a batch before the collector's:
    /// the refusal it makes, if any. The reference has none.
    fn refused(_spans: &[core::Span]) -> Option<core::TracedError> {
        None
    }

    /// Rearranges a page before it is returned. The reference leaves it in
    /// the collector's order.
    fn listed(_page: &mut core::TracePage) {}
}

// ---------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------

thread_local! {
    /// The instance's collector, in guest memory.
    static COLLECTOR: RefCell<Collector> = RefCell::new(core::Collector::new());
}

/// Serves a call at the clock's current reading.
fn with_collector<T>(f: impl FnOnce(&mut Collector, u64) -> T) -> T {
    let now_ms = clock::now_ms();
    COLLECTOR.with_borrow_mut(|c| f(c, now_ms))
}

fn core_span(span: Span) -> core::Span {
    core::Span {
        trace_id: span.trace_id,
        span_id: span.span_id,
        parent_span_id: span.parent_span_id,
        service: span.service,
        operation: span.operation,
        start_ns: span.start_ns,
        end_ns: span.end_ns,
        status: match span.status {
            SpanStatus::Ok => core::SpanStatus::Ok,
            SpanStatus::Error => core::SpanStatus::Error,
        },
        tags: span
            .tags
            .into_iter()
            .map(|t| core::Tag {
                key: t.key,
                value: t.value,
            })
            .collect(),
    }
}

fn wit_span(span: core::Span) -> Span {
    Span {
        trace_id: span.trace_id,
        span_id: span.span_id,
        parent_span_id: span.parent_span_id,
        service: span.service,
        operation: span.operation,
        start_ns: span.start_ns,
        end_ns: span.end_ns,
        status: match span.status {
            core::SpanStatus::Ok => SpanStatus::Ok,
            core::SpanStatus::Error => SpanStatus::Error,
        },
        tags: span
            .tags
            .into_iter()
            .map(|t| Tag {
                key: t.key,
                value: t.value,
            })
            .collect(),
    }
}

fn wit_page(page: core::TracePage) -> TracePage {
    TracePage {
        traces: page
            .traces
            .into_iter()
            .map(|s| TraceSummary {
                trace_id: s.trace_id,
                root_service: s.root_service,
                root_operation: s.root_operation,
                start_ns: s.start_ns,
                span_count: s.span_count,
                duration_ms: s.duration_ms,
                error: s.error,
            })
            .collect(),
        total: page.total,
    }
}

fn wit_error(error: core::TracedError) -> TracedError {
    match error {
        core::TracedError::EmptyBatch => TracedError::EmptyBatch,
        core::TracedError::BatchTooLarge(n) => TracedError::BatchTooLarge(n),
        core::TracedError::InvalidSpan { index, problem } => {
            TracedError::InvalidSpan(InvalidSpan {
                index,
                problem: match problem {
                    core::SpanProblem::TraceId => SpanProblem::TraceId,
                    core::SpanProblem::SpanId => SpanProblem::SpanId,
                    core::SpanProblem::ParentSpanId => SpanProblem::ParentSpanId,
                    core::SpanProblem::ServiceTooLong => SpanProblem::ServiceTooLong,
                    core::SpanProblem::OperationTooLong => SpanProblem::OperationTooLong,
                    core::SpanProblem::EndBeforeStart => SpanProblem::EndBeforeStart,
                    core::SpanProblem::TooManyTags => SpanProblem::TooManyTags,
                    core::SpanProblem::TagValueTooLong => SpanProblem::TagValueTooLong,
                },
            })
        }
        core::TracedError::InvalidLimit(n) => TracedError::InvalidLimit(n),
        core::TracedError::InvalidRange => TracedError::InvalidRange,
        core::TracedError::InvalidTraceId => TracedError::InvalidTraceId,
        core::TracedError::NotFound => TracedError::NotFound,
    }
}

struct Component;

impl Guest for Component {
    fn ingest(spans: Vec<Span>) -> Result<(), TracedError> {
        let spans: Vec<core::Span> = spans.into_iter().map(core_span).collect();
        <crate::Buggy as Bug>::ingested(&spans);
        if let Some(refusal) = <crate::Buggy as Bug>::refused(&spans) {
            return Err(wit_error(refusal));
        }
        with_collector(|c, now| c.ingest(now, spans)).map_err(wit_error)
    }

    fn list_traces(
        after_ns: i64,
        before_ns: i64,
        limit: Option<u32>,
    ) -> Result<TracePage, TracedError> {
        with_collector(|c, now| c.list_traces(now, after_ns, before_ns, limit))
            .map(|mut page| {
                <crate::Buggy as Bug>::listed(&mut page);
                wit_page(page)
            })
            .map_err(wit_error)
    }

    fn get_trace(trace_id: String) -> Result<Vec<Span>, TracedError> {
        with_collector(|c, now| c.get_trace(now, &trace_id))
            .map(|spans| spans.into_iter().map(wit_span).collect())
            .map_err(wit_error)
    }
}

export!(Component);
