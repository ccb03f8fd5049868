//! The queue: the durable records, the in-memory indexes rebuilt from them,
//! and the operations of `gauntlet:jobs/queue`.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

use super::records::{
    COUNTERS_KEY, Counters, JOB_PREFIX, JOURNAL_PREFIX, JobRecord, StoredState, VERSION_KEY,
    job_id, job_key, journal_key, lease_token, parse_job_id,
};
use super::types::{
    Clock, Condition, DeadReason, InvalidField, JobSpec, JobStatus, LeasedJob, QueueError,
    Reference, Rules, Schedule, Store, Write,
};

/// How many records [`Queue::recover`] asks the store for at a time.
pub const SCAN_PAGE: u32 = 256;

/// The reference job queue over a durable store and a clock, applying the
/// delivery rules `R` (the reference's unless an example plugin says
/// otherwise).
///
/// The store is the truth; what the queue holds in memory is an index of it
/// (every record, plus the orders the operations need), built from the
/// store on the first call of an instance or by [`Queue::recover`]. Every
/// call saves what it changed in one store transaction at its end, so a
/// crash at any point leaves the store as it was before the call or after
/// it, never in between.
pub struct Queue<S, C, R = Reference> {
    store: S,
    clock: C,
    /// `None` until the store has been read.
    index: Option<Index>,
    rules: PhantomData<R>,
}

impl<S: Store, C: Clock, R: Rules> Queue<S, C, R> {
    /// A queue over `store`; nothing is read before the first call.
    pub fn new(store: S, clock: C) -> Self {
        Queue {
            store,
            clock,
            index: None,
            rules: PhantomData,
        }
    }

    /// Forgets the in-memory index and rebuilds it from the store. Leases
    /// that ran out while no instance was serving are settled by the next
    /// call, at their `expires-ms`, as if the queue had never stopped.
    pub fn recover(&mut self) {
        self.index = None;
        self.refresh_index();
    }

    pub fn enqueue(&mut self, spec: JobSpec) -> Result<String, QueueError> {
        self.call(|index, now| index.enqueue::<R>(spec.clone(), now))
    }

    pub fn lease(&mut self, worker: &str, lease_ms: u64) -> Result<Option<LeasedJob>, QueueError> {
        self.call(|index, now| index.lease::<R>(worker, lease_ms, now))
    }

    pub fn heartbeat(&mut self, job: &str, token: &str, lease_ms: u64) -> Result<u64, QueueError> {
        self.call(|index, now| index.heartbeat::<R>(job, token, lease_ms, now))
    }

    pub fn complete(&mut self, job: &str, token: &str) -> Result<(), QueueError> {
        self.call(|index, _| index.complete::<R>(job, token))
    }

    /// The message is the worker's, for logs; the queue keeps nothing of
    /// it.
    pub fn fail(
        &mut self,
        job: &str,
        token: &str,
        _message: &str,
        retryable: bool,
    ) -> Result<(), QueueError> {
        self.call(|index, now| index.fail::<R>(job, token, retryable, now))
    }

    pub fn status(&mut self, job: &str) -> Result<JobStatus, QueueError> {
        self.call(|index, _| index.find(job).map(|seq| index.jobs[&seq].status()))
    }

    pub fn dead_letters(&mut self) -> Vec<JobStatus> {
        self.call(|index, _| {
            index
                .dead
                .iter()
                .map(|(_, seq)| index.jobs[seq].status())
                .collect()
        })
    }

    pub fn requeue(&mut self, job: &str) -> Result<(), QueueError> {
        self.call(|index, now| index.requeue::<R>(job, now))
    }

    /// Every call: read the clock once; read the store's version and, if
    /// another instance saved since this one read the store, rebuild the
    /// index; settle what time alone changed (leases that ran out, jobs
    /// whose instant came); serve the call; save every record that changed
    /// and the next version in one transaction, on condition that the
    /// version is still the one read. If another instance saved in between,
    /// the transaction is refused and the call is served again from a fresh
    /// index: so replicas over one store act as one queue.
    fn call<T>(&mut self, mut serve: impl FnMut(&mut Index, u64) -> T) -> T {
        let now = self.clock.now_ms();
        for _ in 0..MAX_CONFLICTS {
            if !R::keeps_index() {
                self.index = None;
            }
            self.refresh_index();
            let mut index = self.index.take().expect("an index");
            index.advance::<R>(now);
            let answer = serve(&mut index, now);
            let changed: Vec<u64> = index.dirty.iter().copied().collect();
            let mut writes = index.take_writes();
            if writes.is_empty() {
                self.index = Some(index);
                return answer;
            }
            let read = index.version.clone();
            let n = version_number(read.as_deref()) + 1;
            let next = n.to_string().into_bytes();
            writes.push(Write {
                key: VERSION_KEY.to_string(),
                value: Some(next.clone()),
            });
            // The journal: which jobs this save changed, for the other
            // instances to catch up by; the oldest entry kept goes.
            writes.push(Write {
                key: journal_key(n),
                value: Some(serde_json::to_vec(&changed).expect("a journal entry serialises")),
            });
            if n > JOURNAL_KEEP {
                writes.push(Write {
                    key: journal_key(n - JOURNAL_KEEP),
                    value: None,
                });
            }
            let condition = [Condition {
                key: VERSION_KEY.to_string(),
                expected: read,
            }];
            let conditions: &[Condition] = if R::saves_conditionally() {
                &condition
            } else {
                &[]
            };
            match self.store.transact(conditions, &writes) {
                Ok(true) => {
                    index.version = Some(next);
                    self.index = Some(index);
                    return answer;
                }
                // Another instance saved first: what this one served is
                // void (the index is dropped); serve again from the store
                // as it now is.
                Ok(false) => {}
                // The instance is beyond saving: its memory is ahead of the
                // store. A trap discards it; the next instance recovers.
                Err(error) => panic!("failed to save the queue: {error}"),
            }
        }
        panic!("failed to save the queue: {MAX_CONFLICTS} conflicting saves in a row")
    }

    /// The index, brought up to the store's version if another instance
    /// saved since it was built: by the journal (re-reading only the jobs
    /// the saves since changed), or, if the journal no longer reaches back
    /// that far, by reading the whole store. Either reads the store in
    /// several calls; if the version moved meanwhile (another instance
    /// saved in between), it reads again, so the index is always one
    /// consistent state of the store.
    fn refresh_index(&mut self) {
        let mut version = self.store.get(VERSION_KEY);
        loop {
            let caught_up = match &mut self.index {
                Some(index) if index.version == version => return,
                Some(index) => index.catch_up::<R>(&mut self.store, version.as_deref()),
                None => false,
            };
            if !caught_up {
                self.index = Some(Index::load::<R>(&mut self.store));
            }
            let after = self.store.get(VERSION_KEY);
            if after == version {
                self.index.as_mut().expect("an index").version = version;
                return;
            }
            version = after;
        }
    }
}

/// Journal entries kept: an instance more saves behind than this reads the
/// whole store back.
pub const JOURNAL_KEEP: u64 = 256;

/// The number of saves a version names (absent: 0).
fn version_number(read: Option<&[u8]>) -> u64 {
    read.and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Saves in a row refused because other instances saved first, before a
/// call gives up (traps): a bound that a fair interleaving never reaches.
const MAX_CONFLICTS: u32 = 1_000;

/// Everything the queue knows, indexed: every job by sequence number, and
/// the orders the operations walk.
struct Index {
    jobs: BTreeMap<u64, JobRecord>,
    /// Every dedup key ever used, and the job that used it first.
    dedup: BTreeMap<String, u64>,
    /// Jobs that may run now, by ([`Rules::rank`], sequence number).
    ready: BTreeSet<((u8, u64), u64)>,
    /// Queued and retrying jobs whose instant is after `promoted_at`, by
    /// (instant, sequence number).
    waiting: BTreeSet<(u64, u64)>,
    /// Leases, by (`expires-ms`, sequence number): the order they run out
    /// in.
    expiries: BTreeSet<(u64, u64)>,
    /// The dead-letter queue, by (time of death, sequence number).
    dead: BTreeSet<(u64, u64)>,
    counters: Counters,
    /// The time of the last call: `ready` holds every waiting job whose
    /// instant is at or before it.
    promoted_at: u64,
    /// Jobs changed by this call, saved at its end.
    dirty: BTreeSet<u64>,
    /// The store's version this index was built from and kept up with
    /// (`None`: the key is absent, nothing was ever saved).
    version: Option<Vec<u8>>,
    counters_dirty: bool,
}

impl Index {
    /// Reads every record in the store.
    fn load<R: Rules>(store: &mut impl Store) -> Index {
        let mut counters: Counters = match store.get(COUNTERS_KEY) {
            Some(bytes) => serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("failed to read the queue's counters: {e}")),
            None => Counters::default(),
        };
        let mut index = Index {
            jobs: BTreeMap::new(),
            dedup: BTreeMap::new(),
            ready: BTreeSet::new(),
            waiting: BTreeSet::new(),
            expiries: BTreeSet::new(),
            dead: BTreeSet::new(),
            counters,
            promoted_at: 0,
            dirty: BTreeSet::new(),
            version: None,
            counters_dirty: false,
        };
        let mut after: Option<String> = None;
        loop {
            let page = store.scan(JOB_PREFIX, after.as_deref(), SCAN_PAGE);
            let full = page.len() == SCAN_PAGE as usize;
            for (key, bytes) in page {
                let record: JobRecord = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("failed to read job record {key}: {e}"));
                counters.last_job = counters.last_job.max(record.seq);
                index.insert::<R>(record);
                after = Some(key);
            }
            if !full {
                break;
            }
        }
        // The counters are saved with every job, so this changes nothing
        // unless the store was edited by hand.
        index.counters = counters;
        index
    }

    /// Brings the index from its version to `target` by the journal: every
    /// job the saves in between changed is read again, and the counters.
    /// False if the journal does not hold every one of those saves (the
    /// index is then to be rebuilt whole).
    fn catch_up<R: Rules>(&mut self, store: &mut impl Store, target: Option<&[u8]>) -> bool {
        let (from, to) = (
            version_number(self.version.as_deref()),
            version_number(target),
        );
        if to <= from || to - from > JOURNAL_KEEP {
            return false;
        }
        let entries = store.scan(JOURNAL_PREFIX, Some(&journal_key(from)), (to - from) as u32);
        let mut changed = BTreeSet::new();
        for (expected, (key, bytes)) in (from + 1..=to).zip(&entries) {
            if *key != journal_key(expected) {
                return false;
            }
            let seqs: Vec<u64> = serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("failed to read journal entry {key}: {e}"));
            changed.extend(seqs);
        }
        if entries.len() as u64 != to - from {
            return false;
        }
        for seq in changed {
            let key = job_key(seq);
            let Some(bytes) = store.get(&key) else {
                // Jobs are never deleted: the store moved on past this
                // read. Rebuild.
                return false;
            };
            let record: JobRecord = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("failed to read job record {key}: {e}"));
            if let Some(old) = self.jobs.remove(&seq) {
                self.unplace::<R>(seq, old.priority, &old.state);
            }
            self.insert::<R>(record);
        }
        self.counters = match store.get(COUNTERS_KEY) {
            Some(bytes) => serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("failed to read the queue's counters: {e}")),
            None => Counters::default(),
        };
        true
    }

    /// Adds a record to the index as it stands.
    fn insert<R: Rules>(&mut self, record: JobRecord) {
        let seq = record.seq;
        if let Some(key) = &record.dedup_key {
            self.dedup.entry(key.clone()).or_insert(seq);
        }
        self.place::<R>(seq, record.priority, &record.state);
        self.jobs.insert(seq, record);
    }

    fn place<R: Rules>(&mut self, seq: u64, priority: u8, state: &StoredState) {
        match *state {
            StoredState::Queued { run_at } | StoredState::Retrying { run_at } => {
                if run_at <= self.promoted_at {
                    self.ready.insert((R::rank(priority, seq), seq));
                } else {
                    self.waiting.insert((run_at, seq));
                }
            }
            StoredState::Leased { expires_ms, .. } => {
                self.expiries.insert((expires_ms, seq));
            }
            StoredState::Dead { died_at, .. } => {
                self.dead.insert((died_at, seq));
            }
            StoredState::Succeeded => {}
        }
    }

    fn unplace<R: Rules>(&mut self, seq: u64, priority: u8, state: &StoredState) {
        match *state {
            StoredState::Queued { run_at } | StoredState::Retrying { run_at } => {
                self.waiting.remove(&(run_at, seq));
                self.ready.remove(&(R::rank(priority, seq), seq));
            }
            StoredState::Leased { expires_ms, .. } => {
                self.expiries.remove(&(expires_ms, seq));
            }
            StoredState::Dead { died_at, .. } => {
                self.dead.remove(&(died_at, seq));
            }
            StoredState::Succeeded => {}
        }
    }

    /// Moves a job to `state`, re-indexes it and marks it to be saved.
    fn set_state<R: Rules>(&mut self, seq: u64, state: StoredState) {
        let job = self.jobs.get_mut(&seq).expect("an indexed job");
        let old = std::mem::replace(&mut job.state, state.clone());
        let priority = job.priority;
        self.unplace::<R>(seq, priority, &old);
        self.place::<R>(seq, priority, &state);
        self.dirty.insert(seq);
    }

    /// Settles everything time alone changed up to `now`: every lease with
    /// `expires-ms <= now` ran out (in order of `expires-ms`, then enqueue
    /// order), then every waiting job whose instant came becomes runnable.
    fn advance<R: Rules>(&mut self, now: u64) {
        if now < self.promoted_at {
            // The clock went back (never in this track's scenarios): jobs
            // whose instant is again in the future wait again.
            let early: Vec<_> = self
                .ready
                .iter()
                .filter_map(|&(rank, seq)| {
                    let run_at = self.jobs[&seq].state.run_at()?;
                    (run_at > now).then_some((rank, seq, run_at))
                })
                .collect();
            for (rank, seq, run_at) in early {
                self.ready.remove(&(rank, seq));
                self.waiting.insert((run_at, seq));
            }
        }
        while let Some(&(expires_ms, seq)) = self.expiries.first()
            && expires_ms <= now
        {
            self.expiries.pop_first();
            self.expire::<R>(seq, expires_ms);
        }
        while let Some(&(run_at, seq)) = self.waiting.first()
            && run_at <= now
        {
            self.waiting.pop_first();
            let priority = self.jobs[&seq].priority;
            self.ready.insert((R::rank(priority, seq), seq));
        }
        self.promoted_at = now;
    }

    /// A lease ran out at `at`: a failed run at `at`. (A succeeded job's
    /// expiry only fires when [`Rules::complete_cancels_expiry`] is false.)
    fn expire<R: Rules>(&mut self, seq: u64, at: u64) {
        if matches!(
            self.jobs[&seq].state,
            StoredState::Leased { .. } | StoredState::Succeeded
        ) {
            self.failed_run::<R>(seq, at, true);
        }
    }

    /// The job's current run failed at `at`: it waits for its backoff, or
    /// dies.
    fn failed_run<R: Rules>(&mut self, seq: u64, at: u64, retryable: bool) {
        let job = &self.jobs[&seq];
        let state = if !retryable {
            StoredState::Dead {
                reason: DeadReason::PermanentFailure,
                died_at: at,
            }
        } else if R::may_retry(job.attempts, job.max_attempts) {
            StoredState::Retrying {
                run_at: R::retry_at(job.backoff, job.attempts, at),
            }
        } else {
            StoredState::Dead {
                reason: DeadReason::AttemptsExhausted,
                died_at: at,
            }
        };
        self.set_state::<R>(seq, state);
    }

    /// The job an id names.
    fn find(&self, id: &str) -> Result<u64, QueueError> {
        parse_job_id(id)
            .filter(|seq| self.jobs.contains_key(seq))
            .ok_or(QueueError::NotFound)
    }

    /// The job an id names, if `token` is its current lease (one that has
    /// not run out: [`Index::advance`] settled those); and the lease's
    /// worker and `expires-ms`.
    fn leased<R: Rules>(&self, id: &str, token: &str) -> Result<(u64, String, u64), QueueError> {
        let seq = self.find(id)?;
        match &self.jobs[&seq].state {
            StoredState::Leased {
                worker,
                token: current,
                expires_ms,
            } if current == token || !R::checks_token() => Ok((seq, worker.clone(), *expires_ms)),
            _ => Err(QueueError::StaleLease),
        }
    }

    fn enqueue<R: Rules>(&mut self, spec: JobSpec, now: u64) -> Result<String, QueueError> {
        if spec.kind.is_empty() {
            return Err(QueueError::Invalid(InvalidField::Kind));
        }
        if spec.max_attempts == 0 {
            return Err(QueueError::Invalid(InvalidField::MaxAttempts));
        }
        if let Some(&seq) = spec.dedup_key.as_ref().and_then(|k| self.dedup.get(k))
            && (R::dedup_outlives_success()
                || !matches!(self.jobs[&seq].state, StoredState::Succeeded))
        {
            return Ok(job_id(seq));
        }
        let seq = self.counters.last_job + 1;
        self.counters.last_job = seq;
        self.counters_dirty = true;
        let run_at = match spec.schedule {
            Schedule::Now => now,
            Schedule::DelayMs(delay) => now.saturating_add(delay),
            Schedule::AtMs(at) => at.max(now),
        };
        self.insert::<R>(JobRecord {
            seq,
            kind: spec.kind,
            payload: spec.payload,
            priority: spec.priority,
            max_attempts: spec.max_attempts,
            backoff: spec.backoff,
            dedup_key: spec.dedup_key,
            attempts: 0,
            state: StoredState::Queued { run_at },
        });
        self.dirty.insert(seq);
        Ok(job_id(seq))
    }

    fn lease<R: Rules>(
        &mut self,
        worker: &str,
        lease_ms: u64,
        now: u64,
    ) -> Result<Option<LeasedJob>, QueueError> {
        if lease_ms == 0 {
            return Err(QueueError::Invalid(InvalidField::LeaseMs));
        }
        let Some(&(_, seq)) = self.ready.first() else {
            return Ok(None);
        };
        self.counters.last_lease += 1;
        self.counters_dirty = true;
        let token = lease_token(self.counters.last_lease);
        let expires_ms = now.saturating_add(lease_ms);
        let job = self.jobs.get_mut(&seq).expect("a ready job is indexed");
        job.attempts = job.attempts.saturating_add(1);
        let lease = LeasedJob {
            job_id: job.id(),
            token: token.clone(),
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            attempt: job.attempts,
            expires_ms,
        };
        self.set_state::<R>(
            seq,
            StoredState::Leased {
                worker: worker.to_string(),
                token,
                expires_ms,
            },
        );
        Ok(Some(lease))
    }

    fn heartbeat<R: Rules>(
        &mut self,
        id: &str,
        token: &str,
        lease_ms: u64,
        now: u64,
    ) -> Result<u64, QueueError> {
        if lease_ms == 0 {
            return Err(QueueError::Invalid(InvalidField::LeaseMs));
        }
        let (seq, worker, _) = self.leased::<R>(id, token)?;
        let expires_ms = now.saturating_add(lease_ms);
        self.set_state::<R>(
            seq,
            StoredState::Leased {
                worker,
                token: token.to_string(),
                expires_ms,
            },
        );
        Ok(expires_ms)
    }

    fn complete<R: Rules>(&mut self, id: &str, token: &str) -> Result<(), QueueError> {
        let (seq, _, expires_ms) = self.leased::<R>(id, token)?;
        self.set_state::<R>(seq, StoredState::Succeeded);
        if !R::complete_cancels_expiry() {
            self.expiries.insert((expires_ms, seq));
        }
        Ok(())
    }

    fn fail<R: Rules>(
        &mut self,
        id: &str,
        token: &str,
        retryable: bool,
        now: u64,
    ) -> Result<(), QueueError> {
        let (seq, _, _) = self.leased::<R>(id, token)?;
        self.failed_run::<R>(seq, now, retryable);
        Ok(())
    }

    fn requeue<R: Rules>(&mut self, id: &str, now: u64) -> Result<(), QueueError> {
        let seq = self.find(id)?;
        let job = self.jobs.get_mut(&seq).expect("a found job is indexed");
        if !matches!(job.state, StoredState::Dead { .. }) {
            return Err(QueueError::NotDead);
        }
        job.attempts = 0;
        self.set_state::<R>(seq, StoredState::Queued { run_at: now });
        Ok(())
    }

    /// The writes that save this call's changes (and forgets them).
    fn take_writes(&mut self) -> Vec<Write> {
        let mut writes: Vec<Write> = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|seq| Write {
                key: job_key(seq),
                value: Some(serde_json::to_vec(&self.jobs[&seq]).expect("a record serialises")),
            })
            .collect();
        if std::mem::take(&mut self.counters_dirty) {
            writes.push(Write {
                key: COUNTERS_KEY.to_string(),
                value: Some(serde_json::to_vec(&self.counters).expect("counters serialise")),
            });
        }
        writes
    }
}
