//! `--params`, shared by `run`, the catalog commands and `mlflow runs
//! create`: Kedro's dot-list, parsed with the arguments so that a malformed
//! item is a usage error (exit 2), as in Kedro.

use serde_json::{Map, Value};
use tandem_catalog::Parameters;

/// One `--params` occurrence.
pub(super) fn parse_params(value: &str) -> Result<Map<String, Value>, String> {
    Parameters::parse_overrides(value).map_err(|e| e.to_string())
}

/// Every `--params` occurrence merged, later ones winning.
pub(super) fn merged(occurrences: &[Map<String, Value>]) -> Map<String, Value> {
    occurrences
        .iter()
        .fold(Parameters::default(), |merged, one| {
            merged.with_overrides(one)
        })
        .tree()
        .clone()
}
