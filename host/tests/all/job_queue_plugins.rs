//! Every example job queue gets the verdict it was written to get: the naive
//! one passes everything; each buggy one is caught by the check named in its
//! README, with the call where it went wrong.

use gauntlet::check::Status;

use crate::common::{
    caught_at_call as caught, only, passes_everything, plugin_wasm, test_component,
};

#[test]
fn naive_queue_passes_every_scenario() {
    passes_everything("job-queue/naive", 16);
}

#[test]
fn a_queue_keeping_no_cache_between_calls_passes_every_scenario() {
    // Another way to be correct as a replica: read the whole store on
    // every call rather than keep a checked cache.
    passes_everything("job-queue/no-cache", 17);
}

#[test]
fn losing_leased_jobs_on_a_crash_is_caught_by_no_job_lost() {
    let message = caught(
        "job-queue/loses-leased-on-crash",
        "plugin-crash",
        "no-job-lost",
    );
    assert!(message.contains("lost"), "{message}");
    // The generated workload's crashes lose jobs too.
    caught(
        "job-queue/loses-leased-on-crash",
        "generated-workload",
        "no-job-lost",
    );
}

#[test]
fn redelivering_a_completed_job_is_caught_by_no_run_after_completion() {
    let message = caught(
        "job-queue/redelivers-completed",
        "duplicate-completes",
        "no-run-after-completion",
    );
    assert!(message.contains("after a valid completion"), "{message}");
}

#[test]
fn ignoring_backoff_is_caught_by_backoff_respected() {
    let message = caught(
        "job-queue/ignores-backoff",
        "retries-to-dead-letter",
        "backoff-respected",
    );
    assert!(message.contains("early"), "{message}");
}

#[test]
fn taking_any_token_is_caught_by_stale_lease_refused() {
    let message = caught(
        "job-queue/any-token",
        "stale-lease-tokens",
        "stale-lease-refused",
    );
    assert!(
        message.contains("was accepted, but that lease was replaced by t2"),
        "{message}"
    );
    caught(
        "job-queue/any-token",
        "generated-workload",
        "stale-lease-refused",
    );
}

#[test]
fn freeing_a_dedup_key_on_success_is_caught_by_dedup_holds() {
    let message = caught("job-queue/dedup-until-done", "dedup-keys", "dedup-holds");
    assert!(
        message.contains(
            "dedup key \"order-7\" was first used by job a, yet the enqueue returned job a4"
        ),
        "{message}"
    );
}

#[test]
fn never_dead_lettering_is_caught_by_attempts_bounded() {
    caught(
        "job-queue/never-dead-letters",
        "worker-dies",
        "attempts-bounded",
    );
    caught(
        "job-queue/never-dead-letters",
        "generated-workload",
        "attempts-bounded",
    );
}

#[test]
fn breaking_priority_is_caught_by_priority_order() {
    let message = caught(
        "job-queue/breaks-priority",
        "priority-order",
        "priority-order",
    );
    assert!(message.contains("comes first"), "{message}");
}

#[test]
fn a_retry_made_runnable_late_is_caught_by_backoff_respected_as_a_timing_error() {
    // A status naming the late instant.
    let message = caught(
        "job-queue/runnable-late",
        "retries-to-dead-letter",
        "backoff-respected",
    );
    assert!(
        message.contains("should be runnable from t=")
            && message.contains("its status says failed-retrying from t=")
            && message.contains("(1000 ms late)"),
        "{message}"
    );
    // Leases that pass the retry over: a timing error, not a priority one.
    for scenario in ["priority-order", "generated-workload"] {
        let message = caught("job-queue/runnable-late", scenario, "backoff-respected");
        assert!(
            message.contains("should have been runnable at t="),
            "{scenario}: {message}"
        );
        let report = test_component(&plugin_wasm("job-queue/runnable-late"), Some(scenario));
        let priority = only(&report)
            .checks
            .iter()
            .find(|c| c.name == "priority-order")
            .unwrap();
        assert_eq!(priority.status, Status::Pass, "{scenario}: {priority:?}");
    }
    let message = caught(
        "job-queue/runnable-late",
        "generated-workload",
        "backoff-respected",
    );
    assert!(
        message.contains("it was first leased at t=") && message.contains("ms late)"),
        "{message}"
    );
}

#[test]
fn leasing_without_compare_and_set_passes_sequentially_and_is_caught_by_lease_exclusive_under_replicas()
 {
    // Called one call at a time it is the reference.
    for scenario in [
        "happy-path",
        "crashes-at-store-writes",
        "stale-lease-tokens",
    ] {
        let report = test_component(&plugin_wasm("job-queue/lease-without-cas"), Some(scenario));
        assert_eq!(
            only(&report).verdict,
            gauntlet::check::Verdict::Pass,
            "{scenario}"
        );
    }
    // As replicas over one store, two leases racing both take one job.
    for scenario in ["concurrent-workers", "concurrent-workload"] {
        let message = caught("job-queue/lease-without-cas", scenario, "lease-exclusive");
        assert!(
            message.contains("still ran: neither lease ended")
                && message.contains("parked at")
                && message.contains("store.transact"),
            "{message}"
        );
        // The linearizability check shows the sub-history: the enqueue and
        // the two leases that both took the job.
        let message = caught("job-queue/lease-without-cas", scenario, "linearizable");
        assert!(
            message.contains("no order of these calls on job")
                && message.matches(": lease for").count() == 2
                && message.matches("enqueue").count() == 1,
            "{message}"
        );
    }
}
