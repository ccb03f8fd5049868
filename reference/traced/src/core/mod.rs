//! The reference trace collector, independent of the component model: plain
//! Rust whose calls take the clock's reading (`now-ms`) as an argument, so
//! it runs natively in tests, generic over the [`Rules`] the example plugins
//! bend. No randomness, no real time, no durable store (this track has no
//! crashes): everything is guest memory.
//!
//! The specification is the track's brief and `wit/traced/traced.wit`;
//! where they are silent, this module decides, and every answer of a
//! learner's collector is diffed against this one.
//!
//! # The window
//!
//! `now` is `now-ms * 1,000,000` ns (saturating) and W is 30 minutes; the
//! window is `[now - W, now]` on span starts, both ends inclusive. Every
//! call first evicts what left the window at its `now`: a trace whose root
//! starts before `now - W`, whole (its children too, whatever their
//! starts); a span of a trace whose root has not arrived, alone, when its
//! own start is before `now - W`. Eviction is for good: a clock stepped back
//! later does not bring anything back. Roots that start after `now` are
//! stored, and neither listed nor gettable until `now` reaches them.
//!
//! # Operations
//!
//! **ingest** checks the batch's size (`empty-batch`, `batch-too-large(n)`
//! above 500), then each span in order, reporting the first invalid span's
//! first problem in `span-problem`'s order; a batch with an invalid span
//! stores nothing. Then, span by span in batch order: a span that starts
//! before `now - W` is dropped; one whose span id its trace holds
//! (case-insensitively) is ignored; any other is stored, and the first
//! parentless span stored for a trace is its root (a later one is an
//! ordinary span). Ids are compared case-insensitively (each hex digit in
//! either case, mixed within an id too) and returned exactly as given, each
//! span's own: a trace's spans may spell its trace id in different cases,
//! and a parent id need not spell its parent's span id alike.
//!
//! **list-traces** checks the limit (absent: 20; 0 or above 1000:
//! `invalid-limit(limit)`), then the range (`after` or `before` below 0, or
//! `after >= before`: `invalid-range`). It lists the rooted traces whose
//! root starts in `[after, before)` and not after `now`, newest root first,
//! ties by trace id (lowercase) ascending; `total` counts them all, the page
//! holds the first `limit`. A summary's trace id is spelled as the root gave
//! it (not as the trace's first span to arrive did, nor in lowercase); its
//! span count is every stored span of the trace; its duration is
//! `(root end - root start)` (exact, in i128) `as f64 / 1e6`; its status is
//! error if any stored span's is.
//!
//! **get-trace** answers `invalid-trace-id` for a non-UUID, `not-found` for
//! a trace not stored, without its root, or whose root starts after `now`,
//! and otherwise every stored span of the trace by start, ties by span id
//! (lowercase) ascending.
//!
//! # Cost
//!
//! Spans are kept per trace in a `Vec` sorted by span id; the rooted traces
//! are indexed by (root start descending, trace id), which is both the
//! listing order and, from its end, the eviction order; the spans of rootless
//! traces by start. Ingest is O(log n) a span (plus the trace's size), a
//! listing O(log n + matched), eviction O(log n) an evicted trace or span.
//!
//! # Memory
//!
//! Measured on wasm32 (the core in a component, traces of a root and 1–4
//! children, service and operation of 8 and 15 characters): about 170 bytes
//! allocated per stored span without tags, 230 with two short tags, or
//! 205 and 315 bytes of linear memory with the allocator's overhead. Evicted
//! spans are freed at once: after a quiet window nothing stays allocated,
//! and a steady load reuses the same memory window after window.

mod collector;
mod types;
mod uuid;
mod validate;

#[cfg(test)]
mod tests;

pub use collector::{Collector, DEFAULT_LIMIT, MAX_LIMIT, WINDOW_NS, cutoff, now_ns};
pub use types::{
    Call, Reference, Rules, Span, SpanProblem, SpanStatus, Tag, TracePage, TraceSummary,
    TracedError,
};
pub use uuid::{Case, Key, format as format_uuid, parse as parse_uuid};
pub use validate::{
    Ids, MAX_BATCH, MAX_NAME_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, check_batch, check_span,
};
