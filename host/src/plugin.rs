//! Loading a plugin: a `.wasm` component, or a crate directory that gauntlet
//! builds first. Anything that is not a component of a known track is refused
//! here, with a one-line reason.

use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use crate::engine::{CompileSource, ComponentCache, sha256_hex};
use crate::error::{Error, Result};
use crate::sandbox::{self, Limits, Sandbox};
use crate::toolchain;
use crate::track::{self, Track};

/// A loaded, linked component ready to run.
pub struct Plugin {
    /// What the user named (the `.wasm`, or the crate directory).
    pub path: PathBuf,
    /// The component file itself.
    pub wasm: PathBuf,
    pub sha256: String,
    pub track: &'static Track,
    pub sandbox: Sandbox,
    pub compiled: CompileSource,
    pub compile_time: std::time::Duration,
    /// The language it was written in, as its `producers` sections tell
    /// (`langs::language_of`), if they do.
    pub language: Option<&'static str>,
}

const COMPONENT_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Reads and classifies a WebAssembly file's header.
fn check_header(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(Error::NotWasm {
            path: path.to_path_buf(),
        });
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(Error::CoreModule {
            path: path.to_path_buf(),
        });
    }
    if bytes[4..8] != COMPONENT_LAYER {
        return Err(Error::InvalidComponent {
            path: path.to_path_buf(),
            reason: format!("unknown WebAssembly version/layer {:02x?}", &bytes[4..8]),
        });
    }
    Ok(())
}

/// Builds a plugin crate for `wasm32-wasip2` and returns its component.
pub fn build_crate(dir: &Path, quiet: bool) -> Result<PathBuf> {
    let build_err = |reason: String| Error::Build {
        path: dir.to_path_buf(),
        reason,
    };
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(build_err("it has no Cargo.toml".to_string()));
    }
    toolchain::ensure_wasm_target().map_err(build_err)?;
    // By default cargo picks the target directory (the crate's own, or its
    // workspace's); GAUNTLET_GUEST_TARGET_DIR overrides it.
    let target_dir = std::env::var_os("GAUNTLET_GUEST_TARGET_DIR").map(PathBuf::from);
    let artifacts =
        toolchain::build_guests(dir, &[], target_dir.as_deref(), quiet).map_err(build_err)?;
    let manifest = manifest
        .canonicalize()
        .map_err(|e| build_err(e.to_string()))?;
    artifacts
        .get(&manifest)
        .cloned()
        .ok_or_else(|| build_err("cargo built no .wasm (is the crate-type cdylib?)".to_string()))
}

/// Loads a plugin: reads (or builds) it, compiles it (cached), recognises
/// its track and links it.
pub fn load(cache: &ComponentCache, path: &Path, limits: Limits, quiet: bool) -> Result<Plugin> {
    let wasm = if path.is_dir() && crate::langs::is_plugin_dir(path) {
        let toolchains = crate::langs::default_toolchains_dir().ok_or_else(|| Error::Build {
            path: path.to_path_buf(),
            reason: "no cache directory to install its toolchain in (set GAUNTLET_CACHE_DIR)"
                .to_string(),
        })?;
        crate::langs::build(path, &toolchains, quiet)?
    } else if path.is_dir() {
        build_crate(path, quiet)?
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&wasm).map_err(|source| Error::Read {
        path: wasm.clone(),
        source,
    })?;
    check_header(&wasm, &bytes)?;
    let sha256 = sha256_hex(&bytes);
    let started = std::time::Instant::now();
    let (component, compiled) = cache.load(&wasm, &bytes, &sha256)?;
    let compile_time = started.elapsed();
    let track = identify(cache, &wasm, &component)?;
    let sandbox = link(cache, &wasm, &component, limits)?;
    Ok(Plugin {
        path: path.to_path_buf(),
        wasm,
        sha256,
        track,
        sandbox,
        compiled,
        compile_time,
        language: crate::langs::language_of(&bytes),
    })
}

/// Loads a track's embedded reference component.
pub fn load_reference(
    cache: &ComponentCache,
    track: &'static Track,
    limits: Limits,
) -> Result<Plugin> {
    let path = PathBuf::from(format!("<reference {}>", track.name));
    let sha256 = sha256_hex(track.reference);
    let started = std::time::Instant::now();
    let (component, compiled) = cache.load(&path, track.reference, &sha256)?;
    let compile_time = started.elapsed();
    let sandbox = link(cache, &path, &component, limits)?;
    Ok(Plugin {
        wasm: path.clone(),
        path,
        sha256,
        track,
        sandbox,
        compiled,
        compile_time,
        language: crate::langs::language_of(track.reference),
    })
}

fn identify(cache: &ComponentCache, path: &Path, component: &Component) -> Result<&'static Track> {
    Track::of_component(cache.engine(), component).ok_or_else(|| {
        let exports = track::exported_names(cache.engine(), component);
        Error::UnknownWorld {
            path: path.to_path_buf(),
            exports: if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            },
            expected: format!(
                "a plugin exports one of: {}",
                track::TRACKS
                    .iter()
                    .map(|t| format!("{} (track {})", t.export, t.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    })
}

fn link(
    cache: &ComponentCache,
    path: &Path,
    component: &Component,
    limits: Limits,
) -> Result<Sandbox> {
    let linker = sandbox::linker(cache.engine()).map_err(Error::internal)?;
    Sandbox::new(&linker, component, limits).map_err(|e| Error::Link {
        path: path.to_path_buf(),
        reason: crate::engine::first_line(&e),
    })
}
