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
use crate::diff::list_mismatch;
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
    /// Raw ids instead of the labels' UUIDs (to send invalid ones, or to
    /// choose how ids compare).
    trace_id: Option<String>,
    span_id: Option<String>,
    parent_id: Option<String>,
    /// The case each id is sent in (default as it is: a label's UUID is
    /// lowercase).
    trace_case: Option<IdCase>,
    span_case: Option<IdCase>,
    parent_case: Option<IdCase>,
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

/// The case of an id's hex letters.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum IdCase {
    Lower,
    Upper,
    /// Every other letter in uppercase, from the first.
    Mixed,
    /// Every other letter in uppercase, from the second.
    Mixed2,
}

impl IdCase {
    fn apply(self, id: &str) -> String {
        let mut letters = 0;
        id.chars()
            .map(|c| {
                if !c.is_ascii_alphabetic() {
                    return c;
                }
                letters += 1;
                let upper = match self {
                    IdCase::Lower => false,
                    IdCase::Upper => true,
                    IdCase::Mixed => letters % 2 == 1,
                    IdCase::Mixed2 => letters % 2 == 0,
                };
                if upper {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }
}

fn cased(id: String, case: Option<IdCase>) -> String {
    match case {
        Some(case) => case.apply(&id),
        None => id,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ListSpec {
    /// Relative to now, in ms (default a day before).
    after_ms: Option<i64>,
    /// Relative to now, in ms (default 1 ms after: now included).
    before_ms: Option<i64>,
    /// Absolute, in ns, instead of `after-ms` (to send a negative one).
    after_ns: Option<i64>,
    /// Absolute, in ns, instead of `before-ms`.
    before_ns: Option<i64>,
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
    /// The case the label's UUID is asked in.
    get_case: Option<IdCase>,
    expect: Option<Expect>,
}

/// What a scripted step expects of every store (the reference included).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    pub ok: Option<bool>,
    /// The error, as `invalid-span(2, end-before-start)`.
    pub error: Option<String>,
    /// The traces listed, by label, in order (ids compared
    /// case-insensitively: how a summary spells its id is
    /// `exact-summaries`' business).
    pub traces: Option<Vec<String>>,
    /// Their span counts, in order.
    pub counts: Option<Vec<u32>>,
    pub errors: Option<Vec<bool>>,
    pub total: Option<u32>,
    /// The spans of a trace, by label, in order (ids compared
    /// case-insensitively).
    pub spans: Option<Vec<String>>,
}

/// The scripted traces' and spans' ids (lowercase) back to their labels.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    pub traces: BTreeMap<String, String>,
    /// By (trace id, span id).
    pub spans: BTreeMap<(String, String), String>,
}

impl Labels {
    fn trace(&self, id: &str) -> String {
        self.traces
            .get(&id.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| super::model::short(id))
    }

    fn span(&self, trace_id: &str, span_id: &str) -> String {
        self.spans
            .get(&(trace_id.to_ascii_lowercase(), span_id.to_ascii_lowercase()))
            .cloned()
            .unwrap_or_else(|| super::model::short(span_id))
    }
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
    /// `labels`: the scenario's ids back to their labels.
    pub fn mismatch(&self, output: &Output, labels: &Labels) -> Option<String> {
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
            if let Some(want) = &self.traces {
                let got: Vec<String> = traces.iter().map(|t| labels.trace(&t.trace_id)).collect();
                if let Some(m) = list_mismatch(want, &got) {
                    return Some(format!("the traces {m}"));
                }
            }
            if let Some(counts) = &self.counts {
                let got: Vec<u32> = traces.iter().map(|t| t.span_count).collect();
                if let Some(m) = list_mismatch(counts, &got) {
                    return Some(format!("the span counts {m}"));
                }
            }
            if let Some(errors) = &self.errors {
                let got: Vec<bool> = traces.iter().map(|t| t.error).collect();
                if let Some(m) = list_mismatch(errors, &got) {
                    return Some(format!("the error flags {m}"));
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
            let got: Vec<String> = spans
                .iter()
                .map(|s| labels.span(&s.trace_id, &s.span_id))
                .collect();
            if let Some(m) = list_mismatch(want, &got) {
                return Some(format!("the spans {m}"));
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
    /// A burst at `burst-traces-per-sec` (default 4x the rate) for
    /// `burst-s` seconds every `burst-every-s`, from the start of each wave.
    burst_every_s: Option<u64>,
    burst_s: Option<u64>,
    burst_traces_per_sec: Option<u64>,
    /// Traffic in waves: spans for the first `wave-s` seconds of every
    /// `wave-every-s`, none in between (queries go on). Default: one wave,
    /// the whole duration.
    wave_s: Option<u64>,
    wave_every_s: Option<u64>,
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
    /// The scripted traces' and spans' ids back to their labels.
    pub labels: Labels,
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
                if list.after_ns.is_some() && list.after_ms.is_some()
                    || list.before_ns.is_some() && list.before_ms.is_some()
                {
                    return Err(err("give an end as -ms or as -ns, not both".into()));
                }
                let at = |ms: i64| now_ns.saturating_add(ms.saturating_mul(NS_PER_MS));
                ops.push(Op::ListTraces {
                    after_ns: list
                        .after_ns
                        .unwrap_or_else(|| at(list.after_ms.unwrap_or(-DAY_MS))),
                    before_ns: list
                        .before_ns
                        .unwrap_or_else(|| at(list.before_ms.unwrap_or(1))),
                    limit: list.limit,
                });
            }
            if s.get_case.is_some() && s.get.is_none() {
                return Err(err("get-case belongs with get".into()));
            }
            if let Some(label) = &s.get {
                ops.push(Op::GetTrace {
                    trace_id: cased(uuid_of(label), s.get_case),
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
        // The expectations name traces and spans by label, whatever ids
        // (or cases) they were sent with.
        let mut labels = Labels::default();
        for span in spec
            .steps
            .iter()
            .flat_map(|step| step.get_ref().ingest.iter().flatten())
        {
            let spec = span.get_ref();
            let sent = scripted_span(spec, 0);
            let trace = sent.trace_id.to_ascii_lowercase();
            labels
                .traces
                .entry(trace.clone())
                .or_insert_with(|| spec.trace.clone());
            labels
                .spans
                .entry((trace, sent.span_id.to_ascii_lowercase()))
                .or_insert_with(|| spec.span.clone());
        }
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
            labels,
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
        trace_id: cased(
            s.trace_id.clone().unwrap_or_else(|| uuid_of(&s.trace)),
            s.trace_case,
        )
        .into(),
        span_id: cased(
            s.span_id
                .clone()
                .unwrap_or_else(|| span_uuid(&s.trace, &s.span)),
            s.span_case,
        ),
        parent_span_id: s
            .parent_id
            .clone()
            .or_else(|| s.parent.as_ref().map(|p| span_uuid(&s.trace, p)))
            .map(|p| cased(p, s.parent_case)),
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
/// some shuffled, some with their root in the next batch; bursts (at 4x the
/// rate unless told); in waves if told, with no spans between them; queries
/// now and then, between waves too. Ends with the window's worth of silence
/// and a last look: every trace must be gone.
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
    let burst_rate = spec.burst_traces_per_sec.unwrap_or(spec.traces_per_sec * 4);
    if burst_rate == 0 || burst_rate > 100_000 {
        return Err(err("burst-traces-per-sec must be 1..=100000".into()));
    }
    let duration = spec.duration_s * 1_000;
    let (wave, wave_every) = match (spec.wave_s, spec.wave_every_s) {
        (None, None) => (duration, duration),
        (Some(wave), Some(every)) if 0 < wave && wave < every => (wave * 1_000, every * 1_000),
        _ => {
            return Err(err(
                "wave-s and wave-every-s go together, 0 < wave-s < wave-every-s".into(),
            ));
        }
    };
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
        let phase = (now - start_ms) as u64 % wave_every;
        if phase >= wave {
            // Between waves: the roots still held go now, then time passes
            // to the next query or wave with no traffic.
            if !held.is_empty() {
                actions.push(Action::Call(Op::Ingest(Arc::new(std::mem::take(
                    &mut held,
                )))));
            }
            let to = (now + (wave_every - phase) as i64)
                .min(next_query)
                .min(end_ms);
            actions.push(Action::Advance((to - now) as u64));
            now = to;
            if now >= next_query {
                next_query += query_every as i64;
                query(&mut rng, now * NS_PER_MS, &recent, actions);
            }
            continue;
        }
        let rate = if phase % burst_every < burst {
            burst_rate
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
            query(&mut rng, now_ns, &recent, actions);
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

/// The queries the emitter makes every `query-every-s`: a whole-window
/// listing, a short-range one with a small limit, and a get-trace of one of
/// the last 500 traces emitted.
fn query(
    rng: &mut rand::rngs::ChaCha8Rng,
    now_ns: i64,
    recent: &[Arc<str>],
    actions: &mut Vec<Action<Op>>,
) {
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
    if recent.is_empty() {
        return;
    }
    let pick = recent
        .len()
        .saturating_sub(rng.random_range(1..=recent.len().min(500)));
    actions.push(Action::Call(Op::GetTrace {
        trace_id: recent[pick].to_string(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Scenario {
        let source = Source {
            name: "test".into(),
            file: "test.toml".into(),
            text: text.into(),
        };
        Scenario::load(&source, None).unwrap()
    }

    #[test]
    fn id_cases() {
        let id = "ca978112-ca1b-4dca-bac2-31b39a23dc4d";
        assert_eq!(IdCase::Upper.apply(id), id.to_uppercase());
        assert_eq!(IdCase::Lower.apply(&id.to_uppercase()), id);
        assert_eq!(
            IdCase::Mixed.apply(id),
            "Ca978112-Ca1B-4dCa-BaC2-31b39A23dC4d"
        );
        assert_eq!(
            IdCase::Mixed2.apply(id),
            "cA978112-cA1b-4DcA-bAc2-31B39a23Dc4D"
        );
    }

    #[test]
    fn waves_send_no_spans_between_them_and_the_held_roots_at_their_end() {
        let scenario = load(
            r#"
format = 1
description = "waves"
seed = 1
[generate]
duration-s = 300
traces-per-sec = 100
burst-traces-per-sec = 250
burst-every-s = 60
burst-s = 10
wave-s = 30
wave-every-s = 100
batch-traces = 50
late-roots = 0.5
"#,
        );
        let start = DEFAULT_START_MS as i64;
        let mut now = start;
        let (mut spans, mut roots) = (0, 0);
        for action in &scenario.plan.actions {
            match action {
                Action::Advance(ms) => now += *ms as i64,
                Action::Call(Op::Ingest(batch)) => {
                    assert!(batch.len() <= 500, "{}", batch.len());
                    let phase = (now - start) % 100_000;
                    // A wave's last batch (one gap of 500 ms past its
                    // start at most), then the held roots with it.
                    assert!(phase <= 30_500 || now >= start + 300_000, "{phase}");
                    spans += batch.len();
                    roots += batch.iter().filter(|s| s.parent_span_id.is_none()).count();
                }
                _ => {}
            }
        }
        // Three waves: 10 s at 250/s and 20 s at 100/s each.
        assert_eq!(roots, 3 * (2_500 + 2_000));
        assert!(spans > 3 * roots, "{spans}");
        // Queries go on between waves.
        let queries_in_lulls = scenario
            .plan
            .actions
            .iter()
            .scan(start, |now, a| {
                if let Action::Advance(ms) = a {
                    *now += *ms as i64;
                }
                Some((*now, a))
            })
            .filter(|(now, a)| {
                matches!(a, Action::Call(Op::ListTraces { .. }))
                    && (now - start) % 100_000 > 30_000
                    && *now < start + 300_000
            })
            .count();
        assert!(queries_in_lulls >= 3 * 6, "{queries_in_lulls}");
    }

    #[test]
    fn waves_go_together() {
        let source = Source {
            name: "test".into(),
            file: "test.toml".into(),
            text: "format = 1\ndescription = \"d\"\nseed = 1\n[generate]\nduration-s = 10\ntraces-per-sec = 1\nwave-s = 5\n".into(),
        };
        assert!(Scenario::load(&source, None).is_err());
    }
}
