//! `catalog list-patterns|resolve-patterns|describe-datasets` output: YAML
//! as Kedro prints it (`yaml.dump`: block style, keys sorted, a list under a
//! key not indented), or JSON.

use std::io::{self, Write};

use serde_json::Value;

use super::write_json;
use crate::commands::KedroCatalog;

/// Writes a Kedro catalog command's result.
pub(super) fn written(out: &mut dyn Write, result: &KedroCatalog, json: bool) -> io::Result<()> {
    let value = match result {
        KedroCatalog::Patterns(patterns) => serde_json::to_value(patterns),
        KedroCatalog::Resolved(resolved) => serde_json::to_value(resolved),
        KedroCatalog::Described(described) => serde_json::to_value(described),
    }
    .map_err(io::Error::other)?;
    if json {
        return write_json(out, &value);
    }
    out.write_all(yaml(&value).as_bytes())
}

/// `value` as PyYAML's `yaml.dump` writes it in block style.
pub(super) fn yaml(value: &Value) -> String {
    let mut out = String::new();
    if is_collection(value) {
        block(&mut out, value, 0);
    } else {
        out.push_str(&scalar(value));
        out.push('\n');
    }
    out
}

/// A non-empty mapping or list.
fn is_collection(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// Writes a non-empty collection's lines at `indent`.
fn block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                out.push_str(&" ".repeat(indent));
                out.push_str(&string(key));
                out.push(':');
                let child = &map[key];
                match child {
                    Value::Object(_) if is_collection(child) => {
                        out.push('\n');
                        block(out, child, indent + 2);
                    }
                    // PyYAML does not indent a list under a mapping key.
                    Value::Array(_) if is_collection(child) => {
                        out.push('\n');
                        block(out, child, indent);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&scalar(child));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                if is_collection(item) {
                    // The item's first line follows the dash.
                    let mut nested = String::new();
                    block(&mut nested, item, indent + 2);
                    out.push_str(&nested[indent + 2..]);
                } else {
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        _ => {}
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
    }
}

/// A string plain when YAML reads it back as the same string, else quoted:
/// single quotes, or double quotes for control characters and edge spaces.
fn string(s: &str) -> String {
    if s.chars().any(char::is_control) || s.starts_with(' ') || s.ends_with(' ') {
        return serde_json::to_string(s).unwrap_or_default();
    }
    if needs_quotes(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_owned()
}

fn needs_quotes(s: &str) -> bool {
    const INDICATORS: &str = "-?:,[]{}#&*!|>'\"%@`";
    let Some(first) = s.chars().next() else {
        return true;
    };
    let resolves_otherwise = matches!(
        s.to_ascii_lowercase().as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || looks_numeric(s);
    INDICATORS.contains(first)
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || resolves_otherwise
}

/// Whether YAML 1.1 could read `s` as a number (ints, floats, `1_000`, `1:30`).
fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    !body.is_empty()
        && body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | 'e' | 'E' | '+' | '-'))
        && body.chars().any(|c| c.is_ascii_digit())
        || matches!(body.to_ascii_lowercase().as_str(), ".inf" | ".nan")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_and_patterns_print_as_kedro_prints_them() {
        let patterns = json!(["out_{x}", "{name}_csv", "{layer}.{name}", "{default}"]);
        assert_eq!(
            yaml(&patterns),
            "- out_{x}\n- '{name}_csv'\n- '{layer}.{name}'\n- '{default}'\n"
        );
    }

    #[test]
    fn mappings_are_sorted_block_style_with_unindented_lists() {
        let described = json!({"pat": {
            "datasets": {"kedro_datasets.pandas.csv_dataset.CSVDataset": ["explicit"]},
            "defaults": {"kedro.io.MemoryDataset": ["mem_out"]},
        }});
        assert_eq!(
            yaml(&described),
            "pat:\n  datasets:\n    kedro_datasets.pandas.csv_dataset.CSVDataset:\n    - explicit\n  \
             defaults:\n    kedro.io.MemoryDataset:\n    - mem_out\n"
        );
        let resolved = json!({"explicit": {"type": "pandas.CSVDataset", "load_args": {"sep": ";"},
                                           "save_args": null, "fs_args": {}}});
        assert_eq!(
            yaml(&resolved),
            "explicit:\n  fs_args: {}\n  load_args:\n    sep: ;\n  save_args: null\n  type: pandas.CSVDataset\n"
        );
    }

    #[test]
    fn strings_yaml_would_retype_are_quoted() {
        for (raw, shown) in [
            ("yes", "'yes'"),
            ("010", "'010'"),
            ("1:30", "'1:30'"),
            ("1.5", "'1.5'"),
            ("", "''"),
            ("a: b", "'a: b'"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            (" x", "\" x\""),
            ("data/01_raw/x.csv", "data/01_raw/x.csv"),
        ] {
            assert_eq!(string(raw), shown, "{raw}");
        }
        assert_eq!(
            yaml(&json!([{"a": 1, "b": [1, 2]}])),
            "- a: 1\n  b:\n  - 1\n  - 2\n"
        );
        assert_eq!(yaml(&json!(0.5)), "0.5\n");
    }
}
