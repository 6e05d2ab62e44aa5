//! Test helpers on top of tandem-test-support's MLflow servers: clients,
//! names, fixtures, Python.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem_mlflow_client::{Config, Credentials, MlflowClient, RetryPolicy, Secret};
use tandem_test_support::mlflow::{self, ADMIN, ADMIN_PASSWORD, server};

/// A client for the shared plain server with a quick retry policy.
pub(crate) fn client() -> MlflowClient {
    client_for(&server().uri, Credentials::None)
}

/// A client with test-sized retries (the defaults wait minutes).
pub(crate) fn client_for(uri: &str, credentials: Credentials) -> MlflowClient {
    let config = Config::default()
        .with_tracking_uri(uri)
        .with_credentials(credentials)
        .with_timeout(Duration::from_secs(60))
        .with_retry(quick_retry(12));
    MlflowClient::new(config).unwrap()
}

pub(crate) fn quick_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        backoff_factor: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        jitter: Duration::from_millis(20),
        budget: Duration::from_secs(60),
    }
}

pub(crate) fn admin() -> Credentials {
    Credentials::Basic {
        username: ADMIN.into(),
        password: Secret::new(ADMIN_PASSWORD),
    }
}

/// A name no other test (or earlier run) uses.
pub(crate) fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// Runs a Python script with the MLflow venv's interpreter; returns stdout.
pub(crate) fn python(script: &str, envs: &[(&str, &str)]) -> String {
    let out = mlflow::command("python")
        .args(["-c", script])
        .envs(envs.iter().copied())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes a small MLflow model directory and returns its path.
pub(crate) fn model_dir(root: &Path) -> PathBuf {
    let dir = root.join("model");
    std::fs::create_dir_all(dir.join("data/nested")).unwrap();
    std::fs::write(
        dir.join("MLmodel"),
        "flavors:\n  rust_linear:\n    format_version: 1\n    weights: data/weights.json\n\
         mlflow_version: 3.17.2\n",
    )
    .unwrap();
    std::fs::write(dir.join("data/weights.json"), r#"{"w":[2.0,3.0],"b":1.0}"#).unwrap();
    std::fs::write(dir.join("data/nested/notes.txt"), "fitted on spaceflights").unwrap();
    dir
}

/// Every file under `dir`, relative path → content.
pub(crate) fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A new run in a fresh experiment named after `prefix`; its id.
pub(crate) fn new_run(client: &MlflowClient, prefix: &str) -> String {
    let exp = client.get_or_create_experiment(&unique(prefix)).unwrap();
    client
        .create_run(&tandem_mlflow_client::NewRun::new(&exp.experiment_id))
        .unwrap()
        .info
        .run_id
}
