//! The HTML reports (`--html FILE`) in a real browser: headless Chromium
//! loads each page from `file://`, and the tests read what it printed to
//! the console (nothing, or the test fails) and the DOM after the page's
//! script ran. Chromium is Debian's package; the first test installs it
//! with apt-get when `/usr/bin/chromium` is missing, and fails, with the
//! reason, when it cannot.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{gauntlet, plugin_wasm, root};

/// Debian's chromium, or the browser `GAUNTLET_CHROMIUM` names.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless, and quiet on a machine without network: no first-run, sync,
/// component updates or background fetches.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// How long one page may take to load before the browser is killed.
const LOAD_TIMEOUT: Duration = Duration::from_secs(90);

/// The browser, installed once per test process (parallel tests wait on
/// the first); a failure to install fails every test that needs it.
fn chromium() -> &'static Path {
    static BROWSER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BROWSER.get_or_init(find_or_install_chromium) {
        Ok(path) => path,
        Err(reason) => panic!("no browser for the HTML report tests: {reason}"),
    }
}

fn find_or_install_chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("GAUNTLET_CHROMIUM") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "GAUNTLET_CHROMIUM={} is not a file",
                path.display()
            ))
        };
    }
    let path = PathBuf::from(CHROMIUM);
    if path.is_file() {
        return Ok(path);
    }
    if !is_root() {
        return Err(format!(
            "{CHROMIUM} is missing and the tests do not run as root, so they cannot \
             `apt-get install chromium`: install Debian's chromium package (or set \
             GAUNTLET_CHROMIUM to a Chromium binary)"
        ));
    }
    let started = Instant::now();
    eprintln!("html tests: {CHROMIUM} is missing; installing Debian's chromium with apt-get");
    apt(&["update"])?;
    apt(&["install", "-y", "chromium"])?;
    if !path.is_file() {
        return Err(format!(
            "`apt-get install -y chromium` succeeded but {CHROMIUM} is still missing"
        ));
    }
    eprintln!(
        "html tests: chromium installed in {:.0?}",
        started.elapsed()
    );
    Ok(path)
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// `apt-get ARGS`, non-interactive, waiting for another apt to let go of
/// its lock rather than failing at once.
fn apt(args: &[&str]) -> Result<(), String> {
    let output = Command::new("apt-get")
        .args(["-q", "-o", "DPkg::Lock::Timeout=600"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-get ({e}): install Debian's chromium package"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    Err(format!(
        "`apt-get {}` failed ({}):\n{}",
        args.join(" "),
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// What the browser made of a page.
struct Loaded {
    /// The DOM after the page's scripts ran (`--dump-dom`).
    dom: String,
    /// Every console message of the page: errors, warnings, anything
    /// logged, and the browser's own complaints about it (a script that
    /// threw, a resource refused by the page's policy or not found).
    console: Vec<String>,
}

/// Runs the browser on `page` with `args`, with a fresh profile, killing it
/// after [`LOAD_TIMEOUT`]; returns its stdout and stderr.
fn run_browser(page: &Path, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(chromium())
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LOAD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} in {LOAD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| {
        let mut text = String::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        status.success(),
        "chromium failed on {url} ({status}):\n{stderr}"
    );
    (stdout, stderr)
}

/// Loads `page` and returns its DOM and console.
fn load(page: &Path) -> Loaded {
    let (dom, stderr) = run_browser(page, &["--dump-dom".to_string()]);
    // Chromium logs each console message as `...:INFO:CONSOLE:LINE] "text",
    // source: URL (LINE)` (older versions: `CONSOLE(LINE)`).
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    assert!(
        dom.contains("<html"),
        "chromium printed no DOM for {}",
        page.display()
    );
    Loaded { dom, console }
}

/// Loads a report and asserts the browser was silent and the page's script
/// ran to its end.
fn load_clean(page: &Path) -> Loaded {
    let loaded = load(page);
    assert!(
        loaded.console.is_empty(),
        "{} logged to the console:\n{}",
        page.display(),
        loaded.console.join("\n")
    );
    assert!(
        loaded.dom.contains("data-ready"),
        "the report's script did not run to its end in {}",
        page.display()
    );
    loaded
}

/// The page's every `src`/`href`-like attribute points inside the page, no
/// stylesheet imports anything, and its policy forbids loading anything.
/// (Report text cannot forge an attribute: maud escapes `"` in text.)
fn assert_self_contained(html: &str) {
    for tag in [
        "<link", "<img", "<iframe", "<object", "<embed", "<video", "<audio", "<source", "<base",
    ] {
        assert!(!html.contains(tag), "the page has a {tag}> element");
    }
    for attribute in [
        " src=\"",
        " href=\"",
        " xlink:href=\"",
        " action=\"",
        " srcset=\"",
        " poster=\"",
        " data=\"",
    ] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(
                value.starts_with('#'),
                "the page refers outside itself: {}",
                &html[at..(at + 120).min(html.len())]
            );
        }
    }
    let style = between(html, "<style>", "</style>");
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "the stylesheet loads something"
    );
    assert!(
        html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
        "the page has no policy forbidding outside resources"
    );
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"))
        + start.len();
    let to = from + text[from..].find(end).unwrap();
    &text[from..to]
}

/// The overview table's row for `scenario`.
fn overview_row<'a>(dom: &'a str, scenario: &str) -> &'a str {
    let table = between(dom, "<table class=\"overview\">", "</table>");
    table
        .split("<tr")
        .find(|row| row.contains(&format!(">{scenario}<")))
        .unwrap_or_else(|| panic!("no row for {scenario} in the overview:\n{table}"))
}

/// The text of some markup (its tags dropped; no entities expected).
fn text(markup: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// A plugin's component, relative to the repository root (the path the
/// report shows).
fn relative_wasm(name: &str) -> PathBuf {
    plugin_wasm(name)
        .strip_prefix(root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| plugin_wasm(name))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn test_report_shows_the_failures_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("test.html");
    let plugin = relative_wasm("payment-gateway/fresh-bank-key");
    let scenario = "timeout-after-commit-authorize";
    let run = || {
        gauntlet()
            .current_dir(root())
            .arg("test")
            .arg(&plugin)
            .args(["--scenario", scenario, "--html"])
            .arg(&page)
            .assert()
            .code(1);
        read(&page)
    };
    let html = run();
    assert_eq!(html, run(), "the same run rendered different bytes");
    assert_self_contained(&html);

    let loaded = load_clean(&page);
    let row = overview_row(&loaded.dom, scenario);
    assert!(row.contains(">FAIL<"), "no FAIL on the row: {row}");
    for check in ["one-hold-per-payment", "reference-diff"] {
        assert!(row.contains(check), "{check} missing from the row: {row}");
    }
    let dom = &loaded.dom;
    // The scenario's section is open, with the divergence, the bank's
    // figures, its fault timeline and the replay command.
    assert!(dom.contains("first divergence from the reference"));
    assert!(dom.contains("the bank committed, then the answer timed out"));
    assert!(dom.contains("<svg"), "no timeline drawn");
    let replay = text(between(dom, "<code id=\"replay-1\">", "</code>"));
    assert!(
        replay.starts_with(&format!(
            "gauntlet replay {} --scenario {scenario} --seed ",
            plugin.display()
        )),
        "{replay}"
    );
    let section = between(dom, "<details id=\"s1-", "</summary>");
    assert!(section.contains("open"), "the failing scenario is closed");
    // The script ran: the copy button is shown.
    let button = between(dom, "<button type=\"button\" data-copy=\"replay-1\"", ">");
    assert!(
        !button.contains("hidden"),
        "the copy button is still hidden"
    );

    // The screenshot of the docs (`GAUNTLET_UPDATE_SCREENSHOT=1` keeps it).
    let png = dir.path().join("html-report.png");
    run_browser(
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,1600".to_string(),
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert_eq!(png_size(&bytes), (1280, 1600));
    if std::env::var_os("GAUNTLET_UPDATE_SCREENSHOT").is_some() {
        let docs = root().join("host/docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("html-report.png"), &bytes).unwrap();
    }
}

#[test]
fn diff_report_shows_both_answers_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("diff.html");
    let scenario = "timeout-after-commit-capture";
    gauntlet()
        .arg("diff")
        .arg(plugin_wasm("payment-gateway/fresh-bank-key"))
        .args(["--scenario", scenario, "--html"])
        .arg(&page)
        .assert()
        .code(1);
    let html = read(&page);
    assert_self_contained(&html);

    let loaded = load_clean(&page);
    let row = overview_row(&loaded.dom, scenario);
    assert!(row.contains(">DIFFER<"), "no DIFFER on the row: {row}");
    assert!(row.contains("bank-effects-match"), "no broken check: {row}");
    let dom = &loaded.dom;
    assert!(dom.contains("the track's reference"));
    // The calls around the divergence, the differing one marked, with the
    // word that differs highlighted.
    let differing = between(dom, "<tr class=\"differs\">", "</tr>");
    assert!(differing.contains("capture(key"), "{differing}");
    assert!(differing.contains("<mark>"), "nothing marked: {differing}");
}

#[test]
fn bench_report_charts_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bench.html");
    gauntlet()
        .arg("bench")
        .arg(plugin_wasm("rate-limiter/naive"))
        .args(["--scenario", "zipf-workload", "--runs", "1", "--html"])
        .arg(&page)
        .assert()
        .code(0);
    let html = read(&page);
    assert_self_contained(&html);

    let loaded = load_clean(&page);
    let dom = &loaded.dom;
    let table = between(dom, "<table class=\"bench\">", "</table>");
    assert!(table.contains("reference"), "{table}");
    assert!(table.contains("rate_limiter_naive.wasm"), "{table}");
    assert!(!table.contains("not ranked"), "{table}");
    assert!(dom.contains("Throughput") && dom.contains("Fuel per operation"));
    assert_eq!(
        dom.matches("<svg").count(),
        2,
        "one throughput chart and one fuel chart"
    );
    assert!(dom.contains("class=\"bar reference\""), "no reference bar");
}

/// The console check can fail: a script error, a resource the page's policy
/// refuses, and a script injected into a report are each reported.
#[test]
fn html_browser_check_catches_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.html");
    std::fs::write(
        &broken,
        "<!doctype html><title>broken</title><p>before\n\
         <script>document.body.dataset.reached = 'yes'; undefinedFunction();</script>",
    )
    .unwrap();
    let loaded = load(&broken);
    assert!(
        loaded
            .console
            .iter()
            .any(|l| l.contains("ReferenceError") && l.contains("undefinedFunction")),
        "a script error went unseen: {:?}",
        loaded.console
    );
    assert!(loaded.dom.contains("data-reached=\"yes\""));

    // A real report with an outside image and an extra script slipped in:
    // its policy refuses both, and the refusals reach the console.
    let page = dir.path().join("report.html");
    gauntlet()
        .arg("test")
        .arg(plugin_wasm("rate-limiter/lying-retry-after"))
        .args(["--scenario", "retry-after-honesty", "--html"])
        .arg(&page)
        .assert()
        .code(1);
    let html = read(&page);
    let clean = load_clean(&page);
    assert!(clean.dom.contains("honest-retry-after"));
    let tampered = html.replace(
        "<body>",
        "<body><img src=\"https://example.invalid/pixel.png\">\
         <script>document.body.dataset.injected = 'ran';</script>",
    );
    assert_ne!(tampered, html);
    std::fs::write(&page, tampered).unwrap();
    let loaded = load(&page);
    assert!(
        !loaded.dom.contains("data-injected"),
        "an injected script ran"
    );
    // (Chromium's wording changes between versions: "Refused to load the
    // image ..." then "Loading the image ... violates ...".)
    let refused = |what: &str| {
        loaded
            .console
            .iter()
            .any(|l| l.contains("Content Security Policy") && l.contains(what))
    };
    assert!(
        refused("https://example.invalid/pixel.png") && refused("inline script"),
        "the policy's refusals went unseen: {:?}",
        loaded.console
    );
    // The report's own script still ran.
    assert!(loaded.dom.contains("data-ready"));
}

/// `gauntlet test --format json --html PAGE` on one scenario: the JSON
/// report's scenario and the page.
fn json_and_page(
    plugin: &str,
    scenario: &str,
    code: i32,
) -> (serde_json::Value, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("test.html");
    let out = gauntlet()
        .arg("test")
        .arg(plugin_wasm(plugin))
        .args(["--scenario", scenario, "--format", "json", "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 1);
    (scenarios[0].clone(), page, dir)
}

#[test]
fn a_concurrent_run_is_drawn_in_lanes_in_a_browser() {
    let (scenario, page, _dir) =
        json_and_page("job-queue/lease-without-cas", "concurrent-workers", 1);
    // The report carries every call with its span.
    let lanes = scenario["lanes"]
        .as_array()
        .expect("no lanes in the JSON report");
    assert_eq!(scenario["lanes_total"].as_u64(), Some(lanes.len() as u64));
    assert_eq!(scenario["operations"].as_u64(), Some(lanes.len() as u64));
    let mut replicas: Vec<u64> = lanes
        .iter()
        .map(|l| l["replica"].as_u64().unwrap())
        .collect();
    replicas.sort();
    replicas.dedup();
    assert_eq!(replicas, [0, 1, 2]);
    for l in lanes {
        assert!(l["invoked"].as_u64() < l["completed"].as_u64(), "{l}");
        assert!(
            l["operation"].as_str().is_some_and(|o| !o.is_empty()),
            "{l}"
        );
    }
    let failing = scenario["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .find_map(|c| c["call"].as_u64())
        .expect("no failing check names a call");

    let html = read(&page);
    assert_self_contained(&html);
    let loaded = load_clean(&page);
    let dom = &loaded.dom;
    let drawn = between(dom, "<div class=\"timeline lanes\">", "</svg>");
    // One lane per replica.
    assert_eq!(drawn.matches("class=\"lane-label\"").count(), 3, "{drawn}");
    for replica in 0..3 {
        assert!(
            drawn.contains(&format!(">replica {replica}</text>")),
            "{drawn}"
        );
    }
    assert_eq!(drawn.matches("<rect class=\"call").count(), lanes.len());
    // The failing call: in the failure colour, its tooltip naming what
    // failed and where it parked, a marker above it, and the calls that
    // overlapped it counted.
    assert_eq!(drawn.matches("<rect class=\"call failing\"").count(), 1);
    let bar = between(drawn, &format!("<g><title>call {failing} ·"), "</g>");
    assert!(bar.contains("class=\"call failing\""), "{bar}");
    assert!(bar.contains("fails at this call"), "{bar}");
    assert!(bar.contains("parked at: "), "{bar}");
    assert!(bar.contains("lease for"), "{bar}");
    assert!(
        drawn.contains(&format!(" · call {failing}</text>")),
        "no marker on call {failing}"
    );
    assert!(drawn.contains("overlapped it"), "{drawn}");
    let caption = text(between(dom, "<div class=\"timeline lanes\">", "</p>"));
    assert!(
        caption.contains("from when it was sent to when it was answered")
            && caption.contains("a replica serves one call at a time"),
        "{caption}"
    );
}

#[test]
fn a_sequential_run_has_no_lanes() {
    let (scenario, page, _dir) = json_and_page("job-queue/lease-without-cas", "happy-path", 0);
    // The JSON report's shape is what it was before concurrent runs (the
    // keys sorted: serde_json's map keeps them so).
    let keys: Vec<&str> = scenario
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut shape = [
        "name",
        "file",
        "description",
        "seed",
        "verdict",
        "checks",
        "first_divergence",
        "abort",
        "planned_operations",
        "operations",
        "fuel",
        "fuel_per_operation",
        "reference_fuel",
        "reference_fuel_per_operation",
        "peak_memory_bytes",
        "reference_peak_memory_bytes",
        "dependency",
        "timeline",
        "timeline_total",
        "output",
        "replay",
    ];
    shape.sort();
    assert_eq!(keys, shape);
    let html = read(&page);
    assert!(
        !html.contains("timeline lanes"),
        "a sequential run in lanes"
    );
    assert!(!html.contains("calls in lanes"));
}
