//! The integration tests, in one binary (one link of wasmtime).

mod bad_input;
mod cli;
mod common;
mod componentize;
mod concurrency;
mod determinism;
mod html;
mod job_queue_plugins;
mod new;
mod other_languages;
mod payments_plugins;
mod plugins;
mod sandbox;
mod scenarios;
mod traced_plugins;
mod tweet_audit_plugins;
