//! Native tests of the core, over fake imports that can crash the pipeline
//! at any import call (see [`harness`]).

mod harness;

mod answers;
mod archive;
mod crash;
mod errors;
mod happy;
mod large;
mod pacing;
mod rules;
mod words;
