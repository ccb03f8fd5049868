//! Every example trace collector gets the verdict it was written to get: the
//! naive one passes everything; each buggy one is caught by the check named
//! in its README, at a named call.

use gauntlet::check::{Status, Verdict};
use gauntlet::runner::{RunReport, ScenarioReport};

use crate::common::{plugin_wasm, test_component};

fn only(report: &RunReport) -> &ScenarioReport {
    assert_eq!(report.scenarios.len(), 1);
    &report.scenarios[0]
}

/// Runs one scenario and asserts that `check` fails at a named call;
/// returns the failing check's message.
fn caught(plugin: &str, scenario: &str, check: &str) -> String {
    let report = test_component(&plugin_wasm(plugin), Some(scenario));
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Fail, "{scenario}: {:#?}", r.checks);
    let failed = r
        .failed_checks()
        .find(|c| c.name == check)
        .unwrap_or_else(|| {
            panic!(
                "{plugin} on {scenario}: {check} did not fail: {:#?}",
                r.checks
            )
        });
    assert!(failed.call.is_some(), "{check} names no call: {failed:?}");
    failed.message.clone()
}

#[test]
fn naive_collector_passes_every_scenario() {
    let report = test_component(&plugin_wasm("traced/naive"), None);
    assert!(report.scenarios.len() >= 10);
    for r in &report.scenarios {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {:#?}", r.name, r.checks);
        assert!(
            r.checks.iter().all(|c| c.status == Status::Pass),
            "{}: {:#?}",
            r.name,
            r.checks
        );
    }
}

#[test]
fn evicting_only_on_ingest_is_caught_by_window_respected() {
    let message = caught(
        "traced/lazy-eviction",
        "eviction-without-traffic",
        "window-respected",
    );
    assert!(message.contains("left the window"), "{message}");
    // After the workload's whole window of silence, everything is stale.
    caught(
        "traced/lazy-eviction",
        "sustained-workload",
        "window-respected",
    );
}

#[test]
fn listing_rootless_traces_is_caught_by_roots_only() {
    let message = caught(
        "traced/lists-rootless",
        "children-before-root",
        "roots-only",
    );
    assert!(message.contains("root has not arrived"), "{message}");
}

#[test]
fn miscounting_early_children_is_caught_by_exact_summaries() {
    caught(
        "traced/miscounts-early-children",
        "children-before-root",
        "exact-summaries",
    );
    caught(
        "traced/miscounts-early-children",
        "sustained-workload",
        "exact-summaries",
    );
}

#[test]
fn limiting_before_counting_is_caught_by_exact_summaries() {
    let message = caught(
        "traced/limit-before-total",
        "listing-order",
        "exact-summaries",
    );
    assert!(message.contains("counted before the limit"), "{message}");
}

#[test]
fn unbounded_memory_hits_the_cap_under_sustained_load() {
    let report = test_component(
        &plugin_wasm("traced/unbounded-memory"),
        Some("sustained-workload"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::MemoryLimit, "{:#?}", r.checks);
    // The reference holds the same window well below the cap.
    assert!(
        r.reference_peak_memory_bytes < 48 << 20,
        "{}",
        r.reference_peak_memory_bytes
    );
}
