//! Benchmark 1, the harness's cost per call: the same trivial `check`
//! stream through gauntlet's own path (`rate_limiter::run`: the simulator,
//! fuel metering, the history) and through bare typed calls on one
//! instance.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use gauntlet::sim::SeedTree;
use gauntlet::track::rate_limiter;
use gauntlet_bench::{Bare, runtime, trivial_config, trivial_plan};

use crate::RATE_LIMITER;

/// Calls per iteration: enough that the harness's one instantiation per
/// run (about 20 µs) is a fraction of a nanosecond per call.
const CALLS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("per-call");
    // An iteration is 100,000 calls (tens of ms): 50 samples fit in 5 s.
    group
        .throughput(Throughput::Elements(CALLS as u64))
        .sample_size(50);

    group.bench_function("bare", |b| {
        let mut bare = rt.block_on(Bare::new(&RATE_LIMITER, &trivial_config()));
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters * CALLS as u64 {
                    black_box(bare.check(black_box("k"), 1).await);
                }
                started.elapsed()
            })
        });
    });

    group.bench_function("harness", |b| {
        let plan = trivial_plan(CALLS);
        let run = rt.block_on(rate_limiter::run(&RATE_LIMITER, &plan, SeedTree::new(0)));
        assert_eq!(run.history.calls(), CALLS + 1);
        assert!(run.history.abort().is_none());
        b.iter(|| rt.block_on(rate_limiter::run(&RATE_LIMITER, &plan, SeedTree::new(0))));
    });
    group.finish();
}

criterion::criterion_group!(group, bench);
