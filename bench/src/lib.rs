//! Fixtures for gauntlet's own benchmarks (`benches/gauntlet/`): the
//! reference components in sandboxes as the host builds them, the plans and
//! workloads they are driven with, a bare typed caller to compare the
//! harness against, and the pooling-allocator engine.
//!
//! Nothing here reads the wall clock: timing is criterion's.

use std::sync::Arc;

use gauntlet::bindings::rate_limiter::{Plugin, PluginPre};
use gauntlet::engine::ComponentCache;
use gauntlet::sandbox::{HostState, Limits, Sandbox, VirtualClock};
use gauntlet::sim::{Action, Plan, SeedTree};
use gauntlet::track::rate_limiter::model::{Algorithm, Config, Op, Policy};
use gauntlet::track::{Track, job_queue, payments, rate_limiter};
use reference_rate_limiter::core;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

/// The clock reading the benchmarks' own plans start at.
pub const START_MS: u64 = gauntlet::scenario::DEFAULT_START_MS;

/// The fuel a bare caller's store gets once: it never runs out.
const BARE_FUEL: u64 = 1 << 62;

/// A current-thread runtime, as `gauntlet::runner` drives its runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
}

/// A track's embedded reference, compiled by `engine` (no on-disk cache)
/// and linked with the host's linker and default limits: what `gauntlet
/// test` runs against.
pub fn reference_sandbox(engine: Engine, track: &str) -> Sandbox {
    let cache = ComponentCache::new(engine, None);
    let track = Track::named(track).expect("a known track");
    gauntlet::plugin::load_reference(&cache, track, Limits::default())
        .expect("the embedded reference loads")
        .sandbox
}

/// The host's engine configuration with the pooling instance allocator:
/// room for `instances` live component instances, each memory capped at the
/// sandbox's default 64 MiB. Everything else is `gauntlet::engine::config`.
pub fn pooling_engine(instances: u32) -> Engine {
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(instances)
        // A wasip2 component holds a handful of core instances and tables
        // (the program, the WASI adapter, the shims) and one memory.
        .total_core_instances(instances * 8)
        .total_tables(instances * 8)
        .total_memories(instances * 2)
        .total_stacks(instances)
        .max_memory_size(Limits::default().memory_bytes);
    let mut config = gauntlet::engine::config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config).expect("the pooling configuration is valid")
}

/// A fixed window whose limit is never reached: every check is allowed and
/// does the least work a check can.
pub fn trivial_config() -> Config {
    Config {
        policies: vec![Policy {
            name: "all".to_string(),
            algorithm: Algorithm::FixedWindow {
                limit: rate_limiter::model::MAX_VALUE,
                window_ms: 1_000,
            },
        }],
        tiers: Vec::new(),
        default_policy: "all".to_string(),
    }
}

/// `configure(trivial_config())`, then `calls` checks of one key, cost 1,
/// all at the same clock reading.
pub fn trivial_plan(calls: usize) -> Plan<Op> {
    let key: Arc<str> = Arc::from("k");
    let mut actions = Vec::with_capacity(calls + 1);
    actions.push(Action::Call(Op::Configure {
        name: "config".to_string(),
        config: Box::new(trivial_config()),
    }));
    actions.extend((0..calls).map(|_| {
        Action::Call(Op::Check {
            key: key.clone(),
            cost: 1,
        })
    }));
    Plan {
        start_ms: START_MS,
        actions,
    }
}

/// The embedded rate-limiter scenario `name`, compiled with its own seed.
pub fn rate_limiter_scenario(name: &str) -> rate_limiter::scenario::Scenario {
    let track = Track::named(rate_limiter::NAME).expect("a known track");
    let source = track
        .select_scenarios(Some(name))
        .expect("an embedded scenario")
        .remove(0);
    rate_limiter::scenario::Scenario::load(&source, None).expect("the scenario compiles")
}

/// The embedded payment-gateway scenario `name`, compiled with its own seed.
pub fn payments_scenario(name: &str) -> payments::scenario::Scenario {
    let track = Track::named(payments::NAME).expect("a known track");
    let source = track
        .select_scenarios(Some(name))
        .expect("an embedded scenario")
        .remove(0);
    payments::scenario::Scenario::load(&source, None).expect("the scenario compiles")
}

/// The embedded job-queue scenario `name`, compiled with its own seed;
/// with `concurrency`, that text appended as its `[concurrency]` section
/// (the same calls, served by replicas).
pub fn job_queue_scenario(name: &str, concurrency: Option<&str>) -> job_queue::scenario::Scenario {
    let track = Track::named(job_queue::NAME).expect("a known track");
    let mut source = track
        .select_scenarios(Some(name))
        .expect("an embedded scenario")
        .remove(0);
    if let Some(section) = concurrency {
        source.text = format!("{}\n[concurrency]\n{section}\n", source.text);
    }
    job_queue::scenario::Scenario::load(&source, None).expect("the scenario compiles")
}

/// The workload's own time a plan moves through (its `Advance`s; injected
/// clock steps are not simulated time).
pub fn advanced_ms<Op>(plan: &Plan<Op>) -> u64 {
    plan.actions
        .iter()
        .map(|a| match a {
            Action::Advance(ms) => *ms,
            _ => 0,
        })
        .sum()
}

/// One check of a stream: the clock reading it sees, the key, the cost.
pub type Check = (u64, Arc<str>, u64);

/// A plan's configuration and its first `n` checks, each with the clock
/// reading the plugin sees during it (faults applied). The plan must start
/// with its one `configure`.
pub fn check_stream(plan: &Plan<Op>, n: usize) -> (Config, Vec<Check>) {
    let calls = plan.calls();
    let Some((_, Op::Configure { config, .. })) = calls.first() else {
        panic!("the plan does not start with configure");
    };
    let checks: Vec<Check> = calls[1..]
        .iter()
        .map(|(now, op)| match op {
            Op::Check { key, cost } => (*now, key.clone(), *cost),
            Op::Configure { .. } => panic!("a second configure in the stream"),
        })
        .take(n)
        .collect();
    assert_eq!(checks.len(), n, "the plan has fewer than {n} checks");
    ((**config).clone(), checks)
}

/// The host's model of a configuration as the reference core's.
pub fn to_core(config: &Config) -> core::Config {
    core::Config {
        policies: config
            .policies
            .iter()
            .map(|p| core::Policy {
                name: p.name.clone(),
                algorithm: match p.algorithm {
                    Algorithm::TokenBucket {
                        capacity,
                        refill_per_sec,
                    } => core::Algorithm::TokenBucket(core::TokenBucket {
                        capacity,
                        refill_per_sec,
                    }),
                    Algorithm::FixedWindow { limit, window_ms } => {
                        core::Algorithm::FixedWindow(core::Window { limit, window_ms })
                    }
                    Algorithm::SlidingLog { limit, window_ms } => {
                        core::Algorithm::SlidingLog(core::Window { limit, window_ms })
                    }
                    Algorithm::SlidingCounter { limit, window_ms } => {
                        core::Algorithm::SlidingCounter(core::Window { limit, window_ms })
                    }
                },
            })
            .collect(),
        tiers: config
            .tiers
            .iter()
            .map(|t| core::Tier {
                prefix: t.prefix.clone(),
                policy: t.policy.clone(),
            })
            .collect(),
        default_policy: config.default_policy.clone(),
    }
}

/// The reference core compiled for the host, configured.
pub fn native_limiter(config: &Config) -> core::Limiter {
    let mut limiter = core::Limiter::new();
    limiter
        .configure(to_core(config))
        .expect("the configuration is valid");
    limiter
}

/// A digest of a stream of decisions, so that the work cannot be optimised
/// away and two runs can be compared without keeping every decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest(u64);

impl Digest {
    fn add(&mut self, allowed: bool, remaining: u64, retry_after_ms: u64) {
        for v in [u64::from(allowed), remaining, retry_after_ms] {
            self.0 = (self.0 ^ v).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Runs `checks` on the natively compiled core.
pub fn run_native(limiter: &mut core::Limiter, checks: &[Check]) -> Digest {
    let mut digest = Digest::default();
    for (now, key, cost) in checks {
        let d = limiter.check(key, *cost, *now);
        digest.add(d.allowed, d.remaining, d.retry_after_ms);
    }
    digest
}

/// A rate-limiter instance called directly through the host's typed
/// bindings: the sandbox's store and linker, but no simulator, no fuel
/// accounting per call and no history.
pub struct Bare {
    pub store: Store<HostState>,
    pub plugin: Plugin,
    pub clock: VirtualClock,
}

impl Bare {
    /// Instantiates the sandbox's component and configures it.
    pub async fn new(sandbox: &Sandbox, config: &Config) -> Bare {
        let clock = VirtualClock::default();
        clock.set_ms(START_MS);
        let mut store = sandbox.new_store(&SeedTree::new(0), &clock);
        store.set_fuel(BARE_FUEL).expect("fuel is enabled");
        let pre = PluginPre::new(sandbox.instance_pre().clone()).expect("a rate-limiter component");
        let plugin = pre
            .instantiate_async(&mut store)
            .await
            .expect("the reference instantiates");
        plugin
            .gauntlet_rate_limiter_limiter()
            .call_configure(&mut store, &config.to_wit())
            .await
            .expect("configure returns")
            .expect("the configuration is valid");
        Bare {
            store,
            plugin,
            clock,
        }
    }

    /// One typed `check` call.
    pub async fn check(&mut self, key: &str, cost: u64) -> bool {
        self.plugin
            .gauntlet_rate_limiter_limiter()
            .call_check(&mut self.store, key, cost)
            .await
            .expect("check returns")
            .allowed
    }

    /// Runs `checks`, setting the virtual clock before each as the
    /// simulator does; the same digest as [`run_native`].
    pub async fn run(&mut self, checks: &[Check]) -> Digest {
        let limiter = self.plugin.gauntlet_rate_limiter_limiter();
        let mut digest = Digest::default();
        for (now, key, cost) in checks {
            self.clock.set_ms(*now);
            let d = limiter
                .call_check(&mut self.store, key, *cost)
                .await
                .expect("check returns");
            digest.add(d.allowed, d.remaining, d.retry_after_ms);
        }
        digest
    }
}

/// This process's virtual and resident memory, in KiB (Linux; zeros
/// elsewhere): what a pooling allocator's reservation costs.
pub fn process_memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmSize:"), field("VmRSS:"))
}
