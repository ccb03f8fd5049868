use std::path::PathBuf;

use owo_colors::OwoColorize;

use crate::error::{Error, ExitCode, Result};
use crate::plugin;
use crate::runner::side_by_side;
use crate::sim::{Action, Event, History, Outcome, SeedTree};
use crate::track::{TrackId, payments, rate_limiter};

use super::RunOptions;

/// Replay one scenario step by step: every fault and call, the plugin's
/// answer beside the reference's, and the checks.
#[derive(Debug, clap::Args)]
pub struct ReplayCommand {
    /// A `.wasm` component, or a plugin crate directory to build first.
    pub plugin: PathBuf,
    /// The scenario (a name from `gauntlet tracks`, or a `.toml` file).
    #[arg(long, value_name = "NAME")]
    pub scenario: String,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print every step even of a long scenario (by default, past 200 calls
    /// only the steps around the first divergence are shown).
    #[arg(long)]
    pub all: bool,
    /// Print the plugin's history as JSON lines instead (one event a line).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run: RunOptions,
}

/// Calls shown before and after the first divergence of a long scenario.
const CONTEXT: usize = 10;
const LONG: usize = 200;

impl ReplayCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let cache = self.run.cache();
        let plugin = plugin::load(&cache, &self.plugin, self.run.limits(), self.json)?;
        let reference = plugin::load_reference(&cache, plugin.track, self.run.limits())?;
        let sources = plugin.track.select_scenarios(Some(&self.scenario))?;
        let source = sources
            .first()
            .ok_or_else(|| Error::Usage("no scenario".into()))?;
        let replay = match plugin.track.id {
            TrackId::RateLimiter => {
                let scenario = rate_limiter::scenario::Scenario::load(source, self.seed)?;
                let seeds = SeedTree::new(scenario.seed);
                {
                    let (run, reference_run) = side_by_side(
                        rate_limiter::run(&plugin.sandbox, &scenario.plan, seeds),
                        rate_limiter::run(&reference.sandbox, &scenario.plan, seeds),
                    );
                    let (checks, divergence) =
                        rate_limiter::evaluate(&scenario, &plugin.sandbox, &run, &reference_run);
                    self.show(
                        Replayed {
                            name: &scenario.name,
                            description: &scenario.description,
                            seed: scenario.seed,
                            plan: &scenario.plan,
                            plugin: &run.history,
                            reference: &reference_run.history,
                            output: &run.output,
                            checks: &checks,
                            divergence: divergence.as_ref(),
                        },
                        &plugin.path,
                    )
                }
            }
            TrackId::Payments => {
                let scenario = payments::scenario::Scenario::load(source, self.seed)?;
                {
                    let (run, reference_run) = side_by_side(
                        payments::run(&plugin.sandbox, &scenario),
                        payments::run(&reference.sandbox, &scenario),
                    );
                    let (checks, divergence) = payments::evaluate(&scenario, &run, &reference_run);
                    self.show(
                        Replayed {
                            name: &scenario.name,
                            description: &scenario.description,
                            seed: scenario.seed,
                            plan: &scenario.plan,
                            plugin: &run.history,
                            reference: &reference_run.history,
                            output: &run.output,
                            checks: &checks,
                            divergence: divergence.as_ref(),
                        },
                        &plugin.path,
                    )
                }
            }
        };
        Ok(replay)
    }

    /// Prints a replayed scenario and returns the exit code it deserves.
    fn show<Op, Out>(&self, r: Replayed<'_, Op, Out>, path: &std::path::Path) -> ExitCode
    where
        Op: std::fmt::Display,
        Out: std::fmt::Display + Clone + PartialEq + serde::Serialize,
    {
        if self.json {
            print!("{}", r.plugin.to_json_lines());
        } else {
            anstream::println!(
                "{} scenario {} (seed {}) on {}: {}",
                "replaying".bold(),
                r.name.bold(),
                r.seed,
                path.display(),
                r.description
            );
            let focus = (!self.all && r.plan.call_count() > LONG)
                .then(|| r.divergence.map_or(0, |d| d.call));
            print_trace(r.plan, r.plugin, r.reference, focus);
            if !r.output.is_empty() {
                anstream::println!("{}", "plugin output:".bold());
                for line in r.output.lines() {
                    anstream::println!("  | {line}");
                }
            }
            for check in r.checks {
                let mark = match check.status {
                    crate::check::Status::Pass => "✓".green().to_string(),
                    crate::check::Status::Fail => "✗".red().to_string(),
                    crate::check::Status::Skip => "-".dimmed().to_string(),
                };
                anstream::println!("{mark} {:<20} {}", check.name, check.message);
            }
        }
        let failed = r.plugin.abort().is_some()
            || r.checks
                .iter()
                .any(|c| c.status == crate::check::Status::Fail);
        if failed {
            ExitCode::CheckFailed
        } else {
            ExitCode::Pass
        }
    }
}

/// One replayed scenario, whatever its track.
struct Replayed<'a, Op, Out> {
    name: &'a str,
    description: &'a str,
    seed: u64,
    plan: &'a crate::sim::Plan<Op>,
    plugin: &'a History<Out>,
    reference: &'a History<Out>,
    output: &'a str,
    checks: &'a [crate::check::CheckResult],
    divergence: Option<&'a crate::check::Divergence>,
}

/// Prints the plan's steps with both runs' answers. With `focus`, only the
/// calls within [`CONTEXT`] of that call are shown.
fn print_trace<Op: std::fmt::Display, Out: std::fmt::Display + Clone + PartialEq>(
    plan: &crate::sim::Plan<Op>,
    plugin: &History<Out>,
    reference: &History<Out>,
    focus: Option<usize>,
) {
    let outcomes = |h: &History<Out>| -> Vec<(u64, u64, String, Option<Outcome<Out>>)> {
        h.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Call { fuel, outcome, .. } => {
                    Some((e.time_ms, *fuel, String::new(), Some(outcome.clone())))
                }
                Event::Fault { .. } => None,
            })
            .collect()
    };
    let (ours, theirs) = (outcomes(plugin), outcomes(reference));
    let show = |call: usize| focus.is_none_or(|f| call + CONTEXT >= f && call <= f + CONTEXT);
    if let Some(f) = focus {
        anstream::println!(
            "(showing calls {}..={} of {}; --all shows every step)",
            f.saturating_sub(CONTEXT),
            f + CONTEXT,
            plan.call_count()
        );
    }
    let mut clock = crate::sim::SimClock::new(plan.start_ms);
    let mut call = 0;
    for (step, action) in plan.actions.iter().enumerate() {
        match action {
            Action::Advance(ms) => clock.advance(*ms),
            Action::Fault(fault) => {
                clock.apply(fault);
                if show(call) {
                    anstream::println!(
                        "{:>6}        {:>+10} ms  {} {}",
                        step,
                        clock.reading() as i64 - plan.start_ms as i64,
                        "fault:".yellow(),
                        fault
                    );
                }
            }
            Action::Call(op) => {
                let reading = clock.reading() as i64 - plan.start_ms as i64;
                let mine = ours.get(call);
                let reference = theirs.get(call);
                if show(call) {
                    let same = mine.map(|m| &m.3) == reference.map(|r| &r.3);
                    let render = |o: Option<&(u64, u64, String, Option<Outcome<Out>>)>| match o {
                        Some((_, _, _, Some(Outcome::Returned(out)))) => out.to_string(),
                        Some((_, _, _, Some(Outcome::Aborted(abort)))) => {
                            format!("ABORTED: {abort}")
                        }
                        _ => "(not run)".to_string(),
                    };
                    let fuel = mine.map(|m| m.1).unwrap_or(0);
                    if same {
                        anstream::println!(
                            "{:>6} #{:<6} {:>+10} ms  {} -> {}  {}",
                            step,
                            call,
                            reading,
                            op,
                            render(mine),
                            format!("[{fuel} fuel]").dimmed()
                        );
                    } else {
                        anstream::println!(
                            "{:>6} #{:<6} {:>+10} ms  {} -> {}  {}",
                            step,
                            call,
                            reading,
                            op,
                            render(mine).red(),
                            format!("[{fuel} fuel]").dimmed()
                        );
                        anstream::println!(
                            "{:>30}  {} {}",
                            "",
                            "reference:".green(),
                            render(reference).green()
                        );
                    }
                }
                call += 1;
                if !matches!(mine, Some((_, _, _, Some(Outcome::Returned(_))))) {
                    let left = plan.call_count() - call;
                    if left > 0 {
                        anstream::println!(
                            "{:>30}  ({left} more calls not run: the plugin aborted)",
                            ""
                        );
                    }
                    break;
                }
            }
        }
    }
}
