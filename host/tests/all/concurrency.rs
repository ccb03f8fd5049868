//! gauntlet's scheduler (`gauntlet::sched`) drives real wasmtime calls: two
//! instances of a component, each called at once, interleave at the durable
//! store's imports in the order a seeded strategy picks, and the same seed
//! gives the same order and the same answers.

use gauntlet::bindings::jobs::{PluginPre, queue};
use gauntlet::sandbox::VirtualClock;
use gauntlet::sched::{Executor, StrategySpec};
use gauntlet::sim::SeedTree;

use crate::common::reference;

fn spec(kind: &str) -> queue::JobSpec {
    queue::JobSpec {
        kind: kind.into(),
        payload: String::new(),
        priority: 0,
        max_attempts: 3,
        backoff: queue::Backoff {
            base_ms: 1_000,
            cap_ms: 60_000,
        },
        schedule: queue::Schedule::Now,
        dedup_key: None,
    }
}

/// Two job-queue instances (each with its own durable store), each
/// enqueueing three jobs in one task, interleaved by `strategy`: the
/// scheduler's trace and every id each got.
fn run(strategy: &StrategySpec, seed: u64) -> (Vec<usize>, Vec<Vec<String>>) {
    let queue = reference("job-queue");
    let seeds = SeedTree::new(seed);
    let mut strategy = strategy.build(&seeds);
    let mut executor = Executor::tracing();
    for replica in 0..2 {
        let sandbox = &queue.sandbox;
        executor.spawn(strategy.as_mut(), async move {
            let clock = VirtualClock::default();
            clock.set_ms(1_700_000_000_000);
            let mut store = sandbox.new_store(&seeds, &clock);
            store.data_mut().park_at_imports(true);
            let pre = PluginPre::new(sandbox.instance_pre().clone()).unwrap();
            let plugin = pre.instantiate_async(&mut store).await.unwrap();
            let mut ids = Vec::new();
            for job in 0..3 {
                let kind = format!("replica-{replica}-job-{job}");
                let id = plugin
                    .gauntlet_jobs_queue()
                    .call_enqueue(&mut store, &spec(&kind))
                    .await
                    .unwrap()
                    .unwrap();
                ids.push(id);
            }
            ids
        });
    }
    let ids = executor
        .run(strategy.as_mut(), &VirtualClock::default())
        .expect("no call stalls");
    (executor.trace, ids)
}

#[test]
fn two_instances_interleave_at_store_imports_in_the_seeds_order() {
    let uniform = StrategySpec::Uniform;
    let (trace, ids) = run(&uniform, 3);
    // Each replica's queue is its own: the same ids, whatever the order.
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0].len(), 3);
    // Both parked at imports, and the scheduler went back and forth.
    let switches = trace.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 2, "{trace:?}");
    // Determinism: the same seed, the same interleaving.
    assert_eq!(run(&uniform, 3), (trace.clone(), ids));
    let others: Vec<_> = (4..10).map(|seed| run(&uniform, seed).0).collect();
    assert!(
        others.iter().any(|t| *t != trace),
        "every seed interleaved alike"
    );
}

/// The report and the run history of `component` on a concurrent
/// scenario, as JSON.
fn concurrent_run(wasm: &std::path::Path, scenario: &str) -> (String, String) {
    let report = crate::common::test_component(wasm, Some(scenario));
    let track = gauntlet::track::Track::named("job-queue").unwrap();
    let source = track.select_scenarios(Some(scenario)).unwrap().remove(0);
    let scenario = gauntlet::track::job_queue::scenario::Scenario::load(&source, None).unwrap();
    let plugin =
        gauntlet::plugin::load(&crate::common::cache(), wasm, Default::default(), true).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let run = rt.block_on(gauntlet::track::job_queue::run(&plugin.sandbox, &scenario));
    (
        serde_json::to_string(&report).unwrap(),
        run.history.to_json_lines(),
    )
}

#[test]
fn a_concurrent_job_queue_run_is_the_same_byte_for_byte_twice() {
    let naive = crate::common::plugin_wasm("job-queue/naive");
    for scenario in ["concurrent-workers", "concurrent-workload"] {
        let (report, history) = concurrent_run(&naive, scenario);
        assert_eq!(
            (report.clone(), history.clone()),
            concurrent_run(&naive, scenario)
        );
        // The history has the overlap: spans with replicas and imports.
        assert!(history.contains("\"span\":{\"replica\":"), "{scenario}");
        assert!(history.contains("store.transact"), "{scenario}");
        // Several replicas served, and calls overlapped: some call was sent
        // before another one sent earlier was answered.
        let spans: Vec<(u64, u64, u64)> = history
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let s = v.get("span")?;
                Some((
                    s["replica"].as_u64()?,
                    s["invoked"].as_u64()?,
                    s["completed"].as_u64()?,
                ))
            })
            .collect();
        let replicas: std::collections::BTreeSet<u64> = spans.iter().map(|s| s.0).collect();
        assert!(replicas.len() >= 3, "{scenario}: {replicas:?}");
        assert!(
            spans
                .iter()
                .any(|a| spans.iter().any(|b| a.1 < b.1 && b.1 < a.2)),
            "{scenario}: no calls overlapped"
        );
    }
    // The workload crashes replicas at store writes: a crashed replica is
    // replaced and its call made again, while another replica answers
    // calls in the meantime.
    let (_, history) = concurrent_run(&naive, "concurrent-workload");
    let calls: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let crashed: Vec<&serde_json::Value> = calls
        .iter()
        .filter(|c| c["outcome"]["returned"]["crashes"].as_u64() > Some(0))
        .collect();
    assert!(!crashed.is_empty(), "no replica crashed");
    assert!(
        crashed.iter().any(|c| {
            let s = &c["span"];
            calls.iter().any(|o| {
                let t = &o["span"];
                t["replica"] != s["replica"]
                    && t["completed"].as_u64() > s["invoked"].as_u64()
                    && t["completed"].as_u64() < s["completed"].as_u64()
            })
        }),
        "no other replica answered while a crashed one recovered"
    );
}

#[test]
fn the_reference_and_the_other_correct_queues_pass_every_concurrent_scenario_on_every_seed() {
    use gauntlet::check::Verdict;
    let cache = crate::common::cache();
    let track = gauntlet::track::Track::named("job-queue").unwrap();
    let queue = reference("job-queue");
    let example = |name: &str| {
        gauntlet::plugin::load(
            &cache,
            &crate::common::plugin_wasm(name),
            Default::default(),
            true,
        )
        .unwrap()
    };
    // The naive queue, and one that keeps no cache at all: two other ways
    // than the reference's to be correct as a replica.
    let (naive, no_cache) = (example("job-queue/naive"), example("job-queue/no-cache"));
    for scenario in ["concurrent-workers", "concurrent-workload"] {
        let sources = track.select_scenarios(Some(scenario)).unwrap();
        for seed in crate::common::VARIANT_SEEDS {
            for plugin in [&queue, &naive, &no_cache] {
                let report = gauntlet::runner::run_suite(
                    plugin,
                    &queue,
                    &sources,
                    seed,
                    &mut gauntlet::report::Silent,
                )
                .unwrap();
                let r = &report.scenarios[0];
                assert_eq!(
                    r.verdict,
                    Verdict::Pass,
                    "{scenario} {seed:?}: {:#?}",
                    r.checks
                );
                assert!(r.checks.iter().all(|c| c.held()), "{:#?}", r.checks);
            }
        }
    }
}

#[test]
fn the_imports_noted_for_a_call_are_capped() {
    // Forty enqueues of the reference queue, the imports never taken in
    // between, park far more often than the cap: only the first are noted,
    // then a mark (a call parking without end cannot fill the host).
    let queue = reference("job-queue");
    let clock = VirtualClock::default();
    let seeds = SeedTree::new(1);
    let mut store = queue.sandbox.new_store(&seeds, &clock);
    store.data_mut().park_at_imports(true);
    let pre = PluginPre::new(queue.sandbox.instance_pre().clone()).unwrap();
    let mut strategy = StrategySpec::Uniform.build(&seeds);
    let mut executor = Executor::default();
    executor.spawn(strategy.as_mut(), async {
        let plugin = pre.instantiate_async(&mut store).await.unwrap();
        for job in 0..40 {
            plugin
                .gauntlet_jobs_queue()
                .call_enqueue(&mut store, &spec(&format!("job-{job}")))
                .await
                .unwrap()
                .unwrap();
        }
        store.data_mut().take_imports()
    });
    let imports = executor.run(strategy.as_mut(), &clock).unwrap().remove(0);
    assert_eq!(imports.len(), gauntlet::sandbox::IMPORTS_NOTED + 1);
    assert_eq!(imports.last(), Some(&"…"));
    assert_eq!(imports[0], "clock.now-ms");
}

/// The payment gateway's concurrent scenario, staged outside `scenarios/`
/// until the naive example gateways are replica-safe.
fn payments_concurrent() -> Vec<gauntlet::scenario::Source> {
    let path =
        crate::common::root().join("host/tests/data/payment-gateway/concurrent-checkout.toml");
    gauntlet::track::Track::named("payment-gateway")
        .unwrap()
        .select_scenarios(Some(path.to_str().unwrap()))
        .unwrap()
}

#[test]
fn the_reference_gateway_passes_concurrent_checkout_and_a_read_then_write_gateway_places_two_holds()
{
    use gauntlet::check::Verdict;
    let gateway = reference("payment-gateway");
    let sources = payments_concurrent();
    let run = |plugin: &gauntlet::plugin::Plugin, seed| {
        gauntlet::runner::run_suite(
            plugin,
            &gateway,
            &sources,
            seed,
            &mut gauntlet::report::Silent,
        )
        .unwrap()
    };
    for seed in crate::common::VARIANT_SEEDS {
        let report = run(&gateway, seed);
        let r = &report.scenarios[0];
        assert_eq!(r.verdict, Verdict::Pass, "{seed:?}: {:#?}", r.checks);
        assert!(r.checks.iter().all(|c| c.held()), "{:#?}", r.checks);
        // Byte for byte the same, twice.
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            serde_json::to_string(&run(&gateway, seed)).unwrap()
        );
    }
    // The naive gateway reads "no record for this key", then writes one
    // without a compare-and-set: correct one request at a time, two holds
    // for one key once two replicas interleave.
    let naive = gauntlet::plugin::load(
        &crate::common::cache(),
        &crate::common::plugin_wasm("payment-gateway/naive"),
        Default::default(),
        true,
    )
    .unwrap();
    let report = run(&naive, None);
    let hold = report.scenarios[0]
        .checks
        .iter()
        .find(|c| c.name == "one-hold-per-payment")
        .unwrap();
    assert!(!hold.held(), "{hold:#?}");
    assert!(
        hold.message.contains("have placed 2 holds"),
        "{}",
        hold.message
    );
}
