//! One replica of a plugin: a live instance over the run's durable store
//! and dependencies, replaced after every injected crash (a fresh
//! instance, `recover`, then the call made again). The crash-and-recover
//! loop every stateful track needs, written once: a sequential run serves
//! every call through one replica, a concurrent run
//! ([`crate::concurrent`]) through several over the same store.

use std::future::Future;
use std::sync::{Arc, Mutex};

use wasmtime::Store;

use crate::sandbox::{Abort, Dependencies, HostState, Meter, Sandbox, VirtualClock};
use crate::sim::SeedTree;
use crate::store::DurableStore;

/// Crashes in a row while serving one call before the run is stopped: a
/// scenario that crashes the plugin every time can never finish.
pub const MAX_CRASHES_PER_CALL: u32 = 8;

/// A track's bindings, as a replica instantiates and recovers them.
pub trait Component: Sized {
    /// Instantiates the sandbox's component in `store`.
    fn instantiate(
        sandbox: &Sandbox,
        store: &mut Store<HostState>,
    ) -> impl Future<Output = wasmtime::Result<Self>>;

    /// The track's `recover`, called on an instance that replaces a crashed
    /// one before anything else.
    fn recover(&self, store: &mut Store<HostState>) -> impl Future<Output = wasmtime::Result<()>>;
}

/// One call into a component, owned: it is made again after a crash.
pub trait Request<P> {
    type Response;

    fn send(
        &self,
        store: &mut Store<HostState>,
        plugin: &P,
    ) -> impl Future<Output = wasmtime::Result<Self::Response>>;
}

/// What serving one call cost, and its result.
pub struct Served<T> {
    pub fuel: u64,
    /// Crashes injected while serving it (the instance replaced each time).
    pub crashes: u32,
    pub result: Result<T, Abort>,
}

/// A replica: at most one live instance at a time, and whether the next
/// one replaces a crashed one (and so must `recover` first).
pub struct Replica<'s, P> {
    sandbox: &'s Sandbox,
    seeds: SeedTree,
    clock: VirtualClock,
    meter: Meter,
    durable: Arc<Mutex<DurableStore>>,
    dependencies: Dependencies,
    /// Whether its imports are scheduling points (a concurrent run).
    parks: bool,
    live: Option<(Store<HostState>, P)>,
    replacing: bool,
    /// The client step being served (see [`crate::sandbox::Serving`]).
    step: u64,
}

impl<'s, P: Component> Replica<'s, P> {
    pub fn new(
        sandbox: &'s Sandbox,
        seeds: SeedTree,
        clock: VirtualClock,
        meter: Meter,
        durable: Arc<Mutex<DurableStore>>,
        dependencies: Dependencies,
    ) -> Self {
        Replica {
            sandbox,
            seeds,
            clock,
            meter,
            durable,
            dependencies,
            parks: false,
            live: None,
            replacing: false,
            step: 0,
        }
    }

    /// Makes every instance of this replica park at its imports.
    pub fn parking(mut self) -> Self {
        self.parks = true;
        self
    }

    /// Marks the client step this replica serves from now on: its
    /// instances, the ones replacing a crashed one included, tell the
    /// track's dependencies so.
    pub fn serve_step(&mut self, step: u64) {
        self.step = step;
        if let Some((store, _)) = &mut self.live {
            store.data_mut().serving.step = step;
        }
    }

    /// The live instance's store, if there is one.
    pub fn store(&self) -> Option<&Store<HostState>> {
        self.live.as_ref().map(|(store, _)| store)
    }

    /// The imports the live instance parked at since last asked.
    pub fn take_imports(&mut self) -> Vec<&'static str> {
        self.live
            .as_mut()
            .map(|(store, _)| store.data_mut().take_imports())
            .unwrap_or_default()
    }

    /// Discards the instance, as a crash between calls does: the next call
    /// gets a fresh one, recovered.
    pub fn crash(&mut self) {
        self.live = None;
        self.replacing = true;
    }

    /// The live instance, made (and recovered, if it replaces a crashed
    /// one) if need be. Returns the fuel burnt doing so.
    pub async fn ensure_live(&mut self) -> Result<u64, Abort> {
        if self.live.is_some() {
            return Ok(0);
        }
        let mut store = self
            .sandbox
            .new_store_with(&self.seeds, &self.clock, self.durable.clone());
        store.data_mut().set_dependencies(self.dependencies.clone());
        store.data_mut().park_at_imports(self.parks);
        store.data_mut().serving.step = self.step;
        let budget = self.meter.begin(&mut store);
        let result = P::instantiate(self.sandbox, &mut store).await;
        let (mut fuel, plugin) = self.meter.finish(&mut store, budget, result);
        let plugin = plugin?;
        if self.replacing {
            let budget = self.meter.begin(&mut store);
            let result = plugin.recover(&mut store).await;
            let (spent, result) = self.meter.finish(&mut store, budget, result);
            fuel += spent;
            result?;
            self.replacing = false;
        }
        self.live = Some((store, plugin));
        Ok(fuel)
    }

    /// Makes `request` on the live instance, replacing the instance and
    /// making it again after each injected crash, up to
    /// [`MAX_CRASHES_PER_CALL`].
    pub async fn serve<R: Request<P>>(&mut self, request: &R) -> Served<R::Response> {
        let mut fuel = 0;
        let mut crashes = 0;
        loop {
            let result = match self.ensure_live().await {
                Ok(spent) => {
                    fuel += spent;
                    let (store, plugin) = self.live.as_mut().expect("a live instance");
                    let budget = self.meter.begin(store);
                    let result = request.send(store, plugin).await;
                    let (spent, result) = self.meter.finish(store, budget, result);
                    fuel += spent;
                    result
                }
                Err(abort) => Err(abort),
            };
            match result {
                Err(Abort::Crash { reason }) => {
                    crashes += 1;
                    self.crash();
                    if crashes > MAX_CRASHES_PER_CALL {
                        return Served {
                            fuel,
                            crashes,
                            result: Err(Abort::Crash { reason }),
                        };
                    }
                }
                result => {
                    return Served {
                        fuel,
                        crashes,
                        result,
                    };
                }
            }
        }
    }
}
