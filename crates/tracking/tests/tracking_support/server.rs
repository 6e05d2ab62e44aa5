//! Real MLflow servers for the tracking tests: the mlflow-client crate's
//! harness, included by path so both crates provision the same virtualenv
//! and start servers the same way.

use std::sync::OnceLock;

#[path = "../../../mlflow-client/tests/harness.rs"]
#[allow(
    dead_code,
    reason = "the harness also serves mlflow-client's tests, which use every item"
)]
mod harness;

#[allow(
    unused_imports,
    reason = "each test binary including this support module uses a different part"
)]
pub(crate) use harness::{ADMIN, ADMIN_PASSWORD, NO_TELEMETRY, Server, server, venv_bin};

/// A basic-auth server, shared by the tests that need one.
pub(crate) fn auth_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(true))
}
