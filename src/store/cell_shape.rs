//! Whether a stored line is a cell exactly as this version writes it ([`CellShape`]), so
//! that a report can copy the line instead of parsing and writing it again.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Serialize;

use crate::agent::{Step, ToolResult};
use crate::run::conversation::UserUsage;
use crate::run::events::{AssertionResult, CellResult};
use crate::tools::ToolCall;

/// The keys a version writes for a cell, at every level, in the order it writes them:
/// taken from the types themselves (serde's list of a struct's fields, and which of them
/// a default value still writes), so it follows every change to them.
///
/// A line of `results.jsonl` is written by serde_json from a [`CellResult`]: compact, its
/// strings and numbers as serde_json writes them (and reads them back exactly: the
/// `float_roundtrip` feature is on). What can differ between the line and the line this
/// version would write for the same cell is the keys of its objects: a line written by an
/// older version lacks a field that this one always writes (`weight`), or holds one that
/// it no longer has, or holds them in another order. A line whose every object has this
/// version's keys in this version's order, all that it always writes among them, reads
/// back to the cell that writes that very line.
pub struct CellShape {
    cell: Option<Shape>,
}

/// One struct: its fields in declaration order, the ones its default value writes (a bit
/// per field), and the fields that hold structs in turn.
struct Shape {
    fields: &'static [&'static str],
    always: u64,
    nested: Vec<(usize, Nested)>,
}

/// A field holding structs: a list of them, or one.
enum Nested {
    List(Shape),
    One(Shape),
}

impl CellShape {
    /// The shape of a cell as this version writes it.
    pub fn current() -> CellShape {
        CellShape { cell: cell_shape() }
    }

    /// Whether `line` is a cell exactly as this version writes it (see [`CellShape`]);
    /// `false` for anything else, invalid JSON included: such a line is parsed instead,
    /// which says what is wrong with it.
    pub fn matches(&self, line: &str) -> bool {
        let Some(shape) = &self.cell else {
            return false;
        };
        let mut de = serde_json::Deserializer::from_str(line);
        matches!(ObjectSeed(shape).deserialize(&mut de), Ok(true)) && de.end().is_ok()
    }
}

fn cell_shape() -> Option<Shape> {
    let call = || {
        let empty = ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: None,
            arguments_raw: String::new(),
        };
        Shape::of(&empty, Vec::new())
    };
    let step = Shape::of(
        &Step::default(),
        vec![
            ("tool_calls", Nested::List(call()?)),
            (
                "tool_results",
                Nested::List(Shape::of(&ToolResult::default(), Vec::new())?),
            ),
        ],
    )?;
    let assertion = AssertionResult {
        kind: String::new(),
        pass: false,
        score: 0.0,
        reason: String::new(),
        metric: None,
        weight: 1.0,
        detail: None,
        scorer_error: false,
    };
    Shape::of(
        &CellResult::default(),
        vec![
            (
                "assertions",
                Nested::List(Shape::of(&assertion, Vec::new())?),
            ),
            ("tool_calls", Nested::List(call()?)),
            ("steps", Nested::List(step)),
            (
                "simulated_user",
                Nested::One(Shape::of(&UserUsage::default(), Vec::new())?),
            ),
        ],
    )
}

impl Shape {
    /// The shape of `T` from serde's list of its fields and the keys that `default`
    /// writes; `None` when serde does not list them (a struct that is not a plain one).
    fn of<T: Serialize + DeserializeOwned>(
        default: &T,
        nested: Vec<(&str, Nested)>,
    ) -> Option<Shape> {
        let fields = fields_of::<T>()?;
        if fields.len() > 64 {
            return None;
        }
        let written = serde_json::to_value(default).ok()?;
        let mut always = 0u64;
        for key in written.as_object()?.keys() {
            always |= 1 << fields.iter().position(|f| f == key)?;
        }
        let nested = nested
            .into_iter()
            .map(|(name, shape)| Some((fields.iter().position(|f| *f == name)?, shape)))
            .collect::<Option<Vec<_>>>()?;
        Some(Shape {
            fields,
            always,
            nested,
        })
    }

    fn nested(&self, field: usize) -> Option<&Nested> {
        self.nested
            .iter()
            .find(|(i, _)| *i == field)
            .map(|(_, n)| n)
    }
}

/// The fields serde's derive lists for `T`, in declaration order (renames applied).
fn fields_of<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldList(&mut fields));
    fields
}

/// A deserializer that only asks a struct for its list of fields.
struct FieldList<'f>(&'f mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldList<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only the list of fields is read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("only the list of fields is read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// Reads one object of `Shape`: `true` when its keys are as this version writes them.
/// A key out of place ends the reading early (with an error: the line is parsed whole
/// instead).
struct ObjectSeed<'s>(&'s Shape);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let shape = self.0;
        let (mut next, mut seen) = (0, 0u64);
        while let Some(field) = map.next_key_seed(KeySeed {
            fields: &shape.fields[next..],
        })? {
            let field = next + field.ok_or_else(|| de::Error::custom("a key out of place"))?;
            next = field + 1;
            seen |= 1 << field;
            let held = match shape.nested(field) {
                Some(Nested::List(inner)) => map.next_value_seed(ListSeed(inner))?,
                Some(Nested::One(inner)) => map.next_value_seed(ObjectSeed(inner))?,
                None => map.next_value::<IgnoredAny>().map(|_| true)?,
            };
            if !held {
                return Err(de::Error::custom("a key out of place"));
            }
        }
        Ok(seen & shape.always == shape.always)
    }
}

/// Reads a list of objects of one shape.
struct ListSeed<'s>(&'s Shape);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(held) = seq.next_element_seed(ObjectSeed(self.0))? {
            if !held {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Reads a key as its position among the fields still allowed (`None`: not among them).
struct KeySeed<'s> {
    fields: &'s [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.fields.iter().position(|f| *f == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cell: &CellResult) -> String {
        serde_json::to_string(cell).unwrap()
    }

    /// Issue 19: every cell this version writes, agents, tools and conversations
    /// included, is recognised as written (so a report copies its line), and the
    /// shape is read from the types, not left empty.
    #[test]
    fn lines_this_version_writes_match() {
        let shape = CellShape::current();
        assert!(shape.cell.as_ref().is_some_and(|s| s.nested.len() == 4));
        let (_, small) = crate::report::fixture::small();
        let (_, agents) = crate::report::fixture_agent::agent();
        let mut tools = small[0].clone();
        tools.tool_calls = vec![ToolCall::from_raw(
            "call_1",
            "get_weather",
            "{\"city\": \"Rome\"}",
        )];
        tools.simulated_user = Some(UserUsage::default());
        tools.queue_ms = Some(1.5);
        for cell in small.iter().chain(&agents).chain([&tools]) {
            assert!(shape.matches(&line(cell)), "{}", line(cell));
        }
        assert!(agents.iter().any(|c| !c.steps.is_empty()));
    }

    /// A line that this version would write otherwise is not copied: a field it always
    /// writes missing (as in older records), a field it does not know, keys in another
    /// order, at the top or deeper; and anything that is not one JSON object.
    #[test]
    fn other_lines_do_not_match() {
        let shape = CellShape::current();
        let (_, small) = crate::report::fixture::small();
        let written = line(&small[0]);
        let variants = [
            written.replacen("\"repeat\":0,", "", 1),
            written.replacen(",\"weight\":1.0", "", 1),
            written.replacen("{\"eval\"", "{\"old\":1,\"eval\"", 1),
            written.replacen("\"type\":", "\"kind\":", 1),
            written.replacen(
                "\"eval\":\"sentiment\",\"prompt\":\"sentiment@1\"",
                "\"prompt\":\"sentiment@1\",\"eval\":\"sentiment\"",
                1,
            ),
            format!("{written} {written}"),
            written[..written.len() - 1].to_string(),
            "[]".to_string(),
        ];
        for variant in &variants {
            assert_ne!(variant, &written);
            assert!(!shape.matches(variant), "{variant}");
        }
        // A record without `repeat` still reads, and is written in this version's shape.
        let back: CellResult = serde_json::from_str(&variants[0]).unwrap();
        assert_eq!(line(&back), written);
    }
}
