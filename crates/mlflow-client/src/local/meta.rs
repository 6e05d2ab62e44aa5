//! `meta.yaml` files of MLflow's file store: a small fixed shape, written by
//! hand (keys sorted, as PyYAML's `safe_dump` orders them) and read with
//! serde-saphyr, tolerating the variations other writers produce.

use std::fmt::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// One value of a `meta.yaml` field.
pub(crate) enum Yaml<'a> {
    Str(&'a str),
    Int(i64),
    Null,
    /// The legacy empty `tags: []` of run metadata.
    EmptyList,
    /// A string-to-string mapping (input tags).
    Map(&'a [(String, String)]),
}

impl<'a> From<&'a str> for Yaml<'a> {
    fn from(s: &'a str) -> Yaml<'a> {
        Yaml::Str(s)
    }
}

impl From<i64> for Yaml<'_> {
    fn from(v: i64) -> Self {
        Yaml::Int(v)
    }
}

impl<'a> From<Option<&'a str>> for Yaml<'a> {
    fn from(v: Option<&'a str>) -> Yaml<'a> {
        v.map_or(Yaml::Null, Yaml::Str)
    }
}

impl From<Option<i64>> for Yaml<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Yaml::Null, Yaml::Int)
    }
}

/// A YAML double-quoted scalar. JSON's string escapes are a subset of
/// YAML's, so the JSON encoding is a valid, lossless YAML scalar for any
/// text (newlines included, which plain or single-quoted scalars would fold).
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Renders fields in the order given (callers list them sorted).
pub(crate) fn render(fields: &[(&str, Yaml<'_>)]) -> String {
    let mut out = String::new();
    for (key, value) in fields {
        // Infallible: writing to a String.
        let _ = match value {
            Yaml::Str(s) => writeln!(out, "{key}: {}", quoted(s)),
            Yaml::Int(v) => writeln!(out, "{key}: {v}"),
            Yaml::Null => writeln!(out, "{key}: null"),
            Yaml::EmptyList => writeln!(out, "{key}: []"),
            Yaml::Map([]) => writeln!(out, "{key}: {{}}"),
            Yaml::Map(entries) => {
                let _ = writeln!(out, "{key}:");
                entries
                    .iter()
                    .try_for_each(|(k, v)| writeln!(out, "  {}: {}", quoted(k), quoted(v)))
            }
        };
    }
    out
}

/// Writes `contents` to `path` through a temporary sibling and a rename, so
/// readers (MLflow's UI polling the directory) never see a half-written file.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    tandem_io::durable::write_file(path, contents).map_err(|e| Error::io(path, e))
}

/// Writes a `meta.yaml`.
pub(crate) fn write(path: &Path, fields: &[(&str, Yaml<'_>)]) -> Result<()> {
    write_atomic(path, render(fields).as_bytes())
}

/// Reads and parses a YAML file.
pub(crate) fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_saphyr::from_str(&text).map_err(|e| Error::CorruptStore {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A string that older or foreign writers may have left unquoted (an
/// experiment id `0` read as an integer, a `null`).
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Str(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => String::new(),
        Some(Raw::Str(s)) => s,
        Some(Raw::Int(v)) => v.to_string(),
        Some(Raw::Float(v)) => v.to_string(),
        Some(Raw::Bool(v)) => v.to_string(),
    })
}

/// [`lenient_string`] for optional fields: null stays `None`.
pub(crate) fn lenient_opt_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let s = lenient_string(d)?;
    Ok((!s.is_empty()).then_some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Probe {
        #[serde(deserialize_with = "lenient_string")]
        id: String,
        name: String,
        end: Option<i64>,
        tags: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn rendered_yaml_reads_back_losslessly() {
        let tags = vec![("a: b".to_owned(), "multi\nline \"q\" 'x'".to_owned())];
        let text = render(&[
            ("end", Yaml::Null),
            ("id", Yaml::Str("0")),
            ("legacy", Yaml::EmptyList),
            ("name", Yaml::Str("ünï: #code")),
            ("tags", Yaml::Map(&tags)),
        ]);
        let probe: Probe = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(probe.id, "0");
        assert_eq!(probe.name, "ünï: #code");
        assert_eq!(probe.end, None);
        assert_eq!(probe.tags["a: b"], "multi\nline \"q\" 'x'");

        let foreign: Probe = serde_saphyr::from_str("id: 42\nname: x\nend: 17\n").unwrap();
        assert_eq!((foreign.id.as_str(), foreign.end), ("42", Some(17)));
    }
}
