//! Project configuration in Kedro's `OmegaConfigLoader` layout.
//!
//! `conf/base/` holds the shared settings and `conf/<env>/` (default
//! `local`) overrides them. Each kind, catalog, parameters and credentials, is
//! read from every `.yml`/`.yaml`/`.json` file whose first path component or
//! file name starts with the kind's name (`catalog.yml`, `catalog_ml.yml`,
//! `catalog/raw.yml`, `pipelines/ds/catalog.yml`); hidden files are skipped.
//! `globals.yml` (that name only) is read once from base and the environment
//! and is what `${globals:key}` reads in every kind.
//!
//! Each environment's files of one kind are handled on their own, as Kedro
//! does:
//!
//! 1. Duplicates: a top-level key in two files is an error naming both
//!    files; for parameters the rule applies to dotted leaf paths, so
//!    `m: {a: 1}` and `m: {b: 2}` merge. Keys starting with `_` are exempt.
//! 2. The files are merged (mappings key by key), and for parameters the
//!    runtime parameters (`--params`) are merged in.
//! 3. `${...}` is resolved within that merged tree ([`Interpolator`]), so an
//!    environment cannot see base and one kind cannot see another.
//!    Credentials resolve file by file, where `${oc.env:VAR}` is allowed.
//! 4. Catalog and credentials keys starting with `_` are dropped (they hold
//!    YAML anchors and interpolation sources); parameters keep them.
//!
//! The environment then replaces base keys whole: no deep merge (Kedro's
//! default "destructive" strategy).
//!
//! Missing directories: the configuration directory itself must exist (Kedro
//! fails too). A missing `base/` or default `local/` is an empty layer, so a
//! project may keep all its configuration in one of them. An environment
//! asked for by name must exist: `--env prod` with no `conf/prod/` is a typo
//! to report, not an empty override. A kind with no files is empty (Kedro
//! fails on a project without any catalog file; tandem treats every dataset
//! as a memory dataset instead, as an empty catalog.yml would).

mod discover;
mod entry;
mod grammar;
mod interpolate;
mod load;
mod resolvers;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::Error;

pub(crate) use entry::{EntryContext, describe_config};
pub use interpolate::{Interpolator, ResolverFn, Resolvers};
pub(crate) use load::deep_merge;
pub(crate) use yaml::parse_yaml_value;

/// The environment every other one overrides.
pub const BASE_ENV: &str = "base";
/// The environment used when none is asked for.
pub const DEFAULT_ENV: &str = "local";

/// A kind of configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKind {
    /// `catalog*`: dataset entries and factory patterns.
    Catalog,
    /// `parameters*`: the parameters tree.
    Parameters,
    /// `credentials*`: named credentials entries refer to.
    Credentials,
}

impl ConfigKind {
    /// Every kind, in loading order.
    pub const ALL: [ConfigKind; 3] = [
        ConfigKind::Catalog,
        ConfigKind::Parameters,
        ConfigKind::Credentials,
    ];

    /// The file-name prefix of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            ConfigKind::Catalog => "catalog",
            ConfigKind::Parameters => "parameters",
            ConfigKind::Credentials => "credentials",
        }
    }
}

/// Where a top-level key is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file, as a path under the configuration directory.
    pub file: String,
    /// The 1-based line of the key, when it could be found in the text.
    pub line: Option<usize>,
}

/// What a load needs beyond the directory and the environment.
#[derive(Clone, Debug, Default)]
pub struct ConfigOptions {
    /// `kedro run --params` (see [`Parameters::parse_overrides`](crate::Parameters::parse_overrides)):
    /// merged into each environment's parameters before resolution, and
    /// what `${runtime_params:key}` reads in every kind but globals.
    pub runtime_params: Map<String, Value>,
    /// Custom resolvers (Kedro's `CONFIG_LOADER_ARGS["custom_resolvers"]`),
    /// available in every kind of file.
    pub resolvers: Resolvers,
}

/// A project's merged configuration. `Debug` hides credential values.
#[derive(Clone, Default)]
pub struct ProjectConfig {
    /// The environment that overrode `base` (`local` unless asked otherwise).
    pub env: String,
    /// Catalog entries and patterns, resolved, `_` keys dropped.
    pub catalog: Map<String, Value>,
    /// The parameters tree, resolved, with the runtime parameters merged
    /// into each environment's files (Kedro's rule: with a parameters file in
    /// the environment, `--params a.b=1` replaces base's whole `a`).
    pub parameters: Map<String, Value>,
    /// Named credentials, resolved, `_` keys dropped.
    pub credentials: Map<String, Value>,
    /// `globals.yml`, resolved, the environment's top-level keys replacing base's.
    pub globals: Map<String, Value>,
    /// The runtime parameters the configuration was loaded with.
    pub runtime_params: Map<String, Value>,
    resolvers: Resolvers,
    origins: BTreeMap<(ConfigKind, String), Origin>,
}

impl fmt::Debug for ProjectConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectConfig")
            .field("env", &self.env)
            .field("catalog", &self.catalog)
            .field("parameters", &self.parameters)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .field("globals", &self.globals)
            .field("runtime_params", &self.runtime_params)
            .finish()
    }
}

impl ProjectConfig {
    /// Loads `conf_dir/base` overridden by `conf_dir/<env>` (`local` when `env`
    /// is `None`; `Some("base")` loads base alone), without runtime parameters.
    pub fn load(conf_dir: &Path, env: Option<&str>) -> Result<ProjectConfig, Error> {
        ProjectConfig::load_with(conf_dir, env, &ConfigOptions::default())
    }

    /// [`load`](Self::load) with runtime parameters (`--params`).
    pub fn load_with(
        conf_dir: &Path,
        env: Option<&str>,
        options: &ConfigOptions,
    ) -> Result<ProjectConfig, Error> {
        if !conf_dir.is_dir() {
            return Err(general(format!(
                "configuration directory '{}' does not exist or is not a directory",
                conf_dir.display()
            )));
        }
        let (env_name, layers) = layers(conf_dir, env)?;
        let mut config = ProjectConfig {
            env: env_name.to_owned(),
            runtime_params: options.runtime_params.clone(),
            resolvers: options.resolvers.clone(),
            globals: globals(&layers, options)?,
            ..ProjectConfig::default()
        };
        let interpolator = config.interpolator();
        let mut parameters_found = false;
        for kind in ConfigKind::ALL {
            for layer in &layers {
                let read = load::read_layer(kind, layer, &interpolator, &config.runtime_params)?;
                parameters_found |= kind == ConfigKind::Parameters && read.found;
                for (key, origin) in read.origins {
                    config.origins.insert((kind, key), origin);
                }
                config.section(kind).extend(read.values);
            }
        }
        if !parameters_found {
            // Kedro's context falls back on the runtime parameters alone.
            config.parameters = interpolator.resolve(&config.runtime_params)?;
        }
        Ok(config)
    }

    /// Only the merged globals of `conf_dir` for `env` (none when `conf_dir`
    /// does not exist), for a command that reads another kind of file
    /// (`mlflow.yml`) without loading the rest of the configuration.
    pub fn load_globals(
        conf_dir: &Path,
        env: Option<&str>,
        options: &ConfigOptions,
    ) -> Result<Map<String, Value>, Error> {
        if !conf_dir.is_dir() {
            return Ok(Map::new());
        }
        globals(&layers(conf_dir, env)?.1, options)
    }

    /// An [`Interpolator`] with this configuration's globals, runtime
    /// parameters and custom resolvers, for another kind of file
    /// (kedro-mlflow's `mlflow.yml`), to which the caller adds its own resolvers.
    pub fn interpolator(&self) -> Interpolator {
        Interpolator::new()
            .with_resolvers(&self.resolvers)
            .with_globals(self.globals.clone())
            .with_runtime_params(self.runtime_params.clone())
    }

    /// Where a top-level key of `kind` was defined (the overriding file when
    /// an environment replaced it).
    pub fn origin(&self, kind: ConfigKind, key: &str) -> Option<&Origin> {
        self.origins.get(&(kind, key.to_owned()))
    }

    /// Adds the file and line of the catalog entry an error is about, when
    /// the error names an entry but not where it is written.
    pub fn locate(&self, err: Error) -> Error {
        match err {
            Error::InvalidConfig {
                file: None,
                line: None,
                entry: Some(entry),
                message,
            } => {
                let origin = self.origin(ConfigKind::Catalog, &entry);
                Error::InvalidConfig {
                    file: origin.map(|o| o.file.clone()),
                    line: origin.and_then(|o| o.line),
                    entry: Some(entry),
                    message,
                }
            }
            other => other,
        }
    }

    fn section(&mut self, kind: ConfigKind) -> &mut Map<String, Value> {
        match kind {
            ConfigKind::Catalog => &mut self.catalog,
            ConfigKind::Parameters => &mut self.parameters,
            ConfigKind::Credentials => &mut self.credentials,
        }
    }
}

fn general(message: String) -> Error {
    Error::InvalidConfig {
        file: None,
        line: None,
        entry: None,
        message,
    }
}

fn unknown_env(conf_dir: &Path, env: &str) -> Error {
    let existing: Vec<String> = std::fs::read_dir(conf_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| !n.starts_with('.'))
        .collect();
    let suggestions =
        tandem_pipeline_core::suggest::close_matches(env, existing.iter().map(String::as_str));
    let hint = if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    };
    general(format!(
        "environment '{env}' not found: '{}' is not a directory{hint}",
        conf_dir.join(env).display()
    ))
}

/// The layers a configuration reads, base first: `conf_dir/base` and
/// `conf_dir/<env>` (`local` when `env` is `None`), each when present; an
/// explicit environment must exist.
fn layers<'a>(conf_dir: &Path, env: Option<&'a str>) -> Result<(&'a str, Vec<PathBuf>), Error> {
    let env_name = env.unwrap_or(DEFAULT_ENV);
    let mut components = Path::new(env_name).components();
    if !matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) {
        return Err(general(format!("invalid environment name '{env_name}'")));
    }
    let mut layers: Vec<PathBuf> = Vec::new();
    let base = conf_dir.join(BASE_ENV);
    if base.is_dir() {
        layers.push(base);
    }
    if env_name != BASE_ENV {
        let env_dir = conf_dir.join(env_name);
        if env_dir.is_dir() {
            layers.push(env_dir);
        } else if env.is_some() {
            return Err(unknown_env(conf_dir, env_name));
        }
    }
    Ok((env_name, layers))
}

/// The merged globals of `layers`, read first and once: every kind of file
/// reads them.
fn globals(layers: &[PathBuf], options: &ConfigOptions) -> Result<Map<String, Value>, Error> {
    let for_globals = Interpolator::new()
        .with_resolvers(&options.resolvers)
        .for_globals();
    let mut merged = Map::new();
    for layer in layers {
        merged.extend(load::read_globals(layer, &for_globals)?.values);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn env_replaces_base_keys_whole() {
        let dir = project(&[
            ("base/catalog.yml", "a:\n  type: A\n  x: 1\nb:\n  type: B\n"),
            ("base/parameters.yml", "p:\n  x: 1\n  y: 2\n_hidden: 1\n"),
            ("local/catalog.yml", "a:\n  type: A2\n"),
            ("local/parameters/more.yml", "p:\n  x: 9\n"),
        ]);
        let config = ProjectConfig::load(dir.path(), None).unwrap();
        assert_eq!(config.env, "local");
        assert_eq!(
            Value::Object(config.catalog.clone()),
            json!({"a": {"type": "A2"}, "b": {"type": "B"}})
        );
        assert_eq!(
            Value::Object(config.parameters),
            json!({"p": {"x": 9}, "_hidden": 1})
        );
        let origin = config.origins[&(ConfigKind::Catalog, "a".to_owned())].clone();
        assert!(origin.file.ends_with("catalog.yml") && origin.file.contains("local"));
        assert_eq!(origin.line, Some(1));
    }

    #[test]
    fn underscore_keys_leave_the_catalog_and_credentials() {
        let dir = project(&[
            (
                "base/catalog.yml",
                "_csv: &csv\n  type: CSV\ncars:\n  <<: *csv\n  filepath: c.csv\n",
            ),
            ("base/catalog_more.yml", "_csv: {type: other}\n"),
            ("base/credentials.yml", "_shared: &s {key: k}\ndb: *s\n"),
        ]);
        let config = ProjectConfig::load(dir.path(), Some("base")).unwrap();
        assert_eq!(
            Value::Object(config.catalog),
            json!({"cars": {"type": "CSV", "filepath": "c.csv"}})
        );
        assert_eq!(
            Value::Object(config.credentials),
            json!({"db": {"key": "k"}})
        );
    }

    #[test]
    fn one_key_in_two_files_of_an_env_is_an_error_naming_both() {
        let dir = project(&[
            (
                "base/catalog.yml",
                "a: {type: A}\nb: {type: B}\nc: {type: C}\n",
            ),
            ("base/catalog/extra.yml", "b: {type: B}\na: {type: A}\n"),
        ]);
        let err = ProjectConfig::load(dir.path(), None).unwrap_err();
        let base = dir.path().join("base");
        assert_eq!(
            err.to_string(),
            format!(
                "Duplicate keys found in {} and {}: a, b",
                base.join("catalog.yml").display(),
                base.join("catalog/extra.yml").display()
            )
        );
    }

    #[test]
    fn missing_directories() {
        let dir = project(&[
            ("base/catalog.yml", "a: {type: A}\n"),
            ("prod/.gitkeep", ""),
        ]);
        assert!(
            ProjectConfig::load(dir.path(), None).is_ok(),
            "default env may be missing"
        );
        assert!(ProjectConfig::load(dir.path(), Some("prod")).is_ok());
        let err = ProjectConfig::load(dir.path(), Some("prd")).unwrap_err();
        assert!(err.to_string().contains("did you mean prod?"), "{err}");
        let err = ProjectConfig::load(&dir.path().join("nope"), None).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        for bad in ["", "../x", "a/b"] {
            assert!(
                ProjectConfig::load(dir.path(), Some(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn locate_adds_file_and_line_to_entry_errors() {
        let dir = project(&[("base/catalog.yml", "# header\n\ncars:\n  type: A\n")]);
        let config = ProjectConfig::load(dir.path(), None).unwrap();
        let err = config.locate(Error::config("cars", "bad copy mode"));
        let expected = format!(
            "{}:3: entry 'cars': bad copy mode",
            dir.path().join("base/catalog.yml").display()
        );
        assert_eq!(err.to_string(), expected);
        let untouched = config.locate(Error::config("bikes", "x"));
        assert_eq!(untouched.to_string(), "entry 'bikes': x");
    }

    #[test]
    fn debug_hides_credentials() {
        let dir = project(&[("base/credentials.yml", "db:\n  password: hunter2\n")]);
        let config = ProjectConfig::load(dir.path(), None).unwrap();
        let shown = format!("{config:?}");
        assert!(
            shown.contains("db") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
