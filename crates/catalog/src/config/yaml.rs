//! Reading one configuration file: YAML (or JSON, a subset) into a JSON map,
//! with the line of each top-level key for error messages.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use tandem_pipeline_core::spec::keys::{key_of_line, top_level_keys};

use crate::error::Error;

/// OmegaConf reads YAML 1.1 as PyYAML's safe loader does, minus timestamps:
/// `010` is octal, dates stay strings, and a key repeated in one mapping is an
/// error. Booleans need care: PyYAML's are `true`/`false`/`yes`/`no`/`on`/`off`
/// in lower, Title or UPPER case, while serde-saphyr's YAML 1.1 mode also takes
/// `y`/`n` and any casing (so `target: y` would become `true`).
fn options(strict_booleans: bool, len: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        legacy_octal_numbers: true,
        strict_booleans: strict_booleans,
        budget: tandem_pipeline_core::spec::yaml_budget(len),
    }
}

/// PyYAML's boolean spellings beyond YAML 1.2's `true`/`false` family.
const YAML11_BOOLEANS: &[&str] = &[
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
];

/// Parses one YAML document into JSON; an empty document is `null`.
///
/// The document is read with YAML 1.2 booleans; only if that leaves a string
/// spelled like a PyYAML boolean is it read again in YAML 1.1 mode, where a
/// plain `yes` is a boolean and a quoted `'yes'` still a string: each such
/// string takes the second reading's value.
///
/// Plainly written files (strings, nulls and collections only) are read by
/// the fast subset reader, which leaves everything else, numbers and boolean
/// words included, to serde-saphyr.
pub(crate) fn parse_yaml_value(text: &str) -> Result<Value, serde_saphyr::Error> {
    if let Some(value) = tandem_pipeline_core::plain_yaml::parse(text) {
        return Ok(value);
    }
    let strict: Value = serde_saphyr::from_str_with_options(text, options(true, text.len()))?;
    if !has_yaml11_boolean_word(&strict) {
        return Ok(strict);
    }
    let lenient: Value = serde_saphyr::from_str_with_options(text, options(false, text.len()))?;
    Ok(reconcile(strict, lenient))
}

fn has_yaml11_boolean_word(value: &Value) -> bool {
    match value {
        Value::String(s) => YAML11_BOOLEANS.contains(&s.as_str()),
        Value::Array(items) => items.iter().any(has_yaml11_boolean_word),
        Value::Object(map) => map.values().any(has_yaml11_boolean_word),
        _ => false,
    }
}

/// Both readings have the same shape; they differ only where a plain scalar
/// was a boolean word.
fn reconcile(strict: Value, lenient: Value) -> Value {
    match (strict, lenient) {
        (Value::String(s), Value::Bool(b)) if YAML11_BOOLEANS.contains(&s.as_str()) => {
            Value::Bool(b)
        }
        (Value::Array(items), Value::Array(others)) => Value::Array(
            items
                .into_iter()
                .zip(others)
                .map(|(a, b)| reconcile(a, b))
                .collect(),
        ),
        (Value::Object(map), Value::Object(mut others)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let other = others.remove(&k).unwrap_or(Value::Null);
                    (k, reconcile(v, other))
                })
                .collect(),
        ),
        (strict, _) => strict,
    }
}

/// A parsed configuration file.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    /// The path as shown in messages.
    pub(crate) display: String,
    /// Top-level keys and values.
    pub(crate) values: Map<String, Value>,
    /// Top-level keys with the 1-based line each is written on, when found.
    pub(crate) lines: Vec<(String, Option<usize>)>,
}

/// Reads and parses `path`; errors name the file, the line and, when the line
/// falls inside an entry, that entry.
pub(crate) fn read_config_file(path: &Path) -> Result<ConfigFile, Error> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidConfig {
        file: Some(display.clone()),
        line: None,
        entry: None,
        message: format!("cannot read the file: {e}"),
    })?;
    let values = match parse_yaml_value(&text) {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => Map::new(),
        Ok(other) => {
            return Err(Error::InvalidConfig {
                file: Some(display),
                line: Some(1),
                entry: None,
                message: format!(
                    "expected a mapping of names to settings at the top level, found {}",
                    kind_of(&other)
                ),
            });
        }
        Err(e) => return Err(syntax_error(display, &text, &e)),
    };
    let index = KeyLines::new(&text);
    let lines = values
        .keys()
        .map(|k| (k.clone(), index.line_of(&text, k)))
        .collect();
    Ok(ConfigFile {
        display,
        values,
        lines,
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn syntax_error(display: String, text: &str, err: &serde_saphyr::Error) -> Error {
    let location = err.location().filter(|l| l.line() > 0);
    let render = serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
        formatter: &serde_saphyr::UserMessageFormatter,
    };
    let mut message = err.render_with_options(render);
    let line = location.map(|l| l.line() as usize);
    if let Some(l) = location {
        // The file:line prefix already says where; drop the renderer's suffix.
        let suffix = format!(" at line {}, column {}", l.line(), l.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = format!("{stripped} (column {})", l.column());
        }
    }
    let entry = line.and_then(|l| {
        top_level_keys(text)
            .into_iter()
            .rfind(|(key_line, _)| *key_line <= l)
            .map(|(_, key)| key)
    });
    Error::InvalidConfig {
        file: Some(display),
        line,
        entry,
        message: format!("invalid YAML: {message}"),
    }
}

/// Where each top-level key is defined, indexed once per file so that
/// finding every key's line is linear in the file, not in keys × lines.
struct KeyLines {
    /// Unindented `key:` lines: a key's first one.
    top_level: HashMap<String, usize>,
    /// Lines starting with a quoted key (JSON files, flow mappings), built
    /// on the first key that is not a top-level one.
    quoted: OnceCell<HashMap<String, usize>>,
}

impl KeyLines {
    fn new(text: &str) -> KeyLines {
        let mut top_level = HashMap::new();
        for (line, key) in top_level_keys(text) {
            top_level.entry(key).or_insert(line);
        }
        KeyLines {
            top_level,
            quoted: OnceCell::new(),
        }
    }

    /// The line of a top-level key: an unindented `key:` line, else the
    /// first line that starts with the quoted key.
    fn line_of(&self, text: &str, key: &str) -> Option<usize> {
        if let Some(&line) = self.top_level.get(key) {
            return Some(line);
        }
        let quoted = self.quoted.get_or_init(|| {
            let mut quoted = HashMap::new();
            for (i, l) in text.lines().enumerate() {
                let l = l.trim_start().trim_start_matches(['{', ',', ' ']);
                if l.starts_with(['"', '\''])
                    && let Some(k) = key_of_line(l)
                {
                    quoted.entry(k).or_insert(i + 1);
                }
            }
            quoted
        });
        quoted.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".yml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn keys_are_found_with_their_lines() {
        let text =
            "# c\n_anchor: &a\n  x: 1\n\"quoted key\": 2\nplain:\n  nested: 3\nurl: http://x\n";
        let f = file_with(text);
        let parsed = read_config_file(f.path()).unwrap();
        let lines: Vec<(&str, Option<usize>)> =
            parsed.lines.iter().map(|(k, l)| (k.as_str(), *l)).collect();
        assert_eq!(
            lines,
            [
                ("_anchor", Some(2)),
                ("quoted key", Some(4)),
                ("plain", Some(5)),
                ("url", Some(7))
            ]
        );
    }

    #[test]
    fn json_files_locate_keys_too() {
        let f = file_with("{\n  \"a\": {\"type\": \"x\"},\n  \"b\": 1\n}\n");
        let parsed = read_config_file(f.path()).unwrap();
        assert_eq!(
            parsed.lines,
            [("a".to_owned(), Some(2)), ("b".to_owned(), Some(3))]
        );
    }

    #[test]
    fn syntax_errors_name_file_line_and_entry() {
        let f = file_with("cars:\n  type: MemoryDataset\nbikes:\n  type: [unclosed\n  x: 1\n");
        let err = read_config_file(f.path()).unwrap_err();
        assert_eq!(err.kind(), "invalid_config");
        let Error::InvalidConfig {
            file, line, entry, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            file.as_deref(),
            Some(f.path().display().to_string().as_str())
        );
        assert!(line.is_some_and(|l| l >= 4), "{err}");
        assert_eq!(entry.as_deref(), Some("bikes"));
        assert!(err.to_string().contains("invalid YAML"), "{err}");
    }

    #[test]
    fn duplicate_keys_in_one_file_are_errors() {
        let err = read_config_file(file_with("a: 1\nb: 2\na: 3\n").path()).unwrap_err();
        let Error::InvalidConfig { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, Some(3));
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[test]
    fn empty_files_are_empty_and_lists_are_refused() {
        assert!(
            read_config_file(file_with("# nothing\n").path())
                .unwrap()
                .values
                .is_empty()
        );
        let err = read_config_file(file_with("- a\n- b\n").path()).unwrap_err();
        assert!(err.to_string().contains("found a list"), "{err}");
    }

    #[test]
    fn booleans_follow_pyyaml() {
        let parsed = parse_yaml_value(
            "a: y\nb: yes\nc: 'yes'\nd: n\ne: On\nf: tRUE\ng: [yes, Y, \"off\"]\nh: {x: NO}\ni: True\n",
        )
        .unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"a": "y", "b": true, "c": "yes", "d": "n", "e": true, "f": "tRUE",
                               "g": [true, "Y", "off"], "h": {"x": false}, "i": true})
        );
        assert_eq!(
            parse_yaml_value("x: 010\ny: 2026-01-01\n").unwrap(),
            serde_json::json!({"x": 8, "y": "2026-01-01"})
        );
    }

    #[test]
    fn anchors_and_merge_keys_resolve() {
        let f = file_with("_base: &b\n  type: MemoryDataset\nx:\n  <<: *b\n  copy_mode: copy\n");
        let parsed = read_config_file(f.path()).unwrap();
        assert_eq!(
            parsed.values["x"],
            serde_json::json!({"type": "MemoryDataset", "copy_mode": "copy"})
        );
    }
}
