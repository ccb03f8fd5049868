//! The C and Go bindings of a track's world, generated in-process by
//! wit-bindgen's own C and Go generators (the crates `wit-bindgen c` and
//! `wit-bindgen go` are built from), so that learners in those languages
//! need no wit-bindgen of their own.

use wit_bindgen_core::Files;

use crate::track::Track;

/// A language gauntlet generates bindings for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingsLang {
    /// `<world>.h` and `<world>.c`: the types, the imports, the export
    /// declarations to define, and `cabi_realloc`; and
    /// `<world>_component_type.o`, the world for the linker to carry into
    /// the module.
    C,
    /// A Go module (`wit_component`): a package per interface, the exports'
    /// glue in `wit_exports.go`, and the canonical-ABI runtime it imports
    /// (`go.bytecodealliance.org/pkg`, carried by gauntlet and wired in
    /// with a `replace`, since the Go module proxy may not be reachable).
    Go,
}

/// The Go runtime package generated Go bindings import, as the
/// wit-bindgen-go crate ships it (v0.4.0), under `go.bytecodealliance.org/pkg`.
const GO_PKG: &[(&str, &str)] = &[
    ("go.mod", include_str!("go-pkg/go.mod")),
    ("LICENSE", include_str!("go-pkg/LICENSE")),
    (
        "wit/runtime/runtime.go",
        include_str!("go-pkg/wit/runtime/runtime.go"),
    ),
    (
        "wit/runtime/empty.s",
        include_str!("go-pkg/wit/runtime/empty.s"),
    ),
    (
        "wit/types/option.go",
        include_str!("go-pkg/wit/types/option.go"),
    ),
    (
        "wit/types/result.go",
        include_str!("go-pkg/wit/types/result.go"),
    ),
    (
        "wit/types/tuple.go",
        include_str!("go-pkg/wit/types/tuple.go"),
    ),
    (
        "wit/types/unit.go",
        include_str!("go-pkg/wit/types/unit.go"),
    ),
    (
        "wit/types/future.go",
        include_str!("go-pkg/wit/types/future.go"),
    ),
    (
        "wit/types/stream.go",
        include_str!("go-pkg/wit/types/stream.go"),
    ),
    (
        "wit/async/async.go",
        include_str!("go-pkg/wit/async/async.go"),
    ),
    (
        "wit/async/empty.s",
        include_str!("go-pkg/wit/async/empty.s"),
    ),
];

/// Where the Go runtime package goes beside the bindings.
pub const GO_PKG_DIR: &str = "wit-pkg";

/// The bindings of `track` in `lang`: (path, contents), in path order.
/// The Go bindings have the exported functions as stubs that panic, in the
/// package of each exported interface (where a plugin's own files go, in
/// their place), so that they build as they are.
pub fn generate(track: &Track, lang: BindingsLang) -> Result<Vec<(String, Vec<u8>)>, String> {
    let (mut resolve, world) = track.resolve()?;
    let mut generator = match lang {
        // With `<world>_component_type.o`, which carries the world into the
        // module (and which `<world>.c` makes the linker keep).
        BindingsLang::C => wit_bindgen_c::Opts::default().build(),
        BindingsLang::Go => wit_bindgen_go::Opts {
            format: wit_bindgen_go::Format::False,
            quiet: true,
            generate_stubs: true,
            ..Default::default()
        }
        .build(),
    };
    let mut files = Files::default();
    generator
        .generate(&mut resolve, world, &mut files)
        .map_err(|e| format!("cannot generate the bindings of {}: {e:#}", track.world))?;
    let mut out: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(path, bytes)| (path.to_string(), bytes.to_vec()))
        .collect();
    if lang == BindingsLang::Go {
        for (path, text) in GO_PKG {
            out.push((format!("{GO_PKG_DIR}/{path}"), text.as_bytes().to_vec()));
        }
        // The runtime package from beside the bindings, not the proxy.
        let go_mod = out
            .iter_mut()
            .find(|(path, _)| path == "go.mod")
            .ok_or("the Go bindings have no go.mod")?;
        go_mod.1.extend_from_slice(
            format!("\nreplace go.bytecodealliance.org/pkg => ./{GO_PKG_DIR}\n").as_bytes(),
        );
    }
    out.sort();
    Ok(out)
}
