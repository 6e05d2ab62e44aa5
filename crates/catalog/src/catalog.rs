//! `DataCatalog`: the named datasets a run reads and writes, Kedro 1.x's
//! `DataCatalog` with dataset factories, versions and parameters.
//!
//! Kedro 1.x keeps each entry lazy until first use, so a catalog written for
//! datasets this process cannot build (a pickle, a Spark table) still serves
//! the pipelines that do not touch them. tandem's constructors are cheap and
//! do no I/O, so every explicit entry is built when the catalog is built and
//! every problem (a bad copy mode, a missing credential, a malformed entry)
//! is reported at once, each naming its entry. An entry whose type this
//! binary does not have (unknown or unsupported, or a storage backend not
//! compiled in) is kept as an *unusable* entry instead: it is listed, and it
//! fails, with its reason, only when something resolves it, which a run does
//! for every dataset of its pipeline before the first node. Names matched by
//! a factory pattern are built on first use; their pattern's settings are
//! still checked up front (placeholders, credentials).

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value};
use tandem_pipeline_core::Data;

use crate::config::{ConfigOptions, EntryContext, ProjectConfig, describe_config};
use crate::dataset::{Dataset, DatasetDescription};
use crate::error::{EntryProblem, Error};
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
    /// Whether a versioned save may replace what already exists at
    /// `save_version`: for a run given its id that is being re-run (a
    /// retried task of an orchestrated run rewrites its own earlier saves).
    /// Off, such a save fails with [`Error::VersionExists`], as in Kedro.
    pub replace_saved_versions: bool,
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
            replace_saved_versions: false,
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

/// A materialized dataset, or why this binary cannot build the entry, and,
/// when configuration made it, how.
#[derive(Clone)]
struct Slot {
    dataset: Result<Arc<dyn Dataset>, Arc<Error>>,
    config: Option<Arc<DatasetConfig>>,
    pattern: Option<String>,
}

impl Slot {
    fn inserted(dataset: Arc<dyn Dataset>) -> Slot {
        Slot {
            dataset: Ok(dataset),
            config: None,
            pattern: None,
        }
    }

    /// The slot for an entry built from `config`: unusable when the build
    /// failed because this binary lacks the type or backend, an error otherwise.
    fn built(
        config: DatasetConfig,
        built: Result<Arc<dyn Dataset>, Error>,
        pattern: Option<String>,
    ) -> Result<Slot, Error> {
        let dataset = match built {
            Ok(dataset) => Ok(dataset),
            Err(err) if unusable_copy(&err).is_some() => Err(Arc::new(err)),
            Err(err) => return Err(naming_entry(err, &config.name)),
        };
        Ok(Slot {
            dataset,
            config: Some(Arc::new(config)),
            pattern,
        })
    }

    /// The dataset, or a fresh copy of the reason it cannot be used.
    fn dataset(&self) -> Result<Arc<dyn Dataset>, Error> {
        match &self.dataset {
            Ok(dataset) => Ok(Arc::clone(dataset)),
            Err(reason) => Err(
                unusable_copy(reason).unwrap_or_else(|| Error::InvalidConfig {
                    file: None,
                    line: None,
                    entry: self.config.as_ref().map(|c| c.name.clone()),
                    message: reason.to_string(),
                }),
            ),
        }
    }
}

/// A copy of `err` if it says this binary cannot build an entry (its type
/// is unknown or unsupported, its storage backend not compiled in): the
/// errors that make an entry unusable rather than the catalog invalid.
fn unusable_copy(err: &Error) -> Option<Error> {
    match err {
        Error::UnknownType {
            entry,
            type_name,
            suggestion,
        } => Some(Error::UnknownType {
            entry: entry.clone(),
            type_name: type_name.clone(),
            suggestion: suggestion.clone(),
        }),
        Error::UnsupportedBackend { scheme, feature } => Some(Error::UnsupportedBackend {
            scheme: scheme.clone(),
            feature,
        }),
        Error::Dataset { name, source } => unusable_copy(source).map(|e| e.in_dataset(name)),
        _ => None,
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
            replace_saved_versions: options.replace_saved_versions,
            project_root: project_root.into(),
        };
        let registry = options.registry.clone();
        // Every problem is collected, so one load reports them all.
        let mut problems = Vec::new();
        let mut problem = |entry: &str, error: Error| {
            problems.push(EntryProblem {
                entry: Some(entry.to_owned()),
                defined_in: None,
                error,
            });
        };

        let mut patterns = Vec::new();
        for (key, entry) in catalog.iter().filter(|(k, _)| is_pattern(k)) {
            let checked = Pattern::new(key, entry.clone())
                .and_then(|p| context.dataset_config(key, p.config()).map(|_| p));
            match checked {
                Ok(pattern) => patterns.push(pattern),
                Err(err) => problem(key, err),
            }
        }

        let mut datasets = FxHashMap::with_capacity_and_hasher(catalog.len(), Default::default());
        for (name, entry) in catalog.iter().filter(|(k, _)| !is_pattern(k)) {
            let slot = context.dataset_config(name, entry).and_then(|config| {
                let built = registry.build(&config);
                Slot::built(config, built, None)
            });
            match slot {
                Ok(slot) => {
                    datasets.insert(name.clone(), slot);
                }
                Err(err) => problem(name, err),
            }
        }
        let patterns = match PatternSet::new(patterns) {
            Ok(patterns) => patterns,
            Err(err) => {
                problems.push(EntryProblem {
                    entry: None,
                    defined_in: None,
                    error: err,
                });
                PatternSet::default()
            }
        };
        if problems.len() == 1 {
            return Err(problems.remove(0).error);
        }
        if !problems.is_empty() {
            return Err(Error::InvalidEntries { problems });
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
                .map_err(|e| locate_problems(config, e))?;
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
            ..ConfigOptions::default()
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
    /// dataset that is in the catalog either way (or why it is unusable).
    fn store_first(&self, name: &str, slot: Slot) -> Result<Arc<dyn Dataset>, Error> {
        self.write()
            .entry(name.to_owned())
            .or_insert(slot)
            .dataset()
    }

    /// Whether `name` is an entry, a stored dataset or matches a pattern
    /// (the catch-all included). The runtime default does not count.
    pub fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name) || self.patterns.find(name).is_some()
    }

    /// The dataset called `name`, resolving (and storing) it from a pattern
    /// if needed; `None` if nothing matches. An unusable entry (see
    /// [`unusable`](Self::unusable)) fails with its reason.
    pub fn get(&self, name: &str) -> Result<Option<Arc<dyn Dataset>>, Error> {
        if let Some(slot) = self.read().get(name) {
            return slot.dataset().map(Some);
        }
        let Some((pattern, bindings)) = self.patterns.find(name) else {
            return Ok(None);
        };
        let entry = pattern.resolve(name, &bindings)?;
        let config = self.context.dataset_config(name, &entry)?;
        let built = self.registry.build(&config);
        let slot = Slot::built(config, built, Some(pattern.key().to_owned()))?;
        self.store_first(name, slot).map(Some)
    }

    /// Why the entry `name` cannot be used in this binary (its type is
    /// unknown or unsupported, its storage backend not compiled in), if it
    /// is such an entry; `None` for usable entries and unknown names.
    pub fn unusable(&self, name: &str) -> Option<Error> {
        let slot = self.read().get(name).cloned()?;
        slot.dataset().err()
    }

    /// The resolved configuration (credentials masked) of a configured entry
    /// or resolved pattern match, usable or not; `None` for datasets added
    /// in code, runtime defaults and unresolved names.
    pub fn entry_config(&self, name: &str) -> Option<Value> {
        let slot = self.read().get(name).cloned()?;
        slot.config.as_deref().map(describe_config)
    }

    /// The factory pattern that would resolve `name` (the catch-all
    /// included) if it had no entry, without resolving it; `None` if none
    /// matches.
    pub fn matching_pattern(&self, name: &str) -> Option<String> {
        self.patterns.find(name).map(|(p, _)| p.key().to_owned())
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
                Ok((self.store_first(name, default)?, false))
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

    /// Names of the stored datasets (configured entries, usable or not,
    /// resolved pattern matches, runtime defaults, inserted ones), sorted;
    /// patterns excluded.
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

/// Adds the file and line of each problem's entry: [`ProjectConfig::locate`]
/// for malformed entries (whose message then carries them), `defined_in`
/// for the rest of an [`Error::InvalidEntries`].
fn locate_problems(config: &ProjectConfig, err: Error) -> Error {
    match err {
        Error::InvalidEntries { problems } => Error::InvalidEntries {
            problems: problems
                .into_iter()
                .map(|p| {
                    let error = config.locate(p.error);
                    let located = matches!(error, Error::InvalidConfig { file: Some(_), .. });
                    let defined_in = match (&p.entry, located) {
                        (Some(entry), false) => config
                            .origin(crate::config::ConfigKind::Catalog, entry)
                            .map(|o| match o.line {
                                Some(line) => format!("{}:{line}", o.file),
                                None => o.file.clone(),
                            }),
                        _ => None,
                    };
                    EntryProblem {
                        entry: p.entry,
                        defined_in,
                        error,
                    }
                })
                .collect(),
        },
        other => config.locate(other),
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
    fn unusable_entries_are_kept_and_fail_only_when_used() {
        let catalog = catalog(json!({
            "regressor": {"type": "pickle.PickleDataset", "filepath": "data/06_models/r.pkl"},
            "table": {"type": "spark.SparkDataset"},
            "scratch": {"type": "MemoryDataset"},
        }));
        assert_eq!(catalog.list(), ["regressor", "scratch", "table"]);
        assert!(catalog.contains("regressor"));
        catalog.save("scratch", Data::new(1_i64)).unwrap();
        assert!(catalog.unusable("scratch").is_none() && catalog.unusable("nope").is_none());

        let reason = catalog.unusable("regressor").unwrap();
        assert_eq!(reason.kind(), "unknown_dataset_type");
        assert!(reason.to_string().contains("SerdeDataset"), "{reason}");
        for err in [
            catalog.load("regressor").unwrap_err(),
            catalog.save("regressor", Data::new(1_i64)).unwrap_err(),
            catalog.exists("regressor").unwrap_err(),
            catalog.resolve_or_default("regressor").err().unwrap(),
            catalog.describe("regressor").unwrap_err(),
        ] {
            assert_eq!(err.kind(), "unknown_dataset_type");
            assert!(err.to_string().contains("'regressor'"), "{err}");
        }
        let shown = catalog.entry_config("table").unwrap();
        assert_eq!(shown, json!({"type": "spark.SparkDataset"}));
    }

    #[test]
    fn every_problem_is_reported_in_one_error() {
        let options = CatalogOptions::new(DatasetRegistry::with_memory());
        let conf = json!({
            "a": {"type": "MemoryDataset", "copy_mode": "bogus"},
            "b": {"type": "MemoryDataset", "credentials": "nowhere"},
            "c": "not a mapping",
            "fine": {"type": "MemoryDataset"},
            "lazy": {"type": "pickle.PickleDataset"},
            "{x}_y": {"type": "MemoryDataset", "filepath": "{z}"},
        });
        let err = DataCatalog::from_config(conf.as_object().unwrap(), &Map::new(), &options, ".")
            .unwrap_err();
        let Error::InvalidEntries { problems } = &err else {
            panic!("{err:?}");
        };
        let entries: Vec<_> = problems.iter().map(|p| p.entry.as_deref()).collect();
        assert_eq!(entries, [Some("{x}_y"), Some("a"), Some("b"), Some("c")]);
        assert_eq!(err.kind(), "invalid_config", "mixed kinds");
        let message = err.to_string();
        assert!(
            message.starts_with("4 catalog entries are invalid:"),
            "{message}"
        );
        for needle in ["bogus", "'nowhere'", "entry 'c'", "{'{z}'}"] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
        assert!(!message.contains("lazy"), "{message}");

        let conf = json!({
            "a": {"type": "MemoryDataset", "copy_mode": "bogus"},
            "b": {"type": "MemoryDataset", "copy_mode": "worse"},
        });
        let err = DataCatalog::from_config(conf.as_object().unwrap(), &Map::new(), &options, ".")
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        let single = json!({"a": {"type": "MemoryDataset", "credentials": "x"}});
        let err = DataCatalog::from_config(single.as_object().unwrap(), &Map::new(), &options, ".")
            .unwrap_err();
        assert_eq!(
            err.kind(),
            "missing_credentials",
            "one problem keeps its own error"
        );
    }

    #[test]
    fn project_problems_name_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("conf/base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(
            base.join("catalog.yml"),
            "a:\n  type: MemoryDataset\n  copy_mode: bogus\nb:\n  type: MemoryDataset\n  credentials: nope\n",
        )
        .unwrap();
        let options = CatalogOptions::new(DatasetRegistry::with_memory());
        let err = DataCatalog::from_conf_dir(&dir.path().join("conf"), Some("base"), &options)
            .unwrap_err();
        let message = err.to_string();
        let file = base.join("catalog.yml").display().to_string();
        assert!(
            message.contains(&format!("{file}:1: entry 'a'")),
            "{message}"
        );
        assert!(
            message.contains(&format!("{file}:4: entry 'b'")),
            "{message}"
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
