//! `viz build`, `viz` without kedro, and `pipeline describe --format
//! mermaid|dot`, through the binaries.
//!
//! The churn project's pipelines (examples/churn/src/pipelines.rs):
//! `data_generation` is 1 task; `training` is 7 fitting tasks, the 3
//! shared feature tasks and the `evaluation` namespace's 4 (impute, scale,
//! encode, predict); `inference` the 3 feature tasks and predict;
//! `__default__` data_generation + training.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tandem_tests::{churn, churn_bin, ok, tandem, workspace_file};

use crate::run_support::copy_dir;

/// Layers for a few entries, the way a Kedro project declares them for
/// kedro-viz; conf/local replaces base's entries of the same names.
const LAYERED: &str = "\
raw_customers:
  type: pandas.CSVDataset
  filepath: data/01_raw/customers.csv
  metadata: {kedro-viz: {layer: raw}}
customers:
  type: pandas.ParquetDataset
  filepath: data/02_intermediate/customers_train.parquet
  metadata: {kedro-viz: {layer: model_input}}
labels_train:
  type: pandas.ParquetDataset
  filepath: data/05_model_input/labels_train.parquet
  metadata: {kedro-viz: {layer: model_input}}
model:
  type: SerdeDataset
  filepath: data/06_models/churn_model.json
  metadata: {kedro-viz: {layer: models}}
metrics:
  type: json.JSONDataset
  filepath: data/08_reporting/metrics.json
  metadata: {kedro-viz: {layer: reporting}}
";

/// A copy of the churn configuration with layers declared.
pub(crate) fn layered_churn() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    std::fs::write(project.path().join("conf/local/catalog.yml"), LAYERED).unwrap();
    project
}

/// The churn export's expected shape, per pipeline: tasks, datasets,
/// parameters, modular pipelines (besides the root), edges.
pub(crate) const EXPECTED: &[(&str, usize, usize, usize, usize, usize)] = &[
    // 48 task edges (inputs + outputs, parameters included) and the
    // evaluation namespace's 6 inputs and 1 output.
    ("__default__", 17, 20, 5, 1, 61),
    ("data_generation", 1, 1, 2, 0, 3),
    ("inference", 4, 9, 1, 0, 13),
    ("training", 16, 20, 4, 1, 58),
];

/// Node counts by type of a graph document.
pub(crate) fn counts(doc: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for node in doc["nodes"].as_array().unwrap() {
        *counts
            .entry(node["type"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

/// Checks a graph document against [`EXPECTED`].
pub(crate) fn check_graph(id: &str, doc: &Value) {
    let &(_, tasks, datasets, parameters, namespaces, edges) = EXPECTED
        .iter()
        .find(|e| e.0 == id)
        .unwrap_or_else(|| panic!("unexpected pipeline {id}"));
    let counts = counts(doc);
    let get = |kind: &str| counts.get(kind).copied().unwrap_or(0);
    assert_eq!(
        (
            get("task"),
            get("data"),
            get("parameters"),
            get("modularPipeline")
        ),
        (tasks, datasets, parameters, namespaces),
        "{id}: {counts:?}"
    );
    assert_eq!(doc["edges"].as_array().unwrap().len(), edges, "{id}");
    assert_eq!(
        doc["modular_pipelines"].as_object().unwrap().len(),
        namespaces + 1,
        "{id}: the root plus each namespace"
    );
    assert_eq!(doc["selected_pipeline"], id);
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn viz_build_exports_every_churn_pipeline() {
    let project = layered_churn();
    let out = ok(&churn(
        &["viz", "build", "-o", "export", "--json"],
        project.path(),
    ));
    let report: Value = serde_json::from_str(&out).unwrap();
    let api = project.path().join("export/api");
    let summaries = report["pipelines"].as_array().unwrap();
    let ids: Vec<&str> = summaries
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["__default__", "data_generation", "inference", "training"]
    );
    for summary in summaries {
        let id = summary["id"].as_str().unwrap();
        let doc = read_json(&api.join("pipelines").join(id));
        check_graph(id, &doc);
        assert_eq!(
            summary["tasks"].as_u64().unwrap() as usize,
            counts(&doc)["task"]
        );
    }
    let main = read_json(&api.join("main"));
    assert_eq!(main, read_json(&api.join("pipelines/__default__")));
    // Layers follow the data: raw → split → model input → fit → model → ... → metrics.
    assert_eq!(
        main["layers"],
        serde_json::json!(["raw", "model_input", "models", "reporting"])
    );
    let raw = main["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "raw_customers")
        .unwrap();
    assert_eq!(raw["layer"], "raw");
    assert_eq!(raw["dataset_type"], "pandas.csv_dataset.CSVDataset");
    assert_eq!(
        raw["pipelines"],
        serde_json::json!(["__default__", "data_generation", "training"])
    );
    let tracked = main["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "tracked_metrics")
        .unwrap();
    assert_eq!(
        tracked["dataset_type"],
        "kedro_mlflow.io.metrics.mlflow_metrics_history_dataset.MlflowMetricsHistoryDataset"
    );
    // Every node has its metadata document; each task's edges are its
    // inputs (datasets and parameters) and its outputs.
    let edges = main["edges"].as_array().unwrap();
    for node in main["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap();
        let detail = read_json(&api.join("nodes").join(id));
        if node["type"] == "task" {
            let into = edges.iter().filter(|e| e["target"] == id).count();
            let out = edges.iter().filter(|e| e["source"] == id).count();
            let params = node["parameters"].as_object().unwrap().len();
            assert_eq!(
                into,
                detail["inputs"].as_array().unwrap().len() + params,
                "{node}"
            );
            assert_eq!(out, detail["outputs"].as_array().unwrap().len(), "{node}");
        }
    }
    let seed = main["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "params:seed")
        .unwrap();
    let detail = read_json(&api.join("nodes").join(seed["id"].as_str().unwrap()));
    assert_eq!(detail, serde_json::json!({"parameters": {"seed": 42}}));
    assert_eq!(
        read_json(&api.join("run-status"))["pipeline"]["status"],
        "success"
    );
}

#[test]
fn viz_build_exports_only_the_pipelines_named() {
    let project = layered_churn();
    let out = ok(&churn(
        &["viz", "build", "-o", "only", "--pipeline", "inference"],
        project.path(),
    ));
    assert!(
        out.contains("inference: 4 task(s), 9 dataset(s), 1 parameter(s)"),
        "{out}"
    );
    let api = project.path().join("only/api");
    let names: Vec<String> = std::fs::read_dir(api.join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["inference"]);
    // Without __default__ kedro-viz opens on the first pipeline named.
    check_graph("inference", &read_json(&api.join("main")));
    let unknown = churn(
        &["viz", "build", "-o", "x", "-p", "trainig", "--json"],
        project.path(),
    );
    assert_eq!(unknown.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&unknown.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "pipeline_not_found");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean training?")
    );
}

#[test]
fn viz_without_kedro_keeps_the_export_and_prints_the_command() {
    let project = layered_churn();
    let output = Command::new(churn_bin())
        .args(["viz", "--pipeline", "training"])
        .current_dir(project.path())
        // A PATH without kedro.
        .env("PATH", "/usr/bin:/bin")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = ok(&output);
    assert!(out.contains("pip install kedro-viz==12.5.0"), "{out}");
    let command = out
        .lines()
        .find(|l| l.contains("kedro viz run --load-file"))
        .unwrap_or_else(|| panic!("no command in {out}"))
        .trim();
    // `cd <tmp> && kedro viz run --load-file <name> --host 127.0.0.1 --port 4141`
    let dir = command
        .strip_prefix("cd ")
        .and_then(|rest| rest.split_once(" && "))
        .unwrap()
        .0;
    let name = command
        .split("--load-file ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    assert!(
        command.ends_with("--host 127.0.0.1 --port 4141"),
        "{command}"
    );
    let export = Path::new(dir).join(name);
    check_graph("training", &read_json(&export.join("api/main")));
    std::fs::remove_dir_all(&export).unwrap();
}

#[test]
fn viz_help_teaches_with_examples() {
    let help = tandem(["viz", "--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("tandem viz build -o viz-export"),
        "{}",
        help.stdout
    );
    assert!(
        help.stdout.contains("metadata: {kedro-viz: {layer: raw}}"),
        "{}",
        help.stdout
    );
    let both = tandem(["viz", "--pipeline", "a", "build", "-o", "x"]);
    assert_eq!(both.code, 2, "{both:?}");
    // The stock binary registers no pipeline: the error says where they
    // come from rather than writing an empty export.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("empty");
    let none = tandem([
        "viz",
        "build",
        "-o",
        out.to_str().unwrap(),
        "--conf",
        "nope-conf",
    ]);
    assert_eq!(none.code, 1, "{none:?}");
    let none = tandem(["viz", "build", "-o", out.to_str().unwrap()]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(
        none.stderr.contains("registered pipelines: none"),
        "{none:?}"
    );
    assert!(!out.exists());
}

/// A spec whose names need escaping in both languages.
const AWKWARD: &str = r#"nodes:
  - {name: load, namespace: prep, func: builtin:identity, inputs: "raw \"data\" [v1]", outputs: prep.clean}
  - {name: report, func: builtin:identity, inputs: prep.clean, outputs: "a\\b <#1>"}
"#;

#[test]
fn describe_draws_mermaid_and_dot_with_names_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("awkward.yml");
    std::fs::write(&spec, AWKWARD).unwrap();
    let spec = spec.to_str().unwrap();

    let mermaid = tandem([
        "pipeline", "describe", "--spec", spec, "--format", "mermaid",
    ]);
    assert_eq!(mermaid.code, 0, "{mermaid:?}");
    assert!(
        mermaid.stdout.starts_with("flowchart TD\n"),
        "{}",
        mermaid.stdout
    );
    assert!(
        mermaid.stdout.contains("subgraph s0[\"prep\"]"),
        "{}",
        mermaid.stdout
    );
    assert!(
        mermaid.stdout.contains("([\"raw #quot;data#quot; [v1]\"])"),
        "{}",
        mermaid.stdout
    );
    assert!(
        mermaid.stdout.contains("([\"a\\b #lt;#35;1#gt;\"])"),
        "{}",
        mermaid.stdout
    );

    let dot = tandem(["pipeline", "describe", "--spec", spec, "--format", "dot"]);
    assert_eq!(dot.code, 0, "{dot:?}");
    assert!(
        dot.stdout.contains("subgraph cluster_0 {"),
        "{}",
        dot.stdout
    );
    assert!(
        dot.stdout
            .contains("[label=\"raw \\\"data\\\" [v1]\", shape=ellipse]"),
        "{}",
        dot.stdout
    );
    assert!(
        dot.stdout
            .contains("[label=\"a\\\\b <#1>\", shape=ellipse]"),
        "{}",
        dot.stdout
    );

    // --format json is --json; combining the flags is a usage error.
    let json = tandem(["pipeline", "describe", "--spec", spec, "--format", "json"]);
    let plain = tandem(["pipeline", "describe", "--spec", spec, "--json"]);
    assert_eq!(json.stdout_json(), plain.stdout_json());
    let both = tandem([
        "pipeline", "describe", "--spec", spec, "--json", "--format", "dot",
    ]);
    assert_eq!(both.code, 2, "{both:?}");
}

/// A stand-in `kedro` that records how it was started and what it was
/// given, then exits 3.
const FAKE_KEDRO: &str = "#!/bin/sh
{ pwd; echo \"$@\"; ls \"$4/api\"; } > \"$RECORD\"
exit 3
";

#[test]
fn viz_starts_kedro_viz_on_a_temporary_export_and_removes_it() {
    use std::os::unix::fs::PermissionsExt;
    let project = layered_churn();
    let bin = project.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kedro = bin.join("kedro");
    std::fs::write(&kedro, FAKE_KEDRO).unwrap();
    std::fs::set_permissions(&kedro, std::fs::Permissions::from_mode(0o755)).unwrap();
    let record = project.path().join("record.txt");
    let output = Command::new(churn_bin())
        .args(["viz", "--port", "4242", "--no-browser"])
        .current_dir(project.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("RECORD", &record)
        .output()
        .unwrap();
    // kedro-viz's exit code is tandem's.
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let record = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = record.lines().collect();
    let (cwd, args) = (lines[0], lines[1]);
    let name = args.split_whitespace().nth(3).unwrap();
    assert_eq!(
        args,
        format!("viz run --load-file {name} --host 127.0.0.1 --port 4242 --no-browser")
    );
    // Started from the export's parent with a relative directory, the one
    // form kedro-viz resolves correctly; the export was complete.
    assert!(!name.contains('/'), "{name}");
    for file in [
        "deploy-viz-metadata",
        "main",
        "nodes",
        "pipelines",
        "run-status",
        "version",
    ] {
        assert!(lines.contains(&file), "{file} missing from {record}");
    }
    // Removed once kedro-viz is gone.
    assert!(!Path::new(cwd).join(name).exists());
}

/// A stand-in `kedro` that interrupts its whole process group, as Ctrl-C
/// on a terminal does, and exits the way an interrupted kedro-viz does.
const INTERRUPTED_KEDRO: &str = "#!/bin/sh
trap 'echo \"$4\" > \"$RECORD\"; exit 130' INT
kill -INT 0
sleep 5
exit 0
";

#[test]
fn ctrl_c_stops_kedro_viz_and_tandem_still_removes_the_export() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let project = layered_churn();
    let bin = project.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kedro = bin.join("kedro");
    std::fs::write(&kedro, INTERRUPTED_KEDRO).unwrap();
    std::fs::set_permissions(&kedro, std::fs::Permissions::from_mode(0o755)).unwrap();
    let record = project.path().join("record.txt");
    let output = Command::new(churn_bin())
        .args(["viz", "--no-browser"])
        .current_dir(project.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("RECORD", &record)
        // Its own process group: the interrupt must not reach the test.
        .process_group(0)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let name = std::fs::read_to_string(&record).unwrap();
    assert!(
        !std::env::temp_dir().join(name.trim()).exists(),
        "{name} was left behind"
    );
}

/// An entry this binary cannot build (Kedro's `pickle.PickleDataset`) is
/// drawn as configured: viz loads nothing, as kedro-viz does.
#[test]
fn viz_draws_entries_this_binary_cannot_build() {
    let project = layered_churn();
    let catalog = project.path().join("conf/local/catalog.yml");
    let text = std::fs::read_to_string(&catalog).unwrap().replace(
        "model:\n  type: SerdeDataset\n  filepath: data/06_models/churn_model.json\n",
        "model:\n  type: pickle.PickleDataset\n  filepath: data/06_models/regressor.pickle\n",
    );
    std::fs::write(&catalog, text).unwrap();
    ok(&churn(
        &["viz", "build", "-o", "pickled", "-p", "training"],
        project.path(),
    ));
    let main = read_json(&project.path().join("pickled/api/main"));
    let model = main["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "model")
        .unwrap();
    assert_eq!(model["dataset_type"], "pickle.pickle_dataset.PickleDataset");
    assert_eq!(model["layer"], "models");
}
