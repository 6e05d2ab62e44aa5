//! `tandem run` on local files: csv → parquet (versioned) → csv, a transcoded
//! parquet dataset read with fewer columns, parameters written as JSON; with
//! both runners, as text and JSON, with environments and log levels.

use serde_json::json;

use crate::run_support::{CARS_CSV, Project, node_names, output, sorted};

const ALL_NODES: [&str; 6] = [
    "echo_params",
    "features.copy_prices",
    "features.select_prices",
    "features.write_input",
    "ingest.to_csv",
    "ingest.to_parquet",
];

/// The price column of cars.csv with its id, as CSVDataset writes it.
const PRICES: &str = "id,price\n1,21500.5\n2,180000.25\n3,15999.75\n4,9990.5\n5,23450.5\n";

fn check_outputs(project: &Project, summary: &serde_json::Value) {
    let run_id = summary["run_id"].as_str().unwrap();
    assert_eq!(summary["status"], "success");
    assert_eq!(summary["pipelines"], json!(["__default__"]));
    assert_eq!(sorted(node_names(summary)), ALL_NODES);
    assert_eq!(summary["skipped"], json!([]));
    for node in summary["nodes"].as_array().unwrap() {
        assert!(node["seconds"].as_f64().unwrap() >= 0.0, "{node}");
    }

    // csv → parquet → csv gives the same text back.
    assert_eq!(
        project.read("data/03_primary/cars_back.csv"),
        project.read(CARS_CSV)
    );
    // The parquet file is versioned under the run id.
    let version = format!("data/02_intermediate/cars.parquet/{run_id}/cars.parquet");
    let parquet = std::fs::read(project.path(&version)).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    // model_input@write wrote every column; model_input@read loaded two.
    assert_eq!(project.read("data/05_model_input/prices.csv"), PRICES);
    // prices_copy is the local environment's entry.
    assert_eq!(project.read("data/06_copies/local_prices.csv"), PRICES);
    let params: serde_json::Value =
        serde_json::from_str(&project.read("data/08_reporting/params.json")).unwrap();
    assert_eq!(
        params,
        json!({"title": "Cars", "threshold": 0.5, "columns": ["id", "price"]})
    );

    let outputs = summary["outputs"].as_array().unwrap();
    let names: Vec<&str> = outputs
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cars_back", "prices_copy", "run_params"]);
    assert_eq!(outputs[0]["type"], "CSVDataset");
    let location = outputs[0]["location"].as_str().unwrap();
    assert!(
        location.ends_with("data/03_primary/cars_back.csv"),
        "{location}"
    );
}

#[test]
fn the_sequential_runner_converts_and_versions() {
    let project = Project::new();
    let summary = project.run_json(&[]);
    assert_eq!(summary["runner"], "sequential");
    // Kedro's execution order: layer by layer, names sorted within a layer.
    assert_eq!(
        node_names(&summary),
        [
            "echo_params",
            "ingest.to_parquet",
            "features.write_input",
            "ingest.to_csv",
            "features.select_prices",
            "features.copy_prices",
        ]
    );
    check_outputs(&project, &summary);
}

#[test]
fn the_parallel_runner_writes_the_same_files() {
    let project = Project::new();
    let summary = project.run_json(&["--runner", "parallel", "--max-workers", "2"]);
    assert_eq!(summary["runner"], "parallel");
    check_outputs(&project, &summary);
}

#[test]
fn each_run_saves_a_new_version() {
    let project = Project::new();
    let first = project.run_json(&["--to-outputs", "cars_parquet"]);
    let second = project.run_json(&["--to-outputs", "cars_parquet"]);
    assert_ne!(first["run_id"], second["run_id"]);
    let mut versions: Vec<String> =
        std::fs::read_dir(project.path("data/02_intermediate/cars.parquet"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    versions.sort();
    assert_eq!(
        versions,
        [
            first["run_id"].as_str().unwrap(),
            second["run_id"].as_str().unwrap()
        ]
    );
}

#[test]
fn text_mode_prints_a_summary_and_logs_progress() {
    let project = Project::new();
    let run = project.tandem(["run", "--spec", "pipelines.yml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("Run "), "{run:?}");
    assert!(
        run.stdout
            .contains("completed: 6 node(s) of pipeline __default__ (sequential runner)"),
        "{run:?}"
    );
    assert!(run.stdout.contains("ingest.to_parquet"), "{run:?}");
    assert!(run.stdout.contains("OUTPUT"), "{run:?}");
    // Logs: info by default, on stderr, without colours off a terminal.
    assert!(run.stderr.contains("completed 6 out of 6 tasks"), "{run:?}");
    assert!(
        run.stderr
            .contains("pipeline execution completed successfully"),
        "{run:?}"
    );
    assert!(!run.stderr.contains('\u{1b}'), "no ANSI escapes: {run:?}");
    assert!(!run.stderr.contains("DEBUG"), "{run:?}");

    let verbose = project.tandem(["run", "--spec", "pipelines.yml", "-v"]);
    assert_eq!(verbose.code, 0, "{verbose:?}");
    assert!(
        verbose.stderr.contains("DEBUG") && verbose.stderr.contains("released"),
        "{verbose:?}"
    );

    let quiet = project.tandem(["run", "--spec", "pipelines.yml", "-q"]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    assert!(quiet.stdout.starts_with("Run "), "{quiet:?}");

    // RUST_LOG replaces the default levels.
    let mut command = project.command(tandem_tests::tandem_bin());
    command
        .args(["run", "--spec", "pipelines.yml"])
        .env("RUST_LOG", "warn");
    let filtered = output(&mut command);
    assert_eq!(filtered.code, 0, "{filtered:?}");
    assert!(filtered.stderr.is_empty(), "{filtered:?}");
}

#[test]
fn environments_come_from_the_flag_or_tandem_env() {
    let project = Project::new();
    let summary = project.run_json(&["--env", "prod"]);
    assert_eq!(sorted(node_names(&summary)), ALL_NODES);
    // prod replaces run_params; without conf/local, prices_copy comes from the pattern.
    assert!(project.path("data/08_reporting/params_prod.json").is_file());
    assert!(!project.path("data/08_reporting/params.json").exists());
    assert!(project.path("data/06_copies/prices.csv").is_file());
    assert!(!project.path("data/06_copies/local_prices.csv").exists());

    let project = Project::new();
    let mut command = project.command(tandem_tests::tandem_bin());
    command
        .args(["run", "--spec", "pipelines.yml", "--json", "-p", "report"])
        .env("TANDEM_ENV", "prod");
    let run = output(&mut command);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(project.path("data/08_reporting/params_prod.json").is_file());

    let run = project.tandem(["run", "--spec", "pipelines.yml", "--json", "--env", "prdo"]);
    let error = crate::run_support::json_failure(&run, 1);
    assert_eq!(error["kind"], "invalid_config");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("did you mean prod?"),
        "{error}"
    );
}

#[test]
fn conf_may_point_anywhere() {
    let project = Project::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let spec = project.path("pipelines.yml");
    let conf = project.path("conf");
    let mut command = project.command(tandem_tests::tandem_bin());
    command
        .current_dir(elsewhere.path())
        .arg("run")
        .arg("--spec")
        .arg(&spec)
        .arg("--conf")
        .arg(&conf)
        .args(["-p", "report", "--json"]);
    let run = output(&mut command);
    assert_eq!(run.code, 0, "{run:?}");
    // Relative file paths resolve against the parent of --conf.
    assert!(project.path("data/08_reporting/params.json").is_file());
}
