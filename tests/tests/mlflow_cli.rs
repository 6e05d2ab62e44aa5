//! MLflow tracking through the churn example's binary and the local
//! `mlruns` store: `mlflow init` opts a project in, and a training run then
//! is one FINISHED MLflow run with its parameters and one logged model.

use std::path::{Path, PathBuf};

use tandem_tests::{churn, ok, workspace_file};

use crate::run_support::copy_dir;

const SMALL: &str = "data_generation.n_customers=600";

fn project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    project
}

/// Every file called `name` under `dir`.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(find(&path, name));
        } else if entry.file_name() == name {
            found.push(path);
        }
    }
    found
}

#[test]
fn init_then_run_logs_one_run_and_one_model() {
    let project = project();
    let written = ok(&churn(&["mlflow", "init", "--json"], project.path()));
    let written: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert!(written["path"].as_str().unwrap().ends_with("mlflow.yml"));
    let config = project.path().join("conf/local/mlflow.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("long_params_strategy: fail"), "{text}");

    // A second init refuses to overwrite; --force does.
    let again = churn(&["mlflow", "init"], project.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(&churn(&["mlflow", "init", "--force"], project.path()));

    ok(&churn(&["run", "--params", SMALL, "-q"], project.path()));
    let mlruns = project.path().join("mlruns");
    let runs: Vec<PathBuf> = find(&mlruns, "meta.yaml")
        .into_iter()
        .filter(|p| p.parent().unwrap().join("params").is_dir())
        .filter(|p| !p.components().any(|c| c.as_os_str() == "models"))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let meta = std::fs::read_to_string(&runs[0]).unwrap();
    assert!(meta.contains("status: 3"), "FINISHED: {meta}");
    let run_dir = runs[0].parent().unwrap();
    assert!(run_dir.join("tags/tandem.pipeline").is_file());
    assert!(std::fs::read_dir(run_dir.join("params")).unwrap().count() > 0);
    assert_eq!(find(&mlruns, "MLmodel").len(), 1);
}

#[test]
fn without_mlflow_yml_a_run_is_not_tracked() {
    let project = project();
    // The example ships an mlflow.yml; a project without one is not tracked.
    std::fs::remove_file(project.path().join("conf/base/mlflow.yml")).unwrap();
    ok(&churn(&["run", "--params", SMALL, "-q"], project.path()));
    assert!(!project.path().join("mlruns").exists());
}

#[test]
fn a_misspelt_setting_fails_the_run_naming_it() {
    let project = project();
    std::fs::write(
        project.path().join("conf/local/mlflow.yml"),
        "tracking:\n  disable_traking:\n    pipelines: []\n",
    )
    .unwrap();
    let out = churn(&["run", "--params", SMALL, "-q", "--json"], project.path());
    assert_eq!(out.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "invalid_config");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disable_traking")
    );
}
