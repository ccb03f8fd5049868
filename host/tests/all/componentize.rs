//! `gauntlet componentize`: a core module of a track's world becomes a
//! component gauntlet loads and runs; anything else is a one-line error.

use gauntlet::check::Verdict;
use gauntlet::componentize::{Options, componentize};
use gauntlet::track::Track;
use wit_component::dummy_module;
use wit_parser::ManglingAndAbi;

use crate::common::{gauntlet, only, test_component};

/// A core module with the track's imports and exports, every export
/// `unreachable`: what a C or Go build looks like to the encoder.
fn core_module(track: &str) -> Vec<u8> {
    let (resolve, world) = Track::named(track).unwrap().resolve().unwrap();
    dummy_module(&resolve, world, ManglingAndAbi::Standard32)
}

#[test]
fn a_core_module_becomes_a_component_that_runs_and_traps_where_it_is_unwritten() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("core.wasm");
    std::fs::write(&module, core_module("rate-limiter")).unwrap();
    let out = dir.path().join("component.wasm");
    let run = gauntlet()
        .args(["componentize", "--track", "rate-limiter", "-o"])
        .arg(&out)
        .arg(&module)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("rate-limiter component"), "{stdout}");
    let report = test_component(&out, Some("tiers"));
    let r = only(&report);
    // It loads, links and is called: its `unreachable` is a verdict.
    assert_eq!(r.verdict, Verdict::Trap, "{:#?}", r.checks);
}

#[test]
fn a_module_of_another_world_is_refused() {
    let module = core_module("rate-limiter");
    let err = componentize(
        &module,
        Track::named("payment-gateway").unwrap(),
        Options::default(),
    )
    .expect_err("a rate limiter is no payment gateway");
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("limiter") || err.contains("gateway"), "{err}");
}

#[test]
fn a_component_or_a_non_wasm_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let out = gauntlet()
        .args(["componentize", "--track", "rate-limiter", "-o", "/dev/null"])
        .arg(&text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a WebAssembly file"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let component = crate::common::plugin_wasm("rate-limiter/naive");
    let out = gauntlet()
        .args(["componentize", "--track", "rate-limiter", "-o", "/dev/null"])
        .arg(&component)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is already a component"), "{stderr}");
}
