//! Models carry their executable: the bundled `tandem`, which registers
//! none of the churn project's functions, predicts and serves a churn model
//! through the model's `bin/churn.zst` (unpacked into a private cache),
//! after checking it and with consent (models_trust.rs tests the consent
//! itself); and explains why not when the model has no executable or a
//! tampered one.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

use tandem_tests::{churn, ok, tandem_bin};

use crate::models_serve::{Serving, request};
use crate::run_support::trained_churn;

/// A trained churn project with two saved models: `model` (embedding
/// bin/churn) and `bare` (saved with --no-executable).
fn trained_project() -> tempfile::TempDir {
    let project = trained_churn();
    ok(&churn(
        &[
            "models",
            "save",
            "--pipeline",
            "training",
            "-o",
            "bare",
            "--no-executable",
        ],
        project.path(),
    ));
    project
}

/// The bundled `tandem`, consenting to run the model's executable, with
/// the executable cache under `cwd`.
fn bundled(args: &[&str], cwd: &Path) -> Output {
    Command::new(tandem_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("TANDEM_TRUST_MODEL_EXECUTABLE", "1")
        .env("XDG_CACHE_HOME", cwd.join("cache"))
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
    assert!(mlmodel.contains("path: bin/churn.zst"), "{mlmodel}");
    assert!(mlmodel.contains("format: zstd"), "{mlmodel}");
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

    // Artifact downloads lose the mode bits; the stored file needs none,
    // as it runs from the cache it is unpacked into.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let exe = cwd.join("model/bin/churn.zst");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o444)).unwrap();
        assert_eq!(ok(&bundled(&predict_args("model", request), cwd)), native);
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
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
        .open(cwd.join("model/bin/churn.zst"))
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
    let server = Serving::start(
        tandem_bin(),
        project.path(),
        &["-m", "model", "--workers", "2", "--trust-model-executable"],
    );
    assert!(
        server
            .startup
            .iter()
            .any(|l| l.contains("embedded executable")),
        "{:#?}",
        server.startup
    );

    let body = std::fs::read(project.path().join("model/serving_input_example.json")).unwrap();
    let (status, response) = request(
        server.addr,
        "POST",
        "/invocations",
        "application/json",
        &body,
    );
    let response = String::from_utf8_lossy(&response);
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("churn_probability"), "{response}");

    // SIGTERM to the bundled CLI reaches the server it started.
    let addr = server.addr;
    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "the embedded server outlived the CLI"
    );
}
