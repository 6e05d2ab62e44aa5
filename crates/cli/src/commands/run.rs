//! `tandem run`, in `KedroSession.run`'s order: select the pipelines, apply
//! one filter, build the catalog with the run id as save version, run.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Instant;

use tandem_catalog::{
    CatalogOptions, ConfigOptions, DataCatalog, ProjectConfig, generate_timestamp,
};
use tandem_runners::{Hook, ParallelRunner, RunOptions, RunOutput, Runner, SequentialRunner};

use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::{RunArgs, RunnerKind};
use crate::error::Failure;

/// A free output of the run and where it was written.
#[derive(Debug, serde::Serialize)]
pub(crate) struct OutputReport {
    /// The dataset name.
    pub(crate) name: String,
    /// The dataset type (`MemoryDataset` for outputs without an entry).
    #[serde(rename = "type")]
    pub(crate) type_name: String,
    /// The file or object written (the version's path when versioned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) location: Option<String>,
}

/// A successful run.
#[derive(Debug)]
pub(crate) struct RunReport {
    /// The pipelines asked for.
    pub(crate) pipelines: Vec<String>,
    /// The runner used.
    pub(crate) runner: RunnerKind,
    /// What the runner returned: run id, completed nodes and timings.
    pub(crate) output: RunOutput,
    /// Nodes of the filtered pipeline that `--only-missing-outputs` skipped.
    pub(crate) skipped: Vec<String>,
    /// The pipeline's free outputs.
    pub(crate) outputs: Vec<OutputReport>,
}

/// Runs the pipeline `args` select with the app's hooks and then `extra_hooks`.
pub(crate) fn run(
    args: &RunArgs,
    app: &App,
    extra_hooks: &[Arc<dyn Hook>],
) -> Result<RunReport, Failure> {
    let names = args.pipeline_names();
    let whole = PipelineRegistry::new(app, &args.spec)?.select(&names)?;
    // A task of a DAG run joins the run its first task opened.
    let joined = std::env::var(tandem_tracking::MLFLOW_RUN_ID)
        .ok()
        .filter(|id| !id.trim().is_empty());
    let filter = args.filters.to_filter();
    let selected = match whole.as_ml() {
        // The final task logs the model; a task's slice of a PipelineMl
        // need not hold every inference input (kedro-mlflow's filter fails
        // on such slices), so it runs as a plain pipeline.
        Some(ml) if joined.is_some() => {
            tandem_pipeline_ml::AnyPipeline::Plain(ml.training().filter(&filter)?)
        }
        _ => whole.filter(&filter)?,
    };
    let pipeline: &tandem_pipeline_core::Pipeline = &selected;

    if args.is_async {
        tracing::debug!("--async accepted for Kedro compatibility: loads and saves do not overlap");
    }
    let run_id = args.run_id.clone().unwrap_or_else(generate_timestamp);
    let env = args.conf.env_or_kedro_env();
    // `--params` join each environment's parameters before `${...}` is
    // resolved, and feed `${runtime_params:...}` in every kind (Kedro's rules).
    let params_overrides = args.params_overrides();
    let config_options = ConfigOptions {
        runtime_params: params_overrides.clone(),

        resolvers: app.resolvers().clone(),
    };
    let config = ProjectConfig::load_with(args.conf.dir()?, env.as_deref(), &config_options)?;
    let root = args.conf.project_root();
    let tracking = super::mlflow::run_tracking(
        &args.conf,
        app,
        &config,
        root.clone(),
        &names,
        &selected,
        joined,
    )?;
    let options = CatalogOptions {
        load_versions: args.load_versions(),
        save_version: Some(run_id.clone()),
        // A run given its id re-runs that run: a retried task rewrites
        // the versions its failed try saved.
        replace_saved_versions: args.run_id.is_some(),
        params_overrides,
        registry: tracking.datasets,
    };
    let shared = args.run_id.is_some().then_some(&*whole);
    let catalog = run_catalog(&config, options, &root, shared)?;

    let mut hooks: Vec<Arc<dyn Hook>> = app.hooks().iter().chain(extra_hooks).cloned().collect();
    if tracking.hook.is_some() {
        end_tracked_run_on_signal(tracking.context.clone());
    }
    hooks.extend(tracking.hook);
    let run_options = RunOptions {
        run_id: Some(run_id.clone()),
        only_missing_outputs: args.only_missing_outputs,
        quiet: false,
    };
    tracing::info!(
        run_id = %run_id,
        pipelines = %names.join(","),
        runner = %args.runner.name(),
        "running {} node(s)",
        pipeline.len()
    );
    let started = Instant::now();
    let output =
        match args.runner {
            RunnerKind::Sequential => {
                SequentialRunner.run(pipeline, &catalog, &hooks, &run_options)
            }
            RunnerKind::Parallel => ParallelRunner::new(args.max_workers.map(NonZeroUsize::get))?
                .run(pipeline, &catalog, &hooks, &run_options),
        }?;
    tracing::info!(
        "pipeline execution completed successfully in {:.3} s",
        started.elapsed().as_secs_f64()
    );

    let done: std::collections::HashSet<&str> = output.nodes.iter().map(|n| n.name()).collect();
    let skipped = pipeline
        .nodes()
        .map(|n| n.name())
        .filter(|name| !done.contains(name))
        .map(str::to_owned)
        .collect();
    let outputs = output
        .free_outputs
        .iter()
        .map(|name| describe_output(&catalog, name))
        .collect::<Result<_, _>>()?;
    Ok(RunReport {
        pipelines: names,
        runner: args.runner,
        output,
        skipped,
        outputs,
    })
}

/// The catalog of a run. With `shared` (the pipeline a given `--run-id`
/// belongs to, before filters), every dataset it writes that the catalog
/// declares (an entry or a pattern) also loads at the run id unless
/// pinned: the tasks of one DAG run then read exactly what the tasks
/// before them saved, never a later version another DAG run wrote in
/// between. Datasets that are not versioned ignore their load version.
pub(super) fn run_catalog(
    config: &ProjectConfig,
    mut options: CatalogOptions,
    root: &std::path::Path,
    shared: Option<&tandem_pipeline_core::Pipeline>,
) -> Result<DataCatalog, Failure> {
    let Some(pipeline) = shared else {
        return Ok(DataCatalog::from_project(config, &options, root)?);
    };
    let Some(version) = options.save_version.clone() else {
        return Ok(DataCatalog::from_project(config, &options, root)?);
    };
    // A first catalog only answers which names are declared: entries are
    // built lazily enough that this reads and writes nothing.
    let probe = DataCatalog::from_project(config, &options, root)?;
    for name in pipeline.nodes().flat_map(|n| n.outputs()) {
        if probe.contains(name) && !options.load_versions.contains_key(name) {
            options
                .load_versions
                .insert(name.to_owned(), version.clone());
        }
    }
    Ok(DataCatalog::from_project(config, &options, root)?)
}

fn describe_output(catalog: &DataCatalog, name: &str) -> Result<OutputReport, Failure> {
    let dataset = catalog.dataset(name)?;
    Ok(OutputReport {
        name: name.to_owned(),
        type_name: dataset.describe().type_name,
        location: dataset.location().map(|l| l.url().to_owned()),
    })
}

/// Ctrl-C or SIGTERM during a tracked run ends the MLflow run FAILED (as
/// kedro-mlflow's `on_pipeline_error` does for an interrupted run) and a
/// logged model it left PENDING failed, then exits 130 or 143, the codes a
/// shell reports for a process those signals stopped. The handlers are
/// installed before the run starts, so no signal falls between.
fn end_tracked_run_on_signal(context: tandem_tracking::TrackingContext) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let signals = {
            let _entered = runtime.enter();
            (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            )
        };
        let (Ok(mut interrupt), Ok(mut terminate)) = signals else {
            return;
        };
        std::thread::spawn(move || {
            let (code, name) = runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => (130, "SIGINT"),
                    _ = terminate.recv() => (143, "SIGTERM"),
                }
            });
            if let Some(run_id) = context.interrupt(&format!("interrupted by {name}")) {
                tracing::warn!(run_id = %run_id, "{name}: MLflow run ended FAILED");
            }
            std::process::exit(code);
        });
    }
    #[cfg(not(unix))]
    drop(context);
}
