//! The command line end to end: exit codes, report formats, crate builds,
//! replay.

use crate::common::{gauntlet, plugin_wasm, root};

#[test]
fn a_correct_plugin_exits_0_and_a_buggy_one_exits_1() {
    let naive = plugin_wasm("rate-limiter/naive");
    let out = gauntlet()
        .args(["test", naive.to_str().unwrap(), "--scenario", "tiers"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("PASS"), "{text}");
    assert!(text.contains("1 scenario: 1 passed, 0 failed"), "{text}");

    let buggy = plugin_wasm("rate-limiter/wrong-tier");
    let out = gauntlet()
        .args(["test", buggy.to_str().unwrap(), "--scenario", "tiers"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("right-tier"), "{text}");
    assert!(
        text.contains("replay: gauntlet replay") && text.contains("--scenario tiers --seed"),
        "{text}"
    );
    // No colour codes when stdout is not a terminal.
    assert!(!text.contains('\u{1b}'), "{text}");
}

#[test]
fn json_report_carries_plugin_identity_checks_and_divergence() {
    let buggy = plugin_wasm("rate-limiter/lying-retry-after");
    let out = gauntlet()
        .args([
            "test",
            buggy.to_str().unwrap(),
            "--scenario",
            "retry-after-honesty",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], 1);
    assert_eq!(report["track"], "rate-limiter");
    assert_eq!(report["plugin"]["sha256"].as_str().unwrap().len(), 64);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["name"], "retry-after-honesty");
    assert_eq!(scenario["verdict"], "fail");
    assert!(scenario["seed"].is_u64());
    assert!(scenario["operations"].as_u64().unwrap() > 0);
    assert!(scenario["fuel"].as_u64().unwrap() > 0);
    let checks = scenario["checks"].as_array().unwrap();
    let honest = checks
        .iter()
        .find(|c| c["name"] == "honest-retry-after")
        .unwrap();
    assert_eq!(honest["status"], "fail");
    let divergence = &scenario["first_divergence"];
    assert!(divergence["call"].is_u64());
    assert!(
        divergence["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "retry-after-ms")
    );
}

#[test]
fn junit_report_has_one_case_per_scenario() {
    let naive = plugin_wasm("rate-limiter/off-by-one-window");
    let out = gauntlet()
        .args([
            "test",
            naive.to_str().unwrap(),
            "--format",
            "junit",
            "--scenario",
            "fixed-window-edge-burst",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 1, "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("never-over-limit"), "{xml}");
}

#[test]
fn replay_shows_both_answers_at_the_divergence() {
    let buggy = plugin_wasm("rate-limiter/off-by-one-window");
    let out = gauntlet()
        .args([
            "replay",
            buggy.to_str().unwrap(),
            "--scenario",
            "fixed-window-edge-burst",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("reference: allowed"), "{text}");
    assert!(text.contains("differs in: reset-ms"), "{text}");
    assert!(text.contains("✗ never-over-limit"), "{text}");
}

#[test]
fn replay_json_is_the_history_one_event_a_line() {
    let naive = plugin_wasm("rate-limiter/naive");
    let out = gauntlet()
        .args([
            "replay",
            naive.to_str().unwrap(),
            "--scenario",
            "clock-frozen",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["event"] == "fault"));
    assert!(events.iter().any(|e| e["event"] == "call"));
}

#[test]
fn a_plugin_crate_directory_is_built_first() {
    let dir = root().join("plugins/rate-limiter/wrong-tier");
    let out = gauntlet()
        .env(
            "GAUNTLET_GUEST_TARGET_DIR",
            gauntlet::toolchain::guest_target_dir(&root()),
        )
        .args([
            "test",
            dir.to_str().unwrap(),
            "--scenario",
            "tiers",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["plugin"]["wasm"]
            .as_str()
            .unwrap()
            .ends_with("rate_limiter_wrong_tier.wasm")
    );
}

#[test]
fn a_crate_that_does_not_build_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[lib]\ncrate-type = [\"cdylib\"]\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "this is not rust").unwrap();
    let out = gauntlet()
        .args(["test", dir.path().to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot build plugin crate"), "{stderr}");
}

#[test]
fn diff_shows_both_answers_at_the_first_divergence_and_exits_1() {
    let buggy = plugin_wasm("rate-limiter/off-by-one-window");
    let out = gauntlet()
        .args([
            "diff",
            buggy.to_str().unwrap(),
            "--scenario",
            "fixed-window-edge-burst",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("differ fixed-window-edge-burst"), "{text}");
    assert!(text.contains("plugin     allowed"), "{text}");
    assert!(text.contains("reference  allowed"), "{text}");
    assert!(text.contains("differs in: reset-ms"), "{text}");
    assert!(text.contains("never-over-limit"), "{text}");
    assert!(text.contains("1 scenario: 0 agree, 1 differ"), "{text}");
}

#[test]
fn diff_json_is_versioned_and_lays_the_divergence_side_by_side() {
    let buggy = plugin_wasm("rate-limiter/off-by-one-window");
    let out = gauntlet()
        .args([
            "diff",
            buggy.to_str().unwrap(),
            "--scenario",
            "fixed-window-edge-burst",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], 1);
    assert_eq!(report["track"], "rate-limiter");
    assert_eq!(report["other_is_reference"], true);
    assert_eq!(report["summary"]["differ"], 1);
    let scenario = &report["scenarios"][0];
    let call = scenario["divergence"]["call"].as_u64().unwrap();
    let rows = scenario["rows"].as_array().unwrap();
    // Context on both sides of the divergence; the divergent row differs,
    // the calls before it agree.
    let at = rows.iter().find(|r| r["call"] == call).unwrap();
    assert_eq!(at["differs"], true);
    assert_ne!(at["plugin"], at["other"]);
    assert!(
        rows.iter()
            .any(|r| r["call"].as_u64() < Some(call) && r["differs"] == false)
    );
    assert!(
        scenario["broken_checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "never-over-limit")
    );
}

#[test]
fn a_payment_report_carries_the_fault_timeline() {
    let naive = plugin_wasm("payment-gateway/naive");
    let out = gauntlet()
        .args([
            "test",
            naive.to_str().unwrap(),
            "--scenario",
            "crash-after-bank-answered",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scenario = &report["scenarios"][0];
    let timeline = scenario["timeline"].as_array().unwrap();
    assert_eq!(
        scenario["timeline_total"].as_u64(),
        Some(timeline.len() as u64)
    );
    let crashes = timeline
        .iter()
        .filter(|e| e["kind"] == "bank" && e["description"].as_str().unwrap().contains("crashed"))
        .count() as u64;
    // Every crash the run recovered from is on the timeline.
    assert!(crashes > 0);
    assert_eq!(Some(crashes), scenario["dependency"]["crashes"].as_u64());
}

#[test]
fn a_closed_stdout_ends_gauntlet_quietly() {
    use std::process::{Command, Stdio};
    // A replay of 200,000 calls prints far more than a pipe buffers.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("gauntlet"))
        .args([
            "replay",
            plugin_wasm("rate-limiter/naive").to_str().unwrap(),
            "--scenario",
            "zipf-workload",
            "--json",
        ])
        .env(
            "GAUNTLET_CACHE_DIR",
            root().join("target/test-component-cache"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    const SIGPIPE: i32 = 13; // on Linux and the BSDs
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{stderr}");
}

#[test]
fn diff_of_two_learner_plugins_that_behave_alike_exits_0() {
    let naive = plugin_wasm("rate-limiter/naive");
    let clock_panic = plugin_wasm("rate-limiter/clock-panic");
    let out = gauntlet()
        .args([
            "diff",
            naive.to_str().unwrap(),
            clock_panic.to_str().unwrap(),
            "--scenario",
            "sliding-log-edge",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(other)"), "{text}");
    assert!(text.contains("agree  sliding-log-edge"), "{text}");
}

#[test]
fn diff_across_tracks_is_bad_input() {
    let limiter = plugin_wasm("rate-limiter/naive");
    let gateway = plugin_wasm("payment-gateway/naive");
    let out = gauntlet()
        .args(["diff", limiter.to_str().unwrap(), gateway.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot diff across tracks"), "{stderr}");
}

#[test]
fn bench_ranks_correct_plugins_and_marks_the_others() {
    let naive = plugin_wasm("rate-limiter/naive");
    let buggy = plugin_wasm("rate-limiter/off-by-one-window");
    let out = gauntlet()
        .args([
            "bench",
            naive.to_str().unwrap(),
            buggy.to_str().unwrap(),
            "--scenario",
            "zipf-workload",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    // A plugin that fails a check makes the bench exit 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results["format"], 1);
    assert_eq!(results["track"], "rate-limiter");
    let entries = results["scenarios"][0]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    // Correct plugins first (the reference and naive), the buggy one last.
    assert!(entries[0]["correct"].as_bool().unwrap());
    assert!(entries[1]["correct"].as_bool().unwrap());
    let last = &entries[2];
    assert!(!last["correct"].as_bool().unwrap());
    assert!(
        last["plugin"]
            .as_str()
            .unwrap()
            .ends_with("rate_limiter_off_by_one_window.wasm")
    );
    assert!(
        last["failed_checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "never-over-limit")
    );
    // Fuel per operation is deterministic: naive spends more than the reference.
    let fuel = |e: &serde_json::Value| e["fuel_per_operation"].as_u64().unwrap();
    let reference = entries.iter().find(|e| e["reference"] == true).unwrap();
    let naive = entries
        .iter()
        .find(|e| {
            e["plugin"]
                .as_str()
                .unwrap()
                .ends_with("rate_limiter_naive.wasm")
        })
        .unwrap();
    assert!(fuel(naive) > fuel(reference));
    assert!(reference["ops_per_sec_median"].as_f64().unwrap() > 0.0);
}
