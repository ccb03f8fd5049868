//! Reading the model's answer: which tweets it decided, and how.
//!
//! A tweet is decided only by an object of the answer's top-level JSON
//! array whose `id` is the tweet's id (a string) and whose `decision` is
//! exactly `"DELETE"` or `"KEEP"`. Text that is not a JSON array decides
//! nothing; an element that is not such an object decides nothing; ids
//! answered twice with different decisions stay undecided.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Delete,
    Keep,
}

/// The decisions an answer holds, by tweet id.
pub fn decisions(answer: &str) -> BTreeMap<String, Decision> {
    let Ok(items) = serde_json::from_str::<Vec<Value>>(answer) else {
        return BTreeMap::new();
    };
    let mut found: BTreeMap<String, Option<Decision>> = BTreeMap::new();
    for item in &items {
        let Some(Value::String(id)) = item.get("id") else {
            continue;
        };
        let decision = match item.get("decision") {
            Some(Value::String(d)) if d == "DELETE" => Decision::Delete,
            Some(Value::String(d)) if d == "KEEP" => Decision::Keep,
            _ => continue,
        };
        found
            .entry(id.clone())
            .and_modify(|seen| {
                if *seen != Some(decision) {
                    *seen = None;
                }
            })
            .or_insert(Some(decision));
    }
    found
        .into_iter()
        .filter_map(|(id, d)| d.map(|d| (id, d)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(answer: &str) -> Vec<(String, Decision)> {
        decisions(answer).into_iter().collect()
    }

    #[test]
    fn a_well_formed_answer_decides_every_object_in_any_order() {
        let got = list(
            r#"[{"id": "2", "decision": "KEEP", "reason": "fine"},
                {"id": "1", "decision": "DELETE", "reason": "rude, \"very\""}]"#,
        );
        assert_eq!(
            got,
            vec![
                ("1".to_string(), Decision::Delete),
                ("2".to_string(), Decision::Keep)
            ]
        );
    }

    #[test]
    fn malformed_text_decides_nothing() {
        for answer in [
            "",
            "DELETE",
            "[{\"id\": \"1\", \"decision\": \"DELETE\"}",
            "[{\"id\": \"1\", \"decision\": \"DELETE\"}] trailing",
            "{\"id\": \"1\", \"decision\": \"DELETE\"}",
            "```json\n[{\"id\": \"1\", \"decision\": \"DELETE\"}]\n```",
            "null",
            "[]",
        ] {
            assert!(decisions(answer).is_empty(), "{answer}");
        }
    }

    #[test]
    fn objects_without_a_valid_decision_decide_nothing() {
        let got = list(
            r#"[{"id": "1", "reason": "no decision"},
                {"id": "2", "decision": "delete"},
                {"id": "3", "decision": "MAYBE"},
                {"id": "4", "decision": null},
                {"id": "5", "decision": true},
                {"id": 6, "decision": "DELETE"},
                {"decision": "DELETE"},
                "7",
                ["8", "DELETE"],
                {"id": "9", "decision": "KEEP "},
                {"id": "10", "decision": "KEEP"}]"#,
        );
        assert_eq!(got, vec![("10".to_string(), Decision::Keep)]);
    }

    #[test]
    fn contradictory_answers_for_one_id_decide_nothing() {
        let got = list(
            r#"[{"id": "1", "decision": "DELETE"}, {"id": "1", "decision": "KEEP"},
                {"id": "2", "decision": "KEEP"}, {"id": "2", "decision": "KEEP"}]"#,
        );
        assert_eq!(got, vec![("2".to_string(), Decision::Keep)]);
    }
}
