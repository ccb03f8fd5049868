//! Native tests of the core, against the host's own mock bank (compiled in
//! from `host/src/track/payments/bank.rs`) behind a fault-injecting wrapper,
//! an in-memory store and a virtual clock (see [`harness`]).

mod harness;

mod crash;
mod faults;
mod happy;
mod idempotency;
mod transitions;
mod workload;
