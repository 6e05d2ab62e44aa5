//! `tandem mlflow experiments|runs|artifacts ...`.

use std::path::PathBuf;

use tandem_mlflow_client::{Experiment, MlflowClient, Run, RunQuery, ViewType};

use super::mlflow::{ArtifactsLogged, MlflowOutcome, client};
use crate::app::App;
use crate::args::{
    ArtifactsDownloadArgs, ArtifactsListArgs, ArtifactsLogArgs, ExperimentsCreateArgs,
    RunsListArgs, RunsShowArgs, TrackingArgs,
};
use crate::error::Failure;

/// The active experiments.
pub(super) fn list_experiments(args: &TrackingArgs, app: &App) -> Result<Vec<Experiment>, Failure> {
    Ok(client(args, app)?.list_experiments(ViewType::ActiveOnly)?)
}

/// Creates the experiment and returns it as the store now has it.
pub(super) fn create_experiment(
    args: &ExperimentsCreateArgs,
    app: &App,
) -> Result<Experiment, Failure> {
    let client = client(&args.tracking, app)?;
    let id = client.create_experiment(&args.name, None, &[])?;
    Ok(client.get_experiment(&id)?)
}

/// The runs of the chosen experiment, or of every active one.
pub(super) fn list_runs(args: &RunsListArgs, app: &App) -> Result<Vec<Run>, Failure> {
    let client = client(&args.tracking, app)?;
    let ids = match (&args.experiment, &args.experiment_id) {
        (Some(name), _) => vec![experiment_id_by_name(&client, name)?],
        (None, Some(id)) => vec![client.get_experiment(id)?.experiment_id],
        (None, None) => client
            .list_experiments(ViewType::ActiveOnly)?
            .into_iter()
            .map(|e| e.experiment_id)
            .collect(),
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(client.list_runs(&RunQuery::new(ids))?)
}

/// The id of the active experiment called `name`; an error that lists the
/// active experiments otherwise.
fn experiment_id_by_name(client: &MlflowClient, name: &str) -> Result<String, Failure> {
    match client.get_experiment_by_name(name)? {
        Some(found) if !found.is_deleted() => Ok(found.experiment_id),
        _ => Err(Failure::UnknownExperiment {
            name: name.to_owned(),
            active: client
                .list_experiments(ViewType::ActiveOnly)?
                .into_iter()
                .map(|e| e.name)
                .collect(),
        }),
    }
}

/// One run.
pub(super) fn show_run(args: &RunsShowArgs, app: &App) -> Result<Run, Failure> {
    Ok(client(&args.tracking, app)?.get_run(&args.run_id)?)
}

/// Uploads a file, or a directory's files, into the run's artifacts.
pub(super) fn log_artifacts(
    args: &ArtifactsLogArgs,
    app: &App,
) -> Result<ArtifactsLogged, Failure> {
    let client = client(&args.tracking, app)?;
    let metadata = std::fs::metadata(&args.path).map_err(|source| Failure::File {
        path: args.path.display().to_string(),
        source,
    })?;
    let under = args.artifact_path.as_deref();
    let (artifact_path, files) = if metadata.is_dir() {
        let files = client.log_artifacts(&args.run_id, &args.path, under)?;
        (under.unwrap_or_default().to_owned(), files)
    } else {
        (client.log_artifact(&args.run_id, &args.path, under)?, 1)
    };
    Ok(ArtifactsLogged {
        run_id: args.run_id.clone(),
        artifact_path,
        files,
    })
}

/// The artifacts directly under a run's path, or at a URI.
pub(super) fn list_artifacts(
    args: &ArtifactsListArgs,
    app: &App,
) -> Result<MlflowOutcome, Failure> {
    let client = client(&args.tracking, app)?;
    let (source, files) = match &args.source.uri {
        Some(uri) => (uri.clone(), client.list_artifacts_at(uri)?),
        None => {
            let run_id = args.source.run_id();
            let path = args.artifact_path.as_deref();
            let source = format!("runs:/{run_id}/{}", path.unwrap_or_default());
            (source, client.list_artifacts(run_id, path)?)
        }
    };
    Ok(MlflowOutcome::Artifacts { source, files })
}

/// Downloads a run's artifacts, or everything at a URI; returns the local path.
pub(super) fn download_artifacts(
    args: &ArtifactsDownloadArgs,
    app: &App,
) -> Result<PathBuf, Failure> {
    let client = client(&args.tracking, app)?;
    std::fs::create_dir_all(&args.output).map_err(|source| Failure::File {
        path: args.output.display().to_string(),
        source,
    })?;
    Ok(match &args.source.uri {
        Some(uri) => client.download_uri(uri, &args.output)?,
        None => client.download_artifacts(
            args.source.run_id(),
            args.artifact_path.as_deref().unwrap_or_default(),
            &args.output,
        )?,
    })
}
