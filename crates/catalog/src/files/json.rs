//! `JSONDataset`: any serde value as a JSON document.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use tandem_pipeline_core::Data;

use super::{FileFormat, FileOptions, NoArgs, args_details, format_error};
use crate::error::Error;
use crate::registry::DatasetConfig;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    /// Spaces per level, as `json.dump(indent=...)`: 2 when absent (Kedro's
    /// default), one line with Python's `", "` and `": "` when `null`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    indent: Option<Option<usize>>,
    /// Python's default `true` escapes every non-ASCII character (`\u00e9`).
    #[serde(skip_serializing_if = "Option::is_none")]
    ensure_ascii: Option<bool>,
    /// Python's default `false` writes keys in insertion order (a loaded
    /// document's order, a struct's field order); `true` sorts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    sort_keys: Option<bool>,
}

/// Keeps an explicit `null` apart from an absent key.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// JSON documents. Loads a `serde_json::Value` (nodes declare their own
/// type and the value converts at the node boundary, see
/// [`DataValue::from_json`](tandem_pipeline_core::DataValue::from_json));
/// saves any value whose [`Data::to_json`] is available.
#[derive(Debug)]
pub struct JsonFormat {
    save_args: SaveArgs,
}

impl FileFormat for JsonFormat {
    const TYPE_NAME: &'static str = "JSONDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let (filepath, NoArgs {}, save_args) = FileOptions::parse(config)?;
        Ok((filepath, JsonFormat { save_args }))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let value = json_value(data, "json", location)?;
        let indent = self.save_args.indent.unwrap_or(Some(2));
        let mut out = String::new();
        let style = Style {
            indent,
            ensure_ascii: self.save_args.ensure_ascii.unwrap_or(true),
            sort_keys: self.save_args.sort_keys.unwrap_or(false),
        };
        python_json(&value, style, 0, &mut out);
        Ok(Bytes::from(out))
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format_error("json", location, e))?;
        Ok(Data::json(value))
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        args_details(&NoArgs {}, &self.save_args)
    }
}

/// The JSON form of `data`: borrowed when it already is JSON (no copy of a
/// large document), else from [`Data::to_json`].
pub(super) fn json_value<'a>(
    data: &'a Data,
    format: &'static str,
    location: &str,
) -> Result<Cow<'a, serde_json::Value>, Error> {
    if let Ok(value) = data.downcast_ref::<serde_json::Value>() {
        return Ok(Cow::Borrowed(value));
    }
    match data.to_json() {
        Some(Ok(value)) => Ok(Cow::Owned(value)),
        Some(Err(message)) => Err(format_error(
            format,
            location,
            format!("cannot serialize a `{}`: {message}", data.type_name()),
        )),
        None => Err(format_error(
            format,
            location,
            format!(
                "a `{type_name}` cannot be serialized: declare it with \
                 `data_value!(serde: {type_name})` (the type must implement serde's Serialize \
                 and Deserialize)",
                type_name = data.type_name()
            ),
        )),
    }
}

/// `json.dump`'s save_args that shape the text.
#[derive(Clone, Copy)]
struct Style {
    indent: Option<usize>,
    ensure_ascii: bool,
    sort_keys: bool,
}

/// `value` as Python's `json.dump` writes it: no trailing newline, `": "`
/// after keys, `", "` between items on one line (`indent: null`), else
/// `","` and a newline with `indent` spaces per level.
fn python_json(value: &serde_json::Value, style: Style, depth: usize, out: &mut String) {
    use serde_json::Value;
    let Style {
        indent,
        ensure_ascii,
        sort_keys,
    } = style;
    let newline = |out: &mut String, depth: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', width * depth));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&super::columns::python_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => python_string(s, ensure_ascii, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                python_json(item, style, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            out.push('{');
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                // Python compares str by code point, as Rust's str does.
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                python_string(key, ensure_ascii, out);
                out.push_str(": ");
                python_json(item, style, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn python_string(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(value: serde_json::Value, indent: Option<usize>, ascii: bool) -> String {
        let mut out = String::new();
        let style = Style {
            indent,
            ensure_ascii: ascii,
            sort_keys: false,
        };
        python_json(&value, style, 0, &mut out);
        out
    }

    #[test]
    fn writes_what_python_json_dump_writes() {
        let value = serde_json::json!({"b": 1, "a": [1]});
        assert_eq!(
            dump(value, Some(2), true),
            "{\n  \"b\": 1,\n  \"a\": [\n    1\n  ]\n}"
        );
        let value = serde_json::json!({"a": "é", "b": 1});
        assert_eq!(dump(value.clone(), None, false), "{\"a\": \"é\", \"b\": 1}");
        assert_eq!(dump(value, None, true), "{\"a\": \"\\u00e9\", \"b\": 1}");
        assert_eq!(
            dump(serde_json::json!(["😀", "\n", 1.0, []]), None, true),
            "[\"\\ud83d\\ude00\", \"\\n\", 1.0, []]"
        );
    }
}
