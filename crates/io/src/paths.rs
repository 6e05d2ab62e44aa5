//! The one set of rules for joining a path from outside to a root.
//!
//! A path from outside is anything tandem did not choose itself: an artifact
//! name sent to or listed by MLflow, a file named in a model directory's
//! MLmodel or catalog, a dataset version. Such a path is *relative* when it
//! is, once `.` and empty segments are dropped, a list of plain segments:
//!
//! - not absolute (`/etc/passwd`), no drive prefix (`C:`) and no URL
//!   (`s3://...`, `memory://...`);
//! - no `..` segment, anywhere (even `a/../b`, which a reader could take
//!   for a path that stays inside: rules are simpler when nothing climbs);
//! - no backslash (a separator on Windows) and no NUL byte.
//!
//! Lexical rules cannot see symlinks: `artifacts/model.json` may be a link
//! to `/home/me/.ssh/id_ed25519`. [`resolve_inside`] also resolves every
//! link on the way and refuses a path whose target leaves the root, so a
//! model directory (or an artifact download) cannot read or write through a
//! link to elsewhere. The Python loader written into models
//! (`code/tandem_pyfunc.py`) applies the same rules to the files it opens.
//!
//! ```
//! use std::path::Path;
//! use tandem_io::paths;
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir(root.path().join("artifacts"))?;
//! std::fs::write(root.path().join("artifacts/m.json"), "{}")?;
//! let inside = paths::resolve_inside(root.path(), "artifacts/m.json")?;
//! assert!(inside.ends_with("artifacts/m.json"));
//! for bad in ["../x", "a/../../x", "/etc/passwd", "s3://bucket/x", "a\\b", "C:/x"] {
//!     assert!(paths::join_inside(root.path(), bad).is_err(), "{bad}");
//! }
//! # #[cfg(unix)] {
//! std::os::unix::fs::symlink("/etc/hostname", root.path().join("artifacts/link"))?;
//! let err = paths::resolve_inside(root.path(), "artifacts/link").unwrap_err();
//! assert_eq!(err.kind(), "unsafe_path");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};

/// A path that breaks the rules, or a root that cannot be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path would leave its root (lexically or through a symlink).
    #[error("unsafe path '{path}': {reason}")]
    Unsafe {
        /// The path as given.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The root, or an existing part of the path, could not be resolved.
    #[error("cannot resolve {path}: {source}")]
    Io {
        /// The path being resolved.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl PathError {
    /// The stable kind: `unsafe_path` or `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            PathError::Unsafe { .. } => "unsafe_path",
            PathError::Io { .. } => "io",
        }
    }

    fn unsafe_path(path: &str, reason: &'static str) -> PathError {
        PathError::Unsafe {
            path: path.to_owned(),
            reason,
        }
    }
}

/// Checks `path` against the rules and normalizes it: `/`-separated, no
/// empty or `.` segments. The root itself is `""`.
pub fn relative(path: &str) -> Result<String, PathError> {
    if path.contains('\0') {
        return Err(PathError::unsafe_path(path, "NUL bytes are not allowed"));
    }
    if path.contains('\\') {
        return Err(PathError::unsafe_path(path, "backslashes are not allowed"));
    }
    if path.contains("://") {
        return Err(PathError::unsafe_path(path, "URLs are not allowed"));
    }
    if path.starts_with('/') {
        return Err(PathError::unsafe_path(
            path,
            "absolute paths are not allowed",
        ));
    }
    let mut parts = Vec::new();
    for (i, part) in path.split('/').enumerate() {
        match part {
            "" | "." => {}
            ".." => return Err(PathError::unsafe_path(path, "'..' would leave the root")),
            p if i == 0 && p.len() >= 2 && p.as_bytes()[1] == b':' => {
                return Err(PathError::unsafe_path(
                    path,
                    "drive prefixes are not allowed",
                ));
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Checks that `name` is one plain path segment (a file or folder name):
/// not empty, not `.` or `..`, no separator and no NUL byte.
pub fn segment(name: &str) -> Result<&str, PathError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(PathError::unsafe_path(
            name,
            "must be a file or folder name",
        ));
    }
    if name.contains(['/', '\\', '\0']) {
        return Err(PathError::unsafe_path(
            name,
            "separators and NUL bytes are not allowed in a name",
        ));
    }
    Ok(name)
}

/// `root/path` after checking the lexical rules; `path` must not be empty.
/// Use [`resolve_inside`] when the files may hold symlinks.
pub fn join_inside(root: &Path, path: &str) -> Result<PathBuf, PathError> {
    let normal = relative(path)?;
    if normal.is_empty() {
        return Err(PathError::unsafe_path(path, "the path is empty"));
    }
    let mut out = root.to_path_buf();
    out.extend(normal.split('/'));
    Ok(out)
}

/// `root/path` with every symlink on the way resolved, refused unless the
/// result stays inside `root` (itself resolved). The part of the path that
/// does not exist yet (a file about to be written) is appended as it is:
/// its segments passed the lexical rules, so it cannot climb out.
pub fn resolve_inside(root: &Path, path: &str) -> Result<PathBuf, PathError> {
    let joined = join_inside(root, path)?;
    let root = canonical(root)?;
    let mut existing = joined.as_path();
    let mut missing = Vec::new();
    let mut retries = 0;
    let resolved = loop {
        match existing.canonicalize() {
            Ok(resolved) => break resolved,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A dangling link is a link to somewhere else: refuse it
                // rather than let a later write create its target. Anything
                // else that exists now was created between the two calls
                // (a concurrent download making the same directory): look
                // again.
                match existing.symlink_metadata() {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        return Err(PathError::unsafe_path(
                            path,
                            "a symlink on the way points to nothing",
                        ));
                    }
                    Ok(_) if retries < 8 => {
                        retries += 1;
                        continue;
                    }
                    _ => {}
                }
                match (existing.file_name(), existing.parent()) {
                    (Some(name), Some(parent)) => {
                        missing.push(name.to_owned());
                        existing = parent;
                    }
                    _ => return Err(io_error(existing, e)),
                }
            }
            Err(e) => return Err(io_error(existing, e)),
        }
    };
    if !resolved.starts_with(&root) {
        return Err(PathError::unsafe_path(
            path,
            "a symlink on the way leads outside the root",
        ));
    }
    let mut out = resolved;
    out.extend(missing.iter().rev());
    Ok(out)
}

/// `root` with its own symlinks resolved (a root may be a link: `/tmp` on
/// macOS, a user's `~/models`).
fn canonical(root: &Path) -> Result<PathBuf, PathError> {
    root.canonicalize().map_err(|e| io_error(root, e))
}

fn io_error(path: &Path, source: io::Error) -> PathError {
    PathError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_paths_are_refused() {
        for bad in [
            "../x",
            "a/../../b",
            "a/..",
            "/etc/passwd",
            "a\\..\\b",
            "C:/x",
            "s3://bucket/x",
            "memory://x",
            "a\0b",
        ] {
            assert_eq!(relative(bad).unwrap_err().kind(), "unsafe_path", "{bad}");
        }
        assert_eq!(relative("./a//b/./c.txt").unwrap(), "a/b/c.txt");
        assert_eq!(relative("").unwrap(), "");
        assert_eq!(relative("model..v2/x").unwrap(), "model..v2/x");
        assert!(join_inside(Path::new("/tmp/d"), "").is_err());
        assert_eq!(
            join_inside(Path::new("/tmp/d"), "x/y").unwrap(),
            Path::new("/tmp/d/x/y")
        );
    }

    #[test]
    fn segments_are_plain_names() {
        assert_eq!(
            segment("2026-11-27T03.22.14.996Z").unwrap(),
            "2026-11-27T03.22.14.996Z"
        );
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            assert!(segment(bad).is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_must_stay_inside() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("artifacts");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("m.json"), "{}").unwrap();
        symlink(dir.join("m.json"), dir.join("inner")).unwrap();
        symlink(outside.path().join("secret"), dir.join("file_out")).unwrap();
        symlink(outside.path(), root.path().join("dir_out")).unwrap();
        symlink(root.path().join("gone"), dir.join("dangling")).unwrap();

        let inner = resolve_inside(root.path(), "artifacts/inner").unwrap();
        assert!(inner.ends_with("artifacts/m.json"));
        let new = resolve_inside(root.path(), "artifacts/new/file.txt").unwrap();
        assert!(new.ends_with("artifacts/new/file.txt"));
        for bad in [
            "artifacts/file_out",
            "dir_out/secret",
            "dir_out/new",
            "artifacts/dangling",
        ] {
            let err = resolve_inside(root.path(), bad).unwrap_err();
            assert_eq!(err.kind(), "unsafe_path", "{bad}: {err}");
        }
        // A root that is itself a link is fine.
        let link_root = outside.path().join("root_link");
        symlink(root.path(), &link_root).unwrap();
        assert!(resolve_inside(&link_root, "artifacts/m.json").is_ok());
    }
}
