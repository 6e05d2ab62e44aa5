//! Catalog-entry options the plot datasets share, parsed with the
//! catalog's conventions: unknown keys refused, `load_args`/`save_args`
//! absent or `null` meaning none, errors naming the entry and the key.

use serde::de::DeserializeOwned;
use tandem_catalog::{DatasetConfig, Error};
use tandem_pipeline_core::Data;

/// `load_args`/`save_args` deserialized on their own, so an error says
/// which mapping the bad key is in.
pub(crate) fn args<T: DeserializeOwned + Default>(
    config: &DatasetConfig,
    key: &str,
    value: Option<serde_json::Value>,
) -> Result<T, Error> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(value) => {
            T::deserialize(value).map_err(|e| Error::config(&config.name, format!("{key}: {e}")))
        }
    }
}

/// tandem has no fsspec: storage settings belong in credentials.yml, and
/// a non-empty `fs_args` would otherwise be ignored silently.
pub(crate) fn reject_fs_args(
    config: &DatasetConfig,
    fs_args: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<(), Error> {
    match fs_args {
        Some(args) if !args.is_empty() => Err(Error::config(
            &config.name,
            "fs_args are not supported: tandem configures storage through the entry's \
             credentials in credentials.yml",
        )),
        _ => Ok(()),
    }
}

/// The error for saving a value of the wrong type.
pub(crate) fn type_mismatch(expected: &'static str, data: &Data, dataset: &str) -> Error {
    Error::Value(tandem_pipeline_core::Error::TypeMismatch {
        expected,
        actual: data.type_name(),
        context: format!(" when saving to a {dataset}"),
    })
}

/// `describe` details: each args mapping that is not empty.
pub(crate) fn details(
    args: &[(&str, serde_json::Value)],
) -> serde_json::Map<String, serde_json::Value> {
    args.iter()
        .filter(|(_, v)| v.as_object().is_some_and(|m| !m.is_empty()))
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}
