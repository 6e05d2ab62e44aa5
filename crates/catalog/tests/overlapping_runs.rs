//! Two runs sharing a versioned dataset on one store: each catalog stands for
//! one run (its own save version), the directory is shared.

use std::path::Path;

use serde_json::{Map, Value, json};
use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_pipeline_core::Data;

const OLDER: &str = "2026-01-01T00.00.00.000Z";
const NEWER: &str = "2026-01-02T00.00.00.000Z";

fn conf() -> Map<String, Value> {
    let conf = json!({
        "features": {"type": "TextDataset", "filepath": "data/features.txt", "versioned": true},
    });
    conf.as_object().cloned().unwrap()
}

fn run(dir: &Path, save_version: Option<&str>) -> DataCatalog {
    let mut options = CatalogOptions::new(DatasetRegistry::with_builtins());
    options.save_version = save_version.map(str::to_owned);
    DataCatalog::from_config(&conf(), &Map::new(), &options, dir).unwrap()
}

fn text(catalog: &DataCatalog) -> String {
    catalog
        .load("features")
        .unwrap()
        .into_value::<String>()
        .unwrap()
}

#[test]
fn each_run_loads_the_version_it_saved() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), Some(OLDER));
    let b = run(dir.path(), Some(NEWER));

    a.save("features", Data::new(String::from("from A")))
        .unwrap();
    b.save("features", Data::new(String::from("from B")))
        .unwrap();

    // B's version is the newest on disk; A's next node still reads A's.
    assert_eq!(text(&a), "from A");
    assert_eq!(text(&b), "from B");
    assert_eq!(text(&a), "from A", "the kept version does not drift");
    assert_eq!(
        a.dataset("features").unwrap().location().unwrap().url(),
        b.dataset("features")
            .unwrap()
            .location()
            .unwrap()
            .url()
            .replace(NEWER, OLDER)
    );

    // A run that saved nothing reads the newest, and keeps reading it.
    let reader = run(dir.path(), None);
    assert_eq!(text(&reader), "from B");
    let later = run(dir.path(), Some("2026-01-03T00.00.00.000Z"));
    later
        .save("features", Data::new(String::from("from C")))
        .unwrap();
    assert_eq!(text(&reader), "from B", "one version for the whole run");

    // Releasing forgets the kept version, as Kedro's release clears its cache.
    reader.release("features").unwrap();
    assert_eq!(text(&reader), "from C");
}

#[test]
fn runs_started_in_the_same_millisecond_never_share_a_save_version() {
    let dir = tempfile::tempdir().unwrap();
    // Far more catalogs than fit in one millisecond.
    let catalogs: Vec<DataCatalog> = (0..200).map(|_| run(dir.path(), None)).collect();
    let mut versions: Vec<&str> = catalogs.iter().map(DataCatalog::save_version).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), catalogs.len());

    for (i, catalog) in catalogs.iter().enumerate() {
        catalog
            .save("features", Data::new(format!("run {i}")))
            .unwrap();
    }
    for (i, catalog) in catalogs.iter().enumerate() {
        assert_eq!(text(catalog), format!("run {i}"));
    }
}

#[test]
fn a_second_save_under_a_taken_version_fails_loudly() {
    // Two processes can still pick the same timestamp: the one that saves
    // second must fail rather than overwrite the first one's data.
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), Some(OLDER));
    let b = run(dir.path(), Some(OLDER));
    a.save("features", Data::new(String::from("from A")))
        .unwrap();
    let err = b
        .save("features", Data::new(String::from("from B")))
        .unwrap_err();
    assert_eq!(err.kind(), "version_exists");
    assert!(err.to_string().contains(OLDER), "{err}");
    assert_eq!(text(&a), "from A");
    assert_eq!(text(&b), "from A", "nothing was overwritten");
}

#[test]
fn a_rerun_given_its_id_replaces_its_own_save_only_with_the_opt_in() {
    // A retried task of an orchestrated run: the same run id, and the save
    // of the try that failed after it is still there.
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), Some(OLDER))
        .save("features", Data::new(String::from("try 1")))
        .unwrap();
    let refused = run(dir.path(), Some(OLDER))
        .save("features", Data::new(String::from("try 2")))
        .unwrap_err();
    assert_eq!(refused.kind(), "version_exists", "the default is Kedro's");

    let mut options = CatalogOptions::new(DatasetRegistry::with_builtins());
    options.save_version = Some(OLDER.to_owned());
    options.replace_saved_versions = true;
    let retry = DataCatalog::from_config(&conf(), &Map::new(), &options, dir.path()).unwrap();
    retry
        .save("features", Data::new(String::from("try 2")))
        .unwrap();
    assert_eq!(text(&retry), "try 2");
    assert_eq!(
        text(&run(dir.path(), None)),
        "try 2",
        "a later run reads it"
    );

    // Replaced in place: one version, holding the one file.
    let versions = dir.path().join("data/features.txt");
    let entries = |path: &Path| -> Vec<String> {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(entries(&versions), [OLDER]);
    assert_eq!(entries(&versions.join(OLDER)), ["features.txt"]);
}
