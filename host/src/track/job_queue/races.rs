//! The checks of a concurrent job-queue scenario: replicas over one store,
//! workers leasing at once. Call-by-call diffs do not apply (two correct
//! queues park at different imports, so the same seed interleaves them
//! differently); these judge the run from its history of overlapping calls
//! ([`Span`]s), on what the WIT pins whatever the interleaving.
//!
//! - `completes`: no trap, fuel or memory abort.
//! - `lease-exclusive`: no job is leased to two workers at once: of two
//!   leases of one job, one ended (its worker's report was sent, or it ran
//!   out) before the other could have taken effect.
//! - `no-job-lost`: every job enqueued is known to the queue at the end.
//! - `completion-kept`: every job whose completion the queue accepted is
//!   succeeded at the end.
//! - `linearizable`: some order of the calls, each taking effect between
//!   its send and its answer, explains every answer (see [`super::linear`]).

use std::collections::BTreeMap;

use super::Run;
use super::model::{Answer, Op, Report, State};
use super::scenario::{Scenario, state_name};
use crate::check::CheckResult;
use crate::concurrent::Span;
use crate::sim::{Action, Event, Outcome};

pub const LEASE_EXCLUSIVE: &str = "lease-exclusive";
pub const COMPLETION_KEPT: &str = "completion-kept";

/// A call of the run that returned, with how it overlapped the others.
pub struct Call<'a> {
    pub call: usize,
    pub op: &'a Op,
    pub answer: &'a Answer,
    pub span: &'a Span,
    pub time_ms: u64,
}

/// The calls that returned, in the order they were answered.
pub fn calls<'a>(scenario: &'a Scenario, run: &'a Run) -> Vec<Call<'a>> {
    run.history
        .entries
        .iter()
        .filter_map(|e| match (&e.event, scenario.plan.actions.get(e.step)) {
            (
                Event::Call {
                    call,
                    outcome: Outcome::Returned(output),
                    span: Some(span),
                    ..
                },
                Some(Action::Call(op)),
            ) => Some(Call {
                call: *call,
                op,
                answer: &output.answer,
                span,
                time_ms: e.time_ms,
            }),
            _ => None,
        })
        .collect()
}

/// Every check of a concurrent scenario, in report order.
pub fn all(scenario: &Scenario, run: &Run) -> Vec<CheckResult> {
    let calls = calls(scenario, run);
    vec![
        crate::check::completes(&scenario.plan, &run.history, "calls"),
        lease_exclusive(&calls),
        no_job_lost(&calls, run),
        completion_kept(&calls, run),
        super::linear::linearizable(&calls, run.history.abort().is_some()),
    ]
}

/// One lease the queue handed out, and what could have ended it.
struct Held<'a> {
    call: &'a Call<'a>,
    worker: &'a str,
    token: &'a str,
    expires_ms: u64,
    /// When the worker's reports on it were sent (positions).
    reports: Vec<u64>,
}

impl Held<'_> {
    /// Whether this lease can have taken effect, and ended, before `other`
    /// took effect: it began before `other` was answered, and its worker
    /// sent a report before then or it ran out by then.
    fn may_precede(&self, other: &Held) -> bool {
        let (mine, theirs) = (self.call.span, other.call.span);
        mine.invoked < theirs.completed
            && (self.reports.iter().any(|&r| r < theirs.completed)
                || self.expires_ms <= theirs.completed_ms)
    }

    fn describe(&self) -> String {
        format!(
            "call {} ({}, replica {}, parked at {})",
            self.call.call,
            self.token,
            self.call.span.replica,
            parked_at(self.call.span)
        )
    }
}

/// The imports a call parked at, for a message: "store.get, store.scan,
/// store.transact".
pub fn parked_at(span: &Span) -> String {
    if span.imports.is_empty() {
        return "no import".into();
    }
    crate::diff::clip(&span.imports.join(", "), 200)
}

fn lease_exclusive(calls: &[Call]) -> CheckResult {
    // Every lease by job, and the reports on each (by job and token).
    let mut leases: BTreeMap<&str, Vec<Held>> = BTreeMap::new();
    let mut reports: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    for c in calls {
        match c.answer {
            Answer::Leased(Ok(Some(lease))) => leases.entry(&lease.job).or_default().push(Held {
                call: c,
                worker: c.op.process(),
                token: &lease.token,
                expires_ms: lease.expires_ms,
                reports: Vec::new(),
            }),
            Answer::Reported { job, token, .. } => reports
                .entry((job, token))
                .or_default()
                .push(c.span.invoked),
            _ => {}
        }
    }
    let mut count = 0;
    for (job, held) in &mut leases {
        for h in held.iter_mut() {
            h.reports = reports.get(&(*job, h.token)).cloned().unwrap_or_default();
        }
        count += held.len();
        for (i, a) in held.iter().enumerate() {
            for b in &held[i + 1..] {
                if a.may_precede(b) || b.may_precede(a) {
                    continue;
                }
                let (first, second) = if a.call.span.completed <= b.call.span.completed {
                    (a, b)
                } else {
                    (b, a)
                };
                return CheckResult::fail(
                    LEASE_EXCLUSIVE,
                    Some(second.call.call),
                    format!(
                        "job {job} was leased to {} by {} while {}'s lease on it by {} still ran: neither lease ended (a report, or its expiry at {} ms) before the other took effect; no order of the two calls explains both",
                        second.worker,
                        second.describe(),
                        first.worker,
                        first.describe(),
                        first.expires_ms,
                    ),
                );
            }
        }
    }
    CheckResult::pass(
        LEASE_EXCLUSIVE,
        format!("{count} leases, none of a job another lease held"),
    )
}

fn no_job_lost(calls: &[Call], run: &Run) -> CheckResult {
    const NAME: &str = super::checks::NO_JOB_LOST;
    let Ok(settled) = &run.settled else {
        return CheckResult::skip(NAME, "the run aborted before its jobs could be looked up");
    };
    let mut enqueued = 0;
    for c in calls {
        if let Answer::Enqueued(Ok(job)) = c.answer {
            enqueued += 1;
            if matches!(settled.get(job), Some(None) | None) {
                return CheckResult::fail(
                    NAME,
                    Some(c.call),
                    format!(
                        "call {} {}: the queue accepted job {job}, but at the end it does not know it",
                        c.call, c.op
                    ),
                );
            }
        }
    }
    CheckResult::pass(
        NAME,
        format!("{enqueued} jobs, each known to the queue at the end"),
    )
}

fn completion_kept(calls: &[Call], run: &Run) -> CheckResult {
    let Ok(settled) = &run.settled else {
        return CheckResult::skip(
            COMPLETION_KEPT,
            "the run aborted before its jobs could be looked up",
        );
    };
    let mut kept = 0;
    for c in calls {
        let Answer::Reported {
            job,
            token,
            report: Report::Complete,
            result: Ok(()),
            ..
        } = c.answer
        else {
            continue;
        };
        kept += 1;
        let state = settled.get(job).and_then(|s| s.as_ref()).map(|s| &s.state);
        if !matches!(state, Some(State::Succeeded)) {
            let shown = state.map_or("unknown", state_name);
            return CheckResult::fail(
                COMPLETION_KEPT,
                Some(c.call),
                format!(
                    "call {} {}: the queue accepted the completion of {job} with {token}, but at the end it reports {job} {shown}",
                    c.call, c.op
                ),
            );
        }
    }
    CheckResult::pass(
        COMPLETION_KEPT,
        format!("{kept} completions accepted, each job succeeded at the end"),
    )
}
