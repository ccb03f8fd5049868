//! Every example payment gateway gets the verdict it was written to get: the
//! naive one and the allowed variants (other retry budgets and backoffs)
//! pass everything, on several seeds; each buggy one is caught by the check
//! named in its README.

use gauntlet::check::Verdict;
use gauntlet::runner::{RunReport, ScenarioReport};

use crate::common::{only, passes_everything_on_every_seed, plugin_wasm, test_component};

fn failed(r: &ScenarioReport) -> Vec<&'static str> {
    r.failed_checks().map(|c| c.name).collect()
}

/// Runs one scenario and asserts that it fails `check`; returns the report.
fn caught(plugin: &str, scenario: &str, check: &str) -> RunReport {
    let report = test_component(&plugin_wasm(plugin), Some(scenario));
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Fail, "{scenario}: {:#?}", r.checks);
    assert!(
        failed(r).contains(&check),
        "{plugin} on {scenario}: {check} did not fail: {:#?}",
        r.checks
    );
    report
}

#[test]
fn fresh_bank_key_is_caught_by_one_hold_per_payment() {
    let report = caught(
        "payment-gateway/fresh-bank-key",
        "timeout-after-commit-authorize",
        "one-hold-per-payment",
    );
    // The first hold is orphaned: no payment names it.
    assert!(failed(only(&report)).contains(&"bank-agrees"));
    // After a capture's timeout, the fresh key gets `already-used`: the
    // payment is captured, but without the receipt the reference has.
    caught(
        "payment-gateway/fresh-bank-key",
        "timeout-after-commit-capture",
        "reference-diff",
    );
}

#[test]
fn empty_void_key_is_stopped_and_caught_by_bank_keys() {
    let report = caught("payment-gateway/empty-void-key", "happy-path", "bank-keys");
    let r = only(&report);
    let check = r.checks.iter().find(|c| c.name == "bank-keys").unwrap();
    assert!(
        check
            .message
            .contains("bank.void was called with an empty idempotency key"),
        "{check:?}"
    );
    // A stop for an empty key is not a retry-contract failure.
    assert!(!failed(r).contains(&"retry-contract"), "{:#?}", r.checks);
}

#[test]
fn retries_permanent_errors_is_caught_by_permanent_errors_once() {
    caught(
        "payment-gateway/retries-permanent-errors",
        "permanent-errors",
        "permanent-errors-once",
    );
}

#[test]
fn memory_idempotency_is_caught_by_one_hold_per_payment_after_a_crash() {
    caught(
        "payment-gateway/memory-idempotency",
        "crash-after-bank-answered",
        "one-hold-per-payment",
    );
    // Without crashes, guest memory is as good as the store.
    let report = test_component(
        &plugin_wasm("payment-gateway/memory-idempotency"),
        Some("idempotency"),
    );
    let r = only(&report);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
}

#[test]
fn accepts_key_reuse_is_caught_by_key_reuse_refused() {
    caught(
        "payment-gateway/accepts-key-reuse",
        "idempotency",
        "key-reuse-refused",
    );
}

#[test]
fn asks_bank_first_is_caught_by_no_call_for_invalid_transition() {
    let report = caught(
        "payment-gateway/asks-bank-first",
        "illegal-transitions",
        "no-call-for-invalid-transition",
    );
    // Its answers are the reference's: only the bank calls give it away.
    assert_eq!(
        failed(only(&report)),
        ["no-call-for-invalid-transition"],
        "{:#?}",
        only(&report).checks
    );
}

#[test]
fn memory_idempotency_is_caught_by_idempotent_replay_when_a_crash_comes_between() {
    // In the generated workload, a client retry after a crash finds no
    // record of its first answer and is answered anew.
    caught(
        "payment-gateway/memory-idempotency",
        "generated-workload",
        "idempotent-replay",
    );
}

#[test]
fn a_second_hold_is_caught_by_the_bank_side_diff_too() {
    caught(
        "payment-gateway/fresh-bank-key",
        "timeout-after-commit-authorize",
        "bank-effects-match",
    );
}

// ---- the retry contract: budgets and backoffs are the gateway's choice ----

#[test]
fn naive_gateway_passes_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("payment-gateway/naive", 16);
}

#[test]
fn a_gateway_retrying_twice_at_once_passes_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("payment-gateway/retry-2-immediate", 16);
}

#[test]
fn a_gateway_retrying_three_times_a_second_apart_passes_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("payment-gateway/retry-3-fixed", 16);
}

#[test]
fn a_gateway_retrying_six_times_with_linear_backoff_passes_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("payment-gateway/retry-6-linear", 16);
}

#[test]
fn a_gateway_retrying_eight_times_with_capped_backoff_passes_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("payment-gateway/retry-8-capped", 16);
}

/// The message of `check`, which must fail on `scenario`.
fn message_of(plugin: &str, scenario: &str, check: &str) -> String {
    let report = caught(plugin, scenario, check);
    let r = only(&report);
    r.failed_checks()
        .find(|c| c.name == check)
        .map(|c| c.message.clone())
        .unwrap()
}

#[test]
fn never_retries_is_caught_by_retry_contract() {
    let message = message_of(
        "payment-gateway/never-retries",
        "transient-unavailable",
        "retry-contract",
    );
    assert!(
        message.contains("answered bank-unavailable after 1 attempt(s) of bank.authorize"),
        "{message}"
    );
}

#[test]
fn retries_once_is_caught_by_retry_contract() {
    let message = message_of(
        "payment-gateway/retries-once",
        "transient-unavailable",
        "retry-contract",
    );
    assert!(message.contains("after 2 attempt(s)"), "{message}");
}

#[test]
fn retries_too_long_is_caught_by_retry_contract() {
    let message = message_of(
        "payment-gateway/retries-too-long",
        "transient-unavailable",
        "retry-contract",
    );
    assert!(
        message.contains("was attempted 10 times") && message.contains("gives up within 60000 ms"),
        "{message}"
    );
}

#[test]
fn retries_forever_is_stopped_and_caught_by_retry_contract() {
    let report = caught(
        "payment-gateway/retries-forever",
        "transient-unavailable",
        "retry-contract",
    );
    let r = only(&report);
    // gauntlet stopped it: a failure of the contract, not a trap.
    assert_eq!(r.verdict, Verdict::Fail);
    let message = &r
        .failed_checks()
        .find(|c| c.name == "retry-contract")
        .unwrap()
        .message;
    assert!(message.contains("was attempted 100 times"), "{message}");
    assert!(failed(r).contains(&"completes"), "{:#?}", r.checks);
}

// ---- gaps closed: bugs that escaped every check before ----------------------

#[test]
fn expired_as_transient_is_caught_by_permanent_errors_once_whatever_the_answer() {
    // The shop hears bank-unavailable, not a permanent error: the bank
    // calls after the decline give it away.
    let message = message_of(
        "payment-gateway/expired-as-transient",
        "permanent-errors",
        "permanent-errors-once",
    );
    assert!(
        message.contains("refused for good at attempt 1")
            && message.contains("answered error bank-unavailable"),
        "{message}"
    );
}

#[test]
fn refund_timeout_as_failure_is_caught_by_bank_agrees_both_ways() {
    // Its state is backed by the bank; the bank did more than it says.
    let message = message_of(
        "payment-gateway/refund-timeout-as-failure",
        "timeout-after-commit-refund",
        "bank-agrees",
    );
    assert!(
        message.contains("is captured at the gateway, but the bank refunded its capture"),
        "{message}"
    );
}

#[test]
fn counter_in_memory_is_caught_after_a_crash() {
    // The next payment after a crash gets an earlier payment's id.
    caught(
        "payment-gateway/counter-in-memory",
        "crash-after-bank-answered",
        "expectations",
    );
    // Without crashes, guest memory is as good as the store.
    let report = test_component(
        &plugin_wasm("payment-gateway/counter-in-memory"),
        Some("idempotency"),
    );
    assert_eq!(
        only(&report).verdict,
        Verdict::Pass,
        "{:#?}",
        only(&report).checks
    );
}
