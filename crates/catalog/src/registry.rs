//! The dataset type registry: type names in catalog.yml → constructors.
//!
//! tandem's own types, other crates' (pipeline-ml adds MLflow datasets) and a
//! user's custom types are registered the same way and configured from
//! catalog.yml by type name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::credentials::Credentials;
use crate::dataset::Dataset;
use crate::error::Error;
use crate::memory::{CopyMode, MemoryDataset};
use crate::versioning::Version;

/// One catalog entry, as a dataset constructor receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetConfig {
    /// The catalog entry name.
    pub name: String,
    /// The `type` as written.
    pub type_name: String,
    /// Every other setting of the entry (`filepath`, `load_args`,
    /// `save_args`...), except `type`, `credentials`, `versioned` and `metadata`.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// The entry's credentials, resolved from credentials.yml.
    pub credentials: Option<Credentials>,
    /// `Some` when `versioned: true`: the versions to load and save.
    pub version: Option<Version>,
    /// Free-form `metadata`, ignored by tandem's datasets.
    pub metadata: Option<serde_json::Value>,
    /// The directory relative file paths are resolved against.
    pub project_root: PathBuf,
}

impl DatasetConfig {
    /// A config with just a name, a type and options, rooted at the current directory.
    pub fn new(
        name: impl Into<String>,
        type_name: impl Into<String>,
        options: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        DatasetConfig {
            name: name.into(),
            type_name: type_name.into(),
            options,
            credentials: None,
            version: None,
            metadata: None,
            project_root: PathBuf::from("."),
        }
    }

    /// The options deserialized into a dataset's settings struct; errors name
    /// the entry and the field (use `#[serde(deny_unknown_fields)]` to catch typos).
    pub fn options_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(serde_json::Value::Object(self.options.clone()))
            .map_err(|e| Error::config(&self.name, e))
    }
}

/// Builds a dataset from its entry.
pub type DatasetConstructor =
    Arc<dyn Fn(&DatasetConfig) -> Result<Arc<dyn Dataset>, Error> + Send + Sync>;

/// Maps dataset type names to constructors.
#[derive(Clone, Default)]
pub struct DatasetRegistry {
    constructors: BTreeMap<String, DatasetConstructor>,
    aliases: BTreeMap<String, String>,
}

impl fmt::Debug for DatasetRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatasetRegistry")
            .field("types", &self.constructors.keys().collect::<Vec<_>>())
            .field("aliases", &self.aliases)
            .finish()
    }
}

/// Type names Kedro users write that tandem cannot support, with what to use instead.
const UNSUPPORTED: &[(&str, &str)] = &[(
    "pickle.PickleDataset",
    "Python pickles cannot be read from Rust: use SerdeDataset (JSON or MessagePack) for \
         fitted objects",
)];

/// Kedro resolves a type with these module prefixes too.
const KEDRO_PREFIXES: &[&str] = &["kedro_datasets.", "kedro.io.", "kedro.io.memory_dataset."];

impl DatasetRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        DatasetRegistry::default()
    }

    /// A registry with `MemoryDataset` and its Kedro aliases. The file
    /// datasets add themselves in [`DatasetRegistry::with_builtins`].
    pub fn with_memory() -> Self {
        let mut registry = DatasetRegistry::new();
        registry.register("MemoryDataset", |config: &DatasetConfig| {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Options {
                copy_mode: Option<String>,
            }
            let options: Options = config.options_as()?;
            let mode = options
                .copy_mode
                .map(|m| m.parse::<CopyMode>())
                .transpose()
                .map_err(|e| Error::config(&config.name, e))?;
            Ok(Arc::new(MemoryDataset::new(mode)) as Arc<dyn Dataset>)
        });
        registry.alias("io.MemoryDataset", "MemoryDataset");
        registry
    }

    /// A registry with every dataset type tandem ships: `MemoryDataset` and
    /// the file datasets (`ParquetDataset`, `CSVDataset`, `JSONDataset`,
    /// `TextDataset`, `BytesDataset`, `SerdeDataset`), with Kedro's aliases.
    pub fn with_builtins() -> Self {
        let mut registry = DatasetRegistry::with_memory();
        crate::files::register(&mut registry);
        registry
    }

    /// Registers (or replaces) a dataset type.
    pub fn register(
        &mut self,
        type_name: impl Into<String>,
        constructor: impl Fn(&DatasetConfig) -> Result<Arc<dyn Dataset>, Error> + Send + Sync + 'static,
    ) -> &mut Self {
        self.constructors
            .insert(type_name.into(), Arc::new(constructor));
        self
    }

    /// Lets `alias` name the registered type `type_name` (Kedro's names, say).
    pub fn alias(&mut self, alias: impl Into<String>, type_name: impl Into<String>) -> &mut Self {
        self.aliases.insert(alias.into(), type_name.into());
        self
    }

    /// Registered type names and aliases.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.constructors
            .keys()
            .chain(self.aliases.keys())
            .map(String::as_str)
    }

    /// Whether `type_name` resolves to a registered type.
    pub fn contains(&self, type_name: &str) -> bool {
        self.resolve(type_name).is_some()
    }

    fn resolve(&self, type_name: &str) -> Option<&DatasetConstructor> {
        let candidates = std::iter::once(type_name).chain(
            KEDRO_PREFIXES
                .iter()
                .filter_map(|p| type_name.strip_prefix(p)),
        );
        for name in candidates {
            let canonical = self.aliases.get(name).map_or(name, String::as_str);
            if let Some(c) = self.constructors.get(canonical) {
                return Some(c);
            }
        }
        None
    }

    /// Builds the dataset an entry describes.
    pub fn build(&self, config: &DatasetConfig) -> Result<Arc<dyn Dataset>, Error> {
        match self.resolve(&config.type_name) {
            Some(constructor) => constructor(config),
            None => Err(self.unknown(config)),
        }
    }

    fn unknown(&self, config: &DatasetConfig) -> Error {
        let bare = KEDRO_PREFIXES
            .iter()
            .find_map(|p| config.type_name.strip_prefix(p))
            .unwrap_or(&config.type_name);
        let suggestion = UNSUPPORTED
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, why)| (*why).to_owned())
            .or_else(|| {
                tandem_pipeline_core::suggest::close_matches(bare, self.type_names())
                    .into_iter()
                    .next()
                    .map(|nearest| format!("did you mean '{nearest}'?"))
            })
            .or_else(|| {
                let known: Vec<&str> = self.type_names().collect();
                Some(format!("supported types: {}", known.join(", ")))
            });
        Error::UnknownType {
            entry: config.name.clone(),
            type_name: config.type_name.clone(),
            suggestion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(type_name: &str, options: serde_json::Value) -> DatasetConfig {
        let serde_json::Value::Object(map) = options else {
            panic!("options must be an object")
        };
        DatasetConfig::new("cars", type_name, map)
    }

    #[test]
    fn builds_memory_datasets_by_any_kedro_name() {
        let registry = DatasetRegistry::with_memory();
        for name in [
            "MemoryDataset",
            "io.MemoryDataset",
            "kedro.io.MemoryDataset",
        ] {
            let ds = registry
                .build(&config(name, serde_json::json!({})))
                .unwrap();
            assert!(ds.is_ephemeral(), "{name}");
        }
    }

    #[test]
    fn invalid_copy_mode_fails_at_build_time_naming_the_entry() {
        let registry = DatasetRegistry::with_memory();
        let err = registry
            .build(&config(
                "MemoryDataset",
                serde_json::json!({"copy_mode": "bogus"}),
            ))
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        let msg = err.to_string();
        assert!(msg.contains("cars") && msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn unknown_options_are_rejected() {
        let registry = DatasetRegistry::with_memory();
        let err = registry
            .build(&config(
                "MemoryDataset",
                serde_json::json!({"copymode": "copy"}),
            ))
            .unwrap_err();
        assert!(err.to_string().contains("copymode"), "{err}");
    }

    #[test]
    fn unknown_types_suggest_the_nearest_or_explain() {
        let registry = DatasetRegistry::with_memory();
        let err = registry
            .build(&config("MemoryDatset", serde_json::json!({})))
            .unwrap_err();
        assert_eq!(err.kind(), "unknown_dataset_type");
        assert!(
            err.to_string().contains("did you mean 'MemoryDataset'"),
            "{err}"
        );
        let pickle = registry
            .build(&config("pickle.PickleDataset", serde_json::json!({})))
            .unwrap_err();
        assert!(pickle.to_string().contains("SerdeDataset"), "{pickle}");
    }
}
