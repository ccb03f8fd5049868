use std::path::PathBuf;

use owo_colors::OwoColorize;

use crate::check::{CheckResult, Divergence, Status};
use crate::error::{Error, ExitCode, Result};
use crate::plugin;
use crate::sim::{Action, Event, History, Outcome, Plan, SeedTree};
use crate::track::{TrackId, payments, rate_limiter};

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
    #[command(flatten)]
    pub run: RunOptions,
}

/// One scenario's comparison.
struct Compared {
    name: String,
    seed: u64,
    divergence: Option<Divergence>,
    /// (call, operation, left answer, right answer), around the divergence.
    rows: Vec<(usize, String, String, String)>,
    broken: Vec<CheckResult>,
}

impl DiffCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let cache = self.run.cache();
        let limits = self.run.limits();
        let left = plugin::load(&cache, &self.plugin, limits, false)?;
        let right = match &self.other {
            Some(path) => plugin::load(&cache, path, limits, false)?,
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds");
        let other = if self.other.is_some() {
            "other"
        } else {
            "reference"
        };
        anstream::println!(
            "{} {} (plugin) against {} ({other}) on track {}",
            "diffing".bold(),
            left.path.display(),
            right.path.display(),
            left.track.name.bold()
        );
        let mut compared = Vec::new();
        for source in &sources {
            let result = match left.track.id {
                TrackId::RateLimiter => {
                    let scenario = rate_limiter::scenario::Scenario::load(source, self.seed)?;
                    let seeds = SeedTree::new(scenario.seed);
                    runtime.block_on(async {
                        let a = rate_limiter::run(&left.sandbox, &scenario.plan, seeds).await;
                        let b = rate_limiter::run(&right.sandbox, &scenario.plan, seeds).await;
                        let (checks, divergence) =
                            rate_limiter::evaluate(&scenario, &left.sandbox, &a, &b).await;
                        self.compare(
                            &scenario.name,
                            scenario.seed,
                            &scenario.plan,
                            &a.history,
                            &b.history,
                            checks,
                            divergence,
                        )
                    })
                }
                TrackId::Payments => {
                    let scenario = payments::scenario::Scenario::load(source, self.seed)?;
                    runtime.block_on(async {
                        let a = payments::run(&left.sandbox, &scenario).await;
                        let b = payments::run(&right.sandbox, &scenario).await;
                        let (checks, divergence) = payments::evaluate(&scenario, &a, &b);
                        self.compare(
                            &scenario.name,
                            scenario.seed,
                            &scenario.plan,
                            &a.history,
                            &b.history,
                            checks,
                            divergence,
                        )
                    })
                }
            };
            print_compared(&result, other);
            compared.push(result);
        }
        let differ = compared.iter().filter(|c| c.divergence.is_some()).count();
        let line = format!(
            "{} scenarios: {} agree, {} differ",
            compared.len(),
            compared.len() - differ,
            differ
        );
        if differ == 0 {
            anstream::println!("{}", line.green().bold());
            Ok(ExitCode::Pass)
        } else {
            anstream::println!("{}", line.red().bold());
            Ok(ExitCode::CheckFailed)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn compare<Op: std::fmt::Display, Out: std::fmt::Display>(
        &self,
        name: &str,
        seed: u64,
        plan: &Plan<Op>,
        left: &History<Out>,
        right: &History<Out>,
        checks: Vec<CheckResult>,
        divergence: Option<Divergence>,
    ) -> Compared {
        let answers = |h: &History<Out>| -> Vec<String> {
            h.entries
                .iter()
                .filter_map(|e| match &e.event {
                    Event::Call { outcome, .. } => Some(match outcome {
                        Outcome::Returned(out) => out.to_string(),
                        Outcome::Aborted(abort) => format!("ABORTED: {abort}"),
                    }),
                    Event::Fault { .. } => None,
                })
                .collect()
        };
        let (a, b) = (answers(left), answers(right));
        let ops: Vec<String> = plan
            .actions
            .iter()
            .filter_map(|action| match action {
                Action::Call(op) => Some(op.to_string()),
                _ => None,
            })
            .collect();
        let rows = match &divergence {
            None => Vec::new(),
            Some(d) => (d.call.saturating_sub(self.context)..=d.call + self.context)
                .filter(|&i| i < ops.len())
                .map(|i| {
                    let show =
                        |v: &[String]| v.get(i).cloned().unwrap_or_else(|| "(not run)".into());
                    (i, ops[i].clone(), show(&a), show(&b))
                })
                .collect(),
        };
        Compared {
            name: name.to_string(),
            seed,
            divergence,
            rows,
            broken: checks
                .into_iter()
                .filter(|c| c.status == Status::Fail && c.name != crate::diff::CHECK)
                .collect(),
        }
    }
}

fn print_compared(c: &Compared, other: &str) {
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
    for (call, op, a, b) in &c.rows {
        if a == b {
            anstream::println!("      #{call:<5} {op} -> {}", a.dimmed());
        } else {
            anstream::println!("    {} #{call:<5} {op}", "≠".red());
            anstream::println!("        {:<10} {}", "plugin", a.red());
            anstream::println!("        {other:<10} {}", b.green());
        }
    }
    for check in &c.broken {
        anstream::println!(
            "      {} {}: {}",
            "✗".red(),
            check.name.bold(),
            check.message
        );
    }
}
