//! Keeping the server's file paths out of what clients read: a model's
//! errors (a dataset naming its file, a node's message, an I/O failure)
//! can carry absolute paths, which tell a remote client how the machine
//! is laid out. Paths inside the model directory become relative to it
//! (they name the model's own files, which its users know); any other
//! absolute path becomes `<path>`. The full message stays in the log.

use std::path::Path;

/// What an absolute path outside the model is replaced with.
const HIDDEN: &str = "<path>";

/// `message` with `model_dir` (as given and canonicalized) made relative
/// and every other absolute path hidden.
pub(crate) fn redact(message: &str, model_dir: Option<&Path>) -> String {
    let mut text = message.to_owned();
    if let Some(dir) = model_dir {
        let canonical = std::fs::canonicalize(dir).ok();
        // The longer root first, so one that contains the other is not cut in two.
        let mut roots: Vec<String> = [Some(dir.to_path_buf()), canonical]
            .into_iter()
            .flatten()
            .filter(|root| root.is_absolute())
            .map(|root| root.display().to_string().trim_end_matches('/').to_owned())
            .filter(|root| !root.is_empty())
            .collect();
        roots.sort_by_key(|root| std::cmp::Reverse(root.len()));
        roots.dedup();
        for root in roots {
            text = replace_root(&text, &root);
        }
    }
    hide_absolute_paths(&text)
}

/// `root/x` becomes `x`, `root` alone "the model directory"; `rootx`
/// (another directory sharing the prefix) is left to the generic pass.
fn replace_root(text: &str, root: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(root) {
        out.push_str(&rest[..at]);
        let after = &rest[at + root.len()..];
        match after.chars().next() {
            Some('/') => rest = &after[1..],
            Some(c) if c.is_alphanumeric() || "_-.".contains(c) => {
                out.push_str(root);
                rest = after;
            }
            _ => {
                out.push_str("the model directory");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces each token that starts like an absolute path (`/a`, `~/a`,
/// `C:\a`, `file:...`) at a word boundary with [`HIDDEN`].
fn hide_absolute_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if starts_boundary(previous) && starts_path(rest) {
            let token = rest.find(ends_token).unwrap_or(rest.len());
            // A sentence's punctuation after a path is not part of it.
            let path = rest[..token].trim_end_matches(['.', ':', ',', ';']);
            out.push_str(HIDDEN);
            rest = &rest[path.len()..];
            previous = path.chars().last();
            continue;
        }
        out.push(c);
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn starts_boundary(previous: Option<char>) -> bool {
    previous.is_none_or(|c| c.is_whitespace() || "'\"`([{<=,;".contains(c))
}

fn ends_token(c: char) -> bool {
    c.is_whitespace() || "'\"`<>()[]{},;|".contains(c)
}

fn starts_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    let after = |i: usize| bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace());
    match bytes {
        [b'/', ..] => after(1),
        [b'~', b'/', ..] => after(2),
        [drive, b':', b'\\' | b'/', ..] if drive.is_ascii_alphabetic() => after(3),
        _ => text
            .get(..5)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_are_hidden_and_the_rest_kept() {
        let cases = [
            (
                "cannot open /home/ann/secret.txt: No such file",
                "cannot open <path>: No such file",
            ),
            ("at '/srv/x y/z' now", "at '<path> y/z' now"),
            ("path=/etc/passwd.", "path=<path>."),
            ("see ~/notes and C:\\Users\\ann", "see <path> and <path>"),
            ("from file:///tmp/a.parquet", "from <path>"),
            ("(/var/lib/x)", "(<path>)"),
            ("x1 / x2 is 1/2, a/b stays", "x1 / x2 is 1/2, a/b stays"),
            (
                "s3://bucket/key and http://h/p",
                "s3://bucket/key and http://h/p",
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(redact(message, None), expected, "{message}");
        }
    }

    #[test]
    fn the_model_directory_becomes_relative() {
        let dir = Path::new("/data/models/churn");
        assert_eq!(
            redact(
                "cannot read /data/models/churn/artifacts/a.parquet in /data/models/churn",
                Some(dir)
            ),
            "cannot read artifacts/a.parquet in the model directory"
        );
        assert_eq!(redact("and /data/models/churn2/x", Some(dir)), "and <path>");
    }
}
