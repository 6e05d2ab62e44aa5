//! Where embedded executables run from: a private per-user directory,
//! `<cache>/<sha256>/<name>`, shared by every model carrying the same
//! executable.
//!
//! Whoever can write a file that tandem later executes can run code as the
//! user, so the cache must be the user's alone: its directories are 0700
//! and owned by the current user, a group- or world-writable one (or one
//! owned by someone else, or a symlink) is refused rather than used, and
//! it is never in the shared temporary directory. A file found in the
//! cache is hashed again before every use; one whose bytes changed is
//! replaced, never run.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// A private directory of verified executables (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutableCache {
    root: PathBuf,
}

impl ExecutableCache {
    /// The user's cache: `$XDG_CACHE_HOME/tandem/executables`, else
    /// `$HOME/.cache/tandem/executables`. With neither set (to an absolute
    /// path) it is an error: the shared temporary directory is no place
    /// for files that will be executed.
    pub fn user() -> Result<Self, Error> {
        Self::from_env(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
    }

    fn from_env(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Result<Self, Error> {
        // The XDG spec: a relative XDG_CACHE_HOME is to be ignored.
        let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
        let base = absolute(xdg_cache_home)
            .or_else(|| absolute(home).map(|h| h.join(".cache")))
            .ok_or_else(|| Error::ExecutableCache {
                path: "$XDG_CACHE_HOME or $HOME".to_owned(),
                message: "neither is set to an absolute path, and a model's executable runs only \
                          from a private per-user cache (never the shared temporary directory): \
                          set XDG_CACHE_HOME or HOME to a directory of your own"
                    .to_owned(),
            })?;
        Ok(Self::at(base.join("tandem").join("executables")))
    }

    /// A cache in `root` (created on first use, 0700).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        ExecutableCache { root: root.into() }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cached executable with `sha256` and `size`, named `name`: the
    /// existing file when it still hashes to them, else the one `write`
    /// produces (its returned size and SHA-256 must match too) under a
    /// staged name, renamed into place once synced.
    pub(crate) fn executable(
        &self,
        sha256: &str,
        size: u64,
        name: &str,
        write: impl FnOnce(&mut File) -> Result<(u64, String), Error>,
    ) -> Result<PathBuf, Error> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(Error::Executable {
                path: name.to_owned(),
                message: format!("its recorded SHA-256 '{sha256}' is not 64 lowercase hex digits"),
            });
        }
        private_dir(&self.root)?;
        let dir = self.root.join(sha256);
        private_dir(&dir)?;
        let cached = dir.join(name);
        if std::fs::symlink_metadata(&cached).is_ok() {
            private_file(&cached)?;
            let file = File::open(&cached).map_err(Error::io("read", &cached))?;
            let found = super::executable::hash(file, None, &cached, &cached)?;
            if found == (size, sha256.to_owned()) {
                return Ok(cached);
            }
            tracing::warn!(
                "the cached executable {} no longer has the bytes it was verified with \
                 (size {}, sha256 {}); replacing it",
                cached.display(),
                found.0,
                found.1
            );
            std::fs::remove_file(&cached).map_err(Error::io("remove", &cached))?;
        }
        let partial =
            tandem_io::durable::create_staging_file(&cached).map_err(Error::io("create", &dir))?;
        let installed = install(&partial, &cached, sha256, size, write);
        if installed.is_err() {
            // Best effort: the install's error matters more than leftovers.
            let _ = std::fs::remove_file(&partial);
        }
        installed.map(|()| cached)
    }
}

/// Writes the staged file, checks what was written, makes it executable by
/// the user alone, syncs and renames it into place.
fn install(
    partial: &Path,
    cached: &Path,
    sha256: &str,
    size: u64,
    write: impl FnOnce(&mut File) -> Result<(u64, String), Error>,
) -> Result<(), Error> {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(partial)
        .map_err(Error::io("write", partial))?;
    let written = write(&mut out)?;
    if written != (size, sha256.to_owned()) {
        return Err(Error::Executable {
            path: cached.display().to_string(),
            message: format!(
                "the model's executable unpacks to other bytes than it records (size {}, \
                 sha256 {}; expected size {size}, sha256 {sha256}): the model was altered",
                written.0, written.1
            ),
        });
    }
    set_mode(partial, 0o700)?;
    out.sync_all().map_err(Error::io("sync", partial))?;
    drop(out);
    tandem_io::durable::rename_durably(partial, cached).map_err(Error::io("rename into", cached))
}

/// Creates `dir` (0700) unless it exists, then refuses it unless it is a
/// directory (not a symlink) owned by this user and writable by no one
/// else; a private one readable by others is narrowed to 0700.
fn private_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create", dir)(e)),
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let mode = check_owned(dir, true)?;
    if mode & 0o077 != 0 {
        set_mode(dir, 0o700)?;
    }
    Ok(())
}

/// Refuses a cached file that is not a regular file owned by this user
/// and writable by no one else.
fn private_file(file: &Path) -> Result<(), Error> {
    check_owned(file, false).map(|_| ())
}

/// The mode of `path` (0 off Unix) once it is known to be of the right
/// kind, not a symlink, owned by the effective user and not group- or
/// world-writable.
fn check_owned(path: &Path, directory: bool) -> Result<u32, Error> {
    let metadata = std::fs::symlink_metadata(path).map_err(Error::io("read", path))?;
    let refuse = |message: String| Error::ExecutableCache {
        path: path.display().to_string(),
        message,
    };
    let kind = metadata.file_type();
    if kind.is_symlink() || (directory && !kind.is_dir()) || (!directory && !kind.is_file()) {
        return Err(refuse(format!(
            "it is a {}, not a {}; remove it",
            if kind.is_symlink() {
                "symlink"
            } else {
                "file of another kind"
            },
            if directory {
                "directory"
            } else {
                "regular file"
            }
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if metadata.uid() != me {
            return Err(refuse(format!(
                "it is owned by uid {}, not by the current user (uid {me}): executables run only \
                 from a cache of your own",
                metadata.uid()
            )));
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(refuse(format!(
                "it is writable by other users (mode {mode:o}), so what it holds cannot be \
                 trusted; remove it (tandem recreates it, mode 700)"
            )));
        }
        Ok(mode)
    }
    #[cfg(not(unix))]
    Ok(0)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(Error::io("set the mode of", path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_cache_needs_an_absolute_xdg_cache_home_or_home() {
        let cache = ExecutableCache::from_env(Some("/x/cache".into()), Some("/home/u".into()));
        assert_eq!(
            cache.unwrap().root(),
            Path::new("/x/cache/tandem/executables")
        );
        let cache = ExecutableCache::from_env(Some("rel".into()), Some("/home/u".into()));
        assert_eq!(
            cache.unwrap().root(),
            Path::new("/home/u/.cache/tandem/executables")
        );
        for (xdg, home) in [(None, None), (Some("rel"), Some("")), (None, Some("home"))] {
            let err =
                ExecutableCache::from_env(xdg.map(Into::into), home.map(Into::into)).unwrap_err();
            assert_eq!(err.kind(), "executable_cache");
            assert!(err.to_string().contains("HOME"), "{err}");
        }
    }
}
