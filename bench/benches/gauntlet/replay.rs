//! Benchmark 3, whole scenarios replayed through gauntlet's own path
//! against the references: operations per second, and (with the virtual
//! time each scenario simulates, printed once) how much faster than real
//! time.

use criterion::{Criterion, SamplingMode, Throughput};
use gauntlet::sim::SeedTree;
use gauntlet::track::{payments, rate_limiter};
use gauntlet_bench::{
    advanced_ms, payments_scenario, rate_limiter_scenario, reference_sandbox, runtime,
};

use crate::RATE_LIMITER;

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("replay");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);

    {
        let sandbox = reference_sandbox(gauntlet::engine::new_engine(), payments::NAME);
        let scenario = payments_scenario("generated-workload");
        let run = rt.block_on(payments::run(&sandbox, &scenario));
        assert!(run.history.abort().is_none(), "the reference aborted");
        let virtual_ms = advanced_ms(&scenario.plan) + run.waited_ms();
        let calls = scenario.plan.call_count();
        eprintln!(
            "replay/payments-generated-workload: {calls} requests, {:.1} s of virtual time ({:.1} s waiting on the bank), {} crashes (a fresh instance each)",
            virtual_ms as f64 / 1e3,
            run.waited_ms() as f64 / 1e3,
            run.crashes()
        );
        group.throughput(Throughput::Elements(calls as u64));
        group.bench_function("payments-generated-workload", |b| {
            b.iter(|| rt.block_on(payments::run(&sandbox, &scenario)));
        });
    }

    {
        let scenario = rate_limiter_scenario("zipf-workload");
        let seeds = SeedTree::new(scenario.seed);
        let calls = scenario.plan.call_count();
        eprintln!(
            "replay/rate-limiter-zipf-workload: {calls} calls, {:.1} s of virtual time",
            advanced_ms(&scenario.plan) as f64 / 1e3
        );
        group.throughput(Throughput::Elements(calls as u64));
        group.bench_function("rate-limiter-zipf-workload", |b| {
            b.iter(|| rt.block_on(rate_limiter::run(&RATE_LIMITER, &scenario.plan, seeds)));
        });
    }
    group.finish();
}

criterion::criterion_group!(group, bench);
