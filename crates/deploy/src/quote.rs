//! Quoting for the three languages a rendered command passes through:
//! bash (BashOperator runs `bash -c`), Jinja (Airflow renders
//! `bash_command` and `env` as templates first) and Python (the DAG file).

/// `value` as one bash word: single-quoted, each `'` as `'\''`. Always
/// quoted, so a word never ends a command in `.sh` (which BashOperator would
/// take for a template file to read).
pub fn shell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// `text` as literal Jinja template text: every Jinja delimiter starts with
/// `{`, so each `{` becomes an expression printing it.
pub fn jinja_literal(text: &str) -> String {
    text.replace('{', "{{ '{' }}")
}

/// `text` as a Python string literal. A JSON string is one: Python reads
/// the same `\"`, `\\`, `\n` and `\uXXXX` escapes.
pub fn python_str(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// `value` as a Python literal (`True`, `None`, numbers, strings, lists and
/// dicts).
pub fn python_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => python_str(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_value(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Whether `run --nodes` reads `name` back as exactly this one node: it
/// splits on commas outside `[...]` (Kedro's `split_node_names`, the depth
/// saturating at zero) and trims each name.
pub fn passable_node_name(name: &str) -> bool {
    if name.trim() != name || name.is_empty() {
        return false;
    }
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_spaces_and_braces() {
        assert_eq!(shell("it's a b"), "'it'\\''s a b'");
        assert_eq!(shell(""), "''");
        assert_eq!(jinja_literal("a {{ b }}"), "a {{ '{' }}{{ '{' }} b }}");
        assert_eq!(python_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(
            python_value(&serde_json::json!({"a": [true, null, 1.5]})),
            "{\"a\": [True, None, 1.5]}"
        );
    }

    #[test]
    fn node_names_with_commas_outside_brackets_cannot_be_passed() {
        assert!(passable_node_name("f([a,b]) -> [c]"));
        assert!(passable_node_name("with space 'and quote'"));
        assert!(!passable_node_name("a,b"));
        assert!(!passable_node_name(" padded"));
        assert!(!passable_node_name("x],y"));
    }
}
