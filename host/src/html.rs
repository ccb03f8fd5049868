//! The HTML report: one self-contained page (no external resources) for a
//! `test`, `diff` or `bench` run, rendered from the same structs the JSON
//! output serialises.

use std::path::Path;

use crate::commands::BenchReport;
use crate::diff::DiffReport;
use crate::error::{Error, Result};
use crate::runner::RunReport;

/// Writes a rendered page to `path`.
pub fn write(path: &Path, page: &str) -> Result<()> {
    std::fs::write(path, page).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

pub fn test_page(report: &RunReport) -> String {
    format!(
        "<!doctype html><title>gauntlet test</title><p>{} scenarios",
        report.summary.scenarios
    )
}

pub fn diff_page(report: &DiffReport) -> String {
    format!(
        "<!doctype html><title>gauntlet diff</title><p>{} scenarios",
        report.summary.scenarios
    )
}

pub fn bench_page(report: &BenchReport) -> String {
    format!(
        "<!doctype html><title>gauntlet bench</title><p>{} scenarios",
        report.scenarios.len()
    )
}
