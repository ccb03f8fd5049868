//! Bad input of every kind: a one-line error naming the problem, exit code 2,
//! never a panic or a backtrace.

use std::path::Path;

use crate::common::gauntlet;

/// Runs gauntlet and asserts exit 2 with one line on stderr containing
/// `needle`.
fn refuses(args: &[&str], needle: &str) {
    let out = gauntlet().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: expected {needle:?} in {stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[test]
fn a_missing_file_is_refused() {
    refuses(
        &["test", "/nonexistent/plugin.wasm"],
        "cannot read /nonexistent/plugin.wasm",
    );
}

#[test]
fn random_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "random.wasm",
        b"\x7fELF this is not wasm at all",
    );
    refuses(&["test", &file], "is not a WebAssembly file");
}

#[test]
fn a_core_module_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "core.wasm",
        &wat::parse_str("(module)").unwrap(),
    );
    refuses(
        &["test", &file],
        "is a core WebAssembly module, not a component",
    );
}

#[test]
fn a_truncated_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reference = gauntlet::track::Track::named("rate-limiter")
        .unwrap()
        .reference;
    let file = write(
        dir.path(),
        "truncated.wasm",
        &reference[..reference.len() / 2],
    );
    refuses(&["test", &file], "is not a valid component");
}

#[test]
fn a_component_of_an_unknown_world_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wat = r#"(component
        (core module $m (func (export "f")))
        (core instance $i (instantiate $m))
        (func (export "hello") (canon lift (core func $i "f"))))"#;
    let file = write(dir.path(), "other.wasm", &wat::parse_str(wat).unwrap());
    refuses(
        &["test", &file],
        "implements no gauntlet track: it exports hello; a plugin exports one of: gauntlet:rate-limiter/limiter@0.1.0",
    );
}

#[test]
fn a_scenario_with_a_typo_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "typo.toml",
        b"format = 1\ndescription = \"x\"\nseed = 1\n\n[config]\ndefault-policy = \"p\"\n\n[[steps]]\ncheck = \"a\"\ncots = 2\n",
    );
    let reference = dir.path().join("reference.wasm");
    std::fs::write(
        &reference,
        gauntlet::track::Track::named("rate-limiter")
            .unwrap()
            .reference,
    )
    .unwrap();
    let out = gauntlet()
        .args(["test", reference.to_str().unwrap(), "--scenario", &scenario])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{scenario}:10:")), "{stderr}");
    assert!(stderr.contains("unknown field `cots`"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn an_unknown_scenario_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reference = write(
        dir.path(),
        "reference.wasm",
        gauntlet::track::Track::named("rate-limiter")
            .unwrap()
            .reference,
    );
    refuses(
        &["test", &reference, "--scenario", "nope"],
        "unknown scenario `nope`",
    );
}

#[test]
fn an_unknown_track_is_refused_with_the_known_ones() {
    refuses(
        &["wit", "rate-limitter"],
        "unknown track `rate-limitter` (known: rate-limiter, payment-gateway, job-queue, traced, tweet-audit)",
    );
}

#[test]
fn a_bad_argument_is_a_usage_error() {
    let out = gauntlet()
        .args(["test", "x.wasm", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn wit_prints_the_track_and_harness_packages() {
    let out = gauntlet().args(["wit", "rate-limiter"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("package gauntlet:rate-limiter@0.1.0;"));
    assert!(text.contains("package gauntlet:harness@0.1.0;"));
}

#[test]
fn wit_out_writes_a_tree_bindings_generators_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = gauntlet()
        .args(["wit", "rate-limiter", "--out", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("rate-limiter.wit").is_file());
    assert!(dir.path().join("deps/harness/harness.wit").is_file());
}

#[test]
fn tracks_lists_the_rate_limiter_with_its_world() {
    let out = gauntlet().arg("tracks").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rate-limiter"));
    assert!(text.contains("gauntlet:rate-limiter/plugin@0.1.0"));
}
