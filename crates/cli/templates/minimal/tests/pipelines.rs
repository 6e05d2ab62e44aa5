//! The registered pipelines, run on a copy of the project's conf and raw
//! data in a temporary directory.

use std::path::Path;

use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
use tandem_runners::{RunOptions, Runner, SequentialRunner};
use {{crate_name}}::pipelines::data_processing::Summary;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_default_pipeline_summarizes_each_station() {
    let project = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&root.join("conf"), &project.path().join("conf"));
    let raw = project.path().join("data/01_raw");
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::copy(
        root.join("data/01_raw/readings.csv"),
        raw.join("readings.csv"),
    )
    .unwrap();

    let options = CatalogOptions::new(DatasetRegistry::with_builtins());
    let catalog = DataCatalog::from_conf_dir(&project.path().join("conf"), None, &options).unwrap();
    let pipelines = {{crate_name}}::pipelines::register_pipelines().unwrap();
    SequentialRunner
        .run(
            &pipelines["__default__"],
            &catalog,
            &[],
            &RunOptions::default(),
        )
        .unwrap();

    let summary: Summary = serde_json::from_str(
        &std::fs::read_to_string(
            project
                .path()
                .join("data/08_reporting/station_summary.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(summary.hot_threshold_c, 27.0);
    let harbor = &summary.stations["harbor"];
    // One harbor reading has no temperature.
    assert_eq!((harbor.readings, harbor.hot_readings), (3, 1));
    assert!((harbor.mean_c - 77.0 / 3.0).abs() < 1e-9, "{harbor:?}");
    let airport = &summary.stations["airport"];
    assert_eq!((airport.readings, airport.hot_readings), (3, 3));
    assert!((airport.max_c - 32.0).abs() < 1e-9, "{airport:?}");
    assert_eq!(summary.stations["hilltop"].hot_readings, 0);
    assert!(
        project
            .path()
            .join("data/02_intermediate/readings.parquet")
            .is_file()
    );
}
