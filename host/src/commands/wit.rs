use std::path::PathBuf;

use crate::error::{Error, ExitCode, Result};
use crate::langs::bindgen::{self, BindingsLang};
use crate::track::Track;

/// Print a track's WIT, or write it to a directory for a bindings generator
/// (`wit/` with the track's package and its `deps/`), or write the track's
/// C or Go bindings (`--bindings`).
#[derive(Debug, clap::Args)]
pub struct WitCommand {
    /// The track, e.g. `rate-limiter` (see `gauntlet tracks`).
    pub track: String,
    /// Write the files under this directory instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the bindings of the track's world in this language (with
    /// wit-bindgen's generator) instead of its WIT; needs `--out`.
    #[arg(long, value_enum, value_name = "LANG", requires = "out")]
    pub bindings: Option<Bindings>,
}

/// The languages of `gauntlet wit --bindings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Bindings {
    /// `<world>.h` and `<world>.c`, as `wit-bindgen c` writes them.
    C,
    /// A Go module, as `wit-bindgen go --generate-stubs` writes it (the
    /// exported functions stubs that panic), with the runtime package it
    /// imports.
    Go,
}

impl WitCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let track = Track::named(&self.track)?;
        if let (Some(lang), Some(dir)) = (self.bindings, &self.out) {
            let lang = match lang {
                Bindings::C => BindingsLang::C,
                Bindings::Go => BindingsLang::Go,
            };
            let files = bindgen::generate(track, lang).map_err(Error::Usage)?;
            for file in crate::track::write_files(dir, files.iter().map(|(p, b)| (p, b)))? {
                println!("wrote {}", file.display());
            }
            return Ok(ExitCode::Pass);
        }
        match &self.out {
            None => {
                for (i, (path, text)) in track.wit.iter().enumerate() {
                    if i > 0 {
                        println!();
                    }
                    println!("// {path}");
                    print!("{text}");
                }
            }
            Some(dir) => {
                for file in track.write_wit(dir)? {
                    println!("wrote {}", file.display());
                }
            }
        }
        Ok(ExitCode::Pass)
    }
}
