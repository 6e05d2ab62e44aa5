//! Kedro's `OmegaConfigLoader` interpolation through `ProjectConfig`: scope
//! and timing (each env and kind resolved on its own, credentials per file),
//! globals, runtime parameters, `oc.env` in credentials only, hidden keys,
//! the parameters duplicate rule and the `--params` merge, with Kedro's
//! messages.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use tandem_catalog::{
    CatalogOptions, ConfigOptions, DataCatalog, DatasetRegistry, Error, Parameters, ProjectConfig,
};

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    for (path, text) in files {
        let path = dir.path().join("conf").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn conf(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("conf")
}

fn with_params(spec: &str) -> ConfigOptions {
    ConfigOptions {
        runtime_params: Parameters::parse_overrides(spec).unwrap(),
        ..ConfigOptions::default()
    }
}

fn load(dir: &tempfile::TempDir, env: Option<&str>, params: &str) -> Result<ProjectConfig, Error> {
    ProjectConfig::load_with(&conf(dir), env, &with_params(params))
}

fn obj(map: &Map<String, Value>) -> Value {
    Value::Object(map.clone())
}

/// The parts of an `InvalidConfig` error.
fn parts(err: &Error) -> (Option<String>, Option<String>, String) {
    match err {
        Error::InvalidConfig {
            file,
            entry,
            message,
            ..
        } => (file.clone(), entry.clone(), message.clone()),
        other => panic!("not an InvalidConfig error: {other:?}"),
    }
}

fn file(dir: &tempfile::TempDir, relative: &str) -> String {
    conf(dir).join(relative).display().to_string()
}

#[test]
fn hidden_catalog_keys_are_interpolation_sources_and_then_dropped() {
    let dir = project(&[
        (
            "base/catalog.yml",
            "_pandas:\n  type: pandas.CSVDataset\n  save_args: {index: false}\n\
             cars:\n  type: ${_pandas.type}\n  filepath: data/${.name}.csv\n  name: cars\n  save_args: ${_pandas.save_args}\n",
        ),
        ("base/credentials.yml", "_k: abc\ndb:\n  key: ${_k}\n"),
        ("base/parameters.yml", "_h: 1\nuses: ${_h}\n"),
    ]);
    let config = load(&dir, None, "").unwrap();
    assert_eq!(
        obj(&config.catalog),
        json!({"cars": {"type": "pandas.CSVDataset", "filepath": "data/cars.csv", "name": "cars",
                        "save_args": {"index": false}}})
    );
    assert_eq!(obj(&config.credentials), json!({"db": {"key": "abc"}}));
    assert_eq!(obj(&config.parameters), json!({"_h": 1, "uses": 1}));
}

#[test]
fn globals_reach_every_kind_and_the_env_replaces_top_level_keys() {
    let dir = project(&[
        (
            "base/globals.yml",
            "bucket: s3://b\npaths: {raw: data/01, out: data/02}\nseed: 1\nderived: ${bucket}/x\n_hidden: 1\n",
        ),
        ("local/globals.yml", "paths: {raw: local/01}\n"),
        // Not globals files: only globals.yml counts.
        ("base/globals.yaml", "seed: 99\n"),
        ("base/globals_more.yml", "seed: 98\n"),
        ("base/sub/globals.yml", "seed: 97\n"),
        (
            "base/catalog.yml",
            "cars:\n  type: MemoryDataset\n  path: ${globals:paths.raw}/cars\n  out: ${globals:paths.out, fallback}\n",
        ),
        (
            "base/parameters.yml",
            "seed: ${globals:seed}\nwhole: ${globals:paths}\nd: ${globals:derived}\nnull_default: ${globals:nope, null}\n",
        ),
        ("base/credentials.yml", "s3:\n  bucket: ${globals:bucket}\n"),
    ]);
    let config = load(&dir, None, "").unwrap();
    assert_eq!(
        obj(&config.globals),
        json!({"bucket": "s3://b", "paths": {"raw": "local/01"}, "seed": 1, "derived": "s3://b/x"})
    );
    assert_eq!(
        config.catalog["cars"],
        json!({"type": "MemoryDataset", "path": "local/01/cars", "out": "fallback"})
    );
    assert_eq!(
        obj(&config.parameters),
        json!({"seed": 1, "whole": {"raw": "local/01"}, "d": "s3://b/x", "null_default": null})
    );
    assert_eq!(config.credentials["s3"], json!({"bucket": "s3://b"}));
}

#[test]
fn globals_errors_use_kedros_messages() {
    let dir = project(&[
        ("base/globals.yml", "_private: 1\n"),
        (
            "base/parameters.yml",
            "a: ${globals:missing}\nb: ${globals:_private}\n",
        ),
    ]);
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            Some(file(&dir, "base/parameters.yml")),
            Some("a".into()),
            "Globals key 'missing' not found and no default value provided.".into()
        )
    );
    std::fs::write(
        conf(&dir).join("base/parameters.yml"),
        "b: ${globals:_private}\n",
    )
    .unwrap();
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        parts(&err).2,
        "Keys starting with '_' are not supported for globals."
    );
    std::fs::write(
        conf(&dir).join("base/globals.yml"),
        "g: ${runtime_params:x, 1}\n",
    )
    .unwrap();
    let err = load(&dir, None, "x=2").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            Some(file(&dir, "base/globals.yml")),
            Some("g".into()),
            "The `runtime_params:` resolver is not supported for globals.".into()
        )
    );
}

#[test]
fn runtime_params_fill_catalog_paths_with_and_without_defaults() {
    let dir = project(&[
        (
            "base/catalog.yml",
            "out:\n  type: MemoryDataset\n  filepath: ${runtime_params:out_dir, 'data/02'}/out.csv\n  n: ${runtime_params:n, 3}\n",
        ),
        (
            "base/credentials.yml",
            "c:\n  user: ${runtime_params:user, anon}\n",
        ),
    ]);
    let defaults = load(&dir, None, "").unwrap();
    assert_eq!(
        defaults.catalog["out"],
        json!({"type": "MemoryDataset", "filepath": "data/02/out.csv", "n": 3})
    );
    assert_eq!(defaults.credentials["c"], json!({"user": "anon"}));
    let given = load(&dir, None, "out_dir=elsewhere,n=5,user=me").unwrap();
    assert_eq!(given.catalog["out"]["filepath"], "elsewhere/out.csv");
    assert_eq!(given.catalog["out"]["n"], 5);
    assert_eq!(given.credentials["c"]["user"], "me");
    assert_eq!(
        obj(&given.runtime_params),
        json!({"out_dir": "elsewhere", "n": 5, "user": "me"})
    );

    std::fs::write(
        conf(&dir).join("base/catalog.yml"),
        "x:\n  type: MemoryDataset\n  f: ${runtime_params:zzz}\n",
    )
    .unwrap();
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            Some(file(&dir, "base/catalog.yml")),
            Some("x.f".into()),
            "Runtime parameter 'zzz' not found and no default value provided.".into()
        )
    );
    assert!(
        err.to_string().starts_with(&format!(
            "{}:1: entry 'x.f': ",
            file(&dir, "base/catalog.yml")
        )),
        "{err}"
    );
}

#[test]
fn runtime_params_join_each_envs_parameters_before_resolution() {
    let dir = project(&[
        ("base/parameters.yml", "a: 1\n"),
        ("local/parameters.yml", "b: ${r}\nc: ${runtime_params:r}\n"),
    ]);
    let config = load(&dir, None, "r=7,i=${r}").unwrap();
    assert_eq!(
        obj(&config.parameters),
        json!({"a": 1, "b": 7, "c": 7, "r": 7, "i": 7})
    );
    // The runtime parameters join base too, where local's `b` is out of reach.
    let err = load(&dir, None, "r=7,i=${b}").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            None,
            Some("i".into()),
            "Interpolation key 'b' not found".into()
        )
    );
}

#[test]
fn params_merge_like_kedro_per_env_layer() {
    let base = (
        "base/parameters.yml",
        "model: {a: 0, b: 2, nested: {x: 1, y: 2}}\ntop: 5\n",
    );
    let cases: [(Option<&str>, Value); 4] = [
        (
            None,
            json!({"model": {"a": 0, "b": 2, "nested": {"x": 9, "y": 2}}, "top": 5}),
        ),
        (
            Some("other: 1\n"),
            json!({"model": {"nested": {"x": 9}}, "other": 1, "top": 5}),
        ),
        (Some(""), json!({"model": {"nested": {"x": 9}}, "top": 5})),
        (
            Some("model: {b: 20}\n"),
            json!({"model": {"b": 20, "nested": {"x": 9}}, "top": 5}),
        ),
    ];
    for (local, expected) in cases {
        let mut files = vec![base];
        if let Some(text) = local {
            files.push(("local/parameters.yml", text));
        }
        let dir = project(&files);
        let config = load(&dir, None, "model.nested.x=9").unwrap();
        assert_eq!(obj(&config.parameters), expected, "local: {local:?}");
    }
    // No parameters files at all: the runtime parameters alone; a scalar
    // becomes a mapping.
    let dir = project(&[]);
    assert_eq!(
        obj(&load(&dir, None, "x.y=2").unwrap().parameters),
        json!({"x": {"y": 2}})
    );
    let dir = project(&[("base/parameters.yml", "x: 0\n")]);
    assert_eq!(
        obj(&load(&dir, None, "x.y=2").unwrap().parameters),
        json!({"x": {"y": 2}})
    );
}

#[test]
fn an_env_cannot_see_base_and_kinds_cannot_see_each_other() {
    let dir = project(&[
        ("base/parameters.yml", "_p: 1\nshared: 2\n"),
        ("local/parameters.yml", "b:\n  x: ${_p}\n"),
    ]);
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            Some(file(&dir, "local/parameters.yml")),
            Some("b.x".into()),
            "Interpolation key '_p' not found".into()
        )
    );
    let dir = project(&[
        ("base/parameters.yml", "p: 1\n"),
        ("base/catalog.yml", "c:\n  type: MemoryDataset\n  v: ${p}\n"),
    ]);
    assert_eq!(
        parts(&load(&dir, None, "").unwrap_err()).2,
        "Interpolation key 'p' not found"
    );
    // Within one env and kind, files see each other.
    let dir = project(&[
        ("base/parameters.yml", "p: 1\n"),
        ("base/parameters/more.yml", "q: ${p}\n"),
    ]);
    assert_eq!(load(&dir, None, "").unwrap().parameters["q"], 1);
}

#[test]
fn oc_env_works_in_credentials_only_and_per_file() {
    // cargo sets CARGO_PKG_NAME for the test process.
    let pkg = std::env::var("CARGO_PKG_NAME").unwrap();
    let unset = "TANDEM_SURELY_UNSET_VARIABLE_FOR_TESTS";
    let creds = format!(
        "db:\n  user: ${{oc.env:CARGO_PKG_NAME}}\n  port: ${{oc.env:{unset}, 5432}}\n  opt: ${{oc.env:{unset}, null}}\n"
    );
    let dir = project(&[
        ("base/credentials.yml", &creds),
        (
            "base/credentials_other.yml",
            "other:\n  from_env: ${oc.env:CARGO_PKG_NAME}\n",
        ),
    ]);
    let config = load(&dir, None, "").unwrap();
    assert_eq!(
        config.credentials["db"],
        json!({"user": pkg, "port": "5432", "opt": null})
    );
    // Credentials files cannot reach into one another.
    std::fs::write(
        conf(&dir).join("base/credentials_other.yml"),
        "other:\n  user: ${db.user}\n",
    )
    .unwrap();
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            Some(file(&dir, "base/credentials_other.yml")),
            Some("other.user".into()),
            "Interpolation key 'db.user' not found".into()
        )
    );
    // A missing variable: Kedro's message, and nothing of the file's values.
    std::fs::write(
        conf(&dir).join("base/credentials_other.yml"),
        format!("other:\n  password: s3cr3t-${{oc.env:{unset}}}\n"),
    )
    .unwrap();
    let err = load(&dir, None, "").unwrap_err();
    let shown = err.to_string();
    assert_eq!(
        parts(&err).2,
        format!(
            "KeyError raised while resolving interpolation: \"Environment variable '{unset}' not found\""
        )
    );
    assert!(
        !shown.contains("s3cr3t") && !shown.contains(&pkg),
        "{shown}"
    );
    // Anywhere else oc.env is unsupported.
    for (path, text) in [
        (
            "base/catalog.yml",
            "c:\n  type: MemoryDataset\n  v: ${oc.env:CARGO_PKG_NAME}\n",
        ),
        ("base/parameters.yml", "v: ${oc.env:CARGO_PKG_NAME}\n"),
        ("base/globals.yml", "v: ${oc.env:CARGO_PKG_NAME}\n"),
    ] {
        let dir = project(&[(path, text)]);
        let err = load(&dir, None, "").unwrap_err();
        assert_eq!(
            parts(&err).2,
            "Unsupported interpolation type oc.env",
            "{path}"
        );
    }
}

#[test]
fn parameters_duplicates_compare_dotted_leaf_paths() {
    let dir = project(&[
        ("base/parameters.yml", "m: {a: 1}\n_h: {a: 1}\nl: [1]\n"),
        ("base/parameters_more.yml", "m: {b: 2}\n_h: {a: 2}\n"),
    ]);
    let config = load(&dir, None, "").unwrap();
    assert_eq!(config.parameters["m"], json!({"a": 1, "b": 2}));

    let dir = project(&[
        (
            "base/parameters.yml",
            "m: {a: 1, _x: 1, c: {d: 1}}\nl: [1]\nk: 1\n",
        ),
        (
            "base/parameters_more.yml",
            "m: {a: 2, _x: 2, c: {d: 2}}\nl: [2]\n",
        ),
    ]);
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Duplicate keys found in {} and {}: l, m._x, m.a, m.c.d",
            file(&dir, "base/parameters.yml"),
            file(&dir, "base/parameters_more.yml")
        )
    );
    // Catalog entries still compare top-level keys.
    let dir = project(&[
        ("base/catalog.yml", "c: {type: MemoryDataset}\n"),
        ("base/catalog_more.yml", "c: {copy_mode: copy}\n"),
    ]);
    assert!(
        load(&dir, None, "")
            .unwrap_err()
            .to_string()
            .ends_with(": c")
    );
}

#[test]
fn interpolation_errors_name_the_file_and_key_path() {
    let dir = project(&[
        ("base/parameters.yml", "ok: 1\n"),
        (
            "base/parameters/deep.yml",
            "m:\n  l: [0, '${m.l[0]}${nope.x}']\n",
        ),
    ]);
    let err = load(&dir, None, "").unwrap_err();
    assert_eq!(
        parts(&err),
        (
            Some(file(&dir, "base/parameters/deep.yml")),
            Some("m.l[1]".into()),
            "Interpolation key 'nope.x' not found".into()
        )
    );
    let dir = project(&[("base/parameters.yml", "a: ${b}\nb: ${a}\n")]);
    let err = load(&dir, None, "").unwrap_err();
    assert!(
        parts(&err)
            .2
            .starts_with("Recursive interpolation detected: "),
        "{err}"
    );
    let dir = project(&[("base/parameters.yml", "a: ${foo:1}\n")]);
    assert_eq!(
        parts(&load(&dir, None, "").unwrap_err()).2,
        "Unsupported interpolation type foo"
    );
}

#[test]
fn escapes_types_and_relative_keys_in_files() {
    let dir = project(&[(
        "base/parameters.yml",
        "n: 3\nflag: true\nliteral: '\\${n}'\nwhole: ${n}\ntext: 'x${n}'\nb: ${flag}\n\
         m:\n  k: 1\n  sib: ${.k}\n  inner: {up: '${..k}'}\nl: [a, b]\nsecond: ${l[1]}\n",
    )]);
    let p = load(&dir, None, "").unwrap().parameters;
    assert_eq!(p["literal"], "${n}");
    assert_eq!(p["whole"], 3);
    assert_eq!(p["text"], "x3");
    assert_eq!(p["b"], true);
    assert_eq!(p["m"], json!({"k": 1, "sib": 1, "inner": {"up": 1}}));
    assert_eq!(p["second"], "b");
}

#[test]
fn the_interpolator_serves_other_kinds_with_extra_resolvers() {
    let dir = project(&[("base/globals.yml", "exp: churn\n")]);
    let config = load(&dir, None, "run=nightly").unwrap();
    let mlflow = json!({
        "tracking": {
            "experiment": {"name": "${globals:exp}"},
            "run": {"name": "${runtime_params:run}-${km.random_name:}"},
        },
    });
    let resolved = config
        .interpolator()
        .with_resolver("km.random_name", |_| Ok(json!("enthused-bee-185")))
        .resolve(mlflow.as_object().unwrap())
        .unwrap();
    assert_eq!(
        Value::Object(resolved),
        json!({"tracking": {"experiment": {"name": "churn"}, "run": {"name": "nightly-enthused-bee-185"}}})
    );
    let err = config
        .interpolator()
        .resolve(json!({"x": "${oc.env:HOME}"}).as_object().unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry 'x': Unsupported interpolation type oc.env"
    );
}

#[test]
fn the_catalog_from_a_conf_dir_takes_runtime_params() {
    let dir = project(&[
        (
            "base/catalog.yml",
            "out:\n  type: MemoryDataset\n  copy_mode: ${runtime_params:mode, assign}\n",
        ),
        ("base/parameters.yml", "model: {a: 0, b: 2}\n"),
        ("local/parameters.yml", "other: 1\n"),
    ]);
    let mut options = CatalogOptions::new(DatasetRegistry::with_builtins());
    options.params_overrides = Parameters::parse_overrides("mode=copy,model.a=5").unwrap();
    let catalog = DataCatalog::from_conf_dir(&conf(&dir), None, &options).unwrap();
    assert_eq!(
        catalog.describe("out").unwrap().config,
        Some(json!({"type": "MemoryDataset", "copy_mode": "copy"}))
    );
    let model = catalog.load("params:model").unwrap();
    // The local parameters file takes the runtime `model` whole, as Kedro.
    assert_eq!(model.downcast_ref::<Value>().unwrap(), &json!({"a": 5}));
    assert!(Path::new(&conf(&dir)).is_dir());
}
