//! The reference job queue, independent of the component model: plain Rust
//! generic over two small traits that mirror the imports ([`Store`],
//! [`Clock`]) and over the delivery [`Rules`], so it runs natively in tests.
//! No randomness, no real time: every clock reading comes from [`Clock`],
//! and everything that must survive a crash is in the [`Store`].
//!
//! The specification is the track's brief and `wit/jobs/jobs.wit`; where
//! they are silent, this module decides, and every answer of a learner's
//! queue is diffed against this one.
//!
//! # Store layout
//!
//! Keys are ordered bytewise; values are JSON.
//!
//! | key | value |
//! |---|---|
//! | `version` | the number of saves so far, in decimal (absent: none yet) |
//! | `journal/{n:020}` | the sequence numbers of the jobs save `n` changed, a JSON array (the last 256 saves only) |
//! | `counters` | [`Counters`]: the last job sequence number and the last lease number (absent: both 0) |
//! | `job/{seq:020}` | [`JobRecord`]: the spec (kind, payload, priority, max attempts, backoff, dedup key), the runs started since the enqueue or the last requeue, and the [`StoredState`] (a lease's worker, token and `expires-ms`; a retry's instant; a dead job's reason and time of death), as a JSON array without field names: `[seq,kind,payload,priority,max-attempts,base-ms,cap-ms,dedup-key,attempts,state]` |
//!
//! Job ids are `job-{seq}` and lease tokens `lease-{n}`, numbered from 1 by
//! the counters, which are saved in the same transaction as the job or the
//! lease that took the number: no id and no token is ever handed out twice,
//! across any crash (a number taken by a call that crashed before its save
//! was never handed out). Jobs are never deleted, so dedup keys hold
//! forever: the key is in its job's record, and the first job with it wins.
//! There is no separate dedup index in the store (a dedup key of any length
//! fits in a value, not in a key).
//!
//! # Crashes
//!
//! Every call reads the clock once, changes the in-memory index, and ends
//! with at most one `transact` that saves every record the call changed,
//! the counters and the next version included. A crash at that write leaves the store exactly as before the
//! call; after it, exactly as after. A store error traps (the instance's
//! memory is then ahead of its store, and only a fresh instance can be
//! trusted). The index (every record by sequence number, the runnable jobs
//! by rank, the waiting ones by instant, the leases by `expires-ms`, the
//! dead-letter queue by time of death, the dedup keys) is rebuilt from the
//! store by [`Queue::recover`], or on the first call of an instance.
//!
//! # Replicas
//!
//! Several instances may serve one store at once (replicas behind a load
//! balancer, interleaved at every import). The index is a cache of the
//! store, checked against it on every call: the call reads `version`
//! first and, if another instance saved since, catches up by the journal
//! (re-reading only the jobs those saves changed, and the counters) or,
//! more than 256 saves behind, rebuilds the index whole (reading again if
//! the version moved while it read). Its save is conditioned on
//! `version` still holding what it read; if another instance saved first,
//! the transaction is refused and the call is served again from a fresh
//! index. So every call takes effect at its save, on the state the save
//! replaces: replicas act as one queue.
//!
//! # Time
//!
//! A job's state is a function of time, settled lazily: before serving a
//! call at `now`, every lease with `expires-ms <= now` runs out, in order of
//! `expires-ms` then enqueue order, as a failed run at its `expires-ms` (so
//! its retry instant and its time of death are the same whenever the next
//! call comes, and whether or not an instance crashed in between); then
//! every queued or retrying job whose instant is `<= now` becomes runnable.
//! What time alone changed is saved with the call's other changes (a call
//! that changes nothing else saves it alone): a fresh instance would settle
//! it identically anyway.
//!
//! # Operations
//!
//! Errors in the WIT's order: `invalid` (an empty kind, then max attempts
//! 0, for enqueue; a lease of 0 ms for lease and heartbeat), then
//! `not-found` (an id this queue never gave), then `stale-lease` (the token
//! is not the job's current, unexpired lease) or `not-dead`. An error
//! changes nothing (but what time alone changed).
//!
//! **enqueue** validates, then returns the id of the job that has the dedup
//! key if any (nothing else of the spec is compared), else adds a job queued
//! at its instant, with 0 attempts. **lease** takes the runnable job of
//! least [`Rules::rank`] (highest priority, then enqueue order), counts a
//! run, and leases it until `now + lease-ms` (saturating) under a new token.
//! **heartbeat** moves `expires-ms` to `now + lease-ms` (saturating), even
//! when that is earlier than before. **complete** makes the job succeeded.
//! **fail** at `now`: a retryable failure with runs left makes the job wait
//! until [`Rules::retry_at`] (`now + min(base * 2^(attempts-1), cap)`); with
//! none left (`attempts == max-attempts`) it dies `attempts-exhausted`; a
//! failure that is not retryable dies `permanent-failure`, whatever the runs
//! left. **dead-letters** lists dead jobs by time of death, then enqueue
//! order. **requeue** makes a dead job queued at `now` with 0 attempts; it
//! keeps its id, its dedup key and its place in enqueue order (ties of
//! priority go by the original enqueue). **status** shows the job as
//! stored; a queued or retrying job shows its instant even once it passed.

mod queue;
mod records;
mod types;

#[cfg(test)]
mod tests;

pub use queue::{JOURNAL_KEEP, Queue, SCAN_PAGE};
pub use records::{
    COUNTERS_KEY, Counters, JOB_PREFIX, JobRecord, StoredState, job_id, job_key, lease_token,
    parse_job_id,
};
pub use types::{
    Backoff, Clock, Condition, DeadReason, InvalidField, JobSpec, JobState, JobStatus, LeasedJob,
    QueueError, Reference, Rules, Schedule, Store, StoreError, Write, backoff_delay,
};
