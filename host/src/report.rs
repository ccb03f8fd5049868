//! Reporters: consumers of the runner's event stream (started, one event per
//! scenario, finished) that render it for people (human), tools (JSON) or CI
//! (JUnit XML).

use std::io::Write;

use owo_colors::OwoColorize;

use crate::check::{Status, Verdict};
use crate::plugin::Plugin;
use crate::runner::{RunReport, ScenarioReport};

/// The output formats of `gauntlet test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
}

pub trait Reporter {
    fn started(&mut self, plugin: &Plugin, scenarios: usize);
    fn scenario(&mut self, report: &ScenarioReport);
    fn finished(&mut self, report: &RunReport);
}

pub fn reporter(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human::default()),
        Format::Json => Box::new(Json),
        Format::Junit => Box::new(Junit),
    }
}

/// "1 scenario", "2 scenarios".
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub(crate) fn megabytes(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn verdict_label(verdict: Verdict) -> String {
    let label = format!("{:>6}", verdict.label());
    match verdict {
        Verdict::Pass => label.green().bold().to_string(),
        _ => label.red().bold().to_string(),
    }
}

/// Progress and a verdict per scenario as they finish; details of failures.
#[derive(Default)]
pub struct Human {
    index: usize,
    total: usize,
}

impl Reporter for Human {
    fn started(&mut self, plugin: &Plugin, scenarios: usize) {
        self.total = scenarios;
        let compiled = match plugin.compiled {
            crate::engine::CompileSource::Cached => "cached".to_string(),
            crate::engine::CompileSource::Compiled => {
                format!("compiled in {:.1?}", plugin.compile_time)
            }
        };
        anstream::println!(
            "{} {} against the reference of track {} ({})",
            "testing".bold(),
            plugin.path.display(),
            plugin.track.name.bold(),
            count(scenarios, "scenario")
        );
        anstream::println!("        sha256 {}…, {compiled}", &plugin.sha256[..16]);
    }

    fn scenario(&mut self, r: &ScenarioReport) {
        self.index += 1;
        let width = self.total.to_string().len();
        anstream::println!(
            "{} [{:>width$}/{}] {:<32} {:>8} ops {:>7} fuel/op (ref {:>6}) {:>9}  {:.0?}",
            verdict_label(r.verdict),
            self.index,
            self.total,
            r.name,
            r.operations,
            r.fuel_per_operation,
            r.reference_fuel_per_operation,
            megabytes(r.peak_memory_bytes),
            r.wall,
        );
        if let Some(d) = &r.dependency {
            anstream::println!(
                "         {}: {}, {} ms waited{} (reference: {}, {} ms)",
                d.name,
                count(d.calls as usize, "call"),
                d.waited_ms,
                match d.crashes {
                    0 => String::new(),
                    1 => ", 1 crash recovered".to_string(),
                    n => format!(", {n} crashes recovered"),
                },
                count(d.reference_calls as usize, "call"),
                d.reference_waited_ms
            );
        }
        if r.verdict == Verdict::Pass {
            return;
        }
        if let Some(abort) = &r.abort {
            anstream::println!(
                "         {} at call {}: the plugin {}",
                "abort".red(),
                abort.call,
                abort.message
            );
        }
        for check in r.failed_checks() {
            anstream::println!(
                "         {} {}: {}",
                "✗".red(),
                check.name.bold(),
                check.message
            );
        }
        if let Some(d) = &r.first_divergence {
            anstream::println!(
                "         first divergence at call {} (step {}, t={} ms, {:+} ms into the scenario{}): {}",
                d.call,
                d.step,
                d.time_ms,
                d.elapsed_ms,
                d.after_fault
                    .as_ref()
                    .map(|f| format!(", after: {f}"))
                    .unwrap_or_default(),
                d.operation
            );
            anstream::println!("           expected {}", d.expected.green());
            anstream::println!("           actual   {}", d.actual.red());
            if let Some(fields) = crate::diff::differs_in(&d.fields) {
                anstream::println!("           {fields}");
            }
        }
        anstream::println!("         seed {}; replay: {}", r.seed, r.replay.cyan());
    }

    fn finished(&mut self, report: &RunReport) {
        let s = report.summary;
        let line = format!(
            "{}: {} passed, {} failed",
            count(s.scenarios, "scenario"),
            s.passed,
            s.failed
        );
        if report.all_passed() {
            anstream::println!("{}", line.green().bold());
        } else {
            anstream::println!("{}", line.red().bold());
        }
    }
}

/// The whole run as one JSON document (format documented in
/// [`crate::runner::RunReport`]).
pub struct Json;

impl Reporter for Json {
    fn started(&mut self, _: &Plugin, _: usize) {}
    fn scenario(&mut self, _: &ScenarioReport) {}
    fn finished(&mut self, report: &RunReport) {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, report).expect("the report serialises");
        let _ = writeln!(out);
    }
}

/// JUnit XML: one test suite per run, one test case per scenario.
pub struct Junit;

impl Reporter for Junit {
    fn started(&mut self, _: &Plugin, _: usize) {}
    fn scenario(&mut self, _: &ScenarioReport) {}
    fn finished(&mut self, report: &RunReport) {
        print!("{}", junit_xml(report));
    }
}

pub fn junit_xml(report: &RunReport) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut junit = Report::new(format!("gauntlet {}", report.track));
    let mut suite = TestSuite::new(format!("{} ({})", report.track, report.plugin.path));
    for r in &report.scenarios {
        let status = if r.verdict == Verdict::Pass {
            TestCaseStatus::success()
        } else {
            let kind = match r.verdict {
                Verdict::Fail => NonSuccessKind::Failure,
                _ => NonSuccessKind::Error,
            };
            let mut status = TestCaseStatus::non_success(kind);
            let mut message: Vec<String> = r
                .failed_checks()
                .map(|c| format!("{}: {}", c.name, c.message))
                .collect();
            if let Some(abort) = &r.abort {
                message.insert(0, format!("the plugin {}", abort.message));
            }
            status.set_message(message.join("; "));
            status.set_type(r.verdict.label());
            let mut description = String::new();
            if let Some(d) = &r.first_divergence {
                description.push_str(&format!(
                    "first divergence at call {} {} (t={} ms): expected {}, got {}{}\n",
                    d.call,
                    d.operation,
                    d.time_ms,
                    d.expected,
                    d.actual,
                    crate::diff::differs_in(&d.fields)
                        .map(|f| format!("; {f}"))
                        .unwrap_or_default()
                ));
            }
            description.push_str(&format!("seed {}; replay: {}", r.seed, r.replay));
            status.set_description(description);
            status
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_classname(format!("gauntlet.{}", report.track));
        for check in &r.checks {
            if check.status == Status::Skip {
                case.set_system_out(format!("{} skipped: {}", check.name, check.message));
            }
        }
        suite.add_test_case(case);
    }
    junit.add_test_suite(suite);
    junit.to_string().expect("the JUnit report serialises")
}

/// Reports nothing: for library users and tests that read the [`RunReport`].
pub struct Silent;

impl Reporter for Silent {
    fn started(&mut self, _: &Plugin, _: usize) {}
    fn scenario(&mut self, _: &ScenarioReport) {}
    fn finished(&mut self, _: &RunReport) {}
}
