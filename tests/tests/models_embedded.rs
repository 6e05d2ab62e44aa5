//! Models carry their executable: the bundled `tandem`, which registers
//! none of the churn project's functions, predicts and serves a churn model
//! through the model's `bin/churn`, after checking it; and explains why not
//! when the model has no executable or a tampered one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tandem_tests::{churn, ok, tandem_bin, workspace_file};

use crate::run_support::copy_dir;

/// A trained churn project with two saved models: `model` (embedding
/// bin/churn) and `bare` (saved with --no-executable).
fn trained_project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    std::fs::remove_file(project.path().join("conf/base/mlflow.yml")).unwrap();
    let small = "data_generation.n_customers=300";
    ok(&churn(&["run", "--params", small, "-q"], project.path()));
    let save = |dir: &str, extra: &[&str]| {
        let mut args = vec!["models", "save", "--pipeline", "training", "-o", dir];
        args.extend_from_slice(extra);
        ok(&churn(&args, project.path()));
    };
    save("model", &[]);
    save("bare", &["--no-executable"]);
    project
}

fn bundled(args: &[&str], cwd: &Path) -> Output {
    Command::new(tandem_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("tandem starts")
}

fn predict_args<'a>(model: &'a str, request: &'a str) -> Vec<&'a str> {
    vec!["models", "predict", "-m", model, "-i", request]
}

#[test]
fn the_bundled_cli_predicts_with_the_embedded_executable_after_checking_it() {
    let project = trained_project();
    let cwd = project.path();
    let request = "model/serving_input_example.json";
    let mlmodel = std::fs::read_to_string(cwd.join("model/MLmodel")).unwrap();
    assert!(mlmodel.contains("path: bin/churn"), "{mlmodel}");
    assert!(
        !std::fs::read_to_string(cwd.join("bare/MLmodel"))
            .unwrap()
            .contains("executable:")
    );

    let native = ok(&churn(&predict_args("model", request), cwd));
    let through_embedded = ok(&bundled(&predict_args("model", request), cwd));
    assert_eq!(through_embedded, native);

    // A parameter and an output file travel to the embedded executable.
    let mut args = predict_args("model", request);
    args.extend(["--params", "threshold=0.99", "-o", "strict.json"]);
    ok(&bundled(&args, cwd));
    let strict: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("strict.json")).unwrap()).unwrap();
    let rows = strict["predictions"].as_array().unwrap();
    assert!(rows.iter().all(|row| row["churn"] == false), "{strict}");

    // Artifact downloads lose the mode bits; they are restored.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let exe = cwd.join("model/bin/churn");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(ok(&bundled(&predict_args("model", request), cwd)), native);
    }

    // Without an executable, the error says so and what to do.
    let bare = bundled(
        &predict_args("bare", "bare/serving_input_example.json"),
        cwd,
    );
    assert_eq!(bare.status.code(), Some(1));
    let message = String::from_utf8_lossy(&bare.stderr);
    assert!(message.contains("does not register"), "{message}");
    assert!(message.contains("embeds no executable"), "{message}");

    // A tampered executable is never run.
    let mut exe = std::fs::OpenOptions::new()
        .append(true)
        .open(cwd.join("model/bin/churn"))
        .unwrap();
    exe.write_all(b"\0").unwrap();
    drop(exe);
    let tampered = bundled(&predict_args("model", request), cwd);
    assert_eq!(tampered.status.code(), Some(1));
    let message = String::from_utf8_lossy(&tampered.stderr);
    assert!(
        message.contains("not the ones the model recorded"),
        "{message}"
    );
}

#[test]
fn the_bundled_cli_serves_through_the_embedded_executable_and_stops_it_on_sigterm() {
    let project = trained_project();
    let mut server = Command::new(tandem_bin())
        .args([
            "models",
            "serve",
            "-m",
            "model",
            "--port",
            "0",
            "--workers",
            "2",
        ])
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tandem starts");
    let (lines, log) = mpsc::channel();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = log
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no address logged; log so far: {seen:#?}"));
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        seen.push(line);
    };
    assert!(
        seen.iter().any(|l| l.contains("embedded executable")),
        "{seen:#?}"
    );

    let body = std::fs::read(project.path().join("model/serving_input_example.json")).unwrap();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("churn_probability"), "{response}");

    // SIGTERM to the bundled CLI reaches the server it started.
    let pid = server.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the embedded server outlived the CLI"
    );
}
