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
            if history.is_concurrent() {
                let broke = crate::runner::first_failing_call(&pair.checks);
                print_lanes(plan, history, broke, self.all);
            } else {
                let focus = (!self.all && plan.call_count() > LONG)
                    .then(|| pair.divergence.as_ref().map_or(0, |d| d.call));
                print_trace(plan, history, K::history(&pair.other), focus);
            }
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

/// Prints a concurrent run in lanes, one column per replica: every send
/// (`→`) and every answer (`←`, with the imports the call parked at) in
/// the order they happened, the call where a check failed marked `✗`.
/// Without `all`, a long run shows the events around that call.
fn print_lanes<Op: std::fmt::Display, Out: Compared + Clone>(
    plan: &crate::sim::Plan<Op>,
    history: &History<Out>,
    broke: Option<usize>,
    all: bool,
) {
    let calls = crate::runner::lane_calls(plan, history);
    // (position, answered?, call)
    let mut events: Vec<(u64, bool, &crate::runner::LaneCall)> = calls
        .iter()
        .flat_map(|c| [(c.invoked, false, c), (c.completed, true, c)])
        .collect();
    events.sort_by_key(|e| e.0);
    let lanes = calls.iter().map(|c| c.replica + 1).max().unwrap_or(1) as usize;
    let width = (96 / lanes).clamp(24, 48);
    let window = broke
        .filter(|_| !all && events.len() > LONG)
        .and_then(|call| calls.iter().find(|c| c.call == call))
        .map(|c| {
            (
                c.invoked.saturating_sub(CONTEXT as u64 * 4),
                c.completed + CONTEXT as u64,
            )
        });
    let limit = if all || window.is_some() {
        usize::MAX
    } else {
        LONG
    };
    anstream::println!(
        "(a concurrent run: the plugin's own interleaving, in lanes; the reference ran the same scenario under its own{})",
        match window {
            Some((a, b)) => format!("; showing events {a}..={b}, --all shows every one"),
            None if events.len() > LONG && !all => {
                format!("; showing the first {LONG} events, --all shows every one")
            }
            None => String::new(),
        }
    );
    let header: String = (0..lanes)
        .map(|r| format!("{:<width$}", format!("replica {r}")))
        .collect();
    anstream::println!("{:>6} {:>10}     {}", "event", "time", header.bold());
    for &(position, answered, c) in events.iter().take(limit) {
        if window.is_some_and(|(a, b)| position < a || position > b) {
            continue;
        }
        let (time, cell) = if answered {
            let imports = if c.imports.is_empty() {
                String::new()
            } else {
                format!(" [{}]", c.imports.join(" "))
            };
            (
                c.completed_ms,
                format!("← #{} {}{imports}", c.call, c.answer),
            )
        } else {
            (c.invoked_ms, format!("→ #{} {}", c.call, c.operation))
        };
        let failing = broke == Some(c.call);
        let mark = if failing && answered {
            "✗".red().to_string()
        } else {
            " ".to_string()
        };
        let pad = " ".repeat(width * c.replica as usize);
        let text = diff::clip(
            &cell,
            width.saturating_sub(1).max(LINE_LIMIT.min(width * 3)),
        );
        anstream::println!(
            "{:>6} {:>+10} ms {mark} {pad}{}",
            position,
            time as i64 - plan.start_ms as i64,
            if failing {
                text.red().to_string()
            } else {
                text
            }
        );
    }
}
