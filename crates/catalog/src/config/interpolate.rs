//! OmegaConf interpolation over a JSON tree, with Kedro's resolvers.
//!
//! Resolution is lazy and memoised per string node: `${a}` resolves `a` (and
//! whatever `a` refers to) when first needed. A node met again while it is
//! being resolved is a cycle; chains are bounded by [`MAX_DEPTH`] so that no
//! configuration can exhaust the stack.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::grammar::{self, Arg, Interp, Piece};
use super::resolvers::{self, python_str};
use crate::error::Error;

/// How many interpolations may be in progress at once (`a` → `b` → ...).
pub(crate) const MAX_DEPTH: usize = 64;

/// A caller's resolver: typed arguments in, a value or a message out.
pub type ResolverFn = dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync;

/// Names Kedro and OmegaConf own; registering one of them is ignored, as
/// Kedro skips an already-registered resolver.
const BUILTIN: &[&str] = &[
    "globals",
    "runtime_params",
    "oc.env",
    "oc.select",
    "oc.dict.keys",
    "oc.dict.values",
    "oc.decode",
    "oc.create",
    "oc.deprecated",
];

/// Custom resolvers by name, as an application registers them once for
/// every configuration file (Kedro's `CONFIG_LOADER_ARGS["custom_resolvers"]`).
///
/// ```
/// use serde_json::json;
/// use tandem_catalog::{Interpolator, Resolvers};
///
/// let resolvers = Resolvers::new().with("double", |args| {
///     Ok(json!(args.first().and_then(|a| a.as_i64()).unwrap_or(0) * 2))
/// });
/// let tree = json!({"n": "${double:21}"});
/// let resolved = Interpolator::new()
///     .with_resolvers(&resolvers)
///     .resolve(tree.as_object().unwrap())?;
/// assert_eq!(resolved["n"], json!(42));
/// # Ok::<(), tandem_catalog::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Resolvers {
    custom: BTreeMap<String, Arc<ResolverFn>>,
}

impl fmt::Debug for Resolvers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.custom.keys()).finish()
    }
}

impl Resolvers {
    /// No custom resolvers.
    pub fn new() -> Resolvers {
        Resolvers::default()
    }

    /// Adds `${name:args}` (see [`Interpolator::with_resolver`]); a built-in
    /// name is ignored, as Kedro skips an already-registered resolver.
    pub fn with<F>(mut self, name: &str, resolver: F) -> Resolvers
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.insert(name, resolver);
        self
    }

    /// Adds `${name:args}` in place.
    pub fn insert<F>(&mut self, name: &str, resolver: F)
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        if !BUILTIN.contains(&name) {
            self.custom.insert(name.to_owned(), Arc::new(resolver));
        }
    }

    /// The registered names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.custom.keys().map(String::as_str)
    }
}

/// Resolves `${...}` in a configuration tree the way Kedro's
/// `OmegaConfigLoader` does: OmegaConf's key interpolation (absolute,
/// relative, indexed), `globals:`, `runtime_params:`, `oc.select:`,
/// `oc.dict.keys:`/`oc.dict.values:`, `oc.env:` when enabled (Kedro allows it
/// in credentials only), and resolvers the caller adds.
///
/// ```
/// use serde_json::json;
/// use tandem_catalog::Interpolator;
///
/// let globals = json!({"bucket": "s3://data", "run": {"seed": 7}});
/// let resolver = Interpolator::new()
///     .with_globals(globals.as_object().unwrap().clone())
///     .with_resolver("add", |args| {
///         let sum: i64 = args.iter().filter_map(|a| a.as_i64()).sum();
///         Ok(json!(sum))
///     });
/// let tree = json!({
///     "_pandas": {"type": "pandas.CSVDataset"},
///     "cars": {"type": "${_pandas.type}", "filepath": "${globals:bucket}/cars.csv"},
///     "seed": "${globals:run.seed}",
///     "total": "${add:1, 2, ${seed}}",
///     "literal": "\\${not.resolved}",
/// });
/// let resolved = resolver.resolve(tree.as_object().unwrap())?;
/// assert_eq!(resolved["cars"], json!({"type": "pandas.CSVDataset", "filepath": "s3://data/cars.csv"}));
/// assert_eq!(resolved["seed"], json!(7));
/// assert_eq!(resolved["total"], json!(10));
/// assert_eq!(resolved["literal"], json!("${not.resolved}"));
///
/// let err = resolver.resolve(json!({"b": {"x": "${nope.x}"}}).as_object().unwrap()).unwrap_err();
/// assert_eq!(err.to_string(), "entry 'b.x': Interpolation key 'nope.x' not found");
/// # Ok::<(), tandem_catalog::Error>(())
/// ```
#[derive(Clone)]
pub struct Interpolator {
    globals: Arc<Map<String, Value>>,
    runtime_params: Arc<Map<String, Value>>,
    /// Off while globals.yml itself is resolved, where Kedro refuses it.
    runtime_params_allowed: bool,
    env_vars: bool,
    custom: BTreeMap<String, Arc<ResolverFn>>,
}

impl Default for Interpolator {
    fn default() -> Interpolator {
        Interpolator::new()
    }
}

impl fmt::Debug for Interpolator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interpolator")
            .field("globals", &self.globals.keys().collect::<Vec<_>>())
            .field(
                "runtime_params",
                &self.runtime_params.keys().collect::<Vec<_>>(),
            )
            .field("env_vars", &self.env_vars)
            .field("resolvers", &self.custom.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Interpolator {
    /// Key interpolation and the built-in resolvers, with no globals, no
    /// runtime parameters and `oc.env` off.
    pub fn new() -> Interpolator {
        Interpolator {
            globals: Arc::default(),
            runtime_params: Arc::default(),
            runtime_params_allowed: true,
            env_vars: false,
            custom: BTreeMap::new(),
        }
    }

    /// The tree `${globals:key}` reads (globals.yml, base overridden by env).
    pub fn with_globals(mut self, globals: Map<String, Value>) -> Interpolator {
        self.globals = Arc::new(globals);
        self
    }

    /// The tree `${runtime_params:key}` reads (`--params`).
    pub fn with_runtime_params(mut self, params: Map<String, Value>) -> Interpolator {
        self.runtime_params = Arc::new(params);
        self
    }

    /// Enables `${oc.env:NAME}`. Kedro enables it for credentials only;
    /// elsewhere it is `Unsupported interpolation type oc.env`.
    pub fn with_env_vars(mut self, enabled: bool) -> Interpolator {
        self.env_vars = enabled;
        self
    }

    /// Adds `${name:args}`. Arguments arrive typed (numbers, booleans, null,
    /// strings, or the value a nested interpolation refers to); an `Err` is
    /// the message of the resulting configuration error. A built-in name
    /// (`globals`, `runtime_params`, `oc.*`) keeps its built-in meaning and
    /// the registration is ignored, as in Kedro.
    pub fn with_resolver<F>(mut self, name: &str, resolver: F) -> Interpolator
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        if !BUILTIN.contains(&name) {
            self.custom.insert(name.to_owned(), Arc::new(resolver));
        }
        self
    }

    /// Adds every resolver of `resolvers` (later registrations of a name win).
    pub fn with_resolvers(mut self, resolvers: &Resolvers) -> Interpolator {
        for (name, resolver) in &resolvers.custom {
            self.custom.insert(name.clone(), Arc::clone(resolver));
        }
        self
    }

    /// The same interpolator for globals.yml, where `runtime_params:` is refused.
    pub(crate) fn for_globals(mut self) -> Interpolator {
        self.runtime_params_allowed = false;
        self
    }

    /// Resolves every interpolation in `tree`. An error is
    /// [`Error::InvalidConfig`] with the value's full key path as its entry
    /// and OmegaConf's or Kedro's message; it never contains a configured
    /// value.
    pub fn resolve(&self, tree: &Map<String, Value>) -> Result<Map<String, Value>, Error> {
        self.resolve_tree(tree).map_err(|f| Error::InvalidConfig {
            file: None,
            line: None,
            entry: Some(f.full_key()),
            message: f.message,
        })
    }

    pub(crate) fn resolve_tree(
        &self,
        tree: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Failure> {
        let root = Value::Object(tree.clone());
        let mut run = Resolution {
            interpolator: self,
            root: &root,
            strings: HashMap::new(),
            active: Vec::new(),
        };
        match run.node(&[])? {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        }
    }
}

/// A resolution error: where (the innermost value being resolved) and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// Key path segments of the value.
    pub(crate) path: Vec<String>,
    /// Whether each segment indexes a list (shown as `[i]`).
    indexed: Vec<bool>,
    /// OmegaConf's or Kedro's message.
    pub(crate) message: String,
}

impl Failure {
    /// OmegaConf's `full_key`: `a.b[1].c`.
    pub(crate) fn full_key(&self) -> String {
        let mut out = String::new();
        for (segment, &indexed) in self.path.iter().zip(&self.indexed) {
            if indexed {
                out.push_str(&format!("[{segment}]"));
            } else {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(segment);
            }
        }
        out
    }
}

/// One resolution of one tree.
struct Resolution<'a> {
    interpolator: &'a Interpolator,
    root: &'a Value,
    /// Resolved string nodes, by path.
    strings: HashMap<Vec<String>, Value>,
    /// String nodes being resolved, outermost first.
    active: Vec<Vec<String>>,
}

/// An error before its path is known; the innermost node sets it.
enum Trouble {
    Message(String),
    Located(Failure),
}

impl From<String> for Trouble {
    fn from(message: String) -> Trouble {
        Trouble::Message(message)
    }
}

impl Resolution<'_> {
    fn raw(&self, path: &[String]) -> Option<&Value> {
        path.iter().try_fold(self.root, |node, segment| match node {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
            _ => None,
        })
    }

    fn locate(&self, path: &[String], trouble: Trouble) -> Failure {
        match trouble {
            Trouble::Located(failure) => failure,
            Trouble::Message(message) => {
                let mut indexed = Vec::with_capacity(path.len());
                let mut node = self.root;
                for segment in path {
                    indexed.push(matches!(node, Value::Array(_)));
                    node = match node {
                        Value::Object(map) => map.get(segment).unwrap_or(&Value::Null),
                        Value::Array(items) => segment
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| items.get(i))
                            .unwrap_or(&Value::Null),
                        _ => &Value::Null,
                    };
                }
                Failure {
                    path: path.to_vec(),
                    indexed,
                    message,
                }
            }
        }
    }

    /// The fully resolved value of the node at `path` (which exists).
    fn node(&mut self, path: &[String]) -> Result<Value, Failure> {
        let Some(raw) = self.raw(path) else {
            return Ok(Value::Null);
        };
        match raw {
            Value::String(text) if grammar::has_interpolation(text) => {
                self.string(path, text.clone())
            }
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                let mut out = Map::new();
                let mut child = path.to_vec();
                for key in keys {
                    child.push(key.clone());
                    out.insert(key, self.node(&child)?);
                    child.pop();
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let len = items.len();
                let mut out = Vec::with_capacity(len);
                let mut child = path.to_vec();
                for i in 0..len {
                    child.push(i.to_string());
                    out.push(self.node(&child)?);
                    child.pop();
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// A string node: memoised, cycle-checked.
    fn string(&mut self, path: &[String], text: String) -> Result<Value, Failure> {
        if !grammar::has_interpolation(&text) {
            return Ok(Value::String(text));
        }
        if let Some(done) = self.strings.get(path) {
            return Ok(done.clone());
        }
        if let Some(start) = self.active.iter().position(|p| p == path) {
            let chain: Vec<String> = self.active[start..]
                .iter()
                .chain(std::iter::once(&path.to_vec()))
                .map(|p| self.locate(p, Trouble::Message(String::new())).full_key())
                .collect();
            let message = format!("Recursive interpolation detected: {}", chain.join(" -> "));
            return Err(self.locate(path, Trouble::Message(message)));
        }
        if self.active.len() >= MAX_DEPTH {
            let message = format!("interpolations nest deeper than {MAX_DEPTH} levels");
            return Err(self.locate(path, Trouble::Message(message)));
        }
        self.active.push(path.to_vec());
        let result = grammar::parse(&text)
            .map_err(|why| Trouble::Message(format!("invalid interpolation: {why}")))
            .and_then(|pieces| self.pieces(path, &pieces));
        self.active.pop();
        let value = result.map_err(|t| self.locate(path, t))?;
        self.strings.insert(path.to_vec(), value.clone());
        Ok(value)
    }

    /// A whole-string interpolation keeps the value's type; anything else
    /// is text.
    fn pieces(&mut self, at: &[String], pieces: &[Piece]) -> Result<Value, Trouble> {
        if let [Piece::Interp(interp)] = pieces {
            return self.interp(at, interp);
        }
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Interp(interp) => out.push_str(&python_str(&self.interp(at, interp)?)),
            }
        }
        Ok(Value::String(out))
    }

    fn interp(&mut self, at: &[String], interp: &Interp) -> Result<Value, Trouble> {
        match interp {
            Interp::Key(key) => self
                .select(at, key)?
                .ok_or_else(|| Trouble::Message(format!("Interpolation key '{key}' not found"))),
            Interp::Call { name, args } => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.arg(at, arg)?);
                }
                self.call(at, name, &values)
            }
        }
    }

    fn arg(&mut self, at: &[String], arg: &Arg) -> Result<Value, Trouble> {
        match arg {
            Arg::Quoted(pieces) if pieces.is_empty() => Ok(Value::String(String::new())),
            // A quoted argument is a string, even when it is one interpolation.
            Arg::Quoted(pieces) => Ok(Value::String(python_str(&self.pieces(at, pieces)?))),
            Arg::Bare(pieces) => match pieces.as_slice() {
                [Piece::Text(t)] => Ok(grammar::primitive(t)),
                _ => self.pieces(at, pieces),
            },
            Arg::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.arg(at, item)?);
                }
                Ok(Value::Array(values))
            }
            Arg::Dict(entries) => {
                let mut map = serde_json::Map::new();
                for (key, value) in entries {
                    let value = self.arg(at, value)?;
                    map.insert(key.clone(), value);
                }
                Ok(Value::Object(map))
            }
        }
    }

    fn call(&mut self, at: &[String], name: &str, args: &[Value]) -> Result<Value, Trouble> {
        let interpolator = self.interpolator;
        let outcome = match name {
            "globals" => resolvers::globals(&interpolator.globals, args),
            "runtime_params" => resolvers::runtime_params(
                interpolator
                    .runtime_params_allowed
                    .then_some(interpolator.runtime_params.as_ref()),
                args,
            ),
            "oc.env" if interpolator.env_vars => resolvers::env(args),
            "oc.select" => return self.oc_select(at, args),
            "oc.dict.keys" | "oc.dict.values" => return self.oc_dict(at, name, args),
            "oc.decode" => return self.oc_decode(at, args),
            "oc.create" => resolvers::create(args),
            "oc.deprecated" => return self.oc_deprecated(at, args),
            _ => match interpolator.custom.get(name) {
                Some(resolver) => resolver(args),
                None => Err(format!("Unsupported interpolation type {name}")),
            },
        };
        outcome.map_err(Trouble::Message)
    }

    /// `${oc.select:key[, default]}`: the default (else null) when missing.
    fn oc_select(&mut self, at: &[String], args: &[Value]) -> Result<Value, Trouble> {
        let (Some(Value::String(key)), 1..=2) = (args.first(), args.len()) else {
            return Err("oc.select takes a key and an optional default"
                .to_owned()
                .into());
        };
        let found = self.select(at, key)?;
        Ok(found.unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::Null)))
    }

    /// `${oc.decode:string}`: the string read as one grammar element (a
    /// number, boolean, null, list, mapping or quoted string), whose
    /// interpolations resolve from the node holding the `oc.decode`.
    fn oc_decode(&mut self, at: &[String], args: &[Value]) -> Result<Value, Trouble> {
        match args {
            [Value::Null] => Ok(Value::Null),
            [Value::String(text)] => {
                let element = grammar::parse_element(text).map_err(|why| {
                    Trouble::Message(format!(
                        "GrammarParseError raised while resolving interpolation: oc.decode: {why}"
                    ))
                })?;
                self.arg(at, &element)
            }
            [other] => Err(format!(
                "TypeError raised while resolving interpolation: `oc.decode` can only take \
                 strings or None as input, but `{}` was passed",
                resolvers::python_type(other)
            )
            .into()),
            _ => Err("oc.decode takes one argument".to_owned().into()),
        }
    }

    /// `${oc.deprecated:new.key[, message]}`: the value at `new.key` (an
    /// absolute key), with a warning that the key holding it is deprecated.
    fn oc_deprecated(&mut self, at: &[String], args: &[Value]) -> Result<Value, Trouble> {
        let (key, message) = match args {
            [Value::String(key)] => (key, None),
            [Value::String(key), Value::String(message)] => (key, Some(message.as_str())),
            _ => {
                return Err("oc.deprecated takes a key and an optional message"
                    .to_owned()
                    .into());
            }
        };
        let old = at.join(".");
        let Some(value) = self.select(&[], key.trim_start_matches('.'))? else {
            return Err(format!(
                "ConfigKeyError raised while resolving interpolation: In oc.deprecated \
                 resolver at '{old}': Key not found: '{key}'"
            )
            .into());
        };
        let message = message
            .unwrap_or("'$OLD_KEY' is deprecated. Change your code and config to use '$NEW_KEY'")
            .replace("$OLD_KEY", &old)
            .replace("$NEW_KEY", key);
        tracing::warn!(target: "tandem::config", "{message}");
        Ok(value)
    }

    /// `${oc.dict.keys:key}` / `${oc.dict.values:key}` (or of a mapping value).
    fn oc_dict(&mut self, at: &[String], name: &str, args: &[Value]) -> Result<Value, Trouble> {
        let map = match args {
            [Value::String(key)] => match self.select(at, key)? {
                Some(Value::Object(map)) => map,
                Some(_) => return Err(format!("{name}: '{key}' is not a mapping").into()),
                None => return Err(format!("Interpolation key '{key}' not found").into()),
            },
            [Value::Object(map)] => map.clone(),
            _ => return Err(format!("{name} takes one key or mapping").into()),
        };
        Ok(if name == "oc.dict.keys" {
            Value::Array(map.keys().cloned().map(Value::String).collect())
        } else {
            Value::Array(map.into_iter().map(|(_, v)| v).collect())
        })
    }

    /// OmegaConf's `select` from the node at `at`: absolute keys from the
    /// root; `.k` from the node's parent, each further dot one level up.
    /// Interpolations met on the way are resolved first.
    fn select(&mut self, at: &[String], key: &str) -> Result<Option<Value>, Trouble> {
        let dots = key.chars().take_while(|&c| c == '.').count();
        let mut path: Vec<String> = if dots == 0 {
            Vec::new()
        } else {
            let up = at.len().checked_sub(dots);
            match up {
                Some(len) => at[..len].to_vec(),
                None => return Ok(None),
            }
        };
        let rest = &key[dots..];
        let segments = if rest.is_empty() {
            Vec::new()
        } else {
            match resolvers::key_segments(rest) {
                Some(s) => s,
                None => return Ok(None),
            }
        };
        for (i, segment) in segments.iter().enumerate() {
            if let Some(Value::String(text)) = self.raw(&path)
                && grammar::has_interpolation(text)
            {
                let text = text.clone();
                let resolved = self.string(&path, text).map_err(Trouble::Located)?;
                return Ok(descend(&resolved, &segments[i..]));
            }
            path.push(segment.clone());
            if self.raw(&path).is_none() {
                return Ok(None);
            }
        }
        self.node(&path).map(Some).map_err(Trouble::Located)
    }
}

/// Follows `segments` inside an already resolved value.
fn descend(value: &Value, segments: &[String]) -> Option<Value> {
    segments
        .iter()
        .try_fold(value, |node, segment| match node {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
            _ => None,
        })
        .cloned()
}

#[cfg(test)]
mod tests;
