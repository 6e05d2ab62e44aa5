//! A tracked training run (the churn project's binary, `tandem run` of a
//! project) against a real `mlflow server` behind tandem-test-support's
//! fault proxy. When the server dies mid-run, the run fails within the
//! retry budget mlflow.yml sets (`server.retry_budget`, MLflow's
//! `MLFLOW_HTTP_REQUEST_*` variables honoured), tries marking it FAILED
//! within `server.cleanup_budget`, and the error names the operation; the
//! proxy counts the attempts, so no time is measured. SIGTERM while the
//! model's files are uploading ends the run FAILED and its PENDING logged
//! model `LOGGED_MODEL_UPLOAD_FAILED`, then exits 143 (kedro-mlflow's
//! behaviour for an interrupted run).

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tandem_test_support::gate::HANG_GUARD;
use tandem_test_support::http;
use tandem_test_support::mlflow::server;
use tandem_test_support::proxy::{Fault, FaultMix, Proxy};
use tandem_tests::{churn_bin, workspace_file};

use crate::run_support::copy_dir;

const LOGGED_MODELS: &str = "POST /api/2.0/mlflow/logged-models";
const UPLOAD: &str = "PUT /api/2.0/mlflow-artifacts/artifacts/";

/// An experiment name no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The churn project tracked on `tracking_uri` in `experiment`, with the
/// `server:` keys `server_extra` adds.
fn tracked_churn(tracking_uri: &str, experiment: &str, server_extra: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let conf = project.path().join("conf");
    copy_dir(&workspace_file("examples/churn/conf"), &conf);
    std::fs::write(
        conf.join("base/mlflow.yml"),
        format!(
            "server:\n  mlflow_tracking_uri: {tracking_uri}\n{server_extra}\
             tracking:\n  experiment:\n    name: {experiment}\n"
        ),
    )
    .unwrap();
    project
}

/// `churn run` on 600 customers in `cwd`, nothing of the test's own
/// MLflow environment inherited.
fn churn_run(cwd: &Path) -> Command {
    let mut command = Command::new(churn_bin());
    command
        .args([
            "run",
            "--params",
            "data_generation.n_customers=600",
            "-q",
            "--json",
        ])
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
        .env_remove("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")
        .env_remove("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER");
    command
}

/// `POST /api/2.0/mlflow/<path>` with `body` on the server itself (not
/// through the proxy): the JSON answer.
fn direct(path: &str, body: &Value) -> Value {
    let reply = http::send_json(
        server().port,
        "POST",
        &format!("/api/2.0/mlflow/{path}"),
        body,
        HANG_GUARD,
    )
    .unwrap();
    reply.ok_json().unwrap()
}

fn experiment_id(name: &str) -> String {
    let path = format!("/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}");
    let reply = http::get(server().port, &path, HANG_GUARD).unwrap();
    let found = reply.ok_json().unwrap();
    found["experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The one run of experiment `name`, as the server has it.
fn only_run(experiment: &str) -> Value {
    let found = direct(
        "runs/search",
        &json!({"experiment_ids": [experiment_id(experiment)]}),
    );
    let runs = found["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "{found}");
    runs[0].clone()
}

/// The one logged model of experiment `name`, as the server has it.
fn only_logged_model(experiment: &str) -> Value {
    let found = direct(
        "logged-models/search",
        &json!({"experiment_ids": [experiment_id(experiment)]}),
    );
    let models = found["models"].as_array().cloned().unwrap_or_default();
    assert_eq!(models.len(), 1, "{found}");
    models[0].clone()
}

fn tag<'a>(run: &'a Value, key: &str) -> Option<&'a str> {
    run["data"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)?["value"]
        .as_str()
}

/// How many of `heads` have a request line starting with `prefix`.
fn count(heads: &[String], prefix: &str) -> usize {
    heads.iter().filter(|h| h.starts_with(prefix)).count()
}

#[test]
fn a_server_dying_mid_run_fails_it_within_the_configured_budget_naming_the_operation() {
    let proxy = Proxy::start(server().port, FaultMix::NONE, Vec::new());
    let experiment = unique("churn-dies");
    let project = tracked_churn(
        &proxy.uri(),
        &experiment,
        "  retry_budget: 1\n  cleanup_budget: 1\n",
    );
    // The nodes have run and the model is about to be logged: the server
    // dies at the request creating the logged model.
    proxy.die_at(&format!("{LOGGED_MODELS} "));
    let output = churn_run(project.path())
        // MLflow's schedule without its jitter (an immediate retry, then
        // 4 s), and retries to spare, so the budget alone stops the call.
        .env("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "50")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");

    let run = only_run(&experiment);
    let run_id = run["info"]["run_id"].as_str().unwrap();
    // The --json error is the last line; a warning about the cleanup
    // (also naming its operation) comes before it.
    let last = stderr.lines().last().unwrap_or_default();
    let error: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(error["error"]["kind"], "hook_failed", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "log_model 'model' for run {run_id}: {LOGGED_MODELS}: gave up after 2 attempts"
        )),
        "{message}"
    );
    assert!(
        stderr.contains(&format!("mark run {run_id} FAILED: ")),
        "{stderr}"
    );
    assert!(message.contains("(retry budget 1s)"), "{message}");

    // What the dead server was sent: the create and the one retry the 1 s
    // budget holds (which first looks for what the create may have made;
    // without the budget the call would go on for 60 s, 6 attempts), then
    // marking the run FAILED, each request at most twice in its own 1 s.
    let after = proxy.heads_since_death();
    let lines: Vec<&str> = after
        .iter()
        .map(|h| h.lines().next().unwrap_or_default())
        .collect();
    assert_eq!(count(&after, &format!("{LOGGED_MODELS} ")), 1, "{lines:#?}");
    assert_eq!(
        count(&after, &format!("{LOGGED_MODELS}/search ")),
        1,
        "{lines:#?}"
    );
    // The error tag goes up as a one-tag batch.
    let set_tag = count(&after, "POST /api/2.0/mlflow/runs/log-batch ");
    let update = count(&after, "POST /api/2.0/mlflow/runs/update ");
    assert!((1..=2).contains(&update), "{lines:#?}");
    assert!(set_tag <= 2, "{lines:#?}");
    assert_eq!(after.len(), 2 + set_tag + update, "{lines:#?}");
    // The server never heard of the failure: it was dead.
    assert_eq!(run["info"]["status"], "RUNNING", "{run}");
}

#[cfg(unix)]
#[test]
fn sigterm_while_the_model_uploads_fails_the_run_and_the_pending_model() {
    let proxy = Proxy::start(server().port, FaultMix::NONE, Vec::new());
    // One of the model's files is held at the proxy (the server has it, the
    // client waits for the answer): the model stays PENDING meanwhile.
    proxy.set_delay(HANG_GUARD);
    proxy.aim(UPLOAD, Fault::Late, 1);
    let experiment = unique("churn-sigterm");
    let project = tracked_churn(&proxy.uri(), &experiment, "");
    // The run's own artifacts (the plots) would be the first uploads: keep
    // them local, so the first upload is one of the model's files.
    std::fs::create_dir_all(project.path().join("conf/local")).unwrap();
    std::fs::write(
        project.path().join("conf/local/catalog.yml"),
        "roc_curve:\n  type: matplotlib.MatplotlibWriter\n  \
         filepath: data/08_reporting/roc_curve.png\n\
         confusion_matrix:\n  type: matplotlib.MatplotlibWriter\n  \
         filepath: data/08_reporting/confusion_matrix.png\n",
    )
    .unwrap();
    let child = churn_run(project.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    proxy.wait_for(UPLOAD, 1);
    let pending = only_logged_model(&experiment);
    assert_eq!(
        pending["info"]["status"], "LOGGED_MODEL_PENDING",
        "{pending}"
    );

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");

    let model = only_logged_model(&experiment);
    assert_eq!(model["info"]["model_id"], pending["info"]["model_id"]);
    assert_eq!(
        model["info"]["status"], "LOGGED_MODEL_UPLOAD_FAILED",
        "{model}"
    );
    let run = only_run(&experiment);
    assert_eq!(run["info"]["status"], "FAILED", "{run}");
    assert!(run["info"]["end_time"].is_i64() || run["info"]["end_time"].is_string());
    assert_eq!(tag(&run, "tandem.error"), Some("interrupted by SIGTERM"));
}
