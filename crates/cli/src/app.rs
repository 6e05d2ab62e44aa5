//! [`App`]: what a project registers before handing control to the CLI, the
//! way a Kedro project registers pipelines, dataset types and hooks.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry, Resolvers};
use tandem_pipeline_core::{FunctionRegistry, IntoNodeFunction};
use tandem_pipeline_ml::AnyPipeline;
use tandem_pipeline_model::SaveOptions;
use tandem_runners::Hook;

/// A project as the CLI sees it: node functions (by id, for spec files),
/// named pipelines (Kedro's pipeline registry), dataset types (by the names
/// catalog.yml uses) and hooks (called by `tandem run`).
///
/// [`App::new`] (also [`App::default`]) starts with tandem's builtins:
/// `builtin:identity` and every dataset type tandem ships. Registering a
/// name that exists replaces it, so a project can override a builtin.
///
/// ```
/// use tandem_cli::App;
/// use tandem_pipeline_core::{node, Pipeline};
///
/// fn double(x: &i64) -> i64 { x * 2 }
///
/// let training = Pipeline::new([node(double, "x", "y").name("double").build()?])?;
/// let app = App::new()
///     .function("my_project::double", double)
///     .pipeline("training", training);
/// assert!(format!("{app:?}").contains("training"));
/// # Ok::<(), tandem_pipeline_core::Error>(())
/// ```
#[derive(Clone)]
pub struct App {
    functions: FunctionRegistry,
    pipelines: BTreeMap<String, AnyPipeline>,
    datasets: DatasetRegistry,
    hooks: Vec<Arc<dyn Hook>>,
    resolvers: Resolvers,
    package: (String, String),
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("functions", &self.functions.ids().collect::<Vec<_>>())
            .field("pipelines", &self.pipelines.keys().collect::<Vec<_>>())
            .field("datasets", &self.datasets)
            .field(
                "hooks",
                &self.hooks.iter().map(|h| h.name()).collect::<Vec<_>>(),
            )
            .field("resolvers", &self.resolvers)
            .finish()
    }
}

impl App {
    /// An app with tandem's builtin functions and dataset types, and no
    /// pipelines or hooks.
    pub fn new() -> Self {
        let mut datasets = DatasetRegistry::with_builtins();
        tandem_sql::register(&mut datasets);
        tandem_plots::register(&mut datasets);
        #[cfg(feature = "polars")]
        tandem_polars::register(&mut datasets);
        App {
            functions: FunctionRegistry::with_builtins(),
            pipelines: BTreeMap::new(),
            datasets,
            hooks: Vec::new(),
            resolvers: Resolvers::new(),
            package: (
                env!("CARGO_PKG_NAME").to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
        }
    }

    /// Registers a custom resolver, `${name:args}` in every configuration
    /// file (catalog, parameters, credentials, globals, mlflow.yml): Kedro's
    /// `CONFIG_LOADER_ARGS["custom_resolvers"]`. Arguments arrive typed; an
    /// `Err` is the message of the configuration error naming the key. A
    /// built-in name (`globals`, `runtime_params`, `oc.*`) is ignored, as in Kedro.
    ///
    /// ```
    /// use tandem_cli::App;
    ///
    /// let app = App::new().resolver("add", |args| {
    ///     Ok(args.iter().filter_map(|a| a.as_i64()).sum::<i64>().into())
    /// });
    /// assert!(format!("{app:?}").contains("add"));
    /// ```
    pub fn resolver<F>(mut self, name: &str, resolver: F) -> Self
    where
        F: Fn(&[serde_json::Value]) -> Result<serde_json::Value, String> + Send + Sync + 'static,
    {
        self.resolvers.insert(name, resolver);
        self
    }

    /// The custom resolvers, for loading configuration.
    pub(crate) fn resolvers(&self) -> &Resolvers {
        &self.resolvers
    }

    /// Registers a node function under `id`, the name spec files use in `func:`.
    pub fn function<M>(
        mut self,
        id: impl Into<String>,
        function: impl IntoNodeFunction<M>,
    ) -> Self {
        self.functions.register(id, function);
        self
    }

    /// Replaces the whole function registry (builtins included).
    pub fn with_functions(mut self, functions: FunctionRegistry) -> Self {
        self.functions = functions;
        self
    }

    /// Registers a pipeline under `name`, for `tandem run --pipeline NAME`:
    /// a plain `Pipeline` or a `PipelineMl` (whose training runs log its
    /// inference pipeline as a model, and which `models save` packs).
    /// `__default__` is what runs when no pipeline is named; without it, the
    /// default is the sum of every registered pipeline.
    pub fn pipeline(mut self, name: impl Into<String>, pipeline: impl Into<AnyPipeline>) -> Self {
        self.pipelines.insert(name.into(), pipeline.into());
        self
    }

    /// Names the package that builds this binary, recorded in every model it
    /// saves so a model says which code it needs:
    /// `.package(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))`.
    pub fn package(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.package = (name.into(), version.into());
        self
    }

    /// Registers a dataset type that catalog.yml entries can name in `type:`.
    pub fn dataset_type(
        mut self,
        type_name: impl Into<String>,
        constructor: impl Fn(&DatasetConfig) -> Result<Arc<dyn Dataset>, tandem_catalog::Error>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.datasets.register(type_name, constructor);
        self
    }

    /// Replaces the whole dataset type registry (builtins included).
    pub fn with_datasets(mut self, datasets: DatasetRegistry) -> Self {
        self.datasets = datasets;
        self
    }

    /// Adds a hook; `tandem run` calls hooks in registration order.
    pub fn hook(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hooks.push(hook);
        self
    }

    pub(crate) fn functions(&self) -> &FunctionRegistry {
        &self.functions
    }

    pub(crate) fn pipelines(&self) -> &BTreeMap<String, AnyPipeline> {
        &self.pipelines
    }

    pub(crate) fn datasets(&self) -> &DatasetRegistry {
        &self.datasets
    }

    pub(crate) fn hooks(&self) -> &[Arc<dyn Hook>] {
        &self.hooks
    }

    /// How this binary saves models: its package and, with `embed`, itself as the model's executable (it registers the
    /// functions the model calls).
    pub(crate) fn save_options(&self, embed: bool) -> SaveOptions {
        let executable = embed
            .then(|| {
                std::env::current_exe()
                    .inspect_err(|e| {
                        tracing::warn!(
                            "the model will not embed this executable: its path is unknown ({e})"
                        );
                    })
                    .ok()
            })
            .flatten();
        SaveOptions {
            executable,
            ..SaveOptions::new(&self.package.0, &self.package.1)
        }
    }
}
