use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use owo_colors::OwoColorize;
use serde::Serialize;

use crate::check::Status;
use crate::engine::CompileSource;
use crate::error::{Error, ExitCode, Result};
use crate::plugin::{self, Plugin};
use crate::track::Track;
use crate::track::kind::{TrackKind, with_track};

use super::RunOptions;

/// Head to head: run the track's workload scenarios against every PLUGIN and
/// the reference, interleaved run by run after a warm-up, and rank them by
/// throughput (wall clock) beside fuel per operation (deterministic: the
/// same on every machine), peak memory and compile time.
#[derive(Debug, clap::Args)]
pub struct BenchCommand {
    /// `.wasm` components or plugin crate directories, all of one track.
    #[arg(required = true)]
    pub plugins: Vec<PathBuf>,
    /// Only this scenario (default: every scenario of 1,000 calls or 10,000 units of work or more).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Measured runs per plugin (after one warm-up run).
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Print the results as JSON (a [`BenchReport`]).
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report, with charts, to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// The smallest scenario a default bench runs: this many calls, or this
/// many units of work (a tweet-audit archive is one `run` call).
const WORKLOAD_CALLS: usize = 1_000;
const WORKLOAD_UNITS: u64 = 10_000;

/// One plugin's figures on one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct BenchEntry {
    pub plugin: String,
    pub sha256: String,
    /// The language it was written in, if its component says
    /// (`langs::language_of`).
    pub language: Option<&'static str>,
    pub reference: bool,
    /// Whether every check held on the first run.
    pub correct: bool,
    pub failed_checks: Vec<&'static str>,
    pub operations: usize,
    pub ops_per_sec_median: f64,
    pub ops_per_sec_min: f64,
    pub ops_per_sec_max: f64,
    pub fuel_per_operation: u64,
    pub peak_memory_bytes: usize,
    pub compile_ms: f64,
    pub compile_cached: bool,
    /// For tracks with a simulated dependency: its calls and the virtual
    /// time spent waiting on it.
    pub dependency_calls: Option<u64>,
    pub waited_ms: Option<u64>,
    /// Median throughput relative to the reference's.
    pub vs_reference: f64,
    /// For tracks whose unit of work is not the call: the unit (`job`,
    /// `span`), how many the scenario carries, the median units per second
    /// and the fuel per unit.
    pub unit: Option<&'static str>,
    pub units: Option<u64>,
    pub units_per_sec_median: Option<f64>,
    pub fuel_per_unit: Option<u64>,
    /// The mean fuel of each kind of call (deterministic), by operation.
    pub fuel_per_call_kind: BTreeMap<&'static str, u64>,
}

impl BenchEntry {
    /// `reference`, or the plugin's file name.
    pub fn name(&self) -> String {
        if self.reference {
            return "reference".to_string();
        }
        std::path::Path::new(&self.plugin)
            .file_name()
            .map_or_else(|| self.plugin.clone(), |n| n.to_string_lossy().into_owned())
    }
}

/// The format version of the JSON bench report.
pub const BENCH_FORMAT: u32 = 1;

/// A whole bench run, as `--json` prints it and the HTML report renders it.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub format: u32,
    pub gauntlet: &'static str,
    pub track: &'static str,
    /// Measured runs per plugin and scenario (after one warm-up run).
    pub runs: u32,
    pub scenarios: Vec<BenchScenario>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchScenario {
    pub scenario: String,
    pub seed: u64,
    pub runs: u32,
    /// Correct plugins ranked by median throughput, then the others.
    pub entries: Vec<BenchEntry>,
}

/// What one run measured.
struct Sample {
    wall: Duration,
    operations: usize,
    fuel: u64,
    peak_memory: usize,
    dependency: Option<(u64, u64)>,
    /// Fuel and calls by kind of call.
    by_kind: BTreeMap<&'static str, (u64, u64)>,
}

impl BenchCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let cache = self.run.cache();
        let limits = self.run.limits();
        let mut plugins = Vec::new();
        for path in &self.plugins {
            plugins.push(plugin::load(&cache, path, limits, self.json)?);
        }
        let track = plugins[0].track;
        if let Some(other) = plugins.iter().find(|p| p.track.id != track.id) {
            return Err(Error::Usage(format!(
                "cannot bench across tracks: {} implements {}, {} implements {}",
                plugins[0].path.display(),
                track.name,
                other.path.display(),
                other.track.name
            )));
        }
        let reference = plugin::load_reference(&cache, track, limits)?;
        let mut all: Vec<&Plugin> = vec![&reference];
        all.extend(plugins.iter());
        let results = with_track!(track.id, K => self.bench_track::<K>(track, &all))?;
        let report = BenchReport {
            format: BENCH_FORMAT,
            gauntlet: env!("CARGO_PKG_VERSION"),
            track: track.name,
            runs: self.runs,
            scenarios: results,
        };
        if let Some(path) = &self.html {
            crate::html::write(path, &crate::html::bench_page(&report))?;
        }
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("bench results serialise")
            );
        } else {
            for result in &report.scenarios {
                print_table(result);
            }
        }
        let all_correct = report
            .scenarios
            .iter()
            .all(|r| r.entries.iter().all(|e| e.correct));
        Ok(if all_correct {
            ExitCode::Pass
        } else {
            ExitCode::CheckFailed
        })
    }

    /// Loads the track's workload scenarios (each plan generated once) and
    /// benches every plugin on each.
    fn bench_track<K: TrackKind>(
        &self,
        track: &Track,
        plugins: &[&Plugin],
    ) -> Result<Vec<BenchScenario>> {
        let mut workloads = track
            .select_scenarios(self.scenario.as_deref())?
            .iter()
            .map(|source| K::load(source, None))
            .collect::<Result<Vec<_>>>()?;
        if self.scenario.is_none() {
            workloads.retain(|w| {
                K::plan(w).call_count() >= WORKLOAD_CALLS
                    || K::work(w).is_some_and(|(_, units)| units >= WORKLOAD_UNITS)
            });
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds");
        // One tick per run (checks, warm-up and measured); drawn on a
        // terminal only, and never under --json.
        let runs_per_workload = plugins.len() as u64 * (2 + u64::from(self.runs));
        let progress = if self.json {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(runs_per_workload * workloads.len() as u64)
        };
        progress.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} runs, {elapsed}")
                .expect("the progress template is valid")
                .progress_chars("=> "),
        );
        let mut results = Vec::new();
        for workload in &workloads {
            progress.set_message(format!("bench {}", K::name(workload)));
            results.push(self.bench::<K>(&runtime, plugins, workload, &progress));
        }
        progress.finish_and_clear();
        Ok(results)
    }

    /// Warm-up, then `runs` rounds of one run per plugin (A B A B ...), so
    /// that drift of the machine hits every plugin alike. `plugins[0]` is
    /// the reference.
    fn bench<K: TrackKind>(
        &self,
        runtime: &tokio::runtime::Runtime,
        plugins: &[&Plugin],
        workload: &K::Scenario,
        progress: &indicatif::ProgressBar,
    ) -> BenchScenario {
        let verdicts = failed_checks::<K>(runtime, plugins, workload, progress);
        for plugin in plugins {
            runtime.block_on(measure::<K>(plugin, workload)); // warm-up
            progress.inc(1);
        }
        let mut samples: Vec<Vec<Sample>> = plugins.iter().map(|_| Vec::new()).collect();
        for _ in 0..self.runs {
            for (i, plugin) in plugins.iter().enumerate() {
                samples[i].push(runtime.block_on(measure::<K>(plugin, workload)));
                progress.inc(1);
            }
        }
        let mut entries: Vec<BenchEntry> = plugins
            .iter()
            .zip(&samples)
            .zip(verdicts)
            .enumerate()
            .map(|(i, ((plugin, samples), failed))| {
                entry(plugin, i == 0, samples, failed, K::work(workload))
            })
            .collect();
        let reference_median = entries[0].ops_per_sec_median.max(f64::MIN_POSITIVE);
        for e in &mut entries {
            e.vs_reference = e.ops_per_sec_median / reference_median;
        }
        entries.sort_by(|a, b| {
            b.correct
                .cmp(&a.correct)
                .then(b.ops_per_sec_median.total_cmp(&a.ops_per_sec_median))
        });
        BenchScenario {
            scenario: K::name(workload).to_string(),
            seed: K::seed(workload),
            runs: self.runs,
            entries,
        }
    }
}

/// The checks each plugin fails on `scenario`, judged against one run of
/// the reference (`plugins[0]`).
fn failed_checks<K: TrackKind>(
    runtime: &tokio::runtime::Runtime,
    plugins: &[&Plugin],
    scenario: &K::Scenario,
    progress: &indicatif::ProgressBar,
) -> Vec<Vec<&'static str>> {
    let reference = plugins[0];
    let reference_run = runtime.block_on(K::run(&reference.sandbox, scenario));
    let mut verdicts = Vec::new();
    for plugin in plugins {
        let run = runtime.block_on(K::run(&plugin.sandbox, scenario));
        let checks = K::evaluate(scenario, &plugin.sandbox, &run, &reference_run).0;
        verdicts.push(
            checks
                .into_iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.name)
                .collect(),
        );
        progress.inc(1);
    }
    verdicts
}

/// One timed run.
async fn measure<K: TrackKind>(plugin: &Plugin, scenario: &K::Scenario) -> Sample {
    let started = Instant::now();
    let run = K::run(&plugin.sandbox, scenario).await;
    let wall = started.elapsed();
    let history = K::history(&run);
    let plan = K::plan(scenario);
    let mut by_kind: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for entry in &history.entries {
        if let (crate::sim::Event::Call { fuel, .. }, Some(crate::sim::Action::Call(op))) =
            (&entry.event, plan.actions.get(entry.step))
        {
            let kind = by_kind.entry(K::call_kind(op)).or_default();
            kind.0 += fuel;
            kind.1 += 1;
        }
    }
    Sample {
        wall,
        operations: history.calls(),
        fuel: history.total_fuel(),
        peak_memory: K::peak_memory(&run),
        dependency: K::dependency(&run).map(|d| (d.calls, d.waited_ms)),
        by_kind,
    }
}

fn entry(
    plugin: &Plugin,
    reference: bool,
    samples: &[Sample],
    failed: Vec<&'static str>,
    work: Option<(&'static str, u64)>,
) -> BenchEntry {
    let mut rates: Vec<f64> = samples
        .iter()
        .map(|s| s.operations as f64 / s.wall.as_secs_f64().max(1e-9))
        .collect();
    rates.sort_by(f64::total_cmp);
    let middle = rates.len() / 2;
    let median = if rates.len().is_multiple_of(2) {
        (rates[middle - 1] + rates[middle]) / 2.0
    } else {
        rates[middle]
    };
    let first = &samples[0];
    let per_call = first.operations.max(1) as f64;
    BenchEntry {
        plugin: plugin.path.display().to_string(),
        sha256: plugin.sha256.clone(),
        language: plugin.language,
        reference,
        correct: failed.is_empty(),
        failed_checks: failed,
        operations: first.operations,
        ops_per_sec_median: median,
        ops_per_sec_min: rates[0],
        ops_per_sec_max: rates[rates.len() - 1],
        fuel_per_operation: first.fuel / first.operations.max(1) as u64,
        peak_memory_bytes: first.peak_memory,
        compile_ms: plugin.compile_time.as_secs_f64() * 1000.0,
        compile_cached: plugin.compiled == CompileSource::Cached,
        dependency_calls: first.dependency.map(|d| d.0),
        waited_ms: first.dependency.map(|d| d.1),
        vs_reference: 1.0,
        unit: work.map(|w| w.0),
        units: work.map(|w| w.1),
        units_per_sec_median: work.map(|w| median * w.1 as f64 / per_call),
        fuel_per_unit: work.map(|w| first.fuel / w.1.max(1)),
        fuel_per_call_kind: first
            .by_kind
            .iter()
            .map(|(kind, (fuel, calls))| (*kind, fuel / (*calls).max(1)))
            .collect(),
    }
}

/// Throughput as the terminal prints it: `1.47M`, `675.0k`.
pub(crate) fn rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn print_table(result: &BenchScenario) {
    anstream::println!(
        "{} {} (seed {}): {} measured runs each after a warm-up, interleaved",
        "bench".bold(),
        result.scenario.bold(),
        result.seed,
        result.runs
    );
    let waits = result.entries.iter().any(|e| e.waited_ms.is_some());
    anstream::println!(
        "  {:<4} {:<44} {:<10} {:>9} {:>17} {:>10} {:>7} {:>9} {:>10}{}",
        "rank",
        "plugin",
        "language",
        "ops/s",
        "min-max",
        "fuel/op",
        "vs ref",
        "memory",
        "compile",
        if waits {
            "   dependency calls / waited"
        } else {
            ""
        }
    );
    let mut rank = 0;
    for e in &result.entries {
        let place = if e.correct {
            rank += 1;
            rank.to_string()
        } else {
            "-".to_string()
        };
        let name: String = e.name().chars().take(44).collect();
        let line = format!(
            "  {:<4} {:<44} {:<10} {:>9} {:>17} {:>10} {:>6.2}x {:>9} {:>10}{}",
            place,
            name,
            e.language.unwrap_or("?"),
            rate(e.ops_per_sec_median),
            format!("{}-{}", rate(e.ops_per_sec_min), rate(e.ops_per_sec_max)),
            e.fuel_per_operation,
            e.vs_reference,
            crate::report::megabytes(e.peak_memory_bytes),
            if e.compile_cached {
                "cached".to_string()
            } else {
                format!("{:.0} ms", e.compile_ms)
            },
            match (e.dependency_calls, e.waited_ms) {
                (Some(calls), Some(ms)) => format!("   {calls} / {ms} ms"),
                _ => String::new(),
            }
        );
        if e.correct {
            anstream::println!("{line}");
        } else {
            anstream::println!("{}", line.red());
            anstream::println!(
                "       {} not ranked: fails {}",
                "✗".red(),
                e.failed_checks.join(", ")
            );
        }
    }
    for e in &result.entries {
        let mut detail = String::new();
        if let (Some(unit), Some(rate_), Some(fuel)) =
            (e.unit, e.units_per_sec_median, e.fuel_per_unit)
        {
            detail.push_str(&format!("{} {unit}s/s, {fuel} fuel/{unit}; ", rate(rate_)));
        }
        let kinds: Vec<String> = e
            .fuel_per_call_kind
            .iter()
            .map(|(kind, fuel)| format!("{kind} {fuel}"))
            .collect();
        detail.push_str(&format!("fuel per call: {}", kinds.join(", ")));
        anstream::println!("  {:<4} {:<44} {detail}", "", e.name());
    }
    anstream::println!("  ({})", fuel_note(&result.entries));
}

/// Languages whose components carry an interpreter (or a JIT-less engine)
/// that runs the plugin's code: every instruction of it is in their fuel.
const INTERPRETED: &[&str] = &["Python", "JavaScript"];

/// What fuel per operation means across the entries' languages, for the
/// text and HTML reports.
pub(crate) fn fuel_note<'a>(entries: impl IntoIterator<Item = &'a BenchEntry>) -> String {
    let mut note = "fuel/op is deterministic: it ranks the same on every machine. It counts every \
                    WebAssembly instruction the component runs, its language's runtime included"
        .to_string();
    let interpreted: Vec<String> = entries
        .into_iter()
        .filter(|e| e.language.is_some_and(|l| INTERPRETED.contains(&l)))
        .map(|e| format!("{} ({})", e.name(), e.language.unwrap_or_default()))
        .collect();
    if interpreted.is_empty() {
        note.push_str(" (a garbage collector's work, say)");
    } else {
        let (verb, their) = if interpreted.len() == 1 {
            ("runs", "its")
        } else {
            ("run", "their")
        };
        note.push_str(&format!(
            ": {} {verb} an interpreter inside the component, whose work is in {their} fuel, so \
             compare {their} fuel only with plugins in the same language ({their} ops/s with any)",
            interpreted.join(", "),
        ));
    }
    note
}
