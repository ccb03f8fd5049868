//! The HTML report: one self-contained page for a `test`, `diff` or `bench`
//! run, rendered from the same structs the JSON output serialises.
//!
//! Design:
//! - **Self-contained.** The stylesheet (`html/style.css`) and the one script
//!   (`html/report.js`) are compiled in with `include_str!` and inlined;
//!   charts and timelines are inline SVG drawn here. Nothing is fetched:
//!   every `href` is an in-page anchor, and a Content-Security-Policy
//!   (`default-src 'none'`, the script allowed by its sha256 only) makes the
//!   browser refuse anything else, including a script that somehow got in.
//! - **Escaped by construction.** Pages are `maud` templates: every spliced
//!   value (plugin output, messages, paths, scenario names) is HTML-escaped;
//!   only the two compiled-in assets go in as `PreEscaped`.
//! - **Reads without JavaScript.** Bulky parts are `<details>` (failing
//!   scenarios open, passing ones closed); the script only adds copy
//!   buttons, expand/collapse all, a failures-only filter, and opens a
//!   closed scenario when a link points at it. It marks `<html data-ready>`
//!   when it has run, which the browser test checks.
//! - **Deterministic.** The same report renders to the same bytes: no clock,
//!   no environment, nothing iterated out of order. Wall-clock figures
//!   appear only in the bench page, and only as the report carries them.

use std::path::Path;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use crate::check::{CheckResult, Divergence, Status, Verdict};
use crate::commands::{BenchEntry, BenchReport, BenchScenario, rate};
use crate::diff::{ComparedScenario, DiffReport, DiffRow};
use crate::error::{Error, Result};
use crate::report::megabytes;
use crate::runner::{
    DependencyReport, LaneCall, RunReport, ScenarioReport, TimelineEvent, first_failing_call,
};

const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Writes a rendered page to `path`.
pub fn write(path: &Path, page: &str) -> Result<()> {
    std::fs::write(path, page).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The page of a `gauntlet test` run.
pub fn test_page(report: &RunReport) -> String {
    let s = report.summary;
    let name = file_name(&report.plugin.path);
    let title = if report.all_passed() {
        format!(
            "PASS {name}: {} passed · gauntlet test",
            plural(s.scenarios, "scenario")
        )
    } else {
        format!(
            "FAIL {name}: {} of {} failed · gauntlet test",
            s.failed,
            plural(s.scenarios, "scenario")
        )
    };
    let dependency = report.scenarios.iter().find_map(|r| r.dependency);
    let body = html! {
        header.top {
            div {
                h1 { "gauntlet test " span.what { "· " (report.track) } }
                dl.meta {
                    dt { "plugin" } dd { code { (report.plugin.path) } }
                    @if report.plugin.wasm != report.plugin.path {
                        dt { "component" } dd { code { (report.plugin.wasm) } }
                    }
                    dt { "sha256" } dd { code { (report.plugin.sha256) } }
                    dt { "reference sha256" } dd { code { (report.reference_sha256) } }
                    dt { "track" } dd { (report.track) span.muted { " · world " code { (report.world) } } }
                    dt { "gauntlet" } dd { (report.gauntlet) span.muted { " · report format " (report.format) } }
                }
            }
            (outcome(s.scenarios, (s.passed, "passed"), (s.failed, "failed")))
        }
        (toolbar())
        h2 { "Scenarios" }
        table.overview {
            thead { tr {
                th { "verdict" }
                th { "scenario" }
                th.num { "ops" }
                th.num { "fuel/op" }
                th.num.ref { "ref" }
                th.num title="fuel per operation relative to the reference's" { "vs ref" }
                th.num { "memory" }
                th.num.ref { "ref" }
                @if let Some(d) = dependency {
                    th.num { (d.name) " calls" }
                    th.num.ref { "ref" }
                    th.num { "waited" }
                    th.num.ref { "ref" }
                }
                th.num { "first divergence" }
            } }
            tbody {
                @for (i, r) in report.scenarios.iter().enumerate() {
                    tr class=[pass_class(r.verdict == Verdict::Pass)] {
                        td { (badge(r.verdict)) }
                        td.name {
                            a href=(format!("#{}", scenario_id(i, &r.name))) { (r.name) }
                            @if let Some(a) = &r.abort {
                                span.sub.failed-checks.abort-note { "abort at call " (a.call) }
                            }
                            @let failed: Vec<&str> = r.failed_checks().map(|c| c.name).collect();
                            @if !failed.is_empty() {
                                span.sub.failed-checks { "✗ " (failed.join(", ")) }
                            }
                        }
                        td.num {
                            (grouped(r.operations as u64))
                            @if r.operations != r.planned_operations {
                                span.ref { " of " (grouped(r.planned_operations as u64)) }
                            }
                        }
                        td.num { (grouped(r.fuel_per_operation)) }
                        td.num.ref { (grouped(r.reference_fuel_per_operation)) }
                        (ratio_cell(r.fuel_per_operation as f64, r.reference_fuel_per_operation as f64, false))
                        td.num { (megabytes(r.peak_memory_bytes)) }
                        td.num.ref { (megabytes(r.reference_peak_memory_bytes)) }
                        @if dependency.is_some() {
                            @if let Some(d) = r.dependency {
                                td.num { (grouped(d.calls)) }
                                td.num.ref { (grouped(d.reference_calls)) }
                                td.num { (duration_ms(d.waited_ms)) }
                                td.num.ref { (duration_ms(d.reference_waited_ms)) }
                            } @else {
                                td.num { "–" } td.num.ref { "–" } td.num { "–" } td.num.ref { "–" }
                            }
                        }
                        td.num {
                            @if let Some(d) = &r.first_divergence { "call " (grouped(d.call as u64)) } @else { span.muted { "–" } }
                        }
                    }
                }
            }
        }
        @for (i, r) in report.scenarios.iter().enumerate() {
            (scenario_section(i, r))
        }
        (footer(report.gauntlet, "Every run is reproducible from (gauntlet version, component sha256, scenario, seed)."))
    };
    page(&title, body)
}

/// The page of a `gauntlet diff` run.
pub fn diff_page(report: &DiffReport) -> String {
    let s = report.summary;
    let other = if report.other_is_reference {
        "reference"
    } else {
        "other"
    };
    let title = format!(
        "{} {} vs {}: {} of {} differ · gauntlet diff",
        if s.differ == 0 { "AGREE" } else { "DIFFER" },
        file_name(&report.plugin.path),
        if report.other_is_reference {
            "the reference".to_string()
        } else {
            file_name(&report.other.path)
        },
        s.differ,
        plural(s.scenarios, "scenario")
    );
    let body = html! {
        header.top {
            div {
                h1 { "gauntlet diff " span.what { "· " (report.track) } }
                dl.meta {
                    dt { "plugin" } dd { code { (report.plugin.path) } }
                    dt { "sha256" } dd { code { (report.plugin.sha256) } }
                    dt { (other) } dd {
                        code { (report.other.path) }
                        @if report.other_is_reference { span.tag.ref { "the track's reference" } }
                    }
                    dt { "sha256" } dd { code { (report.other.sha256) } }
                    dt { "gauntlet" } dd { (report.gauntlet) span.muted { " · report format " (report.format) } }
                }
            }
            (outcome(s.scenarios, (s.agree, "agree"), (s.differ, "differ")))
        }
        (toolbar())
        h2 { "Scenarios" }
        table.overview {
            thead { tr {
                th { "result" }
                th { "scenario" }
                th.num { "seed" }
                th.num { "first divergence" }
                th { "after the fault" }
                th { "checks broken" }
            } }
            tbody {
                @for (i, c) in report.scenarios.iter().enumerate() {
                    tr class=[pass_class(c.divergence.is_none())] {
                        td { (agreement_badge(c.divergence.is_none())) }
                        td.name {
                            @if c.divergence.is_some() {
                                a href=(format!("#{}", scenario_id(i, &c.name))) { (c.name) }
                            } @else { (c.name) }
                        }
                        td.num { (c.seed) }
                        td.num {
                            @if let Some(d) = &c.divergence {
                                "call " (d.call) span.sub { "t=" (d.time_ms) " ms" }
                            } @else { span.muted { "–" } }
                        }
                        td {
                            @if let Some(f) = c.divergence.as_ref().and_then(|d| d.after_fault.as_ref()) {
                                (f)
                            } @else { span.muted { "–" } }
                        }
                        td {
                            @if c.broken_checks.is_empty() { span.muted { "–" } }
                            @for (j, check) in c.broken_checks.iter().enumerate() {
                                @if j > 0 { ", " }
                                code { (check.name) }
                            }
                        }
                    }
                }
            }
        }
        @if s.differ > 0 { h2 { "Differences" } }
        @for (i, c) in report.scenarios.iter().enumerate() {
            @if c.divergence.is_some() {
                (compared_section(i, c, other))
            }
        }
        (footer(report.gauntlet, "Each table shows the calls around the first divergence, both answers side by side."))
    };
    page(&title, body)
}

/// The page of a `gauntlet bench` run.
pub fn bench_page(report: &BenchReport) -> String {
    let mut plugins: Vec<&BenchEntry> = Vec::new();
    for e in report.scenarios.iter().flat_map(|s| &s.entries) {
        if !e.reference && !plugins.iter().any(|p| p.plugin == e.plugin) {
            plugins.push(e);
        }
    }
    let unranked = report
        .scenarios
        .iter()
        .flat_map(|s| &s.entries)
        .filter(|e| !e.correct)
        .count();
    let title = format!(
        "{} vs the reference on {} scenario{} · gauntlet bench",
        plugins
            .iter()
            .map(|p| file_name(&p.plugin))
            .collect::<Vec<_>>()
            .join(", "),
        report.scenarios.len(),
        if report.scenarios.len() == 1 { "" } else { "s" }
    );
    let body = html! {
        header.top {
            div {
                h1 { "gauntlet bench " span.what { "· " (report.track) } }
                dl.meta {
                    @for p in &plugins {
                        dt { "plugin" } dd { code { (p.plugin) } br; span.muted { "sha256 " code { (p.sha256) } } }
                    }
                    dt { "runs" } dd { (report.runs) " measured runs per plugin and scenario, after a warm-up, interleaved" }
                    dt { "gauntlet" } dd { (report.gauntlet) span.muted { " · report format " (report.format) } }
                }
            }
            @if unranked == 0 {
                div.outcome.neutral {
                    div.big { (plugins.len() + 1) " ranked" }
                    div.small { "on " (report.scenarios.len()) " scenario" @if report.scenarios.len() != 1 { "s" } ", with the reference" }
                }
            } @else {
                div.outcome.fail {
                    div.big { (unranked) " not ranked" }
                    div.small { "a plugin failed a check: see below" }
                }
            }
        }
        p.muted {
            "ops/s are wall-clock figures of the machine the bench ran on. "
            (crate::commands::fuel_note(report.scenarios.iter().flat_map(|s| &s.entries)))
            "."
        }
        @for (i, s) in report.scenarios.iter().enumerate() {
            (bench_section(i, s))
        }
        (footer(report.gauntlet, "Correct plugins are ranked by median throughput; plugins that fail a check are listed, not ranked."))
    };
    page(&title, body)
}

// ---------------------------------------------------------------------------
// The page and its common parts.

fn page(title: &str, body: Markup) -> String {
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src '{}'; base-uri 'none'; form-action 'none'",
        script_hash(SCRIPT)
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(policy);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content=(concat!("gauntlet ", env!("CARGO_PKG_VERSION")));
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string()
}

/// The CSP source of an inline script: `sha256-` and its base64 digest.
fn script_hash(script: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(script.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Shown by the script (it does nothing without it).
fn toolbar() -> Markup {
    html! {
        div #toolbar .toolbar hidden {
            button type="button" data-action="expand" { "Expand all" }
            button type="button" data-action="collapse" { "Collapse all" }
            label.toggle { input type="checkbox" data-action="failures"; "failures only" }
        }
    }
}

/// The header's summary box: `all N passed`, or the failures in red.
fn outcome(scenarios: usize, good: (usize, &str), bad: (usize, &str)) -> Markup {
    let detail = html! {
        div.small { (plural(scenarios, "scenario")) ": " (good.0) " " (good.1) ", " (bad.0) " " (bad.1) }
    };
    if bad.0 == 0 {
        html! { div.outcome.pass { div.big { "all " (scenarios) " " (good.1) } (detail) } }
    } else {
        html! { div.outcome.fail { div.big { (bad.0) " " (bad.1) } (detail) } }
    }
}

fn footer(version: &str, note: &str) -> Markup {
    html! {
        footer { "Generated by gauntlet " (version) ". " (note) }
    }
}

fn pass_class(pass: bool) -> Option<&'static str> {
    pass.then_some("is-pass")
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "v-pass",
        Verdict::Fail => "v-fail",
        Verdict::Trap => "v-trap",
        Verdict::OutOfFuel => "v-fuel",
        Verdict::MemoryLimit => "v-memory",
    }
}

fn badge(verdict: Verdict) -> Markup {
    html! { span class=(format!("verdict {}", verdict_class(verdict))) { (verdict.label()) } }
}

fn agreement_badge(agree: bool) -> Markup {
    if agree {
        html! { span.verdict.v-pass { "AGREE" } }
    } else {
        html! { span.verdict.v-fail { "DIFFER" } }
    }
}

/// A stable, readable anchor for a scenario.
fn scenario_id(index: usize, name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("s{}-{slug}", index + 1)
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 scenario`, `2 scenarios`.
fn plural(n: usize, noun: &str) -> String {
    format!(
        "{} {noun}{}",
        grouped(n as u64),
        if n == 1 { "" } else { "s" }
    )
}

/// Virtual time: milliseconds, or seconds past ten of them.
fn duration_ms(ms: u64) -> String {
    if ms < 10_000 {
        format!("{} ms", grouped(ms))
    } else {
        format!("{}.{} s", grouped(ms / 1000), (ms % 1000) / 100)
    }
}

/// `value / reference` as `6.40×`, coloured when notably better or worse
/// (`higher_is_better` for throughput, not for cost).
fn ratio_cell(value: f64, reference: f64, higher_is_better: bool) -> Markup {
    if reference <= 0.0 {
        return html! { td.num { span.muted { "–" } } };
    }
    let ratio = value / reference;
    let class = if (0.95..=1.05).contains(&ratio) {
        "num"
    } else if (ratio > 1.0) == higher_is_better {
        "num better"
    } else {
        "num worse"
    };
    html! { td class=(class) { (format!("{ratio:.2}×")) } }
}

fn check_list(checks: &[&CheckResult]) -> Markup {
    html! {
        ul.checks {
            @for c in checks {
                @let (class, mark) = match c.status {
                    Status::Pass => ("status-pass", "✓"),
                    Status::Fail => ("status-fail", "✗"),
                    Status::Skip => ("status-skip", "–"),
                };
                li class=(class) {
                    span.mark { (mark) }
                    span.check-name { (c.name) }
                    span.message { (c.message) }
                }
            }
        }
    }
}

/// A command with a copy button. It wraps only between its words (never
/// inside `--seed` or a path); its text is the command, byte for byte.
fn copyable(id: &str, command: &str) -> Markup {
    html! {
        div.cmd {
            code id=(id) {
                @for (i, word) in command.split(' ').enumerate() {
                    @if i > 0 { " " }
                    span { (word) }
                }
            }
            button type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}

// ---------------------------------------------------------------------------
// test

fn scenario_section(index: usize, r: &ScenarioReport) -> Markup {
    let pass = r.verdict == Verdict::Pass;
    let failed: Vec<&CheckResult> = r.failed_checks().collect();
    let mut gist = Vec::new();
    if let Some(a) = &r.abort {
        gist.push(format!("abort at call {}", a.call));
    }
    if !failed.is_empty() {
        gist.push(format!(
            "fails {}",
            failed.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(d) = &r.first_divergence {
        gist.push(format!("diverges at call {}", d.call));
    }
    if pass {
        gist.push(format!(
            "{} checks held over {} ops",
            r.checks.len(),
            grouped(r.operations as u64)
        ));
    }
    let output_lines = r.output.lines().count();
    let all_checks: Vec<&CheckResult> = r.checks.iter().collect();
    let axis = r
        .planned_operations
        .max(r.operations)
        .max(r.first_divergence.as_ref().map_or(0, |d| d.call + 1));
    html! {
        details id=(scenario_id(index, &r.name))
            class=(format!("scenario {}-border{}", verdict_class(r.verdict), if pass { " is-pass" } else { "" }))
            open[!pass] {
            summary {
                (badge(r.verdict))
                span.name { (r.name) }
                span.gist { (gist.join(" · ")) }
                span.seed { "seed " (r.seed) }
            }
            div.body {
                @if !r.description.is_empty() { p.description { (r.description) } }
                p.muted {
                    code { (r.file) } " · seed " (r.seed) " · "
                    (grouped(r.operations as u64)) " of " (grouped(r.planned_operations as u64)) " calls answered · "
                    (grouped(r.fuel_per_operation)) " fuel/op (reference " (grouped(r.reference_fuel_per_operation)) ") · "
                    (megabytes(r.peak_memory_bytes)) " peak (reference " (megabytes(r.reference_peak_memory_bytes)) ")"
                }
                @if let Some(a) = &r.abort {
                    div.block {
                        div.label { "abort" }
                        div.abort { "At call " (a.call) ", the plugin:" pre { (a.message) } }
                    }
                }
                @if !failed.is_empty() {
                    div.block {
                        div.label { "failed checks" }
                        (check_list(&failed))
                    }
                }
                @if !r.lanes.is_empty() {
                    @let failing = first_failing_call(&r.checks).map(|call| {
                        let names: Vec<&str> = failed.iter().filter(|c| c.call == Some(call)).map(|c| c.name).collect();
                        (call, names.join(", "))
                    });
                    div.block {
                        div.label { "calls in lanes" }
                        (lanes(
                            &r.lanes,
                            r.lanes_total,
                            failing.as_ref().map(|(call, names)| (*call, names.as_str())),
                            r.abort.as_ref().map(|a| a.call),
                        ))
                    }
                }
                @if let Some(d) = &r.first_divergence {
                    div.block {
                        div.label { "first divergence from the reference" }
                        (divergence_card(d, &r.timeline, "expected · reference", "actual · plugin"))
                    }
                }
                @if let Some(d) = &r.dependency {
                    div.block {
                        div.label { (d.name) }
                        (dependency_line(d))
                    }
                }
                @if !r.timeline.is_empty() || r.first_divergence.is_some() || r.abort.is_some() {
                    div.block {
                        div.label { "fault timeline" }
                        (timeline(
                            &r.timeline,
                            r.timeline_total,
                            axis,
                            r.first_divergence.as_ref().map(|d| d.call),
                            r.abort.as_ref().map(|a| a.call),
                        ))
                    }
                }
                div.block {
                    div.label { "replay" }
                    (copyable(&format!("replay-{}", index + 1), &r.replay))
                }
                @if !r.output.is_empty() {
                    details.more open[!pass && output_lines <= 30] {
                        summary { "plugin output " span.muted { "(" (output_lines) " line" @if output_lines != 1 { "s" } ")" } }
                        pre.output { (r.output) }
                    }
                }
                details.more open[pass] {
                    summary { "all " (r.checks.len()) " checks" }
                    (check_list(&all_checks))
                }
            }
        }
    }
}

fn dependency_line(d: &DependencyReport) -> Markup {
    html! {
        p {
            (grouped(d.calls)) " calls "
            span.muted { "(reference " (grouped(d.reference_calls)) ")" }
            " · " (duration_ms(d.waited_ms)) " of virtual time waited "
            span.muted { "(reference " (duration_ms(d.reference_waited_ms)) ")" }
            @if d.crashes > 0 {
                " · " (grouped(d.crashes)) " injected crash" @if d.crashes != 1 { "es" } " recovered"
            }
        }
    }
}

/// The call a divergence is at, when, and the faults that came before it:
/// the plan's last fault, and the timeline's latest (a dependency's faults
/// during the call itself count: they are what the call met).
fn divergence_where(d: &Divergence, timeline: &[TimelineEvent]) -> Markup {
    let latest_call = timeline
        .iter()
        .map(|e| e.call)
        .filter(|c| *c <= d.call)
        .max();
    // The faults of that call, alike ones counted once.
    let mut latest: Vec<(&TimelineEvent, usize)> = Vec::new();
    for e in timeline.iter().filter(|e| Some(e.call) == latest_call) {
        match latest
            .iter_mut()
            .find(|(l, _)| l.kind == e.kind && l.description == e.description)
        {
            Some((_, n)) => *n += 1,
            None => latest.push((e, 1)),
        }
    }
    html! {
        div.where {
            span.op { (d.operation) }
            span.facts {
                "call " (d.call) " · step " (d.step) " · t=" (d.time_ms) " ms · "
                (format!("{:+}", d.elapsed_ms)) " ms into the scenario"
            }
            @if let Some(f) = &d.after_fault {
                span.facts { "after the fault: " (f) }
            }
        }
        @if let Some(call) = latest_call {
            div.faults-before {
                @if call == d.call { "faults at this call: " } @else { "latest faults, at call " (call) ": " }
                @for (i, (e, n)) in latest.iter().take(4).enumerate() {
                    @if i > 0 { "; " }
                    span class=(format!("k-{}", kind_class(e.kind))) { (e.kind) } " " (e.description)
                    @if *n > 1 { " ×" (n) }
                }
                @if latest.len() > 4 { span.muted { " … and " (latest.len() - 4) " more" } }
            }
        }
    }
}

fn divergence_fields(d: &Divergence) -> Markup {
    html! {
        @if !d.fields.is_empty() {
            div.fields {
                "differing field" @if d.fields.len() != 1 { "s" } ":"
                @for f in &d.fields { " " span.chip { (f) } }
            }
        }
    }
}

fn divergence_card(
    d: &Divergence,
    timeline: &[TimelineEvent],
    expected: &str,
    actual: &str,
) -> Markup {
    let (exp, act) = word_diff(&d.expected, &d.actual);
    html! {
        div.divergence {
            (divergence_where(d, timeline))
            div.sides {
                div.expected { div.side-label { (expected) } pre { (exp) } }
                div.actual { div.side-label { (actual) } pre { (act) } }
            }
            (divergence_fields(d))
        }
    }
}

// ---------------------------------------------------------------------------
// diff

fn compared_section(index: usize, c: &ComparedScenario, other: &str) -> Markup {
    let Some(d) = &c.divergence else {
        return html! {};
    };
    let axis = c
        .rows
        .iter()
        .map(|r| r.call + 1)
        .chain(c.timeline.iter().map(|e| e.call + 1))
        .chain([d.call + 1])
        .max()
        .unwrap_or(1);
    let broken: Vec<&CheckResult> = c.broken_checks.iter().collect();
    let mut gist = format!("first divergence at call {}, t={} ms", d.call, d.time_ms);
    if !broken.is_empty() {
        gist.push_str(&format!(
            " · breaks {}",
            broken.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        ));
    }
    html! {
        details.scenario.v-fail-border id=(scenario_id(index, &c.name)) open {
            summary {
                (agreement_badge(false))
                span.name { (c.name) }
                span.gist { (gist) }
                span.seed { "seed " (c.seed) }
            }
            div.body {
                div.block {
                    div.divergence {
                        (divergence_where(d, &c.timeline))
                        (rows_table(&c.rows, other))
                        (divergence_fields(d))
                    }
                }
                @if !broken.is_empty() {
                    div.block {
                        div.label { "checks the plugin broke" }
                        (check_list(&broken))
                    }
                }
                div.block {
                    div.label { "fault timeline (the plugin's run)" }
                    (timeline(&c.timeline, c.timeline.len(), axis, Some(d.call), None))
                }
            }
        }
    }
}

fn rows_table(rows: &[DiffRow], other: &str) -> Markup {
    html! {
        table.rows {
            thead { tr {
                th.num { "call" } th { "operation" } th { "plugin" } th { (other) }
            } }
            tbody {
                @for row in rows {
                    @if row.differs {
                        @let (theirs, ours) = word_diff(&row.other, &row.plugin);
                        tr.differs {
                            td.call.num { "≠ " (row.call) }
                            td.op {
                                (row.operation)
                                @if let Some(fields) = crate::diff::differs_in(&row.fields) {
                                    div.row-fields { (fields) }
                                }
                            }
                            td.plugin-cell { (ours) }
                            td.other-cell { (theirs) }
                        }
                    } @else {
                        tr.same {
                            td.call.num { (row.call) }
                            td.op { (row.operation) }
                            td.plugin-cell { (row.plugin) }
                            td.other-cell { (row.other) }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Word diff: marks the words of two answers that are not in their longest
// common subsequence, e.g. `429` against `214`.

fn tokens(s: &str) -> Vec<&str> {
    let word = |c: char| c.is_alphanumeric() || "-_.".contains(c);
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if word(c) {
            while let Some(&(_, next)) = chars.peek() {
                if !word(next) {
                    break;
                }
                chars.next();
            }
        }
        let end = chars.peek().map_or(s.len(), |&(j, _)| j);
        debug_assert_eq!(i, start);
        out.push(&s[start..end]);
        start = end;
    }
    out
}

/// Both strings, their differing words in `<mark>`.
fn word_diff(a: &str, b: &str) -> (Markup, Markup) {
    let (ta, tb) = (tokens(a), tokens(b));
    // Above this, leave the answers unmarked rather than spend the time.
    if ta.len().saturating_mul(tb.len()) > 250_000 {
        return (html! { (a) }, html! { (b) });
    }
    let (n, m) = (ta.len(), tb.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if ta[i] == tb[j] {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut keep_a, mut keep_b) = (vec![false; n], vec![false; m]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if ta[i] == tb[j] {
            keep_a[i] = true;
            keep_b[j] = true;
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    // Mark only answers that share most of their words: marks all over two
    // unrelated answers would hide more than they show.
    let words = |t: &[&str], keep: &[bool]| {
        let words: Vec<bool> = t
            .iter()
            .zip(keep)
            .filter(|(t, _)| t.chars().any(char::is_alphanumeric))
            .map(|(_, k)| *k)
            .collect();
        (words.iter().filter(|k| **k).count(), words.len())
    };
    let ((kept_a, all_a), (kept_b, all_b)) = (words(&ta, &keep_a), words(&tb, &keep_b));
    if kept_a * 2 < all_a || kept_b * 2 < all_b {
        return (html! { (a) }, html! { (b) });
    }
    (marked(&ta, &keep_a), marked(&tb, &keep_b))
}

fn marked(tokens: &[&str], keep: &[bool]) -> Markup {
    // A kept space between two changed tokens joins them.
    let mut keep = keep.to_vec();
    for i in 1..tokens.len().saturating_sub(1) {
        if keep[i] && !keep[i - 1] && !keep[i + 1] && tokens[i].trim().is_empty() {
            keep[i] = false;
        }
    }
    // Runs of kept and changed tokens; a changed run is one <mark>.
    let mut runs: Vec<(bool, String)> = Vec::new();
    for (t, &k) in tokens.iter().zip(&keep) {
        match runs.last_mut() {
            Some((kept, text)) if *kept == k => text.push_str(t),
            _ => runs.push((k, (*t).to_string())),
        }
    }
    html! {
        @for (kept, text) in &runs {
            @if *kept { (text) } @else { mark { (text) } }
        }
    }
}

// ---------------------------------------------------------------------------
// The fault timeline: a strip with a lane per kind of fault over the call
// axis, the divergence and the abort marked, then the full list.

const KNOWN_KINDS: [&str; 3] = ["clock", "bank", "store"];

fn kind_class(kind: &str) -> &'static str {
    KNOWN_KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

fn timeline(
    events: &[TimelineEvent],
    total: usize,
    axis_calls: usize,
    divergence: Option<usize>,
    abort: Option<usize>,
) -> Markup {
    // Lanes: the known kinds first, in a fixed order, then any other.
    let mut lanes: Vec<&str> = KNOWN_KINDS
        .iter()
        .copied()
        .filter(|k| events.iter().any(|e| e.kind == *k))
        .collect();
    for e in events {
        if !lanes.contains(&e.kind) {
            lanes.push(e.kind);
        }
    }
    let axis = axis_calls
        .max(events.iter().map(|e| e.call + 1).max().unwrap_or(0))
        .max(1);
    const W: f64 = 1000.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 14.0;
    const TOP: f64 = 16.0;
    const LANE: f64 = 18.0;
    const GAP: f64 = 4.0;
    let lanes_height = if lanes.is_empty() {
        LANE
    } else {
        lanes.len() as f64 * (LANE + GAP) - GAP
    };
    let axis_y = TOP + lanes_height + 4.0;
    let height = axis_y + 16.0;
    let x = |call: usize| LEFT + (call as f64 + 0.5) / axis as f64 * (W - LEFT - RIGHT);
    // One tick per kind and pixel: thousands of faults stay a small SVG.
    let mut ticks: Vec<(usize, u32, Vec<&TimelineEvent>)> = Vec::new();
    for e in events {
        let lane = lanes.iter().position(|k| *k == e.kind).unwrap_or(0);
        let px = x(e.call).round() as u32;
        match ticks.iter_mut().find(|(l, p, _)| *l == lane && *p == px) {
            Some((_, _, group)) => group.push(e),
            None => ticks.push((lane, px, vec![e])),
        }
    }
    let axis_marks: Vec<usize> = {
        // 0, round numbers, and the last call (its neighbour dropped when
        // the two would touch).
        let mut marks = vec![0];
        let step = nice_step(axis as f64 / 5.0).max(1.0) as usize;
        let last = axis - 1;
        let mut m = step;
        while m < last && (last - m) as f64 >= step as f64 * 0.6 {
            marks.push(m);
            m += step;
        }
        if last > 0 {
            marks.push(last);
        }
        marks
    };
    let markers = markers(divergence, abort, x, W);
    let list = fault_list(events, divergence, abort);
    let counts: Vec<(&str, usize)> = lanes
        .iter()
        .map(|k| (*k, events.iter().filter(|e| e.kind == *k).count()))
        .collect();
    html! {
        div.timeline {
            svg viewBox=(format!("0 0 {W} {}", f1(height))) role="img"
                aria-label=(format!("{} faults over {} calls", total, axis)) {
                @if lanes.is_empty() {
                    rect.lane x=(LEFT) y=(TOP) width=(W - LEFT - RIGHT) height=(LANE) rx="3" {}
                    text.lane-label x=(LEFT - 8.0) y=(f1(TOP + LANE / 2.0 + 4.0)) text-anchor="end" { "no faults" }
                }
                @for (i, kind) in lanes.iter().enumerate() {
                    @let y = TOP + i as f64 * (LANE + GAP);
                    rect.lane x=(LEFT) y=(f1(y)) width=(W - LEFT - RIGHT) height=(LANE) rx="3" {}
                    text.lane-label x=(LEFT - 8.0) y=(f1(y + LANE / 2.0 + 4.0)) text-anchor="end" { (kind) }
                }
                @for m in &markers {
                    line class=(m.class) x1=(f1(m.x)) x2=(f1(m.x)) y1=(f1(TOP - 3.0)) y2=(f1(axis_y)) stroke-width="2" {
                        title { (m.label) " at call " (m.call) }
                    }
                    path class=(m.class) d=(format!("M{} {}l-4 -6h8z", f1(m.x), f1(TOP - 2.0))) {}
                }
                @for (lane, px, group) in &ticks {
                    @let y = TOP + *lane as f64 * (LANE + GAP);
                    line class=(format!("tick {}", kind_class(group[0].kind)))
                        x1=(px) x2=(px) y1=(f1(y + 2.0)) y2=(f1(y + LANE - 2.0)) {
                        title { (tick_title(group)) }
                    }
                }
                line.axis x1=(LEFT) x2=(W - RIGHT) y1=(f1(axis_y)) y2=(f1(axis_y)) {}
                @for m in &axis_marks {
                    @let mx = f1(x(*m));
                    line.axis x1=(mx) x2=(mx) y1=(f1(axis_y)) y2=(f1(axis_y + 3.0)) {}
                    text.axis-label x=(mx) y=(f1(axis_y + 13.0))
                        text-anchor=(if *m == 0 { "start" } else if *m + 1 == axis && axis > 1 { "end" } else { "middle" }) {
                        @if *m == 0 { "call 0" } @else { (grouped(*m as u64)) }
                    }
                }
                @for m in &markers {
                    text class=(format!("{} marker-label", m.class))
                        x=(f1(if m.label_right { m.x + 6.0 } else { m.x - 6.0 }))
                        y=(f1(TOP - 6.0))
                        text-anchor=(if m.label_right { "start" } else { "end" }) {
                        @if m.show_label { (m.label) " · call " (grouped(m.call as u64)) }
                    }
                }
            }
            div.legend {
                @for (kind, count) in &counts {
                    span { span class=(format!("swatch sw-{}", kind_class(kind))) {} (kind) " " (grouped(*count as u64)) }
                }
                @if let Some(call) = divergence {
                    span { span.swatch.sw-divergence {} "first divergence at call " (call) }
                }
                @if let Some(call) = abort {
                    span { span.swatch.sw-abort {} "abort at call " (call) }
                }
                @if events.is_empty() { span { "no faults injected" } }
                @if total > events.len() {
                    span { "showing the first " (grouped(events.len() as u64)) " of " (grouped(total as u64)) " faults" }
                }
            }
            @if !events.is_empty() {
                details.more {
                    summary {
                        @if total > events.len() {
                            "the first " (grouped(events.len() as u64)) " of " (grouped(total as u64)) " faults"
                        } @else {
                            "all " (grouped(events.len() as u64)) " fault" @if events.len() != 1 { "s" }
                        }
                    }
                    div.scroll {
                        table {
                            thead { tr { th.num { "call" } th.num { "t (ms)" } th { "kind" } th { "fault" } } }
                            tbody {
                                @for row in &list {
                                    @match row {
                                        ListRow::Fault(e) => {
                                            tr {
                                                td.num { (e.call) }
                                                td.num { (e.time_ms) }
                                                td class=(format!("k-{}", kind_class(e.kind))) { (e.kind) }
                                                td { (e.description) }
                                            }
                                        }
                                        ListRow::Marker(what, call) => {
                                            tr.at-divergence {
                                                td.num { (call) } td.num {} td { "▶" } td { (what) " at call " (call) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The divergence or the abort on the timeline strip.
struct Marker {
    class: &'static str,
    label: &'static str,
    call: usize,
    x: f64,
    label_right: bool,
    show_label: bool,
}

/// The markers and where their labels go: away from each other, and
/// inside the strip. At one call, the abort and the divergence are one
/// marker.
fn markers(
    divergence: Option<usize>,
    abort: Option<usize>,
    x: impl Fn(usize) -> f64,
    width: f64,
) -> Vec<Marker> {
    const LABEL: f64 = 170.0;
    let marker = |class, label, call| Marker {
        class,
        label,
        call,
        x: x(call),
        label_right: true,
        show_label: true,
    };
    let mut markers = match (divergence, abort) {
        (Some(d), Some(a)) if d == a => vec![marker("marker-abort", "abort and divergence", a)],
        _ => divergence
            .map(|d| marker("marker-divergence", "divergence", d))
            .into_iter()
            .chain(abort.map(|a| marker("marker-abort", "abort", a)))
            .collect(),
    };
    markers.sort_by(|a, b| a.x.total_cmp(&b.x));
    match markers.as_mut_slice() {
        [one] => one.label_right = one.x < width / 2.0,
        [left, right] => {
            left.label_right = left.x < LABEL;
            right.label_right = right.x + LABEL < width;
            // Both labels on one side and close: keep the first only (the
            // legend names both).
            if left.label_right == right.label_right && right.x - left.x < LABEL {
                right.show_label = false;
            }
        }
        _ => {}
    }
    markers
}

/// A row of the fault list: a fault, or where the divergence or abort
/// falls among them.
enum ListRow<'a> {
    Fault(&'a TimelineEvent),
    Marker(&'static str, usize),
}

/// The faults in order, each marker after the faults of its call (a clock
/// fault comes before its call; a dependency's happen during it).
fn fault_list(
    events: &[TimelineEvent],
    divergence: Option<usize>,
    abort: Option<usize>,
) -> Vec<ListRow<'_>> {
    let mut markers: Vec<(&'static str, usize)> = Vec::new();
    if let Some(call) = divergence {
        markers.push(("first divergence", call));
    }
    if let Some(call) = abort {
        markers.push(("abort", call));
    }
    markers.sort_by_key(|m| m.1);
    let mut markers = markers.into_iter().peekable();
    let mut rows = Vec::with_capacity(events.len() + 2);
    for e in events {
        while let Some((what, call)) = markers.next_if(|m| e.call > m.1) {
            rows.push(ListRow::Marker(what, call));
        }
        rows.push(ListRow::Fault(e));
    }
    rows.extend(markers.map(|(what, call)| ListRow::Marker(what, call)));
    rows
}

fn tick_title(group: &[&TimelineEvent]) -> String {
    let first = group[0];
    let last = group[group.len() - 1];
    let mut title = if group.len() == 1 {
        format!(
            "call {} · t={} ms · {}",
            first.call, first.time_ms, first.kind
        )
    } else {
        format!(
            "{} {} faults, calls {}–{}",
            group.len(),
            first.kind,
            first.call,
            last.call
        )
    };
    for e in group.iter().take(3) {
        title.push('\n');
        title.push_str(&e.description);
    }
    if group.len() > 3 {
        title.push_str(&format!("\n… and {} more", group.len() - 3));
    }
    title
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

// ---------------------------------------------------------------------------
// A concurrent run in lanes: a lane per replica over the run's one order of
// events, each call a bar from when it was sent to when it was answered
// (as `gauntlet replay` prints it in columns), the failing call marked.

/// Rows a lane stacks overlapping calls in (past them, bars overlap).
const LANE_ROWS: usize = 6;

/// The calls of each lane and the row each is drawn in: per replica, the
/// calls' indexes into `calls` by when they were sent, each in the first
/// row free by then.
fn lane_rows(calls: &[LaneCall], replicas: usize) -> Vec<(usize, Vec<(usize, usize)>)> {
    let mut lanes = Vec::with_capacity(replicas);
    for replica in 0..replicas {
        let mut mine: Vec<usize> = (0..calls.len())
            .filter(|i| calls[*i].replica as usize == replica)
            .collect();
        mine.sort_by_key(|i| (calls[*i].invoked, calls[*i].completed));
        // The last answer of each row.
        let mut ends: Vec<u64> = Vec::new();
        let mut placed = Vec::with_capacity(mine.len());
        for i in mine {
            let c = &calls[i];
            let row = match ends.iter().position(|end| *end < c.invoked) {
                Some(row) => row,
                None if ends.len() < LANE_ROWS => {
                    ends.push(0);
                    ends.len() - 1
                }
                // Every row busy: the one free soonest.
                None => (0..ends.len()).min_by_key(|r| ends[*r]).unwrap_or(0),
            };
            ends[row] = ends[row].max(c.completed);
            placed.push((i, row));
        }
        lanes.push((ends.len().max(1), placed));
    }
    lanes
}

fn lane_title(c: &LaneCall, failing: Option<(usize, &str)>) -> String {
    let mut title = format!(
        "call {} · replica {} · process {}\n{} → {}\nsent at event {}, t={} ms · answered at event {}, t={} ms ({:+} ms)",
        c.call,
        c.replica,
        c.process,
        c.operation,
        c.answer,
        c.invoked,
        c.invoked_ms,
        c.completed,
        c.completed_ms,
        c.completed_ms as i64 - c.invoked_ms as i64,
    );
    if c.imports.is_empty() {
        title.push_str("\nparked at no import");
    } else {
        title.push_str(&format!("\nparked at: {}", c.imports.join(" ")));
    }
    if let Some((call, checks)) = failing
        && call == c.call
    {
        title.push_str(&format!("\n✗ {checks} fails at this call"));
    }
    title
}

fn lanes(
    calls: &[LaneCall],
    total: usize,
    failing: Option<(usize, &str)>,
    abort: Option<usize>,
) -> Markup {
    const W: f64 = 1000.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 14.0;
    const TOP: f64 = 16.0;
    const ROW: f64 = 14.0;
    const BAR: f64 = 11.0;
    const PAD: f64 = 2.0;
    const GAP: f64 = 4.0;
    let replicas = calls
        .iter()
        .map(|c| c.replica as usize + 1)
        .max()
        .unwrap_or(1);
    let rows = lane_rows(calls, replicas);
    let first = calls.iter().map(|c| c.invoked).min().unwrap_or(0);
    let last = calls
        .iter()
        .map(|c| c.completed)
        .max()
        .unwrap_or(0)
        .max(first);
    let slots = (last - first + 1) as f64;
    let unit = (W - LEFT - RIGHT) / slots;
    // An event's slot: [start, end) on the x axis.
    let start = |position: u64| LEFT + (position - first) as f64 * unit;
    let end = |position: u64| start(position) + unit;
    let inset = if unit >= 4.0 { 0.5 } else { 0.0 };
    let mut lane_y = Vec::with_capacity(replicas);
    let mut y = TOP;
    for (count, _) in &rows {
        lane_y.push(y);
        y += *count as f64 * ROW + 2.0 * PAD + GAP;
    }
    let bottom = y - GAP;
    let axis_y = bottom + 4.0;
    let height = axis_y + 16.0;
    let failing_call = failing.and_then(|(call, _)| calls.iter().find(|c| c.call == call));
    // Every bar with its place; the failing call's last, so it is on top.
    struct Bar<'a> {
        call: &'a LaneCall,
        x: f64,
        y: f64,
        width: f64,
        class: &'static str,
    }
    let mut bars: Vec<Bar> = Vec::with_capacity(calls.len());
    for (lane, (_, placed)) in rows.iter().enumerate() {
        for &(i, row) in placed {
            let c = &calls[i];
            let x = start(c.invoked) + inset;
            let is_failing = failing.is_some_and(|(call, _)| call == c.call);
            let class = if is_failing {
                "call failing"
            } else if abort == Some(c.call) {
                "call aborted"
            } else {
                "call"
            };
            // The failing call stays visible however dense the run.
            let least = if is_failing { 3.0 } else { 1.0 };
            bars.push(Bar {
                call: c,
                x,
                y: lane_y[lane] + PAD + row as f64 * ROW + (ROW - BAR) / 2.0,
                width: (end(c.completed) - inset - x).max(least),
                class,
            });
        }
    }
    bars.sort_by_key(|b| failing.is_some_and(|(call, _)| call == b.call.call));
    let axis_marks: Vec<u64> = {
        let span = last - first;
        let step = (nice_step(slots / 5.0).max(1.0) as u64).max(1);
        let mut marks = vec![first];
        let mut m = (first / step + 1) * step;
        if ((m - first) as f64) < step as f64 * 0.6 {
            m += step;
        }
        while m < last && (last - m) as f64 >= step as f64 * 0.6 {
            marks.push(m);
            m += step;
        }
        if span > 0 {
            marks.push(last);
        }
        marks
    };
    let mid = |p: u64| start(p) + unit / 2.0;
    let band = failing_call.map(|c| {
        (
            start(c.invoked),
            end(c.completed).max(start(c.invoked) + 3.0),
        )
    });
    let overlapping = failing_call.map_or(0, |f| {
        calls
            .iter()
            .filter(|c| c.call != f.call && c.invoked < f.completed && c.completed > f.invoked)
            .count()
    });
    html! {
        div.timeline.lanes {
            p.note {
                "Each bar is a call, from when it was sent to when it was answered, on the replica that served it; "
                "the x axis is the run's order of events. Calls overlapping in time overlap here; "
                "a replica serves one call at a time, others wait in its queue."
            }
            svg viewBox=(format!("0 0 {W} {}", f1(height))) role="img"
                aria-label=(format!("{} calls on {} replicas", calls.len(), replicas)) {
                @for (lane, (count, _)) in rows.iter().enumerate() {
                    @let y = lane_y[lane];
                    @let h = *count as f64 * ROW + 2.0 * PAD;
                    rect.lane x=(LEFT) y=(f1(y)) width=(W - LEFT - RIGHT) height=(f1(h)) rx="3" {}
                    text.lane-label x=(LEFT - 8.0) y=(f1(y + PAD + ROW / 2.0 + 4.0)) text-anchor="end" { "replica " (lane) }
                }
                @if let (Some((x0, x1)), Some(c)) = (band, failing_call) {
                    rect.overlap x=(f1(x0)) y=(f1(TOP - 3.0)) width=(f1(x1 - x0)) height=(f1(axis_y - TOP + 3.0)) {
                        title { "call " (c.call) " was out from event " (c.invoked) " to " (c.completed) "; " (overlapping) " other call" @if overlapping != 1 { "s" } " overlapped it" }
                    }
                }
                @for b in &bars {
                    g {
                        title { (lane_title(b.call, failing)) }
                        rect class=(b.class) x=(f1(b.x)) y=(f1(b.y)) width=(f1(b.width)) height=(BAR) rx="2" {}
                        @let label = b.call.call.to_string();
                        @if b.width >= label.len() as f64 * 6.0 + 4.0 {
                            text.call-num x=(f1(b.x + b.width / 2.0)) y=(f1(b.y + BAR - 2.5)) text-anchor="middle" { (label) }
                        }
                    }
                }
                @if let (Some((x0, x1)), Some((call, checks))) = (band, failing) {
                    @let x = (x0 + x1) / 2.0;
                    @let right = x < W / 2.0;
                    path.marker-divergence d=(format!("M{} {}l-4 -6h8z", f1(x), f1(TOP - 2.0))) {}
                    text.marker-divergence.marker-label
                        x=(f1(if right { x + 6.0 } else { x - 6.0 })) y=(f1(TOP - 6.0))
                        text-anchor=(if right { "start" } else { "end" }) {
                        "✗ " (checks) " · call " (grouped(call as u64))
                    }
                }
                line.axis x1=(LEFT) x2=(W - RIGHT) y1=(f1(axis_y)) y2=(f1(axis_y)) {}
                @for m in &axis_marks {
                    @let mx = f1(mid(*m));
                    line.axis x1=(mx) x2=(mx) y1=(f1(axis_y)) y2=(f1(axis_y + 3.0)) {}
                    text.axis-label x=(mx) y=(f1(axis_y + 13.0))
                        text-anchor=(if *m == first { "start" } else if *m == last { "end" } else { "middle" }) {
                        @if *m == first { "event " } (grouped(*m))
                    }
                }
            }
            div.legend {
                span { span.swatch.sw-call {} (plural(calls.len(), "call")) " on " (plural(replicas, "replica")) }
                @if let Some((call, checks)) = failing {
                    span { span.swatch.sw-divergence {} (checks) " fails at call " (call) }
                    @if failing_call.is_some() {
                        span { span.swatch.sw-overlap {} (plural(overlapping, "call")) " overlapped it" }
                    }
                }
                @if let Some(call) = abort {
                    span { span.swatch.sw-abort {} "abort at call " (call) }
                }
                @if total > calls.len() {
                    span {
                        "showing " (grouped(calls.len() as u64)) " of " (grouped(total as u64)) " calls"
                        @if failing_call.is_some() { ", around the failing one" } @else { ", the first answered" }
                    }
                }
            }
            details.more {
                summary {
                    @if total > calls.len() {
                        (grouped(calls.len() as u64)) " of " (grouped(total as u64)) " calls, in the order answered"
                    } @else {
                        "all " (plural(calls.len(), "call")) ", in the order answered"
                    }
                }
                div.scroll {
                    table {
                        thead { tr {
                            th.num { "call" } th.num { "replica" } th { "process" }
                            th.num { "sent" } th.num { "answered" } th.num { "t (ms)" }
                            th { "operation" } th { "answer" } th { "parked at" }
                        } }
                        tbody {
                            @for c in calls {
                                tr class=[failing.is_some_and(|(call, _)| call == c.call).then_some("at-divergence")] {
                                    td.num { (c.call) }
                                    td.num { (c.replica) }
                                    td { (c.process) }
                                    td.num { (c.invoked) }
                                    td.num { (c.completed) }
                                    td.num { (c.invoked_ms) "–" (c.completed_ms) }
                                    td { (c.operation) }
                                    td { (c.answer) }
                                    td { (c.imports.join(" ")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// bench

fn bench_section(index: usize, s: &BenchScenario) -> Markup {
    let waits = s
        .entries
        .iter()
        .any(|e| e.waited_ms.is_some() || e.dependency_calls.is_some());
    let operations = s.entries.first().map_or(0, |e| e.operations);
    let mut rank = 0;
    let ranks: Vec<Option<usize>> = s
        .entries
        .iter()
        .map(|e| {
            e.correct.then(|| {
                rank += 1;
                rank
            })
        })
        .collect();
    html! {
        section id=(scenario_id(index, &s.scenario)) {
            h2 {
                code { (s.scenario) }
                span.muted { " · seed " (s.seed) " · " (grouped(operations as u64)) " operations · "
                    (s.runs) " measured run" @if s.runs != 1 { "s" } " each after a warm-up, interleaved" }
            }
            table.bench {
                thead { tr {
                    th { "rank" }
                    th { "plugin" }
                    th { "language" }
                    th.num { "ops/s" }
                    th.num { "min–max" }
                    th.num { "fuel/op" }
                    th.num { "vs ref" }
                    th.num { "memory" }
                    th.num { "compile" }
                    @if waits { th.num { "dependency calls / waited" } }
                } }
                tbody {
                    @for (e, rank) in s.entries.iter().zip(&ranks) {
                        tr class=(bench_row_class(e)) {
                            td.rank { @if let Some(r) = rank { (r) } @else { "–" } }
                            td.plugin {
                                (e.name())
                                span.sub title=(e.plugin) { "sha256 " (e.sha256.get(..16).unwrap_or(&e.sha256)) "…" }
                                @if !e.correct {
                                    span.sub { "✗ not ranked: fails " (e.failed_checks.join(", ")) }
                                }
                            }
                            td { (e.language.unwrap_or("?")) }
                            td.num { (rate(e.ops_per_sec_median)) }
                            td.num { (rate(e.ops_per_sec_min)) "–" (rate(e.ops_per_sec_max)) }
                            td.num { (grouped(e.fuel_per_operation)) }
                            td class=(if e.reference || (0.95..=1.05).contains(&e.vs_reference) { "num" } else if e.vs_reference > 1.0 { "num better" } else { "num worse" }) {
                                (format!("{:.2}×", e.vs_reference))
                            }
                            td.num { (megabytes(e.peak_memory_bytes)) }
                            td.num { @if e.compile_cached { span.muted { "cached" } } @else { (format!("{:.0} ms", e.compile_ms)) } }
                            @if waits {
                                td.num {
                                    @match (e.dependency_calls, e.waited_ms) {
                                        (Some(calls), Some(ms)) => { (grouped(calls)) " / " (duration_ms(ms)) }
                                        _ => { "–" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.charts {
                div.chart {
                    h3 { "Throughput" }
                    p.note { "operations per second: median bar, min–max whisker (wall clock; higher is better)" }
                    (bar_chart(&s.entries, |e| e.ops_per_sec_median, |e| Some((e.ops_per_sec_min, e.ops_per_sec_max)), rate))
                }
                div.chart {
                    h3 { "Fuel per operation" }
                    p.note { "deterministic cost: the same on every machine (lower is better)" }
                    (bar_chart(&s.entries, |e| e.fuel_per_operation as f64, |_| None, |v| grouped(v as u64)))
                }
            }
        }
    }
}

fn bench_row_class(e: &BenchEntry) -> &'static str {
    match (e.reference, e.correct) {
        (true, true) => "reference",
        (true, false) => "reference incorrect",
        (false, true) => "",
        (false, false) => "incorrect",
    }
}

/// A horizontal bar per entry, in the table's order; the reference's
/// highlighted, failing plugins' muted red.
fn bar_chart(
    entries: &[BenchEntry],
    value: impl Fn(&BenchEntry) -> f64,
    whisker: impl Fn(&BenchEntry) -> Option<(f64, f64)>,
    label: impl Fn(f64) -> String,
) -> Markup {
    const W: f64 = 580.0;
    const LEFT: f64 = 180.0;
    const RIGHT: f64 = 70.0;
    const ROW: f64 = 28.0;
    const BAR: f64 = 14.0;
    const TOP: f64 = 6.0;
    let max = entries
        .iter()
        .map(|e| whisker(e).map_or(value(e), |(_, hi)| hi.max(value(e))))
        .fold(0.0, f64::max);
    let step = nice_step(max / 4.0);
    let scale_max = if max > 0.0 {
        (max / step).ceil() * step
    } else {
        1.0
    };
    let grid: Vec<f64> = (0..=((scale_max / step).round() as usize))
        .map(|i| i as f64 * step)
        .collect();
    let width = W - LEFT - RIGHT;
    let x = |v: f64| LEFT + (v.max(0.0) / scale_max) * width;
    let height = TOP + entries.len() as f64 * ROW + 18.0;
    let bottom = TOP + entries.len() as f64 * ROW;
    html! {
        svg viewBox=(format!("0 0 {W} {}", f1(height))) role="img" {
            @for g in &grid {
                line.grid x1=(f1(x(*g))) x2=(f1(x(*g))) y1=(f1(TOP)) y2=(f1(bottom)) {}
                text.bar-value x=(f1(x(*g))) y=(f1(bottom + 13.0)) text-anchor="middle" { (label(*g)) }
            }
            @for (i, e) in entries.iter().enumerate() {
                @let y = TOP + i as f64 * ROW + (ROW - BAR) / 2.0;
                @let v = value(e);
                @let class = if !e.correct { "incorrect" } else if e.reference { "reference" } else { "" };
                @let name: String = {
                    let n = e.name();
                    let n = n.strip_suffix(".wasm").unwrap_or(&n);
                    if n.chars().count() > 22 { format!("{}…", n.chars().take(21).collect::<String>()) } else { n.to_string() }
                };
                text class=(format!("bar-label {class}")) x=(LEFT - 8.0) y=(f1(y + BAR / 2.0 + 4.0)) text-anchor="end" {
                    (name) @if !e.correct { " ✗" }
                    title { (e.plugin) }
                }
                rect class=(format!("bar {class}")) x=(LEFT) y=(f1(y)) width=(f1(x(v) - LEFT)) height=(BAR) rx="2" {
                    title { (e.name()) ": " (label(v)) }
                }
                @let range = whisker(e);
                @let end = range.map_or(x(v), |(_, hi)| x(hi).max(x(v)));
                @if let Some((lo, hi)) = range {
                    @let (xl, xh, ym) = (x(lo), x(hi), y + BAR / 2.0);
                    line.whisker x1=(f1(xl)) x2=(f1(xh)) y1=(f1(ym)) y2=(f1(ym)) {}
                    line.whisker x1=(f1(xl)) x2=(f1(xl)) y1=(f1(ym - 4.0)) y2=(f1(ym + 4.0)) {}
                    line.whisker x1=(f1(xh)) x2=(f1(xh)) y1=(f1(ym - 4.0)) y2=(f1(ym + 4.0)) {}
                }
                text.bar-value x=(f1(end + 6.0)) y=(f1(y + BAR / 2.0 + 4.0)) { (label(v)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::CheckResult;
    use crate::runner::{AbortReport, PluginInfo, Summary};
    use crate::sandbox::Abort;

    const HOSTILE: &str =
        "</pre><script>alert(1)</script><img src=x onerror=alert(2)> \"q\" 'a' &amp;";

    fn event(call: usize, kind: &'static str) -> TimelineEvent {
        TimelineEvent {
            call,
            time_ms: 1_700_000_000_000 + call as u64,
            kind,
            description: format!("fault <{call}>"),
        }
    }

    fn scenario(verdict: Verdict) -> ScenarioReport {
        let pass = verdict == Verdict::Pass;
        ScenarioReport {
            name: format!("<b>{HOSTILE}</b>"),
            file: HOSTILE.to_string(),
            description: HOSTILE.to_string(),
            seed: 7,
            verdict,
            checks: vec![
                CheckResult::pass("completes", HOSTILE),
                if pass {
                    CheckResult::pass("reference-diff", "all equal")
                } else {
                    CheckResult::fail("reference-diff", Some(2), HOSTILE)
                },
            ],
            first_divergence: (!pass).then(|| Divergence {
                call: 2,
                step: 3,
                operation: format!("check(\"{HOSTILE}\", 1)"),
                time_ms: 1_700_000_000_002,
                elapsed_ms: 2,
                expected: "denied (limit 10, retry-after-ms 429)".to_string(),
                actual: format!("denied (limit 10, retry-after-ms 214) {HOSTILE}"),
                fields: vec![HOSTILE.to_string()],
                after_fault: Some(HOSTILE.to_string()),
            }),
            abort: (verdict == Verdict::Trap).then(|| AbortReport {
                call: 2,
                abort: Abort::Trap {
                    trap: HOSTILE.to_string(),
                    guest_message: None,
                },
                message: HOSTILE.to_string(),
            }),
            planned_operations: 5_000,
            operations: 5_000,
            fuel: 10_000_000,
            fuel_per_operation: 2_000,
            reference_fuel: 9_000_000,
            reference_fuel_per_operation: 1_800,
            peak_memory_bytes: 1 << 20,
            reference_peak_memory_bytes: 1 << 20,
            dependency: Some(DependencyReport {
                name: "bank",
                calls: 12,
                waited_ms: 12_345,
                crashes: 1,
                reference_calls: 11,
                reference_waited_ms: 12_000,
            }),
            timeline: (0..TIMELINE)
                .map(|i| event(i * 4, if i % 3 == 0 { "clock" } else { "bank" }))
                .collect(),
            timeline_total: 4_321,
            lanes: Vec::new(),
            lanes_total: 0,
            output: HOSTILE.to_string(),
            replay: format!("gauntlet replay '{HOSTILE}' --scenario x --seed 7"),
            wall: Duration::from_millis(3),
        }
    }

    const TIMELINE: usize = 1_000;

    fn report() -> RunReport {
        let plugin = PluginInfo {
            path: HOSTILE.to_string(),
            wasm: HOSTILE.to_string(),
            sha256: "ab".repeat(32),
            track: "payment-gateway",
        };
        RunReport {
            format: 1,
            gauntlet: "0.0.0",
            track: "payment-gateway",
            world: "gauntlet:payments/plugin",
            plugin,
            reference_sha256: "cd".repeat(32),
            scenarios: vec![
                scenario(Verdict::Fail),
                scenario(Verdict::Trap),
                scenario(Verdict::Pass),
            ],
            summary: Summary {
                scenarios: 3,
                passed: 1,
                failed: 2,
            },
        }
    }

    /// The only markup in a page is the page's own: no report text becomes
    /// an element or an attribute.
    fn assert_escaped(page: &str) {
        assert_eq!(page.matches("<script").count(), 1, "one script: the page's");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>"));
        assert!(!page.contains("alert(1)</script>"));
        assert!(page.contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&amp;amp;"));
    }

    #[test]
    fn report_text_is_escaped_and_rendering_is_deterministic() {
        let report = report();
        let page = test_page(&report);
        assert_escaped(&page);
        assert_eq!(page, test_page(&report));
        // Failing scenarios open, the passing one closed.
        let opened: Vec<bool> = page
            .split("<details id=")
            .skip(1)
            .map(|tag| tag[..tag.find('>').unwrap()].ends_with(" open"))
            .collect();
        assert_eq!(opened, [true, true, false]);
        assert!(page.contains("the first 1,000 of 4,321 faults"));
    }

    /// A concurrent run of 30 calls on 3 replicas, each call out for three
    /// events, so that neighbours overlap.
    fn lane_calls() -> Vec<LaneCall> {
        (0..30)
            .map(|call| LaneCall {
                call,
                replica: (call % 3) as u32,
                process: format!("w{} {HOSTILE}", call % 6),
                operation: format!("lease {HOSTILE}"),
                answer: format!("job {HOSTILE}"),
                invoked: call as u64 + 1,
                completed: call as u64 + 4,
                invoked_ms: 1_700_000_000_000,
                completed_ms: 1_700_000_000_005,
                imports: vec!["clock.now-ms", "store.get"],
            })
            .collect()
    }

    #[test]
    fn a_concurrent_run_is_drawn_in_lanes() {
        let mut report = report();
        // The failing scenario's reference-diff fails at call 2.
        report.scenarios[0].lanes = lane_calls();
        report.scenarios[0].lanes_total = 45;
        let page = test_page(&report);
        assert_escaped(&page);
        assert_eq!(page, test_page(&report));
        assert_eq!(page.matches("<div class=\"timeline lanes\"").count(), 1);
        let lanes = between(&page, "<div class=\"timeline lanes\"", "</svg>");
        for replica in 0..3 {
            assert!(lanes.contains(&format!(">replica {replica}</text>")));
        }
        assert!(!lanes.contains(">replica 3<"));
        assert_eq!(lanes.matches("<rect class=\"call").count(), 30);
        assert_eq!(lanes.matches("<rect class=\"call failing\"").count(), 1);
        let failing = between(lanes, "<g><title>call 2 ·", "</g>");
        assert!(failing.contains("class=\"call failing\""), "{failing}");
        assert!(failing.contains("✗ reference-diff fails at this call"));
        assert!(failing.contains("parked at: clock.now-ms store.get"));
        assert!(lanes.contains("✗ reference-diff · call 2"), "no marker");
        // Calls 0, 1, 3 and 4 were out while call 2 was.
        assert!(lanes.contains("4 other calls overlapped it"));
        assert!(page.contains("showing 30 of 45 calls, around the failing one"));
        // Only the scenario with lanes draws them.
        report.scenarios[0].lanes.clear();
        assert!(!test_page(&report).contains("timeline lanes"));
    }

    #[test]
    fn overlapping_calls_of_a_replica_stack_in_rows() {
        let calls = lane_calls();
        let rows = lane_rows(&calls, 3);
        assert_eq!(rows.len(), 3);
        for (count, placed) in &rows {
            assert_eq!(placed.len(), 10);
            // Calls of one replica 3 events apart, each out for 3: two rows.
            assert_eq!(*count, 2);
            for pair in placed.windows(2) {
                assert_ne!(pair[0].1, pair[1].1, "two overlapping calls share a row");
            }
        }
        // Past the rows a lane has, bars overlap rather than the lane grow.
        let crowd: Vec<LaneCall> = (0..20)
            .map(|call| LaneCall {
                replica: 0,
                invoked: 1,
                completed: 100,
                ..calls[call].clone()
            })
            .collect();
        assert_eq!(lane_rows(&crowd, 1)[0].0, LANE_ROWS);
    }

    #[test]
    fn a_dense_timeline_stays_small() {
        let page = test_page(&report());
        // 1,000 faults over 5,000 calls: one tick per kind and pixel.
        let ticks = page.matches("<line class=\"tick").count();
        assert!(ticks > 0 && ticks < 3 * 2 * 940, "{ticks} ticks");
    }

    #[test]
    fn the_policy_allows_exactly_the_page_script() {
        let page = test_page(&report());
        let script = between(&page, "<script>", "</script>");
        assert_eq!(script, SCRIPT);
        let hash = format!("sha256-{}", base64(&Sha256::digest(script.as_bytes())));
        assert!(page.contains(&format!("script-src '{hash}'")));
        assert!(page.contains("default-src 'none'"));
    }

    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let from = text.find(start).unwrap() + start.len();
        &text[from..from + text[from..].find(end).unwrap()]
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn word_diff_marks_only_what_differs() {
        let (a, b) = word_diff(
            "denied (limit 10, remaining 0, retry-after-ms 429)",
            "denied (limit 10, remaining 0, retry-after-ms 214)",
        );
        assert_eq!(
            a.into_string(),
            "denied (limit 10, remaining 0, retry-after-ms <mark>429</mark>)"
        );
        assert_eq!(
            b.into_string(),
            "denied (limit 10, remaining 0, retry-after-ms <mark>214</mark>)"
        );
        // Unrelated answers: no marks at all.
        let (a, b) = word_diff("allowed (limit 10)", "no answer: the plugin trapped");
        assert!(!a.into_string().contains("<mark>"));
        assert!(!b.into_string().contains("<mark>"));
        // Escaped inside and outside the marks.
        let (_, b) = word_diff("x <a>", "x <b>");
        assert_eq!(b.into_string(), "x &lt;<mark>b</mark>&gt;");
    }

    #[test]
    fn diff_and_bench_pages_escape_too() {
        let plugin = PluginInfo {
            path: HOSTILE.to_string(),
            wasm: HOSTILE.to_string(),
            sha256: "ab".repeat(32),
            track: "rate-limiter",
        };
        let s = scenario(Verdict::Fail);
        let diff = DiffReport {
            format: 1,
            gauntlet: "0.0.0",
            track: "rate-limiter",
            plugin: plugin.clone(),
            other: plugin,
            other_is_reference: false,
            scenarios: vec![ComparedScenario {
                name: s.name.clone(),
                seed: 1,
                divergence: s.first_divergence.clone(),
                rows: vec![
                    DiffRow {
                        call: 1,
                        operation: HOSTILE.to_string(),
                        plugin: HOSTILE.to_string(),
                        other: HOSTILE.to_string(),
                        differs: false,
                        fields: Vec::new(),
                    },
                    DiffRow {
                        call: 2,
                        operation: HOSTILE.to_string(),
                        plugin: format!("{HOSTILE} 1"),
                        other: format!("{HOSTILE} 2"),
                        differs: true,
                        fields: vec![HOSTILE.to_string()],
                    },
                ],
                broken_checks: vec![CheckResult::fail("never-over-limit", None, HOSTILE)],
                timeline: s.timeline.clone(),
            }],
            summary: crate::diff::DiffSummary {
                scenarios: 1,
                agree: 0,
                differ: 1,
            },
        };
        let page = diff_page(&diff);
        assert_escaped(&page);
        assert!(page.contains("<tr class=\"differs\">"));

        let entry = |reference: bool, correct: bool, median: f64| BenchEntry {
            plugin: HOSTILE.to_string(),
            sha256: "ef".repeat(32),
            language: Some("Python"),
            reference,
            correct,
            failed_checks: if correct {
                vec![]
            } else {
                vec!["never-over-limit"]
            },
            operations: 200_001,
            ops_per_sec_median: median,
            ops_per_sec_min: median * 0.9,
            ops_per_sec_max: median * 1.1,
            fuel_per_operation: 2_154,
            peak_memory_bytes: 1 << 21,
            compile_ms: 160.0,
            compile_cached: !reference,
            dependency_calls: None,
            waited_ms: None,
            vs_reference: median / 1.47e6,
            unit: None,
            units: None,
            units_per_sec_median: None,
            fuel_per_unit: None,
            fuel_per_call_kind: [("check", 2_150), ("configure", 9_000)].into(),
        };
        let bench = BenchReport {
            format: 1,
            gauntlet: "0.0.0",
            track: "rate-limiter",
            runs: 5,
            scenarios: vec![BenchScenario {
                scenario: HOSTILE.to_string(),
                seed: 16,
                runs: 5,
                entries: vec![
                    entry(true, true, 1.47e6),
                    entry(false, true, 6.75e5),
                    entry(false, false, 2e6),
                ],
            }],
        };
        let page = bench_page(&bench);
        assert_escaped(&page);
        assert!(page.contains("not ranked: fails never-over-limit"));
        assert_eq!(page.matches("<svg").count(), 2);
        assert_eq!(page, bench_page(&bench));
    }
}
