//! Every example tweet-audit pipeline gets the verdict it was written to
//! get: the naive one passes everything; each buggy one is caught by the
//! check named in its README, and the message names what went wrong.

use gauntlet::check::Status;

use crate::common::{only, passes_everything_on_every_seed, plugin_wasm, test_component};

#[test]
fn naive_pipeline_passes_every_scenario_on_every_seed() {
    // Batches of 10, no pacing of its own: the reference's taste is not
    // the contract.
    passes_everything_on_every_seed("tweet-audit/naive", 20);
}

#[test]
fn batches_of_seven_with_a_longer_backoff_pass_every_scenario_on_every_seed() {
    passes_everything_on_every_seed("tweet-audit/batch-7-patient", 20);
}

/// Runs one scenario against a buggy pipeline and returns the message of
/// `check`, which must have failed.
fn caught(plugin: &str, scenario: &str, check: &str) -> String {
    let report = test_component(&plugin_wasm(plugin), Some(scenario));
    let r = only(&report);
    let failed = r
        .checks
        .iter()
        .find(|c| c.name == check && c.status == Status::Fail)
        .unwrap_or_else(|| {
            panic!(
                "{plugin} on {scenario}: {check} did not fail: {:#?}",
                r.checks
            )
        });
    assert!(failed.call.is_some(), "{check} names no call: {failed:?}");
    failed.message.clone()
}

#[test]
fn re_appending_rows_after_a_crash_is_caught_by_deletes_exactly_once() {
    let message = caught(
        "tweet-audit/reappends-after-crash",
        "crash-every-3rd-call",
        "deletes-exactly-once",
    );
    assert!(
        message.contains("appended again") && message.contains("after model call #"),
        "{message}"
    );
}

#[test]
fn hammering_through_429s_is_caught_by_rate_limit_respected() {
    let message = caught(
        "tweet-audit/hammers-429",
        "storm-429",
        "rate-limit-respected",
    );
    assert!(message.contains("in the same minute"), "{message}");
}

#[test]
fn retrying_a_403_is_caught_by_permanent_errors_stop() {
    let message = caught(
        "tweet-audit/retries-403",
        "bad-key",
        "permanent-errors-stop",
    );
    assert!(
        message.contains("model call #2 came after call #1 was rejected for good (403)"),
        "{message}"
    );
}

#[test]
fn trusting_bad_model_output_is_caught_by_no_false_rows() {
    let message = caught(
        "tweet-audit/trusts-bad-output",
        "malformed-output",
        "no-false-rows",
    );
    assert!(
        message.contains("which the model keeps") && message.contains("decides nothing"),
        "{message}"
    );
}

#[test]
fn unescaped_csv_is_caught_by_csv_exact() {
    let message = caught(
        "tweet-audit/breaks-csv-escaping",
        "csv-escaping",
        "csv-exact",
    );
    assert!(message.contains("RFC 4180"), "{message}");
}

#[test]
fn retrying_without_backoff_is_caught_by_backoff_respected() {
    let message = caught(
        "tweet-audit/retries-without-backoff",
        "transient-errors",
        "backoff-respected",
    );
    assert!(
        message.contains("came 100 ms after call #1") && message.contains("at least 1000 ms"),
        "{message}"
    );
}

#[test]
fn deciding_without_a_valid_answer_is_caught_by_every_tweet_classified() {
    // The tweet a bad answer left undecided was written as DELETE without
    // the model ever deciding it.
    let message = caught(
        "tweet-audit/trusts-bad-output",
        "malformed-output",
        "every-tweet-classified",
    );
    assert!(
        message.contains("was never classified: no answer the pipeline saw decided it"),
        "{message}"
    );
}

#[test]
fn redoing_a_finished_audit_is_caught_by_rerun_does_nothing() {
    // The rewritten file is byte for byte the first one: only the model's
    // call log and the file's changes show the second audit.
    let message = caught(
        "tweet-audit/redoes-finished-audit",
        "rerun",
        "rerun-does-nothing",
    );
    assert!(
        message.contains("made model call #") && message.contains("after the audit had finished"),
        "{message}"
    );
}

#[test]
fn a_retweet_marker_in_any_case_is_caught_by_every_tweet_classified() {
    let message = caught(
        "tweet-audit/retweets-any-case",
        "retweet-markers",
        "every-tweet-classified",
    );
    assert!(
        message.contains("(\"rt @friend: lowercase is no retweet\") was never classified"),
        "{message}"
    );
}

#[test]
fn trusting_the_retweeted_flag_is_caught_by_every_tweet_classified() {
    let message = caught(
        "tweet-audit/trusts-retweeted-flag",
        "retweet-markers",
        "every-tweet-classified",
    );
    assert!(
        message.contains("an ordinary tweet the archive flags")
            && message.contains("was never classified"),
        "{message}"
    );
}

#[test]
fn quoting_only_fields_with_commas_is_caught_by_csv_exact() {
    let message = caught(
        "tweet-audit/quotes-only-commas",
        "csv-quote-only",
        "csv-exact",
    );
    assert!(
        message.contains(r#"expected `"https://x.com/the ""real"" me/status/"#)
            && message.contains("got `https://x.com/the \"real\" me/status/"),
        "{message}"
    );
}
