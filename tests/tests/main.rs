//! End-to-end tests of the `tandem` binary.

mod catalog_cli;
mod catalog_s3;
mod describe;
mod errors;
mod layering;
mod mlflow_cli;
mod mlflow_commands;
mod mlflow_pyfunc;
mod models_cli;
mod models_embedded;
mod models_serve;
mod models_serve_limits;
mod models_trust;
mod pyarrow_interop;
mod run_demo;
mod run_durable;
mod run_filters;
mod run_hostile;
mod run_local;
mod run_missing;
mod run_params;
mod run_s3;
mod run_support;
mod run_terminal;
mod run_tracking_faults;
mod run_versions;
