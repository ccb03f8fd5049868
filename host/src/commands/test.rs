use std::path::PathBuf;

use crate::error::{ExitCode, Result};
use crate::plugin;
use crate::report::{Format, reporter};
use crate::runner::run_suite;

use super::RunOptions;

/// Run a track's scenarios against PLUGIN and the reference: a verdict per
/// scenario, the first divergence, and a replay command for each failure.
#[derive(Debug, clap::Args)]
pub struct TestCommand {
    /// A `.wasm` component, or a plugin crate directory to build first.
    pub plugin: PathBuf,
    /// Run only this scenario (a name from `gauntlet tracks`, or a `.toml` file).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Override every scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunOptions,
}

impl TestCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let cache = self.run.cache();
        let quiet = self.format != Format::Human;
        let plugin = plugin::load(&cache, &self.plugin, self.run.limits(), quiet)?;
        let reference = plugin::load_reference(&cache, plugin.track, self.run.limits())?;
        let sources = plugin.track.select_scenarios(self.scenario.as_deref())?;
        let mut reporter = reporter(self.format);
        let report = run_suite(&plugin, &reference, &sources, self.seed, reporter.as_mut())?;
        if let Some(path) = &self.html {
            crate::html::write(path, &crate::html::test_page(&report))?;
        }
        Ok(if report.all_passed() {
            ExitCode::Pass
        } else {
            ExitCode::CheckFailed
        })
    }
}
