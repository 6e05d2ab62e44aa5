//! How a node names its inputs or outputs, exactly as written by the user.

use std::fmt::Write as _;

/// The dataset names of one side of a node, in the form they were given.
///
/// The form matters: as in Kedro, a node with inputs `["a"]` is not equal to one
/// with inputs `"a"` or `{x: a}`, and a mapping's order is irrelevant for equality.
///
/// ```
/// use tandem_pipeline_core::DatasetNames;
/// assert_eq!(DatasetNames::from(["a", "b"]).names(), vec!["a", "b"]);
/// assert_eq!(DatasetNames::from("a").names(), vec!["a"]);
/// assert_eq!(DatasetNames::map([("x", "a")]).names(), vec!["a"]);
/// assert!(DatasetNames::from(()).is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum DatasetNames {
    /// No datasets.
    #[default]
    None,
    /// A single name given as a plain string.
    One(String),
    /// A positional list (names may repeat for inputs).
    List(Vec<String>),
    /// A mapping from function parameter (or output label) to dataset name.
    Map(Vec<(String, String)>),
}

impl DatasetNames {
    /// A mapping from parameter names to dataset names, in the given order.
    pub fn map<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if pairs.is_empty() {
            DatasetNames::None
        } else {
            DatasetNames::Map(pairs)
        }
    }

    /// A positional list.
    pub fn list<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.is_empty() {
            DatasetNames::None
        } else {
            DatasetNames::List(names)
        }
    }

    /// The dataset names in written order (mapping values in insertion order).
    pub fn names(&self) -> Vec<&str> {
        match self {
            DatasetNames::None => Vec::new(),
            DatasetNames::One(n) => vec![n.as_str()],
            DatasetNames::List(ns) => ns.iter().map(String::as_str).collect(),
            DatasetNames::Map(pairs) => pairs.iter().map(|(_, v)| v.as_str()).collect(),
        }
    }

    /// Whether no dataset is named.
    pub fn is_empty(&self) -> bool {
        match self {
            DatasetNames::None => true,
            DatasetNames::One(_) => false,
            DatasetNames::List(ns) => ns.is_empty(),
            DatasetNames::Map(pairs) => pairs.is_empty(),
        }
    }

    /// The same form with every dataset name passed through `rename`.
    pub fn renamed(&self, mut rename: impl FnMut(&str) -> String) -> Self {
        match self {
            DatasetNames::None => DatasetNames::None,
            DatasetNames::One(n) => DatasetNames::One(rename(n)),
            DatasetNames::List(ns) => DatasetNames::List(ns.iter().map(|n| rename(n)).collect()),
            DatasetNames::Map(pairs) => {
                DatasetNames::Map(pairs.iter().map(|(k, v)| (k.clone(), rename(v))).collect())
            }
        }
    }

    /// The identity used for node equality: mappings compare as sorted pairs
    /// ([`same_key`](Self::same_key) compares it without building it).
    #[cfg(test)]
    pub(crate) fn key(&self) -> DatasetNames {
        match self {
            DatasetNames::Map(pairs) => {
                let mut sorted = pairs.clone();
                sorted.sort();
                DatasetNames::Map(sorted)
            }
            DatasetNames::List(ns) if ns.is_empty() => DatasetNames::None,
            other => other.clone(),
        }
    }

    /// Whether two sides have the same [`key`](Self::key), without building
    /// either: node equality runs inside set operations on whole pipelines.
    pub(crate) fn same_key(&self, other: &DatasetNames) -> bool {
        let empty = |names: &DatasetNames| match names {
            DatasetNames::None => true,
            DatasetNames::List(ns) => ns.is_empty(),
            _ => false,
        };
        match (self, other) {
            _ if empty(self) || empty(other) => empty(self) && empty(other),
            (DatasetNames::One(a), DatasetNames::One(b)) => a == b,
            (DatasetNames::List(a), DatasetNames::List(b)) => a == b,
            (DatasetNames::Map(a), DatasetNames::Map(b)) => {
                if a.len() != b.len() {
                    return false;
                }
                let mut a: Vec<&(String, String)> = a.iter().collect();
                let mut b: Vec<&(String, String)> = b.iter().collect();
                a.sort();
                b.sort();
                a == b
            }
            _ => false,
        }
    }

    /// Python's `repr` of the equivalent Kedro argument, for error messages.
    pub(crate) fn python_repr(&self) -> String {
        match self {
            DatasetNames::None => "None".to_owned(),
            DatasetNames::One(n) => py_str(n),
            DatasetNames::List(ns) => python_list(ns),
            DatasetNames::Map(pairs) => {
                let items: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }
}

/// Python's `repr` of a list of names (`['a', 'b']`): Kedro hashes the
/// node's input and output lists in this form into default node names.
pub(crate) fn python_list<S: AsRef<str>>(names: &[S]) -> String {
    let items: Vec<String> = names.iter().map(|n| py_str(n.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// Python's `repr(str)` for the printable names datasets use.
fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

impl From<()> for DatasetNames {
    fn from(_: ()) -> Self {
        DatasetNames::None
    }
}

impl From<&str> for DatasetNames {
    fn from(name: &str) -> Self {
        DatasetNames::One(name.to_owned())
    }
}

impl From<String> for DatasetNames {
    fn from(name: String) -> Self {
        DatasetNames::One(name)
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for DatasetNames {
    fn from(names: [S; N]) -> Self {
        DatasetNames::list(names)
    }
}

impl<S: Into<String>> From<Vec<S>> for DatasetNames {
    fn from(names: Vec<S>) -> Self {
        DatasetNames::list(names)
    }
}

impl From<&[&str]> for DatasetNames {
    fn from(names: &[&str]) -> Self {
        DatasetNames::list(names.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_matches_kedro_hash_input() {
        assert_eq!(DatasetNames::from(["a", "b"]).python_repr(), "['a', 'b']");
        assert_eq!(DatasetNames::from("a").python_repr(), "'a'");
        assert_eq!(DatasetNames::None.python_repr(), "None");
        assert_eq!(
            DatasetNames::map([("x", "a"), ("y", "b")]).python_repr(),
            "{'x': 'a', 'y': 'b'}"
        );
        assert_eq!(py_str("it's"), "\"it's\"");
        assert_eq!(python_list::<&str>(&[]), "[]");
        assert_eq!(python_list(&["a", "b@x"]), "['a', 'b@x']");
    }

    #[test]
    fn key_ignores_mapping_order_but_not_form() {
        let a = DatasetNames::map([("x", "a"), ("y", "b")]);
        let b = DatasetNames::map([("y", "b"), ("x", "a")]);
        assert_eq!(a.key(), b.key());
        assert_ne!(
            DatasetNames::from("a").key(),
            DatasetNames::from(["a"]).key()
        );
        let none = DatasetNames::None;
        let empty = DatasetNames::List(Vec::new());
        for (x, y) in [
            (&a, &b),
            (&none, &empty),
            (&none, &DatasetNames::from("a")),
            (&DatasetNames::from("a"), &DatasetNames::from(["a"])),
            (&a, &DatasetNames::map([("x", "a")])),
        ] {
            assert_eq!(x.same_key(y), x.key() == y.key(), "{x:?} {y:?}");
        }
    }
}
