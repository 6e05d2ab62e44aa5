//! Artifact paths: validation against escaping their root, joining, and
//! percent-encoding for URLs.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, Result};

/// Characters left as they are in a path segment: those Python's
/// `urllib.parse.quote` keeps, which is what MLflow's client sends.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn unsafe_path(path: &str, message: &str) -> Error {
    Error::UnsafePath {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// Checks that `path` stays inside its artifact root and normalizes it:
/// `/`-separated, no empty or `.` segments. The root itself is `""`.
///
/// Refused: absolute paths, `..` segments, backslashes and drive prefixes
/// (which escape the root on Windows), and NUL bytes.
pub(crate) fn relative(path: &str) -> Result<String> {
    if path.starts_with('/') {
        return Err(unsafe_path(path, "absolute paths are not allowed"));
    }
    if path.contains('\\') || path.contains('\0') {
        return Err(unsafe_path(
            path,
            "backslashes and NUL bytes are not allowed",
        ));
    }
    let mut parts = Vec::new();
    for (i, part) in path.split('/').enumerate() {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path(path, "'..' would leave the artifact root")),
            p if i == 0 && p.len() >= 2 && p.as_bytes()[1] == b':' => {
                return Err(unsafe_path(path, "drive prefixes are not allowed"));
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Joins two normalized relative paths.
pub(crate) fn join(base: &str, rel: &str) -> String {
    match (base.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_owned(),
        (_, true) => base.to_owned(),
        _ => format!("{}/{}", base.trim_end_matches('/'), rel),
    }
}

/// The last segment of a relative path.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Percent-encodes each segment of a `/`-separated path.
pub(crate) fn encode(path: &str) -> String {
    path.split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `root/rel` on the local filesystem, after checking `rel` cannot escape.
pub(crate) fn local_join(root: &Path, rel: &str) -> Result<PathBuf> {
    let rel = relative(rel)?;
    let mut out = root.to_path_buf();
    out.extend(rel.split('/').filter(|p| !p.is_empty()));
    Ok(out)
}

/// Every file under `dir` (recursively), as (local path, `/`-separated path
/// relative to `dir`), sorted for deterministic upload order.
pub(crate) fn walk_files(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let entries = std::fs::read_dir(&path).map_err(|e| Error::io(&path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = join(&rel, &name);
            // Follow symlinks like MLflow's os.walk-based upload does.
            let meta = std::fs::metadata(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            if meta.is_dir() {
                stack.push((entry.path(), child_rel));
            } else {
                out.push((entry.path(), child_rel));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_paths_are_refused() {
        for bad in [
            "../x",
            "a/../../b",
            "/etc/passwd",
            "a\\..\\b",
            "C:/x",
            "a/..",
        ] {
            let err = relative(bad).unwrap_err();
            assert_eq!(err.kind(), "unsafe_path", "{bad}");
        }
        assert_eq!(relative("./a//b/./c.txt").unwrap(), "a/b/c.txt");
        assert_eq!(relative("").unwrap(), "");
        assert_eq!(relative("model..v2/x").unwrap(), "model..v2/x");
        assert!(local_join(Path::new("/tmp/d"), "x/../../y").is_err());
        assert_eq!(
            local_join(Path::new("/tmp/d"), "x/y").unwrap(),
            Path::new("/tmp/d/x/y")
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(
            encode("dir with space/a+b%.txt"),
            "dir%20with%20space/a%2Bb%25.txt"
        );
        assert_eq!(encode("ü/#?"), "%C3%BC/%23%3F");
        assert_eq!(join("a", "b/c"), "a/b/c");
        assert_eq!(basename("a/b/c.txt"), "c.txt");
    }
}
