//! Every example plugin gets the verdict it was written to get: the naive
//! one passes everything; each buggy one is caught by the check named in its
//! README.

use gauntlet::check::{Status, Verdict};
use gauntlet::runner::ScenarioReport;

use crate::common::{only, plugin_wasm, test_component};

fn failed(r: &ScenarioReport) -> Vec<&'static str> {
    r.failed_checks().map(|c| c.name).collect()
}

#[test]
fn naive_rate_limiter_passes_every_scenario() {
    let report = test_component(&plugin_wasm("rate-limiter/naive"), None);
    for r in &report.scenarios {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {:#?}", r.name, r.checks);
        assert!(
            r.checks.iter().all(|c| c.status == Status::Pass),
            "{}: {:#?}",
            r.name,
            r.checks
        );
    }
    assert!(report.all_passed());
}

#[test]
fn off_by_one_window_is_caught_by_never_over_limit() {
    let report = test_component(
        &plugin_wasm("rate-limiter/off-by-one-window"),
        Some("fixed-window-edge-burst"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(failed(r).contains(&"never-over-limit"), "{:#?}", r.checks);
}

#[test]
fn lying_retry_after_is_caught_by_honest_retry_after() {
    let report = test_component(
        &plugin_wasm("rate-limiter/lying-retry-after"),
        Some("zipf-workload"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(failed(r).contains(&"honest-retry-after"), "{:#?}", r.checks);
    // The lie is only about retry-after: no window is ever overrun.
    assert!(!failed(r).contains(&"never-over-limit"), "{:#?}", r.checks);
}

#[test]
fn no_eviction_hits_the_memory_cap_on_key_explosion() {
    let report = test_component(
        &plugin_wasm("rate-limiter/no-eviction"),
        Some("key-explosion"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::MemoryLimit, "{:#?}", r.checks);
    assert!(failed(r).contains(&"completes"));
    assert!(r.operations < r.planned_operations);
}

#[test]
fn log_never_pruned_hits_the_memory_cap_on_hot_key_for_days() {
    let report = test_component(
        &plugin_wasm("rate-limiter/log-never-pruned"),
        Some("hot-key-for-days"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::MemoryLimit, "{:#?}", r.checks);
    assert!(failed(r).contains(&"completes"));
    let abort = r.abort.as_ref().expect("an abort");
    assert!(abort.message.contains("memory cap"), "{}", abort.message);
    // Its history of 32-byte entries outgrows the cap at its 524,289th
    // entry, well before the scenario's end; every decision until then was
    // right.
    assert!(r.operations > 500_000, "{}", r.operations);
    assert!(r.operations < r.planned_operations);
    let d = r.first_divergence.as_ref().expect("a divergence");
    assert!(d.actual.contains("memory cap"), "{d:?}");
}

#[test]
fn u32_timestamps_are_caught_by_expectations_and_honest_retry_after_past_2_pow_32_ms() {
    let report = test_component(
        &plugin_wasm("rate-limiter/u32-timestamps"),
        Some("clock-forward-past-u32"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(failed(r).contains(&"expectations"), "{:#?}", r.checks);
    assert!(failed(r).contains(&"honest-retry-after"), "{:#?}", r.checks);
    // Its time stands still or lags: it denies too much, never too little.
    assert!(!failed(r).contains(&"never-over-limit"), "{:#?}", r.checks);
    // The same plugin is right while less than 2^32 ms pass (a 3-day jump,
    // a week of traffic).
    for scenario in ["clock-forward-days", "hot-key-for-days"] {
        let report = test_component(&plugin_wasm("rate-limiter/u32-timestamps"), Some(scenario));
        assert_eq!(only(&report).verdict, Verdict::Pass, "{scenario}");
    }
}

#[test]
fn clock_panic_traps_with_the_guest_message_when_the_clock_steps_back() {
    let report = test_component(
        &plugin_wasm("rate-limiter/clock-panic"),
        Some("clock-backwards"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Trap, "{:#?}", r.checks);
    let abort = r.abort.as_ref().expect("an abort");
    assert!(abort.message.contains("panicked at"), "{}", abort.message);
    assert!(
        abort.message.contains("clock went backwards"),
        "{}",
        abort.message
    );
    // The same plugin is fine while the clock only moves forward.
    let report = test_component(
        &plugin_wasm("rate-limiter/clock-panic"),
        Some("sliding-log-edge"),
    );
    assert_eq!(only(&report).verdict, Verdict::Pass);
}

#[test]
fn shared_buckets_are_caught_by_independent_keys() {
    for scenario in ["independent-keys", "zipf-workload"] {
        let report = test_component(&plugin_wasm("rate-limiter/shared-buckets"), Some(scenario));
        let r = only(&report);
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            failed(r).contains(&"independent-keys"),
            "{scenario}: {:#?}",
            r.checks
        );
    }
}

#[test]
fn wrong_tier_is_caught_by_right_tier() {
    let report = test_component(&plugin_wasm("rate-limiter/wrong-tier"), Some("tiers"));
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(failed(r).contains(&"right-tier"), "{:#?}", r.checks);
}

#[test]
fn spin_forever_runs_out_of_fuel() {
    let report = test_component(&plugin_wasm("rate-limiter/spin-forever"), Some("tiers"));
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::OutOfFuel, "{:#?}", r.checks);
    assert!(r.abort.as_ref().unwrap().message.contains("fuel"));
}

#[test]
fn a_divergence_names_the_call_the_time_and_both_answers() {
    let report = test_component(
        &plugin_wasm("rate-limiter/off-by-one-window"),
        Some("fixed-window-edge-burst"),
    );
    let r = only(&report);
    let d = r.first_divergence.as_ref().expect("a divergence");
    assert!(d.operation.starts_with("check("), "{d:?}");
    assert_ne!(d.expected, d.actual);
    assert!(!d.fields.is_empty());
    assert!(
        r.replay
            .contains("--scenario fixed-window-edge-burst --seed"),
        "{}",
        r.replay
    );
}
