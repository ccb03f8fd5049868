//! Reading the model's answer: a JSON array with one object per tweet,
//! `{"id": "<id>", "decision": "DELETE" | "KEEP", ...}`, in any order.

use serde_json::Value;

use super::types::Decision;

/// The decision `text` gives each of `ids` (by position): a tweet is decided
/// only by an object of the array whose `id` is its id (a string) and whose
/// `decision` is exactly `"DELETE"` or `"KEEP"`. Text that is not a JSON
/// array decides nothing; elements that are not such objects, and ids not
/// in the batch, are ignored; a tweet given both decisions is undecided.
/// The answer is small (one batch), so it is read as a `Value`.
pub fn decisions(text: &str, ids: &[&str]) -> Vec<Option<Decision>> {
    let mut out = vec![None; ids.len()];
    let Ok(items) = serde_json::from_str::<Vec<Value>>(text) else {
        return out;
    };
    let mut conflicting = vec![false; ids.len()];
    for item in &items {
        let Some(object) = item.as_object() else {
            continue;
        };
        let (Some(id), Some(decision)) = (
            object.get("id").and_then(Value::as_str),
            object.get("decision").and_then(Value::as_str),
        ) else {
            continue;
        };
        let decision = match decision {
            "DELETE" => Decision::Delete,
            "KEEP" => Decision::Keep,
            _ => continue,
        };
        for (i, _) in ids.iter().enumerate().filter(|(_, known)| **known == id) {
            match out[i] {
                Some(previous) if previous != decision => conflicting[i] = true,
                _ => out[i] = Some(decision),
            }
        }
    }
    for (slot, conflicting) in out.iter_mut().zip(conflicting) {
        if conflicting {
            *slot = None;
        }
    }
    out
}
