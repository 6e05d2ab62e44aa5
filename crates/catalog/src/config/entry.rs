//! One catalog entry's settings → the [`DatasetConfig`] its constructor gets.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::credentials::Credentials;
use crate::error::Error;
use crate::registry::DatasetConfig;
use crate::versioning::Version;

/// Keys the catalog interprets itself; the rest go to the dataset as options.
const RESERVED: &[&str] = &["type", "credentials", "versioned", "metadata"];

const UNDERSCORE_HINT: &str =
    "if this entry only holds shared settings (for YAML anchors), start its name with '_'";

/// What every entry of one catalog resolves against. No `Debug`: it holds
/// credentials in the clear.
pub(crate) struct EntryContext {
    /// `credentials.yml`, top-level key → settings.
    pub(crate) credentials: Map<String, Value>,
    /// Pinned load versions, by dataset name.
    pub(crate) load_versions: BTreeMap<String, String>,
    /// The catalog-wide save version.
    pub(crate) save_version: String,
    /// Whether versioned saves may replace an existing `save_version`.
    pub(crate) replace_saved_versions: bool,
    /// Where relative file paths are rooted.
    pub(crate) project_root: PathBuf,
}

impl EntryContext {
    /// The configuration the dataset called `name` is built from.
    pub(crate) fn dataset_config(&self, name: &str, entry: &Value) -> Result<DatasetConfig, Error> {
        let Value::Object(map) = entry else {
            return Err(Error::config(
                name,
                format!(
                    "not a valid dataset configuration (expected a mapping with a 'type'); {UNDERSCORE_HINT}"
                ),
            ));
        };
        let type_name = match map.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(other) => {
                return Err(Error::config(
                    name,
                    format!("'type' must be a string, found {other}"),
                ));
            }
            None => {
                return Err(Error::config(
                    name,
                    format!("'type' is missing; {UNDERSCORE_HINT}"),
                ));
            }
        };
        let credentials = match map.get("credentials") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => Some(self.named_credentials(name, key)?),
            Some(Value::Object(inline)) => Some(credentials_from(inline)),
            Some(other) => {
                return Err(Error::config(
                    name,
                    format!("'credentials' must name an entry of credentials.yml, found {other}"),
                ));
            }
        };
        let version = match map.get("versioned") {
            None | Some(Value::Null | Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(Version {
                load: self.load_versions.get(name).cloned(),
                save: Some(self.save_version.clone()),
                overwrite: self.replace_saved_versions,
            }),
            Some(other) => {
                return Err(Error::config(
                    name,
                    format!("'versioned' must be true or false, found {other}"),
                ));
            }
        };
        let options = map
            .iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(DatasetConfig {
            name: name.to_owned(),
            type_name,
            options,
            credentials,
            version,
            metadata: map.get("metadata").cloned(),
            project_root: self.project_root.clone(),
        })
    }

    fn named_credentials(&self, entry: &str, key: &str) -> Result<Credentials, Error> {
        match self.credentials.get(key) {
            Some(Value::Object(settings)) => Ok(credentials_from(settings)),
            Some(_) => Err(Error::config(
                entry,
                format!("credentials '{key}' must be a mapping of settings in credentials.yml"),
            )),
            None => Err(Error::MissingCredentials {
                entry: entry.to_owned(),
                key: key.to_owned(),
            }),
        }
    }
}

fn credentials_from(settings: &Map<String, Value>) -> Credentials {
    Credentials::new(
        settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// An entry's resolved configuration for display: credentials masked.
pub(crate) fn describe_config(config: &DatasetConfig) -> Value {
    let mut out = Map::new();
    out.insert("type".to_owned(), config.type_name.clone().into());
    out.extend(config.options.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(credentials) = &config.credentials {
        out.insert("credentials".to_owned(), credentials.masked());
    }
    if let Some(version) = &config.version {
        out.insert("versioned".to_owned(), true.into());
        out.insert(
            "version".to_owned(),
            serde_json::json!({"load": version.load, "save": version.save}),
        );
    }
    if let Some(metadata) = &config.metadata {
        out.insert("metadata".to_owned(), metadata.clone());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> EntryContext {
        let creds = json!({"s3": {"key": "AKIA", "secret": "hunter2"}, "flat": "oops"});
        EntryContext {
            credentials: creds.as_object().unwrap().clone(),
            load_versions: BTreeMap::from([("cars".to_owned(), "v1".to_owned())]),
            save_version: "v2".to_owned(),
            replace_saved_versions: false,
            project_root: PathBuf::from("/project"),
        }
    }

    #[test]
    fn splits_reserved_keys_from_options() {
        let entry = json!({"type": "CSVDataset", "filepath": "x.csv", "credentials": "s3",
                           "versioned": true, "metadata": {"owner": "me"}, "load_args": {"sep": ";"}});
        let config = context().dataset_config("cars", &entry).unwrap();
        assert_eq!(config.type_name, "CSVDataset");
        assert_eq!(
            Value::Object(config.options.clone()),
            json!({"filepath": "x.csv", "load_args": {"sep": ";"}})
        );
        assert_eq!(
            config.credentials.as_ref().unwrap().get("secret"),
            Some(&json!("hunter2"))
        );
        assert_eq!(
            config.version,
            Some(Version {
                load: Some("v1".into()),
                save: Some("v2".into()),
                ..Default::default()
            })
        );
        assert_eq!(config.metadata, Some(json!({"owner": "me"})));
        assert_eq!(config.project_root, PathBuf::from("/project"));

        let shown = describe_config(&config).to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("AKIA"),
            "{shown}"
        );
        assert!(shown.contains("\"secret\":\"***\""), "{shown}");
    }

    #[test]
    fn malformed_entries_name_the_entry() {
        let ctx = context();
        let cases = [
            (
                json!("just a string"),
                "invalid_config",
                "start its name with '_'",
            ),
            (
                json!({"filepath": "x"}),
                "invalid_config",
                "'type' is missing",
            ),
            (
                json!({"type": 3}),
                "invalid_config",
                "'type' must be a string",
            ),
            (
                json!({"type": "T", "versioned": "yes"}),
                "invalid_config",
                "'versioned'",
            ),
            (
                json!({"type": "T", "credentials": "nope"}),
                "missing_credentials",
                "nope",
            ),
            (
                json!({"type": "T", "credentials": "flat"}),
                "invalid_config",
                "mapping",
            ),
            (
                json!({"type": "T", "credentials": 3}),
                "invalid_config",
                "credentials",
            ),
        ];
        for (entry, kind, text) in cases {
            let err = ctx.dataset_config("bikes", &entry).unwrap_err();
            assert_eq!(err.kind(), kind, "{entry}");
            let msg = err.to_string();
            assert!(msg.contains("bikes") && msg.contains(text), "{msg}");
        }
    }

    #[test]
    fn inline_credentials_and_unversioned_entries() {
        let entry = json!({"type": "T", "credentials": {"token": "t0k"}, "versioned": false});
        let config = context().dataset_config("cars", &entry).unwrap();
        assert_eq!(
            config.credentials.unwrap().get("token"),
            Some(&json!("t0k"))
        );
        assert_eq!(config.version, None);
    }
}
