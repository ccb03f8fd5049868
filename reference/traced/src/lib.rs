//! The reference trace collector: the oracle every traced plugin is diffed
//! against, answer by answer.
//!
//! [`core`] is the collector itself, plain Rust that takes the clock's
//! reading as an argument and builds and tests natively; its module docs
//! are the exact rules (the window, eviction, validation, order). On
//! `wasm32`, with the `component` feature (on by default), this crate is
//! also the component exporting `gauntlet:traced/collector`: one
//! [`core::Collector`] per instance, in guest memory, read against the
//! imported `clock` on every call. The contract is `wit/traced/traced.wit`.

pub mod core;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component {
    use std::cell::RefCell;

    use crate::core;

    wit_bindgen::generate!({
        path: ["../../wit/harness", "../../wit/traced"],
        world: "gauntlet:traced/plugin",
        // The harness package is a dependency path; generate its bindings too.
        generate_all,
    });

    use exports::gauntlet::traced::collector::{
        Guest, InvalidSpan, Span, SpanProblem, SpanStatus, Tag, TracePage, TraceSummary,
        TracedError,
    };
    use gauntlet::harness::clock;

    thread_local! {
        /// The instance's collector (a component instance is
        /// single-threaded).
        static COLLECTOR: RefCell<core::Collector> = RefCell::new(core::Collector::new());
    }

    /// Serves a call at the clock's current reading.
    fn with_collector<T>(f: impl FnOnce(&mut core::Collector, u64) -> T) -> T {
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
            let spans = spans.into_iter().map(core_span).collect();
            with_collector(|c, now| c.ingest(now, spans)).map_err(wit_error)
        }

        fn list_traces(
            after_ns: i64,
            before_ns: i64,
            limit: Option<u32>,
        ) -> Result<TracePage, TracedError> {
            with_collector(|c, now| c.list_traces(now, after_ns, before_ns, limit))
                .map(wit_page)
                .map_err(wit_error)
        }

        fn get_trace(trace_id: String) -> Result<Vec<Span>, TracedError> {
            with_collector(|c, now| c.get_trace(now, &trace_id))
                .map(|spans| spans.into_iter().map(wit_span).collect())
                .map_err(wit_error)
        }
    }

    export!(Component);
}
