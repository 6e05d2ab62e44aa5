//! `tandem mlflow ui`: MLflow's UI on the project's store.

use clap::Args;

use super::TrackingArgs;

pub(super) const LONG_ABOUT: &str = "\
Start MLflow's UI on the project's tracking store, as `kedro mlflow ui` does:
`mlflow ui --backend-store-uri <store> --host <host> --port <port>`, with the
store from --tracking-uri, mlflow.yml, MLFLOW_TRACKING_URI or MLflow's default
(the project's mlflow.db), and the address from --host/--port or mlflow.yml's
`ui:` (127.0.0.1:5000). It needs MLflow installed (`mlflow` on PATH); without
it, the command to run is printed. A tracking server has its own UI: its URL
is printed instead. Ctrl-C stops the UI.";

pub(super) const EXAMPLES: &str = "\
Examples:
  tandem mlflow ui
  tandem mlflow ui --port 5001
  tandem mlflow ui --conf conf --env prod";

/// `mlflow ui`.
#[derive(Debug, Args)]
pub(crate) struct MlflowUiArgs {
    #[command(flatten)]
    pub(crate) tracking: TrackingArgs,
    /// The port (default: mlflow.yml's ui.port, 5000).
    #[arg(long, short = 'p', value_name = "PORT")]
    pub(crate) port: Option<String>,
    /// The interface to listen on (default: mlflow.yml's ui.host, 127.0.0.1).
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,
}
