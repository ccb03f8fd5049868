//! gauntlet's own benchmarks (issue 4): `cargo bench -p gauntlet-bench`,
//! or one group with a filter (`-- per-call`). What each measures and the
//! figures: `bench/README.md`. Under `cargo test` each benchmark runs once,
//! as a smoke test.

mod concurrency;
mod instantiation;
mod per_call;
mod replay;
mod wasm_vs_native;

use std::sync::LazyLock;

use gauntlet::sandbox::Sandbox;

/// The rate-limiter reference in the host's engine, compiled once for
/// every group that needs it.
static RATE_LIMITER: LazyLock<Sandbox> = LazyLock::new(|| {
    gauntlet_bench::reference_sandbox(gauntlet::engine::new_engine(), "rate-limiter")
});

criterion::criterion_main!(
    per_call::group,
    wasm_vs_native::group,
    replay::group,
    instantiation::group,
    concurrency::group
);
