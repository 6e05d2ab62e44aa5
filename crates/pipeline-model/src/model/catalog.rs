//! A model's catalog: which dataset types it may use and which files they
//! may read.
//!
//! The catalog comes from the model directory, so it is untrusted. It is
//! built from a fixed set of dataset types — tandem's own file datasets
//! and `MemoryDataset` ([`model_registry`]) — never from the loading
//! application's registry, whose types (a project's own, the `mlflow.*`
//! ones) may reach the network or files elsewhere. Every value that names
//! a file is checked to stay inside the model, and no value may be a URL.

use std::path::Path;

use serde_json::{Map, Value};
use tandem_catalog::DatasetRegistry;

use super::{inside, invalid_model};
use crate::error::Error;

/// The dataset types a model's catalog may use: `MemoryDataset` and the
/// file datasets tandem ships (`ParquetDataset`, `CSVDataset`,
/// `JSONDataset`, `TextDataset`, `BytesDataset`, `SerdeDataset`), under
/// their own and Kedro's names.
pub fn model_registry() -> DatasetRegistry {
    DatasetRegistry::with_builtins()
}

/// Keys whose value is a file, wherever they appear in an entry.
fn is_path_key(key: &str) -> bool {
    matches!(key, "filepath" | "path") || key.ends_with("_path") || key.ends_with("_dir")
}

/// `scheme://...`: a value the catalog could take for a remote store.
fn is_url(value: &str) -> bool {
    value.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Checks every entry of the catalog of the model in `dir` (as read from
/// `file`): a mapping, of a type in [`model_registry`], without
/// credentials, every path-like value inside the model (and replaced by the
/// resolved path, so that the file checked is the file opened), no URL.
pub(crate) fn check_catalog(
    dir: &Path,
    file: &Path,
    catalog: &mut Map<String, Value>,
) -> Result<(), Error> {
    let registry = model_registry();
    for (name, entry) in catalog.iter_mut() {
        let Value::Object(settings) = entry else {
            return Err(invalid_model(
                file,
                format!("entry '{name}' is not a mapping"),
            ));
        };
        let type_name = match settings.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => {
                return Err(invalid_model(
                    file,
                    format!("entry '{name}' has no dataset type"),
                ));
            }
        };
        if !registry.contains(&type_name) {
            let allowed: Vec<&str> = registry.type_names().filter(|t| !t.contains('.')).collect();
            return Err(invalid_model(
                file,
                format!(
                    "dataset '{name}' is of type '{type_name}', which a model may not use: a \
                     model reads only its own files, with tandem's dataset types ({})",
                    allowed.join(", ")
                ),
            ));
        }
        if settings.contains_key("credentials") {
            return Err(invalid_model(
                file,
                format!("dataset '{name}' has credentials; a model reads only its own files"),
            ));
        }
        for (key, value) in settings.iter_mut() {
            if key != "type" {
                check_value(dir, file, name, key, value, is_path_key(key))?;
            }
        }
    }
    Ok(())
}

/// Walks one setting of dataset `name`; `path` says whether `key` (or an
/// enclosing key) names a file.
fn check_value(
    dir: &Path,
    file: &Path,
    name: &str,
    key: &str,
    value: &mut Value,
    path: bool,
) -> Result<(), Error> {
    match value {
        Value::String(text) if path => {
            let resolved = inside(dir, text).map_err(|_| {
                invalid_model(
                    file,
                    format!(
                        "dataset '{name}' reads '{text}' ({key}): a model's files must be \
                         relative paths inside it"
                    ),
                )
            })?;
            *text = resolved.display().to_string();
            Ok(())
        }
        Value::String(text) if is_url(text) => Err(invalid_model(
            file,
            format!(
                "dataset '{name}': {key} is the URL '{text}'; a model reads only its own files"
            ),
        )),
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| check_value(dir, file, name, key, item, path)),
        Value::Object(map) => map.iter_mut().try_for_each(|(inner, item)| {
            check_value(dir, file, name, inner, item, path || is_path_key(inner))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) if path => Err(invalid_model(
            file,
            format!(
                "dataset '{name}': {key} must be a relative path inside the model, found {value}"
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_and_urls_are_recognised() {
        for key in ["filepath", "path", "model_path", "cache_dir"] {
            assert!(is_path_key(key), "{key}");
        }
        for key in ["load_args", "paths", "directory", "columns"] {
            assert!(!is_path_key(key), "{key}");
        }
        for url in ["s3://b/k", "http://127.0.0.1/x", "memory://x", "gs+x://y"] {
            assert!(is_url(url), "{url}");
        }
        for text in ["a,b", "://x", "C:/x", "1://x", "string", "%Y://"] {
            assert!(!is_url(text), "{text}");
        }
    }
}
