//! Builds the reference components for `wasm32-wasip2` (the wasmtime
//! test-programs pattern) and lists the scenario files, so that both are
//! embedded in the `gauntlet` binary.

use std::path::{Path, PathBuf};

#[path = "src/toolchain.rs"]
mod toolchain;

/// Reference guest crates: (package, env var that receives the .wasm path).
const REFERENCES: &[(&str, &str)] = &[
    (
        "gauntlet-reference-rate-limiter",
        "GAUNTLET_REFERENCE_RATE_LIMITER",
    ),
    ("gauntlet-reference-payments", "GAUNTLET_REFERENCE_PAYMENTS"),
    (
        "gauntlet-reference-job-queue",
        "GAUNTLET_REFERENCE_JOB_QUEUE",
    ),
    ("gauntlet-reference-traced", "GAUNTLET_REFERENCE_TRACED"),
    (
        "gauntlet-reference-tweet-audit",
        "GAUNTLET_REFERENCE_TWEET_AUDIT",
    ),
];

const TRACKS: &[&str] = &[
    "rate-limiter",
    "payment-gateway",
    "job-queue",
    "traced",
    "tweet-audit",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["reference", "wit", "scenarios"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-changed=src/toolchain.rs");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    let target_dir = toolchain::guest_target_dir(&root);
    if let Err(e) = toolchain::ensure_wasm_target() {
        panic!("{e}");
    }
    let packages: Vec<&str> = REFERENCES.iter().map(|(p, _)| *p).collect();
    let artifacts = match toolchain::build_guests(&root, &packages, Some(&target_dir), true) {
        Ok(artifacts) => artifacts,
        Err(e) => panic!("building the reference components failed: {e}"),
    };
    for (package, var) in REFERENCES {
        let manifest = root
            .join("reference")
            .join(package.trim_start_matches("gauntlet-reference-"))
            .join("Cargo.toml");
        let Some(wasm) = artifacts.get(&manifest) else {
            panic!("cargo built no .wasm for {package} (is its crate-type cdylib?)");
        };
        println!("cargo:rustc-env={var}={}", wasm.display());
    }

    write_scenario_index(&root);
}

/// Writes `$OUT_DIR/scenarios.rs`: for each track, its scenario files as
/// `(name, path, contents)` in name order.
fn write_scenario_index(root: &Path) {
    let mut out = String::new();
    // One `#[test]` per scenario file, for `tests/scenarios.rs` to include.
    let mut tests = String::new();
    for track in TRACKS {
        let dir = root.join("scenarios").join(track);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let ident = track.replace('-', "_").to_uppercase();
        out.push_str(&format!("pub static {ident}: &[(&str, &str, &str)] = &[\n"));
        tests.push_str(&format!("mod {} {{\n", track.replace('-', "_")));
        for file in files {
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            let shown = format!("scenarios/{track}/{name}.toml");
            out.push_str(&format!(
                "    ({name:?}, {shown:?}, include_str!({:?})),\n",
                file.display().to_string()
            ));
            let test = name.replace('-', "_");
            tests.push_str(&format!(
                "    #[test]\n    fn {test}() {{\n        super::reference_passes({track:?}, {name:?});\n    }}\n"
            ));
        }
        out.push_str("];\n");
        tests.push_str("}\n");
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("scenarios.rs"), out).unwrap();
    std::fs::write(out_dir.join("scenario_tests.rs"), tests).unwrap();
}
