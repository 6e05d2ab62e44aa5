//! OmegaConf's interpolation grammar, the part configuration files use:
//! `${key.path}`, `${.relative}`, `${resolver:arg, 'quoted', ${nested}}`,
//! text around interpolations and the `\${` escape.
//!
//! Parsing never fails on a string without `${`: such strings are plain text
//! whatever else they hold (a lone `$`, backslashes, braces).

/// One piece of a string: literal text or an interpolation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    /// Literal text (escapes already applied).
    Text(String),
    /// `${...}`.
    Interp(Interp),
}

/// The inside of one `${...}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Interp {
    /// A key path as written: `a.b[1]`, `.sibling`, `..parent_key`.
    Key(String),
    /// A resolver call: `name:arg, arg`.
    Call {
        /// The resolver's name (`globals`, `oc.env`, ...).
        name: String,
        /// The arguments, in order.
        args: Vec<Arg>,
    },
}

/// One resolver argument.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    /// `'...'` or `"..."`: always a string, interpolations inside included.
    Quoted(Vec<Piece>),
    /// Unquoted, trimmed: a number, boolean, null or string when it is text
    /// only; the referenced value itself when it is one interpolation.
    Bare(Vec<Piece>),
    /// `[a, 'b', ${c}]`: a list of elements.
    List(Vec<Arg>),
    /// `{k: v, k2: [1]}`: a mapping of plain keys to elements.
    Dict(Vec<(String, Arg)>),
}

/// Whether `text` needs the parser at all.
pub(crate) fn has_interpolation(text: &str) -> bool {
    text.contains("${")
}

/// Splits a configuration string into text and interpolations. The error is
/// a description of what is malformed (never the string itself: it may be a
/// secret).
pub(crate) fn parse(text: &str) -> Result<Vec<Piece>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser { chars, pos: 0 };
    let pieces = parser.pieces(Stop::End)?;
    Ok(pieces)
}

/// One element as `oc.decode` reads a string: a quoted string, a `[...]`
/// list, a `{...}` mapping, or bare text (typed by [`primitive`] when it has
/// no interpolation), with surrounding whitespace ignored.
pub(crate) fn parse_element(text: &str) -> Result<Arg, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser { chars, pos: 0 };
    parser.skip_spaces();
    let element = match parser.peek() {
        Some('\'' | '"' | '[' | '{') => parser.element(Stop::End)?,
        _ => {
            let mut pieces = parser.pieces(Stop::End)?;
            trim_pieces(&mut pieces);
            return Ok(if pieces.is_empty() {
                Arg::Quoted(Vec::new())
            } else {
                Arg::Bare(pieces)
            });
        }
    };
    parser.skip_spaces();
    match parser.peek() {
        None => Ok(element),
        Some(c) => Err(format!("unexpected '{c}' after the value")),
    }
}

/// Where a run of pieces ends.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// The end of the string (top level).
    End,
    /// A closing quote (inside a quoted argument).
    Quote(char),
    /// `,` or `}` (a bare argument, or a value in a `{...}` argument).
    ArgEnd,
    /// `,` or `]` (an item of a `[...]` argument).
    ItemEnd,
    /// `:` (a key of a `{...}` argument).
    KeyEnd,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn starts_interp(&self) -> bool {
        self.peek() == Some('$') && self.chars.get(self.pos + 1) == Some(&'{')
    }

    fn pieces(&mut self, stop: Stop) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return match stop {
                    Stop::End => {
                        flush(&mut text, &mut pieces);
                        Ok(pieces)
                    }
                    Stop::Quote(q) => Err(format!("unterminated {q}-quoted argument")),
                    Stop::ArgEnd | Stop::KeyEnd => {
                        Err("unterminated interpolation: missing '}'".to_owned())
                    }
                    Stop::ItemEnd => Err("unterminated list argument: missing ']'".to_owned()),
                };
            };
            match (stop, c) {
                (Stop::Quote(q), c) if c == q => {
                    self.pos += 1;
                    flush(&mut text, &mut pieces);
                    return Ok(pieces);
                }
                (Stop::ArgEnd, ',' | '}') | (Stop::ItemEnd, ',' | ']') | (Stop::KeyEnd, ':') => {
                    flush(&mut text, &mut pieces);
                    return Ok(pieces);
                }
                (
                    Stop::ArgEnd | Stop::ItemEnd | Stop::KeyEnd,
                    '{' | '[' | ']' | '}' | '(' | ')' | '\'' | '"',
                ) => {
                    return Err(format!(
                        "unsupported character '{c}' in an unquoted resolver argument (quote it)"
                    ));
                }
                (_, '\\') => {
                    let next = self.chars.get(self.pos + 1).copied();
                    let after = self.chars.get(self.pos + 2).copied();
                    match (stop, next, after) {
                        // `\${` is a literal `${`.
                        (_, Some('$'), Some('{')) => {
                            text.push_str("${");
                            self.pos += 3;
                        }
                        // `\\${`: a backslash, then an interpolation.
                        (_, Some('\\'), Some('$'))
                            if self.chars.get(self.pos + 3) == Some(&'{') =>
                        {
                            text.push('\\');
                            self.pos += 2;
                        }
                        (Stop::Quote(q), Some(n), _) if n == q || n == '\\' => {
                            text.push(n);
                            self.pos += 2;
                        }
                        (
                            Stop::ArgEnd | Stop::ItemEnd | Stop::KeyEnd,
                            Some(n @ (',' | '\\' | ' ')),
                            _,
                        ) => {
                            text.push(n);
                            self.pos += 2;
                        }
                        _ => {
                            text.push('\\');
                            self.pos += 1;
                        }
                    }
                }
                _ if self.starts_interp() => {
                    flush(&mut text, &mut pieces);
                    self.pos += 2;
                    pieces.push(Piece::Interp(self.interp()?));
                }
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// After `${`: a key or a resolver call, through the closing `}`.
    fn interp(&mut self) -> Result<Interp, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if matches!(c, ':' | '}' | '$' | '{' | '\'' | '"' | ',') {
                break;
            }
            self.pos += 1;
        }
        let head: String = self.chars[start..self.pos].iter().collect();
        let head = head.trim();
        match self.peek() {
            Some('}') => {
                self.pos += 1;
                if head.is_empty() {
                    return Err("empty interpolation '${}'".to_owned());
                }
                if head.chars().any(char::is_whitespace) {
                    return Err(format!("invalid interpolation key '{head}'"));
                }
                Ok(Interp::Key(head.to_owned()))
            }
            Some(':') if is_resolver_name(head) => {
                self.pos += 1;
                let args = self.args()?;
                Ok(Interp::Call {
                    name: head.to_owned(),
                    args,
                })
            }
            Some(':') => Err(format!("invalid resolver name '{head}'")),
            Some('$') if self.starts_interp() => {
                Err("nested interpolations inside a key are not supported".to_owned())
            }
            Some(c) => Err(format!("unexpected '{c}' in an interpolation")),
            None => Err("unterminated interpolation: missing '}'".to_owned()),
        }
    }

    /// After `name:`: comma-separated arguments through the closing `}`.
    fn args(&mut self) -> Result<Vec<Arg>, String> {
        let mut args = Vec::new();
        self.skip_spaces();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.element(Stop::ArgEnd)?);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(args);
                }
                Some(c) => return Err(format!("unexpected '{c}' after a resolver argument")),
                None => return Err("unterminated interpolation: missing '}'".to_owned()),
            }
        }
    }

    /// One argument, list item or mapping value; a bare one runs to `stop`.
    /// Leaves the position on the separator that follows.
    fn element(&mut self, stop: Stop) -> Result<Arg, String> {
        self.skip_spaces();
        let element = match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                Arg::Quoted(self.pieces(Stop::Quote(q))?)
            }
            Some('[') => {
                self.pos += 1;
                Arg::List(self.list()?)
            }
            Some('{') => {
                self.pos += 1;
                Arg::Dict(self.dict()?)
            }
            _ => {
                let mut pieces = self.pieces(stop)?;
                trim_pieces(&mut pieces);
                if pieces.is_empty() {
                    return Err("empty resolver argument".to_owned());
                }
                return Ok(Arg::Bare(pieces));
            }
        };
        self.skip_spaces();
        Ok(element)
    }

    /// After `[`: items through the closing `]`.
    fn list(&mut self) -> Result<Vec<Arg>, String> {
        let mut items = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.element(Stop::ItemEnd)?);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(c) => return Err(format!("unexpected '{c}' in a list argument")),
                None => return Err("unterminated list argument: missing ']'".to_owned()),
            }
        }
    }

    /// After `{`: `key: value` pairs through the closing `}`.
    fn dict(&mut self) -> Result<Vec<(String, Arg)>, String> {
        let mut entries = Vec::new();
        self.skip_spaces();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(entries);
        }
        loop {
            let mut key = self.pieces(Stop::KeyEnd)?;
            trim_pieces(&mut key);
            let key = match key.as_slice() {
                [Piece::Text(k)] => k.clone(),
                [] => return Err("empty key in a mapping argument".to_owned()),
                _ => return Err("a mapping argument's keys must be plain text".to_owned()),
            };
            self.pos += 1; // the ':'
            entries.push((key, self.element(Stop::ArgEnd)?));
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(entries);
                }
                Some(c) => return Err(format!("unexpected '{c}' in a mapping argument")),
                None => return Err("unterminated mapping argument: missing '}'".to_owned()),
            }
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
}

fn flush(text: &mut String, pieces: &mut Vec<Piece>) {
    if !text.is_empty() {
        pieces.push(Piece::Text(std::mem::take(text)));
    }
}

/// Removes the whitespace around a bare argument (not inside it).
fn trim_pieces(pieces: &mut Vec<Piece>) {
    if let Some(Piece::Text(t)) = pieces.first_mut() {
        *t = t.trim_start().to_owned();
    }
    if let Some(Piece::Text(t)) = pieces.last_mut() {
        *t = t.trim_end().to_owned();
    }
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
}

/// OmegaConf's resolver names: dot-separated identifiers (`oc.env`, `km.random_name`).
fn is_resolver_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// A bare argument made of text only, typed as OmegaConf's grammar types it:
/// `null`, `true`/`false` (any case), integers (with `_` separators) and
/// floats; anything else is a string. `inf`/`nan` stay strings: JSON cannot
/// hold them.
pub(crate) fn primitive(text: &str) -> serde_json::Value {
    use serde_json::Value;
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "null" => return Value::Null,
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let is_int = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_')
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && (digits == "0" || !digits.starts_with('0'));
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    if is_int && let Ok(i) = clean.parse::<i64>() {
        return Value::from(i);
    }
    let is_float = text.contains(['.', 'e', 'E'])
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'));
    if is_float
        && let Ok(f) = clean.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(t: &str) -> Piece {
        Piece::Text(t.to_owned())
    }

    fn key(k: &str) -> Piece {
        Piece::Interp(Interp::Key(k.to_owned()))
    }

    #[test]
    fn keys_text_and_escapes() {
        assert_eq!(parse("plain $5 {x}").unwrap(), [text("plain $5 {x}")]);
        assert_eq!(parse("${a.b[1]}").unwrap(), [key("a.b[1]")]);
        assert_eq!(
            parse("pre${..p}post").unwrap(),
            [text("pre"), key("..p"), text("post")]
        );
        assert_eq!(parse(r"\${a}").unwrap(), [text("${a}")]);
        assert_eq!(parse(r"\\${a}").unwrap(), [text("\\"), key("a")]);
        assert_eq!(parse(r"C:\dir").unwrap(), [text(r"C:\dir")]);
    }

    #[test]
    fn resolver_arguments() {
        let parsed = parse("${runtime_params:out, 'data/02'}").unwrap();
        assert_eq!(
            parsed,
            [Piece::Interp(Interp::Call {
                name: "runtime_params".into(),
                args: vec![
                    Arg::Bare(vec![text("out")]),
                    Arg::Quoted(vec![text("data/02")])
                ],
            })]
        );
        let parsed = parse("${globals:${.k}, \"it's ${x}\" ,  a b }").unwrap();
        let Piece::Interp(Interp::Call { args, .. }) = &parsed[0] else {
            panic!()
        };
        assert_eq!(
            args,
            &[
                Arg::Bare(vec![key(".k")]),
                Arg::Quoted(vec![text("it's "), key("x")]),
                Arg::Bare(vec![text("a b")]),
            ]
        );
        assert_eq!(
            parse("${km.random_name:}").unwrap(),
            [Piece::Interp(Interp::Call {
                name: "km.random_name".into(),
                args: vec![]
            })]
        );
    }

    #[test]
    fn list_and_mapping_arguments() {
        let parsed = parse("${f:[1, 'a', ${x}], {k: [], j: {}}, []}").unwrap();
        let Piece::Interp(Interp::Call { args, .. }) = &parsed[0] else {
            panic!()
        };
        assert_eq!(
            args,
            &[
                Arg::List(vec![
                    Arg::Bare(vec![text("1")]),
                    Arg::Quoted(vec![text("a")]),
                    Arg::Bare(vec![key("x")]),
                ]),
                Arg::Dict(vec![
                    ("k".into(), Arg::List(vec![])),
                    ("j".into(), Arg::Dict(vec![])),
                ]),
                Arg::List(vec![]),
            ]
        );
        assert_eq!(
            parse_element(" [1, [2]] ").unwrap(),
            Arg::List(vec![
                Arg::Bare(vec![text("1")]),
                Arg::List(vec![Arg::Bare(vec![text("2")])])
            ])
        );
        assert_eq!(parse_element("12").unwrap(), Arg::Bare(vec![text("12")]));
        assert!(parse_element("[1] 2").is_err());
    }

    #[test]
    fn malformed_interpolations() {
        for bad in [
            "${a",
            "${}",
            "${f:a,}",
            "${f:'x}",
            "${a b}",
            "${1x:y}",
            "${a.${b}}",
            "${f:[1}",
            "${f:{a 1}}",
            "${f:[1]x}",
            "${f:{${k}: 1}}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn primitives_are_typed() {
        let cases = [
            ("null", json!(null)),
            ("NULL", json!(null)),
            ("True", json!(true)),
            ("false", json!(false)),
            ("1", json!(1)),
            ("-1_000", json!(-1000)),
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("010", json!("010")),
            ("nan", json!("nan")),
            ("data/02", json!("data/02")),
            ("1.2.3", json!("1.2.3")),
        ];
        for (raw, expected) in cases {
            assert_eq!(primitive(raw), expected, "{raw}");
        }
    }
}
