//! `--conf-source`: Kedro's configuration source, a directory or an archive
//! (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.zip`) as `kedro package` writes
//! it: one top-level folder holding `base/` and the environments.
//!
//! An archive is unpacked into a private temporary directory that lives as
//! long as the command. Entries that would land outside it (absolute paths,
//! `..`) and links of any kind are refused: an archive is someone else's file.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::error::Failure;

/// Archive kinds Kedro recognises, by file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tar,
    TarGz,
    TarBz2,
    Zip,
}

/// What `--conf-source` names, by its file name.
fn kind(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Some(Kind::TarGz)
    } else if name.ends_with(".tar.bz2") {
        Some(Kind::TarBz2)
    } else if name.ends_with(".tar") {
        Some(Kind::Tar)
    } else if name.ends_with(".zip") {
        Some(Kind::Zip)
    } else {
        None
    }
}

/// Whether `path` names an archive rather than a directory.
pub(crate) fn is_archive(path: &Path) -> bool {
    kind(path).is_some()
}

/// An unpacked archive: the configuration directory inside it, and the
/// temporary directory that holds it (removed on drop).
#[derive(Debug)]
pub(crate) struct Unpacked {
    /// `<tmp>/<the archive's last top-level folder>`.
    pub(crate) conf: PathBuf,
    _dir: tempfile::TempDir,
}

/// Unpacks `archive`; the configuration directory is its last top-level
/// folder, as Kedro reads `<last root entry>/<env>`.
pub(crate) fn unpack(archive: &Path) -> Result<Unpacked, Failure> {
    let fail = |reason: String| Failure::ConfSource {
        path: archive.display().to_string(),
        reason,
    };
    let Some(kind) = kind(archive) else {
        return Err(fail(
            "not an archive (.tar, .tar.gz, .tgz, .tar.bz2 or .zip)".into(),
        ));
    };
    let file = fs::File::open(archive).map_err(|e| fail(e.to_string()))?;
    let dir = tempfile::Builder::new()
        .prefix("tandem-conf-")
        .tempdir()
        .map_err(|e| fail(format!("cannot create a temporary directory: {e}")))?;
    let mut roots = BTreeSet::new();
    match kind {
        Kind::Tar => untar(file, dir.path(), &mut roots),
        Kind::TarGz => untar(flate2::read::GzDecoder::new(file), dir.path(), &mut roots),
        Kind::TarBz2 => untar(bzip2::read::BzDecoder::new(file), dir.path(), &mut roots),
        Kind::Zip => unzip(file, dir.path(), &mut roots),
    }
    .map_err(fail)?;
    let Some(root) = roots.last() else {
        return Err(fail(
            "the archive holds no folder: it needs one top-level folder with base/ in it, \
             as `kedro package` writes it"
                .into(),
        ));
    };
    let conf = dir.path().join(root);
    if !conf.is_dir() {
        return Err(fail(format!(
            "'{root}', its last top-level entry, is not a folder: the archive needs one \
             top-level folder with base/ in it"
        )));
    }
    Ok(Unpacked { conf, _dir: dir })
}

/// The path of an entry inside the destination, or why it may not be
/// written: only plain relative components are allowed.
fn inside(dest: &Path, name: &Path) -> Result<PathBuf, String> {
    let mut out = dest.to_path_buf();
    let mut any = false;
    for component in name.components() {
        match component {
            Component::Normal(part) => {
                out.push(part);
                any = true;
            }
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "entry '{}' would be written outside the archive's folder",
                    name.display()
                ));
            }
        }
    }
    if any {
        Ok(out)
    } else {
        Err(format!("entry '{}' has no name", name.display()))
    }
}

/// Records the top-level name of `name`; the root is the last in name order,
/// as a listing of the archive's root shows them.
fn note_root(name: &Path, roots: &mut BTreeSet<String>) {
    let first = name.components().find_map(|c| match c {
        Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
        _ => None,
    });
    if let Some(first) = first {
        roots.insert(first);
    }
}

fn untar(reader: impl Read, dest: &Path, roots: &mut BTreeSet<String>) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("unreadable tar entry: {e}"))?;
        let name = entry
            .path()
            .map_err(|e| format!("unreadable tar entry name: {e}"))?
            .into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let target = inside(dest, &name)?;
        note_root(&name, roots);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(|e| e.to_string())?;
        } else if kind.is_file() {
            write_file(&target, &mut entry)?;
        } else {
            return Err(format!(
                "entry '{}' is a link or special file; configuration archives may hold \
                 only folders and files",
                name.display()
            ));
        }
    }
    Ok(())
}

fn unzip(file: fs::File, dest: &Path, roots: &mut BTreeSet<String>) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("not a zip archive: {e}"))?;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| format!("unreadable zip entry: {e}"))?;
        let name = PathBuf::from(
            entry
                .name()
                .map_err(|e| format!("unreadable zip entry name: {e}"))?
                .into_owned(),
        );
        let target = inside(dest, &name)?;
        if entry.is_symlink() {
            return Err(format!(
                "entry '{}' is a link; configuration archives may hold only folders and files",
                name.display()
            ));
        }
        note_root(&name, roots);
        if entry.is_dir() {
            fs::create_dir_all(&target).map_err(|e| e.to_string())?;
        } else {
            write_file(&target, &mut entry)?;
        }
    }
    Ok(())
}

fn write_file(target: &Path, content: &mut impl Read) -> Result<(), String> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let mut out = fs::File::create(target).map_err(|e| e.to_string())?;
    io::copy(content, &mut out).map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        assert_eq!(kind(Path::new("conf.tar.gz")), Some(Kind::TarGz));
        assert_eq!(kind(Path::new("x/conf.TGZ")), Some(Kind::TarGz));
        assert_eq!(kind(Path::new("conf.tar.bz2")), Some(Kind::TarBz2));
        assert_eq!(kind(Path::new("conf.tar")), Some(Kind::Tar));
        assert_eq!(kind(Path::new("conf.zip")), Some(Kind::Zip));
        assert_eq!(kind(Path::new("conf")), None);
    }

    #[test]
    fn entries_stay_inside() {
        let dest = Path::new("/tmp/d");
        assert_eq!(
            inside(dest, Path::new("./conf/base/a.yml")).unwrap(),
            PathBuf::from("/tmp/d/conf/base/a.yml")
        );
        assert!(inside(dest, Path::new("../evil")).is_err());
        assert!(inside(dest, Path::new("conf/../../evil")).is_err());
        assert!(inside(dest, Path::new("/etc/passwd")).is_err());
    }

    #[test]
    fn the_last_top_level_folder_is_the_root() {
        let mut roots = BTreeSet::new();
        for name in ["b/x", "b/y", "./conf/base/z", "a/w"] {
            note_root(Path::new(name), &mut roots);
        }
        assert_eq!(roots.last().map(String::as_str), Some("conf"));
    }
}
