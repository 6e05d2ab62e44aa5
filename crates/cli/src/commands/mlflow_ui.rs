//! `tandem mlflow ui`: MLflow's own UI started on the project's store.

use std::process::Command;

use super::Outcome;
use super::external::{find_on_path, outlive_ctrl_c, shell_quote};
use super::mlflow::{MlflowOutcome, tracking_config};
use crate::app::App;
use crate::args::MlflowUiArgs;
use crate::error::Failure;

/// What `tandem mlflow ui` would run, or where the UI already is.
#[derive(Debug)]
pub(crate) enum UiPlan {
    /// The store is a tracking server, whose UI is at this URL.
    Server(String),
    /// MLflow is not on PATH: the command that starts the UI.
    Command(String),
}

/// Starts `mlflow ui` on the project's store and waits for it; without
/// MLflow installed, or for a server, says what to do instead.
pub(super) fn ui(args: &MlflowUiArgs, app: &App) -> Result<Outcome, Failure> {
    let config = tracking_config(&args.tracking, app)?;
    let root = args.tracking.conf.project_root();
    let store = config.tracking_uri(&root);
    if store.starts_with("http://") || store.starts_with("https://") {
        return Ok(Outcome::Mlflow(Box::new(MlflowOutcome::Ui(
            UiPlan::Server(store),
        ))));
    }
    let host = args.host.clone().unwrap_or_else(|| config.ui.host.clone());
    let port = args.port.clone().unwrap_or_else(|| config.ui.port.clone());
    let ui_args = [
        "ui",
        "--backend-store-uri",
        &store,
        "--host",
        &host,
        "--port",
        &port,
    ];
    // MLflow 3 opens a file store only when told to; the SQLite one as is.
    let file_store = !store.starts_with("sqlite:");
    let Some(mlflow) = find_on_path("mlflow") else {
        let variable = if file_store {
            "MLFLOW_ALLOW_FILE_STORE=true "
        } else {
            ""
        };
        let quoted: Vec<String> = ui_args.iter().map(|a| shell_quote(a)).collect();
        return Ok(Outcome::Mlflow(Box::new(MlflowOutcome::Ui(
            UiPlan::Command(format!("{variable}mlflow {}", quoted.join(" "))),
        ))));
    };
    tracing::info!("MLflow's UI on {store} at http://{host}:{port} (Ctrl-C stops it)");
    outlive_ctrl_c();
    let mut command = Command::new(&mlflow);
    command.args(ui_args).current_dir(&root);
    if file_store {
        command.env("MLFLOW_ALLOW_FILE_STORE", "true");
    }
    let status = command.status().map_err(|source| Failure::File {
        path: mlflow.display().to_string(),
        source,
    })?;
    // Ctrl-C ends the UI without an exit code: how a user stops it.
    Ok(Outcome::Delegated(
        status.code().map_or(0, |c| u8::try_from(c).unwrap_or(1)),
    ))
}
