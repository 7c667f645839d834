//! A row's variables held compactly: the names shared by every row that has the same
//! ones, the values as JSON text, each parsed when it is read.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

/// The variables of one row, in file order. A `serde_json::Map` per row cost about twenty
/// times the dataset's size on disk (issue 19); this holds the names once per dataset
/// (for a CSV file, one list for every row) and the values as one allocation of text.
///
/// [`Vars::get`], [`Vars::contains_key`] and [`Vars::keys`] read like the map's; a value
/// comes back owned, parsed from its text, and [`Vars::to_map`] builds the whole map.
#[derive(Clone, Debug, PartialEq)]
pub struct Vars {
    names: Arc<[String]>,
    /// One allocation: where each value's text ends (a little-endian `u32` per name,
    /// counted from the first text), then the values' compact JSON texts, one after the
    /// other. Cloning shares it.
    packed: Arc<[u8]>,
}

impl Vars {
    /// The value of `name`, if the row has it.
    pub fn get(&self, name: &str) -> Option<Json> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(self.value(i))
    }

    /// Whether the row has a variable `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The variable names, in file order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.names.iter()
    }

    /// How many variables the row has.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the row has no variables.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether `other` shares this row's list of names (rows of one shape do).
    pub(super) fn same_names(&self, other: &Vars) -> bool {
        Arc::ptr_eq(&self.names, &other.names)
    }

    /// Every variable, as the map requests and results carry.
    pub fn to_map(&self) -> Map<String, Json> {
        let mut map = Map::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            map.insert(name.clone(), self.value(i));
        }
        map
    }

    /// Where the `i`-th value's text ends, counted from the first text.
    fn end(&self, i: usize) -> usize {
        let at = 4 * i;
        let bytes = self.packed.get(at..at + 4).unwrap_or(&[0; 4]);
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize
    }

    fn value(&self, i: usize) -> Json {
        let base = 4 * self.names.len();
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        let text = self
            .packed
            .get(base + start..base + self.end(i))
            .unwrap_or_default();
        // The text was written by serde_json from a value, so it parses back to it; a
        // number keeps its value (serde_json writes the shortest text that reads back).
        serde_json::from_slice(text).unwrap_or(Json::Null)
    }
}

/// Packs the rows of one dataset, sharing each distinct list of names.
#[derive(Clone, Debug, Default)]
pub(super) struct Packer {
    last: Option<Arc<[String]>>,
    seen: HashMap<Vec<String>, Arc<[String]>>,
}

impl Packer {
    /// The packed form of `vars`; `None` when its values' text exceeds 4 GiB.
    pub(super) fn pack(&mut self, vars: &Map<String, Json>) -> Option<Vars> {
        let base = 4 * vars.len();
        let mut packed = vec![0u8; base];
        for (i, value) in vars.values().enumerate() {
            // Writing a `Value` to a `Vec` cannot fail.
            if serde_json::to_writer(&mut packed, value).is_err() {
                packed.extend_from_slice(b"null");
            }
            let end = u32::try_from(packed.len() - base).ok()?;
            packed[4 * i..4 * i + 4].copy_from_slice(&end.to_le_bytes());
        }
        Some(Vars {
            names: self.names(vars),
            packed: packed.into(),
        })
    }

    /// The packed form of string values under `names` (a CSV record's fields, in the
    /// order of its names): the same as [`Packer::pack`] of a map of those strings.
    pub(super) fn pack_texts<'a>(
        names: &Arc<[String]>,
        values: impl Iterator<Item = &'a str>,
    ) -> Option<Vars> {
        let base = 4 * names.len();
        let mut packed = vec![0u8; base];
        for (i, value) in values.enumerate() {
            // Writing a `str` to a `Vec` cannot fail.
            if serde_json::to_writer(&mut packed, value).is_err() {
                packed.extend_from_slice(b"null");
            }
            let end = u32::try_from(packed.len() - base).ok()?;
            packed
                .get_mut(4 * i..4 * i + 4)?
                .copy_from_slice(&end.to_le_bytes());
        }
        Some(Vars {
            names: names.clone(),
            packed: packed.into(),
        })
    }

    fn names(&mut self, vars: &Map<String, Json>) -> Arc<[String]> {
        if let Some(last) = &self.last {
            if last.len() == vars.len() && last.iter().zip(vars.keys()).all(|(a, b)| a == b) {
                return last.clone();
            }
        }
        let names: Vec<String> = vars.keys().cloned().collect();
        let shared = self
            .seen
            .entry(names)
            .or_insert_with_key(|names| names.clone().into())
            .clone();
        self.last = Some(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> Map<String, Json> {
        match value {
            Json::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn values_read_back_as_written_in_file_order() {
        let row = map(json!({
            "q": "a \"quoted\" ünïcode",
            "n": 0.1,
            "big": 18446744073709551615u64,
            "neg": -3,
            "meta": {"tags": [1, 2], "x": null},
            "empty": "",
            "t": true
        }));
        let vars = Packer::default().pack(&row).unwrap();
        assert_eq!(vars.to_map(), row);
        let keys: Vec<&String> = vars.keys().collect();
        assert_eq!(keys, row.keys().collect::<Vec<_>>());
        assert_eq!(vars.get("meta"), Some(json!({"tags": [1, 2], "x": null})));
        assert_eq!(vars.get("n"), Some(json!(0.1)));
        assert_eq!(vars.get("missing"), None);
        assert!(vars.contains_key("empty") && !vars.contains_key("Q"));
        assert_eq!(vars.len(), 7);
    }

    #[test]
    fn rows_with_the_same_names_share_one_list() {
        let mut packer = Packer::default();
        let a = packer.pack(&map(json!({"id": "1", "q": "x"}))).unwrap();
        let other = packer.pack(&map(json!({"q": "y"}))).unwrap();
        let b = packer.pack(&map(json!({"id": "2", "q": "z"}))).unwrap();
        assert!(Arc::ptr_eq(&a.names, &b.names));
        assert!(!Arc::ptr_eq(&a.names, &other.names));
        assert_eq!(b.get("q"), Some(json!("z")));
        let empty = packer.pack(&Map::new()).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.to_map(), Map::new());
    }
}
