use std::path::PathBuf;

use owo_colors::OwoColorize;

use crate::diff::{ComparedScenario, DIFF_FORMAT, DiffReport, DiffSummary, Sides, compare};
use crate::error::{Error, ExitCode, Result};
use crate::plugin::{self, Plugin};
use crate::runner::{PluginInfo, pair};
use crate::scenario::Source;
use crate::track::kind::{TrackKind, with_track};

use super::RunOptions;

/// Diff PLUGIN's behaviour against OTHER's (default: the reference) on the
/// same scenarios: which scenarios agree, and around each first divergence
/// the two answers side by side, the fault before it and the checks PLUGIN
/// broke.
#[derive(Debug, clap::Args)]
pub struct DiffCommand {
    /// A `.wasm` component, or a plugin crate directory to build first.
    pub plugin: PathBuf,
    /// The other side (default: the track's reference).
    pub other: Option<PathBuf>,
    /// Only this scenario (a name from `gauntlet tracks`, or a `.toml` file).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Override every scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Calls of context shown before and after a divergence.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub context: usize,
    /// Print the comparison as JSON (format documented in `host/src/diff.rs`).
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunOptions,
}

impl DiffCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let cache = self.run.cache();
        let limits = self.run.limits();
        let left = plugin::load(&cache, &self.plugin, limits, self.json)?;
        let right = match &self.other {
            Some(path) => plugin::load(&cache, path, limits, self.json)?,
            None => plugin::load_reference(&cache, left.track, limits)?,
        };
        if left.track.id != right.track.id {
            return Err(Error::Usage(format!(
                "cannot diff across tracks: {} implements {}, {} implements {}",
                left.path.display(),
                left.track.name,
                right.path.display(),
                right.track.name
            )));
        }
        let sources = left.track.select_scenarios(self.scenario.as_deref())?;
        let other = if self.other.is_some() {
            "other"
        } else {
            "reference"
        };
        if !self.json {
            anstream::println!(
                "{} {} (plugin) against {} ({other}) on track {}",
                "diffing".bold(),
                left.path.display(),
                right.path.display(),
                left.track.name.bold()
            );
        }
        let mut compared = Vec::new();
        for source in &sources {
            let result = with_track!(left.track.id, K => compare_scenario::<K>(&left, &right, source, self.seed, self.context))?;
            if !self.json {
                print_compared(&result, other);
            }
            compared.push(result);
        }
        let differ = compared.iter().filter(|c| c.divergence.is_some()).count();
        let report = DiffReport {
            format: DIFF_FORMAT,
            gauntlet: env!("CARGO_PKG_VERSION"),
            track: left.track.name,
            plugin: PluginInfo::of(&left),
            other: PluginInfo::of(&right),
            other_is_reference: self.other.is_none(),
            summary: DiffSummary {
                scenarios: compared.len(),
                agree: compared.len() - differ,
                differ,
            },
            scenarios: compared,
        };
        if let Some(path) = &self.html {
            crate::html::write(path, &crate::html::diff_page(&report))?;
        }
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("the diff report serialises")
            );
        } else {
            let line = format!(
                "{}: {} agree, {} differ",
                crate::report::count(report.summary.scenarios, "scenario"),
                report.summary.agree,
                report.summary.differ
            );
            if differ == 0 {
                anstream::println!("{}", line.green().bold());
            } else {
                anstream::println!("{}", line.red().bold());
            }
        }
        Ok(if differ == 0 {
            ExitCode::Pass
        } else {
            ExitCode::CheckFailed
        })
    }
}

/// Runs one scenario on both sides and lays the runs side by side.
fn compare_scenario<K: TrackKind>(
    left: &Plugin,
    right: &Plugin,
    source: &Source,
    seed: Option<u64>,
    context: usize,
) -> Result<ComparedScenario> {
    let scenario = K::load(source, seed)?;
    let pair = pair::<K>(&left.sandbox, &right.sandbox, &scenario);
    Ok(compare(
        Sides {
            name: K::name(&scenario),
            seed: K::seed(&scenario),
            plan: K::plan(&scenario),
            plugin: K::history(&pair.plugin),
            other: K::history(&pair.other),
            checks: pair.checks,
            divergence: pair.divergence,
            timeline: K::timeline(&pair.plugin),
        },
        context,
    ))
}

fn print_compared(c: &ComparedScenario, other: &str) {
    let Some(d) = &c.divergence else {
        anstream::println!("{} {}", "  agree ".green().bold(), c.name);
        return;
    };
    anstream::println!(
        "{} {} (seed {}): first divergence at call {}, t={} ms{}",
        "  differ".red().bold(),
        c.name.bold(),
        c.seed,
        d.call,
        d.time_ms,
        d.after_fault
            .as_ref()
            .map(|f| format!(", after: {f}"))
            .unwrap_or_default()
    );
    for row in &c.rows {
        let call = row.call;
        if row.differs {
            anstream::println!("    {} #{call:<5} {}", "≠".red(), row.operation);
            anstream::println!("        {:<10} {}", "plugin", row.plugin.red());
            anstream::println!("        {other:<10} {}", row.other.green());
            if let Some(fields) = crate::diff::differs_in(&row.fields) {
                anstream::println!("        {}", fields.yellow());
            }
        } else {
            anstream::println!(
                "      #{call:<5} {} -> {}",
                row.operation,
                row.plugin.dimmed()
            );
        }
    }
    for check in &c.broken_checks {
        anstream::println!(
            "      {} {}: {}",
            "✗".red(),
            check.name.bold(),
            check.message
        );
    }
}
