//! Native tests of the core, over an in-memory store and a virtual clock
//! that can crash the queue before any store call (see [`harness`]).

mod harness;

mod crash;
mod errors;
mod expiry;
mod happy;
mod order;
mod replicas;
mod retry;
mod rules;
mod workload;
