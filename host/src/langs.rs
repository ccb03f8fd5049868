//! Plugins written in languages other than Rust: a directory with a
//! `gauntlet.toml` naming its track and language, built into a component
//! by that language's component toolchain, which gauntlet installs (pinned)
//! under its cache directory the first time it is needed.
//!
//! Builds are keyed by a hash of the toolchain, the track's WIT and the
//! sources, so a second `gauntlet test DIR` neither rebuilds nor, since the
//! component's bytes are then the same, recompiles.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::track::Track;

/// The file that marks a plugin directory in another language.
pub const MANIFEST: &str = "gauntlet.toml";

/// componentize-py, pinned: the version every Python example was built and
/// measured with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// A plugin directory's `gauntlet.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The track, e.g. `rate-limiter`.
    track: String,
    lang: Lang,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// `app.py` (and any other `.py` files), built with componentize-py.
    Python,
}

/// Whether `dir` is a plugin directory in another language.
pub fn is_plugin_dir(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
}

/// Where gauntlet keeps the toolchains it installs and the components it
/// builds: `toolchains/` under its cache directory.
pub fn default_toolchains_dir() -> Option<PathBuf> {
    crate::engine::default_cache_dir().map(|d| d.join("toolchains"))
}

/// Builds the plugin directory `dir` (see [`MANIFEST`]) and returns its
/// component, installing the toolchain under `toolchains` if need be.
pub fn build(dir: &Path, toolchains: &Path, quiet: bool) -> Result<PathBuf> {
    let err = |reason: String| Error::Build {
        path: dir.to_path_buf(),
        reason,
    };
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).map_err(|source| Error::Read {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| {
        err(format!(
            "{MANIFEST}: {} (it holds `track = \"...\"` and `lang = \"python\"`)",
            e.message().trim()
        ))
    })?;
    let track = Track::named(&manifest.track)?;
    match manifest.lang {
        Lang::Python => build_python(dir, track, toolchains, quiet).map_err(err),
    }
}

/// The sources of a plugin directory with the given extension, in name
/// order, hashed with everything else that decides the build.
fn build_key(
    dir: &Path,
    extension: &str,
    toolchain: &str,
    track: &Track,
) -> Result<String, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("it has no .{extension} file"));
    }
    let mut hasher = Sha256::new();
    hasher.update(toolchain.as_bytes());
    for (path, text) in track.wit {
        hasher.update(path.as_bytes());
        hasher.update(text.as_bytes());
    }
    for file in files {
        let bytes =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        hasher.update(file.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Runs `cmd`, or says what failed with the last lines it printed.
fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = last[last.len().saturating_sub(3)..].join(" | ");
    Err(format!("{what} failed ({}): {tail}", out.status))
}

/// A venv with componentize-py under `toolchains`, made once: a venv
/// without the mark of a finished install is made again.
fn componentize_py(toolchains: &Path, quiet: bool) -> Result<PathBuf, String> {
    let venv = toolchains.join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let tool = venv.join("bin").join("componentize-py");
    let ready = venv.join(".gauntlet-ready");
    if ready.is_file() && tool.is_file() {
        return Ok(tool);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the unfinished {}: {e}", venv.display()))?;
    }
    if !quiet {
        eprintln!(
            "installing componentize-py {COMPONENTIZE_PY} into {}",
            venv.display()
        );
    }
    let python = std::env::var_os("GAUNTLET_PYTHON").unwrap_or_else(|| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "venv"]).arg(&venv);
    run(cmd, "python3 -m venv (Python 3.10 or newer is needed)")?;
    let mut cmd = Command::new(venv.join("bin").join("pip"));
    cmd.args([
        "install",
        "--disable-pip-version-check",
        "--quiet",
        &format!("componentize-py=={COMPONENTIZE_PY}"),
    ]);
    run(
        cmd,
        &format!("pip install componentize-py=={COMPONENTIZE_PY}"),
    )?;
    std::fs::write(&ready, COMPONENTIZE_PY).map_err(|e| e.to_string())?;
    Ok(tool)
}

/// `componentize-py componentize app` in `dir`, against the track's world.
fn build_python(
    dir: &Path,
    track: &Track,
    toolchains: &Path,
    quiet: bool,
) -> Result<PathBuf, String> {
    if !dir.join("app.py").is_file() {
        return Err("a Python plugin's module is app.py, and it has none".to_string());
    }
    let key = build_key(
        dir,
        "py",
        &format!("componentize-py {COMPONENTIZE_PY}"),
        track,
    )?;
    let built = toolchains.join("built");
    let out = built.join(format!("{key}.wasm"));
    if out.is_file() {
        return Ok(out);
    }
    let tool = componentize_py(toolchains, quiet)?;
    std::fs::create_dir_all(&built)
        .map_err(|e| format!("cannot create {}: {e}", built.display()))?;
    let wit = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (path, text) in track.wit {
        let file = wit.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a file in a directory"))
            .and_then(|()| std::fs::write(&file, text))
            .map_err(|e| format!("cannot write the WIT: {e}"))?;
    }
    if !quiet {
        eprintln!(
            "building {} with componentize-py {COMPONENTIZE_PY}",
            dir.display()
        );
    }
    let staging = built.join(format!("{key}.wasm.partial"));
    let mut cmd = Command::new(&tool);
    cmd.arg("-d")
        .arg(wit.path())
        .args(["-w", track.world.split('@').next().unwrap_or(track.world)])
        .args(["componentize", "app", "-p"])
        .arg(dir)
        .arg("-o")
        .arg(&staging)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run(cmd, "componentize-py componentize")?;
    std::fs::rename(&staging, &out).map_err(|e| format!("cannot move the component: {e}"))?;
    Ok(out)
}
