//! `mlflow ...` output.

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;
use tandem_mlflow_client::{Experiment, FileInfo, Run};
use tandem_tracking::LoggedPipelineModel;

use super::{table, write_json};
use crate::commands::{ArtifactsLogged, MlflowOutcome};

/// Writes an `mlflow` command's result.
pub(super) fn outcome(out: &mut dyn Write, outcome: &MlflowOutcome, json: bool) -> io::Result<()> {
    match outcome {
        MlflowOutcome::Initialized(path) => initialized(out, path, json),
        MlflowOutcome::Experiments(experiments) => experiments_listed(out, experiments, json),
        MlflowOutcome::ExperimentCreated(experiment) => {
            if json {
                return write_json(out, experiment);
            }
            writeln!(
                out,
                "created experiment '{}' with id {}",
                experiment.name, experiment.experiment_id
            )
        }
        MlflowOutcome::Runs(runs) => runs_listed(out, runs, json),
        MlflowOutcome::Run(run) => run_shown(out, run, json),
        MlflowOutcome::ArtifactsLogged(logged) => artifacts_logged(out, logged, json),
        MlflowOutcome::Artifacts { source, files } => artifacts_listed(out, source, files, json),
        MlflowOutcome::Downloaded(path) => {
            if json {
                return write_json(out, &json!({"path": path.display().to_string()}));
            }
            writeln!(out, "downloaded to {}", path.display())
        }
        MlflowOutcome::Modelified(logged) => modelified(out, logged, json),
        MlflowOutcome::Ui(plan) => ui(out, plan, json),
        MlflowOutcome::RunCreated(run_id) => {
            if json {
                return write_json(out, &json!({ "run_id": run_id }));
            }
            // Alone on the last line: Airflow pushes it as the task's XCom.
            writeln!(out, "{run_id}")
        }
        MlflowOutcome::RunEnded(ended) => run_ended(out, ended, json),
    }
}

/// `mlflow ui` without starting MLflow: the server's URL, or the command.
fn ui(out: &mut dyn Write, plan: &crate::commands::UiPlan, json: bool) -> io::Result<()> {
    use crate::commands::UiPlan;
    match (plan, json) {
        (UiPlan::Server(url), true) => write_json(out, &json!({"url": url})),
        (UiPlan::Command(command), true) => write_json(out, &json!({"command": command})),
        (UiPlan::Server(url), false) => {
            writeln!(out, "The tracking server serves MLflow's UI: open {url}")
        }
        (UiPlan::Command(command), false) => writeln!(
            out,
            "MLflow is not installed here (no `mlflow` on PATH); install it \
             (pip install mlflow) and run:\n  {command}"
        ),
    }
}

/// Where `mlflow init` wrote the configuration.
fn initialized(out: &mut dyn Write, path: &Path, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, &json!({"path": path.display().to_string()}));
    }
    writeln!(out, "wrote {}", path.display())
}

fn experiments_listed(
    out: &mut dyn Write,
    experiments: &[Experiment],
    json: bool,
) -> io::Result<()> {
    if json {
        return write_json(out, &json!({ "experiments": experiments }));
    }
    if experiments.is_empty() {
        return writeln!(out, "No experiments.");
    }
    let rows: Vec<Vec<String>> = experiments
        .iter()
        .map(|e| {
            vec![
                e.experiment_id.clone(),
                e.name.clone(),
                e.artifact_location.clone(),
            ]
        })
        .collect();
    table::write(out, &["ID", "NAME", "ARTIFACT_LOCATION"], &rows)
}

fn runs_listed(out: &mut dyn Write, runs: &[Run], json: bool) -> io::Result<()> {
    if json {
        return write_json(out, &json!({ "runs": runs }));
    }
    if runs.is_empty() {
        return writeln!(out, "No runs.");
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.info.run_id.clone(),
                r.info.experiment_id.clone(),
                r.info.status.as_str().to_owned(),
                time(r.info.start_time),
                r.info.run_name.clone(),
            ]
        })
        .collect();
    table::write(
        out,
        &["RUN_ID", "EXPERIMENT", "STATUS", "STARTED", "NAME"],
        &rows,
    )
}

fn run_shown(out: &mut dyn Write, run: &Run, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, run);
    }
    let info = &run.info;
    writeln!(out, "run {} ({})", info.run_id, info.run_name)?;
    writeln!(out, "  experiment: {}", info.experiment_id)?;
    writeln!(out, "  status: {}", info.status.as_str())?;
    writeln!(out, "  started: {}", time(info.start_time))?;
    writeln!(out, "  ended: {}", time(info.end_time))?;
    writeln!(out, "  artifacts: {}", info.artifact_uri)?;
    let sections: [(&str, Vec<Vec<String>>); 3] = [
        (
            "PARAM",
            run.data
                .params
                .iter()
                .map(|p| vec![p.key.clone(), p.value.clone()])
                .collect(),
        ),
        (
            "METRIC",
            run.data
                .metrics
                .iter()
                .map(|m| vec![m.key.clone(), m.value.to_string()])
                .collect(),
        ),
        (
            "TAG",
            run.data
                .tags
                .iter()
                .map(|t| vec![t.key.clone(), t.value.clone()])
                .collect(),
        ),
    ];
    for (header, mut rows) in sections {
        if rows.is_empty() {
            continue;
        }
        rows.sort();
        writeln!(out)?;
        table::write(out, &[header, "VALUE"], &rows)?;
    }
    Ok(())
}

fn artifacts_logged(out: &mut dyn Write, logged: &ArtifactsLogged, json: bool) -> io::Result<()> {
    let uri = format!("runs:/{}/{}", logged.run_id, logged.artifact_path);
    if json {
        return write_json(
            out,
            &json!({
                "run_id": logged.run_id,
                "artifact_path": logged.artifact_path,
                "files": logged.files,
                "artifact_uri": uri,
            }),
        );
    }
    let plural = if logged.files == 1 { "" } else { "s" };
    writeln!(out, "logged {} file{plural} to {uri}", logged.files)
}

fn artifacts_listed(
    out: &mut dyn Write,
    source: &str,
    files: &[FileInfo],
    json: bool,
) -> io::Result<()> {
    if json {
        return write_json(out, &json!({"source": source, "artifacts": files}));
    }
    if files.is_empty() {
        return writeln!(out, "No artifacts at {source}.");
    }
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            if f.is_dir {
                vec![format!("{}/", f.path), String::new()]
            } else {
                let size = f.file_size.map(|s| s.to_string()).unwrap_or_default();
                vec![f.path.clone(), size]
            }
        })
        .collect();
    table::write(out, &["PATH", "SIZE"], &rows)
}

fn modelified(out: &mut dyn Write, logged: &LoggedPipelineModel, json: bool) -> io::Result<()> {
    let name = logged.name.as_str();
    let registered = logged
        .version
        .as_ref()
        .map(|v| json!({"name": v.name, "version": v.version}));
    if json {
        return write_json(
            out,
            &json!({
                "name": name,
                "model_id": logged.model_id,
                "model_uri": logged.model_uri,
                "run_id": logged.run_id,
                "registered_model": registered,
                "mlmodel": logged.mlmodel,
            }),
        );
    }
    match &logged.model_id {
        Some(id) => writeln!(out, "Model '{name}' logged with model_id '{id}'")?,
        None => writeln!(out, "Model '{name}' logged")?,
    }
    writeln!(out, "  uri: {}", logged.model_uri)?;
    if let Some(run_id) = &logged.run_id {
        writeln!(out, "  run: {run_id}")?;
    }
    if let Some(version) = &logged.version {
        writeln!(
            out,
            "  registered: {} version {}",
            version.name, version.version
        )?;
    }
    Ok(())
}

/// A time in milliseconds since the epoch as UTC, or `-` when unknown.
fn time(millis: Option<i64>) -> String {
    millis
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

/// `runs end`: the status, and the model when this call logged one.
fn run_ended(out: &mut dyn Write, ended: &crate::commands::RunEnded, json: bool) -> io::Result<()> {
    let status = ended.status.status();
    let model = ended.model.as_deref();
    if json {
        return write_json(
            out,
            &json!({
                "run_id": ended.run_id,
                "status": status,
                "model_uri": model.map(|m| &m.model_uri),
                "registered_version": model.and_then(|m| m.version.as_ref()).map(|v| &v.version),
            }),
        );
    }
    if let Some(model) = model {
        modelified(out, model, false)?;
    }
    writeln!(out, "ended run {} {}", ended.run_id, status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_or_a_dash() {
        assert_eq!(time(Some(0)), "1970-01-01 00:00:00");
        assert_eq!(time(None), "-");
    }

    #[test]
    fn directories_end_with_a_slash() {
        let files = vec![
            FileInfo {
                path: "reports".to_owned(),
                is_dir: true,
                file_size: None,
            },
            FileInfo {
                path: "metrics.json".to_owned(),
                is_dir: false,
                file_size: Some(12),
            },
        ];
        let mut out = Vec::new();
        artifacts_listed(&mut out, "runs:/r/", &files, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PATH          SIZE\nreports/\nmetrics.json  12\n"
        );
    }
}
