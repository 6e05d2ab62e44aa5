//! One environment's files of one kind → one resolved layer, in Kedro's
//! order: duplicate check, merge, `--params` (parameters only), resolve,
//! hidden keys dropped. Credentials resolve file by file, before merging.

use std::path::Path;

use serde_json::{Map, Value};

use super::interpolate::{Failure, Interpolator};
use super::yaml::{self, ConfigFile};
use super::{ConfigKind, Origin, discover, general};
use crate::error::Error;

/// The file Kedro reads globals from, in base and in the environment.
pub(crate) const GLOBALS_FILE: &str = "globals.yml";

/// One environment's resolved settings of one kind.
pub(crate) struct Layer {
    /// Top-level keys and resolved values, hidden keys dropped where Kedro drops them.
    pub(crate) values: Map<String, Value>,
    /// Where each kept top-level key is written (the first file for a
    /// parameters key several files share).
    pub(crate) origins: Vec<(String, Origin)>,
    /// Whether the environment has any file of the kind.
    pub(crate) found: bool,
}

/// `globals.yml` of one environment, resolved within itself; `_` keys dropped.
pub(crate) fn read_globals(dir: &Path, interpolator: &Interpolator) -> Result<Layer, Error> {
    let path = dir.join(GLOBALS_FILE);
    if !path.is_file() {
        return Ok(Layer {
            values: Map::new(),
            origins: Vec::new(),
            found: false,
        });
    }
    let files = vec![yaml::read_config_file(&path)?];
    let values = resolve_merged(&files, &files[0].values, interpolator)?;
    Ok(finish(&files, values, true))
}

/// One environment's files of `kind` under `dir`.
pub(crate) fn read_layer(
    kind: ConfigKind,
    dir: &Path,
    interpolator: &Interpolator,
    runtime_params: &Map<String, Value>,
) -> Result<Layer, Error> {
    let files = discover::config_files(dir, kind.prefix())?
        .iter()
        .map(|path| yaml::read_config_file(path))
        .collect::<Result<Vec<_>, _>>()?;
    check_duplicates(kind, &files)?;
    if files.is_empty() {
        // No files: no layer, and no runtime parameters merged into it.
        return Ok(Layer {
            values: Map::new(),
            origins: Vec::new(),
            found: false,
        });
    }
    let values = match kind {
        ConfigKind::Credentials => {
            // Per file, so that oc.env values are read before any merge and
            // no credentials file can reach into another.
            let with_env = interpolator.clone().with_env_vars(true);
            let mut merged = Map::new();
            for file in &files {
                let one = std::slice::from_ref(file);
                let resolved = resolve_merged(one, &file.values, &with_env)?;
                deep_merge(&mut merged, &resolved);
            }
            merged
        }
        ConfigKind::Catalog | ConfigKind::Parameters => {
            let mut merged = Map::new();
            for file in &files {
                deep_merge(&mut merged, &file.values);
            }
            if kind == ConfigKind::Parameters {
                deep_merge(&mut merged, runtime_params);
            }
            resolve_merged(&files, &merged, interpolator)?
        }
    };
    Ok(finish(&files, values, kind != ConfigKind::Parameters))
}

/// Resolves `merged` (built from `files`); an error names the file the
/// failing value is written in.
fn resolve_merged(
    files: &[ConfigFile],
    merged: &Map<String, Value>,
    interpolator: &Interpolator,
) -> Result<Map<String, Value>, Error> {
    interpolator
        .resolve_tree(merged)
        .map_err(|failure| locate_failure(files, &failure))
}

fn locate_failure(files: &[ConfigFile], failure: &Failure) -> Error {
    let depth_in = |file: &ConfigFile| {
        let mut node: Option<&Value> = None;
        let mut depth = 0;
        for (i, segment) in failure.path.iter().enumerate() {
            let next = match (i, node) {
                (0, _) => file.values.get(segment),
                (_, Some(Value::Object(map))) => map.get(segment),
                (_, Some(Value::Array(items))) => {
                    segment.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                _ => None,
            };
            match next {
                Some(found) => {
                    node = Some(found);
                    depth += 1;
                }
                None => break,
            }
        }
        depth
    };
    let best = files
        .iter()
        .map(|f| (depth_in(f), f))
        .filter(|(depth, _)| *depth > 0)
        .max_by_key(|(depth, _)| *depth)
        .map(|(_, f)| f);
    let line = best.and_then(|file| {
        let top = failure.path.first()?;
        file.lines
            .iter()
            .find(|(k, _)| k == top)
            .and_then(|(_, l)| *l)
    });
    Error::InvalidConfig {
        file: best.map(|f| f.display.clone()),
        line,
        entry: Some(failure.full_key()),
        message: failure.message.clone(),
    }
}

/// Drops top-level `_` keys when asked and records where kept keys are written.
fn finish(files: &[ConfigFile], mut values: Map<String, Value>, drop_hidden: bool) -> Layer {
    if drop_hidden {
        values.retain(|key, _| !key.starts_with('_'));
    }
    let mut origins: Vec<(String, Origin)> = Vec::new();
    for file in files {
        for (key, line) in &file.lines {
            if values.contains_key(key) && !origins.iter().any(|(k, _)| k == key) {
                let origin = Origin {
                    file: file.display.clone(),
                    line: *line,
                };
                origins.push((key.clone(), origin));
            }
        }
    }
    Layer {
        values,
        origins,
        found: !files.is_empty(),
    }
}

/// OmegaConf's merge: mappings merge key by key, anything else replaces.
pub(crate) fn deep_merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                deep_merge(existing, incoming)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Kedro's rule within one environment: a key may be defined by one file
/// only. Parameters compare dotted leaf paths (so `m: {a: 1}` and `m: {b: 2}`
/// merge), other kinds top-level keys; keys starting with `_` are exempt.
/// Every offending pair of files is reported.
fn check_duplicates(kind: ConfigKind, files: &[ConfigFile]) -> Result<(), Error> {
    let keys: Vec<Vec<String>> = files
        .iter()
        .map(|file| {
            let mut keys = Vec::new();
            if kind == ConfigKind::Parameters {
                leaf_paths("", &file.values, &mut keys);
            } else {
                keys.extend(file.values.keys().cloned());
            }
            keys.retain(|k| !k.starts_with('_'));
            keys.sort_unstable();
            keys
        })
        .collect();
    let mut problems = Vec::new();
    for (i, first) in files.iter().enumerate() {
        for (j, second) in files.iter().enumerate().skip(i + 1) {
            let shared: Vec<&str> = keys[i]
                .iter()
                .filter(|k| keys[j].binary_search(k).is_ok())
                .map(String::as_str)
                .collect();
            if shared.is_empty() {
                continue;
            }
            let mut listed = shared.join(", ");
            if listed.chars().count() > 100 {
                listed = format!("{}...", listed.chars().take(100).collect::<String>());
            }
            problems.push(format!(
                "Duplicate keys found in {} and {}: {listed}",
                first.display, second.display
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(general(problems.join("\n")))
    }
}

/// Every dotted path to a value that is not a mapping (Kedro's `_get_all_keys`).
fn leaf_paths(prefix: &str, map: &Map<String, Value>, out: &mut Vec<String>) {
    for (key, value) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) => leaf_paths(&path, inner, out),
            _ => out.push(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(name: &str, values: Value) -> ConfigFile {
        let values = values.as_object().cloned().unwrap_or_default();
        let lines = values.keys().map(|k| (k.clone(), Some(1))).collect();
        ConfigFile {
            display: name.to_owned(),
            values,
            lines,
        }
    }

    #[test]
    fn parameters_compare_leaf_paths_and_underscore_paths_are_exempt() {
        let files = [
            file(
                "a.yml",
                json!({"m": {"a": 1, "_x": 1}, "_h": {"a": 1}, "e": {}}),
            ),
            file(
                "b.yml",
                json!({"m": {"b": 2, "_x": 2}, "_h": {"a": 2}, "e": {}}),
            ),
        ];
        let err = check_duplicates(ConfigKind::Parameters, &files).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Duplicate keys found in a.yml and b.yml: m._x"
        );
        assert!(check_duplicates(ConfigKind::Parameters, &files[..1]).is_ok());
        let err = check_duplicates(ConfigKind::Catalog, &files).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Duplicate keys found in a.yml and b.yml: e, m"
        );
    }

    #[test]
    fn long_key_lists_are_cut_at_100_characters_and_every_pair_is_reported() {
        let many: Map<String, Value> = (0..40).map(|i| (format!("key{i:02}"), json!(1))).collect();
        let files = [
            file("a.yml", Value::Object(many.clone())),
            file("b.yml", Value::Object(many.clone())),
            file("c.yml", json!({"key00": 1})),
        ];
        let shown = check_duplicates(ConfigKind::Catalog, &files)
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3, "{shown}");
        let listed = lines[0]
            .strip_prefix("Duplicate keys found in a.yml and b.yml: ")
            .unwrap();
        assert_eq!(listed.chars().count(), 103);
        assert!(listed.ends_with("..."));
        assert_eq!(lines[2], "Duplicate keys found in b.yml and c.yml: key00");
    }

    #[test]
    fn failures_point_at_the_file_holding_the_deepest_part_of_the_path() {
        let files = [
            file("a.yml", json!({"m": {"a": 1}})),
            file("b.yml", json!({"m": {"b": {"c": "${x}"}}})),
        ];
        let failure = Interpolator::new()
            .resolve_tree(&{
                let mut merged = Map::new();
                for f in &files {
                    deep_merge(&mut merged, &f.values);
                }
                merged
            })
            .unwrap_err();
        let Error::InvalidConfig {
            file, line, entry, ..
        } = locate_failure(&files, &failure)
        else {
            panic!()
        };
        assert_eq!(
            (file.as_deref(), line, entry.as_deref()),
            (Some("b.yml"), Some(1), Some("m.b.c"))
        );
    }
}
