//! A correct but naive trace collector, written from the WIT specification
//! alone (it shares no code with the reference).
//!
//! The stored spans live in guest memory grouped per trace (a `BTreeMap`
//! keyed by lowercase trace id); every call walks every trace (evicting,
//! listing) and sorts what it answers. The logic is in [`spans`], free of the bindings, so it
//! also runs (and is unit-tested) natively.

pub mod spans;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
mod component {
    use std::cell::RefCell;

    use crate::spans::{self, Collector, Problem, Refusal};

    wit_bindgen::generate!({
        path: ["../../../wit/harness", "../../../wit/traced"],
        world: "gauntlet:traced/plugin",
        // The harness package comes from its own directory.
        generate_all,
    });

    use exports::gauntlet::traced::collector::{
        Guest, InvalidSpan, Span, SpanProblem, SpanStatus, Tag, TracePage, TraceSummary,
        TracedError,
    };
    use gauntlet::harness::clock;

    thread_local! {
        static COLLECTOR: RefCell<Collector> = RefCell::new(Collector::default());
    }

    fn call<T>(serve: impl FnOnce(&mut Collector, u64) -> T) -> T {
        let now = clock::now_ms();
        COLLECTOR.with_borrow_mut(|c| serve(c, now))
    }

    fn refusal(r: Refusal) -> TracedError {
        match r {
            Refusal::EmptyBatch => TracedError::EmptyBatch,
            Refusal::BatchTooLarge(n) => TracedError::BatchTooLarge(n),
            Refusal::InvalidSpan(index, problem) => TracedError::InvalidSpan(InvalidSpan {
                index,
                problem: match problem {
                    Problem::TraceId => SpanProblem::TraceId,
                    Problem::SpanId => SpanProblem::SpanId,
                    Problem::ParentSpanId => SpanProblem::ParentSpanId,
                    Problem::ServiceTooLong => SpanProblem::ServiceTooLong,
                    Problem::OperationTooLong => SpanProblem::OperationTooLong,
                    Problem::EndBeforeStart => SpanProblem::EndBeforeStart,
                    Problem::TooManyTags => SpanProblem::TooManyTags,
                    Problem::TagValueTooLong => SpanProblem::TagValueTooLong,
                },
            }),
            Refusal::InvalidLimit(n) => TracedError::InvalidLimit(n),
            Refusal::InvalidRange => TracedError::InvalidRange,
            Refusal::InvalidTraceId => TracedError::InvalidTraceId,
            Refusal::NotFound => TracedError::NotFound,
        }
    }

    struct Naive;

    impl Guest for Naive {
        fn ingest(batch: Vec<Span>) -> Result<(), TracedError> {
            let batch = batch
                .into_iter()
                .map(|s| spans::Span {
                    trace_id: s.trace_id,
                    span_id: s.span_id,
                    parent_span_id: s.parent_span_id,
                    service: s.service,
                    operation: s.operation,
                    start_ns: s.start_ns,
                    end_ns: s.end_ns,
                    error: s.status == SpanStatus::Error,
                    tags: s.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                })
                .collect();
            call(|c, now| c.ingest(now, batch)).map_err(refusal)
        }

        fn list_traces(
            after_ns: i64,
            before_ns: i64,
            limit: Option<u32>,
        ) -> Result<TracePage, TracedError> {
            call(|c, now| c.list_traces(now, after_ns, before_ns, limit))
                .map(|(traces, total)| TracePage {
                    traces: traces
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
                    total,
                })
                .map_err(refusal)
        }

        fn get_trace(trace_id: String) -> Result<Vec<Span>, TracedError> {
            call(|c, now| c.get_trace(now, &trace_id))
                .map(|spans| {
                    spans
                        .into_iter()
                        .map(|s| Span {
                            trace_id: s.trace_id,
                            span_id: s.span_id,
                            parent_span_id: s.parent_span_id,
                            service: s.service,
                            operation: s.operation,
                            start_ns: s.start_ns,
                            end_ns: s.end_ns,
                            status: if s.error {
                                SpanStatus::Error
                            } else {
                                SpanStatus::Ok
                            },
                            tags: s
                                .tags
                                .into_iter()
                                .map(|(key, value)| Tag { key, value })
                                .collect(),
                        })
                        .collect()
                })
                .map_err(refusal)
        }
    }

    export!(Naive);
}
