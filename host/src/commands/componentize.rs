use std::path::PathBuf;

use crate::componentize::{Options, componentize};
use crate::error::{Error, ExitCode, Result};
use crate::track::Track;

/// Make a component of a track from a core WebAssembly module (built by C,
/// Go or any compiler without component output): embeds the track's world
/// unless the module carries one, adapts WASI preview 1 to preview 2, and
/// writes the component, ready for `gauntlet test`.
#[derive(Debug, clap::Args)]
pub struct ComponentizeCommand {
    /// The core module (`.wasm`).
    pub module: PathBuf,
    /// The track whose world the module implements (see `gauntlet tracks`).
    #[arg(long)]
    pub track: String,
    /// Where to write the component.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Let the WASI adapter allocate by growing memory, for a module whose
    /// `cabi_realloc` cannot run before its runtime starts (Go).
    #[arg(long)]
    pub realloc_via_memory_grow: bool,
}

impl ComponentizeCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let track = Track::named(&self.track)?;
        let module = std::fs::read(&self.module).map_err(|source| Error::Read {
            path: self.module.clone(),
            source,
        })?;
        if module.len() < 8 || &module[..4] != b"\0asm" {
            return Err(Error::NotWasm {
                path: self.module.clone(),
            });
        }
        if module[4..8] != [0x01, 0x00, 0x00, 0x00] {
            return Err(Error::Usage(format!(
                "{} is already a component (or not a core module): give it to `gauntlet test` as it is",
                self.module.display()
            )));
        }
        let options = Options {
            realloc_via_memory_grow: self.realloc_via_memory_grow,
        };
        let component =
            componentize(&module, track, options).map_err(|reason| Error::InvalidComponent {
                path: self.module.clone(),
                reason: format!("cannot make a {} component of it: {reason}", track.name),
            })?;
        std::fs::write(&self.out, &component).map_err(|source| Error::Write {
            path: self.out.clone(),
            source,
        })?;
        println!(
            "wrote {} ({} component, {} bytes)",
            self.out.display(),
            track.name,
            component.len()
        );
        Ok(ExitCode::Pass)
    }
}
