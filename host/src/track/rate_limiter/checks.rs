//! The rate-limiter track's invariants, computed by the host from its own
//! model of the calls and the plugin's answers, never from the reference.
//!
//! - `completes`: the run finished without a trap, fuel or memory abort.
//! - `expectations`: every scripted expectation holds.
//! - `never-over-limit`: the allowed requests fit the policy in every window.
//! - `honest-retry-after`: a denied request retried at now + retry-after is
//!   allowed, and 1 ms earlier is not (probed in fresh instances).
//! - `independent-keys`: a key alone gets the decisions it got among others.
//! - `right-tier`: every decision reports its tier's policy limit.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rand::RngExt;

use super::LimiterDriver;
use super::model::{Algorithm, Config, Decision, NEVER, Op, Output};
use super::scenario::Scenario;
use crate::check::CheckResult;
use crate::sandbox::{Abort, FuelPool, Sandbox, VirtualClock};
use crate::sim::{Action, Driver, History, Plan, SeedTree};

pub const COMPLETES: &str = crate::check::COMPLETES;
pub const EXPECTATIONS: &str = "expectations";
pub const NEVER_OVER_LIMIT: &str = "never-over-limit";
pub const HONEST_RETRY_AFTER: &str = "honest-retry-after";
pub const INDEPENDENT_KEYS: &str = "independent-keys";
pub const RIGHT_TIER: &str = "right-tier";

/// The most retry-after probes per scenario, and the most calls they replay.
const MAX_PROBES: usize = 16;
const PROBE_BUDGET: usize = 40_000;
/// The keys replayed alone per scenario, and the most calls they replay.
const MAX_ALONE_KEYS: usize = 6;
const ALONE_BUDGET: usize = 60_000;
/// Scenarios with at most this many keys have every key replayed alone.
const ALL_KEYS_UP_TO: usize = 32;

/// A map for lookups by key over a million keys, where a `BTreeMap`'s string
/// comparisons dominate. Its hasher (Fx) is fixed, with no OS entropy, and no
/// result depends on its iteration order.
type LookupMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// The indices in `views` of the checks of each of `keys`, in order, found
/// in one pass (a replay per key would otherwise rescan a million calls).
fn positions<'a>(
    views: &[View<'a>],
    keys: impl IntoIterator<Item = &'a str>,
) -> LookupMap<&'a str, Vec<usize>> {
    let mut positions: LookupMap<&str, Vec<usize>> =
        keys.into_iter().map(|key| (key, Vec::new())).collect();
    for (i, view) in views.iter().enumerate() {
        if let Op::Check { key, .. } = view.op
            && let Some(found) = positions.get_mut(&**key)
        {
            found.push(i);
        }
    }
    positions
}

/// One call as the checks see it.
pub struct View<'a> {
    pub call: usize,
    /// The clock reading during the call.
    pub time_ms: u64,
    /// The limiter's effective time: the greatest reading any check saw so far.
    pub effective_ms: u64,
    pub op: &'a Op,
    pub output: &'a Output,
    /// The configuration in force (the last one the plugin accepted), and the
    /// call that installed it.
    pub config: Option<(usize, &'a Config)>,
}

/// Joins the plan's calls with the outputs the plugin returned.
pub fn views<'a>(plan: &'a Plan<Op>, history: &'a History<Output>) -> Vec<View<'a>> {
    let mut views = Vec::new();
    let mut config: Option<(usize, &Config)> = None;
    let mut high_water = 0;
    for (entry, call, output) in history.returned() {
        let time_ms = entry.time_ms;
        let Some(Action::Call(op)) = plan.actions.get(entry.step) else {
            continue;
        };
        if let Op::Check { .. } = op {
            high_water = high_water.max(time_ms);
        }
        views.push(View {
            call,
            time_ms,
            effective_ms: high_water.max(time_ms),
            op,
            output,
            config,
        });
        if let (Op::Configure { config: c, .. }, Output::Configured(Ok(()))) = (op, output) {
            config = Some((call, c));
        }
    }
    views
}

fn decision_of<'a>(view: &View<'a>) -> Option<(&'a Arc<str>, u64, &'a Decision)> {
    match (view.op, view.output) {
        (Op::Check { key, cost }, Output::Decision(d)) => Some((key, *cost, d)),
        _ => None,
    }
}

pub fn completes(plan: &Plan<Op>, history: &History<Output>) -> CheckResult {
    crate::check::completes(plan, history, "calls")
}

pub fn expectations(scenario: &Scenario, views: &[View]) -> CheckResult {
    let mut checked = 0;
    for (call, (expect, line)) in &scenario.expectations {
        // Views are in call order.
        let Ok(i) = views.binary_search_by_key(call, |v| v.call) else {
            continue;
        };
        let view = &views[i];
        checked += 1;
        if let Some(mismatch) = expect.mismatch(view.output) {
            return CheckResult::fail(
                EXPECTATIONS,
                Some(*call),
                format!(
                    "{}:{line}: call {call} {}: {mismatch}",
                    scenario.file, view.op
                ),
            );
        }
    }
    CheckResult::pass(EXPECTATIONS, format!("{checked} expectations held"))
}

/// The host's model of what the allowed requests of one key have used.
enum Usage {
    /// Milli-tokens left and when they were counted.
    Bucket { level: u128, at: u64 },
    /// Cost allowed per fixed window index.
    Fixed { window: u64, used: u64 },
    /// Allowed (time, cost) in the sliding window.
    Log {
        entries: VecDeque<(u64, u64)>,
        used: u64,
    },
    /// Cost allowed in the current and previous aligned windows.
    Counter { window: u64, cur: u64, prev: u64 },
}

pub fn never_over_limit(views: &[View]) -> CheckResult {
    let mut usage: LookupMap<&str, Usage> = LookupMap::default();
    let mut current_config = None;
    let mut allowed = 0u64;
    for view in views {
        let Some((key, cost, decision)) = decision_of(view) else {
            continue;
        };
        if current_config != view.config.map(|c| c.0) {
            usage.clear();
            current_config = view.config.map(|c| c.0);
        }
        let Some((_, config)) = view.config else {
            continue;
        };
        if !decision.allowed || cost == 0 {
            continue;
        }
        allowed += 1;
        let Some((policy, _)) = config.policy_for(key) else {
            continue;
        };
        if !policy.algorithm.is_valid() {
            // The contract refuses this policy (a zero window, say), so there
            // is no limit to keep: accepting it is for the expectations and
            // the diff to report.
            continue;
        }
        let t = view.effective_ms;
        let over = match policy.algorithm {
            Algorithm::TokenBucket {
                capacity,
                refill_per_sec,
            } => {
                let full = capacity as u128 * 1000;
                let u = usage
                    .entry(key)
                    .or_insert(Usage::Bucket { level: full, at: t });
                let Usage::Bucket { level, at } = u else {
                    unreachable!()
                };
                *level = (*level + refill_per_sec as u128 * (t - *at) as u128).min(full);
                *at = t;
                let need = cost as u128 * 1000;
                if need > *level {
                    Some(format!(
                        "allowed cost {cost} with {}.{:03} tokens available (token bucket: capacity {capacity}, refill {refill_per_sec}/s)",
                        *level / 1000,
                        *level % 1000
                    ))
                } else {
                    *level -= need;
                    None
                }
            }
            Algorithm::FixedWindow { limit, window_ms } => {
                let window = t / window_ms;
                let u = usage.entry(key).or_insert(Usage::Fixed { window, used: 0 });
                let Usage::Fixed { window: w, used } = u else {
                    unreachable!()
                };
                if *w != window {
                    (*w, *used) = (window, 0);
                }
                *used = used.saturating_add(cost);
                (*used > limit).then(|| {
                    format!(
                        "allowed {used} in the fixed window [{}, {}) (limit {limit})",
                        window * window_ms,
                        (window + 1).saturating_mul(window_ms)
                    )
                })
            }
            Algorithm::SlidingLog { limit, window_ms } => {
                let u = usage.entry(key).or_insert(Usage::Log {
                    entries: VecDeque::new(),
                    used: 0,
                });
                let Usage::Log { entries, used } = u else {
                    unreachable!()
                };
                while let Some(&(at, c)) = entries.front() {
                    if at.saturating_add(window_ms) <= t {
                        entries.pop_front();
                        *used -= c;
                    } else {
                        break;
                    }
                }
                entries.push_back((t, cost));
                *used = used.saturating_add(cost);
                (*used > limit).then(|| {
                    format!(
                        "allowed {used} in the sliding window ({}, {t}] (limit {limit})",
                        t.saturating_sub(window_ms)
                    )
                })
            }
            Algorithm::SlidingCounter { limit, window_ms } => {
                let window = t / window_ms;
                let u = usage.entry(key).or_insert(Usage::Counter {
                    window,
                    cur: 0,
                    prev: 0,
                });
                let Usage::Counter {
                    window: w,
                    cur,
                    prev,
                } = u
                else {
                    unreachable!()
                };
                if *w != window {
                    *prev = if window == *w + 1 { *cur } else { 0 };
                    (*w, *cur) = (window, 0);
                }
                *cur = cur.saturating_add(cost);
                let e = (t - window * window_ms) as u128;
                let w = window_ms as u128;
                let estimate = *prev as u128 * (w - e) + *cur as u128 * w;
                (estimate > limit as u128 * w).then(|| {
                    format!(
                        "allowed a weighted count of {}.{:03} (previous window {prev}, current {cur}; limit {limit})",
                        estimate / w,
                        estimate % w * 1000 / w
                    )
                })
            }
        };
        if let Some(why) = over {
            return CheckResult::fail(
                NEVER_OVER_LIMIT,
                Some(view.call),
                format!(
                    "call {} {} at {} ms: {why}",
                    view.call, view.op, view.time_ms
                ),
            );
        }
    }
    CheckResult::pass(
        NEVER_OVER_LIMIT,
        format!("{allowed} allowed requests within their limits"),
    )
}

pub fn right_tier(views: &[View]) -> CheckResult {
    let mut decisions = 0;
    for view in views {
        let Some((key, _, decision)) = decision_of(view) else {
            continue;
        };
        decisions += 1;
        let expected = view
            .config
            .and_then(|(_, c)| c.policy_for(key))
            .map(|(p, tier)| {
                (
                    p.algorithm.limit(),
                    p.name.as_str(),
                    tier.map(|t| t.prefix.as_str()),
                )
            });
        let (limit, what) = match expected {
            Some((limit, policy, Some(prefix))) => (
                limit,
                format!("tier {prefix:?} maps it to policy {policy:?}, limit {limit}"),
            ),
            Some((limit, policy, None)) => (
                limit,
                format!("no tier matches, so the default policy {policy:?} applies, limit {limit}"),
            ),
            None => (
                0,
                "no configuration is in force, so the limit is 0".to_string(),
            ),
        };
        if decision.limit != limit {
            return CheckResult::fail(
                RIGHT_TIER,
                Some(view.call),
                format!(
                    "call {} {}: the decision says limit {}, but {what}",
                    view.call, view.op, decision.limit
                ),
            );
        }
    }
    CheckResult::pass(
        RIGHT_TIER,
        format!("{decisions} decisions carried their tier's limit"),
    )
}

/// What the probing checks replay with: the plugin, the scenario's seeds,
/// and one fuel budget for all their replays.
pub struct Probes<'a> {
    pub sandbox: &'a Sandbox,
    pub seeds: SeedTree,
    pub fuel: FuelPool,
}

/// Runs `calls` (reading, op) in a fresh instance and returns the outputs.
async fn replay(probes: &Probes<'_>, calls: &[(u64, Op)]) -> Result<Vec<Output>, Abort> {
    let clock = VirtualClock::default();
    clock.set_ms(calls.first().map_or(0, |c| c.0));
    let mut driver =
        LimiterDriver::new(probes.sandbox, &probes.seeds, &clock, &probes.fuel).await?;
    let mut outputs = Vec::with_capacity(calls.len());
    for (time, op) in calls {
        clock.set_ms(*time);
        outputs.push(driver.call(op).await.1?);
    }
    Ok(outputs)
}

/// The calls that rebuild `key`'s state alone: the configuration in force
/// and the key's earlier checks since, each at its effective time.
fn solo_calls(views: &[View], positions: &[usize], upto: usize) -> Vec<(u64, Op)> {
    let target = &views[upto];
    let mut calls = Vec::new();
    if let Some((config_call, config)) = target.config {
        let at = views
            .iter()
            .find(|v| v.call == config_call)
            .map_or(target.effective_ms, |v| v.effective_ms);
        calls.push((
            at,
            Op::Configure {
                name: "config".into(),
                config: Box::new(config.clone()),
            },
        ));
    }
    calls.extend(
        same_config(views, positions, upto).map(|view| (view.effective_ms, view.op.clone())),
    );
    calls
}

/// The views at `positions` up to `upto` made under the configuration in
/// force at `upto`.
fn same_config<'v, 'a>(
    views: &'v [View<'a>],
    positions: &'v [usize],
    upto: usize,
) -> impl Iterator<Item = &'v View<'a>> {
    let config = views[upto].config.map(|c| c.0);
    positions
        .iter()
        .take_while(move |&&i| i <= upto)
        .map(move |&i| &views[i])
        .filter(move |view| view.config.map(|c| c.0) == config)
}

pub async fn honest_retry_after(probes: &Probes<'_>, views: &[View<'_>]) -> CheckResult {
    // First what needs no probe: allowed means 0, "never" means cost > limit.
    let mut denied = Vec::new();
    for (i, view) in views.iter().enumerate() {
        let Some((key, cost, d)) = decision_of(view) else {
            continue;
        };
        let limit = view
            .config
            .and_then(|(_, c)| c.policy_for(key))
            .map(|(p, _)| p.algorithm.limit());
        let fail = |why: String| {
            CheckResult::fail(
                HONEST_RETRY_AFTER,
                Some(view.call),
                format!("call {} {}: {why}", view.call, view.op),
            )
        };
        if d.allowed && d.retry_after_ms != 0 {
            return fail(format!(
                "allowed, yet retry-after-ms is {}",
                d.retry_after_ms
            ));
        }
        if d.allowed {
            continue;
        }
        match limit {
            Some(limit) if cost > limit && d.retry_after_ms != NEVER => {
                return fail(format!(
                    "cost {cost} exceeds the limit {limit}, so no retry can succeed, yet retry-after-ms is {}",
                    d.retry_after_ms
                ));
            }
            Some(limit) if cost <= limit && d.retry_after_ms == NEVER => {
                return fail(format!(
                    "cost {cost} fits the limit {limit}, yet retry-after-ms says never"
                ));
            }
            Some(limit) if cost <= limit && d.retry_after_ms == 0 => {
                return fail("denied, yet retry-after-ms is 0".to_string());
            }
            Some(limit) if cost <= limit => denied.push(i),
            _ => {}
        }
    }
    // Then probe a spread of denied decisions: replay the key alone up to the
    // decision, then ask again 1 ms before and at the promised time.
    let stride = denied.len().div_ceil(MAX_PROBES).max(1);
    let mut budget = PROBE_BUDGET;
    let mut probed = 0;
    let probed_keys = positions(
        views,
        denied
            .iter()
            .step_by(stride)
            .filter_map(|&i| decision_of(&views[i]).map(|(key, ..)| &**key)),
    );
    for &i in denied.iter().step_by(stride) {
        let view = &views[i];
        let (key, cost, d) = decision_of(view).expect("a denied decision");
        let mut calls = solo_calls(views, &probed_keys[&**key], i);
        if calls.len() + 2 > budget {
            continue;
        }
        budget -= calls.len() + 2;
        let at = view.effective_ms;
        let when = if view.time_ms == at {
            format!("at {at} ms")
        } else {
            format!(
                "at {at} ms (the limiter's time; the clock read {} ms)",
                view.time_ms
            )
        };
        let retry = d.retry_after_ms;
        let early = at.saturating_add(retry - 1);
        let on_time = at.saturating_add(retry);
        let check = Op::Check {
            key: key.clone(),
            cost,
        };
        calls.push((early, check.clone()));
        calls.push((on_time, check));
        let Ok(outputs) = replay(probes, &calls).await else {
            continue; // Aborts are the run's to report.
        };
        let n = outputs.len();
        if outputs[n - 3] != *view.output {
            continue; // The key is not independent: `independent-keys` says so.
        }
        let (Output::Decision(before), Output::Decision(after)) =
            (&outputs[n - 2], &outputs[n - 1])
        else {
            continue;
        };
        probed += 1;
        if retry > 1 && before.allowed {
            return CheckResult::fail(
                HONEST_RETRY_AFTER,
                Some(view.call),
                format!(
                    "call {} {} {when} was denied with retry-after-ms {retry}, but the same request was already allowed at {early} ms (1 ms earlier): retry-after is too long",
                    view.call, view.op
                ),
            );
        }
        if !after.allowed {
            return CheckResult::fail(
                HONEST_RETRY_AFTER,
                Some(view.call),
                format!(
                    "call {} {} {when} was denied with retry-after-ms {retry}, but retrying at {on_time} ms was denied again: {after}",
                    view.call, view.op
                ),
            );
        }
    }
    CheckResult::pass(
        HONEST_RETRY_AFTER,
        format!(
            "{} denials, {probed} probed by retrying at the promised time",
            denied.len()
        ),
    )
}

pub async fn independent_keys(probes: &Probes<'_>, views: &[View<'_>]) -> CheckResult {
    // Calls per key, and the keys in order of first appearance.
    let mut counts: LookupMap<&str, usize> = LookupMap::default();
    let mut keys: Vec<&str> = Vec::new();
    for view in views {
        if let Op::Check { key, .. } = view.op {
            let count = counts.entry(key).or_insert_with(|| {
                keys.push(key);
                0
            });
            *count += 1;
        }
    }
    if keys.len() < 2 {
        return CheckResult::pass(INDEPENDENT_KEYS, "fewer than two keys: nothing to compare");
    }
    // Every key of a small scenario; else the busiest keys (ties by name),
    // then a seeded pick of the others.
    if keys.len() <= ALL_KEYS_UP_TO {
        keys.sort_unstable();
        return compare_alone(probes, views, keys).await;
    }
    let busiest_first = |a: &&str, b: &&str| counts[b].cmp(&counts[a]).then(a.cmp(b));
    let mut busiest = keys.clone();
    let top = MAX_ALONE_KEYS / 2;
    busiest.select_nth_unstable_by(top - 1, busiest_first);
    busiest.truncate(top);
    busiest.sort_unstable_by(busiest_first);
    let mut chosen = busiest;
    let rest: Vec<&str> = keys.into_iter().filter(|k| !chosen.contains(k)).collect();
    let mut rng = probes.seeds.rng("independent-keys");
    for _ in 0..(MAX_ALONE_KEYS - chosen.len()).min(rest.len()) {
        let pick = rest[rng.random_range(0..rest.len())];
        if !chosen.contains(&pick) {
            chosen.push(pick);
        }
    }
    compare_alone(probes, views, chosen).await
}

/// Replays each of `keys` alone and compares its decisions with the run's.
async fn compare_alone(probes: &Probes<'_>, views: &[View<'_>], keys: Vec<&str>) -> CheckResult {
    let mut budget = ALONE_BUDGET;
    let mut compared = 0;
    let positions = positions(views, keys.iter().copied());
    for key in keys {
        let positions = &positions[key];
        // Replay the key alone, configuration by configuration: for each
        // configuration in force, the index of the key's last check under it.
        let segments: BTreeMap<Option<usize>, usize> = positions
            .iter()
            .map(|&i| (views[i].config.map(|c| c.0), i))
            .collect();
        for end in segments.into_values() {
            let calls = solo_calls(views, positions, end);
            if calls.len() > budget {
                continue;
            }
            budget -= calls.len();
            let Ok(outputs) = replay(probes, &calls).await else {
                continue;
            };
            // Pair the replayed checks with the in-run ones.
            let in_run: Vec<&View> = same_config(views, positions, end).collect();
            let skip = outputs.len() - in_run.len();
            for (view, alone) in in_run.iter().zip(&outputs[skip..]) {
                compared += 1;
                if alone != view.output {
                    return CheckResult::fail(
                        INDEPENDENT_KEYS,
                        Some(view.call),
                        format!(
                            "call {} {} at {} ms got {} among the other keys, but {} when the key was alone: state leaks between keys",
                            view.call, view.op, view.time_ms, view.output, alone
                        ),
                    );
                }
            }
        }
    }
    CheckResult::pass(
        INDEPENDENT_KEYS,
        format!("{compared} decisions matched a replay of their key alone"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Entry, Event, Outcome};

    fn config(algorithm: Algorithm) -> Config {
        Config {
            policies: vec![
                super::super::model::Policy {
                    name: "p".into(),
                    algorithm,
                },
                super::super::model::Policy {
                    name: "gold".into(),
                    algorithm: Algorithm::FixedWindow {
                        limit: 100,
                        window_ms: 1_000,
                    },
                },
            ],
            tiers: vec![super::super::model::Tier {
                prefix: "gold:".into(),
                policy: "gold".into(),
            }],
            default_policy: "p".into(),
        }
    }

    fn decision(allowed: bool, limit: u64) -> Output {
        Output::Decision(Decision {
            allowed,
            limit,
            remaining: 0,
            reset_ms: 0,
            retry_after_ms: if allowed { 0 } else { 1 },
        })
    }

    /// A plan of (advance, key, cost) checks after a configure, and a history
    /// that answers them with `outputs`.
    fn run(
        algorithm: Algorithm,
        calls: &[(u64, &str, u64)],
        outputs: Vec<Output>,
    ) -> (Plan<Op>, History<Output>) {
        let mut actions = vec![Action::Call(Op::Configure {
            name: "config".into(),
            config: Box::new(config(algorithm)),
        })];
        for (advance, key, cost) in calls {
            actions.push(Action::Advance(*advance));
            actions.push(Action::Call(Op::Check {
                key: Arc::from(*key),
                cost: *cost,
            }));
        }
        let plan = Plan {
            start_ms: 0,
            actions,
        };
        let outputs: Vec<Output> = std::iter::once(Output::Configured(Ok(())))
            .chain(outputs)
            .collect();
        let history = history_for(&plan, outputs);
        (plan, history)
    }

    /// The history of a run of `plan` that answered its calls with
    /// `outputs`, each at the step and clock reading the plan gives it.
    fn history_for(plan: &Plan<Op>, outputs: Vec<Output>) -> History<Output> {
        let mut history = History::default();
        let mut clock = crate::sim::SimClock::new(plan.start_ms);
        let mut outputs = outputs.into_iter();
        let mut call = 0;
        for (step, action) in plan.actions.iter().enumerate() {
            match action {
                Action::Advance(ms) => clock.advance(*ms),
                Action::Fault(fault) => clock.apply(fault),
                Action::Call(_) => {
                    let Some(output) = outputs.next() else { break };
                    history.entries.push(Entry {
                        step,
                        time_ms: clock.reading(),
                        event: Event::Call {
                            call,
                            fuel: 0,
                            outcome: Outcome::Returned(output),
                            span: None,
                        },
                    });
                    call += 1;
                }
            }
        }
        history
    }

    #[test]
    fn never_over_limit_catches_each_algorithm_allowing_one_too_many() {
        let window = |limit, window_ms| (limit, window_ms);
        let (l, w) = window(2, 1_000);
        for algorithm in [
            Algorithm::TokenBucket {
                capacity: 2,
                refill_per_sec: 1,
            },
            Algorithm::FixedWindow {
                limit: l,
                window_ms: w,
            },
            Algorithm::SlidingLog {
                limit: l,
                window_ms: w,
            },
            Algorithm::SlidingCounter {
                limit: l,
                window_ms: w,
            },
        ] {
            let calls = [(0, "k", 1), (0, "k", 1), (10, "k", 1)];
            let ok = run(
                algorithm.clone(),
                &calls,
                vec![decision(true, 2), decision(true, 2), decision(false, 2)],
            );
            let result = never_over_limit(&views(&ok.0, &ok.1));
            assert_eq!(
                result.status,
                crate::check::Status::Pass,
                "{algorithm:?}: {result:?}"
            );
            let over = run(algorithm.clone(), &calls, vec![decision(true, 2); 3]);
            let result = never_over_limit(&views(&over.0, &over.1));
            assert_eq!(result.status, crate::check::Status::Fail, "{algorithm:?}");
            assert_eq!(result.call, Some(3));
        }
    }

    #[test]
    fn right_tier_wants_the_longest_prefix_policy_limit() {
        let algorithm = Algorithm::FixedWindow {
            limit: 5,
            window_ms: 1_000,
        };
        let calls = [(0, "gold:ann", 1), (0, "bob", 1)];
        let good = run(
            algorithm.clone(),
            &calls,
            vec![decision(true, 100), decision(true, 5)],
        );
        assert_eq!(
            right_tier(&views(&good.0, &good.1)).status,
            crate::check::Status::Pass
        );
        let bad = run(
            algorithm,
            &calls,
            vec![decision(true, 5), decision(true, 5)],
        );
        let result = right_tier(&views(&bad.0, &bad.1));
        assert_eq!(result.status, crate::check::Status::Fail);
        assert!(
            result.message.contains("tier \"gold:\""),
            "{}",
            result.message
        );
    }

    #[test]
    fn a_refused_policy_accepted_by_a_plugin_does_not_break_the_checks() {
        // A plugin that accepts a zero window must not make the host divide
        // by zero: the policy has no limit to hold.
        for algorithm in [
            Algorithm::FixedWindow {
                limit: 1,
                window_ms: 0,
            },
            Algorithm::SlidingCounter {
                limit: 1,
                window_ms: 0,
            },
            Algorithm::SlidingLog {
                limit: 1,
                window_ms: u64::MAX,
            },
        ] {
            let calls = [(0, "k", 1), (5, "k", 1)];
            let (plan, history) = run(algorithm, &calls, vec![decision(true, 1); 2]);
            let result = never_over_limit(&views(&plan, &history));
            assert_eq!(result.status, crate::check::Status::Pass, "{result:?}");
        }
    }

    #[test]
    fn views_track_the_effective_time_across_a_step_back() {
        let (mut plan, _) = run(
            Algorithm::FixedWindow {
                limit: 5,
                window_ms: 1_000,
            },
            &[(100, "a", 1), (0, "a", 1)],
            vec![],
        );
        plan.actions
            .insert(3, Action::Fault(crate::sim::Fault::StepClock { ms: -50 }));
        let history = history_for(
            &plan,
            vec![
                Output::Configured(Ok(())),
                decision(true, 5),
                decision(true, 5),
            ],
        );
        let views = views(&plan, &history);
        assert_eq!(views[2].time_ms, 50);
        assert_eq!(views[2].effective_ms, 100);
    }
}
