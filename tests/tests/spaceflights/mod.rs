//! A project shaped like Kedro's spaceflights tutorial: its catalog as a
//! Kedro user has it (CSV, an Excel workbook read with `engine: openpyxl`,
//! parquet, a versioned pickle and a `{name}` catch-all), its parameters, and
//! its pipelines as Rust node functions, run through the CLI library the way
//! a project binary runs them.
//!
//! The raw workbook is written by pandas (openpyxl), not by tandem.

mod nodes;

use std::path::Path;
use std::process::{Command, ExitCode};

use arrow_array::{Array, Float64Array, RecordBatch};
use tandem_catalog::{DatasetConfig, DatasetRegistry};
use tandem_cli::App;
use tandem_pipeline_core::{Pipeline, node};
use tandem_tests::workspace_file;

use crate::run_support::copy_dir;
use nodes::*;

const FIXTURE: &str = "tests/fixtures/spaceflights";

fn data_processing() -> Pipeline {
    Pipeline::new([
        node(preprocess_companies, "companies", "preprocessed_companies")
            .name("preprocess_companies_node")
            .build()
            .unwrap(),
        node(preprocess_shuttles, "shuttles", "preprocessed_shuttles")
            .name("preprocess_shuttles_node")
            .build()
            .unwrap(),
        node(
            create_model_input_table,
            ["preprocessed_shuttles", "preprocessed_companies", "reviews"],
            "model_input_table",
        )
        .name("create_model_input_table_node")
        .build()
        .unwrap(),
    ])
    .unwrap()
}

fn data_science() -> Pipeline {
    Pipeline::new([
        node(
            split_data,
            ["model_input_table", "params:model_options"],
            ["X_train", "X_test", "y_train", "y_test"],
        )
        .name("split_data_node")
        .build()
        .unwrap(),
        node(train_model, ["X_train", "y_train"], "regressor")
            .name("train_model_node")
            .build()
            .unwrap(),
        node(
            evaluate_model,
            ["regressor", "X_test", "y_test"],
            "model_scores",
        )
        .name("evaluate_model_node")
        .build()
        .unwrap(),
    ])
    .unwrap()
}

fn app() -> App {
    App::new()
        .pipeline("data_processing", data_processing())
        .pipeline("data_science", data_science())
}

/// A copy of the project with `data/01_raw/shuttles.xlsx` written by pandas.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&workspace_file(FIXTURE), dir.path());
    let python = tandem_test_support::excel::excel_bin().join("python");
    let status = Command::new(python)
        .current_dir(dir.path())
        .args([
            "-c",
            "import pandas as pd; \
             pd.read_csv('shuttles_source.csv').to_excel('data/01_raw/shuttles.xlsx', index=False)",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn run(root: &Path, args: &[&str]) -> ExitCode {
    let conf = root.join("conf");
    let mut all = vec!["tandem", "run", "--conf", conf.to_str().unwrap()];
    all.extend_from_slice(args);
    tandem_cli::run_cli(all, app())
}

/// A table file read back through the catalog's own dataset type.
fn load(root: &Path, type_name: &str, relative: &str) -> RecordBatch {
    let options = serde_json::json!({"filepath": root.join(relative).to_str().unwrap()});
    let config = DatasetConfig::new("check", type_name, options.as_object().unwrap().clone());
    let dataset = DatasetRegistry::with_builtins().build(&config).unwrap();
    dataset.load().unwrap().into_value::<RecordBatch>().unwrap()
}

#[test]
fn the_data_processing_pipeline_runs_on_the_catalog_as_kedro_users_have_it() {
    let dir = project();
    let root = dir.path();
    assert_eq!(
        run(root, &["--pipeline", "data_processing"]),
        ExitCode::SUCCESS
    );

    let companies = load(
        root,
        "pandas.ParquetDataset",
        "data/02_intermediate/preprocessed_companies.parquet",
    );
    let rating = companies
        .column_by_name("company_rating")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .clone();
    assert_eq!(rating.value(0), 0.6, "60% became 0.6");
    assert_eq!(rating.null_count(), 1, "the company without a rating");

    let shuttles = load(
        root,
        "pandas.ParquetDataset",
        "data/02_intermediate/preprocessed_shuttles.parquet",
    );
    assert_eq!(shuttles.num_rows(), 60);
    let price = shuttles
        .column_by_name("price")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .clone();
    assert_eq!(price.value(0), 1757.1, "$1,757.1 parsed");

    let table = load(
        root,
        "pandas.ParquetDataset",
        "data/03_primary/model_input_table.parquet",
    );
    // 59 shuttles have reviews; the one without crew and those of the
    // unrated company drop out with dropna().
    assert!(
        table.num_rows() > 40 && table.num_rows() < 59,
        "{}",
        table.num_rows()
    );
    for column in table.columns() {
        assert_eq!(column.null_count(), 0);
    }
    // The unused pickle entry blocked nothing and wrote nothing.
    assert!(!root.join("data/06_models").exists());
}

#[test]
fn the_pickle_entry_fails_only_when_a_node_needs_it_and_a_local_override_fixes_it() {
    let dir = project();
    let root = dir.path();
    assert_eq!(
        run(root, &["--pipeline", "data_processing"]),
        ExitCode::SUCCESS
    );
    // As in Kedro without a pickle reader: the data-science pipeline needs
    // `regressor`, so it fails, and no model is written.
    assert_eq!(
        run(root, &["--pipeline", "data_science"]),
        ExitCode::FAILURE
    );
    assert!(!root.join("data/06_models").exists());

    std::fs::write(
        root.join("conf/local/catalog.yml"),
        "regressor:\n  type: SerdeDataset\n  filepath: data/06_models/regressor.json\n  \
         versioned: true\n",
    )
    .unwrap();
    assert_eq!(
        run(root, &["--pipeline", "data_science"]),
        ExitCode::SUCCESS
    );
    let versions: Vec<_> = std::fs::read_dir(root.join("data/06_models/regressor.json"))
        .unwrap()
        .collect();
    assert_eq!(versions.len(), 1, "one save version");
    let scores = load(
        root,
        "pandas.CSVDataset",
        "data/05_model_input/model_scores.csv",
    );
    let r2 = scores
        .column_by_name("r2_score")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .value(0);
    // The synthetic prices are linear in the features plus noise.
    assert!(r2 > 0.9, "r2 = {r2}");
    for split in ["X_train", "X_test", "y_train", "y_test"] {
        assert!(
            root.join(format!("data/05_model_input/{split}.csv"))
                .is_file(),
            "{split} through the catch-all"
        );
    }
}

/// The project with its data on S3: the catalog's paths under
/// `s3://<bucket>/` with `credentials: dev_s3` (Kedro's S3 layout), and a
/// conf/local whose credentials.yml only adds the endpoint and keys.
fn s3_project(bucket: &str) -> tempfile::TempDir {
    use tandem_tests::moto::{SECRET, credentials, moto};
    let dir = project();
    let root = dir.path();
    let catalog = std::fs::read_to_string(root.join("conf/base/catalog.yml")).unwrap();
    let catalog = catalog.replace(
        "  filepath: data/",
        &format!("  credentials: dev_s3\n  filepath: s3://{bucket}/data/"),
    );
    std::fs::write(root.join("conf/base/catalog.yml"), catalog).unwrap();
    std::fs::write(
        root.join("conf/local/credentials.yml"),
        format!(
            "dev_s3:\n  key: tandem-key-id\n  secret: {SECRET}\n  region_name: us-east-1\n  \
             client_kwargs:\n    endpoint_url: {}\n",
            moto().endpoint
        ),
    )
    .unwrap();
    for raw in ["companies.csv", "reviews.csv", "shuttles.xlsx"] {
        let bytes = std::fs::read(root.join("data/01_raw").join(raw)).unwrap();
        let options = serde_json::json!({"filepath": format!("s3://{bucket}/data/01_raw/{raw}")});
        let mut config =
            DatasetConfig::new("raw", "BytesDataset", options.as_object().unwrap().clone());
        config.credentials = Some(credentials());
        let dataset = DatasetRegistry::with_builtins().build(&config).unwrap();
        dataset
            .save(tandem_pipeline_core::Data::new(bytes))
            .unwrap();
    }
    // Only S3 holds the data now.
    std::fs::remove_dir_all(root.join("data")).unwrap();
    dir
}

#[test]
fn the_same_runs_on_s3_with_only_an_endpoint_added_in_conf_local() {
    let local = project();
    assert_eq!(
        run(local.path(), &["--pipeline", "data_processing"]),
        ExitCode::SUCCESS
    );
    let expected = load(
        local.path(),
        "pandas.ParquetDataset",
        "data/03_primary/model_input_table.parquet",
    );

    let bucket = tandem_tests::moto::moto().new_bucket();
    let dir = s3_project(&bucket);
    assert_eq!(
        run(dir.path(), &["--pipeline", "data_processing"]),
        ExitCode::SUCCESS
    );
    let options = serde_json::json!({
        "filepath": format!("s3://{bucket}/data/03_primary/model_input_table.parquet")
    });
    let mut config = DatasetConfig::new(
        "check",
        "pandas.ParquetDataset",
        options.as_object().unwrap().clone(),
    );
    config.credentials = Some(tandem_tests::moto::credentials());
    let on_s3 = DatasetRegistry::with_builtins()
        .build(&config)
        .unwrap()
        .load()
        .unwrap()
        .into_value::<RecordBatch>()
        .unwrap();
    assert_eq!(on_s3, expected);
    assert!(!dir.path().join("data").exists(), "nothing written locally");
}
