//! Running a model's embedded executable needs consent: the bundled
//! `tandem` refuses without `--trust-model-executable` (or
//! `TANDEM_TRUST_MODEL_EXECUTABLE=1`), naming the model, the executable's
//! target and SHA-256 and how to consent, and touches nothing of the
//! model's code before that; the project's own binary, which holds the
//! functions, needs no consent. The executable runs from a private cache:
//! a tampered cached copy is replaced, never run, and a cache others can
//! write to is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tandem_tests::{churn, ok, tandem_bin};

use crate::run_support::trained_churn;

const REQUEST: &str = "model/serving_input_example.json";

/// The bundled `tandem` in `cwd` with `args`, the executable cache under
/// `cwd/cache`, no consent from the environment unless `envs` gives it.
fn bundled(args: &[&str], cwd: &Path, envs: &[(&str, &str)]) -> Output {
    Command::new(tandem_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", cwd.join("cache"))
        .env_remove("TANDEM_TRUST_MODEL_EXECUTABLE")
        .env_remove("MLFLOW_TRACKING_URI")
        .envs(envs.iter().copied())
        .output()
        .expect("tandem starts")
}

fn predict(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["models", "predict", "-m", "model", "-i", REQUEST]
        .map(str::to_owned)
        .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The `executable` entry of the model the project's binary saves (the
/// same binary as the one in `model/`, so the same target and SHA-256).
fn executable(cwd: &Path) -> Value {
    let saved = ok(&churn(
        &[
            "models",
            "save",
            "--pipeline",
            "training",
            "-o",
            "again",
            "--json",
        ],
        cwd,
    ));
    let mlmodel: Value = serde_json::from_str(&saved).unwrap();
    mlmodel["flavors"]["tandem"]["executable"].clone()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The cached executable: `<cache>/tandem/executables/<sha256>/churn`.
fn cached(cwd: &Path, sha256: &str) -> PathBuf {
    cwd.join("cache/tandem/executables")
        .join(sha256)
        .join("churn")
}

#[test]
fn the_bundled_cli_runs_a_models_executable_only_with_consent() {
    let project = trained_churn();
    let cwd = project.path();
    let exe = executable(cwd);
    let (target, sha256) = (
        exe["target"].as_str().unwrap(),
        exe["sha256"].as_str().unwrap(),
    );
    assert_eq!(sha256.len(), 64, "{exe}");

    // Without consent: refused, saying what would run and how to allow it.
    let refused = bundled(&refs(&predict(&[])), cwd, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let message = stderr(&refused);
    for needle in [
        "model 'model'",
        target,
        sha256,
        "--trust-model-executable",
        "TANDEM_TRUST_MODEL_EXECUTABLE=1",
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    assert!(refused.stdout.is_empty());
    assert!(
        !cwd.join("cache/tandem").exists(),
        "nothing was unpacked without consent"
    );

    // A falsey environment value is no consent either.
    let zero = bundled(
        &refs(&predict(&[])),
        cwd,
        &[("TANDEM_TRUST_MODEL_EXECUTABLE", "0")],
    );
    assert_eq!(zero.status.code(), Some(1), "{}", stderr(&zero));

    // The project's own binary holds the functions: no consent, no cache.
    let native = ok(&churn(&refs(&predict(&[])), cwd));

    // With the flag, or the environment variable, it runs.
    let flagged = ok(&bundled(
        &refs(&predict(&["--trust-model-executable"])),
        cwd,
        &[],
    ));
    assert_eq!(flagged, native);
    let by_env = ok(&bundled(
        &refs(&predict(&[])),
        cwd,
        &[("TANDEM_TRUST_MODEL_EXECUTABLE", "1")],
    ));
    assert_eq!(by_env, native);
    assert!(cached(cwd, sha256).is_file(), "unpacked into the cache");

    // Serving asks the same before starting anything.
    let serve = bundled(&["models", "serve", "-m", "model", "--port", "0"], cwd, &[]);
    assert_eq!(serve.status.code(), Some(1), "{}", stderr(&serve));
    assert!(stderr(&serve).contains("--trust-model-executable"));
}

#[cfg(unix)]
#[test]
fn a_tampered_cached_executable_is_replaced_and_never_run() {
    let project = trained_churn();
    let cwd = project.path();
    let sha256 = executable(cwd)["sha256"].as_str().unwrap().to_owned();
    let trusted = predict(&["--trust-model-executable"]);
    let first = ok(&bundled(&refs(&trusted), cwd, &[]));
    let exe = cached(cwd, &sha256);
    let original = std::fs::read(&exe).unwrap();

    let marker = cwd.join("pwned");
    std::fs::write(
        &exe,
        format!("#!/bin/sh\ntouch '{}'\necho '{{}}'\n", marker.display()),
    )
    .unwrap();
    let second = ok(&bundled(&refs(&trusted), cwd, &[]));
    assert_eq!(second, first);
    assert!(!marker.exists(), "the tampered cached file ran");
    assert_eq!(std::fs::read(&exe).unwrap(), original, "it was replaced");
}

#[cfg(unix)]
#[test]
fn a_cache_others_can_write_or_no_home_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let project = trained_churn();
    let cwd = project.path();
    let trusted = predict(&["--trust-model-executable"]);
    let root = cwd.join("cache/tandem/executables");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused = bundled(&refs(&trusted), cwd, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(&refused);
    assert!(message.contains("writable by other users"), "{message}");
    assert!(std::fs::read_dir(&root).unwrap().next().is_none());

    let homeless = Command::new(tandem_bin())
        .args(refs(&trusted))
        .current_dir(cwd)
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert_eq!(homeless.status.code(), Some(1));
    let message = stderr(&homeless);
    assert!(
        message.contains("XDG_CACHE_HOME") && message.contains("never the shared temporary"),
        "{message}"
    );
}
