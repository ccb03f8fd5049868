//! `linearizable`: a concurrent job-queue run checked against a model of
//! the WIT's rules for one job ([`crate::linearize`]): some order of the
//! calls, each taking effect between its send and its answer, in which
//! every answer is one a queue following the rules could give.
//!
//! The model is the contract's, relaxed wherever the contract depends on
//! more than one job or on exact instants, so that it never fails a
//! correct queue: each job is its own partition (a lease that handed out
//! nothing, and the dead-letter listing, name no job and are left out);
//! a waiting job may be leased at any time (its delay, backoff and
//! priority are the sequential checks' business); a retryable failure or a
//! lease that ran out leaves the job waiting or dead (its attempts are not
//! counted). What it pins: a job is leased only while no live lease holds
//! it, only the live lease's token is taken, a completed job stays
//! succeeded, a status shows the job's state at some instant of its call.

use std::collections::BTreeMap;

use super::model::{Answer, Op, QueueError, Report, State};
use super::races::Call;
use crate::check::CheckResult;
use crate::linearize::{self, Model, Verdict};

pub const LINEARIZABLE: &str = "linearizable";

/// Search steps before the check gives up (and is skipped, saying so).
const BUDGET: u64 = 5_000_000;

/// One job's state, as the model knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Job {
    /// Never enqueued (the queue answers `not-found`).
    Absent,
    /// Queued or failed-retrying: it may be leased.
    Waiting,
    Leased {
        token: String,
        expires_ms: u64,
    },
    Succeeded,
    Dead,
}

/// What one call did to one job, with its answer.
#[derive(Clone, Debug)]
enum Effect {
    /// An enqueue answered with this job; `created`: it was this enqueue's
    /// own (not a dedup key naming an earlier job).
    Enqueued {
        created: bool,
    },
    Leased {
        token: String,
        expires_ms: u64,
    },
    Heartbeat {
        token: String,
        result: Result<u64, QueueError>,
    },
    Reported {
        token: String,
        report: Report,
        results: Vec<Result<(), QueueError>>,
    },
    Status(Result<State, QueueError>),
    Requeued(Result<(), QueueError>),
}

/// A call's effect on its job, with the clock readings it may have taken
/// effect between.
#[derive(Clone, Debug)]
struct Input {
    job: u64,
    from_ms: u64,
    to_ms: u64,
    effect: Effect,
}

struct Rules;

impl Rules {
    /// The states `job` may be in during a call between `from` and `to`:
    /// a lease whose expiry falls in the window may have run out or not.
    fn effective(job: &Job, from: u64, to: u64) -> Vec<Job> {
        match job {
            Job::Leased { expires_ms, .. } if *expires_ms <= from => vec![Job::Waiting, Job::Dead],
            Job::Leased { expires_ms, .. } if *expires_ms <= to => {
                vec![job.clone(), Job::Waiting, Job::Dead]
            }
            _ => vec![job.clone()],
        }
    }

    /// After a report with `token` answered `result` from `job`.
    fn reported(
        job: &Job,
        token: &str,
        report: Report,
        result: &Result<(), QueueError>,
    ) -> Vec<Job> {
        let live = matches!(job, Job::Leased { token: t, .. } if t == token);
        match result {
            Ok(()) if live => match report {
                Report::Complete => vec![Job::Succeeded],
                Report::FailRetryable => vec![Job::Waiting, Job::Dead],
                Report::FailPermanent => vec![Job::Dead],
            },
            Ok(()) => vec![],
            Err(error) => Self::refused(job, live, error),
        }
    }

    /// After a report or heartbeat (with the job's live token or not) was
    /// refused with `error`: the job as it was, if the refusal fits it.
    fn refused(job: &Job, live: bool, error: &QueueError) -> Vec<Job> {
        let fits = match error {
            QueueError::StaleLease => !live && *job != Job::Absent,
            QueueError::NotFound => *job == Job::Absent,
            QueueError::Invalid(_) => true,
            QueueError::NotDead => false,
        };
        if fits { vec![job.clone()] } else { vec![] }
    }

    fn apply(job: &Job, effect: &Effect) -> Vec<Job> {
        match effect {
            Effect::Enqueued { created: true } if *job == Job::Absent => vec![Job::Waiting],
            // The same label enqueued again (a new job under it, as far as
            // the model can tell): any state goes on.
            Effect::Enqueued { created: true } => vec![job.clone()],
            Effect::Enqueued { created: false } if *job != Job::Absent => vec![job.clone()],
            Effect::Enqueued { .. } => vec![],
            Effect::Leased { token, expires_ms } if *job == Job::Waiting => vec![Job::Leased {
                token: token.clone(),
                expires_ms: *expires_ms,
            }],
            Effect::Leased { .. } => vec![],
            Effect::Heartbeat { token, result } => {
                let live = matches!(job, Job::Leased { token: t, .. } if t == token);
                match result {
                    Ok(until) if live => vec![Job::Leased {
                        token: token.clone(),
                        expires_ms: *until,
                    }],
                    Ok(_) => vec![],
                    Err(error) => Self::refused(job, live, error),
                }
            }
            Effect::Reported {
                token,
                report,
                results,
            } => {
                let mut states = vec![job.clone()];
                for result in results {
                    states = states
                        .iter()
                        .flat_map(|s| Self::reported(s, token, *report, result))
                        .collect();
                }
                states
            }
            Effect::Status(result) => {
                let holds = match (result, job) {
                    (Err(QueueError::NotFound), Job::Absent) => true,
                    (Ok(State::Queued(_) | State::FailedRetrying(_)), Job::Waiting) => true,
                    (Ok(State::Leased { expires_ms, .. }), Job::Leased { expires_ms: e, .. }) => {
                        expires_ms == e
                    }
                    (Ok(State::Succeeded), Job::Succeeded) => true,
                    (Ok(State::Dead(_)), Job::Dead) => true,
                    _ => false,
                };
                if holds { vec![job.clone()] } else { vec![] }
            }
            Effect::Requeued(result) => match (result, job) {
                (Ok(()), Job::Dead) => vec![Job::Waiting],
                (Err(QueueError::NotDead), Job::Waiting | Job::Leased { .. } | Job::Succeeded) => {
                    vec![job.clone()]
                }
                (Err(QueueError::NotFound), Job::Absent) => vec![job.clone()],
                _ => vec![],
            },
        }
    }
}

impl Model for Rules {
    type State = Job;
    type Input = Input;
    type Output = ();

    fn init(&self) -> Job {
        Job::Absent
    }

    fn step(&self, state: &Job, input: &Input, _: Option<&()>) -> Vec<Job> {
        let mut next: Vec<Job> = Vec::new();
        for job in Self::effective(state, input.from_ms, input.to_ms) {
            for after in Self::apply(&job, &input.effect) {
                if !next.contains(&after) {
                    next.push(after);
                }
            }
        }
        next
    }

    fn partition(&self, input: &Input) -> u64 {
        input.job
    }
}

/// The job a call concerns and what it did to it; `None` for a call that
/// names no one job (a lease that found nothing, the dead letters) or made
/// no call.
fn effect(call: &Call) -> Option<(String, Effect)> {
    Some(match (call.op, call.answer) {
        (Op::Enqueue(spec), Answer::Enqueued(Ok(job))) => (
            job.clone(),
            Effect::Enqueued {
                created: *job == spec.label,
            },
        ),
        (_, Answer::Leased(Ok(Some(lease)))) => (
            lease.job.clone(),
            Effect::Leased {
                token: lease.token.clone(),
                expires_ms: lease.expires_ms,
            },
        ),
        (_, Answer::Extended { job, token, result }) => (
            job.clone(),
            Effect::Heartbeat {
                token: token.clone(),
                result: result.clone(),
            },
        ),
        (
            _,
            Answer::Reported {
                job,
                token,
                report,
                again,
                result,
            },
        ) => (
            job.clone(),
            Effect::Reported {
                token: token.clone(),
                report: *report,
                results: std::iter::once(result.clone())
                    .chain(again.clone())
                    .collect(),
            },
        ),
        (Op::Status { job }, Answer::Status(result)) => (
            job.clone(),
            Effect::Status(
                result
                    .as_ref()
                    .map(|s| s.state.clone())
                    .map_err(Clone::clone),
            ),
        ),
        (Op::Requeue { job }, Answer::Requeued(result)) => {
            (job.clone(), Effect::Requeued(result.clone()))
        }
        _ => return None,
    })
}

/// The check on a concurrent run's calls (those that returned, in the order
/// answered).
pub fn linearizable(calls: &[Call], aborted: bool) -> CheckResult {
    if aborted {
        return CheckResult::skip(
            LINEARIZABLE,
            "the run aborted: the calls cut short are not judged",
        );
    }
    let mut jobs: BTreeMap<String, u64> = BTreeMap::new();
    let mut ops = Vec::new();
    let mut judged: Vec<&Call> = Vec::new();
    for call in calls {
        let Some((job, effect)) = effect(call) else {
            continue;
        };
        let next = jobs.len() as u64;
        let job = *jobs.entry(job).or_insert(next);
        ops.push(linearize::Op {
            id: ops.len(),
            invoked: call.span.invoked,
            completed: call.span.completed,
            input: Input {
                job,
                from_ms: call.time_ms,
                to_ms: call.span.completed_ms,
                effect,
            },
            output: Some(()),
        });
        judged.push(call);
    }
    match linearize::check(&Rules, &ops, BUDGET) {
        Verdict::Linearizable { .. } => CheckResult::pass(
            LINEARIZABLE,
            format!(
                "{} calls on {} jobs: some order of them, each taking effect between its send and its answer, explains every answer",
                ops.len(),
                jobs.len()
            ),
        ),
        Verdict::Unknown { explored, .. } => CheckResult::skip(
            LINEARIZABLE,
            format!("the search for an order gave up after {explored} steps"),
        ),
        Verdict::Violation(violation) => {
            let cut = linearize::shrink(&Rules, &ops, &violation, BUDGET);
            let job = jobs
                .iter()
                .find(|&(_, &n)| n == violation.partition)
                .map_or("?", |(label, _)| label.as_str());
            let shown: Vec<String> = cut
                .iter()
                .map(|&id| {
                    let c = judged[id];
                    format!(
                        "call {} {} -> {} (replica {}, sent at event {}, answered at {})",
                        c.call,
                        c.op,
                        crate::diff::clip(&c.answer.to_string(), 120),
                        c.span.replica,
                        c.span.invoked,
                        c.span.completed
                    )
                })
                .collect();
            let stuck = violation
                .stuck
                .first()
                .map(|&id| judged[id].call)
                .unwrap_or(0);
            CheckResult::fail(
                LINEARIZABLE,
                Some(stuck),
                format!(
                    "no order of these calls on job {job}, each taking effect between its send and its answer, explains their answers: {}",
                    shown.join("; ")
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: usize, span: (u64, u64), ms: (u64, u64), effect: Effect) -> linearize::Op<Input, ()> {
        linearize::Op {
            id,
            invoked: span.0,
            completed: span.1,
            input: Input {
                job: 0,
                from_ms: ms.0,
                to_ms: ms.1,
                effect,
            },
            output: Some(()),
        }
    }

    fn lease(token: &str, expires_ms: u64) -> Effect {
        Effect::Leased {
            token: token.into(),
            expires_ms,
        }
    }

    fn complete(token: &str, result: Result<(), QueueError>) -> Effect {
        Effect::Reported {
            token: token.into(),
            report: Report::Complete,
            results: vec![result],
        }
    }

    const ENQUEUED: Effect = Effect::Enqueued { created: true };

    #[test]
    fn two_overlapping_leases_of_one_job_are_no_order_but_one_after_expiry_is() {
        let racing = [
            op(0, (1, 2), (0, 0), ENQUEUED),
            op(1, (3, 6), (10, 10), lease("t1", 100)),
            op(2, (4, 5), (10, 10), lease("t2", 100)),
        ];
        let Verdict::Violation(v) = linearize::check(&Rules, &racing, BUDGET) else {
            panic!("two live leases passed");
        };
        assert_eq!(linearize::shrink(&Rules, &racing, &v, BUDGET), [0, 1, 2]);
        // The second lease comes after the first ran out: fine.
        let expired = [
            op(0, (1, 2), (0, 0), ENQUEUED),
            op(1, (3, 4), (10, 10), lease("t1", 100)),
            op(2, (5, 6), (100, 100), lease("t2", 200)),
        ];
        assert!(linearize::check(&Rules, &expired, BUDGET).is_linearizable());
    }

    #[test]
    fn a_completion_racing_a_stale_complete_is_explained_by_one_order() {
        // w1's complete (ok) and a duplicate with the same token (stale)
        // overlap: the ok one went first.
        let ops = [
            op(0, (1, 2), (0, 0), ENQUEUED),
            op(1, (3, 4), (0, 0), lease("t1", 100)),
            op(
                2,
                (5, 8),
                (1, 1),
                complete("t1", Err(QueueError::StaleLease)),
            ),
            op(3, (6, 7), (1, 1), complete("t1", Ok(()))),
        ];
        assert!(linearize::check(&Rules, &ops, BUDGET).is_linearizable());
        // A completion with a token that never held the job is no order.
        let wrong = [
            op(0, (1, 2), (0, 0), ENQUEUED),
            op(1, (3, 4), (0, 0), lease("t1", 100)),
            op(2, (5, 6), (1, 1), complete("t9", Ok(()))),
        ];
        assert!(!linearize::check(&Rules, &wrong, BUDGET).is_linearizable());
    }

    #[test]
    fn a_lease_whose_expiry_falls_within_a_call_may_have_run_out_or_not() {
        let leased = |to_ms| {
            [
                op(0, (1, 2), (0, 0), ENQUEUED),
                op(1, (3, 4), (0, 0), lease("t1", 50)),
                op(2, (5, 6), (40, to_ms), Effect::Status(Ok(State::Queued(0)))),
            ]
        };
        assert!(linearize::check(&Rules, &leased(60), BUDGET).is_linearizable());
        assert!(!linearize::check(&Rules, &leased(45), BUDGET).is_linearizable());
    }
}
