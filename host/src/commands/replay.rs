use std::path::PathBuf;

use owo_colors::OwoColorize;

use crate::diff::{self, Compared, LINE_LIMIT};
use crate::error::{Error, ExitCode, Result};
use crate::plugin::{self, Plugin};
use crate::runner::pair;
use crate::scenario::Source;
use crate::sim::{Action, Event, History, Outcome};
use crate::track::kind::{TrackKind, with_track};

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
        with_track!(plugin.track.id, K => self.replay::<K>(&plugin, &reference, source))
    }

    /// Replays one scenario, prints it and returns the exit code it
    /// deserves.
    fn replay<K: TrackKind>(
        &self,
        plugin: &Plugin,
        reference: &Plugin,
        source: &Source,
    ) -> Result<ExitCode> {
        let scenario = K::load(source, self.seed)?;
        let pair = pair::<K>(&plugin.sandbox, &reference.sandbox, &scenario);
        let (plan, history) = (K::plan(&scenario), K::history(&pair.plugin));
        if self.json {
            print!("{}", history.to_json_lines());
        } else {
            anstream::println!(
                "{} scenario {} (seed {}) on {}: {}",
                "replaying".bold(),
                K::name(&scenario).bold(),
                K::seed(&scenario),
                plugin.path.display(),
                K::description(&scenario)
            );
            let focus = (!self.all && plan.call_count() > LONG)
                .then(|| pair.divergence.as_ref().map_or(0, |d| d.call));
            print_trace(plan, history, K::history(&pair.other), focus);
            let output = K::output(&pair.plugin);
            if !output.is_empty() {
                anstream::println!("{}", "plugin output:".bold());
                for line in output.lines() {
                    anstream::println!("  | {line}");
                }
            }
            for check in &pair.checks {
                let mark = match check.status {
                    crate::check::Status::Pass => "✓".green().to_string(),
                    crate::check::Status::Fail => "✗".red().to_string(),
                    crate::check::Status::Skip => "-".dimmed().to_string(),
                };
                anstream::println!("{mark} {:<20} {}", check.name, check.message);
            }
        }
        let failed = history.abort().is_some()
            || pair
                .checks
                .iter()
                .any(|c| c.status == crate::check::Status::Fail);
        Ok(if failed {
            ExitCode::CheckFailed
        } else {
            ExitCode::Pass
        })
    }
}

/// Prints the plan's steps with both runs' answers, each cut to a line
/// (two that differ as a divergence shows them, with the fields that
/// differ). With `focus`, only the calls within [`CONTEXT`] of that call
/// are shown.
fn print_trace<Op: std::fmt::Display, Out: Compared + Clone>(
    plan: &crate::sim::Plan<Op>,
    plugin: &History<Out>,
    reference: &History<Out>,
    focus: Option<usize>,
) {
    let outcomes = |h: &History<Out>| -> Vec<(u64, Outcome<Out>)> {
        h.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Call { fuel, outcome, .. } => Some((*fuel, outcome.clone())),
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
                    let render = |o: Option<&(u64, Outcome<Out>)>| match o {
                        Some((_, Outcome::Returned(out))) => {
                            diff::clip(&out.to_string(), LINE_LIMIT)
                        }
                        Some((_, Outcome::Aborted(abort))) => format!("ABORTED: {abort}"),
                        None => "(not run)".to_string(),
                    };
                    let fuel = mine.map(|m| m.0).unwrap_or(0);
                    let fuel = format!("[{fuel} fuel]");
                    match (mine, reference) {
                        (m, r) if m.map(|m| &m.1) == r.map(|r| &r.1) => anstream::println!(
                            "{:>6} #{:<6} {:>+10} ms  {} -> {}  {}",
                            step,
                            call,
                            reading,
                            op,
                            render(mine),
                            fuel.dimmed()
                        ),
                        (m, r) => {
                            let (ours, theirs, fields) = match (m, r) {
                                (
                                    Some((_, Outcome::Returned(m))),
                                    Some((_, Outcome::Returned(r))),
                                ) => {
                                    let c = diff::contrast(r, m);
                                    (c.actual, c.expected, c.fields)
                                }
                                _ => (render(m), render(r), Vec::new()),
                            };
                            anstream::println!(
                                "{:>6} #{:<6} {:>+10} ms  {} -> {}  {}",
                                step,
                                call,
                                reading,
                                op,
                                ours.red(),
                                fuel.dimmed()
                            );
                            anstream::println!(
                                "{:>30}  {} {}",
                                "",
                                "reference:".green(),
                                theirs.green()
                            );
                            if let Some(fields) = diff::differs_in(&fields) {
                                anstream::println!("{:>30}  {}", "", fields.yellow());
                            }
                        }
                    }
                }
                call += 1;
                if !matches!(mine, Some((_, Outcome::Returned(_)))) {
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
