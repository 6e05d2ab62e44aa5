//! Integration tests against real MLflow servers (one test binary; the
//! servers start once per process). Needs only python3 and pip:
//! tandem-test-support installs MLflow into `target/py-mlflow` on first use.

mod support;

mod artifacts;
mod auth;
mod faults;
mod idempotent;
mod local_store;
mod models;
mod sqlite_store;
mod tracking;
