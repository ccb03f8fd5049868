//! Benchmark 2, the reference rate limiter compiled to wasm against the
//! same crate compiled natively, on the first 100,000 checks of the
//! `zipf-workload` scenario (its Zipf keys, costs and clock readings, the
//! clock stepping back 30 s halfway). Each iteration starts from a fresh,
//! configured limiter; making it is not timed.

use criterion::{BatchSize, Criterion, Throughput};
use gauntlet_bench::{
    Bare, check_stream, native_limiter, rate_limiter_scenario, run_native, runtime,
};

use crate::RATE_LIMITER;

const CHECKS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let scenario = rate_limiter_scenario("zipf-workload");
    let (config, checks) = check_stream(&scenario.plan, CHECKS);
    // Both sides decide alike, or the comparison means nothing.
    let native = run_native(&mut native_limiter(&config), &checks);
    let wasm = rt.block_on(async { Bare::new(&RATE_LIMITER, &config).await.run(&checks).await });
    assert_eq!(native, wasm, "native and wasm decisions differ");

    let mut group = c.benchmark_group("wasm-vs-native");
    group
        .throughput(Throughput::Elements(CHECKS as u64))
        .sample_size(50);
    group.bench_function("native", |b| {
        b.iter_batched_ref(
            || native_limiter(&config),
            |limiter| run_native(limiter, &checks),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("wasm", |b| {
        b.iter_batched_ref(
            || rt.block_on(Bare::new(&RATE_LIMITER, &config)),
            |bare| rt.block_on(bare.run(&checks)),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion::criterion_group!(group, bench);
