//! `tandem run` with a catalog.yml written with pandas' load/save args, as a
//! Kedro user has them: a `;`-separated latin-1 CSV with `decimal`, `na_values` and
//! `parse_dates` saved as GZIP Parquet (with `fs_args`), a headerless CSV
//! (`header: null`), and a workbook with a title row read with
//! `sheet_name`, `usecols` and `skiprows`. pandas 3.1 reads what the run
//! wrote, and reads the inputs with the same args as the reference. And
//! `gcs://` / `gs://` entries, listed and described without any request.

use serde_json::{Value, json};
use tandem_test_support::excel::excel_bin;
use tandem_test_support::python::run_script;

use crate::run_support::{Project, node_names};

const SPEC: &str = "\
nodes:
  - {name: companies, func: builtin:identity, inputs: companies, outputs: companies_table}
  - {name: points, func: builtin:identity, inputs: points, outputs: points_out}
  - {name: shuttles, func: builtin:identity, inputs: shuttles, outputs: shuttles_table}
  - {name: report, func: builtin:identity, inputs: params:report, outputs: report_json}
";

const CATALOG: &str = r#"
companies:
  type: pandas.CSVDataset
  filepath: data/01_raw/companies.csv
  load_args:
    sep: ";"
    encoding: latin-1
    decimal: ","
    na_values: ["-"]
    parse_dates: [founded]
  fs_args:
    open_args_load:
      mode: r

companies_table:
  type: pandas.ParquetDataset
  filepath: data/02_intermediate/companies.parquet
  save_args:
    compression: GZIP
  fs_args:
    auto_mkdir: true
    open_args_save:
      mode: wb

points:
  type: pandas.CSVDataset
  filepath: data/01_raw/points.csv
  load_args:
    header: null

points_out:
  type: pandas.CSVDataset
  filepath: data/02_intermediate/points.csv
  save_args:
    index: false
    sep: "|"

shuttles:
  type: pandas.ExcelDataset
  filepath: data/01_raw/shuttles.xlsx
  load_args:
    engine: openpyxl
    sheet_name: shuttles
    skiprows: 1
    usecols: [id, engines]

shuttles_table:
  type: pandas.ParquetDataset
  filepath: data/03_primary/shuttles.parquet

report_json:
  type: json.JSONDataset
  filepath: data/08_reporting/report.json
"#;

/// Keys out of alphabetical order, and a non-ASCII value.
const PARAMETERS: &str = "\
report:
  title: Café
  threshold: 0.5
  columns: [id]
";

/// `;`-separated, latin-1 (`é` is the single byte 0xE9), `-` for missing.
const COMPANIES: &[u8] = b"id;name;rating;founded\n\
1;Caf\xe9 Spa;0,5;2020-01-02\n\
2;Nord;-;2021-06-30\n\
3;-;2,5;\n";

/// What pandas reads for a file, with the same args, and the dtypes and
/// values of the Parquet file the run wrote, and its codec.
const COMPARE: &str = r#"
import json, sys
import pandas as pd
import pyarrow.parquet as pq
raw, parquet, kind = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "companies":
    ref = pd.read_csv(raw, sep=";", decimal=",", encoding="latin-1", na_values=["-"], parse_dates=["founded"])
else:
    ref = pd.read_excel(raw, engine="openpyxl", sheet_name="shuttles", skiprows=1,
                        usecols=["id", "engines"])
got = pd.read_parquet(parquet)
def view(df):
    return {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        "values": json.loads(df.to_json(orient="values", date_format="iso", date_unit="us")),
    }
print(json.dumps({
    "reference": view(ref),
    "written": view(got),
    "codec": pq.ParquetFile(parquet).metadata.row_group(0).column(0).compression,
}))
"#;

fn compare(project: &Project, raw: &str, parquet: &str, kind: &str) -> Value {
    let out = run_script(
        &excel_bin().join("python"),
        COMPARE,
        [
            project.path(raw).as_os_str(),
            project.path(parquet).as_os_str(),
            std::ffi::OsStr::new(kind),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&out).unwrap()
}

fn pandas_args_project() -> Project {
    let project = Project::new();
    std::fs::remove_dir_all(project.path("conf")).unwrap();
    project.write("conf/base/catalog.yml", CATALOG);
    project.write("conf/base/parameters.yml", PARAMETERS);
    project.write("pandas_args.yml", SPEC);
    std::fs::write(project.path("data/01_raw/companies.csv"), COMPANIES).unwrap();
    project.write("data/01_raw/points.csv", "1,2.5\n3,\n");
    // A title row above the header, as hand-made workbooks have.
    run_script(
        &excel_bin().join("python"),
        r#"
import sys
from openpyxl import Workbook
wb = Workbook()
wb.active.title = "notes"
ws = wb.create_sheet("shuttles")
ws.append(["Shuttles, 2024"])
ws.append(["id", "shuttle_type", "engines", "moon_clearance_complete"])
ws.append([10, "Type V5", 2, "t"])
ws.append([11, "Type F5", None, "f"])
ws.append([12, "Type V5", 4, "t"])
wb.save(sys.argv[1])
"#,
        [project.path("data/01_raw/shuttles.xlsx")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    project
}

#[test]
fn a_catalog_with_pandas_args_runs_and_writes_what_pandas_expects() {
    let project = pandas_args_project();
    let run = project.tandem(["run", "--spec", "pandas_args.yml", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    let summary = run.stdout_json();
    assert_eq!(summary["status"], "success");
    let mut nodes = node_names(&summary);
    nodes.sort();
    assert_eq!(nodes, ["companies", "points", "report", "shuttles"]);

    // sep, decimal, latin-1, na_values (added to pandas' defaults) and parse_dates;
    // the Parquet file is GZIP and pandas reads it as it reads the CSV.
    let companies = compare(
        &project,
        "data/01_raw/companies.csv",
        "data/02_intermediate/companies.parquet",
        "companies",
    );
    assert_eq!(companies["codec"], "GZIP");
    assert_eq!(companies["written"], companies["reference"]);
    assert_eq!(
        companies["written"]["dtypes"],
        json!(["int64", "str", "float64", "datetime64[us]"])
    );
    assert_eq!(
        companies["written"]["values"],
        json!([
            [1, "Café Spa", 0.5, "2020-01-02T00:00:00.000000"],
            [2, "Nord", null, "2021-06-30T00:00:00.000000"],
            [3, null, 2.5, null]
        ])
    );

    // header: null numbers the columns; save_args.sep is honoured.
    assert_eq!(
        project.read("data/02_intermediate/points.csv"),
        "0|1\n1|2.5\n3|\n"
    );

    // sheet_name, skiprows past the title row, usecols by name.
    let shuttles = compare(
        &project,
        "data/01_raw/shuttles.xlsx",
        "data/03_primary/shuttles.parquet",
        "shuttles",
    );
    assert_eq!(shuttles["codec"], "SNAPPY");
    assert_eq!(shuttles["written"]["columns"], json!(["id", "engines"]));
    assert_eq!(
        shuttles["written"]["values"],
        json!([[10, 2.0], [11, null], [12, 4.0]])
    );
    assert_eq!(shuttles["written"], shuttles["reference"]);

    // json.JSONDataset: json.dump(indent=2) with ASCII escapes, no
    // trailing newline and the parameters' key order, as kedro-datasets
    // writes.
    assert_eq!(
        project.read("data/08_reporting/report.json"),
        "{\n  \"title\": \"Caf\\u00e9\",\n  \"threshold\": 0.5,\n  \"columns\": [\n    \"id\"\n  ]\n}"
    );
}

/// Entries on Google Cloud Storage, spelled `gcs://` (fsspec's name, used
/// in Kedro catalogs) and `gs://`, with `fs_args` for gcsfs.
const GCS_CATALOG: &str = r#"
reviews:
  type: pandas.CSVDataset
  filepath: gcs://bucket/data/01_raw/reviews.csv
  load_args:
    sep: ";"
  fs_args:
    project: my-project
    open_args_load:
      encoding: utf-8

model_input:
  type: pandas.ParquetDataset
  filepath: gs://bucket/data/03_primary/model_input.parquet
  save_args:
    compression: GZIP
"#;

/// `tandem` with every HTTP(S) request sent to a closed loopback port, so
/// the test fails rather than reaching Google if anything tried to.
fn offline(project: &Project, args: &[&str]) -> tandem_tests::Run {
    crate::run_support::output(
        project
            .command(tandem_tests::tandem_bin())
            .args(args)
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy"),
    )
}

#[test]
fn gcs_entries_are_accepted_listed_and_described() {
    let project = Project::new();
    std::fs::remove_dir_all(project.path("conf")).unwrap();
    project.write("conf/base/catalog.yml", GCS_CATALOG);
    project.write("conf/base/parameters.yml", "{}\n");

    let run = offline(&project, &["catalog", "list", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let listed = run.stdout_json();
    let entries: Vec<(&str, &str, &str)> = listed["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap(),
                d["type"].as_str().unwrap(),
                d["filepath"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (
                "model_input",
                "ParquetDataset",
                "gs://bucket/data/03_primary/model_input.parquet"
            ),
            (
                "reviews",
                "CSVDataset",
                "gcs://bucket/data/01_raw/reviews.csv"
            ),
        ]
    );

    // describe builds the dataset (the GCS client is made, nothing is sent).
    let run = offline(&project, &["catalog", "describe", "reviews", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let described = run.stdout_json();
    assert_eq!(described["dataset"]["type_name"], "CSVDataset");
    assert_eq!(
        described["dataset"]["filepath"],
        "gcs://bucket/data/01_raw/reviews.csv"
    );
    assert_eq!(described["config"]["fs_args"]["project"], "my-project");
}

#[test]
fn an_unknown_scheme_is_still_refused_naming_the_entry() {
    let project = Project::new();
    std::fs::remove_dir_all(project.path("conf")).unwrap();
    project.write(
        "conf/base/catalog.yml",
        "reviews:\n  type: pandas.CSVDataset\n  filepath: gcsx://bucket/reviews.csv\n",
    );
    project.write("conf/base/parameters.yml", "{}\n");
    let run = offline(&project, &["catalog", "describe", "reviews", "--json"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("reviews"), "{run:?}");
    assert!(
        run.stderr.contains("unsupported scheme 'gcsx://'"),
        "{run:?}"
    );
}
