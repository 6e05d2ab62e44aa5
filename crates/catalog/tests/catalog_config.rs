//! The catalog built from configuration: Kedro's loader, factory, versioning,
//! credentials and parameters rules, end to end through the public API.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tandem_catalog::{
    CatalogOptions, DataCatalog, Dataset, DatasetConfig, DatasetDescription, DatasetRegistry,
    Error, Parameters, ProjectConfig, Version,
};
use tandem_pipeline_core::Data;

/// A dataset that hands back, on load, the configuration it was built from.
#[derive(Debug)]
struct Recording(DatasetConfig);

impl Dataset for Recording {
    fn load(&self) -> Result<Data, Error> {
        Ok(Data::opaque(self.0.clone()))
    }
    fn save(&self, _data: Data) -> Result<(), Error> {
        Ok(())
    }
    fn exists(&self) -> Result<bool, Error> {
        Ok(true)
    }
    fn describe(&self) -> DatasetDescription {
        DatasetDescription {
            type_name: "Recording".to_owned(),
            ..DatasetDescription::default()
        }
    }
}

fn registry() -> DatasetRegistry {
    let mut registry = DatasetRegistry::with_builtins();
    registry.register("Recording", |config: &DatasetConfig| {
        Ok(Arc::new(Recording(config.clone())) as Arc<dyn Dataset>)
    });
    registry
}

fn options() -> CatalogOptions {
    CatalogOptions::new(registry())
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn build(catalog: Value) -> Result<DataCatalog, Error> {
    DataCatalog::from_config(&map(catalog), &Map::new(), &options(), ".")
}

fn recorded(catalog: &DataCatalog, name: &str) -> DatasetConfig {
    let data = catalog.load(name).unwrap();
    data.downcast_ref::<DatasetConfig>().unwrap().clone()
}

fn filepath(catalog: &DataCatalog, name: &str) -> String {
    recorded(catalog, name).options["filepath"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn conf(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("conf")
}

#[test]
fn the_most_specific_pattern_wins() {
    let catalog = build(json!({
        "{name}_data": {"type": "Recording", "filepath": "{name}.csv"},
        "{ns}.{name}_data": {"type": "Recording", "filepath": "{ns}/{name}.csv"},
        "{default}": {"type": "Recording", "filepath": "other/{default}"},
    }))
    .unwrap();
    assert_eq!(filepath(&catalog, "a.cars_data"), "a/cars.csv");
    assert_eq!(filepath(&catalog, "cars_data"), "cars.csv");
    assert_eq!(filepath(&catalog, "bikes"), "other/bikes");
    let described = catalog.describe("a.cars_data").unwrap();
    assert_eq!(described.pattern.as_deref(), Some("{ns}.{name}_data"));
    assert_eq!(described.config.unwrap()["filepath"], "a/cars.csv");
    assert_eq!(
        catalog.patterns(),
        ["{ns}.{name}_data", "{name}_data", "{default}"]
    );
}

#[test]
fn ties_break_on_placeholder_count_then_name() {
    let catalog = build(json!({
        "{a}_{b}_x": {"type": "Recording", "filepath": "two"},
        "{a}__x": {"type": "Recording", "filepath": "one"},
        "b{a}_x": {"type": "Recording", "filepath": "b"},
        "a{a}_x": {"type": "Recording", "filepath": "a"},
    }))
    .unwrap();
    assert_eq!(
        catalog.patterns(),
        ["{a}_{b}_x", "a{a}_x", "b{a}_x", "{a}__x"]
    );
    assert_eq!(filepath(&catalog, "ab_x"), "a");
    assert_eq!(filepath(&catalog, "p_q_x"), "two");
}

#[test]
fn matching_is_case_insensitive_and_lazy() {
    let catalog = build(json!({
        "{name}_DATA": {"type": "Recording", "filepath": "{name}"},
        "{a}_{b}": {"type": "Recording", "filepath": "{a}/{b}", "args": [{"deep": "{b}"}]},
    }))
    .unwrap();
    assert_eq!(filepath(&catalog, "Cars_data"), "Cars");
    let config = recorded(&catalog, "x_y_z");
    assert_eq!(config.options["filepath"], "x/y_z");
    assert_eq!(config.options["args"], json!([{"deep": "y_z"}]));
}

#[test]
fn catch_all_rules() {
    let err = build(json!({
        "{default}": {"type": "Recording"},
        "{other}": {"type": "Recording"},
    }))
    .unwrap_err();
    assert_eq!(err.kind(), "dataset_pattern");
    assert_eq!(
        err.to_string(),
        "Multiple catch-all patterns found in the catalog: {default}, {other}. Only one catch-all \
         pattern is allowed, remove the extras."
    );

    let with = build(json!({"{x}": {"type": "MemoryDataset"}})).unwrap();
    assert!(with.contains("anything"));
    let without = build(json!({})).unwrap();
    assert!(
        !without.contains("anything"),
        "the runtime default does not count"
    );
    assert!(without.get("anything").unwrap().is_none());
}

#[test]
fn config_placeholders_must_appear_in_the_pattern() {
    let err = build(json!({"{a}_x": {"type": "Recording", "filepath": "{b}.csv"}})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Incorrect dataset configuration provided. Keys used in the configuration {'{b}'} \
         should present in the dataset pattern name {a}_x."
    );
}

#[test]
fn entries_are_validated_when_the_catalog_is_built() {
    let bad_mode =
        build(json!({"cars": {"type": "MemoryDataset", "copy_mode": "bogus"}})).unwrap_err();
    assert_eq!(bad_mode.kind(), "invalid_config");
    assert!(bad_mode.to_string().contains("cars") && bad_mode.to_string().contains("bogus"));

    // An unknown type makes the entry unusable, not the catalog invalid
    // (Kedro 1.x's lazy entries): it fails, with the reason, when used.
    let lazy = build(json!({"cars": {"type": "MemoryDatset"}})).unwrap();
    assert_eq!(lazy.list(), ["cars"]);
    let unknown = lazy.load("cars").unwrap_err();
    assert_eq!(unknown.kind(), "unknown_dataset_type");
    assert!(
        unknown.to_string().contains("did you mean 'MemoryDataset'"),
        "{unknown}"
    );

    let patterned = build(json!({"{x}_raw": {"type": "CSVDatset", "filepath": "{x}"}})).unwrap();
    let pattern_type = patterned.get("a_raw").unwrap_err();
    assert_eq!(pattern_type.kind(), "unknown_dataset_type");
    assert!(pattern_type.to_string().contains("a_raw"), "{pattern_type}");

    let bad_path = build(json!({"cars": {"type": "TextDataset", "filepath": "ftp://host/x.txt"}}))
        .unwrap_err();
    assert_eq!(bad_path.kind(), "invalid_path");
    assert!(
        bad_path.to_string().starts_with("cars: "),
        "the entry is named: {bad_path}"
    );
}

#[test]
fn credentials_resolve_and_never_show() {
    let credentials = map(json!({"db": {"user": "me", "password": "hunter2"}}));
    let catalog_conf = map(json!({
        "cars": {"type": "Recording", "credentials": "db"},
        "{x}_remote": {"type": "Recording", "credentials": "db"},
    }));
    let catalog = DataCatalog::from_config(&catalog_conf, &credentials, &options(), ".").unwrap();
    let config = recorded(&catalog, "cars");
    assert_eq!(
        config.credentials.as_ref().unwrap().get("password"),
        Some(&json!("hunter2"))
    );
    assert_eq!(
        recorded(&catalog, "a_remote").credentials,
        config.credentials
    );

    let described = serde_json::to_string(&catalog.describe("cars").unwrap()).unwrap();
    assert!(
        !described.contains("hunter2") && described.contains("password"),
        "{described}"
    );
    for shown in [format!("{catalog:?}"), format!("{config:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    let missing = map(json!({"cars": {"type": "Recording", "credentials": "nope"}}));
    let err = DataCatalog::from_config(&missing, &credentials, &options(), ".").unwrap_err();
    assert_eq!(err.kind(), "missing_credentials");
    assert!(
        err.to_string().contains("cars") && err.to_string().contains("nope"),
        "{err}"
    );
    let in_pattern = map(json!({"{x}_y": {"type": "Recording", "credentials": "nope"}}));
    let err = DataCatalog::from_config(&in_pattern, &credentials, &options(), ".").unwrap_err();
    assert_eq!(err.kind(), "missing_credentials");
}

#[test]
fn load_versions_must_name_known_datasets() {
    let catalog_conf = map(json!({
        "cars": {"type": "Recording", "versioned": true},
        "{x}_model": {"type": "Recording", "versioned": true},
    }));
    let mut opts = options();
    opts.save_version = Some("2026-01-02T00.00.00.000Z".to_owned());
    opts.load_versions = BTreeMap::from([
        ("cars".to_owned(), "2026-01-01T00.00.00.000Z".to_owned()),
        ("a_model".to_owned(), "2025-12-31T00.00.00.000Z".to_owned()),
    ]);
    let catalog = DataCatalog::from_config(&catalog_conf, &Map::new(), &opts, ".").unwrap();
    assert_eq!(catalog.save_version(), "2026-01-02T00.00.00.000Z");
    assert_eq!(
        recorded(&catalog, "cars").version,
        Some(Version {
            load: Some("2026-01-01T00.00.00.000Z".into()),
            save: Some("2026-01-02T00.00.00.000Z".into()),
            ..Default::default()
        })
    );
    assert_eq!(
        recorded(&catalog, "a_model")
            .version
            .unwrap()
            .load
            .as_deref(),
        Some("2025-12-31T00.00.00.000Z")
    );

    opts.load_versions.insert("zz".to_owned(), "v".to_owned());
    opts.load_versions
        .insert("bikes".to_owned(), "v".to_owned());
    let err = DataCatalog::from_config(&catalog_conf, &Map::new(), &opts, ".").unwrap_err();
    assert_eq!(err.kind(), "dataset_not_found");
    assert_eq!(
        err.to_string(),
        "'load_versions' keys [bikes, zz] are not found in the catalog."
    );

    opts.load_versions = BTreeMap::from([("cars".to_owned(), "../../etc".to_owned())]);
    let err = DataCatalog::from_config(&catalog_conf, &Map::new(), &opts, ".").unwrap_err();
    assert_eq!(err.kind(), "invalid_version");
}

#[test]
fn versioned_files_use_the_catalog_save_version() {
    let dir = tempfile::tempdir().unwrap();
    let catalog_conf = map(
        json!({"notes": {"type": "TextDataset", "filepath": "data/notes.txt", "versioned": true}}),
    );
    let mut opts = options();
    for version in ["2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"] {
        opts.save_version = Some(version.to_owned());
        let catalog =
            DataCatalog::from_config(&catalog_conf, &Map::new(), &opts, dir.path()).unwrap();
        catalog
            .save("notes", Data::new(format!("saved {version}")))
            .unwrap();
        assert!(
            dir.path()
                .join(format!("data/notes.txt/{version}/notes.txt"))
                .is_file()
        );
    }
    opts.load_versions =
        BTreeMap::from([("notes".to_owned(), "2026-01-01T00.00.00.000Z".to_owned())]);
    let catalog = DataCatalog::from_config(&catalog_conf, &Map::new(), &opts, dir.path()).unwrap();
    let loaded = catalog.load("notes").unwrap();
    assert_eq!(
        loaded.downcast_ref::<String>().unwrap(),
        "saved 2026-01-01T00.00.00.000Z"
    );
    let again = catalog.save("notes", Data::new(String::new())).unwrap_err();
    assert_eq!(again.kind(), "version_exists");
    assert!(again.to_string().starts_with("notes: "), "{again}");
}

#[test]
fn lookups_loads_and_saves() {
    let catalog = build(json!({"cars": {"type": "MemoryDataset"}})).unwrap();
    let err = catalog.load("cars").unwrap_err();
    assert_eq!(err.kind(), "no_data");
    assert_eq!(
        err.to_string(),
        "cars: data for MemoryDataset has not been saved yet"
    );

    let unknown = catalog.save("crs", Data::new(1_u8)).unwrap_err();
    assert_eq!(unknown.kind(), "dataset_not_found");
    assert!(
        unknown.to_string().contains("did you mean cars?"),
        "{unknown}"
    );
    assert!(!catalog.exists("crs").unwrap());
    assert!(catalog.release("crs").is_err());

    catalog.insert_data("given", Data::new(5_i32));
    assert!(catalog.exists("given").unwrap());
    catalog.release("given").unwrap();
    assert!(!catalog.exists("given").unwrap());

    let default = catalog.get_or_default("scratch").unwrap();
    assert!(Arc::ptr_eq(
        &default,
        &catalog.get_or_default("scratch").unwrap()
    ));
    assert!(
        catalog.contains("scratch"),
        "a stored runtime default is an entry now"
    );
    assert_eq!(catalog.list(), ["cars", "given", "scratch"]);
    let described = catalog.describe("scratch").unwrap();
    assert_eq!(
        (described.config, described.dataset.type_name.as_str()),
        (None, "MemoryDataset")
    );
}

#[test]
fn concurrent_first_uses_share_one_dataset() {
    let catalog = Arc::new(build(json!({"{x}_p": {"type": "MemoryDataset"}})).unwrap());
    for name in ["shared", "a_p"] {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let catalog = Arc::clone(&catalog);
                std::thread::spawn(move || catalog.get_or_default(name).unwrap())
            })
            .collect();
        let datasets: Vec<Arc<dyn Dataset>> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            datasets.iter().all(|d| Arc::ptr_eq(d, &datasets[0])),
            "{name}"
        );
        assert!(Arc::ptr_eq(&datasets[0], &catalog.dataset(name).unwrap()));
    }
}

fn conf_project() -> tempfile::TempDir {
    project(&[
        (
            "conf/base/catalog.yml",
            "_mem: &mem\n  type: MemoryDataset\n\ncars:\n  <<: *mem\n  copy_mode: copy\n\
             bikes:\n  type: TextDataset\n  filepath: data/bikes.txt\n",
        ),
        (
            "conf/base/catalog/ml.yml",
            "model:\n  <<: {type: MemoryDataset}\n",
        ),
        (
            "conf/base/parameters.yml",
            "model:\n  alpha: 0.1\n  layers: [8, 4]\nseed: 1\n",
        ),
        ("conf/local/catalog.yml", "bikes:\n  type: MemoryDataset\n"),
        (
            "conf/prod/catalog.yml",
            "cars:\n  type: MemoryDataset\n  copy_mode: bogus\n",
        ),
    ])
}

#[test]
fn conf_dir_layers_env_over_base_and_adds_parameters() {
    let dir = conf_project();
    let mut opts = options();
    opts.params_overrides = Parameters::parse_overrides("model.alpha=0.5,extra.flag=true").unwrap();
    let catalog = DataCatalog::from_conf_dir(&conf(&dir), None, &opts).unwrap();
    assert!(!catalog.contains("_mem"));
    assert_eq!(
        catalog.describe("bikes").unwrap().dataset.type_name,
        "MemoryDataset"
    );
    assert_eq!(
        catalog.describe("cars").unwrap().config,
        Some(json!({"type": "MemoryDataset", "copy_mode": "copy"}))
    );
    let alpha = catalog.load("params:model.alpha").unwrap();
    assert_eq!(alpha.downcast_ref::<Value>().unwrap(), &json!(0.5));
    let flag = catalog.load("params:extra.flag").unwrap();
    assert_eq!(flag.downcast_ref::<Value>().unwrap(), &json!(true));
    let all = catalog.load("parameters").unwrap();
    assert_eq!(
        all.downcast_ref::<Value>().unwrap(),
        &json!({"model": {"alpha": 0.5, "layers": [8, 4]}, "seed": 1, "extra": {"flag": true}})
    );
    assert!(catalog.contains("params:model.layers") && catalog.contains("params:seed"));

    let base_only = DataCatalog::from_conf_dir(&conf(&dir), Some("base"), &options()).unwrap();
    assert_eq!(
        base_only.describe("bikes").unwrap().dataset.type_name,
        "TextDataset"
    );
    let bikes = base_only
        .describe("bikes")
        .unwrap()
        .dataset
        .filepath
        .unwrap();
    assert!(Path::new(&bikes).starts_with(dir.path()), "{bikes}");
}

#[test]
fn entry_errors_name_file_and_line() {
    let dir = conf_project();
    let err = DataCatalog::from_conf_dir(&conf(&dir), Some("prod"), &options()).unwrap_err();
    let file = conf(&dir).join("prod/catalog.yml");
    assert_eq!(err.kind(), "invalid_config");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}:1: entry 'cars': ", file.display())),
        "{msg}"
    );
    assert!(msg.contains("bogus"), "{msg}");
}

#[test]
fn malformed_yaml_names_file_line_and_entry() {
    let dir = project(&[(
        "conf/base/catalog.yml",
        "cars:\n  type: MemoryDataset\nbikes:\n  type: \"unterminated\n  copy_mode: copy\n",
    )]);
    let err = DataCatalog::from_conf_dir(&conf(&dir), None, &options()).unwrap_err();
    let Error::InvalidConfig {
        file, line, entry, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        file.as_deref(),
        Some(
            conf(&dir)
                .join("base/catalog.yml")
                .display()
                .to_string()
                .as_str()
        )
    );
    assert_eq!((*line, entry.as_deref()), (Some(4), Some("bikes")));
    assert!(
        err.to_string()
            .contains("catalog.yml:4: entry 'bikes': invalid YAML"),
        "{err}"
    );
}

#[test]
fn duplicate_keys_across_files_of_one_env() {
    let dir = project(&[
        (
            "conf/base/catalog.yml",
            "cars: {type: MemoryDataset}\n_a: 1\n",
        ),
        (
            "conf/base/catalog_more.yml",
            "cars: {type: MemoryDataset}\n_a: 2\n",
        ),
        ("conf/local/catalog.yml", "cars: {type: MemoryDataset}\n"),
    ]);
    let err = ProjectConfig::load(&conf(&dir), None).unwrap_err();
    let base = conf(&dir).join("base");
    assert_eq!(
        err.to_string(),
        format!(
            "Duplicate keys found in {} and {}: cars",
            base.join("catalog.yml").display(),
            base.join("catalog_more.yml").display()
        )
    );
}
