//! Placeholders in a pattern's settings: which ones a value uses, and filling
//! them in as Python's `str.format_map` does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The `{...}` spans of `text` as Kedro finds them with the regex `\{.*?\}`:
/// from each `{`, the shortest run up to a `}` on the same line.
pub(super) fn brace_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{'
            && let Some(len) = bytes[i + 1..]
                .iter()
                .position(|&b| b == b'}' || b == b'\n')
                .filter(|&p| bytes[i + 1 + p] == b'}')
        {
            let end = i + 1 + len + 1;
            spans.push((i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// The `{...}` spans of string values (keys are not looked at, as in Kedro)
/// that are not placeholders of `key`.
pub(super) fn unknown_placeholders(key: &str, config: &Value) -> BTreeSet<String> {
    let in_key: BTreeSet<&str> = brace_spans(key)
        .into_iter()
        .map(|(s, e)| &key[s..e])
        .collect();
    let mut unknown = BTreeSet::new();
    visit_strings(config, &mut |s| {
        if s.contains('}') {
            for (start, end) in brace_spans(s) {
                if !in_key.contains(&s[start..end]) {
                    unknown.insert(s[start..end].to_owned());
                }
            }
        }
    });
    unknown
}

fn visit_strings(value: &Value, visit: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter().for_each(|v| visit_strings(v, visit)),
        Value::Object(map) => map.values().for_each(|v| visit_strings(v, visit)),
        _ => {}
    }
}

/// Fills every string value (recursively; keys untouched), as Kedro does with
/// `str.format_map` on strings containing `}`.
pub(super) fn fill(value: &Value, bindings: &BTreeMap<String, String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) if s.contains('}') => Value::String(format_map(s, bindings)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, bindings))
                .collect::<Result<Vec<_>, String>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, bindings)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Python's `str.format_map` for plain `{name}` fields and `{{`/`}}` escapes.
fn format_map(template: &str, bindings: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(format!("single '}}' in '{template}'")),
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => field.push(ch),
                        None => return Err(format!("'{{' is never closed in '{template}'")),
                    }
                }
                let value = bindings
                    .get(&field)
                    .ok_or_else(|| format!("no placeholder named '{field}' for '{template}'"))?;
                out.push_str(value);
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factory::Pattern;
    use serde_json::json;

    fn bindings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn spans_are_shortest_and_stay_on_one_line() {
        assert_eq!(brace_spans("{a}_{b}"), [(0, 3), (4, 7)]);
        assert_eq!(brace_spans("{{x}}"), [(0, 4)]);
        assert_eq!(brace_spans("{a\n}{b}"), [(4, 7)]);
        assert!(brace_spans("{open").is_empty());
    }

    #[test]
    fn unknown_placeholders_ignore_keys_and_brace_free_values() {
        let config = json!({"{b}": "x", "p": "{a}/{b}", "l": ["{c}", 1], "n": {"d": "{{e}}"}});
        let unknown: Vec<String> = unknown_placeholders("{a}_x", &config).into_iter().collect();
        assert_eq!(unknown, ["{b}", "{c}", "{{e}"]);
    }

    #[test]
    fn format_map_fills_fields_and_unescapes() {
        let b = bindings(&[("name", "cars")]);
        assert_eq!(format_map("{name}.csv", &b).unwrap(), "cars.csv");
        assert_eq!(format_map("a}}b{{c", &b).unwrap(), "a}b{c");
        for bad in ["a}b", "{name", "{other}"] {
            assert!(format_map(bad, &b).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_placeholders_must_be_in_the_key() {
        let err = Pattern::new(
            "{a}_x",
            json!({"type": "T", "path": "{b}/{a}", "args": ["{c}"]}),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Incorrect dataset configuration provided. Keys used in the configuration {'{b}', \
             '{c}'} should present in the dataset pattern name {a}_x."
        );
    }

    #[test]
    fn resolution_fills_nested_strings_like_format_map() {
        let p = Pattern::new(
            "{layer}.{name}",
            json!({"type": "T", "filepath": "data/{layer}/{name}.csv", "args": {"sep": "a}}b",
                   "cols": ["{name}", 3]}, "plain": "{no closing"}),
        )
        .unwrap();
        let resolved = p
            .resolve("raw.cars", &p.matches("raw.cars").unwrap())
            .unwrap();
        assert_eq!(
            resolved,
            json!({"type": "T", "filepath": "data/raw/cars.csv", "args": {"sep": "a}b",
                   "cols": ["cars", 3]}, "plain": "{no closing"})
        );
    }
}
