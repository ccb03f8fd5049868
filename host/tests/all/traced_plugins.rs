//! Every example trace collector gets the verdict it was written to get: the
//! naive one passes everything; each buggy one is caught by the check named
//! in its README, at a named call.

use gauntlet::check::Verdict;

use crate::common::{
    caught_at_call as caught, only, passes_everything_on_every_seed, plugin_wasm, test_component,
};

#[test]
fn naive_collector_passes_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("traced/naive", 12);
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
fn counting_bytes_not_characters_is_caught_by_validation_exact() {
    let message = caught(
        "traced/bytes-not-chars",
        "validation-batches",
        "validation-exact",
    );
    assert!(
        message
            .contains("refused with invalid-span(0, service-too-long), but the batch is accepted"),
        "{message}"
    );
}

#[test]
fn ties_listed_by_id_descending_are_caught_by_every_trace_listed() {
    let message = caught("traced/ties-reversed", "id-case", "every-trace-listed");
    assert!(
        message.contains("out of order (newest root first, ties by id)"),
        "{message}"
    );
    // The message names where the lists part, not the whole of both.
    assert!(
        message.contains("differ first at index 0 of 2"),
        "{message}"
    );
    caught(
        "traced/ties-reversed",
        "listing-order",
        "every-trace-listed",
    );
}

#[test]
fn case_sensitive_span_ids_are_caught_by_exact_summaries() {
    let message = caught(
        "traced/case-sensitive-span-ids",
        "id-case",
        "exact-summaries",
    );
    // The duplicates in other cases are counted, their error flag too.
    assert!(message.contains("span_count: 5"), "{message}");
    assert!(message.contains("span_count: 3"), "{message}");
    // Ids of one case only cannot tell it from the reference.
    let report = test_component(
        &plugin_wasm("traced/case-sensitive-span-ids"),
        Some("duplicate-span-ids"),
    );
    assert_eq!(only(&report).verdict, Verdict::Pass);
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
