//! How provider settings are read: `kind` picks the settings type, every other key goes
//! to the kind's settings or to the shared ones, and a key that is neither is an error
//! naming the kind's keys, placed at that key (file, line, key path) by the format.

use std::convert::Infallible;
use std::fmt;

use serde::de::value::MapDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, Error as _, IntoDeserializer, MapAccess, Visitor,
};
use serde::{forward_to_deserialize_any, Deserialize};

use super::config::{CommonSettings, ProviderConfig};
use crate::provider::registry::{self, KindSettings};

impl<'de> Deserialize<'de> for ProviderConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = ProviderConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // The YAML loader words `struct X` as "a mapping (key: value)", as for other structs.
        f.write_str("struct ProviderConfig")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProviderConfig, A::Error> {
        match map.next_key::<String>()? {
            None => Err(A::Error::missing_field("kind")),
            Some(key) if key == "kind" => {
                let kind: String = map.next_value()?;
                read_settings(kind, map, false)
            }
            Some(first) => {
                // `kind` comes later: read the mapping first, then its settings from the copy
                // (whose errors name the key, since the copy has no places).
                let mut entries = serde_json::Map::new();
                entries.insert(first, map.next_value()?);
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    entries.insert(key, value);
                }
                let kind = entries
                    .shift_remove("kind")
                    .ok_or_else(|| A::Error::missing_field("kind"))?;
                let kind = String::deserialize(kind).map_err(A::Error::custom)?;
                let rest: MapDeserializer<'_, _, serde_json::Error> =
                    MapDeserializer::new(entries.into_iter());
                read_settings(kind, rest, true).map_err(A::Error::custom)
            }
        }
    }
}

/// Reads the settings of a provider of `kind` from the rest of its mapping; `name_keys`
/// puts the key into error messages (for a format that cannot place them).
fn read_settings<'de, A: MapAccess<'de>>(
    kind: String,
    mut map: A,
    name_keys: bool,
) -> Result<ProviderConfig, A::Error> {
    let Some(fields) = registry::settings_fields(&kind) else {
        // A kind this build does not know: building the provider says so and lists the
        // kinds (only when it is used); its settings cannot be checked.
        while map.next_entry::<String, serde_json::Value>()?.is_some() {}
        return Ok(ProviderConfig {
            kind: KindSettings::Unknown(kind),
            common: CommonSettings::default(),
        });
    };
    let mut common = CommonSettings::default();
    let router = Router {
        map,
        kind: &kind,
        fields,
        common: &mut common,
        seen: Vec::new(),
        name_keys,
        key: None,
    };
    let settings = registry::deserialize_settings(&kind, RouterDeserializer(router))
        .unwrap_or_else(|| Err(A::Error::custom(format!("unknown kind `{kind}`"))))?;
    Ok(ProviderConfig {
        kind: settings,
        common,
    })
}

/// The rest of a provider's mapping as the kind's settings type sees it: only the kind's
/// own keys; shared settings are read into `common` on the way, other keys are errors.
struct Router<'a, A> {
    map: A,
    kind: &'a str,
    fields: &'static [&'static str],
    common: &'a mut CommonSettings,
    /// The shared settings read so far (a second one is a duplicate).
    seen: Vec<&'static str>,
    name_keys: bool,
    /// The key whose value is read next.
    key: Option<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Router<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key::<String>()? else {
                return Ok(None);
            };
            if self.fields.contains(&key.as_str()) {
                let value = seed.deserialize(key.as_str().into_deserializer())?;
                self.key = Some(key);
                return Ok(Some(value));
            }
            match CommonSettings::fields().iter().find(|f| **f == key) {
                Some(field) if self.seen.contains(field) => {
                    return Err(A::Error::duplicate_field(field));
                }
                Some(field) => {
                    self.seen.push(field);
                    let name_keys = self.name_keys;
                    self.common
                        .read(field, &mut self.map)
                        .map_err(|e| with_key(e, &key, name_keys))?;
                }
                None => {
                    let message = not_a_setting(self.kind, self.fields, &key);
                    return match self.map.next_value_seed(Reject(message)) {
                        Ok(never) => match never {},
                        Err(e) => Err(e),
                    };
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let key = self.key.take().unwrap_or_default();
        let name_keys = self.name_keys;
        self.map
            .next_value_seed(seed)
            .map_err(|e| with_key(e, &key, name_keys))
    }
}

/// `error` with `key` in front when `name_keys` is set.
fn with_key<E: de::Error>(error: E, key: &str, name_keys: bool) -> E {
    if name_keys {
        E::custom(format!("`{key}`: {error}"))
    } else {
        error
    }
}

/// A [`Router`] handed to the kind's derived `Deserialize` as the mapping it reads.
struct RouterDeserializer<'a, A>(Router<'a, A>);

impl<'de, A: MapAccess<'de>> Deserializer<'de> for RouterDeserializer<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl CommonSettings {
    /// The shared settings' keys, in declaration order.
    pub fn fields() -> &'static [&'static str] {
        fields_of::<CommonSettings>()
    }

    /// Reads the value of shared setting `key` (one of [`CommonSettings::fields`]).
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "concurrency" => self.concurrency = map.next_value()?,
            "timeout" => self.timeout = map.next_value()?,
            "max_retries" => self.max_retries = map.next_value()?,
            "params" => self.params = map.next_value()?,
            "price" => self.price = map.next_value()?,
            "rpm" => self.rpm = map.next_value()?,
            "tpm" => self.tpm = map.next_value()?,
            other => return Err(A::Error::unknown_field(other, Self::fields())),
        }
        Ok(())
    }
}

/// The error for `key`, which kind `kind` (with its own `fields`) does not take: what it
/// takes, the likely typo, or the kind the key belongs to.
fn not_a_setting(kind: &str, fields: &[&str], key: &str) -> String {
    if key == "kind" {
        return "duplicate field `kind`".into();
    }
    let valid: Vec<&str> = fields
        .iter()
        .chain(CommonSettings::fields())
        .copied()
        .collect();
    let choose = format!("Choose from: {}", valid.join(", "));
    if key == "api_key" && !fields.contains(&"api_key") {
        // The value is a secret: it is never shown, and it does not belong in the file.
        return format!(
            "unknown key `api_key` for kind `{kind}`: keys are not written in prompteval.yaml; \
             put the key in an environment variable and name it with `api_key_env` \
             (e.g. `api_key_env: OPENAI_API_KEY`). {choose}"
        );
    }
    let owners: Vec<String> = registry::kinds_taking(key)
        .iter()
        .map(|k| format!("`{k}`"))
        .collect();
    let owners = match owners.as_slice() {
        [] => None,
        [one] => Some(format!("kind {one} takes it")),
        [many @ .., last] => Some(format!("kinds {} and {last} take it", many.join(", "))),
    };
    if let Some(owners) = owners {
        return format!("`{key}` is not a setting of kind `{kind}` ({owners}). {choose}");
    }
    match crate::diagnostic::suggest(key, &valid) {
        Some(near) => {
            format!("unknown key `{key}` for kind `{kind}` (did you mean `{near}`?). {choose}")
        }
        None => format!("unknown key `{key}` for kind `{kind}`. {choose}"),
    }
}

/// A value that fails with a message, inside the format's own reading of the value so that
/// the error carries the value's place.
pub(crate) struct Reject(pub(crate) String);

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = Infallible;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Infallible, D::Error> {
        deserializer.deserialize_any(self)
    }
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, $(_: $arg),*) -> Result<Infallible, E> {
            Err(E::custom(self.0))
        })*
    };
}

impl<'de> Visitor<'de> for Reject {
    type Value = Infallible;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }

    reject! {
        visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_i128(i128), visit_u128(u128),
        visit_f64(f64), visit_str(&str), visit_bytes(&[u8]), visit_none(), visit_unit(),
    }

    fn visit_some<D: Deserializer<'de>>(self, _: D) -> Result<Infallible, D::Error> {
        Err(D::Error::custom(self.0))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, _: D) -> Result<Infallible, D::Error> {
        Err(D::Error::custom(self.0))
    }

    fn visit_seq<S: de::SeqAccess<'de>>(self, _: S) -> Result<Infallible, S::Error> {
        Err(S::Error::custom(self.0))
    }

    fn visit_map<M: MapAccess<'de>>(self, _: M) -> Result<Infallible, M::Error> {
        Err(M::Error::custom(self.0))
    }

    fn visit_enum<E: de::EnumAccess<'de>>(self, _: E) -> Result<Infallible, E::Error> {
        Err(E::Error::custom(self.0))
    }
}

/// The keys a derived `Deserialize` of a struct reads, in declaration order (serde hands
/// them to the format when it asks for a struct).
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A format that only records which fields a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(Self::Error::custom("fields read"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
