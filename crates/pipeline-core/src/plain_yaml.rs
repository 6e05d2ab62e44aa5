//! A fast reader for YAML written plainly: block mappings and sequences,
//! one-line flow mappings and sequences, plain and quoted string scalars,
//! comments. Pipeline specs and catalogs are almost always written this
//! way, and the general YAML parser spends most of a large spec's run time
//! on them (see docs/benchmarks.md).
//!
//! It never decides anything the general parser would decide differently:
//! whenever a document uses something outside that subset (anchors,
//! aliases, tags, block or multi-line scalars, multi-line flow collections,
//! tabs, directives, several documents, escapes in double quotes, duplicate
//! keys) or holds a plain scalar that YAML could resolve to anything but a
//! string or null (a number, a boolean), or is malformed, [`parse`] returns
//! `None` and the caller parses the text with the general parser, which
//! also gives its positioned errors. Within the subset every scalar is a
//! string, except the plain `null`, `Null`, `NULL`, `~` and empty values,
//! which are null, as in YAML 1.2's core schema.

use serde_json::{Map, Value};

/// Nesting deeper than this is left to the general parser, so that a
/// hostile document cannot exhaust the stack here.
const MAX_DEPTH: usize = 64;

/// YAML's limit on an implicit (unmarked) key's length.
const MAX_IMPLICIT_KEY: usize = 1024;

/// `text` as a JSON value when it is plain YAML (see the module docs), else
/// `None`.
pub fn parse(text: &str) -> Option<Value> {
    let (raw_lines, ascii) = split_lines(text)?;
    // Only non-ASCII text can hold the other characters outside the subset.
    if !ascii && text.chars().any(outside_subset) {
        return None;
    }
    let mut lines = Vec::with_capacity(raw_lines.len());
    for (number, raw) in raw_lines.into_iter().enumerate() {
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if number == 0 && (content.starts_with("%") || content.starts_with("---")) {
            return None;
        }
        if raw.starts_with("---") || raw.starts_with("...") {
            return None;
        }
        lines.push(Line {
            indent: raw.len() - content.len(),
            content,
        });
    }
    if lines.is_empty() {
        return None;
    }
    let mut reader = Reader { lines, next: 0 };
    let indent = reader.lines[0].indent;
    let value = reader.block(indent, 0)?;
    (reader.next == reader.lines.len()).then_some(value)
}

/// `text` split at `\n` in one pass over its bytes, and whether it is all
/// ASCII; `None` when it holds an ASCII control other than `\n` (tabs and
/// carriage returns included) or DEL, which the subset leaves to the
/// general parser.
fn split_lines(text: &str) -> Option<(Vec<&str>, bool)> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut start = 0;
    let mut high = 0u8;
    for (i, &b) in bytes.iter().enumerate() {
        high |= b;
        if b < b' ' || b == 0x7f {
            if b != b'\n' {
                return None;
            }
            // Splitting at an ASCII byte keeps both sides valid UTF-8.
            lines.push(&text[start..i]);
            start = i + 1;
        }
    }
    lines.push(&text[start..]);
    Some((lines, high < 0x80))
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    content: &'a str,
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    next: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.next).copied()
    }

    /// The block node whose first line is the next one, at `indent`.
    fn block(&mut self, indent: usize, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let line = self.peek()?;
        if line.indent != indent {
            return None;
        }
        if is_entry(line.content) {
            self.sequence(indent, depth)
        } else {
            self.mapping(indent, depth)
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            // A key at the sequence's column ends a sequence that is a
            // mapping's value (`key:` then `- item` lines at its column).
            if line.indent < indent || !is_entry(line.content) && line.indent == indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            self.next += 1;
            let rest = line.content[1..].trim_start_matches(' ');
            // `- ` is followed by the item; its own indentation is where
            // the item's text starts.
            let item_indent = indent + (line.content.len() - rest.len());
            items.push(self.node_after(rest, item_indent, indent, depth, true)?);
        }
        Some(Value::Array(items))
    }

    /// The node that starts with `rest` (the text after `- ` or `key: `
    /// on a line whose own block is at `parent_indent`), at column
    /// `column`: a scalar or flow collection, a compact mapping
    /// (`- key: value`), or a block on the following lines.
    fn node_after(
        &mut self,
        rest: &'a str,
        column: usize,
        parent_indent: usize,
        depth: usize,
        in_sequence: bool,
    ) -> Option<Value> {
        let rest = strip_comment(rest.trim_start_matches(' '))?;
        if rest.is_empty() {
            return match self.peek() {
                Some(next) if next.indent > parent_indent => self.block(next.indent, depth + 1),
                _ => Some(Value::Null),
            };
        }
        if is_entry(rest) {
            // `- - a`: a compact nested sequence.
            return None;
        }
        if let Some((key, after)) = split_key(rest)? {
            if !in_sequence {
                // `a: b: c` is an error in YAML.
                return None;
            }
            // A compact mapping: its first entry is on this line, the others
            // follow at `column`.
            let mut map = Map::new();
            let value = self.node_after(after, column, column, depth + 1, false)?;
            map.insert(key, value);
            return self.more_entries(map, column, depth);
        }
        let value = inline_value(rest, depth)?;
        // A more indented line after a scalar would continue it (a
        // multi-line plain scalar): left to the general parser.
        match self.peek() {
            Some(next) if next.indent > parent_indent => None,
            _ => Some(value),
        }
    }

    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Value> {
        self.more_entries(Map::new(), indent, depth)
    }

    /// Reads `key: value` lines at `indent` into `map`.
    fn more_entries(
        &mut self,
        mut map: Map<String, Value>,
        indent: usize,
        depth: usize,
    ) -> Option<Value> {
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_entry(line.content) {
                return None;
            }
            self.next += 1;
            let (key, rest) = split_key(line.content)??;
            let value = match strip_comment(rest.trim_start_matches(' '))? {
                // `key:` then `- item` lines at the same indentation: YAML
                // lets a mapping's sequence value sit at the key's column.
                "" if self
                    .peek()
                    .is_some_and(|n| n.indent == indent && is_entry(n.content)) =>
                {
                    self.sequence(indent, depth + 1)?
                }
                _ => self.node_after(rest, indent, indent, depth, false)?,
            };
            if map.insert(key, value).is_some() {
                // A duplicate key: an error in YAML.
                return None;
            }
        }
        Some(Value::Object(map))
    }
}

/// Characters YAML does not allow unescaped (controls, noncharacters), a
/// byte-order mark, and tabs and carriage returns, whose rules the subset
/// leaves to the general parser.
fn outside_subset(c: char) -> bool {
    (c < ' ' && c != '\n')
        || (('\u{7f}'..='\u{9f}').contains(&c) && c != '\u{85}')
        || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// `- item` or a lone `-`.
fn is_entry(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// Removes a trailing ` # comment` outside quotes and trailing spaces;
/// `None` when a quote is left open (the general parser decides).
fn strip_comment(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut quote = None;
    // Only quotes and `#` change the state: jump from one to the next.
    let mut i = 0;
    while let Some(found) = memchr::memchr3(b'\'', b'"', b'#', &bytes[i..]) {
        i += found;
        let b = bytes[i];
        match quote {
            Some(q) if b == q => {
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => match b {
                b'\'' | b'"' if i == 0 || is_quote_start(bytes[i - 1]) => quote = Some(b),
                b'#' if i == 0 || bytes[i - 1] == b' ' => return Some(text[..i].trim_end()),
                _ => {}
            },
        }
        i += 1;
    }
    if quote.is_some() {
        return None;
    }
    Some(text.trim_end())
}

/// A quote opens a quoted scalar only where a scalar may start.
fn is_quote_start(before: u8) -> bool {
    matches!(before, b' ' | b'{' | b'[' | b',' | b':')
}

/// Splits `key: rest` (or `key:` at the end); `Some(None)` when the line is
/// not a mapping entry, `None` when it is one the subset does not read.
fn split_key(content: &str) -> Option<Option<(String, &str)>> {
    if content.starts_with(['{', '[']) {
        // A flow collection (a complex key, if a `:` follows it, is left to
        // the general parser by the caller).
        return Some(None);
    }
    if let Some(quote) = content.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let (key, used) = quoted(content, quote)?;
        if used > MAX_IMPLICIT_KEY {
            return None;
        }
        let after = &content[used..];
        let after = after.trim_start_matches(' ');
        return match after.strip_prefix(':') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => Some(Some((key, rest))),
            _ => Some(None),
        };
    }
    let Some(colon) = find_key_colon(content) else {
        return Some(None);
    };
    let key = content[..colon].trim_end();
    if key.len() > MAX_IMPLICIT_KEY {
        return None;
    }
    match plain(key)? {
        Value::String(key) => Some(Some((key, &content[colon + 1..]))),
        _ => None,
    }
}

/// The position of the `:` that ends a plain key: the first one followed by
/// a space or the end, before any ` #`.
fn find_key_colon(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b':' if matches!(bytes.get(i + 1), None | Some(b' ')) => return Some(i),
            b'#' if i > 0 && bytes[i - 1] == b' ' => return None,
            _ => {}
        }
    }
    None
}

/// A value written on one line: a flow collection or a scalar.
fn inline_value(text: &str, depth: usize) -> Option<Value> {
    let mut flow = Flow {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    match flow.bytes[0] {
        b'{' | b'[' => {
            let value = flow.node(depth + 1)?;
            (flow.at == flow.bytes.len()).then_some(value)
        }
        b'\'' | b'"' => {
            let (value, used) = quoted(text, text.chars().next()?)?;
            (used == text.len()).then_some(Value::String(value))
        }
        _ => {
            if find_key_colon(text).is_some() {
                return None;
            }
            plain(text)
        }
    }
}

/// A one-line flow collection, read byte by byte.
struct Flow<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl Flow<'_> {
    fn skip_spaces(&mut self) {
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn node(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_spaces();
        match *self.bytes.get(self.at)? {
            b'{' => self.mapping(depth),
            b'[' => self.sequence(depth),
            b'\'' | b'"' => {
                let quote = char::from(self.bytes[self.at]);
                let (value, used) = quoted(&self.text[self.at..], quote)?;
                self.at += used;
                Some(Value::String(value))
            }
            _ => self.plain(),
        }
    }

    /// A plain scalar inside a flow collection: up to `,`, `]`, `}` or a
    /// `: `; an indicator inside it (or a `#`) is left to the general parser.
    fn plain(&mut self) -> Option<Value> {
        let start = self.at;
        while let Some(&b) = self.bytes.get(self.at) {
            match b {
                b',' | b']' | b'}' => break,
                b':' if matches!(
                    self.bytes.get(self.at + 1),
                    None | Some(b' ' | b',' | b']' | b'}')
                ) =>
                {
                    break;
                }
                b'[' | b'{' | b'#' => return None,
                _ => self.at += 1,
            }
        }
        let text = self.text[start..self.at].trim_end();
        if text.is_empty() {
            // `[, a]`, `{: b}`: errors or empty nodes, the parser decides.
            return None;
        }
        plain(text)
    }

    fn sequence(&mut self, depth: usize) -> Option<Value> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.bytes.get(self.at) == Some(&b']') {
                self.at += 1;
                return Some(Value::Array(items));
            }
            items.push(self.node(depth + 1)?);
            self.skip_spaces();
            match *self.bytes.get(self.at)? {
                b',' => self.at += 1,
                b']' => {}
                _ => return None,
            }
        }
    }

    fn mapping(&mut self, depth: usize) -> Option<Value> {
        self.at += 1;
        // Sized for a spec node's keys (name, func, inputs, outputs), so
        // that the usual flow mapping never rehashes.
        let mut map = Map::with_capacity(4);
        loop {
            self.skip_spaces();
            if self.bytes.get(self.at) == Some(&b'}') {
                self.at += 1;
                return Some(Value::Object(map));
            }
            let Value::String(key) = self.node(depth + 1)? else {
                return None;
            };
            self.skip_spaces();
            if self.bytes.get(self.at) != Some(&b':') {
                // `{a}` (a key with a null value) is left to the parser.
                return None;
            }
            self.at += 1;
            self.skip_spaces();
            let value = match self.bytes.get(self.at) {
                Some(b',' | b'}') => Value::Null,
                _ => self.node(depth + 1)?,
            };
            if map.insert(key, value).is_some() {
                return None;
            }
            self.skip_spaces();
            match *self.bytes.get(self.at)? {
                b',' => self.at += 1,
                b'}' => {}
                _ => return None,
            }
        }
    }
}

/// A quoted scalar at the start of `text`, with the bytes it used; double
/// quotes with escapes are left to the general parser.
fn quoted(text: &str, quote: char) -> Option<(String, usize)> {
    let body = &text[1..];
    if quote == '"' {
        let end = body.find(['"', '\\'])?;
        if body.as_bytes()[end] == b'\\' {
            return None;
        }
        return Some((body[..end].to_owned(), end + 2));
    }
    let end = body.find('\'')?;
    if !body[end + 1..].starts_with('\'') {
        // No `''` escape: the common case, one copy.
        return Some((body[..end].to_owned(), end + 2));
    }
    let mut value = String::with_capacity(body.len());
    let mut rest = body;
    let mut used = 1;
    loop {
        let end = rest.find('\'')?;
        value.push_str(&rest[..end]);
        used += end + 1;
        if rest[end + 1..].starts_with('\'') {
            value.push('\'');
            used += 1;
            rest = &rest[end + 2..];
        } else {
            return Some((value, used));
        }
    }
}

/// A plain scalar: a string, or null for YAML's null spellings; `None` for
/// anything YAML could read as another type or that starts with an
/// indicator.
fn plain(text: &str) -> Option<Value> {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if text == "<<" {
        // A merge key.
        return None;
    }
    // Indicators, and what could start a number.
    if matches!(
        text.as_bytes()[0],
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b'0'..=b'9' | b'+' | b'.'
    ) {
        return None;
    }
    // Booleans in any case (YAML 1.1's too); compared without allocating.
    const BOOLEANS: [&str; 8] = ["true", "false", "yes", "no", "on", "off", "y", "n"];
    if text.len() <= 5 && BOOLEANS.iter().any(|b| b.eq_ignore_ascii_case(text)) {
        return None;
    }
    Some(Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests;
