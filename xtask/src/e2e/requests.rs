//! The requests of the matrix, built from the model's input example and
//! signature: every input format (`dataframe_split`, `dataframe_records`,
//! `instances`, `inputs`, CSV, parquet), params, and bad requests, each with
//! what the reference server must answer.

use std::path::Path;

use serde_json::{Map, Value, json};
use tandem_test_support::python;

/// The model's input example: columns and rows (`dataframe_split`), and
/// the signature's column specs.
#[derive(Debug, Clone)]
pub struct Example {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    specs: Vec<ColSpec>,
}

/// One input column of the model's signature.
#[derive(Debug, Clone, PartialEq)]
struct ColSpec {
    name: String,
    /// MLflow's type name: `double`, `long`, `string`...
    kind: String,
    required: bool,
}

/// The signature's input columns, from the `signature.inputs` line of an
/// `MLmodel` (a JSON list in a YAML string); `None` when there is none.
fn signature_inputs(mlmodel: &str) -> Option<Vec<ColSpec>> {
    let mut in_signature = false;
    for line in mlmodel.lines() {
        if !line.starts_with(' ') {
            in_signature = line.trim_end() == "signature:";
            continue;
        }
        let Some(value) = line
            .trim_start()
            .strip_prefix("inputs:")
            .filter(|_| in_signature)
        else {
            continue;
        };
        let value = value.trim();
        let text = if value.starts_with('"') {
            serde_json::from_str::<String>(value).ok()?
        } else if let Some(quoted) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            quoted.replace("''", "'")
        } else {
            value.to_owned()
        };
        let specs: Vec<Value> = serde_json::from_str(&text).ok()?;
        return specs
            .iter()
            .map(|s| {
                Some(ColSpec {
                    name: s.get("name")?.as_str()?.to_owned(),
                    kind: s.get("type")?.as_str()?.to_owned(),
                    required: s.get("required").and_then(Value::as_bool).unwrap_or(true),
                })
            })
            .collect();
    }
    None
}

impl Example {
    /// Reads `serving_input_example.json` (`{"dataframe_split": ...}`) or
    /// `input_example.json` (the split itself), with the column specs of
    /// the model's `MLmodel` text (else guessed from the values, all
    /// required).
    pub fn parse(bytes: &[u8], mlmodel: Option<&str>) -> Result<Example, String> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("the input example is not JSON: {e}"))?;
        let split = value.get("dataframe_split").unwrap_or(&value);
        let columns = split
            .get("columns")
            .and_then(Value::as_array)
            .ok_or("the input example has no columns")?
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("the input example's columns are not strings")?;
        let rows = split
            .get("data")
            .and_then(Value::as_array)
            .ok_or("the input example has no data")?
            .iter()
            .map(|r| r.as_array().cloned())
            .collect::<Option<Vec<_>>>()
            .ok_or("the input example's rows are not lists")?;
        if rows.is_empty() || rows.iter().any(|r| r.len() != columns.len()) {
            return Err("the input example's rows do not match its columns".to_owned());
        }
        let specs = mlmodel.and_then(signature_inputs).unwrap_or_else(|| {
            let kind = |i: usize| {
                let all = |test: fn(&Value) -> bool| rows.iter().all(|r| test(&r[i]));
                if all(Value::is_f64) {
                    "double"
                } else if all(|v| v.is_i64() || v.is_u64()) {
                    "long"
                } else {
                    "string"
                }
            };
            (columns.iter().enumerate())
                .map(|(i, name)| ColSpec {
                    name: name.clone(),
                    kind: kind(i).to_owned(),
                    required: true,
                })
                .collect()
        });
        Ok(Example {
            columns,
            rows,
            specs,
        })
    }

    /// The example's index of the first signature column that `test` accepts.
    fn column(&self, test: impl Fn(&ColSpec) -> bool) -> Option<usize> {
        self.specs
            .iter()
            .filter(|spec| test(spec))
            .find_map(|spec| self.columns.iter().position(|c| *c == spec.name))
    }

    fn split(&self) -> Value {
        json!({"columns": self.columns, "data": self.rows})
    }

    fn records(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    Value::Object(
                        self.columns
                            .iter()
                            .cloned()
                            .zip(row.iter().cloned())
                            .collect::<Map<_, _>>(),
                    )
                })
                .collect(),
        )
    }

    fn columnar(&self) -> Value {
        Value::Object(
            self.columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        c.clone(),
                        Value::Array(self.rows.iter().map(|r| r[i].clone()).collect()),
                    )
                })
                .collect(),
        )
    }

    /// The rows as CSV with a header (missing values as empty cells).
    pub fn csv(&self) -> String {
        let cell = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) if s.contains([',', '"', '\n']) => {
                format!("\"{}\"", s.replace('"', "\"\""))
            }
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut out = self.columns.join(",");
        out.push('\n');
        for row in &self.rows {
            out.push_str(&row.iter().map(cell).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }

    fn with_cell(&self, column: usize, value: Value) -> Example {
        let mut changed = self.clone();
        changed.rows[0][column] = value;
        changed
    }

    fn without_column(&self, column: usize) -> Example {
        let mut changed = self.clone();
        changed.columns.remove(column);
        for row in &mut changed.rows {
            row.remove(column);
        }
        changed
    }
}

/// Writes the example as parquet with the tools venv's pyarrow.
pub fn parquet(example: &Example, python: &Path, work: &Path) -> Result<Vec<u8>, String> {
    const SCRIPT: &str = "import json, sys, pyarrow as pa, pyarrow.parquet as pq\n\
        split = json.load(open(sys.argv[1]))\n\
        cols = split['columns']\n\
        table = pa.table({c: [row[i] for row in split['data']] for i, c in enumerate(cols)})\n\
        pq.write_table(table, sys.argv[2])\n";
    let input = work.join("example_split.json");
    let output = work.join("example.parquet");
    std::fs::write(&input, example.split().to_string())
        .map_err(|e| format!("write {}: {e}", input.display()))?;
    python::run_script(python, SCRIPT, [&input, &output])?;
    std::fs::read(&output).map_err(|e| format!("read {}: {e}", output.display()))
}

/// What a case must get from the reference server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// 200 with one prediction per row; `threshold` is the param sent, whose
    /// effect is checked on each record; `baseline` says the rows are the
    /// example's, so the predictions must equal the dataframe_split ones.
    Ok {
        threshold: Option<f64>,
        baseline: bool,
    },
    /// This status.
    Error(u16),
    /// 200 or a 4xx, the same from every server.
    Agree,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub rows: usize,
    pub expect: Expect,
}

const JSON: &str = "application/json";

fn json_case(name: &str, body: &Value, rows: usize, expect: Expect) -> Case {
    Case {
        name: name.to_owned(),
        content_type: JSON,
        body: body.to_string().into_bytes(),
        rows,
        expect,
    }
}

const OK: Expect = Expect::Ok {
    threshold: None,
    baseline: true,
};

pub fn cases(example: &Example, parquet: Option<Vec<u8>>) -> Vec<Case> {
    let n = example.rows.len();
    let split = example.split();
    let mut cases = vec![
        json_case("dataframe_split", &json!({"dataframe_split": split}), n, OK),
        json_case(
            "dataframe_records",
            &json!({"dataframe_records": example.records()}),
            n,
            OK,
        ),
        json_case("instances", &json!({"instances": example.records()}), n, OK),
        json_case(
            "inputs (columnar)",
            &json!({"inputs": example.columnar()}),
            n,
            OK,
        ),
        Case {
            name: "text/csv".to_owned(),
            content_type: "text/csv",
            body: example.csv().into_bytes(),
            rows: n,
            expect: OK,
        },
    ];
    if let Some(body) = parquet {
        cases.push(Case {
            name: "parquet".to_owned(),
            content_type: "application/vnd.apache.parquet",
            body,
            rows: n,
            expect: OK,
        });
    }
    let mut reordered = example.clone();
    reordered.columns.reverse();
    reordered.columns.push("unused_extra".to_owned());
    for row in &mut reordered.rows {
        row.reverse();
        row.push(json!("ignored"));
    }
    cases.push(json_case(
        "reordered + extra column",
        &json!({"dataframe_split": reordered.split()}),
        n,
        OK,
    ));
    for (name, envelope, threshold) in [
        ("dataframe_split + params", "dataframe_split", json!(0.9)),
        (
            "dataframe_records + params",
            "dataframe_records",
            json!(0.1),
        ),
        ("integer param for a double", "dataframe_split", json!(1)),
    ] {
        let data = if envelope == "dataframe_split" {
            split.clone()
        } else {
            example.records()
        };
        cases.push(json_case(
            name,
            &json!({envelope: data, "params": {"threshold": threshold}}),
            n,
            Expect::Ok {
                threshold: threshold.as_f64(),
                baseline: false,
            },
        ));
    }
    // Cases built on a column of a given kind (skipped if there is none).
    let double = example.column(|c| c.kind == "double" && c.required);
    let integer = example.column(|c| c.kind == "long" || c.kind == "integer");
    let optional = example.column(|c| !c.required);
    if let Some(i) = double {
        cases.push(json_case(
            "uncastable \"abc\" in a numeric column",
            &json!({"dataframe_split": example.with_cell(i, json!("abc")).split()}),
            n,
            Expect::Error(400),
        ));
        // MLflow checks that required columns are present, not that their
        // values are: whatever the servers answer, they must agree.
        cases.push(json_case(
            "null in a required column",
            &json!({"dataframe_split": example.with_cell(i, Value::Null).split()}),
            n,
            Expect::Agree,
        ));
    }
    if let Some(i) = integer {
        cases.push(json_case(
            "1.5 in an integer column",
            &json!({"dataframe_split": example.with_cell(i, json!(1.5)).split()}),
            n,
            Expect::Error(400),
        ));
        cases.push(json_case(
            "numeric string in an integer column",
            &json!({"dataframe_split": example.with_cell(i, json!("7")).split()}),
            n,
            Expect::Error(400),
        ));
    }
    let changed = Expect::Ok {
        threshold: None,
        baseline: false,
    };
    if let Some(i) = optional {
        cases.push(json_case(
            "null in an optional column",
            &json!({"dataframe_split": example.with_cell(i, Value::Null).split()}),
            n,
            changed,
        ));
        cases.push(json_case(
            "optional column omitted",
            &json!({"dataframe_split": example.without_column(i).split()}),
            n,
            changed,
        ));
    }
    if let Some(i) = example.column(|c| c.required) {
        cases.push(json_case(
            "missing required column",
            &json!({"dataframe_split": example.without_column(i).split()}),
            n,
            Expect::Error(400),
        ));
    }
    cases.extend([
        Case {
            name: "malformed JSON".to_owned(),
            content_type: JSON,
            body: b"{\"dataframe_split\": {\"columns\": [".to_vec(),
            rows: n,
            expect: Expect::Error(400),
        },
        Case {
            name: "unknown content type".to_owned(),
            content_type: "text/plain",
            body: example.csv().into_bytes(),
            rows: n,
            expect: Expect::Error(415),
        },
        json_case("top-level list", &json!([split]), n, Expect::Error(400)),
        json_case(
            "two format keys",
            &json!({"dataframe_split": split, "instances": example.records()}),
            n,
            Expect::Error(400),
        ),
        json_case(
            "unknown param name",
            &json!({"dataframe_split": split, "params": {"thresh": 0.7}}),
            n,
            Expect::Error(400),
        ),
        json_case(
            "bad param type",
            &json!({"dataframe_split": split, "params": {"threshold": "high"}}),
            n,
            Expect::Error(400),
        ),
    ]);
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Example {
        Example::parse(
            br#"{"dataframe_split": {"columns": ["a", "b", "c"],
                 "data": [[1.0, 2, "x"], [2.5, 3, "y,z"]]}}"#,
            None,
        )
        .unwrap()
    }

    #[test]
    fn signatures_are_read_from_mlmodel() {
        let mlmodel = "artifact_path: model\nsignature:\n  inputs: \"[{\\\"type\\\": \\\"double\\\", \
                       \\\"name\\\": \\\"a\\\", \\\"required\\\": false}]\"\n  outputs: null\n";
        let specs = signature_inputs(mlmodel).unwrap();
        assert_eq!(
            specs,
            [ColSpec {
                name: "a".into(),
                kind: "double".into(),
                required: false
            }]
        );
        assert_eq!(signature_inputs("inputs: x\n"), None);
    }

    #[test]
    fn formats_carry_the_same_rows() {
        let e = example();
        assert_eq!(e.csv(), "a,b,c\n1.0,2,x\n2.5,3,\"y,z\"\n");
        assert_eq!(e.records()[1], json!({"a": 2.5, "b": 3, "c": "y,z"}));
        assert_eq!(e.columnar()["b"], json!([2, 3]));
        assert_eq!(e.column(|c| c.kind == "long"), Some(1));
        assert_eq!(e.without_column(1).columns, ["a", "c"]);
    }
}
