//! Benchmark 4, what a scenario pays to start an instance:
//! `LimiterDriver::new` (a fresh store, then `InstancePre` instantiation, as
//! every run and every probe does) with wasmtime's default on-demand
//! allocator and with the pooling allocator, the store alone beside them.
//! Dropping the instance is timed too: a run pays for it.

use criterion::Criterion;
use gauntlet::sandbox::{FuelPool, Limits, VirtualClock};
use gauntlet::sim::SeedTree;
use gauntlet::track::rate_limiter::LimiterDriver;
use gauntlet_bench::{pooling_engine, process_memory_kib, reference_sandbox, runtime};

use crate::RATE_LIMITER;

/// Live instances the pool has room for.
const POOL_INSTANCES: u32 = 100;

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let seeds = SeedTree::new(0);
    let clock = VirtualClock::default();
    let fuel = FuelPool::new(Limits::default().fuel_per_scenario);

    // The pool is reserved when the engine is made.
    let (vm_before, rss_before) = process_memory_kib();
    let engine = pooling_engine(POOL_INSTANCES);
    let (vm_after, rss_after) = process_memory_kib();
    eprintln!(
        "instantiate/pooling: a pool of {POOL_INSTANCES} instances reserves {} GiB of address space, {} MiB of it resident",
        vm_after.saturating_sub(vm_before) >> 20,
        rss_after.saturating_sub(rss_before) >> 10
    );
    let pooled = reference_sandbox(engine, "rate-limiter");

    let mut group = c.benchmark_group("instantiate");
    group.bench_function("new-store", |b| {
        b.iter(|| RATE_LIMITER.new_store(&seeds, &clock));
    });
    group.bench_function("on-demand", |b| {
        b.iter(|| {
            rt.block_on(LimiterDriver::new(&RATE_LIMITER, &seeds, &clock, &fuel))
                .ok()
        });
    });
    group.bench_function("pooling", |b| {
        b.iter(|| {
            rt.block_on(LimiterDriver::new(&pooled, &seeds, &clock, &fuel))
                .ok()
        });
    });
    group.finish();
}

criterion::criterion_group!(group, bench);
