//! JSON text as Python's `json.dumps` writes it, which is how MLflow writes
//! signature strings and input examples: `", "` and `": "` separators (or
//! `indent=2`), non-ASCII escaped (`ensure_ascii`), floats in `repr` form
//! (`1e-05`, `1e+16`, `3.0`). Readers do not care, but files that match
//! MLflow's byte for byte diff cleanly against models MLflow wrote.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// `json.dumps(value)`.
pub(crate) fn dumps<T: Serialize + ?Sized>(value: &T) -> String {
    write(value, None)
}

/// `json.dumps(value, indent=2)`.
pub(crate) fn dumps_indented<T: Serialize + ?Sized>(value: &T) -> String {
    write(value, Some(2))
}

fn write<T: Serialize + ?Sized>(value: &T, indent: Option<usize>) -> String {
    let mut out = Vec::new();
    let formatter = PythonFormatter {
        indent,
        depth: 0,
        has_value: false,
    };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing JSON values and plain structs into memory cannot fail, and
    // the formatter only writes ASCII.
    match value.serialize(&mut serializer) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => String::new(),
    }
}

struct PythonFormatter {
    indent: Option<usize>,
    depth: usize,
    /// Whether the innermost open array or object has a value, so an
    /// indented one closes on its own line and an empty one stays `[]`.
    has_value: bool,
}

impl PythonFormatter {
    fn newline<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        if let Some(width) = self.indent {
            writer.write_all(b"\n")?;
            for _ in 0..self.depth * width {
                writer.write_all(b" ")?;
            }
        }
        Ok(())
    }

    fn close<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer)?;
        }
        writer.write_all(bracket)
    }

    fn separator<W: ?Sized + io::Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        match (first, self.indent) {
            (true, _) => {}
            (false, None) => writer.write_all(b", ")?,
            (false, Some(_)) => writer.write_all(b",")?,
        }
        self.newline(writer)
    }
}

impl Formatter for PythonFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Python escapes everything outside printable ASCII, DEL included.
        let mut units = [0_u16; 2];
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let text: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(text)
    }
}

/// Python's `repr(float)`: Rust's `Debug` already picks the shortest
/// round-trip digits and switches to exponents at the same magnitudes
/// (below 1e-4, from 1e16); Python writes the exponent signed, two digits
/// at least.
fn python_repr(value: f64) -> String {
    let text = format!("{value:?}");
    match text.split_once('e') {
        None => text,
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_json_dumps() {
        let value = json!([{"name": "é", "required": true}, {"d": [1.0, 0.5, 3]}]);
        assert_eq!(
            dumps(&value),
            r#"[{"name": "\u00e9", "required": true}, {"d": [1.0, 0.5, 3]}]"#
        );
        assert_eq!(dumps(&json!({})), "{}");
        assert_eq!(
            dumps(&json!("a\"b\n\u{7f}😀")),
            r#""a\"b\n\u007f\ud83d\ude00""#
        );
    }

    #[test]
    fn indented_like_python() {
        let value = json!({"dataframe_split": {"columns": ["a"], "data": [[1.5], []]}});
        let expected = "{\n  \"dataframe_split\": {\n    \"columns\": [\n      \"a\"\n    ],\n    \
                        \"data\": [\n      [\n        1.5\n      ],\n      []\n    ]\n  }\n}";
        assert_eq!(dumps_indented(&value), expected);
    }

    #[test]
    fn floats_use_python_repr() {
        for (value, text) in [
            (3.0, "3.0"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (123456789.0, "123456789.0"),
            (f64::from(0.1_f32), "0.10000000149011612"),
        ] {
            assert_eq!(python_repr(value), text);
        }
    }
}
