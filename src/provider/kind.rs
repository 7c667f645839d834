//! What a provider kind is: its entry in the table ([`KindInfo`]), the trait its settings
//! type implements ([`ProviderKind`]), and the macro that makes the table.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{CommonSettings, Provider, ProviderConfigError};

/// How a kind can be named inline, as a model id without a `providers:` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inline {
    /// Not at all: the kind needs settings only `prompteval.yaml` can give.
    No,
    /// By its name alone (`echo`): the kind's default settings.
    Bare,
    /// As `NAME:MODEL` (`openai:gpt-4o-mini`): the default settings with `model`.
    Model,
}

/// A provider kind's entry in the table: its name and traits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// The value of `kind:` (`openai`).
    pub name: &'static str,
    /// Whether the built-in price catalog (`data/prices.yaml`) prices it by model.
    pub priced: bool,
    /// Whether its answers are computed locally for free: never cached, and allowed
    /// offline.
    pub pure: bool,
    /// Whether its requests read the row's variables beyond the rendered prompt (so the
    /// cache key holds them).
    pub row_vars: bool,
    /// Its inline model id.
    pub inline: Inline,
}

impl KindInfo {
    /// The inline model id, as hints show it (`openai:MODEL`).
    pub fn inline_form(&self) -> Option<String> {
        match self.inline {
            Inline::No => None,
            Inline::Bare => Some(self.name.to_string()),
            Inline::Model => Some(format!("{}:MODEL", self.name)),
        }
    }
}

/// The settings type of a kind: what `kind: NAME` takes besides the shared settings, and
/// how it builds a provider. Its derived `Deserialize` names the keys the kind takes.
pub trait ProviderKind:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + PartialEq + Send + Sync
{
    /// The kind's own settings that cannot change an answer, left out of the cache key
    /// (besides [`CommonSettings::NOT_IN_KEY`]).
    const NOT_IN_KEY: &'static [&'static str] = &[];

    /// Builds provider `name`, checking everything it can without a request.
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError>;

    /// Makes file settings absolute with `resolve` (see
    /// [`super::ProviderConfig::resolve_paths`]).
    fn resolve_paths(&mut self, resolve: &dyn Fn(&Path) -> PathBuf) {
        let _ = resolve;
    }
}

/// [`ProviderKind`] without its serde bounds, so that the table can hand out any kind's
/// settings as one type.
pub(crate) trait DynKind {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError>;
    fn not_in_key(&self) -> &'static [&'static str];
    fn to_json(&self) -> Result<serde_json::Map<String, serde_json::Value>, serde_json::Error>;
    fn resolve_paths(&mut self, resolve: &dyn Fn(&Path) -> PathBuf);
}

impl<T: ProviderKind> DynKind for T {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        ProviderKind::build(self, name, common)
    }

    fn not_in_key(&self) -> &'static [&'static str] {
        T::NOT_IN_KEY
    }

    fn to_json(&self) -> Result<serde_json::Map<String, serde_json::Value>, serde_json::Error> {
        match serde_json::to_value(self)? {
            serde_json::Value::Object(map) => Ok(map),
            other => Err(serde::ser::Error::custom(format!(
                "settings written as {other}"
            ))),
        }
    }

    fn resolve_paths(&mut self, resolve: &dyn Fn(&Path) -> PathBuf) {
        ProviderKind::resolve_paths(self, resolve);
    }
}

/// Makes the table of kinds from one line per kind, `Variant(SettingsType) { info }`:
/// [`KindSettings`](super::KindSettings) with a variant per kind (so a kind without a line
/// cannot be named), `KINDS` in table order, and the lookups by name.
macro_rules! provider_kinds {
    ($($variant:ident($settings:ty) { $($info:tt)* },)*) => {
        /// A provider's kind and its own settings. `Unknown` is a `kind:` this build does
        /// not know; building it fails with the list of kinds.
        #[derive(Clone, Debug, PartialEq)]
        pub enum KindSettings {
            $(
                #[doc = concat!("Settings of type [`", stringify!($settings), "`].")]
                $variant($settings),
            )*
            /// A kind this build does not know, as written.
            Unknown(String),
        }

        #[allow(non_upper_case_globals)]
        mod info {
            use super::*;
            $(pub(super) const $variant: KindInfo = KindInfo { $($info)* };)*
        }

        /// Every kind, in the order lists of choices show them.
        pub const KINDS: &[KindInfo] = &[$(info::$variant,)*];

        impl KindSettings {
            /// The kind's name as written (`openai`), known to this build or not.
            pub fn name(&self) -> &str {
                match self {
                    $(KindSettings::$variant(_) => info::$variant.name,)*
                    KindSettings::Unknown(name) => name,
                }
            }

            /// The kind's entry in the table; `None` for an unknown kind.
            pub fn info(&self) -> Option<&'static KindInfo> {
                match self {
                    $(KindSettings::$variant(_) => Some(&info::$variant),)*
                    KindSettings::Unknown(_) => None,
                }
            }

            pub(crate) fn as_dyn(&self) -> Option<&dyn DynKind> {
                match self {
                    $(KindSettings::$variant(s) => Some(s),)*
                    KindSettings::Unknown(_) => None,
                }
            }

            pub(crate) fn as_dyn_mut(&mut self) -> Option<&mut dyn DynKind> {
                match self {
                    $(KindSettings::$variant(s) => Some(s),)*
                    KindSettings::Unknown(_) => None,
                }
            }
        }

        $(impl From<$settings> for KindSettings {
            fn from(settings: $settings) -> Self {
                KindSettings::$variant(settings)
            }
        })*

        /// The keys kind `kind` takes besides the shared settings; `None` for an unknown
        /// kind.
        pub(crate) fn settings_fields(kind: &str) -> Option<&'static [&'static str]> {
            $(if kind == info::$variant.name {
                return Some(fields_of::<$settings>());
            })*
            None
        }

        /// Reads the settings of kind `kind` from `deserializer`; `None` for an unknown
        /// kind.
        pub(crate) fn deserialize_settings<'de, D: serde::Deserializer<'de>>(
            kind: &str,
            deserializer: D,
        ) -> Option<Result<KindSettings, D::Error>> {
            $(if kind == info::$variant.name {
                return Some(
                    <$settings as serde::Deserialize>::deserialize(deserializer)
                        .map(KindSettings::$variant),
                );
            })*
            None
        }
    };
}

pub(crate) use provider_kinds;
