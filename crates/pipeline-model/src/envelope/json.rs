//! MLflow's JSON envelopes → columns of JSON values.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::InputSpec;
use super::limits::{JSON_CELLS_PER_VALUE, MIN_JSON_CELLS};
use super::table::Parsed;
use crate::error::Error;

/// The keys that carry the data; a body has exactly one.
const FORMAT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// Objects up to this many keys find a repeated key by scanning them.
const SCANNED_KEYS: usize = 16;

/// A JSON document with object keys in document order: `serde_json`'s map
/// sorts them, and the order of `dataframe_records` and `inputs` keys is
/// the column order of a model without a signature.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    /// A scalar (null, boolean, number, string).
    Scalar(Value),
    /// A list.
    Array(Vec<Json>),
    /// An object; a repeated key keeps its first place and last value, as
    /// a Python dict does.
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Json::Scalar(_))
    }

    /// The value as `serde_json` holds it.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Scalar(v) => v.clone(),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl From<&Value> for Json {
    fn from(value: &Value) -> Json {
        match value {
            Value::Array(items) => Json::Array(items.iter().map(Json::from).collect()),
            Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::from(v)))
                    .collect(),
            ),
            scalar => Json::Scalar(scalar.clone()),
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Scalar(Value::Null))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Scalar(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Scalar(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Scalar(Value::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::new();
        // Repeated keys are looked up by scanning small objects and through
        // an index past that: scanning alone is quadratic in the keys.
        let mut index: HashMap<String, usize> = HashMap::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            let seen = if entries.len() <= SCANNED_KEYS {
                entries.iter().position(|(k, _)| *k == key)
            } else {
                if index.is_empty() {
                    index.extend(entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)));
                }
                index.get(&key).copied()
            };
            match seen {
                Some(i) => entries[i].1 = value,
                None => {
                    if !index.is_empty() {
                        index.insert(key.clone(), entries.len());
                    }
                    entries.push((key, value));
                }
            }
        }
        Ok(Json::Object(entries))
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidInput(message.into())
}

/// The data and the `params` of an envelope.
pub(crate) fn envelope(
    body: &Json,
    spec: Option<&InputSpec>,
) -> Result<(Parsed, Map<String, Value>), Error> {
    let Json::Object(entries) = body else {
        return Err(invalid(format!(
            "the body must be a JSON object with one of {}; MLflow 2 dropped the bare list and \
             split-oriented object of MLflow 1",
            FORMAT_KEYS.join(", ")
        )));
    };
    if let Some((key, _)) = entries
        .iter()
        .find(|(k, _)| k != "params" && !FORMAT_KEYS.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "unknown key '{key}'; the body has one of {} and optionally params",
            FORMAT_KEYS.join(", ")
        )));
    }
    let present: Vec<&str> = FORMAT_KEYS
        .into_iter()
        .filter(|k| body.get(k).is_some())
        .collect();
    let [key] = present.as_slice() else {
        return Err(invalid(format!(
            "the body must have exactly one of {}, found {}",
            FORMAT_KEYS.join(", "),
            if present.is_empty() {
                "none".to_owned()
            } else {
                present.join(", ")
            }
        )));
    };
    let params = match body.get("params").map(Json::to_value) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(other) => return Err(invalid(format!("params must be an object, found {other}"))),
    };
    let value = body.get(key).unwrap_or(&Json::Scalar(Value::Null));
    let parsed = match *key {
        "dataframe_split" => split(value, spec)?,
        "dataframe_records" => match value {
            Json::Array(rows) => records(rows)?,
            other => {
                return Err(invalid(format!(
                    "dataframe_records must be a list of objects, found {other}"
                )));
            }
        },
        "instances" => rows_or_list(value, "instances")?,
        _ => inputs(value)?,
    };
    Ok((parsed, params))
}

/// pandas' split orient: `{"columns": [...], "data": [[...], ...]}`, the
/// index ignored; without columns, the signature's order names them.
fn split(value: &Json, spec: Option<&InputSpec>) -> Result<Parsed, Error> {
    let Json::Object(entries) = value else {
        return Err(invalid(format!(
            "dataframe_split must be an object with columns and data, found {value}"
        )));
    };
    if let Some((key, _)) = entries
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "columns" | "data" | "index"))
    {
        return Err(invalid(format!(
            "dataframe_split has an unknown key '{key}' (expected columns, data, index)"
        )));
    }
    let rows = match value.get("data") {
        Some(Json::Array(rows)) => rows,
        Some(other) => {
            return Err(invalid(format!(
                "dataframe_split.data must be a list of rows, found {other}"
            )));
        }
        None => return Err(invalid("dataframe_split has no data")),
    };
    let width = match rows.first() {
        Some(Json::Array(cells)) => cells.len(),
        _ => 0,
    };
    let names: Vec<String> = match value.get("columns") {
        Some(Json::Array(columns)) => columns
            .iter()
            .map(|c| match c {
                Json::Scalar(Value::String(s)) => Ok(s.clone()),
                Json::Scalar(Value::Number(n)) => Ok(n.to_string()),
                other => Err(invalid(format!(
                    "column names must be strings, found {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(format!(
                "dataframe_split.columns must be a list, found {other}"
            )));
        }
        None => match spec.filter(|s| !s.is_list()) {
            Some(spec) => spec.columns.iter().filter_map(|c| c.name.clone()).collect(),
            None => (0..width).map(|i| i.to_string()).collect(),
        },
    };
    let mut columns: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); names.len()];
    for (i, row) in rows.iter().enumerate() {
        let Json::Array(cells) = row else {
            return Err(invalid(format!(
                "dataframe_split.data[{i}] must be a list, found {row}"
            )));
        };
        if cells.len() != names.len() {
            return Err(invalid(format!(
                "dataframe_split.data[{i}] has {} values for {} columns",
                cells.len(),
                names.len()
            )));
        }
        for (column, cell) in columns.iter_mut().zip(cells) {
            column.push(cell.to_value());
        }
    }
    Ok(Parsed::Json {
        columns: names.into_iter().zip(columns).collect(),
        rows: rows.len(),
    })
}

/// pandas' records orient: a list of row objects; a key missing from a
/// row is a missing value; columns in order of first appearance.
///
/// Rows may leave keys out, but not so many that the table outgrows the
/// body: it has at most [`JSON_CELLS_PER_VALUE`] cells per value given
/// (or [`MIN_JSON_CELLS`]), where a row per distinct key would otherwise
/// turn n small rows into n² cells.
fn records(rows: &[Json]) -> Result<Parsed, Error> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    let mut given = rows.len();
    for (i, row) in rows.iter().enumerate() {
        let Json::Object(entries) = row else {
            return Err(invalid(format!("row {i} must be an object, found {row}")));
        };
        given += entries.len();
        for (key, _) in entries {
            index.entry(key).or_insert_with(|| {
                names.push(key);
                names.len() - 1
            });
        }
    }
    let cells = rows.len().saturating_mul(names.len());
    if cells > MIN_JSON_CELLS.max(given.saturating_mul(JSON_CELLS_PER_VALUE)) {
        return Err(invalid(format!(
            "dataframe_records describes {} rows of {} columns but gives {given} values: \
             too sparse a table to build (send dataframe_split, or fewer rows at a time)",
            rows.len(),
            names.len()
        )));
    }
    let mut columns: Vec<Vec<Value>> = (0..names.len())
        .map(|_| Vec::with_capacity(rows.len()))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        if let Json::Object(entries) = row {
            for (key, value) in entries {
                let column = &mut columns[index[key.as_str()]];
                column.resize(i, Value::Null);
                column.push(value.to_value());
            }
        }
    }
    for column in &mut columns {
        column.resize(rows.len(), Value::Null);
    }
    Ok(Parsed::Json {
        columns: names.into_iter().map(str::to_owned).zip(columns).collect(),
        rows: rows.len(),
    })
}

/// TF-serving rows: objects are records, scalars a list of values.
fn rows_or_list(value: &Json, key: &str) -> Result<Parsed, Error> {
    let Json::Array(items) = value else {
        return Err(invalid(format!("{key} must be a list, found {value}")));
    };
    if !items.is_empty() && items.iter().all(|v| matches!(v, Json::Object(_))) {
        return records(items);
    }
    if items.iter().all(Json::is_scalar) {
        return Ok(Parsed::List(items.iter().map(Json::to_value).collect()));
    }
    Err(invalid(format!(
        "{key} must be a list of row objects or of values; tensors (lists of lists) are not supported"
    )))
}

/// `inputs`: a columnar object (`{"a": [1, 2], "b": [3, 4]}`, or one row
/// of scalars), or rows/values as for `instances`.
fn inputs(value: &Json) -> Result<Parsed, Error> {
    let Json::Object(entries) = value else {
        return rows_or_list(value, "inputs");
    };
    if entries.iter().all(|(_, v)| !matches!(v, Json::Array(_))) {
        return records(std::slice::from_ref(value));
    }
    let mut rows = None;
    let mut columns = Vec::with_capacity(entries.len());
    for (name, values) in entries {
        let Json::Array(values) = values else {
            return Err(invalid(format!(
                "inputs.{name} must be a list like the other columns, found {values}"
            )));
        };
        let expected = *rows.get_or_insert(values.len());
        if expected != values.len() {
            return Err(invalid(format!(
                "inputs.{name} has {} values, other columns have {expected}",
                values.len()
            )));
        }
        columns.push((name.clone(), values.iter().map(Json::to_value).collect()));
    }
    Ok(Parsed::Json {
        columns,
        rows: rows.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_document_order() {
        let json: Json = serde_json::from_str(r#"{"b": 1, "a": [true, null], "b": 2}"#).unwrap();
        let Json::Object(entries) = &json else {
            panic!("{json}")
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(json.get("b").unwrap().to_value(), 2);
        assert!(json.get("a").is_some_and(|a| !a.is_scalar()));
        assert_eq!(Json::from(&json.to_value()).to_value(), json.to_value());
    }

    #[test]
    fn large_objects_keep_document_order() {
        // Past SCANNED_KEYS, repeated keys are found through an index.
        let keys: Vec<String> = (0..100).map(|i| format!(r#""k{}": {i}"#, 99 - i)).collect();
        let text = format!("{{{}, \"k99\": -1, \"k0\": -2}}", keys.join(", "));
        let json: Json = serde_json::from_str(&text).unwrap();
        let Json::Object(entries) = &json else {
            panic!("{json}")
        };
        assert_eq!(entries.len(), 100);
        assert_eq!(entries[0].0, "k99");
        assert_eq!(entries[0].1.to_value(), -1);
        assert_eq!(entries[99].0, "k0");
        assert_eq!(entries[99].1.to_value(), -2);
        assert_eq!(entries[50].1.to_value(), 50);
    }
}
