//! Artifact paths: the checks that keep them inside their root (the rules
//! live in [`tandem_io::paths`]), joining, and percent-encoding for URLs.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tandem_io::{PathError, paths};

use crate::error::{Error, Result};

/// Characters left as they are in a path segment: those Python's
/// `urllib.parse.quote` keeps, which is what MLflow's client sends.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An artifact path that breaks [`tandem_io::paths`]' rules, as this crate's
/// error (same kinds: `unsafe_path`, `io`).
fn path_error(path: &str, e: PathError) -> Error {
    match e {
        PathError::Unsafe { path, reason } => Error::UnsafePath {
            path,
            message: reason.to_owned(),
        },
        PathError::Io { path, source } => Error::io(path, source),
        other => Error::UnsafePath {
            path: path.to_owned(),
            message: other.to_string(),
        },
    }
}

/// Checks that `path` stays inside its artifact root and normalizes it:
/// `/`-separated, no empty or `.` segments. The root itself is `""`.
///
/// The rules are [`tandem_io::paths::relative`]'s: no absolute paths, `..`
/// segments, backslashes, drive prefixes, URLs or NUL bytes.
pub(crate) fn relative(path: &str) -> Result<String> {
    paths::relative(path).map_err(|e| path_error(path, e))
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

/// `root/rel` on the local filesystem, `rel` checked by [`relative`]
/// (`""` is `root` itself). Lexical only, which is enough for the local
/// store's own files; a download uses [`download_path`].
pub(crate) fn local_join(root: &Path, rel: &str) -> Result<PathBuf> {
    let rel = relative(rel)?;
    if rel.is_empty() {
        return Ok(root.to_path_buf());
    }
    paths::join_inside(root, &rel).map_err(|e| path_error(&rel, e))
}

/// Where a downloaded `rel` is written under `dst` (which must exist):
/// [`local_join`], also refused when a symlink already on the way
/// (`dst/model` → `~/.ssh`) would take the write outside `dst`. The path
/// returned is the lexical one, so callers see `dst/<rel>` as they asked.
pub(crate) fn download_path(dst: &Path, rel: &str) -> Result<PathBuf> {
    let out = local_join(dst, rel)?;
    if out != dst {
        paths::resolve_inside(dst, rel).map_err(|e| path_error(rel, e))?;
    }
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
        assert_eq!(
            local_join(Path::new("/tmp/d"), "").unwrap(),
            Path::new("/tmp/d")
        );
    }

    #[cfg(unix)]
    #[test]
    fn downloads_never_follow_a_symlink_out_of_the_destination() {
        let outside = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir(dst.path().join("model")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dst.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(dst.path().join("model"), dst.path().join("inner")).unwrap();

        let err = download_path(dst.path(), "escape/id_ed25519").unwrap_err();
        assert_eq!(err.kind(), "unsafe_path", "{err}");
        assert_eq!(
            download_path(dst.path(), "inner/MLmodel").unwrap(),
            dst.path().join("inner/MLmodel")
        );
        assert_eq!(
            download_path(dst.path(), "new/dir/file.txt").unwrap(),
            dst.path().join("new/dir/file.txt")
        );
        assert_eq!(download_path(dst.path(), "").unwrap(), dst.path());
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
