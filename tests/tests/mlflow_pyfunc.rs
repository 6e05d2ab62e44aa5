//! MLflow's own tools run a tandem model through its `python_function`
//! flavor: `mlflow models predict`, `mlflow models serve` and
//! `mlflow.pyfunc.load_model` start the model's embedded executable in
//! worker mode and must predict what `churn models predict` does, and
//! report the worker's errors with the `error_code` tandem's server uses.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tandem_test_support::mlflow::command as mlflow_command;
use tandem_tests::{churn, ok};

use crate::run_support::trained_churn;

/// A trained churn project ([`trained_churn`]), its model, and a request
/// body: the serving example with an optional value missing.
struct Trained {
    _dir: tempfile::TempDir,
    project: PathBuf,
    model: PathBuf,
    request: PathBuf,
}

fn trained() -> Trained {
    let dir = trained_churn();
    let project = dir.path().to_path_buf();
    let model = project.join("model");
    let mut body: Value =
        serde_json::from_slice(&std::fs::read(model.join("serving_input_example.json")).unwrap())
            .unwrap();
    let columns = body["dataframe_split"]["columns"].clone();
    let optional = columns
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == "total_charges")
        .unwrap();
    body["dataframe_split"]["data"][0][optional] = Value::Null;
    let request = project.join("request.json");
    std::fs::write(&request, body.to_string()).unwrap();
    Trained {
        _dir: dir,
        project,
        model,
        request,
    }
}

/// A command whose only way to the model's functions is the model's own
/// `bin/`: no `TANDEM_EXECUTABLE` fallback.
fn mlflow(program: &str, cwd: &Path) -> Command {
    let mut command = mlflow_command(program);
    command.current_dir(cwd).env_remove("TANDEM_EXECUTABLE");
    command
}

/// `churn models predict` on the same body: the reference.
fn tandem_predictions(trained: &Trained, params: &[&str]) -> Value {
    let mut args = vec![
        "models",
        "predict",
        "-m",
        "model",
        "-i",
        trained.request.to_str().unwrap(),
    ];
    args.extend(params);
    serde_json::from_str(&ok(&churn(&args, &trained.project))).unwrap()
}

/// Equal JSON, floats within a few ulps (Python and Rust print the same
/// doubles, but the comparison should not hinge on it).
fn assert_same(actual: &Value, expected: &Value) {
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                (x - y).abs() <= 1e-12 * x.abs().max(1.0)
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }
    assert!(same(actual, expected), "{actual}\n!=\n{expected}");
}

const PYFUNC_PREDICT: &str = r#"
import json, sys
import mlflow, pandas as pd
from mlflow.pyfunc.scoring_server import predictions_to_json

model_dir, request, threshold = sys.argv[1:]
split = json.load(open(request))["dataframe_split"]
frame = pd.DataFrame(split["data"], columns=split["columns"])
model = mlflow.pyfunc.load_model(model_dir)
# Twice: the second call reuses the worker the first one started.
model.predict(frame)
predictions_to_json(model.predict(frame, params={"threshold": float(threshold)}), sys.stdout)
"#;

#[test]
fn mlflow_predicts_what_tandem_predicts() {
    let trained = &trained();
    let mlmodel = std::fs::read_to_string(trained.model.join("MLmodel")).unwrap();
    assert!(
        mlmodel.contains("loader_module: tandem_pyfunc"),
        "{mlmodel}"
    );
    assert!(mlmodel.contains("path: bin/churn.zst"), "{mlmodel}");
    // An artifact download keeps no mode bits; the loader needs none: it
    // unpacks the compressed executable into a private directory.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let exe = trained.model.join("bin/churn.zst");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    let out = trained.project.join("mlflow-predictions.json");
    ok(&mlflow("mlflow", &trained.project)
        .args(["models", "predict", "-m"])
        .arg(&trained.model)
        .arg("-i")
        .arg(&trained.request)
        .args(["-t", "json", "-o"])
        .arg(&out)
        .args(["--env-manager", "local"])
        .output()
        .unwrap());
    let from_mlflow: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let expected = tandem_predictions(trained, &[]);
    assert_eq!(expected["predictions"].as_array().unwrap().len(), 5);
    assert_same(&from_mlflow, &expected);

    let printed = ok(&mlflow("python", &trained.project)
        .args(["-c", PYFUNC_PREDICT])
        .arg(&trained.model)
        .arg(&trained.request)
        .arg("0.9")
        .output()
        .unwrap());
    let from_pyfunc: Value = serde_json::from_str(&printed).unwrap();
    let strict = tandem_predictions(trained, &["--params", "threshold=0.9"]);
    assert_ne!(strict, expected, "the parameter must change something");
    assert_same(&from_pyfunc, &strict);
}

const PYFUNC_ERRORS: &str = r#"
import json, sys
import mlflow, pandas as pd
from mlflow.exceptions import MlflowException

model_dir, request = sys.argv[1:]
split = json.load(open(request))["dataframe_split"]
frame = pd.DataFrame(split["data"], columns=split["columns"]).drop(columns=["contract"])
model = mlflow.pyfunc.load_model(model_dir)
answers = {}
# MLflow's own schema enforcement answers first; the model implementation
# alone shows what the worker says.
for name, predict in [("mlflow", model.predict), ("worker", model._model_impl.predict)]:
    try:
        predict(frame)
        answers[name] = None
    except MlflowException as e:
        answers[name] = {"error_code": e.error_code, "message": e.message}
json.dump(answers, sys.stdout)
"#;

#[test]
fn worker_errors_reach_mlflow_with_the_servers_error_code() {
    let trained = &trained();
    let printed = ok(&mlflow("python", &trained.project)
        .args(["-c", PYFUNC_ERRORS])
        .arg(&trained.model)
        .arg(&trained.request)
        .output()
        .unwrap());
    let answers: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(answers["mlflow"]["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(
        answers["mlflow"]["message"]
            .as_str()
            .unwrap()
            .contains("missing inputs ['contract']"),
        "{answers}"
    );
    // tandem's server and worker answer as MLflow does.
    let worker = &answers["worker"];
    assert_eq!(worker["error_code"], "INVALID_PARAMETER_VALUE", "{answers}");
    let message = worker["message"].as_str().unwrap();
    assert!(
        message.contains("missing required input column(s) 'contract'"),
        "{message}"
    );

    let mut body: Value =
        serde_json::from_slice(&std::fs::read(&trained.request).unwrap()).unwrap();
    let split = &mut body["dataframe_split"];
    let drop = split["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == "contract")
        .unwrap();
    split["columns"].as_array_mut().unwrap().remove(drop);
    for row in split["data"].as_array_mut().unwrap() {
        row.as_array_mut().unwrap().remove(drop);
    }
    let missing = trained.project.join("missing-column.json");
    std::fs::write(&missing, body.to_string()).unwrap();
    let refused = churn(
        &[
            "models",
            "predict",
            "-m",
            "model",
            "-i",
            missing.to_str().unwrap(),
        ],
        &trained.project,
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(message),
        "{stderr}\ndoes not contain\n{message}"
    );
}

/// `mlflow models serve` in its own process group, stopped with it.
struct MlflowServer {
    child: Child,
    port: u16,
}

impl MlflowServer {
    fn start(trained: &Trained) -> MlflowServer {
        use std::os::unix::process::CommandExt;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(trained.project.join(format!("serve-{port}.log"))).unwrap();
        let child = mlflow("mlflow", &trained.project)
            .args(["models", "serve", "-m"])
            .arg(&trained.model)
            .args(["--env-manager", "local", "--host", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        let server = MlflowServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(120);
        while request(port, "GET", "/ping", b"").map(|(status, _)| status) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "mlflow models serve did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn signal(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args([signal, "--", &group]).status();
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.signal("-KILL");
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; `None` while nothing listens.
fn request(port: u16, method: &str, path: &str, body: &[u8]) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = String::from_utf8_lossy(&raw[..end])
        .split(' ')
        .nth(1)?
        .parse()
        .ok()?;
    let body = serde_json::from_slice(&raw[end + 4..]).unwrap_or(Value::Null);
    Some((status, body))
}

#[test]
fn mlflow_serves_a_tandem_model_from_several_threads() {
    let trained = &trained();
    let server = MlflowServer::start(trained);
    let body = std::fs::read(&trained.request).unwrap();
    let expected = tandem_predictions(trained, &[]);
    let answers: Vec<_> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| request(server.port, "POST", "/invocations", &body)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for answer in answers {
        let (status, predictions) = answer.expect("the server answers");
        assert_eq!(status, 200, "{predictions}");
        assert_same(&predictions, &expected);
    }
    let mut with_params: Value = serde_json::from_slice(&body).unwrap();
    with_params["params"] = json!({"threshold": 0.9});
    let (status, strict) = request(
        server.port,
        "POST",
        "/invocations",
        with_params.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{strict}");
    assert_same(
        &strict,
        &tandem_predictions(trained, &["--params", "threshold=0.9"]),
    );
}
