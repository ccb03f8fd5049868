//! Building guest crates for `wasm32-wasip2` with cargo. Shared by the
//! build script (which builds the reference components) and by `gauntlet`
//! itself (which builds a learner's plugin crate given as a directory).
//!
//! This file is included by `build.rs` with `#[path]`, so it depends on the
//! standard library only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Installs the `wasm32-wasip2` standard library with rustup if the active
/// toolchain lacks it.
pub fn ensure_wasm_target() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .join("lib")
        .is_dir()
    {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| {
            format!("the {WASM_TARGET} target is missing and rustup cannot be run: {e}")
        })?;
    if !status.success() {
        return Err(format!(
            "the {WASM_TARGET} target is missing and `rustup target add {WASM_TARGET}` failed"
        ));
    }
    Ok(())
}

/// The target directory guests of this workspace are built in: beside the
/// host's, never the same one (the host's build holds that one's lock).
pub fn guest_target_dir(workspace_root: &Path) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root.join("target"));
    base.join("wasm-guests")
}

/// A `cargo` command with the variables of an enclosing cargo build removed,
/// so that a nested build is an ordinary build of the guest.
fn cargo() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTC_WORKSPACE_WRAPPER"
            || key == "RUSTC_WRAPPER"
            || key == "CARGO_TARGET_DIR"
            || key == "CARGO_BUILD_TARGET"
            || key == "RUSTFLAGS"
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_CFG_")
            || key == "CARGO_MANIFEST_DIR"
            || key == "CARGO_MANIFEST_PATH"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}

/// Builds `packages` of the workspace at `manifest_dir` (or, with no
/// packages, the crate there) in release mode for `wasm32-wasip2`, and returns
/// the `.wasm` artifacts, keyed by the manifest path of the crate that made
/// each.
pub fn build_guests(
    manifest_dir: &Path,
    packages: &[&str],
    target_dir: Option<&Path>,
    quiet: bool,
) -> Result<BTreeMap<PathBuf, PathBuf>, String> {
    let mut cmd = cargo();
    cmd.current_dir(manifest_dir)
        .args(["build", "--release", "--target", WASM_TARGET])
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(if quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    if let Some(dir) = target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    if quiet {
        cmd.arg("--quiet");
    }
    for package in packages {
        cmd.args(["-p", package]);
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("error"))
            .unwrap_or("cargo build failed");
        return Err(last.trim().to_string());
    }
    let mut artifacts = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let wasm = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"));
        if let (Some(wasm), Some(manifest)) = (wasm, message["manifest_path"].as_str()) {
            artifacts.insert(PathBuf::from(manifest), PathBuf::from(wasm));
        }
    }
    Ok(artifacts)
}
