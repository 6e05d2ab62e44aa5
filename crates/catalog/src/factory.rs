//! Dataset factories: catalog keys with `{placeholders}` that configure every
//! dataset whose name they match, as Kedro's `CatalogConfigResolver` does.
//!
//! Matching follows Python's `parse` library as Kedro uses it: the pattern
//! must cover the whole name, literal text compares case-insensitively, and
//! each placeholder lazily takes one or more characters, so `{a}_{b}` on
//! `x_y_z` binds `a=x`, `b=y_z`. A small backtracking matcher with a table of
//! failed (part, position) states reproduces the lazy regex's choices in
//! O(parts × len²) instead of the exponential worst case of naive backtracking.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::error::Error;
use template::brace_spans;

mod template;

/// One piece of a pattern key.
#[derive(Clone, Debug, PartialEq)]
enum Part {
    /// Literal characters, compared case-insensitively.
    Literal(Vec<char>),
    /// A placeholder; `None` for the anonymous `{}`, which matches but binds nothing.
    Field(Option<String>),
}

/// A catalog key containing `{`, with the entry configuration it stands for.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    key: String,
    parts: Vec<Part>,
    config: Value,
    /// Whether a placeholder name repeats (`{a}_{a}`): later uses must then
    /// equal the first binding, which the failed-state table cannot express.
    repeats: bool,
}

/// Whether a catalog key is a dataset factory pattern (Kedro: contains `{`).
pub(crate) fn is_pattern(key: &str) -> bool {
    key.contains('{')
}

/// Characters outside placeholders: Kedro's first ranking criterion.
fn specificity(key: &str) -> usize {
    let covered: usize = brace_spans(key)
        .iter()
        .map(|&(s, e)| key[s..e].chars().count())
        .sum();
    key.chars().count() - covered
}

impl Pattern {
    /// Parses `key` and checks that `config` only uses the key's placeholders.
    pub(crate) fn new(key: &str, config: Value) -> Result<Pattern, Error> {
        let invalid = |why: String| Error::Pattern {
            message: format!("invalid dataset pattern '{key}': {why}"),
        };
        let mut parts = Vec::new();
        let mut names = BTreeSet::new();
        let mut repeats = false;
        let mut last = 0;
        let spans = brace_spans(key);
        for &(start, end) in &spans {
            if start > last {
                parts.push(Part::Literal(key[last..start].chars().collect()));
            }
            let name = &key[start + 1..end - 1];
            if name.contains(['{', ':', '!']) {
                return Err(invalid(format!(
                    "placeholder '{}' is not supported; write placeholders as {{name}}",
                    &key[start..end]
                )));
            }
            if name.is_empty() {
                parts.push(Part::Field(None));
            } else {
                repeats |= !names.insert(name.to_owned());
                parts.push(Part::Field(Some(name.to_owned())));
            }
            last = end;
        }
        if last < key.len() {
            parts.push(Part::Literal(key[last..].chars().collect()));
        }
        if parts
            .iter()
            .any(|p| matches!(p, Part::Literal(l) if l.contains(&'{')))
        {
            return Err(invalid("a '{' is never closed".to_owned()));
        }
        let pattern = Pattern {
            key: key.to_owned(),
            parts,
            config,
            repeats,
        };
        pattern.check_config_placeholders()?;
        Ok(pattern)
    }

    /// The key as written.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The entry configuration, placeholders unfilled.
    pub(crate) fn config(&self) -> &Value {
        &self.config
    }

    fn specificity(&self) -> usize {
        specificity(&self.key)
    }

    /// Kedro's rule: every `{...}` in a string value must appear in the key.
    fn check_config_placeholders(&self) -> Result<(), Error> {
        let unknown = template::unknown_placeholders(&self.key, &self.config);
        if unknown.is_empty() {
            return Ok(());
        }
        // Kedro prints a Python set of strings; sorted here so the message is stable.
        let listed: Vec<String> = unknown.iter().map(|p| format!("'{p}'")).collect();
        Err(Error::Pattern {
            message: format!(
                "Incorrect dataset configuration provided. Keys used in the configuration {{{}}} \
                 should present in the dataset pattern name {}.",
                listed.join(", "),
                self.key
            ),
        })
    }

    /// The placeholder bindings if `name` matches the whole pattern.
    pub(crate) fn matches(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let text: Vec<char> = name.chars().collect();
        let mut spans = vec![(0, 0); self.parts.len()];
        let mut failed = HashSet::new();
        if !self.match_from(0, 0, &text, &mut spans, &mut failed) {
            return None;
        }
        let mut bindings = BTreeMap::new();
        for (part, &(start, end)) in self.parts.iter().zip(&spans) {
            if let Part::Field(Some(field)) = part {
                bindings
                    .entry(field.clone())
                    .or_insert_with(|| text[start..end].iter().collect());
            }
        }
        Some(bindings)
    }

    fn match_from(
        &self,
        part: usize,
        pos: usize,
        text: &[char],
        spans: &mut [(usize, usize)],
        failed: &mut HashSet<(usize, usize)>,
    ) -> bool {
        let Some(current) = self.parts.get(part) else {
            return pos == text.len();
        };
        if failed.contains(&(part, pos)) {
            return false;
        }
        let found = match current {
            Part::Literal(literal) => {
                starts_with_ignore_case(&text[pos..], literal)
                    && self.match_from(part + 1, pos + literal.len(), text, spans, failed)
            }
            Part::Field(field) => {
                let earlier = field
                    .as_ref()
                    .and_then(|f| self.earlier_binding(part, f, spans));
                match earlier {
                    Some((start, end)) => {
                        let bound: Vec<char> = text[start..end].to_vec();
                        spans[part] = (pos, pos + bound.len());
                        starts_with_ignore_case(&text[pos..], &bound)
                            && self.match_from(part + 1, pos + bound.len(), text, spans, failed)
                    }
                    None => (pos + 1..=text.len()).any(|end| {
                        spans[part] = (pos, end);
                        self.match_from(part + 1, end, text, spans, failed)
                    }),
                }
            }
        };
        if !found && !self.repeats {
            failed.insert((part, pos));
        }
        found
    }

    /// Where the first use of a repeated placeholder matched.
    fn earlier_binding(
        &self,
        part: usize,
        field: &str,
        spans: &[(usize, usize)],
    ) -> Option<(usize, usize)> {
        self.parts[..part]
            .iter()
            .position(|p| matches!(p, Part::Field(Some(f)) if f == field))
            .map(|i| spans[i])
    }

    /// The configuration for `name`, placeholders filled from `bindings`.
    ///
    /// A name becomes part of a path here, and names come from pipelines
    /// (and their users), so the filled `filepath` may not leave where the
    /// pattern's own text puts it: no `..` segment, absolute path, URL,
    /// backslash or NUL that the template did not already have.
    pub(crate) fn resolve(
        &self,
        name: &str,
        bindings: &BTreeMap<String, String>,
    ) -> Result<Value, Error> {
        let filled = template::fill(&self.config, bindings).map_err(|why| Error::Pattern {
            message: format!("dataset pattern '{}': {why}", self.key),
        })?;
        if let (Some(Value::String(template)), Some(Value::String(path))) =
            (self.config.get("filepath"), filled.get("filepath"))
            && let Some(reason) = escapes(template, path)
        {
            return Err(Error::InvalidPath {
                path: path.clone(),
                reason: format!(
                    "dataset '{name}' fills pattern '{}' with a path that {reason}; dataset \
                     names used in file paths must be plain names",
                    self.key
                ),
            });
        }
        Ok(filled)
    }
}

/// Why `filled` leaves the place its `template` names, if it does.
fn escapes(template: &str, filled: &str) -> Option<&'static str> {
    let climbs = |p: &str| p.split(['/', '\\']).any(|s| s == "..");
    let absolute = |p: &str| p.starts_with(['/', '\\']) || p.get(1..2) == Some(":");
    if climbs(filled) && !climbs(template) {
        Some("climbs out with '..'")
    } else if absolute(filled) && !absolute(template) {
        Some("is absolute")
    } else if filled.contains("://") && !template.contains("://") {
        Some("is a URL")
    } else if filled.contains(['\\', '\0']) && !template.contains(['\\', '\0']) {
        Some("holds a backslash or NUL byte")
    } else {
        None
    }
}

fn starts_with_ignore_case(text: &[char], prefix: &[char]) -> bool {
    text.len() >= prefix.len()
        && text
            .iter()
            .zip(prefix)
            .all(|(a, b)| a == b || a.to_lowercase().eq(b.to_lowercase()))
}

/// The catalog's patterns in Kedro's resolution order, with the user catch-all
/// (a pattern with no characters outside placeholders) kept apart.
#[derive(Clone, Debug, Default)]
pub(crate) struct PatternSet {
    ranked: Vec<Pattern>,
    catch_all: Option<Pattern>,
}

impl PatternSet {
    /// Ranks patterns: more characters outside placeholders first, then more
    /// placeholders (counted as Kedro does, by `{`), then alphabetically.
    pub(crate) fn new(patterns: Vec<Pattern>) -> Result<PatternSet, Error> {
        let mut ranked = patterns;
        ranked.sort_by_cached_key(|p| {
            (
                Reverse(p.specificity()),
                Reverse(p.key.matches('{').count()),
                p.key.clone(),
            )
        });
        let catch_alls: Vec<&str> = ranked
            .iter()
            .filter(|p| p.specificity() == 0)
            .map(Pattern::key)
            .collect();
        if catch_alls.len() > 1 {
            return Err(Error::Pattern {
                message: format!(
                    "Multiple catch-all patterns found in the catalog: {}. Only one catch-all \
                     pattern is allowed, remove the extras.",
                    catch_alls.join(", ")
                ),
            });
        }
        // Zero specificity sorts last, so a catch-all can only be the final pattern.
        let catch_all = if catch_alls.is_empty() {
            None
        } else {
            ranked.pop()
        };
        Ok(PatternSet { ranked, catch_all })
    }

    /// The first pattern matching `name` (the catch-all last) and its bindings.
    pub(crate) fn find(&self, name: &str) -> Option<(&Pattern, BTreeMap<String, String>)> {
        self.ranked
            .iter()
            .chain(&self.catch_all)
            .find_map(|p| p.matches(name).map(|b| (p, b)))
    }

    /// Pattern keys in resolution order, the catch-all last.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.ranked
            .iter()
            .chain(&self.catch_all)
            .map(|p| p.key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pattern(key: &str) -> Pattern {
        Pattern::new(key, json!({"type": "MemoryDataset"})).unwrap()
    }

    fn bind(key: &str, name: &str) -> Option<Vec<(String, String)>> {
        pattern(key).matches(name).map(|b| b.into_iter().collect())
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn placeholders_match_lazily_over_the_whole_name() {
        assert_eq!(
            bind("{a}_{b}", "x_y_z"),
            Some(pairs(&[("a", "x"), ("b", "y_z")]))
        );
        assert_eq!(
            bind("{name}_data", "cars_data"),
            Some(pairs(&[("name", "cars")]))
        );
        assert_eq!(bind("{name}_data", "cars_data_x"), None);
        assert_eq!(
            bind("{name}_data", "_data"),
            None,
            "a placeholder needs one character"
        );
        assert_eq!(bind("pre_{x}", "pre_"), None);
        assert_eq!(
            bind("{ns}.{name}", "a.b.c"),
            Some(pairs(&[("name", "b.c"), ("ns", "a")]))
        );
    }

    #[test]
    fn literals_compare_case_insensitively_and_bindings_keep_case() {
        assert_eq!(
            bind("{name}_DATA", "Cars_data"),
            Some(pairs(&[("name", "Cars")]))
        );
        assert_eq!(bind("Été_{x}", "été_Ω"), Some(pairs(&[("x", "Ω")])));
    }

    #[test]
    fn repeated_and_anonymous_placeholders() {
        assert_eq!(bind("{a}_{a}", "x_x"), Some(pairs(&[("a", "x")])));
        assert_eq!(bind("{a}_{a}", "X_x"), Some(pairs(&[("a", "X")])));
        assert_eq!(bind("{a}_{a}", "x_y"), None);
        assert_eq!(bind("{}_{b}", "x_y"), Some(pairs(&[("b", "y")])));
    }

    #[test]
    fn adversarial_names_stay_fast() {
        let p = pattern("{a}a{b}a{c}a{d}a{e}a{f}b");
        let name = "a".repeat(2000);
        assert!(p.matches(&name).is_none());
    }

    #[test]
    fn invalid_keys_are_rejected() {
        for key in ["{a:d}_x", "{a!r}_x", "x_{a", "{a}_{b"] {
            let err = Pattern::new(key, json!({})).unwrap_err();
            assert_eq!(err.kind(), "dataset_pattern", "{key}");
        }
    }

    #[test]
    fn ranking_is_specificity_then_placeholders_then_name() {
        let set = PatternSet::new(
            [
                "{a}",
                "{x}_{y}_data",
                "{name}_data",
                "b_{name}_data",
                "a_{name}_data",
                "{ns}.{name}_data",
            ]
            .into_iter()
            .map(pattern)
            .collect(),
        )
        .unwrap();
        assert_eq!(
            set.keys(),
            [
                "a_{name}_data",
                "b_{name}_data",
                "{ns}.{name}_data",
                "{x}_{y}_data",
                "{name}_data",
                "{a}"
            ]
        );
        let (best, bindings) = set.find("a.cars_data").unwrap();
        assert_eq!(best.key(), "{ns}.{name}_data");
        assert_eq!(bindings["ns"], "a");
        assert_eq!(set.find("anything").unwrap().0.key(), "{a}");
    }

    #[test]
    fn filled_paths_stay_where_the_template_puts_them() {
        let p = Pattern::new(
            "{name}",
            json!({"type": "JSONDataset", "filepath": "data/{name}.json"}),
        )
        .unwrap();
        // `data//etc/x.json` stays inside `data/`: only leaving it is refused.
        for bad in ["../../outside/x", "a/../../b", "s3://bucket/x", "a\\..\\b"] {
            let bindings = p.matches(bad).unwrap();
            let err = p.resolve(bad, &bindings).unwrap_err();
            assert_eq!(err.kind(), "invalid_path", "{bad}");
            assert!(err.to_string().contains(bad) || bad.contains('\\'), "{err}");
        }
        let ok = p.matches("companies.raw").unwrap();
        assert_eq!(
            p.resolve("companies.raw", &ok).unwrap()["filepath"],
            "data/companies.raw.json"
        );
        let bare = Pattern::new(
            "{name}",
            json!({"type": "JSONDataset", "filepath": "{name}"}),
        )
        .unwrap();
        let bindings = bare.matches("/etc/passwd").unwrap();
        assert_eq!(
            bare.resolve("/etc/passwd", &bindings).unwrap_err().kind(),
            "invalid_path"
        );
        // A template that itself climbs is the user's own configuration.
        let shared = Pattern::new("{name}", json!({"filepath": "../shared/{name}.csv"})).unwrap();
        let bindings = shared.matches("x").unwrap();
        assert!(shared.resolve("x", &bindings).is_ok());
    }

    #[test]
    fn two_catch_alls_are_an_error() {
        let err = PatternSet::new(vec![pattern("{default}"), pattern("{a}{b}")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multiple catch-all patterns found in the catalog: {a}{b}, {default}. Only one \
             catch-all pattern is allowed, remove the extras."
        );
    }

    #[test]
    fn specificity_counts_characters_outside_braces() {
        assert_eq!(specificity("{a}"), 0);
        assert_eq!(specificity("{a}{b}"), 0);
        assert_eq!(specificity("é_{a}"), 2);
        assert_eq!(specificity("{ns}.{name}_data"), 6);
    }
}
