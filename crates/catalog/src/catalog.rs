//! `DataCatalog`: the named datasets a run reads and writes, Kedro 1.x's
//! `DataCatalog` with dataset factories, versions and parameters.
//!
//! Kedro defers building an entry's dataset until first use, mainly to avoid
//! importing unused dataset modules. tandem's constructors are cheap and do
//! no I/O, so every explicit entry is built once, when the catalog is built:
//! a bad copy mode, an unknown type or a missing credential fails then,
//! naming the entry, not halfway through a run. Names matched by a factory
//! pattern can only be built on first use; their pattern's settings are
//! still checked up front (placeholders, credentials, type).

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value};
use tandem_pipeline_core::Data;

use crate::config::{ConfigOptions, EntryContext, ProjectConfig, describe_config};
use crate::dataset::{Dataset, DatasetDescription};
use crate::error::Error;
use crate::factory::{Pattern, PatternSet, is_pattern};
use crate::memory::MemoryDataset;
use crate::params::Parameters;
use crate::registry::{DatasetConfig, DatasetRegistry};
use crate::versioning::{generate_timestamp, validate_version};

/// How to build a [`DataCatalog`] from configuration.
#[derive(Clone, Debug)]
pub struct CatalogOptions {
    /// Versions to load, by dataset name (`--load-versions`); every name
    /// must be a catalog entry or match a pattern.
    pub load_versions: BTreeMap<String, String>,
    /// The version every versioned dataset saves under; `None` generates a
    /// timestamp once for the catalog, as Kedro does.
    pub save_version: Option<String>,
    /// `--params` overrides, merged over the parameters files by
    /// [`DataCatalog::from_conf_dir`] and [`DataCatalog::from_project`];
    /// [`DataCatalog::from_config`] reads no parameters and ignores them.
    pub params_overrides: Map<String, Value>,
    /// The dataset types entries may name.
    pub registry: DatasetRegistry,
}

impl CatalogOptions {
    /// Options with `registry` and nothing pinned or overridden.
    pub fn new(registry: DatasetRegistry) -> Self {
        CatalogOptions {
            load_versions: BTreeMap::new(),
            save_version: None,
            params_overrides: Map::new(),
            registry,
        }
    }
}

/// One catalog entry as `tandem catalog describe` shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EntryDescription {
    /// The dataset name.
    pub name: String,
    /// The factory pattern the entry was resolved from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The resolved configuration, credentials masked; `None` for datasets
    /// added in code and runtime defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// What the dataset reports about itself.
    pub dataset: DatasetDescription,
}

/// A materialized dataset and, when configuration made it, how.
#[derive(Clone)]
struct Slot {
    dataset: Arc<dyn Dataset>,
    config: Option<Arc<DatasetConfig>>,
    pattern: Option<String>,
}

impl Slot {
    fn inserted(dataset: Arc<dyn Dataset>) -> Slot {
        Slot {
            dataset,
            config: None,
            pattern: None,
        }
    }
}

/// The catalog. Every method takes `&self`; it is shared by the runner's
/// worker threads, and concurrent first uses of a name agree on one dataset.
///
/// ```
/// use serde_json::json;
/// use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
/// use tandem_pipeline_core::Data;
///
/// let conf = json!({
///     "model": {"type": "MemoryDataset", "copy_mode": "assign"},
///     "{name}_scratch": {"type": "MemoryDataset"},
/// });
/// let options = CatalogOptions::new(DatasetRegistry::with_memory());
/// let catalog = DataCatalog::from_config(
///     conf.as_object().unwrap(), &Default::default(), &options, ".")?;
/// assert!(catalog.contains("model") && catalog.contains("x_scratch") && !catalog.contains("other"));
/// catalog.save("x_scratch", Data::new(3_i64))?;
/// assert_eq!(*catalog.load("x_scratch")?.downcast_ref::<i64>()?, 3);
/// assert_eq!(catalog.load("other").unwrap_err().kind(), "dataset_not_found");
/// catalog.get_or_default("other")?;
/// assert_eq!(catalog.list(), ["model", "other", "x_scratch"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DataCatalog {
    /// By name; hashed, not ordered, since a run resolves every dataset of
    /// its pipeline here (listing sorts).
    datasets: RwLock<FxHashMap<String, Slot>>,
    patterns: PatternSet,
    context: EntryContext,
    registry: DatasetRegistry,
}

impl fmt::Debug for DataCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataCatalog")
            .field("datasets", &self.list())
            .field("patterns", &self.patterns())
            .field("save_version", &self.context.save_version)
            .finish_non_exhaustive()
    }
}

impl DataCatalog {
    /// Builds a catalog from catalog entries and credentials (top-level key →
    /// settings), with relative file paths rooted at `project_root`.
    pub fn from_config(
        catalog: &Map<String, Value>,
        credentials: &Map<String, Value>,
        options: &CatalogOptions,
        project_root: impl Into<PathBuf>,
    ) -> Result<DataCatalog, Error> {
        let save_version = options
            .save_version
            .clone()
            .unwrap_or_else(generate_timestamp);
        validate_version(&save_version)?;
        for (name, version) in &options.load_versions {
            validate_version(version).map_err(|e| e.in_dataset(name))?;
        }
        let context = EntryContext {
            credentials: credentials.clone(),
            load_versions: options.load_versions.clone(),
            save_version,
            project_root: project_root.into(),
        };
        let registry = options.registry.clone();

        let mut patterns = Vec::new();
        for (key, entry) in catalog.iter().filter(|(k, _)| is_pattern(k)) {
            let pattern = Pattern::new(key, entry.clone())?;
            let unfilled = context.dataset_config(key, pattern.config())?;
            if !unfilled.type_name.contains('{') && !registry.contains(&unfilled.type_name) {
                // Building an unknown type fails without running any constructor,
                // with the registry's message (entry named, nearest type suggested).
                registry.build(&unfilled)?;
            }
            patterns.push(pattern);
        }
        let patterns = PatternSet::new(patterns)?;

        let mut datasets = FxHashMap::default();
        for (name, entry) in catalog.iter().filter(|(k, _)| !is_pattern(k)) {
            let config = context.dataset_config(name, entry)?;
            let dataset = registry.build(&config).map_err(|e| naming_entry(e, name))?;
            let slot = Slot {
                dataset,
                config: Some(Arc::new(config)),
                pattern: None,
            };
            datasets.insert(name.clone(), slot);
        }

        let missing: Vec<String> = context
            .load_versions
            .keys()
            .filter(|name| !datasets.contains_key(*name) && patterns.find(name).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::LoadVersionsNotFound { names: missing });
        }
        Ok(DataCatalog {
            datasets: RwLock::new(datasets),
            patterns,
            context,
            registry,
        })
    }

    /// Builds the catalog of a loaded project configuration and adds its
    /// parameters. Entry errors name the file and line the entry is written on.
    ///
    /// A configuration loaded with runtime parameters
    /// ([`ProjectConfig::load_with`]) already holds them, merged as Kedro
    /// merges them, and `options.params_overrides` is not applied again (it
    /// would bring back unresolved `${...}` values). One loaded without them
    /// gets `options.params_overrides` merged over its final parameters tree
    /// ([`Parameters::with_overrides`]), which differs from Kedro when an
    /// environment has its own parameters files: prefer `load_with`.
    pub fn from_project(
        config: &ProjectConfig,
        options: &CatalogOptions,
        project_root: impl Into<PathBuf>,
    ) -> Result<DataCatalog, Error> {
        let catalog =
            DataCatalog::from_config(&config.catalog, &config.credentials, options, project_root)
                .map_err(|e| config.locate(e))?;
        let mut parameters = Parameters::new(config.parameters.clone());
        if config.runtime_params.is_empty() {
            parameters = parameters.with_overrides(&options.params_overrides);
        }
        catalog.add_parameters(&parameters);
        Ok(catalog)
    }

    /// Loads `conf_dir` for `env` (see [`ProjectConfig::load_with`], with
    /// `options.params_overrides` as the runtime parameters) and builds
    /// the catalog with parameters. The project root, against which relative
    /// file paths resolve, is the parent of `conf_dir` (Kedro's
    /// `<project>/conf` layout), or the current directory for a bare `conf`.
    pub fn from_conf_dir(
        conf_dir: &Path,
        env: Option<&str>,
        options: &CatalogOptions,
    ) -> Result<DataCatalog, Error> {
        let config_options = ConfigOptions {
            runtime_params: options.params_overrides.clone(),
        };
        let config = ProjectConfig::load_with(conf_dir, env, &config_options)?;
        let root = conf_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        DataCatalog::from_project(&config, options, root)
    }

    fn read(&self) -> RwLockReadGuard<'_, FxHashMap<String, Slot>> {
        // Slots are replaced whole, so a panic elsewhere cannot leave one half-written.
        self.datasets.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, FxHashMap<String, Slot>> {
        self.datasets.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `slot` unless another thread stored `name` first; returns the
    /// dataset that is in the catalog either way.
    fn store_first(&self, name: &str, slot: Slot) -> Arc<dyn Dataset> {
        Arc::clone(&self.write().entry(name.to_owned()).or_insert(slot).dataset)
    }

    /// Whether `name` is an entry, a stored dataset or matches a pattern
    /// (the catch-all included). The runtime default does not count.
    pub fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name) || self.patterns.find(name).is_some()
    }

    /// The dataset called `name`, resolving (and storing) it from a pattern
    /// if needed; `None` if nothing matches.
    pub fn get(&self, name: &str) -> Result<Option<Arc<dyn Dataset>>, Error> {
        if let Some(slot) = self.read().get(name) {
            return Ok(Some(Arc::clone(&slot.dataset)));
        }
        let Some((pattern, bindings)) = self.patterns.find(name) else {
            return Ok(None);
        };
        let entry = pattern.resolve(name, &bindings)?;
        let config = self.context.dataset_config(name, &entry)?;
        let dataset = self
            .registry
            .build(&config)
            .map_err(|e| naming_entry(e, name))?;
        let slot = Slot {
            dataset,
            config: Some(Arc::new(config)),
            pattern: Some(pattern.key().to_owned()),
        };
        Ok(Some(self.store_first(name, slot)))
    }

    /// Like [`get`](Self::get), but a name nothing matches becomes a new
    /// `MemoryDataset` (Kedro's runtime `{default}` pattern), stored so later
    /// calls share it.
    pub fn get_or_default(&self, name: &str) -> Result<Arc<dyn Dataset>, Error> {
        self.resolve_or_default(name).map(|(dataset, _)| dataset)
    }

    /// [`get_or_default`](Self::get_or_default) and [`contains`](Self::contains)
    /// in one lookup, as a runner resolves each dataset of a run: the dataset,
    /// and whether the catalog knew the name (an entry, a stored dataset or a
    /// pattern match) rather than defaulting it to a new `MemoryDataset`.
    pub fn resolve_or_default(&self, name: &str) -> Result<(Arc<dyn Dataset>, bool), Error> {
        match self.get(name)? {
            Some(dataset) => Ok((dataset, true)),
            None => {
                let default = Slot::inserted(Arc::new(MemoryDataset::new(None)));
                Ok((self.store_first(name, default), false))
            }
        }
    }

    /// The dataset called `name`, or [`Error::NotFound`] with close matches.
    pub fn dataset(&self, name: &str) -> Result<Arc<dyn Dataset>, Error> {
        self.get(name)?.ok_or_else(|| {
            let names = self.list();
            Error::NotFound {
                name: name.to_owned(),
                suggestions: tandem_pipeline_core::suggest::close_matches(
                    name,
                    names.iter().map(String::as_str),
                ),
            }
        })
    }

    /// Adds or replaces a dataset.
    pub fn insert(&self, name: impl Into<String>, dataset: Arc<dyn Dataset>) {
        self.write().insert(name.into(), Slot::inserted(dataset));
    }

    /// Adds or replaces a dataset holding `data` (Kedro's `catalog[name] = value`).
    pub fn insert_data(&self, name: impl Into<String>, data: Data) {
        self.insert(name, Arc::new(MemoryDataset::with_data(data, None)));
    }

    /// Registers `parameters` and every `params:<path>` as memory datasets
    /// holding JSON values, replacing entries of the same names.
    pub fn add_parameters(&self, parameters: &Parameters) {
        for (name, dataset) in parameters.datasets() {
            self.insert(name, dataset);
        }
    }

    /// Loads `name`; errors name the dataset. No runtime default: an
    /// unknown name is [`Error::NotFound`].
    pub fn load(&self, name: &str) -> Result<Data, Error> {
        self.dataset(name)?.load().map_err(|e| e.in_dataset(name))
    }

    /// Saves `data` to `name`; errors name the dataset. No runtime default.
    pub fn save(&self, name: &str, data: Data) -> Result<(), Error> {
        self.dataset(name)?
            .save(data)
            .map_err(|e| e.in_dataset(name))
    }

    /// Whether `name` has data to load; `false` for a name nothing matches.
    pub fn exists(&self, name: &str) -> Result<bool, Error> {
        match self.get(name)? {
            Some(dataset) => dataset.exists().map_err(|e| e.in_dataset(name)),
            None => Ok(false),
        }
    }

    /// Frees what `name` holds in memory.
    pub fn release(&self, name: &str) -> Result<(), Error> {
        self.dataset(name)?.release();
        Ok(())
    }

    /// Names of the stored datasets (configured entries, resolved pattern
    /// matches, runtime defaults, inserted ones), sorted; patterns excluded.
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// The factory patterns in resolution order, the catch-all last.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns.keys()
    }

    /// The resolved configuration (credentials masked) and description of `name`.
    pub fn describe(&self, name: &str) -> Result<EntryDescription, Error> {
        let dataset = self.dataset(name)?;
        let slot = self.read().get(name).cloned();
        let (config, pattern) = slot.map_or((None, None), |s| (s.config, s.pattern));
        Ok(EntryDescription {
            name: name.to_owned(),
            pattern,
            config: config.as_deref().map(describe_config),
            dataset: dataset.describe(),
        })
    }

    /// The version versioned datasets save under.
    pub fn save_version(&self) -> &str {
        &self.context.save_version
    }
}

/// Adds the entry name to errors that do not say which entry they are about.
fn naming_entry(err: Error, name: &str) -> Error {
    match err {
        named @ (Error::InvalidConfig { entry: Some(_), .. }
        | Error::UnknownType { .. }
        | Error::MissingCredentials { .. }) => named,
        other => other.in_dataset(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog(conf: Value) -> DataCatalog {
        let options = CatalogOptions::new(DatasetRegistry::with_memory());
        DataCatalog::from_config(conf.as_object().unwrap(), &Map::new(), &options, ".").unwrap()
    }

    #[test]
    fn errors_name_the_entry_once() {
        let named = naming_entry(Error::config("cars", "bad"), "cars");
        assert_eq!(named.to_string(), "entry 'cars': bad");
        let unnamed = naming_entry(Error::NoData, "cars");
        assert_eq!(
            unnamed.to_string(),
            "cars: data for MemoryDataset has not been saved yet"
        );
    }

    #[test]
    fn parameters_become_json_memory_datasets() {
        let catalog = catalog(json!({}));
        let tree = json!({"a": {"b": 1}});
        catalog.add_parameters(&Parameters::new(tree.as_object().unwrap().clone()));
        assert_eq!(catalog.list(), ["parameters", "params:a", "params:a.b"]);
        let b = catalog.load("params:a.b").unwrap();
        assert_eq!(b.downcast_ref::<Value>().unwrap(), &json!(1));
        assert!(catalog.describe("params:a").unwrap().config.is_none());
    }

    #[test]
    fn pattern_matches_are_stored_once_resolved() {
        let catalog = catalog(json!({"{x}_tmp": {"type": "MemoryDataset", "copy_mode": "copy"}}));
        assert!(catalog.list().is_empty() && catalog.contains("a_tmp"));
        assert!(!catalog.exists("a_tmp").unwrap());
        assert_eq!(catalog.list(), ["a_tmp"]);
        let described = catalog.describe("a_tmp").unwrap();
        assert_eq!(described.pattern.as_deref(), Some("{x}_tmp"));
        assert_eq!(
            described.config,
            Some(json!({"type": "MemoryDataset", "copy_mode": "copy"}))
        );
        let shown = format!("{catalog:?}");
        assert!(
            shown.contains("a_tmp") && shown.contains("{x}_tmp"),
            "{shown}"
        );
    }

    #[test]
    fn invalid_save_versions_are_refused() {
        let mut options = CatalogOptions::new(DatasetRegistry::with_memory());
        options.save_version = Some("a/b".to_owned());
        let err = DataCatalog::from_config(&Map::new(), &Map::new(), &options, ".").unwrap_err();
        assert_eq!(err.kind(), "invalid_version");
    }
}
