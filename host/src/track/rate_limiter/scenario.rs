//! The rate-limiter scenario format (see `scenarios/README.md`) and its
//! compilation into a [`Plan`].

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::RngExt;
use serde::Deserialize;
use toml::Spanned;

use super::model::{Algorithm, CONFIG_ERROR_KINDS, Config, Decision, Op, Output, Policy, Tier};
use crate::error::Result;
use crate::scenario::{Common, DEFAULT_START_MS, HasCommon, Range, Source};
use crate::sim::{Action, Fault, Plan, SeedTree};

/// The most calls a generated workload may ask for.
const MAX_OPERATIONS: u64 = 10_000_000;
/// The most distinct keys a zipf or uniform workload may draw from.
const MAX_KEYS: u64 = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Spec {
    format: u32,
    description: String,
    seed: u64,
    #[serde(default = "default_start")]
    start_ms: u64,
    config: ConfigSpec,
    #[serde(default)]
    configs: BTreeMap<String, ConfigSpec>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigSpec {
    default_policy: String,
    #[serde(default)]
    policies: Vec<Spanned<PolicySpec>>,
    #[serde(default)]
    tiers: Vec<TierSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PolicySpec {
    name: String,
    token_bucket: Option<TokenBucketSpec>,
    fixed_window: Option<WindowSpec>,
    sliding_log: Option<WindowSpec>,
    sliding_counter: Option<WindowSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TokenBucketSpec {
    capacity: u64,
    refill_per_sec: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct WindowSpec {
    limit: u64,
    window_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TierSpec {
    prefix: String,
    policy: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepSpec {
    advance_ms: Option<u64>,
    check: Option<String>,
    cost: Option<u64>,
    repeat: Option<u64>,
    configure: Option<String>,
    expect: Option<Expect>,
    step_clock_ms: Option<i64>,
    freeze_clock: Option<bool>,
    unfreeze_clock: Option<bool>,
}

/// What a scripted step expects of every plugin (the reference included).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    pub allowed: Option<bool>,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset_ms: Option<u64>,
    pub retry_after_ms: Option<u64>,
    pub ok: Option<bool>,
    pub error: Option<String>,
}

impl Expect {
    /// The first field `output` gets wrong, as "field: expected X, got Y".
    pub fn mismatch(&self, output: &Output) -> Option<String> {
        match output {
            Output::Decision(d) => self.decision_mismatch(d),
            Output::Configured(result) => {
                if let Some(ok) = self.ok
                    && ok != result.is_ok()
                {
                    return Some(format!("expected ok = {ok}, got {output}"));
                }
                if let Some(kind) = &self.error {
                    match result {
                        Err(e) if &e.kind == kind => None,
                        _ => Some(format!("expected error {kind}, got {output}")),
                    }
                } else {
                    None
                }
            }
        }
    }

    fn decision_mismatch(&self, d: &Decision) -> Option<String> {
        let fields = [
            ("allowed", self.allowed.map(u64::from), u64::from(d.allowed)),
            ("limit", self.limit, d.limit),
            ("remaining", self.remaining, d.remaining),
            ("reset-ms", self.reset_ms, d.reset_ms),
            ("retry-after-ms", self.retry_after_ms, d.retry_after_ms),
        ];
        fields.iter().find_map(|(name, want, got)| match want {
            Some(want) if want != got => Some(format!(
                "{name}: expected {}, got {}",
                show(name, *want),
                show(name, *got)
            )),
            _ => None,
        })
    }
}

fn show(field: &str, v: u64) -> String {
    match field {
        "allowed" => (v == 1).to_string(),
        _ if v == u64::MAX => "never".to_string(),
        _ => v.to_string(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GenerateSpec {
    operations: u64,
    keys: u64,
    distribution: Distribution,
    zipf_exponent: Option<f64>,
    #[serde(default)]
    key_prefixes: Vec<String>,
    cost: Option<Range>,
    interval_ms: Option<Range>,
    #[serde(default)]
    faults: Vec<Spanned<GeneratedFault>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Distribution {
    Zipf,
    Uniform,
    Unique,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GeneratedFault {
    at_op: u64,
    step_clock_ms: Option<i64>,
    freeze_clock_ops: Option<u64>,
}

/// A loaded scenario: its plan and the expectations of its scripted calls.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub description: String,
    pub seed: u64,
    pub plan: Plan<Op>,
    /// Expectations by call index, with the line they were written on.
    pub expectations: BTreeMap<usize, (Expect, usize)>,
}

impl Scenario {
    /// Parses and compiles a scenario file. `seed` overrides the file's.
    pub fn load(source: &Source, seed: Option<u64>) -> Result<Self> {
        let spec: Spec = source.parse()?;
        let seed = seed.unwrap_or(spec.seed);
        let main = compile_config(source, "config", &spec.config)?;
        let mut configs = BTreeMap::new();
        for (name, config) in &spec.configs {
            configs.insert(name.clone(), compile_config(source, name, config)?);
        }

        let mut actions = vec![Action::Call(Op::Configure {
            name: "config".to_string(),
            config: Box::new(main),
        })];
        let mut calls = 1;
        let mut expectations = BTreeMap::new();
        for step in &spec.steps {
            let span = step.span();
            let line = source.line_of(span.start);
            let step = step.get_ref();
            let err = |message: String| source.error_at_span(span.clone(), message);
            if let Some(ms) = step.advance_ms {
                actions.push(Action::Advance(ms));
            }
            let chosen: Vec<&str> = [
                ("check", step.check.is_some()),
                ("configure", step.configure.is_some()),
                ("step-clock-ms", step.step_clock_ms.is_some()),
                ("freeze-clock", step.freeze_clock.is_some()),
                ("unfreeze-clock", step.unfreeze_clock.is_some()),
            ]
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
            if chosen.len() > 1 {
                return Err(err(format!(
                    "a step has one action, this one has {}",
                    chosen.join(" and ")
                )));
            }
            if chosen.is_empty() && step.advance_ms.is_none() {
                return Err(err(
                    "empty step: give one of check, configure, step-clock-ms, freeze-clock, unfreeze-clock or advance-ms".to_string(),
                ));
            }
            if step.check.is_none() && (step.cost.is_some() || step.repeat.is_some()) {
                return Err(err("cost and repeat belong to a check step".to_string()));
            }
            if step.expect.is_some() && step.check.is_none() && step.configure.is_none() {
                return Err(err(
                    "expect belongs to a check or configure step".to_string()
                ));
            }
            if let Some(expect) = &step.expect {
                validate_expect(expect, step.check.is_some()).map_err(err)?;
            }
            if let Some(key) = &step.check {
                let repeat = step.repeat.unwrap_or(1);
                if repeat == 0 || repeat > MAX_OPERATIONS {
                    return Err(err(format!("repeat must be 1..={MAX_OPERATIONS}")));
                }
                let key: Arc<str> = Arc::from(key.as_str());
                for _ in 0..repeat {
                    if let Some(expect) = &step.expect {
                        expectations.insert(calls, (expect.clone(), line));
                    }
                    actions.push(Action::Call(Op::Check {
                        key: key.clone(),
                        cost: step.cost.unwrap_or(1),
                    }));
                    calls += 1;
                }
            } else if let Some(name) = &step.configure {
                let Some(config) = configs.get(name) else {
                    return Err(err(format!(
                        "no configuration named {name:?} (define it under [configs.{name}])"
                    )));
                };
                if let Some(expect) = &step.expect {
                    expectations.insert(calls, (expect.clone(), line));
                }
                actions.push(Action::Call(Op::Configure {
                    name: name.clone(),
                    config: Box::new(config.clone()),
                }));
                calls += 1;
            } else if let Some(ms) = step.step_clock_ms {
                actions.push(Action::Fault(Fault::StepClock { ms }));
            } else if let Some(freeze) = step.freeze_clock {
                if !freeze {
                    return Err(err("freeze-clock can only be true".to_string()));
                }
                actions.push(Action::Fault(Fault::FreezeClock));
            } else if let Some(unfreeze) = step.unfreeze_clock {
                if !unfreeze {
                    return Err(err("unfreeze-clock can only be true".to_string()));
                }
                actions.push(Action::Fault(Fault::UnfreezeClock));
            }
        }
        if let Some(generate) = &spec.generate {
            generate_workload(source, generate, SeedTree::new(seed), &mut actions)?;
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
        })
    }
}

fn validate_expect(expect: &Expect, is_check: bool) -> Result<(), String> {
    let decision_fields = expect.allowed.is_some()
        || expect.limit.is_some()
        || expect.remaining.is_some()
        || expect.reset_ms.is_some()
        || expect.retry_after_ms.is_some();
    let config_fields = expect.ok.is_some() || expect.error.is_some();
    if is_check && config_fields {
        return Err(
            "a check's expect takes allowed, limit, remaining, reset-ms, retry-after-ms".into(),
        );
    }
    if !is_check && decision_fields {
        return Err("a configure's expect takes ok or error".into());
    }
    if let Some(kind) = &expect.error
        && !CONFIG_ERROR_KINDS.contains(&kind.as_str())
    {
        return Err(format!(
            "unknown config error {kind:?} (one of: {})",
            CONFIG_ERROR_KINDS.join(", ")
        ));
    }
    Ok(())
}

/// Turns a configuration table into the model. Only the shape is checked
/// here: whether the values are acceptable is the plugin's to say.
fn compile_config(source: &Source, name: &str, spec: &ConfigSpec) -> Result<Config> {
    let mut policies = Vec::new();
    for policy in &spec.policies {
        let span = policy.span();
        let p = policy.get_ref();
        let mut algorithms = Vec::new();
        if let Some(tb) = &p.token_bucket {
            algorithms.push(Algorithm::TokenBucket {
                capacity: tb.capacity,
                refill_per_sec: tb.refill_per_sec,
            });
        }
        for (window, make) in [
            (&p.fixed_window, 0),
            (&p.sliding_log, 1),
            (&p.sliding_counter, 2),
        ] {
            if let Some(w) = window {
                let (limit, window_ms) = (w.limit, w.window_ms);
                algorithms.push(match make {
                    0 => Algorithm::FixedWindow { limit, window_ms },
                    1 => Algorithm::SlidingLog { limit, window_ms },
                    _ => Algorithm::SlidingCounter { limit, window_ms },
                });
            }
        }
        if algorithms.len() != 1 {
            return Err(source.error_at_span(
                span,
                format!(
                    "policy {:?} in [{name}] needs exactly one of token-bucket, fixed-window, sliding-log, sliding-counter",
                    p.name
                ),
            ));
        }
        policies.push(Policy {
            name: p.name.clone(),
            algorithm: algorithms.remove(0),
        });
    }
    Ok(Config {
        policies,
        tiers: spec
            .tiers
            .iter()
            .map(|t| Tier {
                prefix: t.prefix.clone(),
                policy: t.policy.clone(),
            })
            .collect(),
        default_policy: spec.default_policy.clone(),
    })
}

fn generate_workload(
    source: &Source,
    generate: &Spanned<GenerateSpec>,
    seeds: SeedTree,
    actions: &mut Vec<Action<Op>>,
) -> Result<()> {
    let span = generate.span();
    let spec = generate.get_ref();
    let err = |message: String| source.error_at_span(span.clone(), message);
    if spec.operations == 0 || spec.operations > MAX_OPERATIONS {
        return Err(err(format!("operations must be 1..={MAX_OPERATIONS}")));
    }
    if spec.distribution != Distribution::Unique && (spec.keys == 0 || spec.keys > MAX_KEYS) {
        return Err(err(format!("keys must be 1..={MAX_KEYS}")));
    }
    let cost = spec.cost.unwrap_or(Range { min: 1, max: 1 });
    let interval = spec.interval_ms.unwrap_or(Range { min: 0, max: 0 });
    for (name, range) in [("cost", cost), ("interval-ms", interval)] {
        if range.min > range.max {
            return Err(err(format!("{name}: min is above max")));
        }
    }
    let exponent = spec.zipf_exponent.unwrap_or(1.0);
    if !(exponent.is_finite() && exponent > 0.0) {
        return Err(err("zipf-exponent must be a positive number".to_string()));
    }

    // Faults, by the index of the generated call they precede.
    let mut faults: BTreeMap<u64, Vec<Fault>> = BTreeMap::new();
    for fault in &spec.faults {
        let f = fault.get_ref();
        let ferr = |message: String| source.error_at_span(fault.span(), message);
        if f.at_op >= spec.operations {
            return Err(ferr(format!(
                "at-op {} is past the last operation",
                f.at_op
            )));
        }
        match (f.step_clock_ms, f.freeze_clock_ops) {
            (Some(ms), None) => faults
                .entry(f.at_op)
                .or_default()
                .push(Fault::StepClock { ms }),
            (None, Some(ops)) => {
                faults.entry(f.at_op).or_default().push(Fault::FreezeClock);
                let end = f.at_op.saturating_add(ops).min(spec.operations);
                faults.entry(end).or_default().push(Fault::UnfreezeClock);
            }
            _ => {
                return Err(ferr(
                    "a fault has exactly one of step-clock-ms, freeze-clock-ops".to_string(),
                ));
            }
        }
    }

    let mut rng = seeds.rng("workload");
    let zipf = (spec.distribution == Distribution::Zipf).then(|| zipf_cdf(spec.keys, exponent));
    for i in 0..spec.operations {
        if let Some(faults) = faults.get(&i) {
            actions.extend(faults.iter().cloned().map(Action::Fault));
        }
        let gap = rng.random_range(interval.min..=interval.max);
        if gap > 0 {
            actions.push(Action::Advance(gap));
        }
        let index = match (&zipf, spec.distribution) {
            (Some(cdf), _) => sample(cdf, rng.random::<f64>()),
            (None, Distribution::Uniform) => rng.random_range(0..spec.keys),
            _ => i,
        };
        let key = match spec.key_prefixes.len() {
            0 => format!("user-{index}"),
            n => format!(
                "{}user-{index}",
                spec.key_prefixes[(index % n as u64) as usize]
            ),
        };
        actions.push(Action::Call(Op::Check {
            key: Arc::from(key),
            cost: rng.random_range(cost.min..=cost.max),
        }));
    }
    if let Some(faults) = faults.get(&spec.operations) {
        actions.extend(faults.iter().cloned().map(Action::Fault));
    }
    Ok(())
}

/// The cumulative distribution of a Zipf law over `n` ranks. `libm`'s
/// portable `pow` keeps it identical on every platform.
fn zipf_cdf(n: u64, exponent: f64) -> Vec<f64> {
    let mut cdf = Vec::with_capacity(n as usize);
    let mut total = 0.0;
    for rank in 1..=n {
        total += 1.0 / libm::pow(rank as f64, exponent);
        cdf.push(total);
    }
    for c in &mut cdf {
        *c /= total;
    }
    cdf
}

fn sample(cdf: &[f64], u: f64) -> u64 {
    cdf.partition_point(|&c| c < u).min(cdf.len() - 1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn load(text: &str) -> Result<Scenario> {
        let source = Source {
            name: "t".into(),
            file: "t.toml".into(),
            text: text.into(),
        };
        Scenario::load(&source, None)
    }

    const HEAD: &str = "format = 1\ndescription = \"d\"\nseed = 3\n[config]\ndefault-policy = \"p\"\n[[config.policies]]\nname = \"p\"\nfixed-window = { limit = 2, window-ms = 10 }\n";

    fn error_line(result: Result<Scenario>) -> (usize, String) {
        match result {
            Err(Error::Scenario { line, message, .. }) => (line, message),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("the scenario loaded"),
        }
    }

    #[test]
    fn a_scripted_scenario_compiles_to_a_plan_with_expectations() {
        let s = load(&format!(
            "{HEAD}[[steps]]\nadvance-ms = 5\ncheck = \"k\"\nrepeat = 2\nexpect = {{ allowed = true }}\n[[steps]]\nstep-clock-ms = -3\n"
        ))
        .unwrap();
        assert_eq!(s.plan.call_count(), 3);
        assert_eq!(s.expectations.len(), 2);
        assert_eq!(s.expectations[&1].1, 9, "the line of the step's [[steps]]");
        assert!(matches!(
            s.plan.actions.last(),
            Some(Action::Fault(Fault::StepClock { ms: -3 }))
        ));
    }

    #[test]
    fn a_step_with_two_actions_is_refused_at_its_line() {
        let text = format!("{HEAD}[[steps]]\ncheck = \"k\"\nstep-clock-ms = 5\n");
        let (line, message) = error_line(load(&text));
        assert_eq!(line, 9, "the line of the step's [[steps]]");
        assert!(message.contains("check and step-clock-ms"), "{message}");
    }

    #[test]
    fn a_policy_with_no_algorithm_is_refused_at_its_line() {
        let text = "format = 1\ndescription = \"d\"\nseed = 3\n[config]\ndefault-policy = \"p\"\n\n[[config.policies]]\nname = \"p\"\n";
        let (line, message) = error_line(load(text));
        assert_eq!(line, 7);
        assert!(message.contains("exactly one of token-bucket"), "{message}");
    }

    #[test]
    fn an_unknown_config_error_kind_is_refused() {
        let text = format!(
            "{HEAD}[configs.x]\ndefault-policy = \"q\"\n[[steps]]\nconfigure = \"x\"\nexpect = {{ error = \"zero-capcity\" }}\n"
        );
        let (_, message) = error_line(load(&text));
        assert!(
            message.contains("unknown config error \"zero-capcity\""),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_format_version_is_refused() {
        let text = HEAD.replace("format = 1", "format = 2");
        let (line, message) = error_line(load(&text));
        assert_eq!(line, 1);
        assert!(message.contains("unsupported format 2"), "{message}");
    }

    #[test]
    fn a_fault_past_the_workload_is_refused() {
        let text = format!(
            "{HEAD}[generate]\noperations = 10\nkeys = 2\ndistribution = \"uniform\"\n[[generate.faults]]\nat-op = 10\nstep-clock-ms = 1\n"
        );
        let (line, message) = error_line(load(&text));
        assert_eq!(line, 13);
        assert!(message.contains("past the last operation"), "{message}");
    }

    #[test]
    fn generated_workloads_follow_the_seed() {
        let text = format!(
            "{HEAD}[generate]\noperations = 1000\nkeys = 50\ndistribution = \"zipf\"\ninterval-ms = {{ min = 0, max = 3 }}\n"
        );
        let source = Source {
            name: "t".into(),
            file: "t.toml".into(),
            text,
        };
        let a = Scenario::load(&source, Some(1)).unwrap();
        let b = Scenario::load(&source, Some(1)).unwrap();
        let c = Scenario::load(&source, Some(2)).unwrap();
        assert_eq!(a.plan, b.plan);
        assert_ne!(a.plan, c.plan);
        assert_eq!(a.plan.call_count(), 1001);
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let cdf = zipf_cdf(100, 1.2);
        assert!((cdf[99] - 1.0).abs() < 1e-12);
        assert_eq!(sample(&cdf, 0.0), 0);
        assert_eq!(sample(&cdf, 1.0), 99);
        assert!(cdf[0] > 0.1);
    }
}
