//! The sandbox a plugin runs in: one wasmtime `Store` per instance, with its
//! memory capped, its CPU metered by fuel, WASI virtualised and its output
//! captured. Whatever the plugin does, the host gets back either a value or
//! an [`Abort`] that becomes a verdict; it never panics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::Serialize;
use wasmtime::component::{Component, InstancePre, Linker, Resource, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::{
    DynPollable, OutputStream, Pollable, StreamError, StreamResult, subscribe,
};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::bindings::harness;
use crate::sim::SeedTree;
use crate::store::{DEFAULT_QUOTA_BYTES, DurableStore, StoreError, StoreFault, StoreFaults};

/// What one plugin instance may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The most linear memory an instance may hold, in bytes.
    pub memory_bytes: usize,
    /// The fuel one call into the plugin may burn before it is cut off.
    pub fuel_per_call: u64,
    /// The fuel all the calls of one scenario may burn together (and, apart,
    /// all the probes the checks make for it).
    pub fuel_per_scenario: u64,
    /// How much of the plugin's output (stdout, stderr, log) a run keeps.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            fuel_per_call: 200_000_000,
            fuel_per_scenario: 500_000_000_000,
            log_bytes: 64 << 10,
        }
    }
}

/// The simulator's virtual clock, in milliseconds, as shared with the plugin's
/// imports (`gauntlet:harness/clock` and the WASI clocks).
#[derive(Clone, Debug, Default)]
pub struct VirtualClock(Arc<AtomicU64>);

impl VirtualClock {
    pub fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set_ms(&self, ms: u64) {
        self.0.store(ms, Ordering::Relaxed)
    }

    /// The time in nanoseconds, as WASI's monotonic clock reads it.
    pub fn now_ns(&self) -> u64 {
        self.now_ms().saturating_mul(1_000_000)
    }
}

struct WasiWallClock(VirtualClock);

impl HostWallClock for WasiWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now_ms())
    }
}

struct WasiMonotonicClock(VirtualClock);

impl HostMonotonicClock for WasiMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        self.0.now_ns()
    }
}

/// A WASI sleep (`wasi:clocks/monotonic-clock` `subscribe-duration` or
/// `subscribe-instant`, which `nanosleep`, Go's timers and `time.sleep`
/// come down to): ready as soon as it is waited on, moving the virtual
/// clock to its deadline, as `gauntlet:harness/clock` `sleep-ms` does. A
/// sleep never waits in real time, so it can neither hang the host nor
/// make a run depend on the machine.
struct VirtualSleep {
    clock: VirtualClock,
    /// The deadline, in virtual milliseconds (rounded up).
    until_ms: u64,
    /// The instance's sleep total (`HostState::slept_ms`).
    slept_ms: Arc<AtomicU64>,
    /// Whether the instance runs concurrently: then the sleep parks until
    /// its deadline while the other calls go on.
    parks: bool,
}

#[async_trait::async_trait]
impl Pollable for VirtualSleep {
    async fn ready(&mut self) {
        let now = self.clock.now_ms();
        if now < self.until_ms {
            if self.parks {
                crate::sched::sleep_until(self.until_ms).await;
            } else {
                self.clock.set_ms(self.until_ms);
            }
            self.slept_ms
                .fetch_add(self.until_ms - now, Ordering::Relaxed);
        }
    }
}

impl HostState {
    fn sleep_until_ns(&mut self, when_ns: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let sleep = self.table.push(VirtualSleep {
            clock: self.clock.clone(),
            until_ms: when_ns.div_ceil(1_000_000),
            slept_ms: self.slept_ms.clone(),
            parks: self.parks,
        })?;
        subscribe(&mut self.table, sleep)
    }
}

impl monotonic_clock::Host for HostState {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.clock.now_ns())
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1_000_000)
    }

    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.sleep_until_ns(when)
    }

    fn subscribe_duration(&mut self, duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.sleep_until_ns(self.clock.now_ns().saturating_add(duration))
    }
}

/// The plugin's captured output: stdout, stderr and `gauntlet:harness/log`
/// lines, in the order written, up to a byte budget; the rest is counted.
#[derive(Debug, Default)]
pub struct OutputLog {
    pub text: String,
    pub dropped_bytes: u64,
    budget: usize,
    /// The last few KiB written to stderr, kept whole for trap messages.
    stderr_tail: String,
}

const STDERR_TAIL: usize = 4 << 10;

impl OutputLog {
    fn append(&mut self, bytes: &[u8], stderr: bool) {
        let text = String::from_utf8_lossy(bytes);
        let room = self.budget.saturating_sub(self.text.len());
        if text.len() <= room {
            self.text.push_str(&text);
        } else {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(&text[..cut]);
            self.dropped_bytes += (text.len() - cut) as u64;
        }
        if stderr {
            self.stderr_tail.push_str(&text);
            if self.stderr_tail.len() > STDERR_TAIL {
                let mut start = self.stderr_tail.len() - STDERR_TAIL;
                while !self.stderr_tail.is_char_boundary(start) {
                    start += 1;
                }
                self.stderr_tail.drain(..start);
            }
        }
    }

    /// What the guest said last on stderr: a Rust panic's message, say.
    pub fn guest_message(&self) -> Option<String> {
        let tail = self.stderr_tail.trim();
        if tail.is_empty() {
            return None;
        }
        // A Rust panic prints "thread '..' panicked at FILE:LINE:\nMESSAGE";
        // show it from "panicked at" on, on one line.
        let from = tail.rfind("panicked at").unwrap_or(0);
        let tail = &tail[from..];
        let tail = tail
            .split("\nnote: run with `RUST_BACKTRACE")
            .next()
            .unwrap_or(tail);
        let message = tail.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(message.chars().take(300).collect())
    }
}

#[derive(Clone)]
struct Capture {
    log: Arc<Mutex<OutputLog>>,
    stderr: bool,
}

impl Capture {
    fn write(&self, bytes: &[u8]) {
        self.log
            .lock()
            .expect("output log lock")
            .append(bytes, self.stderr);
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl OutputStream for Capture {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        Capture::write(self, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Capture::write(&self, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Caps linear memory and tables, and remembers the peak memory size.
///
/// A growth past the cap is refused as the WebAssembly spec allows
/// (`memory.grow` returns -1), not trapped on the spot: a runtime with a
/// garbage collector (a JavaScript or Python engine) collects and carries
/// on, as it would on a real machine. A plugin that traps after a refusal
/// (a Rust allocation failure aborts) gets the memory verdict.
#[derive(Debug)]
struct MemoryCap {
    cap: usize,
    peak: usize,
    /// The largest growth refused so far, in bytes asked for.
    refused: Option<usize>,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.refused = Some(self.refused.unwrap_or(0).max(desired));
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The data of one plugin instance's store.
pub struct HostState {
    wasi: WasiCtx,
    /// The simulated dependencies of the plugin's track, shared with the
    /// instances that replace this one after a crash.
    pub(crate) dependencies: Dependencies,
    /// The durable store; shared with the instances that replace this one
    /// after a crash.
    durable: Arc<Mutex<DurableStore>>,
    table: ResourceTable,
    limiter: MemoryCap,
    clock: VirtualClock,
    /// Virtual time the plugin spent asleep (`sleep-ms`, or WASI's clocks).
    slept_ms: Arc<AtomicU64>,
    log: Arc<Mutex<OutputLog>>,
    /// Whether gauntlet's imports (harness, bank, model, output file) are
    /// scheduling points ([`crate::sched::park`]): on in a concurrent run,
    /// off otherwise. WASI's imports never park, but for its sleeps.
    pub(crate) parks: bool,
    /// The imports parked at, by name, since [`HostState::take_imports`].
    imports: Vec<&'static str>,
    /// What this instance is serving, for per-request bookkeeping of the
    /// track's dependencies (several instances serve at once in a
    /// concurrent run).
    pub(crate) serving: Serving,
}

/// The client request an instance serves, and which call into the plugin
/// it is making for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Serving {
    /// The client step (1-based: a plan's calls in order; 0 before the
    /// first), the same for every instance and crash-recovery of one
    /// request.
    pub step: u64,
    /// The call into the plugin (a request or `recover`), numbered over the
    /// run by the track (0: none yet).
    pub export_call: u64,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl harness::clock::Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        self.scheduling_point("clock.now-ms").await;
        Ok(self.clock.now_ms())
    }

    async fn sleep_ms(&mut self, ms: u64) -> wasmtime::Result<()> {
        let until = self.clock.now_ms().saturating_add(ms);
        if self.parks {
            // Concurrent: the call sleeps while the others go on; the
            // executor wakes it once time has come to `until`.
            self.note_import("clock.sleep-ms");
            crate::sched::sleep_until(until).await;
        } else {
            self.clock.set_ms(until);
        }
        self.slept_ms.fetch_add(ms, Ordering::Relaxed);
        Ok(())
    }
}

impl harness::log::Host for HostState {
    async fn log(&mut self, level: harness::log::Level, message: String) -> wasmtime::Result<()> {
        self.scheduling_point("log").await;
        let level = match level {
            harness::log::Level::Debug => "debug",
            harness::log::Level::Info => "info",
            harness::log::Level::Warn => "warn",
            harness::log::Level::Error => "error",
        };
        let line = format!("[{level}] {message}\n");
        self.log
            .lock()
            .expect("output log lock")
            .append(line.as_bytes(), false);
        Ok(())
    }
}

/// The imports noted for one call (see [`HostState::take_imports`]).
pub const IMPORTS_NOTED: usize = 64;

/// A scheduling point if `parks` (the instance runs concurrently): the call
/// waits here until the scheduler picks it.
async fn park_if(parks: bool) {
    if parks {
        crate::sched::park().await;
    }
}

impl HostState {
    /// The scheduling point every gauntlet import begins with: a call of a
    /// concurrent run waits there until the scheduler picks it, and the
    /// import is noted (nothing happens otherwise). It borrows nothing of
    /// the state across the wait.
    pub(crate) fn scheduling_point(
        &mut self,
        import: &'static str,
    ) -> impl Future<Output = ()> + Send + 'static {
        if self.parks {
            self.note_import(import);
        }
        park_if(self.parks)
    }

    /// Notes an import parked at, up to [`IMPORTS_NOTED`] a call (then
    /// `…` once): a plugin that parks without end cannot fill the host.
    fn note_import(&mut self, import: &'static str) {
        match self.imports.len() {
            n if n < IMPORTS_NOTED => self.imports.push(import),
            IMPORTS_NOTED => self.imports.push("…"),
            _ => {}
        }
    }

    /// The imports the instance parked at since the last time this was
    /// asked, in order: the first [`IMPORTS_NOTED`], then `…` if there were
    /// more (always empty unless it parks).
    pub fn take_imports(&mut self) -> Vec<&'static str> {
        std::mem::take(&mut self.imports)
    }
}

impl From<StoreError> for harness::store::StoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::KeyTooLarge => harness::store::StoreError::KeyTooLarge,
            StoreError::ValueTooLarge => harness::store::StoreError::ValueTooLarge,
            StoreError::QuotaExceeded => harness::store::StoreError::QuotaExceeded,
        }
    }
}

impl HostState {
    /// Makes gauntlet's imports scheduling points, for a concurrent run
    /// (see [`crate::sched`]).
    pub fn park_at_imports(&mut self, on: bool) {
        self.parks = on;
    }

    /// Gives this instance the track's dependencies (shared, so that an
    /// instance replacing a crashed one sees the same bank).
    pub fn set_dependencies(&mut self, dependencies: Dependencies) {
        self.dependencies = dependencies;
    }

    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// Applies a write to the durable store, crashing around it if the
    /// scenario says so.
    fn write<T>(&mut self, apply: impl FnOnce(&mut DurableStore) -> T) -> wasmtime::Result<T> {
        let fault = self
            .dependencies
            .store_faults
            .as_ref()
            .and_then(|f| f.lock().expect("store faults lock").next_write());
        match fault {
            Some(StoreFault::CrashBeforeWrite) => Err(wasmtime::Error::new(InjectedCrash(
                "before a store write".into(),
            ))),
            Some(StoreFault::CrashAfterWrite) => {
                apply(&mut self.durable());
                Err(wasmtime::Error::new(InjectedCrash(
                    "after a store write, before the plugin saw it return".into(),
                )))
            }
            None => Ok(apply(&mut self.durable())),
        }
    }

    fn durable(&self) -> std::sync::MutexGuard<'_, DurableStore> {
        self.durable.lock().expect("durable store lock")
    }
}

impl harness::store::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        self.scheduling_point("store.get").await;
        Ok(self.durable().get(&key).map(<[u8]>::to_vec))
    }

    async fn put(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), harness::store::StoreError>> {
        self.scheduling_point("store.put").await;
        self.write(|store| store.put(&key, value).map_err(Into::into))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.scheduling_point("store.delete").await;
        self.write(|store| store.delete(&key))
    }

    async fn transact(
        &mut self,
        conditions: Vec<harness::store::Condition>,
        writes: Vec<harness::store::Write>,
    ) -> wasmtime::Result<Result<bool, harness::store::StoreError>> {
        self.scheduling_point("store.transact").await;
        let conditions: Vec<_> = conditions
            .into_iter()
            .map(|c| (c.key, c.expected))
            .collect();
        let writes: Vec<_> = writes.into_iter().map(|w| (w.key, w.value)).collect();
        self.write(|store| store.transact(&conditions, &writes).map_err(Into::into))
    }

    async fn scan(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Vec<(String, Vec<u8>)>> {
        self.scheduling_point("store.scan").await;
        Ok(self
            .durable()
            .scan(&prefix, start_after.as_deref(), limit as usize))
    }
}

/// The simulated dependencies a track serves to its plugin, beside the
/// harness. Empty for tracks that have none.
#[derive(Clone, Default)]
pub struct Dependencies {
    /// The payment-gateway track's bank.
    pub bank: Option<Arc<Mutex<crate::track::payments::dependency::BankSim>>>,
    /// Crashes to inject at writes to the durable store.
    pub store_faults: Option<Arc<Mutex<StoreFaults>>>,
    /// The tweet-audit track's model.
    pub model: Option<Arc<Mutex<crate::track::tweet_audit::mock::ModelSim>>>,
    /// The tweet-audit track's output file.
    pub output: Option<Arc<Mutex<crate::track::tweet_audit::mock::OutputFile>>>,
}

/// The error an import returns to crash the plugin at that boundary: the
/// instance is discarded and a fresh one carries on with the durable store.
#[derive(Debug, thiserror::Error)]
#[error("crash injected {0}")]
pub struct InjectedCrash(pub String);

/// The error an import returns when gauntlet stops a run the plugin would
/// never end by itself (a bank call retried forever, a model called far more
/// than the work needs): the message says what the plugin kept doing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostStopped(pub String);

/// Why a call into the plugin did not return. Each becomes a verdict; the
/// instance is unusable afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Abort {
    /// The call burnt its whole fuel budget: a loop that does not end, or
    /// far too much work for one operation.
    OutOfFuel { budget: u64 },
    /// The scenario's calls together burnt the scenario's fuel budget: each
    /// call far too slow, though none endless.
    ScenarioOutOfFuel { budget: u64 },
    /// The plugin tried to grow its memory past the cap.
    MemoryLimit { cap: usize, requested: usize },
    /// The host crashed the plugin on purpose (a fault of the scenario): the
    /// track's driver replaces the instance and carries on.
    Crash { reason: String },
    /// gauntlet stopped the plugin: it would not have stopped by itself
    /// (see [`HostStopped`]).
    Stopped { reason: String },
    /// The plugin trapped (a Rust panic is an `unreachable` trap); the
    /// message is what it printed last on stderr, if anything.
    Trap {
        trap: String,
        guest_message: Option<String>,
    },
}

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Abort::OutOfFuel { budget } => {
                write!(
                    f,
                    "ran out of fuel: the call burnt its whole budget of {budget}"
                )
            }
            Abort::ScenarioOutOfFuel { budget } => write!(
                f,
                "ran out of the scenario's fuel: its calls together burnt the budget of {budget}"
            ),
            Abort::Crash { reason } => write!(f, "was crashed on purpose ({reason})"),
            Abort::Stopped { reason } => write!(f, "was stopped by gauntlet: {reason}"),
            Abort::MemoryLimit { cap, requested } => write!(
                f,
                "hit the memory cap: asked for {} MiB, the cap is {} MiB",
                requested.div_ceil(1 << 20),
                cap >> 20
            ),
            Abort::Trap {
                guest_message: Some(message),
                ..
            } if message.starts_with("panicked at") => write!(f, "{message}"),
            Abort::Trap {
                trap,
                guest_message: Some(message),
            } => write!(f, "trapped ({trap}): {message}"),
            Abort::Trap {
                trap,
                guest_message: None,
            } => write!(f, "trapped: {trap}"),
        }
    }
}

/// A component ready to be instantiated any number of times, each instance
/// in a fresh store with the same limits.
pub struct Sandbox {
    pre: InstancePre<HostState>,
    limits: Limits,
}

/// The linker every track uses: WASI p2 (virtualised) and the harness.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    // WASI sleeps in virtual time (see `VirtualSleep`), in place of
    // wasmtime-wasi's, which wait on a real timer.
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
    linker.allow_shadowing(false);
    harness::clock::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
    harness::log::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
    harness::store::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
    crate::bindings::payments::bank::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
        &mut linker,
        |s| s,
    )?;
    crate::bindings::tweet_audit::model::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
        &mut linker,
        |s| s,
    )?;
    crate::bindings::tweet_audit::output::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
        &mut linker,
        |s| s,
    )?;
    Ok(linker)
}

impl Sandbox {
    /// Links `component` against the harness and WASI. Fails if it imports
    /// anything else.
    pub fn new(
        linker: &Linker<HostState>,
        component: &Component,
        limits: Limits,
    ) -> wasmtime::Result<Self> {
        let pre = linker.instantiate_pre(component)?;
        Ok(Sandbox { pre, limits })
    }

    pub fn instance_pre(&self) -> &InstancePre<HostState> {
        &self.pre
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A fresh store for one instance, with an empty durable store. See
    /// [`Sandbox::new_store_with`].
    pub fn new_store(&self, seeds: &SeedTree, clock: &VirtualClock) -> Store<HostState> {
        let durable = Arc::new(Mutex::new(DurableStore::new(DEFAULT_QUOTA_BYTES)));
        self.new_store_with(seeds, clock, durable)
    }

    /// A fresh store for one instance. Randomness comes from `seeds`, time
    /// from `clock`, durable state from `durable` (pass the crashed
    /// instance's to recover); there are no files, sockets, environment or
    /// arguments.
    pub fn new_store_with(
        &self,
        seeds: &SeedTree,
        clock: &VirtualClock,
        durable: Arc<Mutex<DurableStore>>,
    ) -> Store<HostState> {
        let log = Arc::new(Mutex::new(OutputLog {
            budget: self.limits.log_bytes,
            ..OutputLog::default()
        }));
        let wasi = WasiCtxBuilder::new()
            .wall_clock(WasiWallClock(clock.clone()))
            .monotonic_clock(WasiMonotonicClock(clock.clone()))
            .secure_random(ChaCha8Rng::from_seed(seeds.child_seed("wasi-random")))
            .insecure_random(ChaCha8Rng::from_seed(
                seeds.child_seed("wasi-insecure-random"),
            ))
            .insecure_random_seed(u128::from_le_bytes(
                seeds.child_seed("wasi-insecure-seed")[..16]
                    .try_into()
                    .expect("16 bytes"),
            ))
            .stdout(Capture {
                log: log.clone(),
                stderr: false,
            })
            .stderr(Capture {
                log: log.clone(),
                stderr: true,
            })
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = HostState {
            wasi,
            dependencies: Dependencies::default(),
            durable,
            table: ResourceTable::new(),
            limiter: MemoryCap {
                cap: self.limits.memory_bytes,
                peak: 0,
                refused: None,
            },
            clock: clock.clone(),
            slept_ms: Arc::default(),
            log,
            parks: false,
            imports: Vec::new(),
            serving: Serving::default(),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        // One call's worth until a `Meter` takes over.
        store
            .set_fuel(self.limits.fuel_per_call)
            .expect("fuel is enabled in the engine");
        store
    }
}

/// The fuel a whole scenario may burn, shared by every instance that works
/// for it, so that a plugin slow on every call cannot stretch a run without
/// end even though no single call runs out.
#[derive(Clone, Debug)]
pub struct FuelPool {
    left: Arc<AtomicU64>,
    total: u64,
}

impl FuelPool {
    pub fn new(total: u64) -> Self {
        FuelPool {
            left: Arc::new(AtomicU64::new(total)),
            total,
        }
    }

    pub fn left(&self) -> u64 {
        self.left.load(Ordering::Relaxed)
    }

    fn spend(&self, fuel: u64) {
        let left = self.left().saturating_sub(fuel);
        self.left.store(left, Ordering::Relaxed);
    }
}

/// Meters the calls into one instance: each call may burn the per-call
/// budget or what is left of the pool, whichever is less.
#[derive(Clone, Debug)]
pub struct Meter {
    per_call: u64,
    pool: FuelPool,
}

impl Meter {
    pub fn new(limits: Limits, pool: FuelPool) -> Self {
        Meter {
            per_call: limits.fuel_per_call,
            pool,
        }
    }

    /// Fills the store's tank for one call; pair with [`Meter::finish`].
    pub fn begin(&self, store: &mut Store<HostState>) -> u64 {
        let budget = self.per_call.min(self.pool.left());
        store
            .set_fuel(budget)
            .expect("fuel is enabled in the engine");
        budget
    }

    /// The fuel the call burnt, and its result classified: a value, or an
    /// [`Abort`] if the plugin trapped, ran out of fuel or hit the memory
    /// cap.
    pub fn finish<T>(
        &self,
        store: &mut Store<HostState>,
        budget: u64,
        result: wasmtime::Result<T>,
    ) -> (u64, Result<T, Abort>) {
        let left = store.get_fuel().unwrap_or(0);
        let fuel = budget.saturating_sub(left);
        self.pool.spend(fuel);
        let result = result.map_err(|e| match classify(store, budget, e) {
            Abort::OutOfFuel { .. } if budget < self.per_call => Abort::ScenarioOutOfFuel {
                budget: self.pool.total,
            },
            abort => abort,
        });
        (fuel, result)
    }
}

fn classify(store: &Store<HostState>, budget: u64, e: wasmtime::Error) -> Abort {
    if let Some(crash) = e.downcast_ref::<InjectedCrash>() {
        return Abort::Crash {
            reason: crash.0.clone(),
        };
    }
    if let Some(stopped) = e.downcast_ref::<HostStopped>() {
        return Abort::Stopped {
            reason: stopped.0.clone(),
        };
    }
    let limiter = &store.data().limiter;
    if let Some(requested) = limiter.refused
        && e.downcast_ref::<Trap>()
            .is_some_and(|t| *t != Trap::OutOfFuel)
    {
        // It trapped after a growth was refused: out of memory.
        return Abort::MemoryLimit {
            cap: limiter.cap,
            requested,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Abort::OutOfFuel { budget },
        Some(trap) => Abort::Trap {
            trap: trap.to_string(),
            guest_message: store
                .data()
                .log
                .lock()
                .expect("output log lock")
                .guest_message(),
        },
        None => Abort::Trap {
            trap: crate::engine::first_line(&e),
            guest_message: store
                .data()
                .log
                .lock()
                .expect("output log lock")
                .guest_message(),
        },
    }
}

/// The peak linear memory of an instance so far, in bytes.
pub fn peak_memory(store: &Store<HostState>) -> usize {
    store.data().limiter.peak
}

/// The virtual time an instance has spent sleeping so far.
pub fn slept_ms(store: &Store<HostState>) -> u64 {
    store.data().slept_ms.load(Ordering::Relaxed)
}

/// The output an instance has produced so far.
pub fn output(store: &Store<HostState>) -> (String, u64) {
    let log = store.data().log.lock().expect("output log lock");
    (log.text.clone(), log.dropped_bytes)
}
