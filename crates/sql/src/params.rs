//! `load_args.params`: bind parameters as pandas passes them to a driver.
//!
//! A mapping binds named placeholders, written `:name` (SQLAlchemy's
//! `text()`, sqlite3's named style) or `%(name)s` (psycopg's); a list binds
//! positional ones, `?` (sqlite3) or `%s` (psycopg), in order, or numbered
//! `$1` / `?1` as the database writes them. Either is rewritten to the
//! database's numbered form (`$n` for PostgreSQL, `?n` for SQLite), so a
//! query works the same on both. String literals, quoted identifiers,
//! comments and PostgreSQL's `::` casts are left alone. Without params the
//! SQL goes to the database untouched.

use serde_json::Value;

use crate::error::Error;

/// The parameters as configured.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub(crate) enum Params {
    /// `{name: value}`.
    Named(serde_json::Map<String, Value>),
    /// `[value, ...]`.
    Positional(Vec<Value>),
}

/// A rewritten query and its values, in `$n` / `?n` order.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) sql: String,
    /// `(name shown in errors, value)` per number.
    pub(crate) values: Vec<(String, Value)>,
}

/// Rewrites `sql`'s placeholders to `prefix` + number (`$` or `?`).
pub(crate) fn bind(sql: &str, params: &Params, prefix: char) -> Result<Bound, Error> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut values: Vec<(String, Value)> = Vec::new();
    let mut positional = 0usize;
    let mut numbered = false;
    let mut i = 0;
    let named = |name: &str, names: &mut Vec<String>, values: &mut Vec<(String, Value)>| {
        let Params::Named(map) = params else {
            return Err(Error::Parameter {
                name: name.to_owned(),
                message: "named placeholder, but load_args.params is a list".to_owned(),
            });
        };
        let value = map.get(name).ok_or_else(|| Error::Parameter {
            name: name.to_owned(),
            message: format!(
                "no value in load_args.params (given: {})",
                map.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        let n = match names.iter().position(|n| n == name) {
            Some(n) => n,
            None => {
                names.push(name.to_owned());
                values.push((name.to_owned(), value.clone()));
                names.len() - 1
            }
        };
        Ok(n + 1)
    };
    let mut next_positional = |values: &mut Vec<(String, Value)>, shown: &str| {
        let Params::Positional(list) = params else {
            return Err(Error::Parameter {
                name: shown.to_owned(),
                message: "positional placeholder, but load_args.params is a mapping".to_owned(),
            });
        };
        let value = list.get(positional).ok_or_else(|| Error::Parameter {
            name: format!("{shown} #{}", positional + 1),
            message: format!("only {} values in load_args.params", list.len()),
        })?;
        positional += 1;
        values.push((format!("#{positional}"), value.clone()));
        Ok(positional)
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' => {
                let end = skip_quoted(&chars, i, c);
                out.extend(&chars[i..end]);
                i = end;
            }
            '-' if next == Some('-') => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p);
                out.extend(&chars[i..end]);
                i = end;
            }
            '/' if next == Some('*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .map_or(chars.len(), |j| j + 2);
                out.extend(&chars[i..end]);
                i = end;
            }
            ':' if next == Some(':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if next.is_some_and(|n| n.is_alphabetic() || n == '_') => {
                let end = ident_end(&chars, i + 1);
                let name: String = chars[i + 1..end].iter().collect();
                let n = named(&name, &mut names, &mut values)?;
                out.push(prefix);
                out.push_str(&n.to_string());
                i = end;
            }
            '%' if next == Some('%') => {
                out.push('%');
                i += 2;
            }
            '%' if next == Some('(') => {
                let close = chars[i..].iter().position(|&c| c == ')').map(|p| i + p);
                match close {
                    Some(close) if chars.get(close + 1) == Some(&'s') => {
                        let name: String = chars[i + 2..close].iter().collect();
                        let n = named(&name, &mut names, &mut values)?;
                        out.push(prefix);
                        out.push_str(&n.to_string());
                        i = close + 2;
                    }
                    _ => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            '%' if next == Some('s') => {
                let n = next_positional(&mut values, "%s")?;
                out.push(prefix);
                out.push_str(&n.to_string());
                i += 2;
            }
            '?' | '$' if next.is_some_and(|n| n.is_ascii_digit()) => {
                // Already numbered: keep the number, bind the list as is.
                numbered = true;
                let end = (i + 1..chars.len())
                    .find(|&j| !chars[j].is_ascii_digit())
                    .unwrap_or(chars.len());
                out.push(prefix);
                out.extend(&chars[i + 1..end]);
                i = end;
            }
            '?' => {
                let n = next_positional(&mut values, "?")?;
                out.push(prefix);
                out.push_str(&n.to_string());
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    if numbered {
        let Params::Positional(list) = params else {
            return Err(Error::Parameter {
                name: format!("{prefix}n"),
                message: "numbered placeholders need load_args.params as a list".to_owned(),
            });
        };
        if !values.is_empty() {
            return Err(Error::Parameter {
                name: format!("{prefix}n"),
                message: "numbered and unnumbered placeholders mixed in one query".to_owned(),
            });
        }
        values = list
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("#{}", i + 1), v.clone()))
            .collect();
    }
    Ok(Bound { sql: out, values })
}

fn skip_quoted(chars: &[char], start: usize, quote: char) -> usize {
    let mut j = start + 1;
    while j < chars.len() {
        if chars[j] == quote {
            if chars.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    chars.len()
}

fn ident_end(chars: &[char], start: usize) -> usize {
    (start..chars.len())
        .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
        .unwrap_or(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn named(v: Value) -> Params {
        Params::Named(v.as_object().unwrap().clone())
    }

    #[test]
    fn named_styles_become_numbered_and_repeat_their_number() {
        let p = named(json!({"lo": 1, "hi": 5}));
        let b = bind(
            "SELECT * FROM t WHERE a >= :lo AND a < %(hi)s AND b = :lo AND c::text = ':lo' -- :hi",
            &p,
            '$',
        )
        .unwrap();
        assert_eq!(
            b.sql,
            "SELECT * FROM t WHERE a >= $1 AND a < $2 AND b = $1 AND c::text = ':lo' -- :hi"
        );
        assert_eq!(b.values.len(), 2);
        assert_eq!(b.values[1], ("hi".to_owned(), json!(5)));
    }

    #[test]
    fn positional_styles_and_errors() {
        let p = Params::Positional(vec![json!("x"), json!(2)]);
        let b = bind("SELECT ? , %s, '?' , \"%s\"", &p, '?').unwrap();
        assert_eq!(b.sql, "SELECT ?1 , ?2, '?' , \"%s\"");
        let b = bind("SELECT $2, $1", &p, '$').unwrap();
        assert_eq!(b.sql, "SELECT $2, $1");
        assert_eq!(b.values.len(), 2);
        let err = bind("SELECT :missing", &named(json!({"a": 1})), '$').unwrap_err();
        assert_eq!(err.kind(), "sql_parameter");
        assert!(err.to_string().contains("missing"), "{err}");
        let err = bind("SELECT ?, ?, ?", &p, '$').unwrap_err();
        assert!(err.to_string().contains("only 2"), "{err}");
        let b = bind("SELECT 5 %% 2, %s", &p, '$').unwrap();
        assert_eq!(b.sql, "SELECT 5 % 2, $1");
    }
}
