//! Host mechanics with inline WAT components (no guest toolchain needed):
//! fuel, the memory cap and traps become aborts, never host panics; the
//! compiled-component cache is reused.

use gauntlet::engine::{CompileSource, ComponentCache, new_engine, sha256_hex};
use gauntlet::sandbox::{self, Abort, FuelPool, Limits, Meter, Sandbox, VirtualClock};
use gauntlet::sim::SeedTree;

const COMPONENT: &str = r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "spin") (loop $l (br $l)))
    (func (export "grow") (result i32) (memory.grow (i32.const 2000)))
    (func (export "grow-or-abort")
      (if (i32.eq (memory.grow (i32.const 2000)) (i32.const -1)) (then unreachable)))
    (func (export "boom") unreachable)
    (func (export "noop"))
    (func (export "work") (local $i i32)
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))))
  (core instance $i (instantiate $m))
  (func (export "spin") (canon lift (core func $i "spin")))
  (func (export "grow") (result s32) (canon lift (core func $i "grow")))
  (func (export "grow-or-abort") (canon lift (core func $i "grow-or-abort")))
  (func (export "boom") (canon lift (core func $i "boom")))
  (func (export "noop") (canon lift (core func $i "noop")))
  (func (export "work") (canon lift (core func $i "work")))
)
"#;

fn call(name: &str) -> (u64, Result<(), Abort>) {
    let limits = Limits {
        memory_bytes: 16 << 20,
        fuel_per_call: 1_000_000,
        ..Limits::default()
    };
    calls(name, 1, limits).pop().unwrap()
}

/// Calls the export `name` `times` times in one instance, metered by one
/// scenario fuel pool.
fn calls(name: &str, times: usize, limits: Limits) -> Vec<(u64, Result<(), Abort>)> {
    let bytes = wat::parse_str(COMPONENT).unwrap();
    let cache = ComponentCache::new(new_engine(), None);
    let (component, _) = cache
        .load(
            std::path::Path::new("inline.wat"),
            &bytes,
            &sha256_hex(&bytes),
        )
        .unwrap();
    let linker = sandbox::linker(cache.engine()).unwrap();
    let sandbox = Sandbox::new(&linker, &component, limits).unwrap();
    let meter = Meter::new(limits, FuelPool::new(limits.fuel_per_scenario));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut store = sandbox.new_store(&SeedTree::new(1), &VirtualClock::default());
        let instance = sandbox
            .instance_pre()
            .instantiate_async(&mut store)
            .await
            .unwrap();
        let mut results = Vec::new();
        for _ in 0..times {
            let budget = meter.begin(&mut store);
            let result = if name == "grow" {
                let f = instance
                    .get_typed_func::<(), (i32,)>(&mut store, name)
                    .unwrap();
                f.call_async(&mut store, ()).await.map(|_| ())
            } else {
                let f = instance.get_typed_func::<(), ()>(&mut store, name).unwrap();
                f.call_async(&mut store, ()).await
            };
            let (fuel, result) = meter.finish(&mut store, budget, result);
            let stop = result.is_err();
            results.push((fuel, result));
            if stop {
                break;
            }
        }
        results
    })
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let (fuel, result) = call("spin");
    assert_eq!(result, Err(Abort::OutOfFuel { budget: 1_000_000 }));
    assert_eq!(fuel, 1_000_000);
}

#[test]
fn growing_past_the_cap_is_refused_and_a_trap_after_it_is_a_memory_verdict() {
    // As a Rust allocator does: a refused growth aborts.
    let (_, result) = call("grow-or-abort");
    match result {
        Err(Abort::MemoryLimit { cap, requested }) => {
            assert_eq!(cap, 16 << 20);
            assert!(requested > cap);
        }
        other => panic!("expected a memory abort, got {other:?}"),
    }
}

#[test]
fn a_plugin_that_copes_with_a_refused_growth_goes_on() {
    // As a garbage-collected runtime does: memory.grow says -1, the plugin
    // collects and carries on; nothing grew past the cap.
    let (_, result) = call("grow");
    assert_eq!(result, Ok(()));
}

#[test]
fn a_trap_is_an_abort_with_its_reason() {
    let (_, result) = call("boom");
    match result {
        Err(Abort::Trap { trap, .. }) => assert!(trap.contains("unreachable"), "{trap}"),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn fuel_is_counted_per_call() {
    let (fuel, result) = call("noop");
    assert_eq!(result, Ok(()));
    assert!(fuel < 100, "a no-op burnt {fuel} fuel");
}

#[test]
fn a_second_load_comes_from_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = wat::parse_str(COMPONENT).unwrap();
    let sha = sha256_hex(&bytes);
    let path = std::path::Path::new("inline.wat");
    let first = ComponentCache::new(new_engine(), Some(dir.path().to_path_buf()));
    assert_eq!(
        first.load(path, &bytes, &sha).unwrap().1,
        CompileSource::Compiled
    );
    let second = ComponentCache::new(new_engine(), Some(dir.path().to_path_buf()));
    assert_eq!(
        second.load(path, &bytes, &sha).unwrap().1,
        CompileSource::Cached
    );
}

#[test]
fn calls_slow_enough_together_run_out_of_the_scenario_fuel() {
    let limits = Limits {
        fuel_per_call: 1_000_000,
        fuel_per_scenario: 5_000,
        ..Limits::default()
    };
    let results = calls("work", 100, limits);
    let per_call = results[0].0;
    assert!(per_call > 100 && per_call < 5_000, "{per_call}");
    let (_, last) = results.last().unwrap();
    assert_eq!(last, &Err(Abort::ScenarioOutOfFuel { budget: 5_000 }));
    assert_eq!(results.len() as u64, 5_000 / per_call + 1);
}

/// Instantiates the component `wat` with its clocks at `clock`, calls its
/// export `run` (returning a u64) once, and returns that and the virtual
/// time the instance slept.
fn run_u64(wat: &str, clock: &VirtualClock) -> (u64, u64) {
    let bytes = wat::parse_str(wat).unwrap();
    let cache = ComponentCache::new(new_engine(), None);
    let (component, _) = cache
        .load(std::path::Path::new("run.wat"), &bytes, &sha256_hex(&bytes))
        .unwrap();
    let linker = sandbox::linker(cache.engine()).unwrap();
    let sandbox = Sandbox::new(&linker, &component, Limits::default()).unwrap();
    // No timer in the runtime: a real sleep would panic in it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut store = sandbox.new_store(&SeedTree::new(1), clock);
        let instance = sandbox
            .instance_pre()
            .instantiate_async(&mut store)
            .await
            .unwrap();
        let run = instance
            .get_typed_func::<(), (u64,)>(&mut store, "run")
            .unwrap();
        let (value,) = run.call_async(&mut store, ()).await.unwrap();
        (value, sandbox::slept_ms(&store))
    })
}

#[test]
fn the_harness_clock_reads_and_sleeps_in_virtual_time() {
    let wat = r#"
    (component
      (import "gauntlet:harness/clock@0.1.0" (instance $clock
        (export "now-ms" (func (result u64)))
        (export "sleep-ms" (func (param "ms" u64)))))
      (core func $now (canon lower (func $clock "now-ms")))
      (core func $sleep (canon lower (func $clock "sleep-ms")))
      (core module $m
        (import "h" "now" (func $now (result i64)))
        (import "h" "sleep" (func $sleep (param i64)))
        (func (export "run") (result i64)
          (call $sleep (i64.const 1500))
          (call $now)))
      (core instance $i (instantiate $m
        (with "h" (instance (export "now" (func $now)) (export "sleep" (func $sleep))))))
      (func (export "run") (result u64) (canon lift (core func $i "run"))))
    "#;
    let clock = VirtualClock::default();
    clock.set_ms(1_000);
    let (now, slept) = run_u64(wat, &clock);
    assert_eq!(now, 2_500);
    assert_eq!(slept, 1_500);
    assert_eq!(clock.now_ms(), 2_500);
}

/// A WASI sleep (what `nanosleep`, Go's timers and `time.sleep` come down
/// to: `subscribe-duration`, then `block`) is ready at once and moves the
/// virtual clock to its deadline, rounded up to the millisecond: an hour's
/// sleep neither waits nor reads the machine's clock.
#[test]
fn a_wasi_sleep_moves_the_virtual_clock_and_does_not_wait() {
    let wat = r#"
    (component
      (import "wasi:io/poll@0.2.0" (instance $poll
        (export "pollable" (type (sub resource)))
        (export "[method]pollable.block" (func (param "self" (borrow 0))))))
      (alias export $poll "pollable" (type $pollable))
      (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
        (alias outer 1 $pollable (type $p))
        (export "pollable" (type $pe (eq $p)))
        (export "now" (func (result u64)))
        (export "subscribe-duration" (func (param "when" u64) (result (own $pe))))))
      (core func $now (canon lower (func $clock "now")))
      (core func $subscribe (canon lower (func $clock "subscribe-duration")))
      (core func $block (canon lower (func $poll "[method]pollable.block")))
      (core func $drop (canon resource.drop $pollable))
      (core module $m
        (import "h" "now" (func $now (result i64)))
        (import "h" "subscribe" (func $subscribe (param i64) (result i32)))
        (import "h" "block" (func $block (param i32)))
        (import "h" "drop" (func $drop (param i32)))
        (func (export "run") (result i64) (local $p i32)
          ;; An hour and half a millisecond.
          (local.set $p (call $subscribe (i64.const 3600000500000)))
          (call $block (local.get $p))
          (call $drop (local.get $p))
          (call $now)))
      (core instance $i (instantiate $m
        (with "h" (instance
          (export "now" (func $now)) (export "subscribe" (func $subscribe))
          (export "block" (func $block)) (export "drop" (func $drop))))))
      (func (export "run") (result u64) (canon lift (core func $i "run"))))
    "#;
    let clock = VirtualClock::default();
    clock.set_ms(1_000);
    let (now_ns, slept) = run_u64(wat, &clock);
    assert_eq!(clock.now_ms(), 1_000 + 3_600_001);
    assert_eq!(now_ns, (1_000 + 3_600_001) * 1_000_000);
    assert_eq!(slept, 3_600_001);
}
