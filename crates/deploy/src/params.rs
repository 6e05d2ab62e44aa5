//! The run parameters a deployment exposes: the scalar leaves of the
//! project's parameters that `run --params key=value` carries back
//! unchanged.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tandem_catalog::Parameters;

/// Dotted parameter keys and their default values, sorted by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeployParams(BTreeMap<String, Value>);

impl DeployParams {
    /// Every scalar leaf of `parameters` (nested mappings are walked, keys
    /// joined with `.`) that survives `--params`: a key made of
    /// `[A-Za-z0-9_-]` segments and a value that `--params` parses back to
    /// itself (no comma, no surrounding spaces, a string that does not read
    /// as a number or boolean). Lists, nulls and the others keep the value
    /// the task's own configuration gives them.
    pub fn from_parameters(parameters: &Map<String, Value>) -> Self {
        let mut out = BTreeMap::new();
        walk(parameters, &mut String::new(), &mut out);
        DeployParams(out)
    }

    /// The parameters, by dotted key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `key=value,...` with the defaults, as `run --params` reads it.
    pub fn defaults_arg(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={}", as_override(v)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// How a value is written after `key=`: strings as they are, the rest as JSON.
pub(crate) fn as_override(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn walk(map: &Map<String, Value>, prefix: &mut String, out: &mut BTreeMap<String, Value>) {
    for (key, value) in map {
        let segment_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !segment_ok {
            continue;
        }
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(key);
        match value {
            Value::Object(inner) => walk(inner, prefix, out),
            Value::Bool(_) | Value::Number(_) | Value::String(_) if round_trips(prefix, value) => {
                out.insert(prefix.clone(), value.clone());
            }
            _ => {}
        }
        prefix.truncate(len);
    }
}

fn round_trips(key: &str, value: &Value) -> bool {
    let Ok(parsed) = Parameters::parse_overrides(&format!("{key}={}", as_override(value))) else {
        return false;
    };
    let mut at = &Value::Object(parsed);
    for segment in key.split('.') {
        match at.get(segment) {
            Some(next) => at = next,
            None => return false,
        }
    }
    at == value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalar_leaves_that_round_trip_are_exposed() {
        let parameters = json!({
            "seed": 42,
            "model": {"alpha": 1.0, "name": "lr", "layers": [1, 2]},
            "note": "a,b",
            "quoted_number": "1",
            "nothing": null,
            "flag": true,
            "bad key": 1,
        });
        let params = DeployParams::from_parameters(parameters.as_object().unwrap());
        let keys: Vec<&str> = params.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["flag", "model.alpha", "model.name", "seed"]);
        assert_eq!(
            params.defaults_arg(),
            "flag=true,model.alpha=1.0,model.name=lr,seed=42"
        );
    }
}
