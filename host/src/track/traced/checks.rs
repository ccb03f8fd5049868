//! The traced track's invariants, computed by the host from its own model
//! of the store (the WIT's rules applied to the batches the store accepted),
//! never from the reference.
//!
//! - `completes`: the run finished without a trap, fuel or memory abort
//!   (a store whose memory grows with traffic hits the cap here).
//! - `expectations`: every scripted expectation holds.
//! - `validation-exact`: every call is refused exactly when, and with the
//!   error that, the WIT's validation rules say (a range with an end below
//!   0 included; ids of any case are valid).
//! - `window-respected`: nothing outside the window (or the asked range) is
//!   returned, with or without new traffic.
//! - `roots-only`: no trace is listed or returned before its root arrived.
//! - `every-trace-listed`: a listing holds every trace that matches, in
//!   order, up to the limit; a trace inside the window is found.
//! - `exact-summaries`: span counts (early children included, duplicates
//!   in any case not), durations, error flags, roots and totals (before the
//!   limit) are exact, a summary's trace id is spelled as its root gave it,
//!   and a trace's spans are all there, in order, each id as given.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use super::Run;
use super::model::{Op, Output, Span, Summary, WINDOW_NS};
use super::scenario::Scenario;
use crate::check::CheckResult;
use crate::sim::Action;

pub const COMPLETES: &str = crate::check::COMPLETES;
pub const EXPECTATIONS: &str = "expectations";
pub const VALIDATION_EXACT: &str = "validation-exact";
pub const WINDOW_RESPECTED: &str = "window-respected";
pub const ROOTS_ONLY: &str = "roots-only";
pub const EVERY_TRACE_LISTED: &str = "every-trace-listed";
pub const EXACT_SUMMARIES: &str = "exact-summaries";

const NS_PER_MS: i64 = 1_000_000;
const MAX_BATCH: usize = 500;
const MAX_NAME: usize = 256;
const MAX_TAGS: usize = 50;
const MAX_TAG_VALUE: usize = 1024;
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 1000;

/// Every check, in report order.
pub fn all(scenario: &Scenario, run: &Run) -> Vec<CheckResult> {
    let plan = &scenario.plan;
    let mut model = Model::default();
    let mut expectations = (0, None);
    for (entry, call, output) in run.history.returned() {
        let Some(Action::Call(op)) = plan.actions.get(entry.step) else {
            continue;
        };
        let now_ns = (entry.time_ms as i64).saturating_mul(NS_PER_MS);
        model.apply(call, op, output, now_ns);
        if let Some((expect, line)) = scenario.expectations.get(&call) {
            expectations.0 += 1;
            if expectations.1.is_none()
                && let Some(why) = expect.mismatch(output, &scenario.labels)
            {
                expectations.1 = Some(CheckResult::fail(
                    EXPECTATIONS,
                    Some(call),
                    format!("{}:{line}: call {call} {op}: {why}", scenario.file),
                ));
            }
        }
    }
    let mut results = vec![
        crate::check::completes(plan, &run.history, "calls"),
        expectations.1.unwrap_or_else(|| {
            CheckResult::pass(
                EXPECTATIONS,
                format!("{} expectations held", expectations.0),
            )
        }),
    ];
    for (name, summary) in [
        (VALIDATION_EXACT, format!("{} calls validated", model.calls)),
        (WINDOW_RESPECTED, format!("{} queries", model.queries)),
        (ROOTS_ONLY, format!("{} queries", model.queries)),
        (
            EVERY_TRACE_LISTED,
            format!("{} traces listed", model.listed),
        ),
        (EXACT_SUMMARIES, format!("{} summaries", model.listed)),
    ] {
        results.push(match model.violations.get(name) {
            Some((call, message)) => CheckResult::fail(name, Some(*call), message.clone()),
            None => CheckResult::pass(name, summary),
        });
    }
    results
}

/// The canonical 8-4-4-4-12 hexadecimal form, either case.
pub fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The error the WIT says a batch gets, if any.
pub fn validate_batch(spans: &[Span]) -> Result<(), String> {
    if spans.is_empty() {
        return Err("empty-batch".into());
    }
    if spans.len() > MAX_BATCH {
        return Err(format!("batch-too-large({})", spans.len()));
    }
    for (index, s) in spans.iter().enumerate() {
        let problem = if !is_uuid(&s.trace_id) {
            Some("trace-id")
        } else if !is_uuid(&s.span_id) {
            Some("span-id")
        } else if s.parent_span_id.as_deref().is_some_and(|p| !is_uuid(p)) {
            Some("parent-span-id")
        } else if s.service.chars().count() > MAX_NAME {
            Some("service-too-long")
        } else if s.operation.chars().count() > MAX_NAME {
            Some("operation-too-long")
        } else if s.end_ns < s.start_ns {
            Some("end-before-start")
        } else if s.tags.len() > MAX_TAGS {
            Some("too-many-tags")
        } else if s
            .tags
            .iter()
            .any(|(_, v)| v.chars().count() > MAX_TAG_VALUE)
        {
            Some("tag-value-too-long")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(format!("invalid-span({index}, {problem})"));
        }
    }
    Ok(())
}

fn validate_list(after_ns: i64, before_ns: i64, limit: Option<u32>) -> Result<u32, String> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(format!("invalid-limit({limit})"));
    }
    // Nanoseconds since the epoch: neither end is below 0.
    if after_ns < 0 || before_ns < 0 || after_ns >= before_ns {
        return Err("invalid-range".into());
    }
    Ok(limit)
}

#[derive(Default)]
struct Trace {
    /// The root's span id (lowercase), once it arrived.
    root: Option<String>,
    /// Every stored span by lowercase span id.
    spans: BTreeMap<String, Span>,
}

/// The store as the WIT says it must be, given the batches it accepted.
#[derive(Default)]
struct Model {
    /// By lowercase trace id.
    traces: BTreeMap<String, Trace>,
    /// Rooted traces in listing order: newest root start first, ties by
    /// lowercase id.
    rooted: BTreeSet<(Reverse<i64>, String)>,
    /// Spans of rootless traces by (start, trace, span), lowercase.
    rootless: BTreeSet<(i64, String, String)>,
    /// Traces evicted with their root, and when the root left the window.
    evicted: BTreeMap<String, i64>,
    /// The first violation of each check: (call, message).
    violations: BTreeMap<&'static str, (usize, String)>,
    calls: usize,
    queries: usize,
    listed: usize,
}

impl Model {
    fn violation(&mut self, check: &'static str, call: usize, op: &Op, message: String) {
        self.violations
            .entry(check)
            .or_insert_with(|| (call, format!("call {call} {op}: {message}")));
    }

    /// Evicts what left the window [now - W, now].
    fn advance(&mut self, now_ns: i64) {
        let lower = now_ns.saturating_sub(WINDOW_NS);
        while let Some((Reverse(start), id)) = self.rooted.last().cloned()
            && start < lower
        {
            self.rooted.pop_last();
            self.traces.remove(&id);
            self.evicted.insert(id, start);
        }
        while let Some((start, trace, span)) = self.rootless.first().cloned()
            && start < lower
        {
            self.rootless.pop_first();
            if let Some(t) = self.traces.get_mut(&trace) {
                t.spans.remove(&span);
                if t.spans.is_empty() {
                    self.traces.remove(&trace);
                }
            }
        }
    }

    fn ingest(&mut self, spans: &[Span], now_ns: i64) {
        let lower = now_ns.saturating_sub(WINDOW_NS);
        for span in spans {
            if span.start_ns < lower {
                continue;
            }
            let id = span.trace_id.to_ascii_lowercase();
            let span_id = span.span_id.to_ascii_lowercase();
            self.evicted.remove(&id);
            let trace = self.traces.entry(id.clone()).or_default();
            if trace.spans.contains_key(&span_id) {
                continue;
            }
            trace.spans.insert(span_id.clone(), span.clone());
            if trace.root.is_none() && span.parent_span_id.is_none() {
                trace.root = Some(span_id);
                // From now on the trace lives and dies with its root.
                for (other_id, other) in &trace.spans {
                    self.rootless
                        .remove(&(other.start_ns, id.clone(), other_id.clone()));
                }
                self.rooted.insert((Reverse(span.start_ns), id));
            } else if trace.root.is_none() {
                self.rootless.insert((span.start_ns, id, span_id));
            }
        }
    }

    /// The summary the WIT says a rooted trace has.
    fn summary(&self, id: &str) -> Option<Summary> {
        let trace = self.traces.get(id)?;
        let root = &trace.spans[trace.root.as_ref()?];
        Some(Summary {
            trace_id: root.trace_id.to_string(),
            root_service: root.service.to_string(),
            root_operation: root.operation.to_string(),
            start_ns: root.start_ns,
            span_count: trace.spans.len() as u32,
            duration_ms: (root.end_ns - root.start_ns) as f64 / 1e6,
            error: trace.spans.values().any(|s| s.error),
        })
    }

    /// Why a trace the store returned should not have been, if it should
    /// not: (check, why).
    fn unexpected(&self, id: &str, now_ns: i64) -> Option<(&'static str, String)> {
        if let Some(root_start) = self.evicted.get(id) {
            return Some((
                WINDOW_RESPECTED,
                format!(
                    "{id} was returned, but its root (start {root_start} ns) left the window at {} ns",
                    root_start + WINDOW_NS + 1
                ),
            ));
        }
        let Some(trace) = self.traces.get(id) else {
            return Some((
                EXACT_SUMMARIES,
                format!("{id} was returned, but no span of it is stored"),
            ));
        };
        let Some(root) = &trace.root else {
            return Some((
                ROOTS_ONLY,
                format!(
                    "{id} was returned, but its root has not arrived (only {} of its spans have)",
                    trace.spans.len()
                ),
            ));
        };
        let start = trace.spans[root].start_ns;
        (start > now_ns).then(|| {
            (
                WINDOW_RESPECTED,
                format!(
                    "{id} was returned, but its root starts at {start} ns, after now ({now_ns} ns)"
                ),
            )
        })
    }

    fn apply(&mut self, call: usize, op: &Op, output: &Output, now_ns: i64) {
        self.calls += 1;
        self.advance(now_ns);
        match (op, output) {
            (Op::Ingest(spans), Output::Ingested(got)) => {
                let want = validate_batch(spans);
                if &want != got {
                    self.violation(
                        VALIDATION_EXACT,
                        call,
                        op,
                        format!("{}, but the batch is {}", describe(got), describe(&want)),
                    );
                }
                if got.is_ok() {
                    self.ingest(spans, now_ns);
                }
            }
            (
                Op::ListTraces {
                    after_ns,
                    before_ns,
                    limit,
                },
                Output::Page(got),
            ) => {
                self.queries += 1;
                let want = validate_list(*after_ns, *before_ns, *limit);
                match (&want, got) {
                    (Ok(limit), Ok((traces, total))) => self.listing(
                        call, op, *after_ns, *before_ns, *limit, traces, *total, now_ns,
                    ),
                    (Err(w), Err(g)) if w == g => {}
                    _ => self.violation(
                        VALIDATION_EXACT,
                        call,
                        op,
                        format!(
                            "{}, but the query is {}",
                            describe(&got.as_ref().map(|_| ())),
                            describe(&want.map(|_| ()))
                        ),
                    ),
                }
            }
            (Op::GetTrace { trace_id }, Output::Trace(got)) => {
                self.queries += 1;
                self.get(call, op, trace_id, got, now_ns);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn listing(
        &mut self,
        call: usize,
        op: &Op,
        after_ns: i64,
        before_ns: i64,
        limit: u32,
        traces: &[Summary],
        total: u32,
        now_ns: i64,
    ) {
        let lower = after_ns.max(now_ns.saturating_sub(WINDOW_NS));
        let upper = before_ns.min(now_ns.saturating_add(1));
        // Roots in [lower, upper), newest first, ties by id: a range of the
        // index, in its own order.
        let range = || {
            let (first, last) = if lower < upper {
                (upper - 1, lower)
            } else {
                (i64::MIN, i64::MAX)
            };
            self.rooted.range((
                Bound::Included((Reverse(first), String::new())),
                Bound::Excluded((Reverse(last.saturating_sub(1)), String::new())),
            ))
        };
        let count = if lower < upper {
            range().count() as u32
        } else {
            0
        };
        let expected: Vec<String> = if lower < upper {
            range()
                .take(limit as usize)
                .map(|(_, id)| id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let matches = |model: &Model, id: &str| {
            model
                .summary(id)
                .is_some_and(|s| lower <= s.start_ns && s.start_ns < upper)
        };
        self.listed += traces.len();
        let mut extras = false;
        for summary in traces {
            let id = summary.trace_id.to_ascii_lowercase();
            if let Some((check, why)) = self.unexpected(&id, now_ns) {
                self.violation(check, call, op, why);
                extras = true;
            } else if !matches(self, &id) {
                self.violation(
                    WINDOW_RESPECTED,
                    call,
                    op,
                    format!(
                        "{id} was listed, but its root starts at {} ns, outside [{after_ns}, {before_ns})",
                        summary.start_ns
                    ),
                );
                extras = true;
            } else if let Some(want) = self.summary(&id)
                && &want != summary
            {
                self.violation(
                    EXACT_SUMMARIES,
                    call,
                    op,
                    format!("{id}: listed as {summary:?}, but it is {want:?}"),
                );
            }
        }
        if extras {
            return;
        }
        let got: Vec<String> = traces
            .iter()
            .map(|s| s.trace_id.to_ascii_lowercase())
            .collect();
        if got != expected {
            let why = match expected.iter().find(|id| !got.contains(id)) {
                Some(missing) => format!(
                    "{missing} matches (root start {} ns) and belongs in the first {limit}, but is missing",
                    self.summary(missing).map_or(0, |s| s.start_ns)
                ),
                None => format!(
                    "the traces are out of order (newest root first, ties by id): they {}",
                    crate::diff::list_mismatch(&expected, &got).unwrap_or_default()
                ),
            };
            self.violation(EVERY_TRACE_LISTED, call, op, why);
        }
        if total != count {
            self.violation(
                EXACT_SUMMARIES,
                call,
                op,
                format!("total is {total}, but {count} traces match (counted before the limit of {limit})"),
            );
        }
    }

    fn get(
        &mut self,
        call: usize,
        op: &Op,
        trace_id: &str,
        got: &Result<Vec<Span>, String>,
        now_ns: i64,
    ) {
        if !is_uuid(trace_id) {
            if got.as_ref().err().map(String::as_str) != Some("invalid-trace-id") {
                self.violation(
                    VALIDATION_EXACT,
                    call,
                    op,
                    format!(
                        "{}, but the id is not a UUID: invalid-trace-id",
                        describe(&got.as_ref().map(|_| ()))
                    ),
                );
            }
            return;
        }
        let id = trace_id.to_ascii_lowercase();
        let want: Option<Vec<&Span>> =
            self.summary(&id).filter(|s| s.start_ns <= now_ns).map(|_| {
                let mut spans: Vec<&Span> = self.traces[&id].spans.values().collect();
                spans.sort_by(|a, b| {
                    a.start_ns.cmp(&b.start_ns).then(
                        a.span_id
                            .to_ascii_lowercase()
                            .cmp(&b.span_id.to_ascii_lowercase()),
                    )
                });
                spans
            });
        match (want, got) {
            (None, Err(e)) if e == "not-found" => {}
            (None, Ok(_)) => {
                let (check, why) = self.unexpected(&id, now_ns).unwrap_or((
                    EXACT_SUMMARIES,
                    format!("{id} was returned, but it is not stored"),
                ));
                self.violation(check, call, op, why);
            }
            (Some(_), Err(e)) if e == "not-found" => self.violation(
                EVERY_TRACE_LISTED,
                call,
                op,
                format!("{id} is inside the window with its root, yet not found"),
            ),
            (Some(want), Ok(spans)) => {
                if want.len() != spans.len() || want.iter().zip(spans).any(|(w, g)| *w != g) {
                    self.violation(
                        EXACT_SUMMARIES,
                        call,
                        op,
                        format!(
                            "{} spans returned, but the trace has {} (by start, then span id): {:?}",
                            spans.len(),
                            want.len(),
                            want.iter().map(|s| s.span_id.as_str()).collect::<Vec<_>>()
                        ),
                    );
                }
            }
            (_, Err(e)) => self.violation(
                VALIDATION_EXACT,
                call,
                op,
                format!("refused with {e}, but the id is a valid UUID"),
            ),
        }
    }
}

fn describe<E: std::fmt::Display>(r: &Result<(), E>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => format!("refused with {e}"),
    }
}
