//! Kedro's and OmegaConf's resolvers that need no access to the tree being
//! resolved (`globals:`, `runtime_params:`, `oc.env:`), and Python's `str()`,
//! which OmegaConf applies to every value spliced into a longer string.

use serde_json::{Map, Value};

/// A resolver failure; `message` is shown as is.
pub(crate) type Outcome = Result<Value, String>;

/// `OmegaConf.select` on a plain tree with a dotted key (`a.b`, `a.0`,
/// `a[0]`); `None` when a segment is missing.
pub(crate) fn select<'a>(tree: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let segments = key_segments(key)?;
    let (first, rest) = segments.split_first()?;
    let mut current = tree.get(first.as_str())?;
    for segment in rest {
        current = match current {
            Value::Object(map) => map.get(segment.as_str())?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// `a.b[1].c` → `a`, `b`, `1`, `c`; `None` when malformed (an empty
/// segment, an unclosed bracket).
pub(crate) fn key_segments(key: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && rest.is_empty() {
            return None;
        }
        if !name.is_empty() {
            segments.push(name.to_owned());
        }
        while !rest.is_empty() {
            let inner = rest.strip_prefix('[')?;
            let close = inner.find(']')?;
            let index = &inner[..close];
            if index.is_empty() {
                return None;
            }
            segments.push(index.to_owned());
            rest = &inner[close + 1..];
        }
    }
    Some(segments)
}

/// The key argument of `globals:`, `runtime_params:` and `oc.env:`.
fn key_arg<'a>(resolver: &str, args: &'a [Value]) -> Result<&'a str, String> {
    match args.first() {
        Some(Value::String(key)) if args.len() <= 2 => Ok(key),
        Some(_) if args.len() <= 2 => Err(format!("the {resolver}: resolver needs a key name")),
        _ => Err(format!(
            "the {resolver}: resolver takes a key and an optional default, got {} arguments",
            args.len()
        )),
    }
}

/// `${globals:key[, default]}` (Kedro's messages).
pub(crate) fn globals(tree: &Map<String, Value>, args: &[Value]) -> Outcome {
    let key = key_arg("globals", args)?;
    if key.starts_with('_') {
        return Err("Keys starting with '_' are not supported for globals.".to_owned());
    }
    match (select(tree, key), args.get(1)) {
        (Some(value), _) => Ok(value.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!(
            "Globals key '{key}' not found and no default value provided."
        )),
    }
}

/// `${runtime_params:key[, default]}` (Kedro's messages).
pub(crate) fn runtime_params(params: Option<&Map<String, Value>>, args: &[Value]) -> Outcome {
    let Some(params) = params else {
        return Err("The `runtime_params:` resolver is not supported for globals.".to_owned());
    };
    let key = key_arg("runtime_params", args)?;
    match (select(params, key), args.get(1)) {
        (Some(value), _) => Ok(value.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!(
            "Runtime parameter '{key}' not found and no default value provided."
        )),
    }
}

/// `${oc.env:NAME[, default]}`: always a string, except a `null` default.
/// Messages name the variable, never its value.
pub(crate) fn env(args: &[Value]) -> Outcome {
    let name = key_arg("oc.env", args)?;
    match (std::env::var(name), args.get(1)) {
        (Ok(value), _) => Ok(Value::String(value)),
        (Err(std::env::VarError::NotUnicode(_)), _) => Err(format!(
            "ValueError raised while resolving interpolation: environment variable '{name}' is not valid UTF-8"
        )),
        (Err(_), Some(Value::Null)) => Ok(Value::Null),
        (Err(_), Some(Value::String(s))) => Ok(Value::String(s.clone())),
        (Err(_), Some(other)) => Ok(Value::String(python_str(other))),
        (Err(_), None) => Err(format!(
            "KeyError raised while resolving interpolation: \"Environment variable '{name}' not found\""
        )),
    }
}

/// `${oc.create:value}`: a mapping or list as is; a string is read as YAML
/// and must hold a mapping or list (OmegaConf builds a config from it).
pub(crate) fn create(args: &[Value]) -> Outcome {
    match args {
        [value @ (Value::Object(_) | Value::Array(_) | Value::Null)] => Ok(value.clone()),
        [Value::String(text)] => match crate::config::yaml::parse_yaml_value(text) {
            Ok(value @ (Value::Object(_) | Value::Array(_))) => Ok(value),
            Ok(other) => Err(format!(
                "ValidationError raised while resolving interpolation: oc.create: the YAML \
                 holds a `{}`, not a mapping or list",
                python_type(&other)
            )),
            Err(e) => Err(format!(
                "ValidationError raised while resolving interpolation: oc.create: not YAML: {e}"
            )),
        },
        [other] => Err(format!(
            "ValidationError raised while resolving interpolation: oc.create needs a mapping, \
             a list or a YAML string, got `{}`",
            python_type(other)
        )),
        _ => Err("oc.create takes one argument".to_owned()),
    }
}

/// The Python type name of a YAML value, for messages.
pub(crate) fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str()` of a YAML value, which is how OmegaConf writes a value
/// into the middle of a string: `True`, `None`, `1.0`, `1e+16`, `{'a': 1}`.
pub(crate) fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => python_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::String(k.clone())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's float repr: shortest round-trip digits, `.0` on whole numbers,
/// exponent form (two digits at least) below 1e-4 and from 1e16.
fn python_float(f: f64) -> String {
    let magnitude = f.abs();
    if f != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        let formatted = format!("{f:e}");
        if let Some((mantissa, exponent)) = formatted.split_once('e') {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exponent),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
        return formatted;
    }
    if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn selecting_dotted_and_indexed_keys() {
        let tree = map(json!({"a": {"b": [10, {"c": 3}]}}));
        assert_eq!(select(&tree, "a.b[1].c"), Some(&json!(3)));
        assert_eq!(select(&tree, "a.b.0"), Some(&json!(10)));
        assert_eq!(select(&tree, "a.x"), None);
        assert_eq!(select(&tree, "a..b"), None);
        assert_eq!(key_segments("l[0][1]").unwrap(), ["l", "0", "1"]);
        assert!(key_segments("l[").is_none());
    }

    #[test]
    fn kedros_globals_and_runtime_params_messages() {
        let tree = map(json!({"g": {"x": 1}, "_h": 2}));
        assert_eq!(globals(&tree, &[json!("g")]), Ok(json!({"x": 1})));
        assert_eq!(globals(&tree, &[json!("g.x")]), Ok(json!(1)));
        assert_eq!(
            globals(&tree, &[json!("nope"), json!(null)]),
            Ok(json!(null))
        );
        assert_eq!(
            globals(&tree, &[json!("missing")]).unwrap_err(),
            "Globals key 'missing' not found and no default value provided."
        );
        assert_eq!(
            globals(&tree, &[json!("_h")]).unwrap_err(),
            "Keys starting with '_' are not supported for globals."
        );
        assert_eq!(
            runtime_params(None, &[json!("x")]).unwrap_err(),
            "The `runtime_params:` resolver is not supported for globals."
        );
        assert_eq!(
            runtime_params(Some(&tree), &[json!("zzz")]).unwrap_err(),
            "Runtime parameter 'zzz' not found and no default value provided."
        );
    }

    #[test]
    fn env_values_are_strings() {
        let missing = "TANDEM_TEST_SURELY_UNSET_VARIABLE";
        assert_eq!(env(&[json!(missing), json!(7)]), Ok(json!("7")));
        assert_eq!(env(&[json!(missing), json!(null)]), Ok(json!(null)));
        assert_eq!(
            env(&[json!(missing)]).unwrap_err(),
            format!(
                "KeyError raised while resolving interpolation: \"Environment variable '{missing}' not found\""
            )
        );
        let path = std::env::var("PATH").unwrap();
        assert_eq!(env(&[json!("PATH")]), Ok(json!(path)));
    }

    #[test]
    fn python_str_of_values() {
        let cases = [
            (json!(null), "None"),
            (json!(true), "True"),
            (json!(1), "1"),
            (json!(1.0), "1.0"),
            (json!(0.1), "0.1"),
            (json!(1e16), "1e+16"),
            (json!(1e-10), "1e-10"),
            (json!("s"), "s"),
            (
                json!({"b": 1, "a": [1, "two", null]}),
                "{'b': 1, 'a': [1, 'two', None]}",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(python_str(&value), expected, "{value}");
        }
    }
}
