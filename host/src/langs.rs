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

/// ComponentizeJS and the packages it needs beside it, pinned (0.23.0
/// imports preview2-shim but lists it only as a dev dependency).
pub const COMPONENTIZE_JS: &[&str] = &[
    "@bytecodealliance/componentize-js@0.23.0",
    "@bytecodealliance/jco@1.35.0",
    "@bytecodealliance/preview2-shim@0.17.9",
];

/// The directory the JavaScript toolchain is installed in, named after it.
const COMPONENTIZE_JS_DIR: &str = "componentize-js-0.23.0";

/// gauntlet's build script for a JavaScript plugin.
const COMPONENTIZE_JS_SCRIPT: &str = include_str!("langs/componentize-js.mjs");

/// A plugin directory's `gauntlet.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The track, e.g. `rate-limiter`.
    track: String,
    lang: Lang,
    /// The module to build: `app.py` for Python, `app.js` for JavaScript
    /// unless given.
    main: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// `app.py` (and any other `.py` files), built with componentize-py.
    Python,
    /// One ES module (`app.js`) built with ComponentizeJS (a JavaScript
    /// engine with the plugin inside).
    Js,
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
            "{MANIFEST}: {} (it holds `track = \"...\"` and `lang = \"python\"` or `\"js\"`)",
            e.message().trim()
        ))
    })?;
    let track = Track::named(&manifest.track)?;
    match manifest.lang {
        Lang::Python => {
            let main = manifest.main.as_deref().unwrap_or("app.py");
            build_python(dir, main, track, toolchains, quiet).map_err(err)
        }
        Lang::Js => {
            let main = manifest.main.as_deref().unwrap_or("app.js");
            build_js(dir, main, track, toolchains, quiet).map_err(err)
        }
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

/// A toolchain installed once under `toolchains/<name>`: `install` fills
/// the directory, and a mark written after it succeeded tells a finished
/// install from one cut short (which is made again).
fn toolchain(
    toolchains: &Path,
    name: &str,
    quiet: bool,
    install: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let dir = toolchains.join(name);
    let ready = dir.join(".gauntlet-ready");
    if ready.is_file() {
        return Ok(dir);
    }
    // One install at a time, across threads and processes (two tests, or
    // two `gauntlet test` runs, needing the same toolchain): the second
    // waits for the lock, then finds the install finished.
    std::fs::create_dir_all(toolchains)
        .map_err(|e| format!("cannot create {}: {e}", toolchains.display()))?;
    let lock_path = toolchains.join(format!("{name}.lock"));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if ready.is_file() {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot remove the unfinished {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if !quiet {
        eprintln!("installing {name} into {} (once)", dir.display());
    }
    install(&dir)?;
    std::fs::write(&ready, name).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Where a build of `key` goes, and whether it is there already.
fn built(toolchains: &Path, key: &str) -> Result<(PathBuf, bool), String> {
    let built = toolchains.join("built");
    std::fs::create_dir_all(&built)
        .map_err(|e| format!("cannot create {}: {e}", built.display()))?;
    let out = built.join(format!("{key}.wasm"));
    let done = out.is_file();
    Ok((out, done))
}

/// The track's WIT written out for a bindings generator.
fn wit_dir(track: &Track) -> Result<tempfile::TempDir, String> {
    let wit = tempfile::tempdir().map_err(|e| e.to_string())?;
    track
        .write_wit(wit.path())
        .map_err(|e| format!("cannot write the WIT: {e}"))?;
    Ok(wit)
}

/// Runs the build `cmd` that writes `staging`, then moves it to `out`.
fn finish(cmd: Command, what: &str, staging: &Path, out: &Path) -> Result<PathBuf, String> {
    run(cmd, what)?;
    std::fs::rename(staging, out).map_err(|e| format!("cannot move the component: {e}"))?;
    Ok(out.to_path_buf())
}

/// `componentize-py componentize <main>` against the track's world.
fn build_python(
    dir: &Path,
    main: &str,
    track: &Track,
    toolchains: &Path,
    quiet: bool,
) -> Result<PathBuf, String> {
    let module = main
        .strip_suffix(".py")
        .filter(|_| dir.join(main).is_file())
        .ok_or_else(|| {
            format!("its module {main} is not there (a Python plugin builds a .py module)")
        })?;
    let version = format!("componentize-py-{COMPONENTIZE_PY}");
    let key = build_key(dir, "py", &version, track)?;
    let (out, done) = built(toolchains, &key)?;
    if done {
        return Ok(out);
    }
    let venv = toolchain(toolchains, &version, quiet, |venv| {
        let python = std::env::var_os("GAUNTLET_PYTHON").unwrap_or_else(|| "python3".into());
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "venv"]).arg(venv);
        run(cmd, "python3 -m venv (Python 3.10 or newer is needed)")?;
        let mut cmd = Command::new(venv.join("bin").join("pip"));
        cmd.args(["install", "--disable-pip-version-check", "--quiet"])
            .arg(format!("componentize-py=={COMPONENTIZE_PY}"));
        run(
            cmd,
            &format!("pip install componentize-py=={COMPONENTIZE_PY}"),
        )
    })?;
    let wit = wit_dir(track)?;
    if !quiet {
        eprintln!("building {} with {version}", dir.display());
    }
    let staging = out.with_extension("partial");
    let mut cmd = Command::new(venv.join("bin").join("componentize-py"));
    cmd.arg("-d")
        .arg(wit.path())
        .args(["-w", track.world.split('@').next().unwrap_or(track.world)])
        .args(["componentize", module, "-p"])
        .arg(dir)
        .arg("-o")
        .arg(&staging)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    finish(cmd, "componentize-py componentize", &staging, &out)
}

/// ComponentizeJS on `main` against the track's world.
fn build_js(
    dir: &Path,
    main: &str,
    track: &Track,
    toolchains: &Path,
    quiet: bool,
) -> Result<PathBuf, String> {
    let source = dir.join(main);
    if !source.is_file() || !main.ends_with(".js") {
        return Err(format!(
            "its module {main} is not there (a JavaScript plugin builds one .js ES module)"
        ));
    }
    let version = COMPONENTIZE_JS_DIR;
    let key = build_key(dir, "js", &COMPONENTIZE_JS.join(" "), track)?;
    let (out, done) = built(toolchains, &key)?;
    if done {
        return Ok(out);
    }
    let prefix = toolchain(toolchains, version, quiet, |prefix| {
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--prefix"])
            .arg(prefix)
            .args([
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .args(COMPONENTIZE_JS);
        run(cmd, "npm install (Node.js 18 or newer is needed)")?;
        std::fs::write(prefix.join("componentize-js.mjs"), COMPONENTIZE_JS_SCRIPT)
            .map_err(|e| e.to_string())
    })?;
    let wit = wit_dir(track)?;
    if !quiet {
        eprintln!("building {} with {version}", dir.display());
    }
    let staging = out.with_extension("partial");
    let mut cmd = Command::new("node");
    cmd.arg(prefix.join("componentize-js.mjs"))
        .arg(&prefix)
        .arg(&source)
        .arg(wit.path())
        .arg(track.world)
        .arg(&staging);
    finish(cmd, "componentize-js", &staging, &out)
}
