//! The crate layering ARCHITECTURE.md draws, checked on the resolved
//! dependency graph (`cargo tree -e normal`, each package with its own
//! features), so a dependency pointing the wrong way fails here.

use std::process::Command;

use tandem_tests::workspace_root;

/// Every package in `package`'s normal dependency tree, by name.
fn tree(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn assert_absent(package: &str, forbidden: &[&str]) {
    let deps = tree(package);
    assert!(deps.iter().any(|d| d == package), "{package}: {deps:?}");
    for name in forbidden {
        assert!(
            !deps.iter().any(|d| d == name),
            "{package} must not depend on {name}; see `cargo tree -e normal -p {package} -i {name}`"
        );
    }
}

#[test]
fn the_binding_compiles_no_http_and_no_mlflow() {
    assert_absent(
        "tandem-pipeline-ml",
        &[
            "hyper",
            "reqwest",
            "tandem-mlflow-client",
            "tandem-runners",
            "tandem-pipeline-model",
        ],
    );
}

#[test]
fn the_model_compiles_no_http_server_and_no_mlflow_client() {
    assert_absent(
        "tandem-pipeline-model",
        &[
            "hyper",
            "tandem-mlflow-client",
            "tandem-serving",
            "tandem-tracking",
        ],
    );
}

#[test]
fn serving_and_tracking_stay_beside_each_other() {
    assert_absent(
        "tandem-serving",
        &["tandem-tracking", "tandem-mlflow-client"],
    );
    // Tracking reaches a server through the MLflow client (an HTTP client),
    // never through the scoring server.
    assert_absent("tandem-tracking", &["tandem-serving"]);
}

#[test]
fn deployment_plans_know_pipelines_and_catalogs_only() {
    // Plans and renderers need the graph and which datasets persist, never
    // a runner, a tracking client or an HTTP stack.
    assert_absent(
        "tandem-deploy",
        &[
            "tandem-runners",
            "tandem-tracking",
            "tandem-serving",
            "tandem-mlflow-client",
            "tandem-pipeline-model",
            "hyper",
            "reqwest",
        ],
    );
}

#[test]
fn the_mlflow_client_and_io_know_no_pipeline_crate() {
    for package in ["tandem-mlflow-client", "tandem-io"] {
        assert_absent(
            package,
            &[
                "tandem-pipeline-core",
                "tandem-catalog",
                "tandem-pipeline-ml",
                "tandem-pipeline-model",
            ],
        );
    }
}

/// Polars' lazy engine pulls its own object_store (and HTTP client) in,
/// so only tandem's own crates are checked here.
#[test]
fn dataset_crates_sit_on_the_catalog_and_know_no_runner_or_tracking() {
    for package in ["tandem-sql", "tandem-plots", "tandem-polars"] {
        let deps = tree(package);
        assert!(
            deps.iter().any(|d| d == "tandem-catalog"),
            "{package}: {deps:?}"
        );
        assert_absent(
            package,
            &[
                "tandem-runners",
                "tandem-tracking",
                "tandem-mlflow-client",
                "tandem-pipeline-ml",
                "tandem-pipeline-model",
                "tandem-serving",
                "tandem-cli",
            ],
        );
    }
}
