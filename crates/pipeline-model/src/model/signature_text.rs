//! The `signature` section of `MLmodel`: the JSON strings MLflow stores,
//! written from inferred specs or passed through from an explicit signature.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::pyjson;
use super::signature::{ColSpec, ParamSpec};
use crate::error::Error;

/// MLflow's key order in a column spec and in a parameter spec; other keys follow.
const COLUMN_KEYS: &[&str] = &[
    "type",
    "items",
    "properties",
    "tensor-spec",
    "name",
    "required",
];
const PARAM_KEYS: &[&str] = &["name", "default", "shape", "type", "items", "properties"];

/// A spec given as a JSON value, written with its keys in MLflow's order
/// (a `serde_json` map has lost the order it was written in).
struct Ordered<'a>(&'a Value, &'a [&'a str]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for key in self.1.iter().filter(|k| map.contains_key(**k)) {
            out.serialize_entry(key, &map[*key])?;
        }
        for (key, value) in map.iter().filter(|(k, _)| !self.1.contains(&k.as_str())) {
            out.serialize_entry(key, value)?;
        }
        out.end()
    }
}

/// The `signature` section of an `MLmodel` file: JSON strings, or null.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignatureText {
    /// The input columns.
    #[serde(default)]
    pub inputs: Option<String>,
    /// The outputs: inferred, as MLflow's `log_model` does, from what the
    /// inference pipeline returns for the input example.
    #[serde(default)]
    pub outputs: Option<String>,
    /// The parameters.
    #[serde(default)]
    pub params: Option<String>,
}

impl SignatureText {
    /// The strings MLflow would write for these inputs and parameters.
    pub fn new(inputs: Option<&[ColSpec]>, params: &[ParamSpec]) -> Self {
        SignatureText {
            inputs: inputs.map(pyjson::dumps),
            outputs: None,
            params: (!params.is_empty()).then(|| pyjson::dumps(&params)),
        }
    }

    /// An explicit signature, `{inputs, outputs, params}` with each either
    /// MLflow's JSON string or the JSON value itself.
    pub fn from_explicit(value: &Value) -> Result<Self, Error> {
        let Value::Object(map) = value else {
            return Err(Error::InvalidSignature(format!(
                "an explicit signature must be a mapping with inputs, outputs and params, found {value}"
            )));
        };
        if let Some(key) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "inputs" | "outputs" | "params"))
        {
            return Err(Error::InvalidSignature(format!(
                "unknown key '{key}' (expected inputs, outputs, params)"
            )));
        }
        let field = |key: &str| -> Result<Option<String>, Error> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                    Ok(Value::Array(_)) => Ok(Some(text.clone())),
                    _ => Err(Error::InvalidSignature(format!(
                        "'{key}' must be a JSON list of specs"
                    ))),
                },
                Some(Value::Array(specs)) => {
                    let order = if key == "params" {
                        PARAM_KEYS
                    } else {
                        COLUMN_KEYS
                    };
                    let specs: Vec<Ordered<'_>> =
                        specs.iter().map(|spec| Ordered(spec, order)).collect();
                    Ok(Some(pyjson::dumps(&specs)))
                }
                Some(other) => Err(Error::InvalidSignature(format!(
                    "'{key}' must be a list of specs or its JSON text, found {other}"
                ))),
            }
        };
        Ok(SignatureText {
            inputs: field("inputs")?,
            outputs: field("outputs")?,
            params: field("params")?,
        })
    }
}
