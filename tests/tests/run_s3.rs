//! `tandem run` against a real S3-speaking server (moto): a local CSV goes to
//! versioned parquet and CSV objects on S3 and back to a local file, with
//! credentials.yml pointing at the server with explicit keys.

use std::sync::Arc;

use arrow_array::RecordBatch;
use tandem_catalog::{DatasetConfig, DatasetRegistry, Version};
use tandem_tests::moto::{SECRET, credentials, moto};

use crate::run_support::{CARS_CSV, Project, json_failure, node_names};

const SPEC: &str = "\
nodes:
  - {name: upload, func: builtin:identity, inputs: cars, outputs: cars_s3}
  - {name: to_csv, func: builtin:identity, inputs: cars_s3, outputs: cars_s3_csv}
  - {name: download, func: builtin:identity, inputs: cars_s3_csv, outputs: cars_local}
";

/// A cars project whose `s3` environment keeps two datasets in `bucket`.
fn s3_project(bucket: &str) -> Project {
    let project = Project::new();
    project.write(
        "conf/s3/catalog.yml",
        &format!(
            "cars_s3:\n  type: pandas.ParquetDataset\n  filepath: s3://{bucket}/cars/cars.parquet\n  \
             versioned: true\n  credentials: moto\n\
             cars_s3_csv:\n  type: pandas.CSVDataset\n  filepath: s3://{bucket}/cars/cars.csv\n  \
             credentials: moto\n\
             cars_local:\n  type: pandas.CSVDataset\n  filepath: data/03_primary/cars_local.csv\n"
        ),
    );
    project.write(
        "conf/s3/credentials.yml",
        &format!(
            "moto:\n  key: tandem-key-id\n  secret: {SECRET}\n  region_name: us-east-1\n  \
             client_kwargs:\n    endpoint_url: {}\n",
            moto().endpoint
        ),
    );
    project.write("s3.yml", SPEC);
    project
}

fn s3_dataset(url: &str, version: Option<Version>) -> Arc<dyn tandem_catalog::Dataset> {
    let options = serde_json::Map::from_iter([("filepath".to_owned(), url.into())]);
    let type_name = if url.ends_with(".csv") {
        "CSVDataset"
    } else {
        "ParquetDataset"
    };
    let mut config = DatasetConfig::new("check", type_name, options);
    config.credentials = Some(credentials());
    config.version = version;
    DatasetRegistry::with_builtins().build(&config).unwrap()
}

#[test]
fn a_pipeline_round_trips_through_s3() {
    let bucket = moto().new_bucket();
    let project = s3_project(&bucket);
    for runner in ["sequential", "parallel"] {
        let run = project.tandem([
            "run", "--spec", "s3.yml", "--env", "s3", "--json", "--runner", runner,
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
        let summary = run.stdout_json();
        assert_eq!(node_names(&summary).len(), 3);
        assert_eq!(
            project.read("data/03_primary/cars_local.csv"),
            project.read(CARS_CSV)
        );

        // The objects are really on the server: the versioned parquet under the run id.
        let run_id = summary["run_id"].as_str().unwrap();
        let pinned = Version {
            load: Some(run_id.to_owned()),
            save: None,
            ..Default::default()
        };
        let parquet = s3_dataset(&format!("s3://{bucket}/cars/cars.parquet"), Some(pinned));
        let table: RecordBatch = parquet.load().unwrap().into_value().unwrap();
        assert_eq!((table.num_rows(), table.num_columns()), (5, 4), "{runner}");
        let csv = s3_dataset(&format!("s3://{bucket}/cars/cars.csv"), None);
        let table: RecordBatch = csv.load().unwrap().into_value().unwrap();
        assert_eq!(table.num_rows(), 5, "{runner}");
    }
}

#[test]
fn s3_entries_are_described_with_credentials_masked() {
    let bucket = moto().new_bucket();
    let project = s3_project(&bucket);
    for json in [true, false] {
        let mut args = vec!["catalog", "describe", "cars_s3", "--env", "s3"];
        if json {
            args.push("--json");
        }
        let run = project.tandem(&args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            !run.stdout.contains(SECRET) && !run.stdout.contains("tandem-key-id"),
            "{run:?}"
        );
        assert!(
            run.stdout
                .contains(&format!("s3://{bucket}/cars/cars.parquet")),
            "{run:?}"
        );
        assert!(run.stdout.contains("***"), "{run:?}");
    }
}

#[test]
fn a_missing_bucket_fails_the_run_at_the_node() {
    let project = s3_project("tandem-no-such-bucket");
    let run = project.tandem(["run", "--spec", "s3.yml", "--env", "s3", "--json"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "run_failed");
    assert_eq!(error["node"], "upload");
    assert_eq!(error["cause"], "storage");
    assert!(!run.stderr.contains(SECRET), "{run:?}");
}

#[test]
fn an_endpoint_without_a_scheme_is_an_error_naming_the_entry_not_a_panic() {
    let project = s3_project("tandem-scheme-less");
    project.write(
        "conf/s3/credentials.yml",
        &format!(
            "moto:\n  key: tandem-key-id\n  secret: {SECRET}\n  \
             client_kwargs:\n    endpoint_url: localhost:9000\n"
        ),
    );
    let run = project.tandem(["run", "--spec", "s3.yml", "--env", "s3", "--json"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "invalid_config", "{run:?}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("cars_s3"), "{message}");
    assert!(message.contains("'endpoint_url'"), "{message}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert!(!run.stderr.contains(SECRET), "{run:?}");
    assert!(!project.path("data/03_primary").exists(), "nothing ran");
}

#[test]
fn unusable_credentials_are_errors_naming_the_entry_not_panics() {
    for (why, credentials) in [
        (
            "a key that is a list",
            format!("moto:\n  key: [a, b]\n  secret: {SECRET}\n"),
        ),
        (
            "an endpoint that is a number",
            format!(
                "moto:\n  key: tandem-key-id\n  secret: {SECRET}\n  client_kwargs:\n    \
                 endpoint_url: 9000\n"
            ),
        ),
        (
            "an endpoint that is not a URL",
            format!(
                "moto:\n  key: tandem-key-id\n  secret: {SECRET}\n  client_kwargs:\n    \
                 endpoint_url: 'http://[::1'\n"
            ),
        ),
        (
            "credentials that are not a mapping",
            "moto: just-a-string\n".to_owned(),
        ),
    ] {
        let project = s3_project("tandem-bad-credentials");
        project.write("conf/s3/credentials.yml", &credentials);
        let run = project.tandem(["run", "--spec", "s3.yml", "--env", "s3", "--json"]);
        assert_eq!(run.code, 1, "{why}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{why}: {run:?}");
        assert!(!run.stderr.contains(SECRET), "{why}: {run:?}");
        let error = json_failure(&run, 1);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("cars_s3") || message.contains("moto"),
            "{why}: {message}"
        );
        assert!(
            !project.path("data/03_primary").exists(),
            "{why}: nothing ran"
        );
    }
}
