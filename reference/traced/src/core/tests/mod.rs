//! Native tests of the core: the collector driven call by call at chosen
//! clock readings (see [`harness`]).

mod harness;

mod listing;
mod memory;
mod rules;
mod traces;
mod validation;
mod window;
