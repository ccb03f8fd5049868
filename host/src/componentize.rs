//! Turning a core WebAssembly module into a component of a track, the step
//! that learners in C, Go and other languages without a component toolchain
//! of their own would otherwise need `wasm-tools` for: embed the track's
//! world (unless the module already carries one, as `wit-bindgen c` output
//! does), adapt WASI preview 1 imports to preview 2 with the reactor
//! adapter, and encode (wit-component).

use wit_component::{ComponentEncoder, StringEncoding};

use crate::track::Track;

/// The versions of what makes the component (part of a build's key in
/// `langs`): wit-component's, and the WASI adapter's (wasmtime's).
pub const WIT_COMPONENT: &str = "0.262";
pub const WASI_ADAPTER: &str = "48";

/// The name the module imports WASI preview 1 under.
const WASI_P1: &str = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME;

/// How to componentize.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Let the adapter allocate by growing memory, for modules whose
    /// `cabi_realloc` cannot run before their runtime is up (Go's).
    pub realloc_via_memory_grow: bool,
}

/// Whether a core module carries component-type metadata already.
fn has_component_type(module: &[u8]) -> bool {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| payload.ok())
        .any(|payload| {
            matches!(payload, wasmparser::Payload::CustomSection(s)
                if s.name().starts_with("component-type"))
        })
}

/// Whether a core module imports WASI preview 1.
fn imports_wasi_p1(module: &[u8]) -> bool {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| payload.ok())
        .any(|payload| match payload {
            wasmparser::Payload::ImportSection(imports) => imports
                .into_imports()
                .filter_map(|i| i.ok())
                .any(|i| i.module == WASI_P1),
            _ => false,
        })
}

/// The component of `track` made from the core `module`.
pub fn componentize(module: &[u8], track: &Track, options: Options) -> Result<Vec<u8>, String> {
    let mut module = module.to_vec();
    if !has_component_type(&module) {
        let (resolve, world) = track.resolve()?;
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            StringEncoding::UTF8,
            false,
        )
        .map_err(|e| format!("cannot embed the world {}: {e:#}", track.world))?;
    }
    let mut encoder = ComponentEncoder::default();
    encoder
        .module(&module)
        .map_err(|e| format!("{e:#}"))?
        .validate(true)
        .realloc_via_memory_grow(options.realloc_via_memory_grow);
    if imports_wasi_p1(&module) {
        encoder
            .adapter(
                WASI_P1,
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
            .map_err(|e| format!("the WASI adapter does not fit: {e:#}"))?;
    }
    encoder
        .encode()
        .map_err(|e| format!("{e:#}").replace('\n', "; "))
}
