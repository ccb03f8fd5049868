//! The traced scenario format (see `scenarios/README.md`) and its
//! compilation into a [`Plan`]: scripted batches and queries, and the span
//! emitter of generated workloads.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::RngExt;
use rand::seq::SliceRandom;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::model::{Op, Output, Span, WINDOW_NS};
use crate::error::Result;
use crate::scenario::{Common, DEFAULT_START_MS, HasCommon, Source};
use crate::sim::{Action, Plan, SeedTree};

const NS_PER_MS: i64 = 1_000_000;
/// Queries without bounds cover a day before now to 1 ms after it.
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Spec {
    format: u32,
    description: String,
    seed: u64,
    #[serde(default = "default_start")]
    start_ms: u64,
    #[serde(default)]
    steps: Vec<Spanned<StepSpec>>,
    generate: Option<Spanned<GenerateSpec>>,
}

fn default_start() -> u64 {
    DEFAULT_START_MS
}

impl HasCommon for Spec {
    fn common(&self) -> Common {
        Common {
            format: self.format,
            description: self.description.clone(),
            seed: self.seed,
            start_ms: self.start_ms,
        }
    }
}

/// A scripted span. Traces and spans are named by label; the host gives
/// each label a UUID. Times are relative to the virtual time of the step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SpanSpec {
    trace: String,
    span: String,
    parent: Option<String>,
    /// Raw ids instead of the labels' UUIDs (to send invalid ones).
    trace_id: Option<String>,
    span_id: Option<String>,
    parent_id: Option<String>,
    service: Option<String>,
    operation: Option<String>,
    /// A service (or operation) of this many characters, each two bytes.
    service_chars: Option<usize>,
    operation_chars: Option<usize>,
    #[serde(default)]
    start_ms: i64,
    #[serde(default)]
    start_ns: i64,
    duration_ms: Option<i64>,
    #[serde(default)]
    error: bool,
    /// This many tags `k0`..; each value `tag-value-chars` characters long
    /// (default 8).
    #[serde(default)]
    tags: usize,
    tag_value_chars: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ListSpec {
    /// Relative to now, in ms (default a day before).
    after_ms: Option<i64>,
    /// Relative to now, in ms (default 1 ms after: now included).
    before_ms: Option<i64>,
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepSpec {
    advance_ms: Option<u64>,
    ingest: Option<Vec<Spanned<SpanSpec>>>,
    /// A batch of this many valid spans, each a root of its own trace.
    ingest_roots: Option<u32>,
    list: Option<ListSpec>,
    /// A trace by label, or by raw id.
    get: Option<String>,
    get_id: Option<String>,
    expect: Option<Expect>,
}

/// What a scripted step expects of every store (the reference included).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    pub ok: Option<bool>,
    /// The error, as `invalid-span(2, end-before-start)`.
    pub error: Option<String>,
    /// The traces listed, by label, in order.
    pub traces: Option<Vec<String>>,
    /// Their span counts, in order.
    pub counts: Option<Vec<u32>>,
    pub errors: Option<Vec<bool>>,
    pub total: Option<u32>,
    /// The spans of a trace, by label, in order.
    pub spans: Option<Vec<String>>,
}

/// The UUID the host gives a label (a trace's, or a span's within its
/// trace): sha256 of the label, as a version-4 UUID in lowercase.
pub fn uuid_of(label: &str) -> String {
    uuid_from(
        Sha256::digest(label.as_bytes())[..16]
            .try_into()
            .expect("16 bytes"),
    )
}

fn span_uuid(trace: &str, span: &str) -> String {
    uuid_of(&format!("{trace}/{span}"))
}

fn uuid_from(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl Expect {
    /// The first way `output` falls short, as "expected X, got Y".
    /// `trace_labels`: the scenario's trace UUIDs back to their labels.
    pub fn mismatch(
        &self,
        output: &Output,
        trace_labels: &BTreeMap<String, String>,
    ) -> Option<String> {
        let error = match output {
            Output::Ingested(Err(e)) | Output::Page(Err(e)) | Output::Trace(Err(e)) => Some(e),
            _ => None,
        };
        if let Some(expected) = &self.error {
            return (error != Some(expected))
                .then(|| format!("expected error {expected}, got {output}"));
        }
        if self.ok == Some(true) && error.is_some() {
            return Some(format!("expected success, got {output}"));
        }
        if let Output::Page(Ok((traces, total))) = output {
            if let Some(labels) = &self.traces {
                let want: Vec<String> = labels.iter().map(|l| uuid_of(l)).collect();
                let got: Vec<&str> = traces.iter().map(|t| t.trace_id.as_str()).collect();
                if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
                    let named: Vec<String> = labels
                        .iter()
                        .zip(&want)
                        .map(|(label, id)| format!("{label} = {}", super::model::short(id)))
                        .collect();
                    return Some(format!(
                        "expected traces [{}], got {output}",
                        named.join(", ")
                    ));
                }
            }
            if let Some(counts) = &self.counts {
                let got: Vec<u32> = traces.iter().map(|t| t.span_count).collect();
                if &got != counts {
                    return Some(format!("expected span counts {counts:?}, got {got:?}"));
                }
            }
            if let Some(errors) = &self.errors {
                let got: Vec<bool> = traces.iter().map(|t| t.error).collect();
                if &got != errors {
                    return Some(format!("expected error flags {errors:?}, got {got:?}"));
                }
            }
            if let Some(want) = self.total
                && want != *total
            {
                return Some(format!("expected total {want}, got {total}"));
            }
        } else if self.traces.is_some() || self.total.is_some() || self.counts.is_some() {
            return Some(format!("expected a page of traces, got {output}"));
        }
        if let Some(want) = &self.spans {
            let Output::Trace(Ok(spans)) = output else {
                return Some(format!("expected a trace, got {output}"));
            };
            let got: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
            let trace = spans
                .first()
                .and_then(|s| trace_labels.get(&*s.trace_id))
                .map_or("", String::as_str);
            let want_ids: Vec<String> = want.iter().map(|l| span_uuid(trace, l)).collect();
            if got != want_ids.iter().map(String::as_str).collect::<Vec<_>>() {
                return Some(format!("expected spans {want:?}, got {output}"));
            }
        }
        None
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GenerateSpec {
    /// How long the emitter runs, in virtual seconds.
    duration_s: u64,
    traces_per_sec: u64,
    /// Whole traces per batch (default 10).
    batch_traces: Option<u64>,
    /// The share of traces whose spans are shuffled (default 0.3).
    out_of_order: Option<f64>,
    /// The share of spans with status error (default 0.05).
    errors: Option<f64>,
    /// The share of traces whose root comes in the next batch (default 0.1).
    late_roots: Option<f64>,
    /// A burst at 4x the rate for `burst-s` seconds every `burst-every-s`.
    burst_every_s: Option<u64>,
    burst_s: Option<u64>,
    /// Queries every this many seconds (default 10).
    query_every_s: Option<u64>,
    /// Services spans come from (default 5).
    services: Option<u64>,
}

/// A loaded scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub description: String,
    pub seed: u64,
    pub plan: Plan<Op>,
    /// Expectations by call index, with the line they were written on.
    pub expectations: BTreeMap<usize, (Expect, usize)>,
    /// The scripted traces' UUIDs back to their labels.
    pub trace_labels: BTreeMap<String, String>,
}

fn chars(n: usize) -> String {
    "é".repeat(n)
}

impl Scenario {
    pub fn load(source: &Source, seed: Option<u64>) -> Result<Self> {
        let spec: Spec = source.parse()?;
        let seed = seed.unwrap_or(spec.seed);
        let mut actions = Vec::new();
        let mut expectations = BTreeMap::new();
        let mut calls = 0;
        let mut now_ms = spec.start_ms as i64;
        for step in &spec.steps {
            let span = step.span();
            let line = source.line_of(span.start);
            let s = step.get_ref();
            let err = |m: String| source.error_at_span(span.clone(), m);
            if let Some(ms) = s.advance_ms {
                actions.push(Action::Advance(ms));
                now_ms = now_ms.saturating_add(ms as i64);
            }
            let now_ns = now_ms.saturating_mul(NS_PER_MS);
            let mut ops = Vec::new();
            if let Some(batch) = &s.ingest {
                let spans = batch
                    .iter()
                    .map(|b| scripted_span(b.get_ref(), now_ns))
                    .collect();
                ops.push(Op::Ingest(Arc::new(spans)));
            }
            if let Some(n) = s.ingest_roots {
                let spans = (0..n)
                    .map(|i| {
                        scripted_span(
                            &SpanSpec {
                                trace: format!("filler-{i}"),
                                span: "root".into(),
                                ..SpanSpec::default()
                            },
                            now_ns,
                        )
                    })
                    .collect();
                ops.push(Op::Ingest(Arc::new(spans)));
            }
            if let Some(list) = &s.list {
                let at = |ms: i64| now_ns.saturating_add(ms.saturating_mul(NS_PER_MS));
                ops.push(Op::ListTraces {
                    after_ns: at(list.after_ms.unwrap_or(-DAY_MS)),
                    before_ns: at(list.before_ms.unwrap_or(1)),
                    limit: list.limit,
                });
            }
            if let Some(label) = &s.get {
                ops.push(Op::GetTrace {
                    trace_id: uuid_of(label),
                });
            }
            if let Some(id) = &s.get_id {
                ops.push(Op::GetTrace {
                    trace_id: id.clone(),
                });
            }
            if ops.len() > 1 {
                return Err(err("a step makes one call".into()));
            }
            let Some(op) = ops.pop() else {
                if s.expect.is_some() {
                    return Err(err("expect belongs to a step that calls the store".into()));
                }
                if s.advance_ms.is_none() {
                    return Err(err(
                        "empty step: give one of ingest, ingest-roots, list, get, get-id or advance-ms"
                            .into(),
                    ));
                }
                continue;
            };
            if let Some(expect) = &s.expect {
                expectations.insert(calls, (expect.clone(), line));
            }
            actions.push(Action::Call(op));
            calls += 1;
        }
        if let Some(generate) = &spec.generate {
            emit(source, generate, SeedTree::new(seed), now_ms, &mut actions)?;
        }
        // The expectations name spans by label under their trace's UUID.
        let trace_labels = spec
            .steps
            .iter()
            .flat_map(|step| step.get_ref().ingest.iter().flatten())
            .map(|span| {
                let t = &span.get_ref().trace;
                (uuid_of(t), t.clone())
            })
            .collect();
        Ok(Scenario {
            name: source.name.clone(),
            file: source.file.clone(),
            description: spec.description,
            seed,
            plan: Plan {
                start_ms: spec.start_ms,
                actions,
            },
            expectations,
            trace_labels,
        })
    }
}

fn scripted_span(s: &SpanSpec, now_ns: i64) -> Span {
    let start_ns = now_ns
        .saturating_add(s.start_ms.saturating_mul(NS_PER_MS))
        .saturating_add(s.start_ns);
    let duration = s.duration_ms.unwrap_or(10).saturating_mul(NS_PER_MS);
    let value = "v".repeat(s.tag_value_chars.unwrap_or(8));
    Span {
        trace_id: s
            .trace_id
            .clone()
            .unwrap_or_else(|| uuid_of(&s.trace))
            .into(),
        span_id: s
            .span_id
            .clone()
            .unwrap_or_else(|| span_uuid(&s.trace, &s.span)),
        parent_span_id: s
            .parent_id
            .clone()
            .or_else(|| s.parent.as_ref().map(|p| span_uuid(&s.trace, p))),
        service: match s.service_chars {
            Some(n) => chars(n).into(),
            None => s.service.as_deref().unwrap_or("api").into(),
        },
        operation: match s.operation_chars {
            Some(n) => chars(n).into(),
            None => s.operation.as_deref().unwrap_or("GET /orders").into(),
        },
        start_ns,
        end_ns: start_ns.saturating_add(duration),
        error: s.error,
        tags: (0..s.tags)
            .map(|i| (format!("k{i}"), value.clone()))
            .collect(),
    }
}

/// The span emitter: whole traces of a root and 1 to 4 children, batched;
/// some shuffled, some with their root in the next batch; bursts at 4x the
/// rate; queries now and then. Ends with the window's worth of silence and
/// a last look: every trace must be gone.
fn emit(
    source: &Source,
    generate: &Spanned<GenerateSpec>,
    seeds: SeedTree,
    start_ms: i64,
    actions: &mut Vec<Action<Op>>,
) -> Result<()> {
    let spec = generate.get_ref();
    let err = |m: String| source.error_at_span(generate.span(), m);
    if spec.duration_s == 0 || spec.duration_s > 86_400 {
        return Err(err("duration-s must be 1..=86400".into()));
    }
    if spec.traces_per_sec == 0 || spec.traces_per_sec > 100_000 {
        return Err(err("traces-per-sec must be 1..=100000".into()));
    }
    let share = |p: Option<f64>, default: f64, name: &str| {
        crate::scenario::share(p.unwrap_or(default), name).map_err(err)
    };
    let out_of_order = share(spec.out_of_order, 0.3, "out-of-order")?;
    let errors = share(spec.errors, 0.05, "errors")?;
    let late_roots = share(spec.late_roots, 0.1, "late-roots")?;
    let batch_traces = spec.batch_traces.unwrap_or(10).clamp(1, 100);
    let burst_every = spec.burst_every_s.unwrap_or(120).max(1) * 1_000;
    let burst = spec.burst_s.unwrap_or(10) * 1_000;
    let query_every = spec.query_every_s.unwrap_or(10).max(1) * 1_000;
    let services: Vec<Arc<str>> = (0..spec.services.unwrap_or(5).max(1))
        .map(|i| Arc::from(format!("service-{i}")))
        .collect();
    let operations: Vec<Arc<str>> = [
        "GET /orders",
        "POST /orders",
        "GET /users",
        "charge",
        "SELECT",
    ]
    .into_iter()
    .map(Arc::from)
    .collect();

    let mut rng = seeds.rng("emitter");
    let uuid = |rng: &mut rand::rngs::ChaCha8Rng| uuid_from(rng.random());
    let end_ms = start_ms + spec.duration_s as i64 * 1_000;
    let mut now = start_ms;
    let mut next_query = start_ms + query_every as i64;
    let mut held: Vec<Span> = Vec::new();
    let mut recent: Vec<Arc<str>> = Vec::new();
    while now < end_ms {
        let elapsed = (now - start_ms) as u64;
        let rate = if elapsed % burst_every < burst {
            spec.traces_per_sec * 4
        } else {
            spec.traces_per_sec
        };
        let gap = (batch_traces * 1_000 / rate).max(1);
        actions.push(Action::Advance(gap));
        now += gap as i64;
        let now_ns = now * NS_PER_MS;
        let mut batch = std::mem::take(&mut held);
        for _ in 0..batch_traces {
            let trace: Arc<str> = uuid(&mut rng).into();
            let root_id = uuid(&mut rng);
            let start = now_ns - rng.random_range(0..2_000 * NS_PER_MS);
            let length = rng.random_range(NS_PER_MS..500 * NS_PER_MS);
            let mut spans = vec![Span {
                trace_id: trace.clone(),
                span_id: root_id.clone(),
                parent_span_id: None,
                service: services[rng.random_range(0..services.len())].clone(),
                operation: operations[rng.random_range(0..operations.len())].clone(),
                start_ns: start,
                end_ns: start + length,
                error: rng.random_bool(errors),
                tags: vec![("http.status".into(), "200".into())],
            }];
            for _ in 0..rng.random_range(1..=4) {
                let offset = rng.random_range(0..length);
                let child_len = rng.random_range(0..=(length - offset));
                spans.push(Span {
                    trace_id: trace.clone(),
                    span_id: uuid(&mut rng),
                    parent_span_id: Some(root_id.clone()),
                    service: services[rng.random_range(0..services.len())].clone(),
                    operation: operations[rng.random_range(0..operations.len())].clone(),
                    start_ns: start + offset,
                    end_ns: start + offset + child_len,
                    error: rng.random_bool(errors),
                    tags: Vec::new(),
                });
            }
            if rng.random_bool(out_of_order) {
                spans.shuffle(&mut rng);
            }
            if rng.random_bool(late_roots) {
                let root = spans
                    .iter()
                    .position(|s| s.parent_span_id.is_none())
                    .expect("a root");
                held.push(spans.remove(root));
            }
            batch.extend(spans);
            recent.push(trace);
        }
        actions.push(Action::Call(Op::Ingest(Arc::new(batch))));
        if now >= next_query {
            next_query += query_every as i64;
            actions.push(Action::Call(Op::ListTraces {
                after_ns: now_ns - WINDOW_NS,
                before_ns: now_ns + 1,
                limit: None,
            }));
            actions.push(Action::Call(Op::ListTraces {
                after_ns: now_ns - rng.random_range(1..=60_000) * NS_PER_MS,
                before_ns: now_ns - rng.random_range(0..1_000) * NS_PER_MS,
                limit: Some(rng.random_range(1..=50)),
            }));
            let pick = recent
                .len()
                .saturating_sub(rng.random_range(1..=recent.len().min(500)));
            actions.push(Action::Call(Op::GetTrace {
                trace_id: recent[pick].to_string(),
            }));
            if recent.len() > 1_000 {
                recent.drain(..recent.len() - 1_000);
            }
        }
    }
    if !held.is_empty() {
        actions.push(Action::Call(Op::Ingest(Arc::new(held))));
    }
    // No traffic for a whole window: everything must be gone.
    actions.push(Action::Advance(WINDOW_NS as u64 / NS_PER_MS as u64 + 1_000));
    actions.push(Action::Call(Op::ListTraces {
        after_ns: 0,
        before_ns: i64::MAX,
        limit: Some(1_000),
    }));
    Ok(())
}
