//! The queue's logic, free of the bindings: it takes the time as an
//! argument and hands back the records to save, so it also runs (and is
//! tested) natively.
//!
//! Nothing clever: the jobs are one `Vec` in enqueue order, and every call
//! walks all of it (to find the leases that ran out, the job to lease, the
//! owner of a dedup key, the dead letters). How an instance keeps this copy
//! in step with the store that other replicas write too is
//! [`crate::replica`]'s business.

use serde::{Deserialize, Serialize};

/// The prefix of every record of the queue, the prefix of the jobs, and
/// the key of the counters and version.
pub const PREFIX: &str = "naive/";
pub const JOB_PREFIX: &str = "naive/job/";
pub const META_KEY: &str = "naive/meta";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Queued (`retry` false) or failed-retrying (`retry` true), runnable
    /// from `from`.
    Waiting {
        from: u64,
        retry: bool,
    },
    Running {
        worker: String,
        token: String,
        until: u64,
    },
    Done,
    Dead {
        permanent: bool,
        at: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub kind: String,
    pub payload: String,
    pub priority: u8,
    pub max_attempts: u32,
    pub base_ms: u64,
    pub cap_ms: u64,
    pub dedup: Option<String>,
    pub runs: u32,
    pub stage: Stage,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub jobs: u64,
    pub tokens: u64,
    /// The store's generation: one more on every save (absent, 0, in a
    /// store saved before there were replicas). No two saves leave the same
    /// meta record, so an instance knows its copy is current when the
    /// record still holds the bytes it loaded or last saved.
    #[serde(default)]
    pub version: u64,
}

/// What a call was refused for (the WIT's `queue-error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    StaleLease,
    NotDead,
    EmptyKind,
    NoAttempts,
    ZeroLease,
}

#[derive(Clone)]
pub struct Spec {
    pub kind: String,
    pub payload: String,
    pub priority: u8,
    pub max_attempts: u32,
    pub base_ms: u64,
    pub cap_ms: u64,
    /// The instant the job may first run.
    pub start: Start,
    pub dedup: Option<String>,
}

#[derive(Clone)]
pub enum Start {
    Now,
    After(u64),
    At(u64),
}

/// A lease handed out: job index, token, and the rest of the WIT record.
pub struct Handed {
    pub index: usize,
    pub token: String,
    pub kind: String,
    pub payload: String,
    pub attempt: u32,
    pub until: u64,
}

#[derive(Default)]
pub struct Queue {
    pub jobs: Vec<Job>,
    pub meta: Meta,
    /// Indexes of jobs changed since the last [`Queue::take_writes`].
    changed: Vec<usize>,
    meta_changed: bool,
}

/// The job's id: `j` and its 1-based place in enqueue order.
pub fn id_of(index: usize) -> String {
    format!("j{}", index + 1)
}

/// min(base * 2^(n-1), cap), saturating.
pub fn backoff(base: u64, cap: u64, n: u32) -> u64 {
    let mut delay = base;
    for _ in 1..n {
        if delay == 0 || delay >= cap {
            break;
        }
        delay = delay.saturating_mul(2);
    }
    delay.min(cap)
}

impl Queue {
    /// Rebuilds the queue from every record under the naive prefix.
    pub fn load(records: impl IntoIterator<Item = (String, Vec<u8>)>) -> Queue {
        let mut queue = Queue::default();
        let mut jobs: Vec<(usize, Job)> = Vec::new();
        for (key, value) in records {
            if key == META_KEY {
                queue.meta = serde_json::from_slice(&value).expect("the meta record");
            } else if let Some(n) = key.strip_prefix(JOB_PREFIX) {
                let n: usize = n.parse().expect("a job key");
                jobs.push((n, serde_json::from_slice(&value).expect("a job record")));
            }
        }
        jobs.sort_by_key(|(n, _)| *n);
        queue.jobs = jobs.into_iter().map(|(_, job)| job).collect();
        queue
    }

    /// The records changed since the last call, to save in one
    /// transaction: none if nothing changed; otherwise the jobs changed and,
    /// last, the meta record with the next version.
    pub fn take_writes(&mut self) -> Vec<(String, Vec<u8>)> {
        if self.changed.is_empty() && !self.meta_changed {
            return Vec::new();
        }
        self.meta.version += 1;
        self.meta_changed = false;
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        let mut writes: Vec<(String, Vec<u8>)> = changed
            .into_iter()
            .map(|i| {
                (
                    format!("{JOB_PREFIX}{i:08}"),
                    serde_json::to_vec(&self.jobs[i]).unwrap(),
                )
            })
            .collect();
        writes.push((
            META_KEY.to_string(),
            serde_json::to_vec(&self.meta).unwrap(),
        ));
        writes
    }

    fn touch(&mut self, index: usize) {
        self.changed.push(index);
    }

    fn find(&self, id: &str) -> Result<usize, Refusal> {
        let n: usize = id
            .strip_prefix('j')
            .filter(|d| !d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or(Refusal::NotFound)?;
        if n >= 1 && n <= self.jobs.len() {
            Ok(n - 1)
        } else {
            Err(Refusal::NotFound)
        }
    }

    /// The run of the job at `index` failed at `at`.
    fn failed(&mut self, index: usize, at: u64, retryable: bool) {
        let job = &mut self.jobs[index];
        job.stage = if !retryable {
            Stage::Dead {
                permanent: true,
                at,
            }
        } else if job.runs >= job.max_attempts {
            Stage::Dead {
                permanent: false,
                at,
            }
        } else {
            Stage::Waiting {
                from: at.saturating_add(backoff(job.base_ms, job.cap_ms, job.runs)),
                retry: true,
            }
        };
        self.touch(index);
    }

    /// Every lease that ran out by `now` failed at its end, earliest first.
    pub fn settle(&mut self, now: u64) {
        let mut ran_out: Vec<(u64, usize)> = self
            .jobs
            .iter()
            .enumerate()
            .filter_map(|(i, job)| match job.stage {
                Stage::Running { until, .. } if until <= now => Some((until, i)),
                _ => None,
            })
            .collect();
        ran_out.sort();
        for (until, i) in ran_out {
            self.failed(i, until, true);
        }
    }

    pub fn enqueue(&mut self, spec: Spec, now: u64) -> Result<usize, Refusal> {
        if spec.kind.is_empty() {
            return Err(Refusal::EmptyKind);
        }
        if spec.max_attempts == 0 {
            return Err(Refusal::NoAttempts);
        }
        if let Some(key) = &spec.dedup
            && let Some(i) = self
                .jobs
                .iter()
                .position(|job| job.dedup.as_ref() == Some(key))
        {
            return Ok(i);
        }
        let from = match spec.start {
            Start::Now => now,
            Start::After(ms) => now.saturating_add(ms),
            Start::At(at) => at.max(now),
        };
        self.jobs.push(Job {
            kind: spec.kind,
            payload: spec.payload,
            priority: spec.priority,
            max_attempts: spec.max_attempts,
            base_ms: spec.base_ms,
            cap_ms: spec.cap_ms,
            dedup: spec.dedup,
            runs: 0,
            stage: Stage::Waiting { from, retry: false },
        });
        self.meta.jobs += 1;
        self.meta_changed = true;
        let index = self.jobs.len() - 1;
        self.touch(index);
        Ok(index)
    }

    pub fn lease(&mut self, worker: &str, ms: u64, now: u64) -> Result<Option<Handed>, Refusal> {
        if ms == 0 {
            return Err(Refusal::ZeroLease);
        }
        let mut best: Option<usize> = None;
        for (i, job) in self.jobs.iter().enumerate() {
            if let Stage::Waiting { from, .. } = job.stage
                && from <= now
                && best.is_none_or(|b| job.priority > self.jobs[b].priority)
            {
                best = Some(i);
            }
        }
        let Some(i) = best else {
            return Ok(None);
        };
        self.meta.tokens += 1;
        self.meta_changed = true;
        let token = format!("t{}", self.meta.tokens);
        let until = now.saturating_add(ms);
        let job = &mut self.jobs[i];
        job.runs += 1;
        job.stage = Stage::Running {
            worker: worker.to_string(),
            token: token.clone(),
            until,
        };
        let handed = Handed {
            index: i,
            token,
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            attempt: job.runs,
            until,
        };
        self.touch(i);
        Ok(Some(handed))
    }

    /// The job an id names, if `token` is its lease (still running: settled
    /// leases are no longer running).
    fn holder(&self, id: &str, token: &str) -> Result<usize, Refusal> {
        let i = self.find(id)?;
        match &self.jobs[i].stage {
            Stage::Running { token: t, .. } if t == token => Ok(i),
            _ => Err(Refusal::StaleLease),
        }
    }

    pub fn heartbeat(&mut self, id: &str, token: &str, ms: u64, now: u64) -> Result<u64, Refusal> {
        if ms == 0 {
            return Err(Refusal::ZeroLease);
        }
        let i = self.holder(id, token)?;
        let new_until = now.saturating_add(ms);
        if let Stage::Running { until, .. } = &mut self.jobs[i].stage {
            *until = new_until;
        }
        self.touch(i);
        Ok(new_until)
    }

    pub fn complete(&mut self, id: &str, token: &str) -> Result<(), Refusal> {
        let i = self.holder(id, token)?;
        self.jobs[i].stage = Stage::Done;
        self.touch(i);
        Ok(())
    }

    pub fn fail(
        &mut self,
        id: &str,
        token: &str,
        retryable: bool,
        now: u64,
    ) -> Result<(), Refusal> {
        let i = self.holder(id, token)?;
        self.failed(i, now, retryable);
        Ok(())
    }

    pub fn status(&self, id: &str) -> Result<usize, Refusal> {
        self.find(id)
    }

    /// Indexes of the dead jobs, by time of death then enqueue order.
    pub fn dead_letters(&self) -> Vec<usize> {
        let mut dead: Vec<(u64, usize)> = self
            .jobs
            .iter()
            .enumerate()
            .filter_map(|(i, job)| match job.stage {
                Stage::Dead { at, .. } => Some((at, i)),
                _ => None,
            })
            .collect();
        dead.sort();
        dead.into_iter().map(|(_, i)| i).collect()
    }

    pub fn requeue(&mut self, id: &str, now: u64) -> Result<(), Refusal> {
        let i = self.find(id)?;
        if !matches!(self.jobs[i].stage, Stage::Dead { .. }) {
            return Err(Refusal::NotDead);
        }
        self.jobs[i].runs = 0;
        self.jobs[i].stage = Stage::Waiting {
            from: now,
            retry: false,
        };
        self.touch(i);
        Ok(())
    }
}
