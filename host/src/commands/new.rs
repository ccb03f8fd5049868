use std::path::PathBuf;

use crate::error::{ExitCode, Result};
use crate::scaffold::{self, Lang};
use crate::track::Track;

/// Write a starter plugin for a track: a directory that builds into a
/// component of the track's world and loads in gauntlet as it is, every
/// function of the contract a stub generated from the track's WIT (which it
/// carries in `wit/`), and a README with the build commands. Then
/// `gauntlet test DIR`.
#[derive(Debug, clap::Args)]
pub struct NewCommand {
    /// The track, e.g. `rate-limiter` (see `gauntlet tracks`).
    pub track: String,
    /// The directory to create (or an empty one).
    pub dir: PathBuf,
    /// The language of the starter.
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: NewLang,
}

/// The languages of `gauntlet new --lang`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NewLang {
    /// A crate (wit-bindgen), built with cargo for `wasm32-wasip2`.
    Rust,
    /// `app.py`, built by gauntlet with componentize-py.
    Python,
    /// `app.js`, built by gauntlet with ComponentizeJS.
    Js,
    /// `<interface>.c`, built by gauntlet with `zig cc` (installed from
    /// PyPI) and the track's C bindings.
    C,
    /// `<interface>.go`, built by gauntlet with Go (installed from PyPI)
    /// and the track's Go bindings.
    Go,
}

impl NewCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let track = Track::named(&self.track)?;
        let lang = match self.lang {
            NewLang::Rust => Lang::Rust,
            NewLang::Python => Lang::Python,
            NewLang::Js => Lang::Js,
            NewLang::C => Lang::C,
            NewLang::Go => Lang::Go,
        };
        let files = scaffold::write(track, lang, &self.dir)?;
        println!(
            "created a {} starter in {} ({}):",
            track.name,
            self.dir.display(),
            match lang {
                Lang::Rust => "Rust",
                Lang::Python => "Python",
                Lang::Js => "JavaScript",
                Lang::C => "C",
                Lang::Go => "Go",
            }
        );
        for file in &files {
            println!("  {}", file.display());
        }
        println!(
            "next: gauntlet test {} (every scenario traps until its functions are written; see README.md)",
            self.dir.display()
        );
        Ok(ExitCode::Pass)
    }
}
