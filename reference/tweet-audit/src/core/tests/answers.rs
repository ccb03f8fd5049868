//! What the model answers: only a valid decision decides a tweet; bad
//! output never makes a row.

use super::harness::{Answer, Archive, Env, expected_lines, numbered, refs};
use crate::core::{Decision, decisions};

const D: Option<Decision> = Some(Decision::Delete);
const K: Option<Decision> = Some(Decision::Keep);

#[test]
fn an_answer_decides_by_id_in_any_order() {
    let text = r#"[{"id": "2", "decision": "KEEP", "reason": "fine"},
                   {"id": "1", "decision": "DELETE", "reason": "rude"}]"#;
    assert_eq!(decisions(text, &["1", "2"]), [D, K]);
    assert_eq!(decisions(&format!("  {text}\n"), &["1", "2"]), [D, K]);
}

#[test]
fn anything_but_an_exact_decision_decides_nothing() {
    let ids = ["1", "2"];
    for text in [
        "",
        "not json",
        "[{\"id\": \"1\", \"decision\": \"DEL",
        r#"{"id": "1", "decision": "DELETE"}"#,
        "```json\n[{\"id\": \"1\", \"decision\": \"DELETE\"}]\n```",
        r#"[{"id": "1", "decision": "DELETE"}] trailing"#,
        "null",
        "[]",
    ] {
        assert_eq!(decisions(text, &ids), [None, None], "{text}");
    }
    let text = r#"[
        {"id": "1", "decision": "delete"},
        {"id": "2", "decision": " KEEP"},
        {"id": 1, "decision": "DELETE"},
        {"id": "2"},
        {"decision": "DELETE"},
        {"id": "1", "decision": null},
        {"id": "2", "decision": ["KEEP"]},
        "DELETE",
        null,
        {"id": "3", "decision": "DELETE"}
    ]"#;
    assert_eq!(decisions(text, &ids), [None, None]);
}

#[test]
fn good_objects_decide_beside_bad_ones_and_contradictions_do_not() {
    let text = r#"[
        7,
        {"id": "1", "decision": "MAYBE"},
        {"id": "2", "decision": "DELETE", "extra": {"nested": true}},
        {"id": "3", "decision": "KEEP"},
        {"id": "3", "decision": "DELETE"},
        {"id": "4", "decision": "KEEP"},
        {"id": "4", "decision": "KEEP"}
    ]"#;
    assert_eq!(decisions(text, &["1", "2", "3", "4"]), [None, D, None, K]);
}

/// Runs `numbered(1, 40)` answering request `i` as `bad[i]`, and checks
/// the file is exact (every bad answer re-asked).
fn run_with_bad_answers(bad: Vec<Answer>) -> Env {
    run_many_with_bad_answers(40, bad)
}

fn run_many_with_bad_answers(n: u64, bad: Vec<Answer>) -> Env {
    let env = Env::new();
    env.script(bad);
    let tweets = numbered(1, n);
    let archive = Archive::of(&refs(&tweets));
    let summary = env.run(&archive).unwrap().unwrap();
    assert_eq!(env.lines(), expected_lines(&archive));
    assert_eq!(summary.deleted as usize, env.lines().len() - 1);
    assert_eq!(
        u64::from(summary.deleted + summary.kept + summary.retweets),
        n
    );
    env
}

#[test]
fn malformed_text_decides_nothing_and_the_batch_is_asked_again() {
    let env = run_with_bad_answers(vec![Answer::Malformed, Answer::Malformed]);
    let calls = env.calls();
    assert_eq!(calls[0].ids, calls[1].ids);
    assert_eq!(calls[1].ids, calls[2].ids);
}

#[test]
fn a_tweet_left_out_or_badly_decided_is_asked_again_first() {
    for bad in [
        Answer::Omit(0),
        Answer::NoDecision(0),
        Answer::Unknown(0),
        Answer::Lowercase(0),
    ] {
        let env = run_with_bad_answers(vec![bad.clone()]);
        let calls = env.calls();
        // The first tweet of the first batch leads the second batch; the
        // rest of the first batch is not asked again.
        assert_eq!(calls[1].ids[0], calls[0].ids[0], "{bad:?}");
        assert!(
            calls[1].ids[1..]
                .iter()
                .all(|id| !calls[0].ids.contains(id)),
            "{bad:?}"
        );
    }
}

#[test]
fn rows_after_an_undecided_tweet_wait_for_it() {
    // Tweet 3 (#bad) is asked in the first batch and left out three times;
    // 6, 9, 12 (#bad, decided at once) must still come after it.
    let env = run_with_bad_answers(vec![Answer::Omit(2), Answer::Omit(0), Answer::Omit(0)]);
    let calls = env.calls();
    assert_eq!(calls[0].ids[2], "3");
    assert_eq!(calls[1].ids[0], "3");
    assert_eq!(calls[2].ids[0], "3");
    assert_eq!(calls[3].ids[0], "3");
}

#[test]
fn bad_answers_anywhere_never_make_a_row_for_a_kept_tweet() {
    // Every shape of bad answer at every position of the first batches.
    let mut script = Vec::new();
    for at in 0..10 {
        script.push(Answer::Omit(at));
        script.push(Answer::Malformed);
        script.push(Answer::NoDecision(at));
        script.push(Answer::Unknown((at + 3) % 10));
        script.push(Answer::Lowercase((at + 5) % 10));
    }
    let env = run_many_with_bad_answers(1_000, script);
    // Every scripted answer was given.
    assert!(env.calls().len() > 50, "{}", env.calls().len());
}

/// The answer is read as into `Vec<serde_json::Value>`, a key's last value
/// winning: the same decisions as reading it that way.
#[test]
fn an_answer_reads_as_json_values_do() {
    fn by_values(text: &str, ids: &[&str]) -> Vec<Option<Decision>> {
        let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(text) else {
            return vec![None; ids.len()];
        };
        let mut out: Vec<Option<Option<Decision>>> = vec![None; ids.len()];
        for item in &items {
            let id = item.get("id").and_then(serde_json::Value::as_str);
            let decision = match item.get("decision").and_then(serde_json::Value::as_str) {
                Some("DELETE") => D,
                Some("KEEP") => K,
                _ => continue,
            };
            for (i, known) in ids.iter().enumerate() {
                if Some(*known) == id {
                    out[i] = match out[i] {
                        Some(previous) if previous != decision => Some(None),
                        Some(previous) => Some(previous),
                        None => Some(decision),
                    };
                }
            }
        }
        out.into_iter().map(Option::flatten).collect()
    }
    let ids = ["1", "2"];
    for text in [
        r#"[{"id": "1", "id": 1, "decision": "KEEP"}]"#,
        r#"[{"id": 1, "id": "1", "decision": "DELETE", "decision": "KEEP"}]"#,
        r#"[{"id": "\u0031", "decision": "DEL\u0045TE"}]"#,
        r#"[{"id": "1", "decision": "KEEP", "n": 1e400}]"#,
        r#"[{"id": "1", "decision": "KEEP", "n": 1e300, "x": [{"a": [null, true, -0.5]}]}]"#,
        r#"[{"id": "1", "decision": "KEEP", "s": "\ud800"}]"#,
        r#"[{"id": "2", "decision": "KEEP"}, [1, {"id": "1"}], "x", 3, null]"#,
        r#"[{"id": "1", "decision": "KEEP"}, {"id": "1", "decision": "DELETE"}]"#,
        r#"[{"id": "1", "decision": "KEEP"} {"id": "2", "decision": "KEEP"}]"#,
        r#"[{"id": "1", "decision": "KEEP",}]"#,
    ] {
        assert_eq!(decisions(text, &ids), by_values(text, &ids), "{text}");
    }
}
