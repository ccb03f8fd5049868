//! Same seed, same component, same result, byte for byte.

use gauntlet::sim::SeedTree;
use gauntlet::track::{Track, rate_limiter};

use crate::common::reference;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn every_rate_limiter_scenario_replays_byte_for_byte() {
    let track = Track::named("rate-limiter").unwrap();
    let reference = reference("rate-limiter");
    let rt = runtime();
    for source in track.scenarios() {
        let scenario = rate_limiter::scenario::Scenario::load(&source, None).unwrap();
        let seeds = SeedTree::new(scenario.seed);
        let first = rt.block_on(rate_limiter::run(&reference.sandbox, &scenario.plan, seeds));
        let second = rt.block_on(rate_limiter::run(&reference.sandbox, &scenario.plan, seeds));
        let (a, b) = (
            first.history.to_json_lines(),
            second.history.to_json_lines(),
        );
        assert!(!a.is_empty());
        assert!(a == b, "scenario {} replayed differently", scenario.name);
    }
}

#[test]
fn another_seed_generates_another_workload() {
    let track = Track::named("rate-limiter").unwrap();
    let source = track
        .select_scenarios(Some("zipf-workload"))
        .unwrap()
        .remove(0);
    let plan = |seed| {
        let scenario = rate_limiter::scenario::Scenario::load(&source, Some(seed)).unwrap();
        serde_json::to_string(&scenario.plan).unwrap()
    };
    assert_eq!(plan(1), plan(1));
    assert_ne!(plan(1), plan(2));
}

#[test]
fn the_seed_reaches_the_plugin_only_through_its_own_children() {
    let seeds = SeedTree::new(42);
    assert_eq!(
        seeds.child_seed("workload"),
        SeedTree::new(42).child_seed("workload")
    );
    assert_ne!(
        seeds.child_seed("workload"),
        seeds.child_seed("wasi-random")
    );
    assert_ne!(
        seeds.child_seed("workload"),
        SeedTree::new(43).child_seed("workload")
    );
}

#[test]
fn every_payment_scenario_replays_byte_for_byte() {
    use gauntlet::track::payments;
    let track = Track::named("payment-gateway").unwrap();
    let reference = reference("payment-gateway");
    let rt = runtime();
    for source in track.scenarios() {
        let scenario = payments::scenario::Scenario::load(&source, None).unwrap();
        let first = rt.block_on(payments::run(&reference.sandbox, &scenario));
        let second = rt.block_on(payments::run(&reference.sandbox, &scenario));
        let (a, b) = (
            first.history.to_json_lines(),
            second.history.to_json_lines(),
        );
        assert!(!a.is_empty());
        assert!(a == b, "scenario {} replayed differently", scenario.name);
        let ledger = |run: &payments::Run| serde_json::to_string(run.bank.bank.ledger()).unwrap();
        assert_eq!(
            ledger(&first),
            ledger(&second),
            "scenario {}",
            scenario.name
        );
        assert_eq!(first.durable, second.durable, "scenario {}", scenario.name);
    }
}

#[test]
fn every_job_queue_scenario_replays_byte_for_byte() {
    use gauntlet::track::job_queue;
    let track = Track::named("job-queue").unwrap();
    let reference = reference("job-queue");
    let rt = runtime();
    for source in track.scenarios() {
        let scenario = job_queue::scenario::Scenario::load(&source, None).unwrap();
        let first = rt.block_on(job_queue::run(&reference.sandbox, &scenario));
        let second = rt.block_on(job_queue::run(&reference.sandbox, &scenario));
        let (a, b) = (
            first.history.to_json_lines(),
            second.history.to_json_lines(),
        );
        assert!(!a.is_empty());
        assert!(a == b, "scenario {} replayed differently", scenario.name);
        assert_eq!(first.durable, second.durable, "scenario {}", scenario.name);
        assert_eq!(first.settled, second.settled, "scenario {}", scenario.name);
    }
}

#[test]
fn the_generated_job_workload_draws_fates_per_job_and_attempt() {
    use gauntlet::track::job_queue::model::Fate;
    use gauntlet::track::job_queue::scenario::Scenario;
    let source = Track::named("job-queue")
        .unwrap()
        .select_scenarios(Some("generated-workload"))
        .unwrap()
        .remove(0);
    let scenario = Scenario::load(&source, None).unwrap();
    let fates = scenario.fates.expect("a generated workload has fates");
    let seeds = SeedTree::new(scenario.seed);
    // The same (job, attempt) always meets the same fate, whoever asks.
    let draw = |job: &str, attempt| fates.draw(&seeds, job, attempt);
    assert_eq!(draw("j7", 1), draw("j7", 1));
    // Over many runs, about the scenario's 10% end otherwise than complete
    // (plus the 1% of poison jobs).
    let not_complete = (0..20_000)
        .filter(|i| draw(&format!("j{i}"), 1) != Fate::Complete)
        .count();
    assert!((1_800..2_600).contains(&not_complete), "{not_complete}");
}

#[test]
fn every_traced_scenario_replays_byte_for_byte() {
    use gauntlet::track::traced;
    let track = Track::named("traced").unwrap();
    let reference = reference("traced");
    let rt = runtime();
    for source in track.scenarios() {
        let scenario = traced::scenario::Scenario::load(&source, None).unwrap();
        let again = traced::scenario::Scenario::load(&source, None).unwrap();
        assert_eq!(scenario.plan, again.plan, "{}", scenario.name);
        let first = rt.block_on(traced::run(&reference.sandbox, &scenario));
        let second = rt.block_on(traced::run(&reference.sandbox, &scenario));
        let (a, b) = (
            first.history.to_json_lines(),
            second.history.to_json_lines(),
        );
        assert!(!a.is_empty());
        assert!(a == b, "scenario {} replayed differently", scenario.name);
    }
}

#[test]
fn every_tweet_audit_scenario_replays_byte_for_byte() {
    use gauntlet::track::tweet_audit;
    let track = Track::named("tweet-audit").unwrap();
    let reference = reference("tweet-audit");
    let rt = runtime();
    for source in track.scenarios() {
        if source.name == "large-archive" {
            // The same code path as the others, at 50 times the size.
            continue;
        }
        let scenario = tweet_audit::scenario::Scenario::load(&source, None).unwrap();
        let again = tweet_audit::scenario::Scenario::load(&source, None).unwrap();
        assert_eq!(scenario.plan, again.plan, "{}", scenario.name);
        assert_eq!(scenario.files, again.files, "{}", scenario.name);
        let first = rt.block_on(tweet_audit::run(&reference.sandbox, &scenario));
        let second = rt.block_on(tweet_audit::run(&reference.sandbox, &scenario));
        assert!(!first.history.to_json_lines().is_empty());
        assert!(
            first.history.to_json_lines() == second.history.to_json_lines(),
            "scenario {} replayed differently",
            scenario.name
        );
        assert_eq!(first.model.calls, second.model.calls, "{}", scenario.name);
        assert_eq!(first.file.lines, second.file.lines, "{}", scenario.name);
    }
}
