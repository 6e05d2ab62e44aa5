//! CSVDataset's `compression` against pandas 3.1: inferred from the
//! extension by default, named in any case, and the files each side writes
//! read by the other.

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use tandem_pipeline_core::Data;
use tandem_test_support::excel::excel_bin;
use tandem_test_support::python::run_script;

use crate::common::build;

fn python(script: &str, args: &[&std::path::Path]) -> String {
    run_script(&excel_bin().join("python"), script, args).unwrap_or_else(|e| panic!("{e}"))
}

fn table() -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            std::sync::Arc::new(Int64Array::from(vec![1, 2, 3])) as _,
        ),
        (
            "name",
            std::sync::Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as _,
        ),
    ])
    .unwrap()
}

#[test]
fn pandas_reads_what_tandem_compresses_and_the_other_way_round() {
    let dir = tempfile::tempdir().unwrap();
    for (file, save_args) in [
        ("inferred.csv.gz", serde_json::json!({})),
        ("named.csv", serde_json::json!({"compression": "GZIP"})),
        ("inferred.csv.bz2", serde_json::json!({})),
        (
            "named.zst.csv",
            serde_json::json!({"compression": {"method": "zstd"}}),
        ),
    ] {
        let options =
            serde_json::json!({"filepath": file, "save_args": save_args, "load_args": save_args});
        let dataset = build(dir.path(), "pandas.CSVDataset", options);
        dataset.save(Data::new(table())).unwrap();
        let raw = std::fs::read(dir.path().join(file)).unwrap();
        assert!(!raw.starts_with(b"id,name"), "{file} is compressed");
        let compression = match file {
            "named.csv" => "'gzip'",
            _ => "'infer'",
        };
        // pandas reads zstd only with the zstandard package, which the
        // venv does not hold; tandem's own round trip covers it below.
        if !file.contains("zst") {
            let seen = python(
                &format!(
                    "import sys, pandas as pd\n\
                 df = pd.read_csv(sys.argv[1], compression={compression})\n\
                 print(list(df['id']), list(df['name'].fillna('<NA>')))"
                ),
                &[&dir.path().join(file)],
            );
            assert_eq!(seen.trim(), "[1, 2, 3] ['a', '<NA>', 'c']", "{file}");
        }
        // And back through tandem, with the same arguments.
        let back = dataset.load().unwrap().into_value::<RecordBatch>().unwrap();
        assert_eq!(back.num_rows(), 3, "{file}");
        assert_eq!(back.column(1).null_count(), 1, "{file}");
    }

    python(
        "import sys, pandas as pd\n\
         pd.DataFrame({'x': [10, 20]}).to_csv(sys.argv[1], index=False)",
        &[&dir.path().join("pandas.csv.gz")],
    );
    let dataset = build(
        dir.path(),
        "pandas.CSVDataset",
        serde_json::json!({"filepath": "pandas.csv.gz"}),
    );
    let loaded = dataset.load().unwrap().into_value::<RecordBatch>().unwrap();
    assert_eq!(
        loaded.column(0).as_ref(),
        &Int64Array::from(vec![10, 20]) as &dyn Array
    );

    // `None` reads the bytes as they are; an unknown codec names the entry.
    let plain = build(
        dir.path(),
        "pandas.CSVDataset",
        serde_json::json!({"filepath": "plain.csv.gz", "save_args": {"compression": null}}),
    );
    plain.save(Data::new(table())).unwrap();
    assert!(
        std::fs::read(dir.path().join("plain.csv.gz"))
            .unwrap()
            .starts_with(b"id,name")
    );
    let err = crate::common::try_build(&crate::common::config(
        dir.path(),
        "pandas.CSVDataset",
        serde_json::json!({"filepath": "x.csv", "load_args": {"compression": "lzma"}}),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("compression 'lzma'"), "{err}");
}
