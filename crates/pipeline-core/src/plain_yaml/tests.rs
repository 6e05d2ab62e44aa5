//! The subset reader agrees with the general parser on every document it
//! reads, and leaves the rest to it: checked on hand-picked documents and
//! on every one-character deletion and insertion of them.

use serde_json::{Value, json};

use super::parse;

/// What the general parser makes of `text`, with the spec settings.
fn general(text: &str) -> Option<Value> {
    crate::spec::parse_yaml_general::<Value>(text, None).ok()
}

/// Plain documents the subset reads, with what they mean.
fn read_cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "nodes:\n  - {name: n0, func: 'builtin:identity', inputs: 'params:start', outputs: d1}\n",
            json!({"nodes": [{"name": "n0", "func": "builtin:identity", "inputs": "params:start", "outputs": "d1"}]}),
        ),
        (
            "# a spec\nnodes:\n  - name: clean   # the first\n    func: builtin:identity\n    inputs: [raw, 'params:x']\n    outputs:\n      cleaned: clean\n  - pipeline:\n      namespace: model\n      nodes:\n        - {name: fit, func: p::fit, inputs: [clean], outputs: model}\n",
            json!({"nodes": [
                {"name": "clean", "func": "builtin:identity", "inputs": ["raw", "params:x"], "outputs": {"cleaned": "clean"}},
                {"pipeline": {"namespace": "model", "nodes": [{"name": "fit", "func": "p::fit", "inputs": ["clean"], "outputs": "model"}]}}
            ]}),
        ),
        (
            "tags:\n- a\n- b c\nempty:\nnull_value: ~\nother: Null\nlist: []\nmap: {}\n",
            json!({"tags": ["a", "b c"], "empty": null, "null_value": null, "other": null, "list": [], "map": {}}),
        ),
        (
            "url: http://host/path#frag\nquote: 'it''s # not a comment'\ndq: \"a: b\"\nplain: it's\ncolon: a:b\n",
            json!({"url": "http://host/path#frag", "quote": "it's # not a comment", "dq": "a: b", "plain": "it's", "colon": "a:b"}),
        ),
        (
            "'quoted key': v\n\"dq key\": w\nkey : spaced\nunicode: café ☕\n",
            json!({"quoted key": "v", "dq key": "w", "key": "spaced", "unicode": "café ☕"}),
        ),
        (
            "companies:\n  type: pandas.CSVDataset\n  filepath: ${globals:root}/companies.csv\n  load_args:\n    sep: ';'\n    na_values: ['-', NA]\n",
            json!({"companies": {"type": "pandas.CSVDataset", "filepath": "${globals:root}/companies.csv", "load_args": {"sep": ";", "na_values": ["-", "NA"]}}}),
        ),
        (
            "- a\n-\n  - b\n- k: v\n  k2: [x, {w: z}]\n",
            json!(["a", ["b"], {"k": "v", "k2": ["x", {"w": "z"}]}]),
        ),
    ]
}

/// Documents the subset leaves to the general parser.
const FALLBACK: &[&str] = &[
    "a: 1\n",
    "a: true\n",
    "a: yes\n",
    "a: .5\n",
    "a: &x b\nc: *x\n",
    "a: !!str b\n",
    "a: |\n  text\n",
    "a: >\n  text\n",
    "a: plain\n  continued\n",
    "a: [b,\n  c]\n",
    "a: \"esc\\n\"\n",
    "a: b\na: c\n",
    "{a: b}\n",
    "---\na: b\n",
    "a: b\n---\nc: d\n",
    "%YAML 1.2\n---\na: b\n",
    "a:\tb\n",
    "a: b\r\n",
    "1: one\n",
    "null: x\n",
    "a: b: c\n",
    "- - a\n",
    "a: 'open\n",
    "a: [b: c]\n",
    "a: y\n",
    "a: {b: Off}\n",
    "a: {b}\n",
    "",
];

#[test]
fn plain_documents_read_as_the_general_parser_reads_them() {
    for (text, expected) in read_cases() {
        assert_eq!(parse(text).as_ref(), Some(&expected), "subset: {text:?}");
        assert_eq!(general(text).as_ref(), Some(&expected), "general: {text:?}");
    }
}

#[test]
fn everything_else_is_left_to_the_general_parser() {
    for text in FALLBACK {
        assert_eq!(parse(text), None, "{text:?}");
    }
}

#[test]
fn deep_nesting_is_left_to_the_general_parser() {
    let deep = format!("a: {}{}\n", "[".repeat(500), "]".repeat(500));
    assert_eq!(parse(&deep), None);
    let mut block = String::new();
    for depth in 0..200 {
        block.push_str(&" ".repeat(depth * 2));
        block.push_str("k:\n");
    }
    assert_eq!(parse(&block), None);
}

/// Every document one edit away from a case: where the subset reads it, it
/// reads what the general parser reads, and never a document the general
/// parser refuses.
#[test]
fn every_one_character_edit_agrees_with_the_general_parser() {
    let mut texts: Vec<String> = read_cases().iter().map(|(t, _)| (*t).to_owned()).collect();
    texts.extend(FALLBACK.iter().map(|t| (*t).to_owned()));
    let mut read = 0;
    let mut checked = 0;
    for text in &texts {
        let chars: Vec<char> = text.chars().collect();
        let mut variants = Vec::new();
        for i in 0..chars.len() {
            let mut deleted = chars.clone();
            deleted.remove(i);
            variants.push(deleted.into_iter().collect::<String>());
            for c in [
                ' ', ':', '-', '#', '\'', '"', ',', '[', '{', '}', '\n', 'x', '1', '~',
            ] {
                let mut inserted = chars.clone();
                inserted.insert(i, c);
                variants.push(inserted.into_iter().collect::<String>());
            }
        }
        for variant in variants {
            checked += 1;
            if let Some(value) = parse(&variant) {
                read += 1;
                assert_eq!(
                    general(&variant).as_ref(),
                    Some(&value),
                    "the subset and the general parser disagree on {variant:?}"
                );
            }
        }
    }
    // The edits must exercise the subset, not only its fallback.
    assert!(read > checked / 10, "{read} of {checked} read");
}
