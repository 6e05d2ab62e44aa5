//! `tandem catalog list|describe` on the cars fixture project: environments,
//! factory patterns, credentials masked, unknown names.

use serde_json::json;
use tandem_tests::tandem;

use crate::run_support::{FIXTURE, json_failure};

/// The fixture's credentials, which no output may show.
const SECRETS: [&str; 2] = ["fixture-super-secret", "fixture-key-id"];

fn catalog(args: &[&str]) -> tandem_tests::Run {
    let conf = format!("{FIXTURE}/conf");
    let mut all = args.to_vec();
    all.extend(["--conf", &conf]);
    let run = tandem(&all);
    for secret in SECRETS {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{run:?}"
        );
    }
    run
}

#[test]
fn list_shows_datasets_and_patterns_as_json() {
    let run = catalog(&["catalog", "list", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let listing = run.stdout_json();
    assert_eq!(listing["env"], "local");
    let names: Vec<&str> = listing["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "archive_table",
            "cars",
            "cars_back",
            "cars_parquet",
            "mean_value",
            "model_input@read",
            "model_input@write",
            "prices",
            "prices_copy",
            "run_params",
            "summary",
        ]
    );
    let cars_parquet = &listing["datasets"][3];
    assert_eq!(cars_parquet["type"], "ParquetDataset");
    assert_eq!(cars_parquet["versioned"], true);
    let filepath = cars_parquet["filepath"].as_str().unwrap();
    assert!(
        filepath.ends_with("data/02_intermediate/cars.parquet"),
        "{filepath}"
    );
    assert!(
        cars_parquet["defined_in"]
            .as_str()
            .unwrap()
            .contains("catalog.yml:")
    );
    assert_eq!(
        listing["datasets"][0]["filepath"],
        "s3://tandem-archive/cars.parquet"
    );
    let patterns = &listing["patterns"];
    assert_eq!(patterns.as_array().unwrap().len(), 1);
    assert_eq!(patterns[0]["pattern"], "{name}_copy");
    assert_eq!(patterns[0]["type"], "pandas.CSVDataset");
    assert_eq!(patterns[0]["filepath"], "data/06_copies/{name}.csv");
}

#[test]
fn list_as_text_is_a_table() {
    let run = catalog(&["catalog", "list", "--env", "prod"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "Catalog (environment prod)");
    assert!(
        lines[1].starts_with("DATASET") && lines[1].contains("FILEPATH"),
        "{run:?}"
    );
    let cars = lines.iter().find(|l| l.starts_with("cars ")).unwrap();
    assert!(
        cars.contains("CSVDataset") && cars.contains("data/01_raw/cars.csv"),
        "{cars}"
    );
    // conf/local is not loaded in prod, so prices_copy is not an entry.
    assert!(
        !lines.iter().any(|l| l.starts_with("prices_copy")),
        "{run:?}"
    );
    assert!(run.stdout.contains("params_prod.json"), "{run:?}");
    assert!(lines.iter().any(|l| l.starts_with("PATTERN")), "{run:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("{name}_copy")),
        "{run:?}"
    );
}

#[test]
fn describe_resolves_entries_and_patterns() {
    let run = catalog(&["catalog", "describe", "cars_copy", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let described = run.stdout_json();
    assert_eq!(described["name"], "cars_copy");
    assert_eq!(described["pattern"], "{name}_copy");
    assert_eq!(
        described["config"],
        json!({"type": "pandas.CSVDataset", "filepath": "data/06_copies/cars.csv"})
    );
    assert_eq!(described["dataset"]["type_name"], "CSVDataset");

    // An explicit entry wins over the pattern; in prod there is none.
    let local = catalog(&["catalog", "describe", "prices_copy", "--json"]).stdout_json();
    assert!(local.get("pattern").is_none(), "{local}");
    let prod = catalog(&["catalog", "describe", "prices_copy", "--json", "-e", "prod"]);
    assert_eq!(prod.stdout_json()["pattern"], "{name}_copy");

    let text = catalog(&["catalog", "describe", "cars_parquet"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .starts_with("name:       cars_parquet\ntype:       ParquetDataset\n"),
        "{text:?}"
    );
    assert!(text.stdout.contains("versioned:  yes"), "{text:?}");

    let param = catalog(&["catalog", "describe", "params:report.title", "--json"]);
    let described = param.stdout_json();
    assert_eq!(described["dataset"]["type_name"], "MemoryDataset");
    let title = described["dataset"]["details"]["value"].clone();
    assert!(
        title.is_string(),
        "the configured value, not a type: {described}"
    );
    assert_eq!(described["value"], title);
    // As text, the value itself, in YAML as Kedro writes it.
    let text = catalog(&["catalog", "describe", "params:report"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert_eq!(
        text.stdout,
        format!(
            "columns:\n- id\n- price\nthreshold: 0.5\ntitle: {}\n",
            title.as_str().unwrap()
        ),
        "{text:?}"
    );
    let scalar = catalog(&["catalog", "describe", "params:report.threshold"]);
    assert_eq!(scalar.stdout, "0.5\n", "{scalar:?}");
}

#[test]
fn describe_masks_credentials() {
    let run = catalog(&["catalog", "describe", "archive_table", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let described = run.stdout_json();
    assert_eq!(
        described["config"]["credentials"],
        json!({"key": "***", "secret": "***", "client_kwargs": {"endpoint_url": "***"}})
    );
    let text = catalog(&["catalog", "describe", "archive_table"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.contains("\"secret\": \"***\""), "{text:?}");
}

#[test]
fn unknown_names_and_environments_fail() {
    let run = catalog(&["catalog", "describe", "car", "--json"]);
    let error = json_failure(&run, 1);
    assert_eq!(error["kind"], "dataset_not_found");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("did you mean cars"),
        "{error}"
    );

    let text = catalog(&["catalog", "describe", "car"]);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(
        text.stderr.starts_with("error: dataset 'car' not found"),
        "{text:?}"
    );

    let error = json_failure(&catalog(&["catalog", "list", "--env", "nope", "--json"]), 1);
    assert_eq!(error["kind"], "invalid_config");

    let missing = tandem(["catalog", "list", "--conf", "no/such/conf", "--json"]);
    assert_eq!(json_failure(&missing, 1)["kind"], "invalid_config");

    for bad in [
        &["catalog", "describe"][..],
        &["catalog", "lst"],
        &["catalog", "list", "--jsn"],
    ] {
        let run = tandem(bad);
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
    }
}

#[test]
fn help_teaches_with_examples() {
    for command in [&["run"][..], &["catalog", "list"], &["catalog", "describe"]] {
        let mut args = command.to_vec();
        args.push("--help");
        let run = tandem(&args);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.contains("Examples:"), "{command:?}: {run:?}");
    }
    let run = tandem(["run", "--help"]);
    assert!(run.stdout.contains("--load-versions") && run.stdout.contains("__default__"));
}
