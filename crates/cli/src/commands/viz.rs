//! `tandem viz [build]`: the kedro-viz export of the project's pipelines,
//! and kedro-viz started on it when it is installed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};
use tandem_pipeline_core::Pipeline;
use tandem_pipeline_core::transcoding::strip_transcoding;
use tandem_pipeline_ml::AnyPipeline;

use super::Outcome;
use super::external::{find_on_path, outlive_ctrl_c, shell_quote};
use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::{ConfArgs, VizArgs, VizBuildArgs, VizCommand, VizSource};
use crate::error::Failure;
use crate::viz::{self, DatasetInfo, PipelineSummary, is_parameter, kedro_type};

/// What `viz build` wrote, or what `viz` could not start.
#[derive(Debug)]
pub(crate) struct VizReport {
    /// The export directory.
    pub(crate) output: PathBuf,
    /// What each exported pipeline holds.
    pub(crate) pipelines: Vec<PipelineSummary>,
    /// When kedro is not installed: the command that serves the export.
    pub(crate) serve_command: Option<String>,
}

/// Runs `tandem viz` or `tandem viz build`.
pub(crate) fn execute(args: &VizArgs, app: &App) -> Result<Outcome, Failure> {
    if let Some(VizCommand::Build(build)) = &args.command {
        return Ok(Outcome::Viz(Box::new(write(build, app)?)));
    }
    serve(args, app)
}

/// `viz build`: writes the export into `-o DIR`.
fn write(args: &VizBuildArgs, app: &App) -> Result<VizReport, Failure> {
    let pipelines = export_into(&args.source, app, &args.output)?;
    Ok(VizReport {
        output: args.output.clone(),
        pipelines,
        serve_command: None,
    })
}

/// `viz`: builds into a temporary directory and runs kedro-viz on it.
fn serve(args: &VizArgs, app: &App) -> Result<Outcome, Failure> {
    let temp = tempfile::Builder::new()
        .prefix("tandem-viz-")
        .tempdir()
        .map_err(|source| Failure::File {
            path: std::env::temp_dir().display().to_string(),
            source,
        })?;
    let pipelines = export_into(&args.source, app, temp.path())?;
    // kedro-viz opens `<cwd>/<DIR>/api` even for an absolute DIR, so it runs
    // in the directory's parent and is handed the bare name.
    let (parent, name) = split_dir(temp.path());
    let mut kedro_args = vec![
        "viz".to_owned(),
        "run".to_owned(),
        "--load-file".to_owned(),
        name.clone(),
        "--host".to_owned(),
        "127.0.0.1".to_owned(),
        "--port".to_owned(),
        args.port.to_string(),
    ];
    if args.no_browser {
        kedro_args.push("--no-browser".to_owned());
    }
    let Some(kedro) = find_on_path("kedro") else {
        let output = temp.keep();
        let command = format!(
            "cd {} && kedro viz run --load-file {} --host 127.0.0.1 --port {}",
            shell_quote(&parent.display().to_string()),
            shell_quote(&name),
            args.port
        );
        return Ok(Outcome::Viz(Box::new(VizReport {
            output,
            pipelines,
            serve_command: Some(command),
        })));
    };
    tracing::info!(
        "serving the kedro-viz export of {} pipeline(s) on http://127.0.0.1:{} ({})",
        pipelines.len(),
        args.port,
        temp.path().display()
    );
    outlive_ctrl_c();
    let status = Command::new(&kedro)
        .args(&kedro_args)
        .current_dir(&parent)
        .status()
        .map_err(|source| Failure::File {
            path: kedro.display().to_string(),
            source,
        })?;
    // A signal (Ctrl-C) ends kedro-viz without an exit code: that is how
    // a user stops it, so it counts as success.
    let code = status.code().map_or(0, |c| u8::try_from(c).unwrap_or(1));
    drop(temp);
    Ok(Outcome::Delegated(code))
}

/// Selects the pipelines, reads the catalog and parameters, and writes the
/// export under `dir`.
fn export_into(source: &VizSource, app: &App, dir: &Path) -> Result<Vec<PipelineSummary>, Failure> {
    let registry = PipelineRegistry::new(app, &source.spec)?;
    let names: Vec<String> = if source.pipeline.is_empty() {
        let mut names = registry.names();
        // With nothing registered, selecting __default__ is the error that
        // says where pipelines come from.
        if !names.iter().any(|n| n == viz::DEFAULT_PIPELINE) {
            names.insert(0, viz::DEFAULT_PIPELINE.to_owned());
        }
        names
    } else {
        let mut seen = std::collections::HashSet::new();
        source
            .pipeline
            .iter()
            .filter(|n| seen.insert(n.as_str()))
            .cloned()
            .collect()
    };
    let mut selected: Vec<(String, AnyPipeline)> = Vec::with_capacity(names.len());
    for name in names {
        let pipeline = registry.select(std::slice::from_ref(&name))?;
        selected.push((name, pipeline));
    }
    let view = catalog_view(&source.conf, app, &selected)?;
    let pipelines: Vec<(String, &Pipeline)> = selected
        .iter()
        .map(|(name, p)| (name.clone(), &**p))
        .collect();
    let export = viz::export(&pipelines, &view.datasets, &view.parameters);
    let timestamp = chrono::Utc::now().format("%d.%m.%Y %H:%M:%S").to_string();
    export.write(dir, &timestamp).map_err(|e| match e {
        viz::WriteError::Io(path, source) => Failure::File {
            path: path.display().to_string(),
            source,
        },
        viz::WriteError::UnsafeName(what) => Failure::File {
            path: dir.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what} cannot name a file of the export"),
            ),
        },
    })?;
    Ok(export.summaries)
}

/// What the export needs from the project's configuration.
struct CatalogView {
    /// Each declared dataset's Kedro type, layer and filepath, by name.
    datasets: HashMap<String, DatasetInfo>,
    /// The parameters tree.
    parameters: Map<String, Value>,
}

/// Reads the catalog (with every type `tandem run` knows, `mlflow.*`
/// included) for the datasets of `pipelines`. Without a configuration
/// directory (only when `--conf` was left at its default) every dataset is
/// a memory dataset and there are no parameter values.
fn catalog_view(
    conf: &ConfArgs,
    app: &App,
    pipelines: &[(String, AnyPipeline)],
) -> Result<CatalogView, Failure> {
    if conf.conf_source.is_none() && !conf.conf.is_dir() && conf.conf == Path::new("conf") {
        tracing::info!(
            "no conf/ directory here: datasets are shown as memory datasets, without layers"
        );
        return Ok(CatalogView {
            datasets: HashMap::new(),
            parameters: Map::new(),
        });
    }
    let (config, catalog) = super::mlflow::project_catalog(app, conf)?;
    let mut datasets = HashMap::new();
    for (_, pipeline) in pipelines {
        for node in pipeline.nodes() {
            for name in node.inputs().iter().chain(node.outputs()) {
                let name = strip_transcoding(name);
                if is_parameter(name) || datasets.contains_key(name) {
                    continue;
                }
                // An entry this binary cannot build is still drawn, as
                // configured: viz reads the catalog, it loads nothing.
                let (config, described) = if catalog.unusable(name).is_some() {
                    (catalog.entry_config(name), None)
                } else if catalog.get(name)?.is_some() {
                    let entry = catalog.describe(name)?;
                    (entry.config, Some(entry.dataset))
                } else {
                    continue;
                };
                let config = config.as_ref();
                let type_name = config
                    .and_then(|c| c.get("type"))
                    .and_then(Value::as_str)
                    .or(described.as_ref().map(|d| d.type_name.as_str()))
                    .unwrap_or("MemoryDataset");
                let layer = config
                    .and_then(|c| c.pointer("/metadata/kedro-viz/layer"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let filepath = match &described {
                    Some(d) => d.filepath.clone(),
                    None => config
                        .and_then(|c| c.get("filepath"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                };
                datasets.insert(
                    name.to_owned(),
                    DatasetInfo {
                        dataset_type: kedro_type(type_name),
                        layer,
                        filepath,
                    },
                );
            }
        }
    }
    Ok(CatalogView {
        datasets,
        parameters: config.parameters,
    })
}

/// `(parent, file name)` of a directory path.
fn split_dir(dir: &Path) -> (PathBuf, String) {
    let parent = dir
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let name = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    (parent, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/tmp/tandem-viz-a1"), "/tmp/tandem-viz-a1");
        assert_eq!(shell_quote("/tmp/my dir"), "'/tmp/my dir'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn kedro_viz_gets_the_directory_relative_to_its_parent() {
        let (parent, name) = split_dir(Path::new("/tmp/x/tandem-viz-1"));
        assert_eq!(parent, Path::new("/tmp/x"));
        assert_eq!(name, "tandem-viz-1");
    }
}
