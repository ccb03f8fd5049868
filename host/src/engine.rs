//! The one wasmtime engine configuration every run uses, and the on-disk
//! cache of compiled components.
//!
//! Determinism comes first (wasmtime's deterministic-execution recipe): fuel
//! rather than epochs, NaN canonicalisation, deterministic relaxed SIMD, no
//! threads. Memory is capped per instance by [`crate::sandbox`].

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, OptLevel};

use crate::error::{Error, Result};

/// Builds the engine. Every component, the reference and the learner's alike,
/// runs in an engine configured exactly like this.
pub fn new_engine() -> Engine {
    Engine::new(&config()).expect("the engine configuration is valid")
}

/// The configuration [`new_engine`] builds from; public so that benchmarks
/// can vary one setting (the instance allocator) and keep the rest.
pub fn config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Component-model async (futures, streams, `call_concurrent`) is not
        // used; turning it off makes every call about 3x cheaper. Host
        // imports are still async, so a plugin can be suspended at an import.
        .concurrency_support(false)
        .consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    config
}

/// A hex digest of the engine's compatibility hash: compiled artifacts are
/// only reused by an engine with the same settings (a fuel-metered artifact
/// does not load into an engine without fuel).
fn engine_fingerprint(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}

/// The hex sha256 of a file's bytes: how a plugin is identified in reports.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where compiled components are kept between runs.
///
/// `GAUNTLET_CACHE_DIR` if set (an empty value turns the cache off), else
/// `$XDG_CACHE_HOME/gauntlet`, else `$HOME/.cache/gauntlet`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GAUNTLET_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("gauntlet"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("gauntlet"))
}

/// How a component was obtained, for progress output and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileSource {
    /// Compiled now (and stored in the cache if there is one).
    Compiled,
    /// Loaded from the on-disk cache.
    Cached,
}

/// Compiles components, reusing what an earlier run compiled.
pub struct ComponentCache {
    engine: Engine,
    dir: Option<PathBuf>,
    fingerprint: String,
}

impl ComponentCache {
    pub fn new(engine: Engine, dir: Option<PathBuf>) -> Self {
        let fingerprint = engine_fingerprint(&engine);
        ComponentCache {
            engine,
            dir,
            fingerprint,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The cache file for a component with this sha256.
    fn entry(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(
            dir.join(format!("v{}", env!("CARGO_PKG_VERSION")))
                .join(&self.fingerprint)
                .join(format!("{sha256}.cwasm")),
        )
    }

    /// Compiles `bytes` (a component already validated as such), or loads
    /// the artifact an earlier run cached. `origin` names the component in
    /// errors.
    pub fn load(
        &self,
        origin: &Path,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Component, CompileSource)> {
        if let Some(entry) = self.entry(sha256).filter(|p| p.is_file()) {
            // SAFETY: the cache only holds artifacts this engine configuration
            // wrote (the path is keyed by gauntlet's version and the engine's
            // compatibility hash). A corrupt file fails to deserialize and is
            // then recompiled and overwritten.
            if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, &entry) } {
                return Ok((component, CompileSource::Cached));
            }
        }
        // Compiling takes seconds for a large component: show it, on a
        // terminal only (indicatif draws nothing when stderr is not one).
        let spinner = indicatif::ProgressBar::new_spinner().with_message(format!(
            "compiling {} ({} KiB)",
            origin.display(),
            bytes.len() / 1024
        ));
        spinner.enable_steady_tick(std::time::Duration::from_millis(100));
        let artifact = self.engine.precompile_component(bytes);
        spinner.finish_and_clear();
        let artifact = artifact.map_err(|e| Error::InvalidComponent {
            path: origin.to_path_buf(),
            reason: first_line(&e),
        })?;
        // SAFETY: the artifact was produced just now by this very engine.
        let component =
            unsafe { Component::deserialize(&self.engine, &artifact) }.map_err(Error::internal)?;
        if let Some(entry) = self.entry(sha256) {
            // A cache that cannot be written is not an error: the run goes on
            // uncached.
            if let Err(e) = store_atomically(&entry, &artifact) {
                tracing::warn!(
                    "not caching the compiled component at {}: {e}",
                    entry.display()
                );
            }
        }
        Ok((component, CompileSource::Compiled))
    }
}

fn store_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache entries live in a directory");
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The first line of an error's cause chain, for one-line messages.
pub(crate) fn first_line(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    text.lines().next().unwrap_or("unknown error").to_string()
}
