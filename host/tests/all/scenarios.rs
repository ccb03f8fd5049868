//! Every scenario file is a test: the reference passes it, every check ran
//! and held, and its scripted expectations hold.

use gauntlet::check::Verdict;
use gauntlet::plugin::load_reference;
use gauntlet::report::Silent;
use gauntlet::runner::run_suite;
use gauntlet::sandbox::Limits;
use gauntlet::track::Track;

use crate::common::cache;

fn reference_passes(track: &str, scenario: &str) {
    let track = Track::named(track).unwrap();
    let cache = cache();
    let plugin = load_reference(&cache, track, Limits::default()).unwrap();
    let reference = load_reference(&cache, track, Limits::default()).unwrap();
    let sources = track.select_scenarios(Some(scenario)).unwrap();
    let report = run_suite(&plugin, &reference, &sources, None, &mut Silent).unwrap();
    let r = &report.scenarios[0];
    assert_eq!(r.verdict, Verdict::Pass, "{scenario}: {:#?}", r.checks);
    for check in &r.checks {
        assert!(check.held(), "{scenario}: {check:?}");
    }
    assert_eq!(r.operations, r.planned_operations);
}

include!(concat!(env!("OUT_DIR"), "/scenario_tests.rs"));

#[test]
fn rate_limiter_has_at_least_twelve_scenarios_covering_the_brief() {
    let names: Vec<String> = Track::named("rate-limiter")
        .unwrap()
        .scenarios()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.len() >= 12, "{names:?}");
    for required in [
        "fixed-window-edge-burst",
        "steady-at-limit",
        "cost-over-capacity",
        "clock-backwards",
        "clock-forward-days",
        "clock-frozen",
        "overflow-values",
        "key-explosion",
        "zipf-workload",
    ] {
        assert!(names.iter().any(|n| n == required), "missing {required}");
    }
}

#[test]
fn job_queue_scenarios_cover_the_brief() {
    let names: Vec<String> = Track::named("job-queue")
        .unwrap()
        .scenarios()
        .into_iter()
        .map(|s| s.name)
        .collect();
    for required in [
        "happy-path",
        "retries-to-dead-letter",
        "permanent-failure",
        "worker-dies",
        "stale-lease-tokens",
        "duplicate-completes",
        "plugin-crash",
        "crashes-at-store-writes",
        "delayed-jobs",
        "priority-order",
        "dedup-keys",
        "generated-workload",
        "concurrent-workers",
        "concurrent-workload",
    ] {
        assert!(names.iter().any(|n| n == required), "missing {required}");
    }
}

#[test]
fn traced_scenarios_cover_the_brief() {
    let names: Vec<String> = Track::named("traced")
        .unwrap()
        .scenarios()
        .into_iter()
        .map(|s| s.name)
        .collect();
    for required in [
        "children-before-root",
        "error-child",
        "eviction-without-traffic",
        "stale-spans",
        "validation-batches",
        "validation-queries",
        "duplicate-span-ids",
        "sustained-workload",
    ] {
        assert!(names.iter().any(|n| n == required), "missing {required}");
    }
}

#[test]
fn tweet_audit_scenarios_cover_the_brief() {
    let names: Vec<String> = Track::named("tweet-audit")
        .unwrap()
        .scenarios()
        .into_iter()
        .map(|s| s.name)
        .collect();
    for required in [
        "legacy-archive",
        "multi-part-archive",
        "tricky-text",
        "csv-escaping",
        "csv-quote-only",
        "retweet-markers",
        "storm-429",
        "tight-quota",
        "transient-errors",
        "malformed-output",
        "bad-key",
        "key-revoked",
        "not-an-archive-part",
        "truncated-archive",
        "crash-every-3rd-call",
        "crash-at-store-writes",
        "crash-after-appends",
        "rerun",
        "large-archive",
    ] {
        assert!(names.iter().any(|n| n == required), "missing {required}");
    }
}
