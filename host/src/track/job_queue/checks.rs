//! The job-queue track's invariants, computed by the host from its own model
//! of the queue (the WIT's rules applied to the calls the queue accepted),
//! never from the reference.
//!
//! - `completes`: the run finished without a trap, fuel or memory abort.
//! - `expectations`: every scripted expectation holds.
//! - `no-job-lost`: every job enqueued is known to the queue at the end
//!   (succeeded, dead, or still pending).
//! - `no-run-after-completion`: a job is never leased again after a valid
//!   completion.
//! - `stale-lease-refused`: a report or heartbeat with a token that is not
//!   the job's live lease (an older lease, one that ran out, one already
//!   reported) is refused.
//! - `attempts-bounded`: a job never runs more than its max attempts, and a
//!   dead job is not leased.
//! - `backoff-respected`: a job is never leased before its instant (its
//!   delay, its run-at, its backoff) nor while another worker's lease on it
//!   runs, its status names that instant, and it is not passed over once
//!   the instant came (a lease refused while it may run; a job handed out
//!   before it by a queue that shows it took it for not yet runnable): a
//!   timing error, reported with when the job should have been runnable
//!   and when it was first leased.
//! - `priority-order`: a lease hands out the highest-priority job that may
//!   run, first enqueued first (a job passed over with no sign that the
//!   queue took it for not yet runnable).
//! - `dedup-holds`: an enqueue with a dedup key already used returns the
//!   first job, across crashes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::Run;
use super::model::{Answer, JobSpec, Op, Output, QueueError, Report, Schedule, State, Status};
use super::scenario::Scenario;
use super::scenario::state_name;
use crate::check::CheckResult;
use crate::sim::{Action, Plan};

pub const COMPLETES: &str = crate::check::COMPLETES;
pub const EXPECTATIONS: &str = "expectations";
pub const NO_JOB_LOST: &str = "no-job-lost";
pub const NO_RUN_AFTER_COMPLETION: &str = "no-run-after-completion";
pub const STALE_LEASE_REFUSED: &str = "stale-lease-refused";
pub const ATTEMPTS_BOUNDED: &str = "attempts-bounded";
pub const BACKOFF_RESPECTED: &str = "backoff-respected";
pub const PRIORITY_ORDER: &str = "priority-order";
pub const DEDUP_HOLDS: &str = "dedup-holds";

/// Every check, in report order.
pub fn all(scenario: &Scenario, run: &Run) -> Vec<CheckResult> {
    let plan = &scenario.plan;
    let calls = calls(plan, run);
    let mut model = Model::default();
    for call in &calls {
        model.apply(call);
    }
    model.finish();
    let lost = model.lost(run);
    let mut results = vec![
        crate::check::completes(plan, &run.history, "calls"),
        expectations(scenario, &calls),
    ];
    results.push(match lost.first() {
        Some((job, why)) => {
            CheckResult::fail(NO_JOB_LOST, model.last_seen.get(job).copied(), why.clone())
        }
        None => CheckResult::pass(
            NO_JOB_LOST,
            format!(
                "{} jobs, each known to the queue at the end",
                model.jobs.len()
            ),
        ),
    });
    for (name, summary) in [
        (
            NO_RUN_AFTER_COMPLETION,
            format!("{} completions", model.completions),
        ),
        (
            STALE_LEASE_REFUSED,
            format!("{} stale reports refused", model.stale_refused),
        ),
        (ATTEMPTS_BOUNDED, format!("{} leases", model.leases)),
        (BACKOFF_RESPECTED, format!("{} leases", model.leases)),
        (PRIORITY_ORDER, format!("{} leases", model.leases)),
        (
            DEDUP_HOLDS,
            format!("{} duplicate enqueues", model.duplicates),
        ),
    ] {
        // A job the queue lost explains every later oddity of the order it
        // was expected in: `no-job-lost` reports it.
        let violation = model.violations.iter().find(|v| {
            v.check == name
                && !v
                    .blames
                    .as_ref()
                    .is_some_and(|j| lost.iter().any(|(l, _)| l == j))
        });
        results.push(match violation {
            Some(v) => CheckResult::fail(name, Some(v.call), v.message.clone()),
            None => CheckResult::pass(name, summary),
        });
    }
    results
}

/// One call as the checks see it.
pub struct Call<'a> {
    pub call: usize,
    pub time_ms: u64,
    pub op: &'a Op,
    pub output: &'a Output,
}

fn calls<'a>(plan: &'a Plan<Op>, run: &'a Run) -> Vec<Call<'a>> {
    run.history
        .returned()
        .filter_map(|(entry, call, output)| match plan.actions.get(entry.step) {
            Some(Action::Call(op)) => Some(Call {
                call,
                time_ms: entry.time_ms,
                op,
                output,
            }),
            _ => None,
        })
        .collect()
}

fn expectations(scenario: &Scenario, calls: &[Call]) -> CheckResult {
    let mut checked = 0;
    for call in calls {
        let Some((expect, line)) = scenario.expectations.get(&call.call) else {
            continue;
        };
        checked += 1;
        if let Some(why) = expect.mismatch(&call.output.answer) {
            return CheckResult::fail(
                EXPECTATIONS,
                Some(call.call),
                format!(
                    "{}:{line}: call {} {}: {why}",
                    scenario.file, call.call, call.op
                ),
            );
        }
    }
    CheckResult::pass(EXPECTATIONS, format!("{checked} expectations held"))
}

/// Where a job is, by the WIT's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Where {
    /// Queued or failed-retrying: may be leased from this instant.
    Waiting {
        from_ms: u64,
        cause: Cause,
    },
    Leased {
        token: String,
        expires_ms: u64,
    },
    Succeeded,
    Dead {
        permanent: bool,
    },
}

/// What set a waiting job's instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// Its enqueue, by its schedule.
    Schedule,
    /// A failed run, by its backoff.
    Retry,
    /// A requeue out of the dead-letter queue: at once.
    Requeue,
}

impl Cause {
    /// Whether the instant it set is one a queue computes (a delay, a
    /// run-at, a backoff), not an enqueue or a requeue at once.
    fn is_timed(self, spec: &JobSpec) -> bool {
        self == Cause::Retry || (self == Cause::Schedule && spec.schedule != Schedule::Now)
    }
}

#[derive(Debug)]
struct Job {
    seq: usize,
    priority: u8,
    max_attempts: u32,
    spec: JobSpec,
    attempts: u32,
    at: Where,
}

/// A job that leases passed over while it should have been runnable: the
/// queue either took it for not yet runnable (a timing error, reported by
/// `backoff-respected`) or ranked it wrongly (`priority-order`).
struct Late {
    /// When it should have been runnable, and why.
    from_ms: u64,
    why: String,
    /// Whether its instant is one a queue computes (a delay, a run-at, a
    /// backoff), not its enqueue or its requeue.
    timed: bool,
    /// The leases that passed it over.
    passes: Vec<Pass>,
    /// What shows the queue took it for not yet runnable: a lease refused
    /// while it should have been runnable, or a status naming a later
    /// instant.
    evidence: Option<String>,
}

struct Pass {
    call: usize,
    /// "call 12 w1: lease for 5000 ms".
    prefix: String,
    time_ms: u64,
    /// The job handed out instead (none: the lease was refused), why the
    /// passed-over job comes before it, and whether by priority (not only
    /// by enqueue order).
    instead: Option<(String, String, bool)>,
}

struct Violation {
    check: &'static str,
    call: usize,
    message: String,
    /// The job whose absence would explain it, if any.
    blames: Option<String>,
}

/// The queue as the WIT says it must be, given the calls it accepted. Where
/// the plugin breaks a rule, the violation is noted and the model follows
/// the plugin, so that one bug is reported once, not again at every call.
#[derive(Default)]
struct Model {
    jobs: BTreeMap<String, Job>,
    /// Jobs that may run from an instant: (instant, seq, label).
    timers: BTreeSet<(u64, usize, String)>,
    /// Jobs that may run now, best first.
    ready: BTreeSet<(Reverse<u8>, usize, String)>,
    /// Live leases by expiry: (expires, seq, label).
    expiries: BTreeSet<(u64, usize, String)>,
    dedup: BTreeMap<String, String>,
    violations: Vec<Violation>,
    /// Jobs that leases passed over while they should have been runnable,
    /// until they leave the queue's waiting jobs: then each passing over
    /// is judged ([`Model::judge_late`]).
    late: BTreeMap<String, Late>,
    /// Jobs that left the waiting jobs with their notes, and when they
    /// were leased, to judge at the end.
    closed: Vec<(String, Late, Option<u64>)>,
    /// Where the queue showed it ranks by priority before enqueue order:
    /// it handed out a job while an older one of lower priority could run.
    ranks_by_priority: Option<String>,
    /// The clock reading of the call being applied.
    now: u64,
    /// The last call that named each job.
    last_seen: BTreeMap<String, usize>,
    leases: usize,
    completions: usize,
    stale_refused: usize,
    duplicates: usize,
}

impl Model {
    fn violation(&mut self, check: &'static str, call: &Call, message: String) {
        self.violation_blaming(check, call, message, None);
    }

    fn violation_blaming(
        &mut self,
        check: &'static str,
        call: &Call,
        message: String,
        blames: Option<String>,
    ) {
        self.violations.push(Violation {
            check,
            call: call.call,
            message: format!("call {} {}: {message}", call.call, call.op),
            blames,
        });
    }

    /// After the last call: judges the jobs still passed over.
    fn finish(&mut self) {
        let waiting: Vec<String> = self.late.keys().cloned().collect();
        for label in waiting {
            self.close_late(&label, None);
        }
        for (label, late, leased_at) in std::mem::take(&mut self.closed) {
            self.judge_late(&label, late, leased_at);
        }
        self.violations.sort_by_key(|v| v.call);
    }

    /// Why `label` should be runnable from its instant, in words: "its
    /// backoff of 2000 ms after failed attempt 2".
    fn why_runnable(&self, label: &str) -> String {
        let Some(job) = self.jobs.get(label) else {
            return String::new();
        };
        match &job.at {
            Where::Waiting {
                cause: Cause::Retry,
                ..
            } => format!(
                "its backoff of {} ms after failed attempt {}",
                job.spec.backoff_ms(job.attempts),
                job.attempts
            ),
            Where::Waiting {
                cause: Cause::Requeue,
                ..
            } => "its requeue".into(),
            _ => match job.spec.schedule {
                Schedule::Now => "its schedule: now".into(),
                Schedule::DelayMs(ms) => format!("its schedule: a delay of {ms} ms"),
                Schedule::AtMs(at) => format!("its schedule: at {at} ms"),
            },
        }
    }

    /// The queue's notes on `label`, a waiting job that should be runnable.
    fn late_entry(&mut self, label: &str) -> Option<&mut Late> {
        let Some(Job {
            at: Where::Waiting { from_ms, cause },
            spec,
            ..
        }) = self.jobs.get(label)
        else {
            return None;
        };
        let from_ms = *from_ms;
        let timed = cause.is_timed(spec);
        if !self.late.contains_key(label) {
            let why = self.why_runnable(label);
            self.late.insert(
                label.to_string(),
                Late {
                    from_ms,
                    why,
                    timed,
                    passes: Vec::new(),
                    evidence: None,
                },
            );
        }
        self.late.get_mut(label)
    }

    /// A lease at `call` passed over `label`, which should have been
    /// runnable: refused (`instead` none) or handed out another job.
    fn passed_over(&mut self, call: &Call, label: &str, instead: Option<(String, String, bool)>) {
        let prefix = format!("call {} {}", call.call, call.op);
        let time_ms = call.time_ms;
        if let Some(late) = self.late_entry(label) {
            late.passes.push(Pass {
                call: call.call,
                prefix,
                time_ms,
                instead,
            });
        }
    }

    /// Something the queue did shows it took `label` for not yet runnable.
    fn not_yet_runnable(&mut self, label: &str, evidence: String) {
        if let Some(late) = self.late_entry(label)
            && late.evidence.is_none()
        {
            late.evidence = Some(evidence);
        }
    }

    /// `label` left the waiting jobs (`leased_at`: by a lease at that
    /// instant): the leases that passed it over are judged at the end.
    fn close_late(&mut self, label: &str, leased_at: Option<u64>) {
        if let Some(late) = self.late.remove(label) {
            self.closed.push((label.to_string(), late, leased_at));
        }
    }

    /// Each lease that passed a job over is a violation: of
    /// `backoff-respected` if the queue showed it took the job for not yet
    /// runnable (a lease refused: a queue that ranks wrongly still hands
    /// out a job; a status naming a later instant; a job handed out that
    /// follows it in priority and enqueue order alike; a job of lower
    /// priority handed out by a queue that ranks by priority elsewhere),
    /// else of `priority-order`.
    fn judge_late(&mut self, label: &str, late: Late, leased_at: Option<u64>) {
        let Late {
            from_ms,
            why,
            timed,
            passes,
            evidence,
        } = late;
        let ranks = self.ranks_by_priority.as_ref().filter(|_| timed);
        for pass in passes {
            let t = pass.time_ms;
            let then = match leased_at {
                Some(at) => format!(
                    "it was first leased at t={at} ms ({} ms late)",
                    at.saturating_sub(from_ms)
                ),
                None => "it was not leased after".into(),
            };
            let (check, message) = match (&pass.instead, &evidence, ranks) {
                (None, _, _) => (
                    BACKOFF_RESPECTED,
                    format!(
                        "no job was handed out at t={t} ms, but {label} should have been runnable at t={from_ms} ms ({why}); {then}"
                    ),
                ),
                (Some((other, _, _)), Some(evidence), _) => (
                    BACKOFF_RESPECTED,
                    format!(
                        "{other} was handed out at t={t} ms, but {label} comes first and should have been runnable at t={from_ms} ms ({why}); {then}, and {evidence}"
                    ),
                ),
                (Some((other, rank, true)), None, Some(ranks)) => (
                    BACKOFF_RESPECTED,
                    format!(
                        "{other} was handed out at t={t} ms, but {label} comes first ({rank}) and should have been runnable at t={from_ms} ms ({why}); {then}, and {}",
                        ranks.replace("{job}", label)
                    ),
                ),
                (Some((other, rank, _)), _, _) => {
                    let timing = match leased_at {
                        Some(at) if timed && at > t => format!(
                            " ({label} may run from t={from_ms} ms, by {why}; it was first leased at t={at} ms)"
                        ),
                        _ => String::new(),
                    };
                    (
                        PRIORITY_ORDER,
                        format!("{other} was handed out, but {label} comes first: {rank}{timing}"),
                    )
                }
            };
            self.violations.push(Violation {
                check,
                call: pass.call,
                message: format!("{}: {message}", pass.prefix),
                blames: Some(label.to_string()),
            });
        }
    }

    /// Moves `job` to `at`, keeping the indexes right.
    fn set(&mut self, label: &str, at: Where) {
        if self.late.contains_key(label) {
            let leased_at = matches!(at, Where::Leased { .. }).then_some(self.now);
            self.close_late(label, leased_at);
        }
        let Some(job) = self.jobs.get_mut(label) else {
            return;
        };
        let key = label.to_string();
        match &job.at {
            Where::Waiting { from_ms, .. } => {
                self.timers.remove(&(*from_ms, job.seq, key.clone()));
                self.ready
                    .remove(&(Reverse(job.priority), job.seq, key.clone()));
            }
            Where::Leased { expires_ms, .. } => {
                self.expiries.remove(&(*expires_ms, job.seq, key.clone()));
            }
            Where::Succeeded | Where::Dead { .. } => {}
        }
        match &at {
            Where::Waiting { from_ms, .. } => {
                self.timers.insert((*from_ms, job.seq, key));
            }
            Where::Leased { expires_ms, .. } => {
                self.expiries.insert((*expires_ms, job.seq, key));
            }
            Where::Succeeded | Where::Dead { .. } => {}
        }
        job.at = at;
    }

    /// A failed run of `label` at `t` (a retryable failure, or a lease that
    /// ran out).
    fn failed(&mut self, label: &str, t: u64) {
        let Some(job) = self.jobs.get(label) else {
            return;
        };
        let at = if job.attempts < job.max_attempts {
            Where::Waiting {
                from_ms: t.saturating_add(job.spec.backoff_ms(job.attempts)),
                cause: Cause::Retry,
            }
        } else {
            Where::Dead { permanent: false }
        };
        self.set(label, at);
    }

    /// Time moves to `t`: leases that ran out fail at their expiry, in order;
    /// jobs whose instant came become ready.
    fn advance(&mut self, t: u64) {
        loop {
            let next_expiry = self.expiries.first().filter(|e| e.0 <= t).cloned();
            let next_timer = self.timers.first().filter(|e| e.0 <= t).cloned();
            match (next_expiry, next_timer) {
                (Some(e), Some(w)) if w.0 < e.0 => self.ready_up(w),
                (Some(e), _) => {
                    self.expiries.remove(&e);
                    // Out of every index (as no final state is) before
                    // `failed` files it anew.
                    if let Some(job) = self.jobs.get_mut(&e.2) {
                        job.at = Where::Succeeded;
                    }
                    self.failed(&e.2, e.0);
                }
                (None, Some(w)) => self.ready_up(w),
                (None, None) => break,
            }
        }
    }

    fn ready_up(&mut self, timer: (u64, usize, String)) {
        self.timers.remove(&timer);
        if let Some(job) = self.jobs.get(&timer.2) {
            self.ready.insert((Reverse(job.priority), job.seq, timer.2));
        }
    }

    fn apply(&mut self, call: &Call) {
        let t = call.time_ms;
        self.now = t;
        self.advance(t);
        match (&call.op, &call.output.answer) {
            (Op::Enqueue(spec), Answer::Enqueued(Ok(label))) => self.enqueued(call, spec, label),
            (Op::Lease { lease_ms, .. }, Answer::Leased(Ok(lease))) => self.leased(
                call,
                lease.as_ref().map(|l| l.job.as_str()),
                lease.as_ref().map(|l| (l.token.as_str(), l.attempt)),
                *lease_ms,
            ),
            (
                Op::Heartbeat { lease_ms, .. },
                Answer::Extended {
                    job,
                    token,
                    result: Ok(_),
                },
            ) => {
                self.last_seen.insert(job.clone(), call.call);
                if !self.live_lease(job, token, t) {
                    self.violation(
                        STALE_LEASE_REFUSED,
                        call,
                        format!(
                            "a heartbeat on {job} with {token} was accepted, but that lease {}",
                            self.why_stale(job, token, t)
                        ),
                    );
                }
                if let Some(Job {
                    at: Where::Leased { token: live, .. },
                    ..
                }) = self.jobs.get(job)
                    && live == token
                {
                    let at = Where::Leased {
                        token: token.clone(),
                        expires_ms: t.saturating_add(*lease_ms),
                    };
                    self.set(job, at);
                }
            }
            (
                _,
                Answer::Reported {
                    job,
                    token,
                    report,
                    again,
                    result,
                },
            ) => {
                self.last_seen.insert(job.clone(), call.call);
                self.reported(call, job, token, *report, result);
                if let Some(again) = again {
                    self.reported(call, job, token, *report, again);
                }
            }
            (Op::Requeue { job }, Answer::Requeued(Ok(()))) => {
                self.last_seen.insert(job.clone(), call.call);
                if let Some(j) = self.jobs.get_mut(job) {
                    j.attempts = 0;
                }
                self.set(
                    job,
                    Where::Waiting {
                        from_ms: t,
                        cause: Cause::Requeue,
                    },
                );
                self.advance(t);
            }
            (_, Answer::Status(Ok(status))) => {
                self.status_instant(call, status);
                if status.attempts > status.max_attempts {
                    self.violation(
                        ATTEMPTS_BOUNDED,
                        call,
                        format!(
                            "{} reports {} attempts of at most {}",
                            status.job, status.attempts, status.max_attempts
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    /// Judges the instant a status names for a waiting job: another one
    /// than the WIT's rules give is a violation.
    fn status_instant(&mut self, call: &Call, status: &Status) {
        let label = status.job.as_str();
        let Some(Job {
            at: Where::Waiting { from_ms, .. },
            ..
        }) = self.jobs.get(label)
        else {
            return;
        };
        let from_ms = *from_ms;
        let (State::Queued(at) | State::FailedRetrying(at)) = status.state else {
            return;
        };
        if at == from_ms {
            return;
        }
        let why = self.why_runnable(label);
        let (off, late) = if at > from_ms {
            (at - from_ms, "late")
        } else {
            (from_ms - at, "early")
        };
        self.violation(
            BACKOFF_RESPECTED,
            call,
            format!(
                "{label} should be runnable from t={from_ms} ms ({why}), but its status says {} from t={at} ms ({off} ms {late})",
                state_name(&status.state)
            ),
        );
        if at > from_ms {
            self.not_yet_runnable(
                label,
                format!(
                    "its status at call {} said it runs from t={at} ms",
                    call.call
                ),
            );
        }
    }

    fn enqueued(&mut self, call: &Call, spec: &JobSpec, label: &str) {
        let t = call.time_ms;
        self.last_seen.insert(label.to_string(), call.call);
        if let Some(key) = &spec.dedup_key {
            if let Some(first) = self.dedup.get(key).cloned() {
                self.duplicates += 1;
                if first != label {
                    self.violation(
                        DEDUP_HOLDS,
                        call,
                        format!(
                            "dedup key {key:?} was first used by job {first}, yet the enqueue returned job {label}"
                        ),
                    );
                }
                return;
            }
            self.dedup.insert(key.clone(), label.to_string());
        }
        if self.jobs.contains_key(label) {
            return;
        }
        let from_ms = match spec.schedule {
            Schedule::Now => t,
            Schedule::DelayMs(ms) => t.saturating_add(ms),
            Schedule::AtMs(at) => at.max(t),
        };
        let seq = self.jobs.len();
        self.jobs.insert(
            label.to_string(),
            Job {
                seq,
                priority: spec.priority,
                max_attempts: spec.max_attempts,
                spec: spec.clone(),
                attempts: 0,
                at: Where::Succeeded,
            },
        );
        self.set(
            label,
            Where::Waiting {
                from_ms,
                cause: Cause::Schedule,
            },
        );
        self.advance(t);
    }

    fn leased(
        &mut self,
        call: &Call,
        job: Option<&str>,
        lease: Option<(&str, u32)>,
        lease_ms: u64,
    ) {
        let t = call.time_ms;
        let best = self.ready.first().map(|(_, _, l)| l.clone());
        let (Some(label), Some((token, attempt))) = (job, lease) else {
            if let Some(best) = best {
                // A queue that ranks wrongly still hands out a job: one
                // that hands out none took every job that may run for not
                // yet runnable.
                let ready: Vec<String> = self.ready.iter().map(|(_, _, l)| l.clone()).collect();
                for label in ready {
                    self.not_yet_runnable(
                        &label,
                        format!(
                            "at call {} (t={t} ms) no job at all was handed out",
                            call.call
                        ),
                    );
                }
                self.passed_over(call, &best, None);
            }
            return;
        };
        let Some(j) = self.jobs.get(label) else {
            return;
        };
        let (priority, max_attempts, attempts, seq) =
            (j.priority, j.max_attempts, j.attempts, j.seq);
        self.leases += 1;
        self.last_seen.insert(label.to_string(), call.call);
        match j.at.clone() {
            Where::Succeeded => self.violation(
                NO_RUN_AFTER_COMPLETION,
                call,
                format!("{label} was leased again after a valid completion"),
            ),
            Where::Dead { permanent } => self.violation(
                ATTEMPTS_BOUNDED,
                call,
                if permanent {
                    format!("{label} was leased after a permanent failure sent it to the dead-letter queue")
                } else {
                    format!("{label} was leased again after its {max_attempts} attempts were used up (it belongs in the dead-letter queue)")
                },
            ),
            Where::Leased { expires_ms, .. } => self.violation(
                BACKOFF_RESPECTED,
                call,
                format!("{label} was leased while another lease on it runs until {expires_ms} ms"),
            ),
            Where::Waiting { from_ms, cause } if from_ms > t => self.violation(
                BACKOFF_RESPECTED,
                call,
                format!(
                    "{label} was leased at {t} ms, {} ms early: {} it may run from {from_ms} ms",
                    from_ms - t,
                    if cause == Cause::Retry {
                        format!("after its failed attempt {attempts}, its backoff says")
                    } else {
                        "its schedule says".to_string()
                    }
                ),
            ),
            Where::Waiting { .. } => {
                if self.ranks_by_priority.is_none() {
                    let older = self
                        .ready
                        .iter()
                        .find(|(p, s, _)| p.0 < priority && *s < seq)
                        .map(|(_, _, l)| l.clone());
                    if let Some(older) = older {
                        self.ranks_by_priority = Some(format!(
                            "the queue ranks by priority before enqueue order elsewhere (at call {} it handed out {label} before the older {older} of lower priority): it took {{job}} for not yet runnable",
                            call.call
                        ));
                    }
                }
                if let Some(best) = best.filter(|b| b != label) {
                    let b = &self.jobs[&best];
                    let by_priority = b.priority > priority;
                    let why = if by_priority {
                        format!("{best} has priority {} > {priority}", b.priority)
                    } else {
                        format!("{best} has the same priority {priority} and was enqueued before it")
                    };
                    // Handed out over a job it follows in enqueue order
                    // too: no ranking by priority and enqueue order
                    // explains it, but a queue that took the job for not
                    // yet runnable does, if its instant is one a queue
                    // computes (a delay, a run-at, a backoff).
                    let timed = match &b.at {
                        Where::Waiting { cause, .. } => cause.is_timed(&b.spec),
                        _ => false,
                    };
                    if b.seq < seq && timed {
                        self.not_yet_runnable(
                            &best,
                            format!(
                                "{label} follows {best} by priority and by enqueue order alike: no ranking explains handing it out first"
                            ),
                        );
                    }
                    self.passed_over(call, &best, Some((label.to_string(), why, by_priority)));
                }
            }
        }
        let attempts = attempts + 1;
        if attempts > max_attempts && !matches!(self.jobs[label].at, Where::Dead { .. }) {
            self.violation(
                ATTEMPTS_BOUNDED,
                call,
                format!(
                    "{label} runs for the {attempts}th time, but its max-attempts is {max_attempts}"
                ),
            );
        }
        if attempt > max_attempts {
            self.violation(
                ATTEMPTS_BOUNDED,
                call,
                format!("the lease of {label} says attempt {attempt}, but its max-attempts is {max_attempts}"),
            );
        }
        if let Some(j) = self.jobs.get_mut(label) {
            j.attempts = attempts;
        }
        self.set(
            label,
            Where::Leased {
                token: token.to_string(),
                expires_ms: t.saturating_add(lease_ms),
            },
        );
    }

    fn live_lease(&self, job: &str, token: &str, t: u64) -> bool {
        matches!(
            self.jobs.get(job),
            Some(Job { at: Where::Leased { token: live, expires_ms }, .. }) if live == token && t < *expires_ms
        )
    }

    fn why_stale(&self, job: &str, token: &str, t: u64) -> String {
        match self.jobs.get(job).map(|j| &j.at) {
            Some(Where::Leased { token: live, .. }) if live != token => {
                format!("was replaced by {live}")
            }
            Some(Where::Leased { expires_ms, .. }) if t >= *expires_ms => {
                format!("ran out at {expires_ms} ms")
            }
            Some(Where::Succeeded) => "was already completed".into(),
            Some(Where::Dead { .. }) => "ended with the job in the dead-letter queue".into(),
            Some(Where::Waiting { .. }) => "ended: the job waits for its next run".into(),
            _ => "is unknown".into(),
        }
    }

    fn reported(
        &mut self,
        call: &Call,
        job: &str,
        token: &str,
        report: Report,
        result: &Result<(), QueueError>,
    ) {
        let t = call.time_ms;
        let live = self.live_lease(job, token, t);
        match result {
            Ok(()) if !live => {
                let why = self.why_stale(job, token, t);
                self.violation(
                    STALE_LEASE_REFUSED,
                    call,
                    format!("{report} of {job} with {token} was accepted, but that lease {why}"),
                );
            }
            Err(QueueError::StaleLease) if !live => self.stale_refused += 1,
            _ => {}
        }
        if result.is_err() || !self.jobs.contains_key(job) {
            return;
        }
        match report {
            Report::Complete => {
                self.completions += 1;
                self.set(job, Where::Succeeded);
            }
            Report::FailRetryable => {
                if live {
                    self.failed(job, t);
                }
            }
            Report::FailPermanent => self.set(job, Where::Dead { permanent: true }),
        }
        self.advance(t);
    }

    /// Jobs the queue no longer knows at the end, with why.
    fn lost(&self, run: &Run) -> Vec<(String, String)> {
        let Ok(settled) = &run.settled else {
            return Vec::new();
        };
        let mut lost: Vec<(usize, String, String)> = self
            .jobs
            .iter()
            .filter(|(label, _)| matches!(settled.get(*label), Some(None)))
            .map(|(label, job)| {
                let seen = self
                    .last_seen
                    .get(label)
                    .map_or(String::new(), |c| format!(", last named at call {c}"));
                (
                    job.seq,
                    label.clone(),
                    format!(
                        "job {label} was enqueued{seen}, but at the end the queue does not know it (status: not-found): lost"
                    ),
                )
            })
            .collect();
        lost.sort();
        lost.into_iter().map(|(_, l, why)| (l, why)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::Lease;
    use super::*;

    const T0: u64 = 1_000_000;

    fn spec(label: &str, priority: u8) -> JobSpec {
        JobSpec {
            label: label.into(),
            kind: "k".into(),
            priority,
            max_attempts: 2,
            backoff_base_ms: 1_000,
            backoff_cap_ms: 1_000,
            schedule: Schedule::Now,
            dedup_key: None,
        }
    }

    fn out(answer: Answer) -> Output {
        Output { answer, crashes: 0 }
    }

    fn lease(job: &str, token: &str, attempt: u32) -> Answer {
        Answer::Leased(Ok(Some(Lease {
            job: job.into(),
            token: token.into(),
            kind: "k".into(),
            payload: job.into(),
            attempt,
            expires_ms: 0,
        })))
    }

    fn report(job: &str, token: &str, report: Report, result: Result<(), QueueError>) -> Answer {
        Answer::Reported {
            job: job.into(),
            token: token.into(),
            report,
            again: None,
            result,
        }
    }

    /// Feeds (time, op, answer) to a fresh model; returns the violations
    /// as (check, call).
    fn judge(calls: Vec<(u64, Op, Answer)>) -> Vec<(&'static str, usize)> {
        messages(calls)
            .into_iter()
            .map(|(check, call, _)| (check, call))
            .collect()
    }

    fn enqueue(label: &str, priority: u8) -> (Op, Answer) {
        (
            Op::Enqueue(Box::new(spec(label, priority))),
            Answer::Enqueued(Ok(label.into())),
        )
    }

    fn lease_op() -> Op {
        Op::Lease {
            worker: "w".into(),
            lease_ms: 5_000,
        }
    }

    fn complete_op() -> Op {
        Op::Complete { worker: "w".into() }
    }

    #[test]
    fn a_correct_history_has_no_violation() {
        let (e, a) = enqueue("a", 0);
        let v = judge(vec![
            (T0, e, a),
            (T0, lease_op(), lease("a", "t1", 1)),
            // Runs out at T0 + 5_000; retry from T0 + 6_000.
            (T0 + 6_000, lease_op(), lease("a", "t2", 2)),
            (
                T0 + 6_001,
                complete_op(),
                report("a", "t2", Report::Complete, Ok(())),
            ),
            (
                T0 + 6_002,
                complete_op(),
                report("a", "t1", Report::Complete, Err(QueueError::StaleLease)),
            ),
            (T0 + 9_000, lease_op(), Answer::Leased(Ok(None))),
        ]);
        assert_eq!(v, []);
    }

    #[test]
    fn a_lease_before_the_backoff_after_an_expiry_is_early() {
        let (e, a) = enqueue("a", 0);
        let v = judge(vec![
            (T0, e, a),
            (T0, lease_op(), lease("a", "t1", 1)),
            (T0 + 5_999, lease_op(), lease("a", "t2", 2)),
        ]);
        assert_eq!(v, [(BACKOFF_RESPECTED, 2)]);
    }

    #[test]
    fn leases_after_completion_and_past_max_attempts_are_caught() {
        let (e, a) = enqueue("a", 0);
        let (e2, b) = enqueue("b", 0);
        let v = judge(vec![
            (T0, e, a),
            (T0, lease_op(), lease("a", "t1", 1)),
            (
                T0,
                complete_op(),
                report("a", "t1", Report::Complete, Ok(())),
            ),
            (T0 + 1, lease_op(), lease("a", "t2", 2)),
            (T0 + 2, e2, b),
            (T0 + 2, lease_op(), lease("b", "t3", 1)),
            (T0 + 10_000, lease_op(), lease("b", "t4", 2)),
            // b's second lease runs out at T0 + 15_000: dead.
            (T0 + 20_000, lease_op(), lease("b", "t5", 3)),
        ]);
        assert_eq!(
            v,
            [
                (NO_RUN_AFTER_COMPLETION, 3),
                (ATTEMPTS_BOUNDED, 7),
                (ATTEMPTS_BOUNDED, 7)
            ]
        );
    }

    #[test]
    fn priority_then_enqueue_order_and_stale_reports() {
        let (e1, a1) = enqueue("low", 1);
        let (e2, a2) = enqueue("high", 9);
        let v = judge(vec![
            (T0, e1, a1),
            (T0, e2, a2),
            (T0, lease_op(), lease("low", "t1", 1)),
            (
                T0 + 5_000,
                complete_op(),
                report("low", "t1", Report::Complete, Ok(())),
            ),
        ]);
        assert_eq!(v, [(PRIORITY_ORDER, 2), (STALE_LEASE_REFUSED, 3)]);
    }

    /// Feeds (time, op, answer) to a fresh model; returns the violations
    /// with their messages.
    fn messages(calls: Vec<(u64, Op, Answer)>) -> Vec<(&'static str, usize, String)> {
        let outputs: Vec<Output> = calls.iter().map(|(_, _, a)| out(a.clone())).collect();
        let mut model = Model::default();
        for (i, ((t, op, _), output)) in calls.iter().zip(&outputs).enumerate() {
            model.apply(&Call {
                call: i,
                time_ms: *t,
                op,
                output,
            });
        }
        model.finish();
        model
            .violations
            .into_iter()
            .map(|v| (v.check, v.call, v.message))
            .collect()
    }

    fn fail_op() -> Op {
        Op::Fail {
            worker: "w".into(),
            retryable: true,
        }
    }

    #[test]
    fn a_retry_made_runnable_late_is_a_timing_error_not_a_priority_one() {
        let (e, a) = enqueue("a", 5);
        let (e2, b) = enqueue("b", 0);
        let v = messages(vec![
            (T0, e, a),
            (T0, lease_op(), lease("a", "t1", 1)),
            (
                T0 + 10,
                fail_op(),
                report("a", "t1", Report::FailRetryable, Ok(())),
            ),
            // a may run again from T0 + 1_010; the queue says no job.
            (T0 + 1_010, lease_op(), Answer::Leased(Ok(None))),
            (T0 + 1_020, e2, b),
            // ... then hands out b, of lower priority.
            (T0 + 1_030, lease_op(), lease("b", "t2", 1)),
            (T0 + 2_010, lease_op(), lease("a", "t3", 2)),
        ]);
        let checks: Vec<_> = v.iter().map(|(c, call, _)| (*c, *call)).collect();
        assert_eq!(checks, [(BACKOFF_RESPECTED, 3), (BACKOFF_RESPECTED, 5)]);
        assert_eq!(
            v[0].2,
            format!(
                "call 3 w: lease for 5000 ms: no job was handed out at t={} ms, but a should have been runnable at t={} ms (its backoff of 1000 ms after failed attempt 1); it was first leased at t={} ms (1000 ms late)",
                T0 + 1_010,
                T0 + 1_010,
                T0 + 2_010
            )
        );
        assert!(v[1].2.contains("b was handed out at t="), "{}", v[1].2);
        assert!(
            v[1].2.contains("no job at all was handed out"),
            "{}",
            v[1].2
        );
    }

    #[test]
    fn a_job_passed_over_with_no_sign_of_lateness_is_a_priority_error() {
        let (e1, a1) = enqueue("low", 1);
        let (e2, a2) = enqueue("high", 9);
        let v = messages(vec![
            (T0, e1, a1),
            (T0, e2, a2),
            (T0, lease_op(), lease("low", "t1", 1)),
            (T0 + 7, lease_op(), lease("high", "t2", 1)),
        ]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, PRIORITY_ORDER);
        assert_eq!(
            v[0].2,
            "call 2 w: lease for 5000 ms: low was handed out, but high comes first: high has priority 9 > 1"
        );
    }

    /// A retry of `high` passed over by `older`, enqueued before it with a
    /// lower priority; with `first`, a lease before that shows whether
    /// the queue ranks by priority before enqueue order.
    fn retry_passed_over(first: Vec<(u64, Op, Answer)>) -> Vec<(&'static str, usize, String)> {
        // older can run from T0 + 100: the first lease shows nothing.
        let mut spec = spec("older", 1);
        spec.schedule = Schedule::DelayMs(100);
        let e0 = Op::Enqueue(Box::new(spec));
        let (e1, a1) = enqueue("high", 9);
        let mut calls = vec![
            (T0, e0, Answer::Enqueued(Ok("older".into()))),
            (T0, e1, a1),
            (T0, lease_op(), lease("high", "t1", 1)),
            (
                T0 + 10,
                fail_op(),
                report("high", "t1", Report::FailRetryable, Ok(())),
            ),
        ];
        let n = calls.len() + first.len();
        calls.extend(first);
        calls.extend([
            // high may run again from T0 + 1_010.
            (T0 + 1_500, lease_op(), lease("older", &format!("t{n}"), 1)),
            (T0 + 2_010, lease_op(), lease("high", "t9", 2)),
        ]);
        messages(calls)
    }

    #[test]
    fn a_retry_passed_over_for_an_older_job_is_a_priority_error_that_says_when_it_ran() {
        let v = retry_passed_over(Vec::new());
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, PRIORITY_ORDER);
        assert_eq!(
            v[0].2,
            format!(
                "call 4 w: lease for 5000 ms: older was handed out, but high comes first: high has priority 9 > 1 (high may run from t={} ms, by its backoff of 1000 ms after failed attempt 1; it was first leased at t={} ms)",
                T0 + 1_010,
                T0 + 2_010
            )
        );
    }

    #[test]
    fn a_retry_passed_over_by_a_queue_that_ranks_by_priority_is_a_timing_error() {
        let (e, a) = enqueue("newer", 5);
        let v = retry_passed_over(vec![
            (T0 + 200, e, a),
            // newer before older: this queue ranks by priority.
            (T0 + 200, lease_op(), lease("newer", "t2", 1)),
        ]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, BACKOFF_RESPECTED);
        assert!(
            v[0].2.ends_with(
                "(1000 ms late), and the queue ranks by priority before enqueue order elsewhere (at call 5 it handed out newer before the older older of lower priority): it took high for not yet runnable"
            ),
            "{}",
            v[0].2
        );
    }

    #[test]
    fn a_status_naming_a_late_instant_is_a_timing_error() {
        let (e, a) = enqueue("a", 0);
        let status = |at| {
            Answer::Status(Ok(Status {
                job: "a".into(),
                kind: "k".into(),
                priority: 0,
                attempts: 1,
                max_attempts: 2,
                state: State::FailedRetrying(at),
            }))
        };
        let status_op = || Op::Status { job: "a".into() };
        let v = messages(vec![
            (T0, e, a),
            (T0, lease_op(), lease("a", "t1", 1)),
            (
                T0,
                fail_op(),
                report("a", "t1", Report::FailRetryable, Ok(())),
            ),
            (T0 + 1, status_op(), status(T0 + 1_000)),
            (T0 + 2, status_op(), status(T0 + 2_000)),
        ]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, BACKOFF_RESPECTED);
        assert!(
            v[0].2.ends_with(&format!(
                "a should be runnable from t={} ms (its backoff of 1000 ms after failed attempt 1), but its status says failed-retrying from t={} ms (1000 ms late)",
                T0 + 1_000,
                T0 + 2_000
            )),
            "{}",
            v[0].2
        );
    }

    #[test]
    fn a_deduplicated_enqueue_must_name_the_first_job() {
        let mut first = spec("a", 0);
        first.dedup_key = Some("k".into());
        let mut second = spec("b", 0);
        second.dedup_key = Some("k".into());
        let v = judge(vec![
            (
                T0,
                Op::Enqueue(Box::new(first)),
                Answer::Enqueued(Ok("a".into())),
            ),
            (
                T0,
                Op::Enqueue(Box::new(second)),
                Answer::Enqueued(Ok("b".into())),
            ),
            (
                T0,
                Op::Status { job: "a".into() },
                Answer::Status(Ok(Status {
                    job: "a".into(),
                    kind: "k".into(),
                    priority: 0,
                    attempts: 3,
                    max_attempts: 2,
                    state: State::Succeeded,
                })),
            ),
        ]);
        assert_eq!(v, [(DEDUP_HOLDS, 1), (ATTEMPTS_BOUNDED, 2)]);
    }
}
