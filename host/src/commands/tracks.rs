use crate::error::{ExitCode, Result};
use crate::track::TRACKS;

/// List the tracks: name, the WIT world a plugin implements, scenarios.
#[derive(Debug, clap::Args)]
pub struct TracksCommand {}

impl TracksCommand {
    pub fn execute(self) -> Result<ExitCode> {
        println!("{:<16} {:<40} scenarios", "track", "world");
        for track in TRACKS {
            println!(
                "{:<16} {:<40} {}",
                track.name,
                track.world,
                track.scenarios().len()
            );
        }
        Ok(ExitCode::Pass)
    }
}
