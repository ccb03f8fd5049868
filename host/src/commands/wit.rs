use std::path::PathBuf;

use crate::error::{ExitCode, Result};
use crate::track::Track;

/// Print a track's WIT, or write it to a directory for a bindings generator
/// (`wit/` with the track's package and its `deps/`).
#[derive(Debug, clap::Args)]
pub struct WitCommand {
    /// The track, e.g. `rate-limiter` (see `gauntlet tracks`).
    pub track: String,
    /// Write the files under this directory instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl WitCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let track = Track::named(&self.track)?;
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
