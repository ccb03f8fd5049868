//! Benchmark 5, the cost of concurrency (issue 16): the job queue's
//! `generated-workload` (about 9,300 calls) run three ways against the
//! reference: sequentially (no scheduling points); as one replica with one
//! call in flight, so that every import parks and the scheduler picks the
//! only call (the executor's cost per parked import, nothing else
//! changed); and as four replicas with eight calls in flight (what a
//! concurrent scenario costs, the reference's own work of keeping four
//! caches of one store included: each call served by another replica than
//! the last store write's reloads the queue).

use criterion::{Criterion, SamplingMode, Throughput};
use gauntlet::track::job_queue;
use gauntlet_bench::{job_queue_scenario, reference_sandbox, runtime};

/// The scheduler of both concurrent variants.
const UNIFORM: &str = "scheduler = { strategy = \"uniform\" }";

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let sandbox = reference_sandbox(gauntlet::engine::new_engine(), job_queue::NAME);
    let mut group = c.benchmark_group("concurrency");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let variants = [
        ("sequential", None),
        (
            "one-replica-parking",
            Some(format!("replicas = 1\nin-flight = 1\n{UNIFORM}")),
        ),
        (
            "four-replicas",
            Some(format!("replicas = 4\nin-flight = 8\n{UNIFORM}")),
        ),
    ];
    for (name, concurrency) in variants {
        let scenario = job_queue_scenario("generated-workload", concurrency.as_deref());
        let run = rt.block_on(job_queue::run(&sandbox, &scenario));
        assert!(
            run.history.abort().is_none(),
            "{name}: the reference aborted"
        );
        let imports: usize = run
            .history
            .entries
            .iter()
            .filter_map(|e| match &e.event {
                gauntlet::sim::Event::Call { span: Some(s), .. } => Some(s.imports.len()),
                _ => None,
            })
            .sum();
        let calls = scenario.plan.call_count();
        eprintln!(
            "concurrency/{name}: {calls} calls, {imports} parked imports, {} fuel",
            run.history.total_fuel()
        );
        group.throughput(Throughput::Elements(calls as u64));
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(job_queue::run(&sandbox, &scenario)));
        });
    }
    group.finish();
}

criterion::criterion_group!(group, bench);
