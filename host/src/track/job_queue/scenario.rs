//! The job-queue scenario format (see `scenarios/README.md`) and its
//! compilation into a [`Plan`], the store faults and the workers' fates.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;
use serde::Deserialize;
use toml::Spanned;

use super::model::{Answer, JobSpec, Op, QueueError, Schedule, State};
use crate::concurrent::ConcurrencySpec;
use crate::error::Result;
use crate::scenario::{Common, DEFAULT_START_MS, HasCommon, Range, Source};
use crate::sim::{Action, Plan, SeedTree};
use crate::store::{STORE_FAULT_USAGE, StoreFault, WriteTrigger};

const MAX_JOBS: u64 = 100_000;
const MAX_WORKERS: u64 = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Spec {
    format: u32,
    description: String,
    seed: u64,
    #[serde(default = "default_start")]
    start_ms: u64,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    faults: Vec<Spanned<FaultSpec>>,
    #[serde(default)]
    steps: Vec<Spanned<StepSpec>>,
    generate: Option<Spanned<GenerateSpec>>,
    /// Replicas, calls in flight, the scheduler: a concurrent scenario.
    concurrency: Option<Spanned<ConcurrencySpec>>,
}

fn default_start() -> u64 {
    DEFAULT_START_MS
}

impl HasCommon for Spec {
    fn common(&self) -> Common {
        Common {
            format: self.format,
            description: self.description.clone(),
            seed: self.seed,
            start_ms: self.start_ms,
        }
    }
}

/// What a job and a lease are unless a step says otherwise.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Defaults {
    kind: String,
    priority: u8,
    max_attempts: u32,
    backoff: BackoffSpec,
    lease_ms: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            kind: "email".into(),
            priority: 0,
            max_attempts: 3,
            backoff: BackoffSpec {
                base_ms: 1_000,
                cap_ms: 60_000,
            },
            lease_ms: 30_000,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BackoffSpec {
    base_ms: u64,
    cap_ms: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum FaultKind {
    /// The queue crashes just before a write to its durable store (the
    /// write never happens); the call is then made again on a fresh
    /// instance after `recover`.
    CrashBeforeStoreWrite,
}

/// A crash at the `nth` store write of the run, or at each write with
/// `probability`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FaultSpec {
    fault: FaultKind,
    nth: Option<u64>,
    probability: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EnqueueSpec {
    #[serde(rename = "as")]
    label: Option<String>,
    kind: Option<String>,
    priority: Option<u8>,
    max_attempts: Option<u32>,
    backoff: Option<BackoffSpec>,
    delay_ms: Option<u64>,
    at_ms: Option<u64>,
    dedup_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepSpec {
    advance_ms: Option<u64>,
    enqueue: Option<EnqueueSpec>,
    lease: Option<String>,
    heartbeat: Option<String>,
    /// For `lease` and `heartbeat`: the lease's length (default: the
    /// scenario's `defaults.lease-ms`).
    lease_ms: Option<u64>,
    complete: Option<String>,
    complete_again: Option<String>,
    fail: Option<String>,
    /// For `fail`: whether the failure is retryable (default true).
    retryable: Option<bool>,
    status: Option<String>,
    dead_letters: Option<bool>,
    requeue: Option<String>,
    crash: Option<bool>,
    expect: Option<Expect>,
}

/// What a scripted step expects of every queue (the reference included).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    /// The job a lease hands out, or the job an enqueue names.
    pub job: Option<String>,
    /// A lease with no job.
    pub none: Option<bool>,
    /// The error (`stale-lease`, `not-found`, `invalid(kind)`, ...).
    pub error: Option<String>,
    /// A call that succeeded.
    pub ok: Option<bool>,
    /// A status's state: queued, leased, succeeded, failed-retrying, dead.
    pub state: Option<String>,
    /// A lease's attempt, or a status's attempts.
    pub attempt: Option<u32>,
    /// The instant of a queued or failed-retrying status, a lease's or a
    /// heartbeat's expiry.
    pub at_ms: Option<u64>,
    /// The dead-letter queue, in order.
    pub jobs: Option<Vec<String>>,
}

fn error_of(answer: &Answer) -> Option<&QueueError> {
    match answer {
        Answer::Enqueued(Err(e))
        | Answer::Leased(Err(e))
        | Answer::Extended { result: Err(e), .. }
        | Answer::Reported { result: Err(e), .. }
        | Answer::Status(Err(e))
        | Answer::Requeued(Err(e)) => Some(e),
        _ => None,
    }
}

/// An answer in a mismatch message: cut to
/// [`LINE_LIMIT`](crate::diff::LINE_LIMIT) bytes.
struct Shown<'a>(&'a Answer);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::diff::clip(
            &self.0.to_string(),
            crate::diff::LINE_LIMIT,
        ))
    }
}

impl Expect {
    /// The first way `answer` falls short, as "expected X, got Y".
    pub fn mismatch(&self, answer: &Answer) -> Option<String> {
        // The answer as the message shows it: never a 40 KB line.
        let shown = Shown(answer);
        if let Some(kind) = &self.error {
            return match error_of(answer) {
                Some(e) if &e.to_string() == kind => None,
                _ => Some(format!("expected error {kind}, got {shown}")),
            };
        }
        if self.ok == Some(true) && error_of(answer).is_some() {
            return Some(format!("expected success, got {shown}"));
        }
        if let Some(job) = &self.job {
            let got = match answer {
                Answer::Enqueued(Ok(label)) => Some(label),
                Answer::Leased(Ok(Some(lease))) => Some(&lease.job),
                _ => None,
            };
            if got != Some(job) {
                return Some(format!("expected job {job}, got {shown}"));
            }
        }
        if self.none == Some(true) && !matches!(answer, Answer::Leased(Ok(None))) {
            return Some(format!("expected no job, got {shown}"));
        }
        if let Some(state) = &self.state {
            let got = match answer {
                Answer::Status(Ok(s)) => Some(state_name(&s.state)),
                _ => None,
            };
            if got != Some(state.as_str()) {
                return Some(format!("expected a {state} job, got {shown}"));
            }
        }
        if let Some(attempt) = self.attempt {
            let got = match answer {
                Answer::Leased(Ok(Some(lease))) => Some(lease.attempt),
                Answer::Status(Ok(s)) => Some(s.attempts),
                _ => None,
            };
            if got != Some(attempt) {
                return Some(format!("expected attempt {attempt}, got {shown}"));
            }
        }
        if let Some(at) = self.at_ms {
            let got = match answer {
                Answer::Leased(Ok(Some(lease))) => Some(lease.expires_ms),
                Answer::Extended {
                    result: Ok(until), ..
                } => Some(*until),
                Answer::Status(Ok(s)) => match s.state {
                    State::Queued(t) | State::FailedRetrying(t) => Some(t),
                    State::Leased { expires_ms, .. } => Some(expires_ms),
                    _ => None,
                },
                _ => None,
            };
            if got != Some(at) {
                return Some(format!("expected {at} ms, got {shown}"));
            }
        }
        if let Some(jobs) = &self.jobs {
            let Answer::DeadLetters(list) = answer else {
                return Some(format!("expected dead letters {jobs:?}, got {shown}"));
            };
            let got: Vec<&str> = list.iter().map(|s| s.job.as_str()).collect();
            let want: Vec<&str> = jobs.iter().map(String::as_str).collect();
            if let Some(why) = crate::diff::list_mismatch(&want, &got) {
                return Some(format!("the dead letters {why}"));
            }
        }
        None
    }
}

pub fn state_name(state: &State) -> &'static str {
    match state {
        State::Queued(_) => "queued",
        State::Leased { .. } => "leased",
        State::Succeeded => "succeeded",
        State::FailedRetrying(_) => "failed-retrying",
        State::Dead(_) => "dead",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GenerateSpec {
    jobs: u64,
    workers: u64,
    /// The share of runs that do not simply complete (0 to 1).
    worker_failures: f64,
    /// The share of jobs whose every run fails, retryably: they end in the
    /// dead-letter queue.
    poison: Option<f64>,
    /// Between two enqueues.
    interval_ms: Option<Range>,
    /// How long a run takes.
    work_ms: Option<Range>,
    /// Priorities are drawn from 0..priorities.
    priorities: Option<u8>,
    /// The share of jobs enqueued with a delay.
    delayed: Option<f64>,
    /// Crashes of the queue between calls, spread over the run.
    crashes: Option<u64>,
    /// How long workers go on after the last enqueue.
    drain_ms: Option<u64>,
    /// Every event's instant rounded up to a multiple of this: calls that
    /// land on one instant overlap in a concurrent scenario (0 or absent:
    /// no rounding).
    tick_ms: Option<u64>,
}

/// How a generated workload's runs end, in parts per million of runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fates {
    /// Jobs whose every run fails retryably.
    pub poison_ppm: u32,
    pub die_ppm: u32,
    pub fail_retryable_ppm: u32,
    pub fail_permanent_ppm: u32,
    pub complete_twice_ppm: u32,
}

impl Fates {
    /// The fate of `job`'s run number `attempt`.
    pub fn draw(&self, seeds: &SeedTree, job: &str, attempt: u32) -> super::model::Fate {
        use super::model::Fate;
        let poisoned = seeds
            .rng(&format!("poison/{job}"))
            .random_range(0..1_000_000u32);
        if poisoned < self.poison_ppm {
            return Fate::FailRetryable;
        }
        let roll = seeds
            .rng(&format!("fate/{job}/{attempt}"))
            .random_range(0..1_000_000u32);
        let mut edge = self.die_ppm;
        if roll < edge {
            return Fate::Die;
        }
        edge += self.fail_retryable_ppm;
        if roll < edge {
            return Fate::FailRetryable;
        }
        edge += self.fail_permanent_ppm;
        if roll < edge {
            return Fate::FailPermanent;
        }
        edge += self.complete_twice_ppm;
        if roll < edge {
            return Fate::CompleteTwice;
        }
        Fate::Complete
    }
}

/// A loaded scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub description: String,
    pub seed: u64,
    pub store_faults: Vec<(WriteTrigger, StoreFault)>,
    /// How generated runs end (scripted scenarios have none).
    pub fates: Option<Fates>,
    pub plan: Plan<Op>,
    /// Expectations by call index, with the line they were written on.
    pub expectations: BTreeMap<usize, (Expect, usize)>,
    /// Replicas and calls in flight: `None` for a sequential scenario.
    pub concurrency: Option<ConcurrencySpec>,
}

impl Scenario {
    pub fn load(source: &Source, seed: Option<u64>) -> Result<Self> {
        let spec: Spec = source.parse()?;
        let seed = seed.unwrap_or(spec.seed);
        let defaults = &spec.defaults;

        let mut store_faults = Vec::new();
        for fault in &spec.faults {
            let f = fault.get_ref();
            let trigger = WriteTrigger::from_spec(f.nth, f.probability)
                .ok_or_else(|| source.error_at_span(fault.span(), STORE_FAULT_USAGE.into()))?;
            let FaultKind::CrashBeforeStoreWrite = f.fault;
            store_faults.push((trigger, StoreFault::CrashBeforeWrite));
        }

        let mut actions = Vec::new();
        let mut expectations = BTreeMap::new();
        let mut labels = BTreeSet::new();
        let mut calls = 0;
        for step in &spec.steps {
            let span = step.span();
            let line = source.line_of(span.start);
            let s = step.get_ref();
            let err = |m: String| source.error_at_span(span.clone(), m);
            if let Some(ms) = s.advance_ms {
                actions.push(Action::Advance(ms));
            }
            let known = |labels: &BTreeSet<String>, job: &String| -> Result<String> {
                if labels.contains(job) {
                    Ok(job.clone())
                } else {
                    Err(err(format!(
                        "no earlier enqueue step is labelled {job:?} (as = ...)"
                    )))
                }
            };
            let lease_ms = s.lease_ms.unwrap_or(defaults.lease_ms);
            let mut ops = Vec::new();
            if let Some(e) = &s.enqueue {
                let label = e.label.clone().unwrap_or_else(|| format!("j{calls}"));
                let schedule = match (e.delay_ms, e.at_ms) {
                    (None, None) => Schedule::Now,
                    (Some(ms), None) => Schedule::DelayMs(ms),
                    (None, Some(ms)) => Schedule::AtMs(ms),
                    (Some(_), Some(_)) => {
                        return Err(err("an enqueue takes delay-ms or at-ms, not both".into()));
                    }
                };
                let backoff = e.backoff.unwrap_or(defaults.backoff);
                ops.push(Op::Enqueue(Box::new(JobSpec {
                    label: label.clone(),
                    kind: e.kind.clone().unwrap_or_else(|| defaults.kind.clone()),
                    priority: e.priority.unwrap_or(defaults.priority),
                    max_attempts: e.max_attempts.unwrap_or(defaults.max_attempts),
                    backoff_base_ms: backoff.base_ms,
                    backoff_cap_ms: backoff.cap_ms,
                    schedule,
                    dedup_key: e.dedup_key.clone(),
                })));
                labels.insert(label);
            }
            if let Some(worker) = &s.lease {
                ops.push(Op::Lease {
                    worker: worker.clone(),
                    lease_ms,
                });
            }
            if let Some(worker) = &s.heartbeat {
                ops.push(Op::Heartbeat {
                    worker: worker.clone(),
                    lease_ms,
                });
            }
            if let Some(worker) = &s.complete {
                ops.push(Op::Complete {
                    worker: worker.clone(),
                });
            }
            if let Some(worker) = &s.complete_again {
                ops.push(Op::CompleteAgain {
                    worker: worker.clone(),
                });
            }
            if let Some(worker) = &s.fail {
                ops.push(Op::Fail {
                    worker: worker.clone(),
                    retryable: s.retryable.unwrap_or(true),
                });
            } else if s.retryable.is_some() {
                return Err(err("retryable belongs to a fail step".into()));
            }
            if let Some(job) = &s.status {
                ops.push(Op::Status {
                    job: known(&labels, job)?,
                });
            }
            if s.dead_letters == Some(true) {
                ops.push(Op::DeadLetters);
            }
            if let Some(job) = &s.requeue {
                ops.push(Op::Requeue {
                    job: known(&labels, job)?,
                });
            }
            if s.crash == Some(true) {
                ops.push(Op::Crash);
            }
            if s.lease_ms.is_some() && s.lease.is_none() && s.heartbeat.is_none() {
                return Err(err("lease-ms belongs to a lease or heartbeat step".into()));
            }
            if ops.len() > 1 {
                return Err(err("a step does one thing".into()));
            }
            let Some(op) = ops.pop() else {
                if s.expect.is_some() {
                    return Err(err("expect belongs to a step that calls the queue".into()));
                }
                if s.advance_ms.is_none() {
                    return Err(err(
                        "empty step: give one of enqueue, lease, heartbeat, complete, complete-again, fail, status, dead-letters, requeue, crash or advance-ms".into(),
                    ));
                }
                continue;
            };
            if let Some(expect) = &s.expect {
                if spec.concurrency.is_some() {
                    return Err(err(crate::concurrent::NO_EXPECT.into()));
                }
                expectations.insert(calls, (expect.clone(), line));
            }
            actions.push(Action::Call(op));
            calls += 1;
        }
        let mut fates = None;
        if let Some(generate) = &spec.generate {
            fates = Some(generate_workload(
                source,
                generate,
                defaults,
                SeedTree::new(seed),
                &mut actions,
            )?);
        }
        let concurrency = crate::concurrent::section(source, spec.concurrency.as_ref())?;
        Ok(Scenario {
            name: source.name.clone(),
            file: source.file.clone(),
            description: spec.description,
            seed,
            store_faults,
            fates,
            plan: Plan {
                start_ms: spec.start_ms,
                actions,
            },
            expectations,
            concurrency,
        })
    }
}

/// What happens next in a generated workload, in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    Enqueue,
    Lease(u64),
    Finish(u64),
    Crash,
}

/// Producers enqueue `jobs` jobs; `workers` workers loop lease, work,
/// finish (the job's fate decides how, at run time); the queue crashes
/// between calls now and then; a reader checks statuses and the dead-letter
/// queue. Workers go on for `drain-ms` after the last enqueue.
fn generate_workload(
    source: &Source,
    generate: &Spanned<GenerateSpec>,
    defaults: &Defaults,
    seeds: SeedTree,
    actions: &mut Vec<Action<Op>>,
) -> Result<Fates> {
    let spec = generate.get_ref();
    let err = |m: String| source.error_at_span(generate.span(), m);
    if spec.jobs == 0 || spec.jobs > MAX_JOBS {
        return Err(err(format!("jobs must be 1..={MAX_JOBS}")));
    }
    if spec.workers == 0 || spec.workers > MAX_WORKERS {
        return Err(err(format!("workers must be 1..={MAX_WORKERS}")));
    }
    let share =
        |p: Option<f64>, name: &str| crate::scenario::share(p.unwrap_or(0.0), name).map_err(err);
    let failures = share(Some(spec.worker_failures), "worker-failures")?;
    let delayed = share(spec.delayed, "delayed")?;
    let poison = share(spec.poison, "poison")?;
    let interval = spec.interval_ms.unwrap_or(Range { min: 0, max: 200 });
    let work = spec.work_ms.unwrap_or(Range {
        min: 50,
        max: 2_000,
    });
    if interval.min > interval.max || work.min > work.max {
        return Err(err("a range's min is above its max".into()));
    }
    let priorities = spec.priorities.unwrap_or(4).max(1);
    let drain_ms = spec.drain_ms.unwrap_or(120_000);
    let ppm = |share: f64| crate::scenario::ppm(failures * share);
    let fates = Fates {
        poison_ppm: crate::scenario::ppm(poison),
        die_ppm: ppm(0.2),
        fail_retryable_ppm: ppm(0.5),
        fail_permanent_ppm: ppm(0.1),
        complete_twice_ppm: ppm(0.2),
    };

    let mut rng = seeds.rng("workload");
    // (time, tie-break, what): a deterministic event queue.
    let mut events: BTreeSet<(u64, u64, Next)> = BTreeSet::new();
    let mut order = 0u64;
    let tick = spec.tick_ms.unwrap_or(0).max(1);
    let mut push = |events: &mut BTreeSet<_>, at: u64, next: Next| {
        order += 1;
        let at = at.div_ceil(tick).saturating_mul(tick);
        events.insert((at, order, next));
    };
    push(&mut events, 0, Next::Enqueue);
    for w in 0..spec.workers {
        push(&mut events, rng.random_range(0..=work.max), Next::Lease(w));
    }
    // The enqueues' span, estimated from the mean interval, for the crashes.
    let span = spec.jobs * (interval.min + interval.max) / 2 + drain_ms;
    let crashes = spec.crashes.unwrap_or(0);
    for i in 1..=crashes {
        push(&mut events, span * i / (crashes + 1), Next::Crash);
    }
    let mut now = 0u64;
    let mut enqueued = 0u64;
    let mut last_enqueue = 0u64;
    while let Some((at, _, next)) = events.pop_first() {
        if enqueued == spec.jobs && at > last_enqueue + drain_ms {
            break;
        }
        if at > now {
            actions.push(Action::Advance(at - now));
            now = at;
        }
        match next {
            Next::Enqueue => {
                let label = format!("j{enqueued}");
                let schedule = if rng.random_bool(delayed) {
                    Schedule::DelayMs(rng.random_range(1..=30_000))
                } else {
                    Schedule::Now
                };
                // A producer that sometimes sends the same job twice.
                let dedup_key = rng
                    .random_bool(0.05)
                    .then(|| format!("order-{}", enqueued.saturating_sub(rng.random_range(0..3))));
                actions.push(Action::Call(Op::Enqueue(Box::new(JobSpec {
                    label,
                    kind: defaults.kind.clone(),
                    priority: rng.random_range(0..priorities),
                    max_attempts: defaults.max_attempts,
                    backoff_base_ms: defaults.backoff.base_ms,
                    backoff_cap_ms: defaults.backoff.cap_ms,
                    schedule,
                    dedup_key,
                }))));
                enqueued += 1;
                last_enqueue = now;
                // Now and then someone looks at a job, or at the dead letters.
                let roll = rng.random_range(0..100u32);
                if roll < 5 {
                    let job = format!("j{}", rng.random_range(0..enqueued));
                    actions.push(Action::Call(Op::Status { job }));
                } else if roll < 6 {
                    actions.push(Action::Call(Op::DeadLetters));
                }
                if enqueued < spec.jobs {
                    let gap = rng.random_range(interval.min..=interval.max);
                    push(&mut events, now + gap, Next::Enqueue);
                }
            }
            Next::Lease(w) => {
                actions.push(Action::Call(Op::Lease {
                    worker: format!("w{w}"),
                    lease_ms: defaults.lease_ms,
                }));
                // Now and then a run outlasts its lease: its report comes
                // too late.
                let took = if rng.random_bool(0.01) {
                    defaults.lease_ms + rng.random_range(1..=work.max.max(1))
                } else {
                    rng.random_range(work.min..=work.max)
                };
                push(&mut events, now + took, Next::Finish(w));
            }
            Next::Finish(w) => {
                actions.push(Action::Call(Op::Finish {
                    worker: format!("w{w}"),
                }));
                push(&mut events, now + rng.random_range(0..=100), Next::Lease(w));
            }
            Next::Crash => actions.push(Action::Call(Op::Crash)),
        }
    }
    Ok(fates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Scenario> {
        let source = Source {
            name: "t".into(),
            file: "t.toml".into(),
            text: format!(
                "format = 1\ndescription = \"t\"\nseed = 1\n{text}\n[[steps]]\nenqueue = {{ as = \"a\" }}\n"
            ),
        };
        Scenario::load(&source, None)
    }

    #[test]
    fn a_concurrency_section_is_read_and_checked_with_its_line() {
        let ok = load("[concurrency]\nreplicas = 2\nin-flight = 4\nscheduler = { strategy = \"pct\", depth = 2, steps = 50 }\n").unwrap();
        let spec = ok.concurrency.expect("a concurrent scenario");
        assert_eq!((spec.replicas, spec.in_flight), (2, 4));
        assert_eq!(spec.routing, crate::concurrent::Routing::RoundRobin);
        // The section's line for what is wrong with it as a whole, the
        // value's own for a value that does not parse.
        for (section, line, wanted) in [
            (
                "replicas = 0\nin-flight = 4\nscheduler = { strategy = \"uniform\" }",
                4,
                "replicas must be 1..=16",
            ),
            (
                "replicas = 2\nin-flight = 0\nscheduler = { strategy = \"uniform\" }",
                4,
                "in-flight must be 1..=1024",
            ),
            (
                "replicas = 2\nin-flight = 2\nscheduler = { strategy = \"pct\", depth = 0, steps = 9 }",
                4,
                "depth and steps must be at least 1",
            ),
            (
                "replicas = 2\nin-flight = 2\nscheduler = { strategy = \"random\" }",
                7,
                "unknown variant `random`",
            ),
            (
                "replicas = 2\nin-flight = 2",
                4,
                "missing field `scheduler`",
            ),
        ] {
            let e = load(&format!("[concurrency]\n{section}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(wanted) && e.starts_with(&format!("t.toml:{line}:")),
                "{section}: {e}"
            );
        }
    }

    #[test]
    fn a_concurrent_scenario_takes_no_expectations() {
        let e = load("[concurrency]\nreplicas = 2\nin-flight = 2\nscheduler = { strategy = \"uniform\" }\n[[steps]]\nlease = \"w1\"\nexpect = { none = true }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("depend on the interleaving"), "{e}");
    }
}
