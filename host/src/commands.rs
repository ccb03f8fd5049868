//! The command line: one file per subcommand under `commands/`, each a clap
//! struct whose doc comments are its help and whose `execute` does the work.

mod bench;
mod componentize;
mod diff;
mod new;
mod replay;
mod test;
mod tracks;
mod wit;

use clap::{Parser, Subcommand};

use crate::engine::{ComponentCache, default_cache_dir, new_engine};
use crate::error::{ExitCode, Result};
use crate::sandbox::Limits;

pub use self::bench::{BenchCommand, BenchEntry, BenchReport, BenchScenario};
pub(crate) use self::bench::{fuel_note, rate};
pub use self::componentize::ComponentizeCommand;
pub use self::diff::DiffCommand;
pub use self::new::NewCommand;
pub use self::replay::ReplayCommand;
pub use self::test::TestCommand;
pub use self::tracks::TracksCommand;
pub use self::wit::WitCommand;

/// Grades backend-engineering projects written as WebAssembly components:
/// replays seeded failure scenarios against your plugin and the reference,
/// checks invariants and diffs behaviour.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Tracks(TracksCommand),
    Wit(WitCommand),
    Test(TestCommand),
    Replay(ReplayCommand),
    Diff(DiffCommand),
    Bench(BenchCommand),
    Componentize(ComponentizeCommand),
    New(NewCommand),
}

impl Cli {
    pub fn execute(self) -> Result<ExitCode> {
        match self.command {
            Command::Tracks(c) => c.execute(),
            Command::Wit(c) => c.execute(),
            Command::Test(c) => c.execute(),
            Command::Replay(c) => c.execute(),
            Command::Diff(c) => c.execute(),
            Command::Bench(c) => c.execute(),
            Command::Componentize(c) => c.execute(),
            Command::New(c) => c.execute(),
        }
    }
}

/// Options shared by the commands that run plugins.
#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    /// Memory cap per plugin instance, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = (Limits::default().memory_bytes >> 20) as u32,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_mib: u32,
    /// Fuel each call into the plugin may burn before it is cut off.
    #[arg(long, value_name = "FUEL", default_value_t = Limits::default().fuel_per_call,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub fuel: u64,
    /// Fuel all the calls of one scenario may burn together.
    #[arg(long, value_name = "FUEL", default_value_t = Limits::default().fuel_per_scenario,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub scenario_fuel: u64,
    /// Compile components afresh instead of using the on-disk cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl RunOptions {
    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: (self.memory_mib as usize) << 20,
            fuel_per_call: self.fuel,
            fuel_per_scenario: self.scenario_fuel,
            ..Limits::default()
        }
    }

    pub fn cache(&self) -> ComponentCache {
        let dir = if self.no_cache {
            None
        } else {
            default_cache_dir()
        };
        ComponentCache::new(new_engine(), dir)
    }
}
