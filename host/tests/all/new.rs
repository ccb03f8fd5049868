//! `gauntlet new`: the starter of every track builds (Rust, C and Go) into
//! a component that loads as that track and traps in its stubs; the Python
//! and JavaScript starters of two tracks likewise, built by gauntlet's own
//! toolchains (`target/toolchains`, as in `other_languages.rs`); bad input
//! is refused in one line.

use std::path::{Path, PathBuf};

use gauntlet::check::Verdict;
use gauntlet::langs;
use gauntlet::plugin;
use gauntlet::report::Silent;
use gauntlet::runner::run_suite;
use gauntlet::sandbox::Limits;
use gauntlet::toolchain;
use gauntlet::track::Track;

use crate::common::{cache, gauntlet, root};

/// `gauntlet new TRACK <tmp>/x --lang LANG`, asserted to succeed; returns
/// the temporary directory (kept alive by the caller) and the starter.
fn new(track: &str, lang: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    let out = gauntlet()
        .args(["new", track])
        .arg(&dir)
        .args(["--lang", lang])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gauntlet new {track} --lang {lang}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("README.md").is_file());
    assert!(dir.join("wit").is_dir());
    (tmp, dir)
}

/// Loads `wasm`, asserts it is a component of `track`, and runs the track's
/// first scenario: every stub traps, so the verdict is TRAP.
fn loads_and_traps(wasm: &Path, track: &str) {
    let cache = cache();
    let plugin = plugin::load(&cache, wasm, Limits::default(), true).unwrap();
    assert_eq!(plugin.track.name, track);
    let reference = plugin::load_reference(&cache, plugin.track, Limits::default()).unwrap();
    let first = plugin.track.scenarios().into_iter().next().unwrap();
    let report = run_suite(&plugin, &reference, &[first], None, &mut Silent).unwrap();
    let r = &report.scenarios[0];
    assert_eq!(r.verdict, Verdict::Trap, "{}: {:#?}", r.name, r.checks);
}

/// A Rust starter, built as `gauntlet test DIR` builds a crate, but into
/// one target directory shared by every track's starter (so wit-bindgen is
/// compiled once).
fn rust_starter_builds_and_traps(track: &str) {
    let (_tmp, dir) = new(track, "rust");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("todo!("), "{lib}");
    toolchain::ensure_wasm_target().unwrap();
    let target = root().join("target").join("new-starters");
    let artifacts = toolchain::build_guests(&dir, &[], Some(&target), true)
        .unwrap_or_else(|e| panic!("the {track} starter does not build: {e}"));
    let manifest = dir.join("Cargo.toml").canonicalize().unwrap();
    loads_and_traps(&artifacts[&manifest], track);
}

/// A Python, JavaScript, C or Go starter, built by gauntlet.
fn starter_builds_and_traps(track: &str, lang: &str) {
    let (_tmp, dir) = new(track, lang);
    let toolchains = root().join("target").join("toolchains");
    let wasm = langs::build(&dir, &toolchains, true)
        .unwrap_or_else(|e| panic!("the {track} {lang} starter does not build: {e}"));
    loads_and_traps(&wasm, Track::named(track).unwrap().name);
}

#[test]
fn rust_starter_of_rate_limiter_builds_and_traps() {
    rust_starter_builds_and_traps("rate-limiter");
}

#[test]
fn rust_starter_of_payment_gateway_builds_and_traps() {
    rust_starter_builds_and_traps("payment-gateway");
}

#[test]
fn rust_starter_of_job_queue_builds_and_traps() {
    rust_starter_builds_and_traps("job-queue");
}

#[test]
fn rust_starter_of_traced_builds_and_traps() {
    rust_starter_builds_and_traps("traced");
}

#[test]
fn rust_starter_of_tweet_audit_builds_and_traps() {
    rust_starter_builds_and_traps("tweet-audit");
}

#[test]
fn c_starter_of_rate_limiter_builds_and_traps() {
    starter_builds_and_traps("rate-limiter", "c");
}

#[test]
fn c_starter_of_payment_gateway_builds_and_traps() {
    starter_builds_and_traps("payment-gateway", "c");
}

#[test]
fn c_starter_of_job_queue_builds_and_traps() {
    starter_builds_and_traps("job-queue", "c");
}

#[test]
fn c_starter_of_traced_builds_and_traps() {
    starter_builds_and_traps("traced", "c");
}

#[test]
fn c_starter_of_tweet_audit_builds_and_traps() {
    starter_builds_and_traps("tweet-audit", "c");
}

#[test]
fn go_starter_of_rate_limiter_builds_and_traps() {
    starter_builds_and_traps("rate-limiter", "go");
}

#[test]
fn go_starter_of_payment_gateway_builds_and_traps() {
    starter_builds_and_traps("payment-gateway", "go");
}

#[test]
fn go_starter_of_job_queue_builds_and_traps() {
    starter_builds_and_traps("job-queue", "go");
}

#[test]
fn go_starter_of_traced_builds_and_traps() {
    starter_builds_and_traps("traced", "go");
}

#[test]
fn go_starter_of_tweet_audit_builds_and_traps() {
    starter_builds_and_traps("tweet-audit", "go");
}

#[test]
fn python_starter_of_rate_limiter_builds_and_traps() {
    starter_builds_and_traps("rate-limiter", "python");
}

#[test]
fn python_starter_of_payment_gateway_builds_and_traps() {
    starter_builds_and_traps("payment-gateway", "python");
}

#[test]
fn javascript_starter_of_rate_limiter_builds_and_traps() {
    starter_builds_and_traps("rate-limiter", "js");
}

#[test]
fn javascript_starter_of_payment_gateway_builds_and_traps() {
    starter_builds_and_traps("payment-gateway", "js");
}

/// Runs `gauntlet new` and asserts exit 2 with one line on stderr
/// containing `needle`.
fn refuses(args: &[&str], dir: &Path, needle: &str) {
    let out = gauntlet().arg("new").args(args).arg(dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
}

#[test]
fn new_refuses_a_directory_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("mine.txt"), "keep me").unwrap();
    refuses(
        &["rate-limiter", "--lang", "rust"],
        tmp.path(),
        "is not empty",
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "it wrote into the directory");
}

/// An unknown `--lang` is clap's usage error: exit 2, the error on its
/// first line (then clap's list of the languages).
#[test]
fn new_refuses_an_unknown_language() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    let out = gauntlet()
        .args(["new", "rate-limiter"])
        .arg(&dir)
        .args(["--lang", "cobol"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.contains("invalid value 'cobol'"), "{stderr}");
    assert!(stderr.contains("rust, python, js, c, go"), "{stderr}");
    assert!(!dir.exists());
}

#[test]
fn new_refuses_an_unknown_track() {
    let tmp = tempfile::tempdir().unwrap();
    refuses(
        &["no-such-track", "--lang", "rust"],
        &tmp.path().join("x"),
        "unknown track `no-such-track`",
    );
}

/// An empty directory is as good as a missing one.
#[test]
fn new_writes_into_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    gauntlet()
        .args(["new", "traced"])
        .arg(tmp.path())
        .args(["--lang", "python"])
        .assert()
        .success();
    let manifest = std::fs::read_to_string(tmp.path().join(langs::MANIFEST)).unwrap();
    assert!(manifest.contains("track = \"traced\""), "{manifest}");
    let app = std::fs::read_to_string(tmp.path().join("app.py")).unwrap();
    assert!(app.contains("class Collector(exports.Collector):"), "{app}");
    assert!(
        app.contains("def list_traces(self, after_ns, before_ns, limit):"),
        "{app}"
    );
}
