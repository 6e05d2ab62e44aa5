//! A YAML document's top-level keys read from its text, without parsing it:
//! what a reader needs to pick a schema (is this a `pipelines:` file, an
//! `ml:` document?) or to point at the line of a key, even in a file that
//! does not parse. Parsing a 100,000-node spec once to peek at its keys and
//! again to read it doubled the work of `tandem run`.

use std::collections::BTreeSet;

/// Unindented `key:` lines, scanned from the text so they are known even when
/// the YAML does not parse. Quoted keys are unquoted; comments, list items and
/// document markers are skipped.
pub fn top_level_keys(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(|c: char| !c.is_whitespace() && !"#-{}[]%".contains(c)))
        .filter_map(|(i, l)| key_of_line(l).map(|k| (i + 1, k)))
        .collect()
}

/// The key a `key: value` line defines, if it looks like one.
pub fn key_of_line(line: &str) -> Option<String> {
    let line = line.trim_start();
    let (key, rest) = match line.chars().next()? {
        quote @ ('"' | '\'') => {
            let close = line[1..].find(quote)? + 1;
            (&line[1..close], &line[close + 1..])
        }
        _ => {
            let colon = line
                .match_indices(':')
                .map(|(i, _)| i)
                .find(|&i| line[i + 1..].is_empty() || line[i + 1..].starts_with([' ', '\t']))?;
            (line[..colon].trim_end(), &line[colon..])
        }
    };
    rest.trim_start().starts_with(':').then(|| key.to_owned())
}

/// The top-level keys of a YAML document when its text shows them plainly:
/// a block mapping whose keys start at column 0. `None` for documents that
/// start as a flow mapping, a sequence or anything else the scan cannot
/// vouch for; the caller then parses to find out.
pub fn plain_top_level_keys(text: &str) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    // The lines of `str::lines` (`\r\n` endings too), found with memchr's
    // SIMD search rather than its char searcher.
    let bytes = text.as_bytes();
    let mut start = 0;
    while start <= bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n);
        let line = &text[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        start = end + 1;
        let Some(first) = line.chars().next() else {
            continue;
        };
        if first.is_whitespace() || first == '#' || line.starts_with("---") || first == '%' {
            continue;
        }
        if "{[-".contains(first) || line.starts_with("...") {
            return None;
        }
        keys.insert(key_of_line(line)?);
    }
    Some(keys)
}

/// A document's top-level keys, parsing only when the text cannot tell:
/// JSON is read with every value skipped (cheap), YAML scanned by
/// [`plain_top_level_keys`] and parsed only when that cannot vouch for it.
/// `None` when the document is not a mapping or does not parse; the real
/// parse then reports why.
pub fn document_keys(text: &str, json: bool) -> Option<BTreeSet<String>> {
    use std::collections::BTreeMap;

    use serde::de::IgnoredAny;

    if json {
        let keys: BTreeMap<String, IgnoredAny> = serde_json::from_str(text).ok()?;
        return Some(keys.into_keys().collect());
    }
    if let Some(keys) = plain_top_level_keys(text) {
        return Some(keys);
    }
    let keys: BTreeMap<String, IgnoredAny> = super::parse_yaml(text, None).ok()?;
    Some(keys.into_keys().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_mappings_show_their_keys_and_flow_documents_do_not() {
        let text = "# a spec\npipelines:\n  training:\n    nodes: []\n\"ml\": 1\n";
        let keys = plain_top_level_keys(text).unwrap();
        assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["ml", "pipelines"]);
        assert!(plain_top_level_keys("{pipelines: {}}").is_none());
        assert!(plain_top_level_keys("- a\n- b\n").is_none());
        assert!(plain_top_level_keys("just text\n").is_none());
        assert_eq!(
            top_level_keys("a: 1\n  b: 2\nc:\n"),
            [(1, "a".into()), (3, "c".into())]
        );
        let flow = document_keys("{pipelines: {a: 1}}", false).unwrap();
        assert!(flow.contains("pipelines"));
        assert!(document_keys(r#"{"ml": {}}"#, true).unwrap().contains("ml"));
        assert!(document_keys("[1, 2]", false).is_none());
    }
}
