//! Credentials from `credentials.yml`, kept out of logs, errors and `Debug`.

use std::collections::BTreeMap;
use std::fmt;

/// One named entry of `credentials.yml`: a map of settings (keys, secrets,
/// endpoints). `Debug` shows the setting names only.
#[derive(Clone, Default, PartialEq)]
pub struct Credentials {
    values: BTreeMap<String, serde_json::Value>,
}

impl Credentials {
    /// Credentials from a YAML/JSON mapping.
    pub fn new(values: BTreeMap<String, serde_json::Value>) -> Self {
        Credentials { values }
    }

    /// A setting's value.
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.values.get(key)
    }

    /// All settings, flattened to `(name, string value)` pairs: nested maps
    /// (fsspec's `client_kwargs`) contribute their entries, scalars are
    /// rendered as strings.
    pub fn flattened(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in &self.values {
            match v {
                serde_json::Value::Object(inner) => {
                    for (ik, iv) in inner {
                        if let Some(s) = scalar(iv) {
                            out.push((ik.clone(), s));
                        }
                    }
                }
                other => {
                    if let Some(s) = scalar(other) {
                        out.push((k.clone(), s));
                    }
                }
            }
        }
        out
    }

    /// The first setting [`flattened`](Self::flattened) would have to drop
    /// because it is a list, with what it is: dropping it would leave the
    /// store to look for the setting elsewhere (the environment, a cloud
    /// metadata service). Mappings nested deeper (fsspec's `config_kwargs`)
    /// are dropped as before: they hold no setting object_store reads.
    pub fn unusable_setting(&self) -> Option<(String, &'static str)> {
        use serde_json::Value;
        let what = |v: &Value| match v {
            Value::Array(_) => Some("a list"),
            _ => None,
        };
        for (k, v) in &self.values {
            match v {
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        if let Some(kind) = what(iv) {
                            return Some((format!("{k}.{ik}"), kind));
                        }
                    }
                }
                other => {
                    if let Some(kind) = what(other) {
                        return Some((k.clone(), kind));
                    }
                }
            }
        }
        None
    }

    /// The settings with every value replaced by `***`, for display.
    pub fn masked(&self) -> serde_json::Value {
        fn mask(v: &serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Object(m) => {
                    serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), mask(v))).collect())
                }
                _ => serde_json::Value::String("***".to_owned()),
            }
        }
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), mask(v)))
                .collect(),
        )
    }
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.keys().map(|k| (k, "***")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_masked_hide_values() {
        let c = Credentials::new(BTreeMap::from([
            ("secret".to_owned(), serde_json::json!("hunter2")),
            (
                "client_kwargs".to_owned(),
                serde_json::json!({"endpoint_url": "http://x"}),
            ),
        ]));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2") && dbg.contains("secret"));
        assert!(!c.masked().to_string().contains("hunter2"));
        let flat = c.flattened();
        assert!(flat.contains(&("endpoint_url".to_owned(), "http://x".to_owned())));
        assert!(flat.contains(&("secret".to_owned(), "hunter2".to_owned())));
    }
}
