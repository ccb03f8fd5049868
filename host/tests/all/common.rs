//! Shared test helpers: the component cache, the reference, and the example
//! plugins, built once per test run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gauntlet::check::Verdict;
use gauntlet::engine::{ComponentCache, new_engine};
use gauntlet::plugin::{self, Plugin};
use gauntlet::report::Silent;
use gauntlet::runner::{RunReport, ScenarioReport, run_suite};
use gauntlet::sandbox::Limits;
use gauntlet::toolchain;
use gauntlet::track::Track;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A cache under `target/`, so that repeated test runs compile nothing.
pub fn cache() -> ComponentCache {
    ComponentCache::new(new_engine(), Some(cache_dir()))
}

fn cache_dir() -> PathBuf {
    root().join("target").join("test-component-cache")
}

/// The `gauntlet` binary, sharing the tests' component cache.
pub fn gauntlet() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("gauntlet").unwrap();
    cmd.env("GAUNTLET_CACHE_DIR", cache_dir());
    cmd
}

pub fn reference(track: &str) -> Plugin {
    plugin::load_reference(&cache(), Track::named(track).unwrap(), Limits::default()).unwrap()
}

/// Builds every example plugin of `plugins/` (one cargo run for all of them)
/// and returns their components by directory name, e.g. `rate-limiter/naive`.
pub fn plugins() -> &'static BTreeMap<String, PathBuf> {
    static PLUGINS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        let root = root();
        let mut packages = Vec::new();
        let mut dirs = Vec::new();
        for track in std::fs::read_dir(root.join("plugins")).unwrap() {
            let track = track.unwrap().path();
            if !track.is_dir() {
                continue;
            }
            for dir in std::fs::read_dir(&track).unwrap() {
                let dir = dir.unwrap().path();
                let manifest = dir.join("Cargo.toml");
                if !manifest.is_file() {
                    continue;
                }
                let text = std::fs::read_to_string(&manifest).unwrap();
                let name = text
                    .lines()
                    .find_map(|l| l.strip_prefix("name = \""))
                    .and_then(|l| l.strip_suffix('"'))
                    .unwrap()
                    .to_string();
                packages.push(name);
                dirs.push(dir);
            }
        }
        toolchain::ensure_wasm_target().unwrap();
        let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
        let artifacts = toolchain::build_guests(
            &root,
            &packages,
            Some(&toolchain::guest_target_dir(&root)),
            true,
        )
        .unwrap_or_else(|e| panic!("building the example plugins failed: {e}"));
        dirs.iter()
            .map(|dir| {
                let manifest = dir.join("Cargo.toml").canonicalize().unwrap();
                let wasm = artifacts
                    .get(&manifest)
                    .unwrap_or_else(|| panic!("no .wasm built for {}", dir.display()))
                    .clone();
                let name = dir.strip_prefix(root.join("plugins")).unwrap();
                (name.display().to_string(), wasm)
            })
            .collect()
    })
}

pub fn plugin_wasm(name: &str) -> PathBuf {
    plugins()
        .get(name)
        .unwrap_or_else(|| panic!("no example plugin {name}"))
        .clone()
}

/// Runs `gauntlet test` on a component, silently, and returns the report.
pub fn test_component(wasm: &Path, scenario: Option<&str>) -> RunReport {
    test_component_with(wasm, scenario, Limits::default())
}

/// [`test_component`] with other limits for the plugin (the reference
/// keeps the default ones).
pub fn test_component_with(wasm: &Path, scenario: Option<&str>, limits: Limits) -> RunReport {
    test_component_seeded(wasm, scenario, limits, None)
}

/// [`test_component_with`] on another seed than each scenario's own.
pub fn test_component_seeded(
    wasm: &Path,
    scenario: Option<&str>,
    limits: Limits,
    seed: Option<u64>,
) -> RunReport {
    let cache = cache();
    let plugin = plugin::load(&cache, wasm, limits, true).unwrap();
    let reference = plugin::load_reference(&cache, plugin.track, Limits::default()).unwrap();
    let sources = plugin.track.select_scenarios(scenario).unwrap();
    run_suite(&plugin, &reference, &sources, seed, &mut Silent).unwrap()
}

/// The one scenario of a report run with `--scenario`.
pub fn only(report: &RunReport) -> &ScenarioReport {
    assert_eq!(report.scenarios.len(), 1);
    &report.scenarios[0]
}

/// Runs one scenario against an example plugin and asserts that `check`
/// fails at a named call; returns the failing check's message.
pub fn caught_at_call(plugin: &str, scenario: &str, check: &str) -> String {
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

/// Runs every scenario against an example plugin and asserts that it
/// passes them all, every check included.
pub fn passes_everything(plugin: &str, at_least: usize) {
    component_passes_everything(&plugin_wasm(plugin), at_least);
}

/// Runs every scenario against a component and asserts that it passes
/// them all, every check included.
pub fn component_passes_everything(wasm: &Path, at_least: usize) {
    component_passes_everything_with(wasm, at_least, Limits::default());
}

/// [`component_passes_everything`] with other limits for the plugin.
pub fn component_passes_everything_with(wasm: &Path, at_least: usize, limits: Limits) {
    assert_passes(&test_component_with(wasm, None, limits), at_least, None);
}

/// The seeds an allowed-variant plugin must pass on: each scenario's own,
/// then 1 to 5.
pub const VARIANT_SEEDS: [Option<u64>; 6] = [None, Some(1), Some(2), Some(3), Some(4), Some(5)];

/// Runs every scenario against an example plugin on each of
/// [`VARIANT_SEEDS`] and asserts that it passes them all: a plugin that
/// takes a choice the contract leaves open.
pub fn passes_everything_on_every_seed(plugin: &str, at_least: usize) {
    for seed in VARIANT_SEEDS {
        let report = test_component_seeded(&plugin_wasm(plugin), None, Limits::default(), seed);
        assert_passes(&report, at_least, seed);
    }
}

fn assert_passes(report: &RunReport, at_least: usize, seed: Option<u64>) {
    assert!(report.scenarios.len() >= at_least);
    for r in &report.scenarios {
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{} (seed {seed:?}): {:#?}",
            r.name,
            r.checks
        );
        assert!(
            r.checks.iter().all(|c| c.held()),
            "{}: {:#?}",
            r.name,
            r.checks
        );
    }
}
