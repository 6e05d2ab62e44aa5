//! Parameters: `parameters.yml` plus `--params` overrides, exposed to nodes as
//! the `parameters` and `params:<path>` datasets Kedro registers.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use tandem_pipeline_core::Data;

use crate::config::deep_merge;
use crate::dataset::{Dataset, DatasetDescription};
use crate::error::Error;

/// The project's parameters tree.
///
/// ```
/// use serde_json::json;
/// use tandem_catalog::Parameters;
///
/// let yml = json!({"model": {"alpha": 0.1, "layers": [8, 4]}, "seed": 42});
/// let overrides = Parameters::parse_overrides("model.alpha=0.5,run.name=x")?;
/// let params = Parameters::new(yml.as_object().unwrap().clone()).with_overrides(&overrides);
/// assert_eq!(params.get("params:model.alpha"), Some(json!(0.5)));
/// assert_eq!(params.get("params:run"), Some(json!({"name": "x"})));
/// let names: Vec<String> = params.entries().into_iter().map(|(n, _)| n).collect();
/// // Kedro's order: the tree's, depth first, with new override keys last.
/// assert_eq!(names, ["parameters", "params:model", "params:model.alpha",
///                    "params:model.layers", "params:seed", "params:run", "params:run.name"]);
/// # Ok::<(), tandem_catalog::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parameters {
    tree: Map<String, Value>,
}

impl Parameters {
    /// Parameters from the merged `parameters*.yml` tree.
    pub fn new(tree: Map<String, Value>) -> Self {
        Parameters { tree }
    }

    /// Merges runtime overrides over the tree: nested maps merge key by key,
    /// anything else replaces (`OmegaConf.merge`, what Kedro's context does
    /// with the loader's parameters). Keys the files do not define are added.
    ///
    /// This is the last step only: Kedro first merges `--params` into each
    /// environment's parameters files before resolving them and laying the
    /// environment over base by top-level key, which
    /// [`ProjectConfig::load_with`](crate::ProjectConfig::load_with) does. On
    /// a tree loaded that way this merge changes nothing.
    pub fn with_overrides(mut self, overrides: &Map<String, Value>) -> Self {
        deep_merge(&mut self.tree, overrides);
        self
    }

    /// The whole tree (the `parameters` dataset).
    pub fn tree(&self) -> &Map<String, Value> {
        &self.tree
    }

    /// The value of a parameter dataset: `parameters`, or `params:a.b.c`
    /// (the first key path, depth-first, that spells `a.b.c`).
    pub fn get(&self, dataset: &str) -> Option<Value> {
        if dataset == "parameters" {
            return Some(Value::Object(self.tree.clone()));
        }
        let path = dataset.strip_prefix("params:")?;
        self.entries_ref()
            .into_iter()
            .find(|(name, _)| name == path)
            .map(|(_, v)| v.clone())
    }

    /// Every parameter dataset, `parameters` first, then `params:<path>` for
    /// each key at every depth in depth-first order (Kedro registers both
    /// `params:a` and `params:a.b`).
    pub fn entries(&self) -> Vec<(String, Value)> {
        let mut out = vec![("parameters".to_owned(), Value::Object(self.tree.clone()))];
        out.extend(
            self.entries_ref()
                .into_iter()
                .map(|(path, v)| (format!("params:{path}"), v.clone())),
        );
        out
    }

    /// Every parameter dataset as [`entries`](Self::entries) names them,
    /// each reading its value from one shared copy of the tree when first
    /// loaded: cloning every key's subtree up front would cost the tree's
    /// size times its depth before any node asked for one.
    pub(crate) fn datasets(&self) -> Vec<(String, Arc<dyn Dataset>)> {
        fn walk(
            prefix: &str,
            keys: &mut Vec<String>,
            map: &Map<String, Value>,
            tree: &Arc<Value>,
            out: &mut Vec<(String, Arc<dyn Dataset>)>,
        ) {
            for (key, value) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                keys.push(key.clone());
                out.push((
                    format!("params:{path}"),
                    Arc::new(ParameterDataset::new(Arc::clone(tree), keys.clone())),
                ));
                if let Value::Object(inner) = value {
                    walk(&path, keys, inner, tree, out);
                }
                keys.pop();
            }
        }
        let tree = Arc::new(Value::Object(self.tree.clone()));
        let mut out: Vec<(String, Arc<dyn Dataset>)> = vec![(
            "parameters".to_owned(),
            Arc::new(ParameterDataset::new(Arc::clone(&tree), Vec::new())),
        )];
        walk("", &mut Vec::new(), &self.tree, &tree, &mut out);
        out
    }

    /// `(dotted path, value)` for every key at every depth, depth-first.
    fn entries_ref(&self) -> Vec<(String, &Value)> {
        fn walk<'a>(prefix: &str, map: &'a Map<String, Value>, out: &mut Vec<(String, &'a Value)>) {
            for (key, value) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.push((path.clone(), value));
                if let Value::Object(inner) = value {
                    walk(&path, inner, out);
                }
            }
        }
        let mut out = Vec::new();
        walk("", &self.tree, &mut out);
        out
    }

    /// Parses `kedro run --params` syntax: `a.b=1,c=x,d=true`.
    ///
    /// Items are split on every comma (quotes do not protect one; blank
    /// items skipped), each on its first `=`; dotted keys create nested maps
    /// (`l[0]=1` is key `0` under `l`, as OmegaConf's dotlist has it); values
    /// are read as YAML (`1` → int, `0.5` → float, `true`/`yes` → bool,
    /// `null`/`~`/empty → null, `[1]` → list, anything else a string); a
    /// later item wins over an earlier one (`a.b=1,a=2` → `{a: 2}`). Errors
    /// are Kedro's messages.
    pub fn parse_overrides(spec: &str) -> Result<Map<String, Value>, Error> {
        let mut out = Map::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((key, raw)) = item.split_once('=') else {
                return Err(override_error(format!(
                    "Item `{item}` must contain a key and a value separated by `=`."
                )));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(override_error(
                    "Parameter key cannot be an empty string.".to_owned(),
                ));
            }
            let Some(segments) = dotlist_key(key) else {
                return Err(override_error(format!(
                    "Item `{item}` has an invalid key `{key}`."
                )));
            };
            let mut leaf = parse_scalar(raw);
            for segment in segments.iter().rev() {
                leaf = Value::Object(Map::from_iter([(segment.clone(), leaf)]));
            }
            if let Value::Object(nested) = leaf {
                deep_merge(&mut out, &nested);
            }
        }
        Ok(out)
    }
}

/// `a.b[0]` → `a`, `b`, `0`; `None` for an empty segment or bracket.
fn dotlist_key(key: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.find('[').map_or((part, ""), |i| part.split_at(i));
        if name.is_empty() && (rest.is_empty() || segments.is_empty()) {
            return None;
        }
        if !name.is_empty() {
            segments.push(name.to_owned());
        }
        while !rest.is_empty() {
            let inner = rest.strip_prefix('[')?;
            let (index, after) = inner.split_once(']')?;
            if index.trim().is_empty() {
                return None;
            }
            segments.push(index.trim().to_owned());
            rest = after;
        }
    }
    Some(segments)
}

fn override_error(why: String) -> Error {
    Error::InvalidConfig {
        file: None,
        line: None,
        entry: None,
        message: format!("Invalid format of `params` option: {why}"),
    }
}

/// A `--params` value read as YAML; text YAML cannot read (`[1`, `.nan`,
/// which JSON cannot hold) stays a string rather than failing the run.
fn parse_scalar(raw: &str) -> Value {
    crate::config::parse_yaml_value(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

/// A parameter dataset: a key path into the shared parameters tree. It
/// behaves as the memory dataset Kedro registers (saves replace the value,
/// nothing persists), but builds its value only when first loaded.
#[derive(Debug)]
struct ParameterDataset {
    tree: Arc<Value>,
    keys: Vec<String>,
    value: RwLock<Option<Data>>,
}

impl ParameterDataset {
    fn new(tree: Arc<Value>, keys: Vec<String>) -> ParameterDataset {
        ParameterDataset {
            tree,
            keys,
            value: RwLock::new(None),
        }
    }

    fn subtree(&self) -> Option<&Value> {
        self.keys
            .iter()
            .try_fold(self.tree.as_ref(), |value, key| value.get(key))
    }
}

impl Dataset for ParameterDataset {
    fn load(&self) -> Result<Data, Error> {
        if let Some(data) = self
            .value
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(data.clone());
        }
        let data = Data::json(self.subtree().cloned().unwrap_or(Value::Null));
        let mut slot = self.value.write().unwrap_or_else(|p| p.into_inner());
        Ok(slot.get_or_insert(data).clone())
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        *self.value.write().unwrap_or_else(|p| p.into_inner()) = Some(data);
        Ok(())
    }

    fn exists(&self) -> Result<bool, Error> {
        Ok(true)
    }

    /// Drops the built value; the tree still holds it for the next load.
    fn release(&self) {
        *self.value.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The parameter's value as configured (what `catalog describe params:x`
    /// shows), not the type it becomes in memory.
    fn describe(&self) -> DatasetDescription {
        let mut details = Map::new();
        details.insert(
            "value".to_owned(),
            self.subtree().cloned().unwrap_or(Value::Null),
        );
        DatasetDescription {
            type_name: "MemoryDataset".to_owned(),
            details,
            ..DatasetDescription::default()
        }
    }

    fn is_ephemeral(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn overrides_are_typed_like_yaml_scalars() {
        let parsed = Parameters::parse_overrides(
            "a=1, b=2.5,c=true,d=yes,e=null,f=~,g=,h=x,i=2026-01-01,j=[1,k=010,l='3',m=.nan",
        )
        .unwrap();
        assert_eq!(
            Value::Object(parsed),
            json!({"a": 1, "b": 2.5, "c": true, "d": true, "e": null, "f": null, "g": null,
                   "h": "x", "i": "2026-01-01", "j": "[1", "k": 8, "l": "3", "m": ".nan"})
        );
    }

    #[test]
    fn dotted_keys_nest_and_values_split_on_the_first_equals() {
        let parsed = Parameters::parse_overrides("a.b.c=1,a.b.d=x=y,a.e=2").unwrap();
        assert_eq!(
            Value::Object(parsed),
            json!({"a": {"b": {"c": 1, "d": "x=y"}, "e": 2}})
        );
    }

    #[test]
    fn malformed_overrides_are_rejected() {
        let cases = [
            (
                "a",
                "Item `a` must contain a key and a value separated by `=`.",
            ),
            (
                "a=1,b",
                "Item `b` must contain a key and a value separated by `=`.",
            ),
            ("=1", "Parameter key cannot be an empty string."),
            (" =1", "Parameter key cannot be an empty string."),
            ("a..b=1", "Item `a..b=1` has an invalid key `a..b`."),
            ("a.=1", "Item `a.=1` has an invalid key `a.`."),
            ("l[=1", "Item `l[=1` has an invalid key `l[`."),
        ];
        for (bad, why) in cases {
            let err = Parameters::parse_overrides(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_config", "{bad}");
            assert_eq!(
                err.to_string(),
                format!("Invalid format of `params` option: {why}")
            );
        }
        assert!(Parameters::parse_overrides(" , ,").unwrap().is_empty());
    }

    #[test]
    fn kedros_dotlist_table() {
        let cases = [
            ("l=[1]", json!({"l": [1]})),
            ("d={a: 1}", json!({"d": {"a": 1}})),
            ("l[0]=1", json!({"l": {"0": 1}})),
            ("k=1,k=2", json!({"k": 2})),
            ("a.b=1,a=2", json!({"a": 2})),
            ("a=2,a.b=1", json!({"a": {"b": 1}})),
            ("s=hello world", json!({"s": "hello world"})),
            ("q=\"5\"", json!({"q": "5"})),
            ("i=${x}", json!({"i": "${x}"})),
            ("v=1.10,e=1e3", json!({"v": 1.1, "e": 1000.0})),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                Value::Object(Parameters::parse_overrides(spec).unwrap()),
                expected,
                "{spec}"
            );
        }
    }

    #[test]
    fn overrides_merge_deeply_and_replace_scalars() {
        let params = Parameters::new(map(
            json!({"m": {"alpha": 1, "beta": 2}, "s": 1, "t": {"x": 1}}),
        ))
        .with_overrides(&Parameters::parse_overrides("m.alpha=9,s.deep=1,t=3,new=n").unwrap());
        assert_eq!(
            Value::Object(params.tree().clone()),
            json!({"m": {"alpha": 9, "beta": 2}, "s": {"deep": 1}, "t": 3, "new": "n"})
        );
    }

    #[test]
    fn every_nested_key_is_a_dataset() {
        let params = Parameters::new(map(json!({"a": {"b": {"c": 1}, "l": [1, {"x": 2}]}})));
        let entries = params.entries();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "parameters",
                "params:a",
                "params:a.b",
                "params:a.b.c",
                "params:a.l"
            ]
        );
        assert_eq!(
            entries[0].1,
            json!({"a": {"b": {"c": 1}, "l": [1, {"x": 2}]}})
        );
        assert_eq!(params.get("params:a.b"), Some(json!({"c": 1})));
        assert_eq!(params.get("params:a.l.x"), None);
        assert_eq!(params.get("a.b"), None);
    }
}
