//! The C and Go bindings of a track's world, generated in-process by
//! wit-bindgen's own C and Go generators (the crates `wit-bindgen c` and
//! `wit-bindgen go` are built from), so that learners in those languages
//! need no wit-bindgen of their own.

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
/// wit-bindgen-go crate ships it (v0.4.0), under `go.bytecodealliance.org/pkg`,
/// with one change of gauntlet's, marked in `wit/runtime/runtime.go`: the
/// collector never runs in `cabi_realloc`.
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

/// How each export's function starts in wit-bindgen-go 0.63's glue (its
/// post-return functions start `func wasm_export_post_return_`).
const GO_EXPORT_FUNC: &str = "func wasm_export_";

/// Has every export of the Go glue (`wit_exports.go`) turn the garbage
/// collector on while it runs and off (finishing a collection in progress)
/// when it returns, so that no collection ever runs in `cabi_realloc`,
/// where it would trap (see `EnterExport` in `go-pkg/wit/runtime`).
fn gc_only_inside_exports(files: &mut [(String, Vec<u8>)]) -> Result<(), String> {
    let (_, glue) = files
        .iter_mut()
        .find(|(path, _)| path == "wit_exports.go")
        .ok_or("the Go bindings have no wit_exports.go")?;
    let imports_runtime = String::from_utf8_lossy(glue).contains("witRuntime \"");
    let exports = around_lines(glue, |line| {
        let export = line.starts_with(GO_EXPORT_FUNC)
            && !line.starts_with("func wasm_export_post_return_")
            && line.ends_with('{');
        (
            None,
            export.then_some("witRuntime.EnterExport()\ndefer witRuntime.LeaveExport()"),
        )
    });
    if exports == 0 || !imports_runtime {
        return Err("the Go bindings' export glue is not as expected (wit-bindgen-go 0.63)".into());
    }
    Ok(())
}

/// Has every import call of the Go bindings that gets its results back
/// through memory (a return area: strings, lists, anything the host
/// allocates with `cabi_realloc`) turn the collector off across the call
/// (`BeforeImport`/`AfterImport` in `go-pkg/wit/runtime`). Calls whose
/// results come back as values (a clock reading) need no bracket.
fn gc_off_across_imports(files: &mut [(String, Vec<u8>)]) {
    for (path, bytes) in files.iter_mut() {
        if path == "wit_exports.go" || !path.ends_with(".go") || path.starts_with(GO_PKG_DIR) {
            continue;
        }
        around_lines(bytes, |line| {
            let call = line.trim_start();
            if call.starts_with("wasm_import_") && call.contains("returnArea") {
                (
                    Some("gcWasOn := witRuntime.BeforeImport()"),
                    Some("witRuntime.AfterImport(gcWasOn)"),
                )
            } else {
                (None, None)
            }
        });
    }
}

/// Rewrites the Go source `bytes` line by line, putting what `around`
/// answers for a line before and after it; returns how many lines it
/// touched.
fn around_lines(
    bytes: &mut Vec<u8>,
    around: impl Fn(&str) -> (Option<&'static str>, Option<&'static str>),
) -> usize {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut out = String::with_capacity(text.len() + 1024);
    let mut touched = 0;
    for line in text.lines() {
        let (before, after) = around(line);
        touched += usize::from(before.is_some() || after.is_some());
        for part in [before, Some(line), after].into_iter().flatten() {
            out.push_str(part);
            out.push('\n');
        }
    }
    *bytes = out.into_bytes();
    touched
}

/// The first line of the stubs wit-bindgen's Go generator writes in the
/// package of an exported interface, which a plugin's own files replace.
const GO_STUB_HEADER: &str = "// The exported functions below are stubs";

/// The package of the Go bindings a plugin's files go in: the one
/// directory whose `wit_bindings.go` holds only stubs (the exported
/// interface's), e.g. `export_gauntlet_rate_limiter_limiter`.
pub fn go_export_package(files: &[(String, Vec<u8>)]) -> Result<&str, String> {
    let packages: Vec<&str> = files
        .iter()
        .filter(|(_, bytes)| bytes.starts_with(GO_STUB_HEADER.as_bytes()))
        .filter_map(|(path, _)| path.strip_suffix("/wit_bindings.go"))
        .collect();
    match packages[..] {
        [package] => Ok(package),
        _ => Err(format!(
            "a Go plugin implements one exported interface; this track's bindings have {}",
            packages.len()
        )),
    }
}

/// Where the Go runtime package goes beside the bindings.
pub const GO_PKG_DIR: &str = "wit-pkg";

/// Generated files: (path, contents), in path order.
pub type Files = Vec<(String, Vec<u8>)>;

/// The bindings of `track` in `lang`, in path order.
/// The Go bindings have the exported functions as stubs that panic, in the
/// package of each exported interface (where a plugin's own files go, in
/// their place), so that they build as they are.
pub fn generate(track: &Track, lang: BindingsLang) -> Result<Files, String> {
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
    let mut files = wit_bindgen_core::Files::default();
    generator
        .generate(&mut resolve, world, &mut files)
        .map_err(|e| format!("cannot generate the bindings of {}: {e:#}", track.world))?;
    let mut out: Files = files
        .iter()
        .map(|(path, bytes)| (path.to_string(), bytes.to_vec()))
        .collect();
    if lang == BindingsLang::Go {
        for (path, text) in GO_PKG {
            out.push((format!("{GO_PKG_DIR}/{path}"), text.as_bytes().to_vec()));
        }
        gc_only_inside_exports(&mut out)?;
        gc_off_across_imports(&mut out);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every export of every track's Go glue runs with the collector on
    /// and turns it off on the way out (`gc_only_inside_exports`).
    #[test]
    fn every_go_export_brackets_the_collector() {
        for track in crate::track::TRACKS {
            let files = generate(track, BindingsLang::Go).unwrap();
            let glue = files
                .iter()
                .find(|(path, _)| path == "wit_exports.go")
                .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
                .unwrap();
            let exports = glue
                .lines()
                .filter(|l| l.starts_with("//go:wasmexport ") && l.contains('#'))
                .filter(|l| !l.contains("cabi_post_"))
                .count();
            assert!(exports > 0, "{}", track.name);
            assert_eq!(glue.matches("witRuntime.EnterExport()").count(), exports);
            assert_eq!(
                glue.matches("defer witRuntime.LeaveExport()").count(),
                exports
            );
        }
    }

    /// The payment gateway's store calls (results through memory) turn
    /// the collector off across the call; its clock reads do not.
    #[test]
    fn go_imports_with_results_in_memory_pause_the_collector() {
        let track = Track::named("payment-gateway").unwrap();
        let files = generate(track, BindingsLang::Go).unwrap();
        let text = |name: &str| {
            files
                .iter()
                .find(|(path, _)| path == name)
                .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
                .unwrap()
        };
        let store = text("gauntlet_harness_store/wit_bindings.go");
        let calls = store
            .lines()
            .filter(|l| l.trim_start().starts_with("wasm_import_") && l.contains("returnArea"))
            .count();
        assert!(calls >= 4, "{calls}");
        assert_eq!(store.matches("witRuntime.BeforeImport()").count(), calls);
        assert_eq!(
            store.matches("witRuntime.AfterImport(gcWasOn)").count(),
            calls
        );
        let clock = text("gauntlet_harness_clock/wit_bindings.go");
        assert!(!clock.contains("BeforeImport"));
    }

    #[test]
    fn c_bindings_carry_the_world_for_the_linker() {
        let track = Track::named("rate-limiter").unwrap();
        let files = generate(track, BindingsLang::C).unwrap();
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["plugin.c", "plugin.h", "plugin_component_type.o"]);
    }
}
