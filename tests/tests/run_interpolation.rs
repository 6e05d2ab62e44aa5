//! `tandem run` on a project written with Kedro's `OmegaConfigLoader`
//! interpolations: `${_anchor.key}` sources that leave the catalog,
//! `${globals:...}`, `${runtime_params:out_dir, 'data/02'}` with and without
//! `--params`, parameters referring to parameters, and `${oc.env:...}` in
//! credentials (used for real against moto's S3).

use serde_json::{Value, json};
use tandem_tests::moto::{SECRET, moto};
use tandem_tests::tandem_bin;

use crate::run_support::{CARS_CSV, Project, json_failure, node_names, output};

const SPEC: &str = "\
nodes:
  - {name: copy_cars, func: builtin:identity, inputs: cars, outputs: cars_out}
  - {name: echo_params, func: builtin:identity, inputs: params:report, outputs: run_params}
";

const GLOBALS: &str = "\
raw: data/01_raw
datasets:
  csv: pandas.CSVDataset
title: Cars
";

const CATALOG: &str = "\
_csv:
  type: ${globals:datasets.csv}
  reporting: data/08_reporting
cars:
  type: ${_csv.type}
  filepath: ${globals:raw}/cars.csv
cars_out:
  type: ${_csv.type}
  filepath: ${runtime_params:out_dir, 'data/02'}/cars_out.csv
run_params:
  type: json.JSONDataset
  filepath: ${_csv.reporting}/params.json
";

const PARAMETERS: &str = "\
report:
  title: ${globals:title}
  threshold: 0.5
  label: t=${.threshold}
  same: ${report.threshold}
  columns: [id, price]
  first: ${.columns[0]}
";

/// The cars project with its conf/ replaced by one written with interpolations.
fn interpolated_project() -> Project {
    let project = Project::new();
    std::fs::remove_dir_all(project.path("conf")).unwrap();
    project.write("conf/base/globals.yml", GLOBALS);
    project.write("conf/base/catalog.yml", CATALOG);
    project.write("conf/base/parameters.yml", PARAMETERS);
    project.write("interp.yml", SPEC);
    project
}

fn run(project: &Project, extra: &[&str]) -> Value {
    let mut args = vec!["run", "--spec", "interp.yml", "--json"];
    args.extend_from_slice(extra);
    let run = project.tandem(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    run.stdout_json()
}

fn seen_params(project: &Project) -> Value {
    serde_json::from_str(&project.read("data/08_reporting/params.json")).unwrap()
}

#[test]
fn a_project_with_interpolations_runs_with_and_without_params() {
    let project = interpolated_project();
    let summary = run(&project, &[]);
    assert_eq!(node_names(&summary).len(), 2, "{summary}");
    // The runtime parameter's default directory, the globals' raw directory.
    assert_eq!(project.read("data/02/cars_out.csv"), project.read(CARS_CSV));
    assert_eq!(
        seen_params(&project),
        json!({"title": "Cars", "threshold": 0.5, "label": "t=0.5", "same": 0.5,
               "columns": ["id", "price"], "first": "id"})
    );

    // --params fills ${runtime_params:out_dir} and joins the parameters
    // before they are resolved, so the references see the new threshold.
    run(
        &project,
        &["--params", "out_dir=data/custom,report.threshold=0.9"],
    );
    assert_eq!(
        project.read("data/custom/cars_out.csv"),
        project.read(CARS_CSV)
    );
    assert_eq!(
        seen_params(&project),
        json!({"title": "Cars", "threshold": 0.9, "label": "t=0.9", "same": 0.9,
               "columns": ["id", "price"], "first": "id"})
    );
}

#[test]
fn params_replace_base_keys_when_the_env_has_parameters() {
    let project = interpolated_project();
    // Kedro merges --params into each environment's parameters, and the
    // environment then replaces base's top-level keys: report loses the rest.
    project.write("conf/local/parameters.yml", "other: 1\n");
    run(&project, &["--params", "report.threshold=0.9"]);
    assert_eq!(seen_params(&project), json!({"threshold": 0.9}));
}

#[test]
fn interpolation_errors_name_the_file_and_key() {
    let project = interpolated_project();
    project.write(
        "conf/base/catalog.yml",
        &CATALOG.replace("'data/02'", "").replace(", }", "}"),
    );
    let failed = project.tandem(["run", "--spec", "interp.yml", "--json"]);
    let error = json_failure(&failed, 1);
    assert_eq!(error["kind"], "invalid_config", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("catalog.yml")
            && message.contains("entry 'cars_out.filepath'")
            && message
                .ends_with("Runtime parameter 'out_dir' not found and no default value provided."),
        "{message}"
    );
    assert!(!project.path("data/02").exists());

    let project = interpolated_project();
    project.write("conf/base/parameters.yml", "report: ${nope.x}\n");
    let failed = project.tandem(["run", "--spec", "interp.yml", "--json"]);
    let message = json_failure(&failed, 1)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.ends_with("entry 'report': Interpolation key 'nope.x' not found"),
        "{message}"
    );
}

#[test]
fn credentials_read_environment_variables_for_a_real_s3_run() {
    let server = moto();
    let bucket = server.new_bucket();
    let project = interpolated_project();
    project.write(
        "conf/base/credentials.yml",
        "moto:\n  key: ${oc.env:TANDEM_IT_KEY}\n  secret: ${oc.env:TANDEM_IT_SECRET}\n  \
         region_name: ${oc.env:TANDEM_IT_REGION, us-east-1}\n  \
         client_kwargs:\n    endpoint_url: ${oc.env:TANDEM_IT_ENDPOINT}\n",
    );
    project.write(
        "conf/s3/catalog.yml",
        &format!(
            "cars_out:\n  type: pandas.CSVDataset\n  filepath: s3://{bucket}/cars.csv\n  \
             credentials: moto\n\
             cars_back:\n  type: pandas.CSVDataset\n  filepath: data/03_primary/cars_back.csv\n"
        ),
    );
    project.write(
        "s3.yml",
        "nodes:\n  - {name: up, func: builtin:identity, inputs: cars, outputs: cars_out}\n  \
         - {name: down, func: builtin:identity, inputs: cars_out, outputs: cars_back}\n",
    );
    let env = [
        ("TANDEM_IT_KEY", "tandem-key-id"),
        ("TANDEM_IT_SECRET", SECRET),
        ("TANDEM_IT_ENDPOINT", server.endpoint.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let args = ["run", "--spec", "s3.yml", "--env", "s3", "--json"];

    let ran = output(project.command(tandem_bin()).envs(env).args(args));
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(!ran.stdout.contains(SECRET) && !ran.stderr.contains(SECRET));
    assert_eq!(
        project.read("data/03_primary/cars_back.csv"),
        project.read(CARS_CSV)
    );

    // Without the secret's variable: Kedro's message, no configured value.
    let failed = output(
        project
            .command(tandem_bin())
            .envs(env.into_iter().filter(|(k, _)| *k != "TANDEM_IT_SECRET"))
            .env_remove("TANDEM_IT_SECRET")
            .args(args),
    );
    let error = json_failure(&failed, 1);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("credentials.yml")
            && message.contains("entry 'moto.secret'")
            && message.ends_with(
                "KeyError raised while resolving interpolation: \"Environment variable 'TANDEM_IT_SECRET' not found\""
            ),
        "{message}"
    );
    assert!(!failed.stderr.contains("tandem-key-id"), "{failed:?}");

    // oc.env outside credentials is refused.
    project.write(
        "conf/s3/parameters.yml",
        "report: {title: '${oc.env:TANDEM_IT_KEY}'}\n",
    );
    let refused = output(project.command(tandem_bin()).envs(env).args(args));
    let message = json_failure(&refused, 1)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.ends_with("entry 'report.title': Unsupported interpolation type oc.env"),
        "{message}"
    );
}
