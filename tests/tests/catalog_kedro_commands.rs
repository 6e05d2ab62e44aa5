//! A lazy catalog as Kedro 1.x has it, and Kedro's catalog commands: a
//! project whose catalog holds a `pickle.PickleDataset` (which this binary
//! cannot read) runs the pipelines that do not touch it; `catalog list` shows
//! the entry with its reason; `list-patterns`, `resolve-patterns` and
//! `describe-datasets` print Kedro's shapes (the reference's sample setup:
//! patterns `{name}_csv`, `{layer}.{name}` and `out_{x}`, an `explicit`
//! entry with credentials, pipeline `pat`).

use serde_json::{Value, json};

use crate::run_support::{CARS_CSV, Project, json_failure, node_names};

const CATALOG: &str = "\
cars:
  type: pandas.CSVDataset
  filepath: data/01_raw/cars.csv
explicit:
  type: pandas.CSVDataset
  filepath: data/01_raw/explicit.csv
  credentials: mycreds
  load_args:
    sep: ';'
regressor:
  type: pickle.PickleDataset
  filepath: data/06_models/regressor.pickle
  versioned: true
'{name}_csv':
  type: pandas.CSVDataset
  filepath: data/02_intermediate/{name}.csv
'{layer}.{name}':
  type: pandas.ParquetDataset
  filepath: data/{layer}/{name}.parquet
  save_args:
    compression: snappy
out_{x}:
  type: json.JSONDataset
  filepath: ${runtime_params:report_dir, 'data/08_reporting'}/{x}.json
";

const CREDENTIALS: &str = "\
mycreds:
  key: kedro-commands-secret
";

const PARAMETERS: &str = "\
model:
  alpha: 0.5
  layers: [8, 4]
";

const SPEC: &str = "\
pipelines:
  csv_only:
    nodes:
      - {name: copy_cars, func: builtin:identity, inputs: cars, outputs: cars_copy_csv}
  uses_pickle:
    nodes:
      - {name: copy_cars, func: builtin:identity, inputs: cars, outputs: cars_copy_csv}
      - {name: score, func: builtin:identity, inputs: regressor, outputs: scores_csv}
  pat:
    nodes:
      - {name: to_raw, func: builtin:identity, inputs: foo_csv, outputs: raw.bar}
      - {name: to_mem, func: builtin:identity, inputs: raw.bar, outputs: mem_out}
      - {name: report, func: builtin:identity, inputs: [explicit, params:model], outputs: out_x}
";

/// The cars project with the catalog above as its only configuration.
fn project() -> Project {
    let project = Project::new();
    std::fs::remove_dir_all(project.path("conf")).unwrap();
    project.write("conf/base/catalog.yml", CATALOG);
    project.write("conf/base/credentials.yml", CREDENTIALS);
    project.write("conf/base/parameters.yml", PARAMETERS);
    project.write("conf/local/.keep", "");
    project.write("kedro.yml", SPEC);
    project
}

fn ok(project: &Project, args: &[&str]) -> String {
    let run = project.tandem(args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("kedro-commands-secret"), "{run:?}");
    run.stdout
}

fn ok_json(project: &Project, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&ok(project, &all)).unwrap()
}

#[test]
fn a_run_that_does_not_touch_the_unusable_entry_succeeds() {
    let project = project();
    let run = project.tandem([
        "run",
        "--spec",
        "kedro.yml",
        "--pipeline",
        "csv_only",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let summary = run.stdout_json();
    assert_eq!(node_names(&summary), ["copy_cars"]);
    assert_eq!(
        project.read("data/02_intermediate/cars_copy.csv"),
        project.read(CARS_CSV)
    );
}

#[test]
fn a_run_that_needs_the_unusable_entry_fails_before_any_node_naming_it() {
    let project = project();
    let run = project.tandem([
        "run",
        "--spec",
        "kedro.yml",
        "--pipeline",
        "uses_pickle",
        "--json",
    ]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "unknown_dataset_type", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("'regressor'") && message.contains("pickle.PickleDataset"),
        "{message}"
    );
    assert!(
        !project.path("data/02_intermediate/cars_copy.csv").exists(),
        "no node ran"
    );
}

#[test]
fn catalog_list_shows_every_entry_the_unusable_one_with_its_reason() {
    let project = project();
    let listing = ok_json(&project, &["catalog", "list"]);
    let names: Vec<&str> = listing["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cars", "explicit", "regressor"]);
    let regressor = &listing["datasets"][2];
    assert_eq!(regressor["type"], "pickle.PickleDataset");
    assert_eq!(regressor["versioned"], true);
    assert_eq!(regressor["filepath"], "data/06_models/regressor.pickle");
    assert_eq!(regressor["unusable"]["kind"], "unknown_dataset_type");
    let reason = regressor["unusable"]["reason"].as_str().unwrap();
    assert!(reason.contains("SerdeDataset"), "{reason}");
    assert!(listing["datasets"][0].get("unusable").is_none());

    let text = ok(&project, &["catalog", "list"]);
    assert!(text.contains("regressor") && text.contains("pickle.PickleDataset"));
    assert!(
        text.contains("Not usable in this binary")
            && text.contains("  regressor: entry 'regressor'"),
        "{text}"
    );
}

#[test]
fn every_invalid_entry_is_reported_at_once_naming_its_file() {
    let project = project();
    project.write(
        "conf/local/catalog.yml",
        "cars:\n  type: MemoryDataset\n  copy_mode: bogus\nexplicit:\n  type: pandas.CSVDataset\n  \
         filepath: x.csv\n  credentials: nowhere\n",
    );
    let run = project.tandem(["catalog", "list", "--json"]);
    let error = json_failure(&run, 1);
    let message = error["message"].as_str().unwrap();
    let file = "conf/local/catalog.yml";
    assert!(
        message.starts_with("2 catalog entries are invalid:"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{file}:1: entry 'cars'")),
        "{message}"
    );
    assert!(
        message.contains(&format!("{file}:4: entry 'explicit'")),
        "{message}"
    );
    assert!(
        message.contains("'nowhere'") && message.contains("bogus"),
        "{message}"
    );
}

#[test]
fn list_patterns_prints_the_matching_order_then_the_default() {
    let project = project();
    assert_eq!(
        ok(&project, &["catalog", "list-patterns"]),
        "- out_{x}\n- '{name}_csv'\n- '{layer}.{name}'\n- '{default}'\n"
    );
    assert_eq!(
        ok_json(&project, &["catalog", "list-patterns"]),
        json!(["out_{x}", "{name}_csv", "{layer}.{name}", "{default}"])
    );
}

#[test]
fn describe_datasets_groups_a_pipeline_s_datasets_as_kedro_does() {
    let project = project();
    let args = [
        "catalog",
        "describe-datasets",
        "--spec",
        "kedro.yml",
        "-p",
        "pat",
    ];
    assert_eq!(
        ok_json(&project, &args),
        json!({"pat": {
            "datasets": {"kedro_datasets.pandas.csv_dataset.CSVDataset": ["explicit"]},
            "defaults": {"kedro.io.MemoryDataset": ["mem_out"]},
            "factories": {
                "kedro_datasets.json.json_dataset.JSONDataset": ["out_x"],
                "kedro_datasets.pandas.csv_dataset.CSVDataset": ["foo_csv"],
                "kedro_datasets.pandas.parquet_dataset.ParquetDataset": ["raw.bar"],
            },
        }})
    );
    let text = ok(&project, &args);
    assert!(
        text.starts_with(
            "pat:\n  datasets:\n    kedro_datasets.pandas.csv_dataset.CSVDataset:\n    - explicit\n  \
             defaults:\n    kedro.io.MemoryDataset:\n    - mem_out\n  factories:\n"
        ),
        "{text}"
    );

    // Without -p: every pipeline, __default__ (their sum) included; the
    // unusable entry is described by its configured type.
    let all = ok_json(
        &project,
        &["catalog", "describe-datasets", "--spec", "kedro.yml"],
    );
    let pipelines: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(pipelines, ["__default__", "csv_only", "pat", "uses_pickle"]);
    assert_eq!(
        all["uses_pickle"]["datasets"]["kedro_datasets.pickle.pickle_dataset.PickleDataset"],
        json!(["regressor"])
    );
    let unknown = project.tandem([
        "catalog",
        "describe-datasets",
        "--spec",
        "kedro.yml",
        "-p",
        "nope",
    ]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("nope"), "{unknown:?}");
}

#[test]
fn resolve_patterns_shows_resolved_configuration_and_takes_params() {
    let project = project();
    // Relative paths are shown absolute, as Kedro shows them.
    let at = |relative: &str| project.root().join(relative).display().to_string();
    let args = [
        "catalog",
        "resolve-patterns",
        "--spec",
        "kedro.yml",
        "-p",
        "pat",
    ];
    let resolved = ok_json(&project, &args);
    assert_eq!(
        resolved,
        json!({
            "explicit": {
                "type": "pandas.CSVDataset",
                "filepath": at("data/01_raw/explicit.csv"),
                "credentials": "explicit_credentials",
                "load_args": {"sep": ";"},
            },
            "foo_csv": {"type": "pandas.CSVDataset", "filepath": at("data/02_intermediate/foo.csv")},
            "out_x": {"type": "json.JSONDataset", "filepath": at("data/08_reporting/x.json")},
            "raw.bar": {
                "type": "pandas.ParquetDataset",
                "filepath": at("data/raw/bar.parquet"),
                "save_args": {"compression": "snappy"},
            },
        })
    );
    let text = ok(&project, &args);
    assert!(
        text.contains("explicit:\n  credentials: explicit_credentials\n  filepath: ")
            && text.contains("  load_args:\n    sep: ;\n  type: pandas.CSVDataset\n"),
        "{text}"
    );

    let moved = ok_json(
        &project,
        &[&args[..], &["--params", "report_dir=elsewhere"]].concat(),
    );
    assert_eq!(moved["out_x"]["filepath"], at("elsewhere/x.json"));

    // Without -p: every catalog entry too (the unusable one as configured).
    let all = ok_json(
        &project,
        &["catalog", "resolve-patterns", "--spec", "kedro.yml"],
    );
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "cars",
            "cars_copy_csv",
            "explicit",
            "foo_csv",
            "out_x",
            "raw.bar",
            "regressor",
            "scores_csv"
        ]
    );
    assert_eq!(all["regressor"]["type"], "pickle.PickleDataset");
    assert_eq!(all["regressor"]["versioned"], true);
}

#[test]
fn describe_params_prints_the_value_and_params_override_it() {
    let project = project();
    assert_eq!(
        ok(&project, &["catalog", "describe", "params:model.alpha"]),
        "0.5\n"
    );
    assert_eq!(
        ok(&project, &["catalog", "describe", "params:model"]),
        "alpha: 0.5\nlayers:\n- 8\n- 4\n"
    );
    let described = ok_json(
        &project,
        &[
            "catalog",
            "describe",
            "params:model",
            "--params",
            "model.alpha=0.9",
        ],
    );
    assert_eq!(described["value"], json!({"alpha": 0.9, "layers": [8, 4]}));
}

#[test]
fn kedro_commands_teach_with_examples_and_refuse_malformed_params() {
    for command in ["list-patterns", "resolve-patterns", "describe-datasets"] {
        let run = tandem_tests::tandem(["catalog", command, "--help"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("Examples:") && run.stdout.contains("--params"),
            "{command}: {run:?}"
        );
    }
    let bad = project().tandem(["catalog", "list", "--params", "novalue"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}
