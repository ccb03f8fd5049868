//! Reading the model's answer: a JSON array with one object per tweet,
//! `{"id": "<id>", "decision": "DELETE" | "KEEP", ...}`, in any order.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::types::Decision;

/// The decision `text` gives each of `ids` (by position): a tweet is decided
/// only by an object of the array whose `id` is its id (a string) and whose
/// `decision` is exactly `"DELETE"` or `"KEEP"`. Text that is not a JSON
/// array decides nothing; elements that are not such objects, and ids not
/// in the batch, are ignored; a tweet given both decisions is undecided.
///
/// The answer is read as strictly as into `Vec<serde_json::Value>` (any
/// JSON, numbers in range, an object's last value for a key wins), but into
/// [`Item`]s that keep only the two strings, borrowed when unescaped.
pub fn decisions(text: &str, ids: &[&str]) -> Vec<Option<Decision>> {
    let mut out = vec![None; ids.len()];
    let Ok(items) = serde_json::from_str::<Vec<Item<'_>>>(text) else {
        return out;
    };
    let mut conflicting = vec![false; ids.len()];
    for item in &items {
        let (Some(id), Some(decision)) = (&item.id, &item.decision) else {
            continue;
        };
        let decision = match decision.as_ref() {
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

/// One element of the answer: for an object, its `id` and `decision` when
/// they are strings (the last one of each key, as a map reads it); for
/// anything else, neither.
#[derive(Default)]
struct Item<'a> {
    id: Option<Cow<'a, str>>,
    decision: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
                let mut item = Item::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match key.0.as_ref() {
                        "id" => item.id = map.next_value::<Any<'de>>()?.0,
                        "decision" => item.decision = map.next_value::<Any<'de>>()?.0,
                        _ => {
                            map.next_value::<Any<'de>>()?;
                        }
                    }
                }
                Ok(item)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Item<'de>, A::Error> {
                AnyVisitor.visit_seq(seq).map(|_| Item::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Item<'de>, E> {
                Ok(Item::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item<'de>, E> {
                Ok(Item::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item<'de>, E> {
                Ok(Item::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item<'de>, E> {
                Ok(Item::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Item<'de>, E> {
                Ok(Item::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Item<'de>, E> {
                Ok(Item::default())
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// An object's key.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_string())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// Any JSON value, read as `serde_json::Value` reads it (numbers parsed,
/// so one out of range fails as it does there): the string, if it is one.
struct Any<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Any<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyVisitor)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Any<'de>, E> {
        Ok(Any(Some(Cow::Borrowed(s))))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Any<'de>, E> {
        Ok(Any(Some(Cow::Owned(s.to_string()))))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any<'de>, A::Error> {
        // Keys as strings, as a map reads them; values as any value.
        while map.next_key::<IgnoredStr>()?.is_some() {
            map.next_value::<Any<'de>>()?;
        }
        Ok(Any(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any<'de>, A::Error> {
        while seq.next_element::<Any<'de>>()?.is_some() {}
        Ok(Any(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Any<'de>, E> {
        Ok(Any(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Any<'de>, E> {
        Ok(Any(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Any<'de>, E> {
        Ok(Any(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Any<'de>, E> {
        Ok(Any(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Any<'de>, E> {
        Ok(Any(None))
    }
}

/// A key whose text is not kept.
struct IgnoredStr;

impl<'de> Deserialize<'de> for IgnoredStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(IgnoredAny).map(|_| IgnoredStr)
    }
}
