//! Where a dataset's bytes live: an object store plus a path inside it.
//!
//! Plain paths and `file://` URLs are local files, relative paths resolved
//! against the project root; `memory://` is a process-wide in-memory store;
//! `s3://`, `gs://`, `az://` and `http(s)://` need the matching cargo
//! feature. Every write is atomic: local writes are durable ones through
//! [`tandem_io::durable`] (a staged file, fsynced, renamed into place, the
//! directory fsynced; object_store's own local writes do not fsync), and
//! object-store writes are a single PUT or a multipart upload that only
//! becomes visible when completed. An S3 overwrite first aborts what killed
//! uploads of its key left (`crate::uploads`).

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use tandem_io::{PathError, paths};

use crate::credentials::Credentials;
use crate::error::Error;
use crate::runtime::block_on;

/// Payloads above this size are uploaded in parts, so no single request
/// carries more than this many bytes.
const MULTIPART_THRESHOLD: usize = 32 * 1024 * 1024;
const PART_SIZE: usize = 16 * 1024 * 1024;

/// A resolved storage location.
#[derive(Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    /// What users see: the filepath as a URL, never with credentials.
    url: String,
    /// The URL prefix before `path` (`s3://bucket/`, `/` for local files).
    base: String,
    /// The file on disk, for local locations: writes bypass the store.
    local: Option<std::path::PathBuf>,
    /// For S3: the cleanup of unfinished uploads an overwrite runs first.
    #[cfg(feature = "s3")]
    uploads: Option<Arc<crate::uploads::Uploads>>,
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({})", self.url)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

fn memory_store() -> Arc<dyn ObjectStore> {
    static MEMORY: OnceLock<Arc<InMemory>> = OnceLock::new();
    MEMORY.get_or_init(|| Arc::new(InMemory::new())).clone()
}

fn invalid(path: &str, reason: impl fmt::Display) -> Error {
    Error::InvalidPath {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

impl Location {
    /// Resolves a catalog `filepath`.
    ///
    /// ```
    /// use tandem_catalog::Location;
    /// let root = std::env::temp_dir();
    /// let loc = Location::resolve("data/01_raw/cars.csv", &root, None).unwrap();
    /// assert!(loc.url().ends_with("data/01_raw/cars.csv"));
    /// assert_eq!(loc.basename(), "cars.csv");
    /// let mem = Location::resolve("memory://scratch/x.json", &root, None).unwrap();
    /// assert_eq!(mem.url(), "memory://scratch/x.json");
    /// ```
    pub fn resolve(
        filepath: &str,
        project_root: &std::path::Path,
        credentials: Option<&Credentials>,
    ) -> Result<Location, Error> {
        let Some((scheme, rest)) = filepath.split_once("://") else {
            return Location::local(filepath, project_root);
        };
        match scheme {
            "file" => Location::local(rest, project_root),
            "memory" => Ok(Location {
                store: memory_store(),
                path: parse_object_path(filepath, rest)?,
                url: filepath.to_owned(),
                base: "memory://".to_owned(),
                local: None,
                #[cfg(feature = "s3")]
                uploads: None,
            }),
            _ => crate::backends::remote(scheme, filepath, credentials),
        }
    }

    pub(crate) fn remote(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        url: String,
        base: String,
    ) -> Self {
        Location {
            store,
            path,
            url,
            base,
            local: None,
            #[cfg(feature = "s3")]
            uploads: None,
        }
    }

    /// Overwrites of this location (and its children) first abort the
    /// abandoned unfinished uploads of their key.
    #[cfg(feature = "s3")]
    pub(crate) fn with_uploads(mut self, uploads: Arc<crate::uploads::Uploads>) -> Self {
        self.uploads = Some(uploads);
        self
    }

    fn local(path: &str, project_root: &std::path::Path) -> Result<Location, Error> {
        let joined = project_root.join(path);
        let absolute = if joined.is_absolute() {
            joined
        } else {
            std::env::current_dir()
                .map_err(|e| invalid(path, e))?
                .join(joined)
        };
        let absolute = normalize(&absolute);
        let object_path =
            ObjectPath::from_absolute_path(&absolute).map_err(|e| invalid(path, e))?;
        static LOCAL: OnceLock<Arc<dyn ObjectStore>> = OnceLock::new();
        let store = LOCAL
            .get_or_init(|| Arc::new(object_store::local::LocalFileSystem::new()))
            .clone();
        Ok(Location {
            store,
            url: format!("/{object_path}"),
            path: object_path,
            base: "/".to_owned(),
            local: Some(absolute),
            #[cfg(feature = "s3")]
            uploads: None,
        })
    }

    /// The absolute path on this machine's file system when the location is
    /// a local file, for readers that open files themselves (Polars' lazy scans).
    pub fn local_path(&self) -> Option<&std::path::Path> {
        self.local.as_deref()
    }

    /// The location as shown to users.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The path inside the store.
    pub fn path(&self) -> &ObjectPath {
        &self.path
    }

    /// The store holding the bytes.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The last path segment (`cars.csv`).
    pub fn basename(&self) -> &str {
        self.path.filename().unwrap_or("")
    }

    /// A child location; `segment` must be one plain path segment
    /// ([`tandem_io::paths::segment`]).
    pub fn child(&self, segment: &str) -> Result<Location, Error> {
        paths::segment(segment).map_err(|e| invalid(segment, unsafe_reason(&e)))?;
        let path = self.path.clone().join(segment);
        Ok(Location {
            store: Arc::clone(&self.store),
            url: format!("{}{path}", self.base),
            path,
            base: self.base.clone(),
            local: self.local.as_ref().map(|p| p.join(segment)),
            #[cfg(feature = "s3")]
            uploads: self.uploads.clone(),
        })
    }

    /// Reads the whole object.
    pub fn read(&self) -> Result<Bytes, Error> {
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        block_on(async move { store.get(&path).await?.bytes().await })?
            .map_err(|source| self.storage("read", source))
    }

    /// Writes the whole object atomically, replacing what was there.
    pub fn write(&self, payload: Bytes) -> Result<(), Error> {
        self.put(payload, PutMode::Overwrite)
    }

    /// Writes the object atomically only if nothing exists there yet.
    pub fn write_new(&self, payload: Bytes) -> Result<(), Error> {
        self.put(payload, PutMode::Create).map_err(|e| match e {
            Error::Storage {
                source: object_store::Error::AlreadyExists { .. },
                ..
            } => Error::VersionExists {
                path: self.url.clone(),
            },
            other => other,
        })
    }

    fn put(&self, payload: Bytes, mode: PutMode) -> Result<(), Error> {
        if let Some(file) = &self.local {
            let written = match mode {
                PutMode::Create => tandem_io::durable::write_new(file, &payload),
                _ => tandem_io::durable::write_file(file, &payload),
            };
            return written.map_err(|e| {
                let source = if e.kind() == std::io::ErrorKind::AlreadyExists {
                    object_store::Error::AlreadyExists {
                        path: self.url.clone(),
                        source: Box::new(e),
                    }
                } else {
                    // The same kind (`storage`) as the store's own errors.
                    object_store::Error::Generic {
                        store: "LocalFileSystem",
                        source: Box::new(e),
                    }
                };
                self.storage("write", source)
            });
        }
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        // Only an overwrite can follow an upload that was killed: a create
        // (a new version) is always one conditional PUT of a fresh key.
        #[cfg(feature = "s3")]
        let uploads = self
            .uploads
            .clone()
            .filter(|_| matches!(mode, PutMode::Overwrite));
        let result = block_on(async move {
            #[cfg(feature = "s3")]
            let _writing = match &uploads {
                Some(uploads) => {
                    // A courtesy to the bucket, like the local staging
                    // cleanup: it never fails the save.
                    let _ = uploads.abort_abandoned(&path).await;
                    Some(uploads.writing(&path))
                }
                None => None,
            };
            if payload.len() <= MULTIPART_THRESHOLD || !matches!(mode, PutMode::Overwrite) {
                let options = PutOptions {
                    mode,
                    ..PutOptions::default()
                };
                store
                    .put_opts(&path, PutPayload::from_bytes(payload), options)
                    .await
                    .map(|_| ())
            } else {
                let upload = store.put_multipart(&path).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
                writer.put(payload);
                writer.finish().await.map(|_| ())
            }
        })?;
        result.map_err(|source| self.storage("write", source))
    }

    /// Whether an object exists at exactly this path.
    pub fn exists(&self) -> Result<bool, Error> {
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        match block_on(async move { store.head(&path).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(self.storage("check", source)),
        }
    }

    /// Names of the immediate "subdirectories" of this location.
    pub fn child_dirs(&self) -> Result<Vec<String>, Error> {
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        let listing = block_on(async move { store.list_with_delimiter(Some(&path)).await })?
            .map_err(|source| self.storage("list", source))?;
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect())
    }

    /// Every object below this location (recursive), as paths relative to it.
    pub fn list_recursive(&self) -> Result<Vec<String>, Error> {
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        let metas: Vec<object_store::ObjectMeta> =
            block_on(async move { store.list(Some(&path)).try_collect().await })?
                .map_err(|source| self.storage("list", source))?;
        let prefix = format!("{}/", self.path);
        Ok(metas
            .into_iter()
            .filter_map(|m| m.location.as_ref().strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    fn storage(&self, operation: &'static str, source: object_store::Error) -> Error {
        Error::Storage {
            operation,
            location: self.url.clone(),
            source,
        }
    }
}

/// Resolves `.` and `..` lexically: a catalog may point outside the project
/// (`../shared/data.csv`), and object paths cannot contain such segments.
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The rule a path broke, as [`tandem_io::paths`] states it.
pub(crate) fn unsafe_reason(e: &PathError) -> &'static str {
    match e {
        PathError::Unsafe { reason, .. } => reason,
        _ => "not a plain path",
    }
}

/// An object key after the bucket (`memory://`, `s3://`...). Of
/// [`tandem_io::paths`]' rules only the `..` one applies: a backslash or a
/// `C:` segment is an ordinary character in an object key, not a separator
/// or a drive, and `Path::parse` refuses `.`, empty segments and control
/// characters itself.
pub(crate) fn parse_object_path(filepath: &str, path: &str) -> Result<ObjectPath, Error> {
    if path.split('/').any(|s| s == "..") {
        return Err(invalid(filepath, "'..' segments are not allowed"));
    }
    ObjectPath::parse(path.trim_start_matches('/')).map_err(|e| invalid(filepath, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_and_object_keys_cannot_climb() {
        let root =
            Location::resolve("memory://scratch/data", std::path::Path::new("/"), None).unwrap();
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
            let err = root.child(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_path", "{bad:?}: {err}");
        }
        assert_eq!(
            root.child("2026-11-27T03.22.14.996Z").unwrap().url(),
            "memory://scratch/data/2026-11-27T03.22.14.996Z"
        );
        for bad in ["x/../y", "../y", "x/.."] {
            let err = parse_object_path("memory://x", bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_path", "{bad}");
        }
        // A backslash is an ordinary character in an object key.
        assert!(parse_object_path("s3://b/a\\b", "a\\b").is_ok());
        // Local filepaths may leave the project, as Kedro allows.
        #[cfg(unix)]
        {
            let project = std::path::Path::new("/p/q");
            let shared = Location::resolve("../shared/data.csv", project, None).unwrap();
            assert_eq!(shared.url(), "/p/shared/data.csv");
        }
    }

    #[test]
    fn local_writes_are_staged_and_clean_up_after_dead_writers() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::resolve("out/x.csv", dir.path(), None).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        // pid_max is at most 2^22, so this pid belongs to no process.
        let dead = out.join(".x.csv.tandem-4194999-1f");
        let live = out.join(format!(".x.csv.tandem-{}-1f", std::process::id()));
        std::fs::write(&dead, b"half").unwrap();
        std::fs::write(&live, b"half").unwrap();
        loc.write(Bytes::from_static(b"a,b\n")).unwrap();
        assert_eq!(std::fs::read(out.join("x.csv")).unwrap(), b"a,b\n");
        assert!(!dead.exists(), "a dead writer's staged file is removed");
        assert!(live.exists(), "a live writer's staged file is kept");
        let err = loc.write_new(Bytes::from_static(b"c")).unwrap_err();
        assert_eq!(err.kind(), "version_exists", "{err}");
        let entries = std::fs::read_dir(&out).unwrap().count();
        assert_eq!(entries, 2, "only x.csv and the live staged file remain");
        let child = Location::resolve("out", dir.path(), None)
            .unwrap()
            .child("v1")
            .unwrap()
            .child("x.csv")
            .unwrap();
        child.write_new(Bytes::from_static(b"v")).unwrap();
        assert_eq!(std::fs::read(out.join("v1/x.csv")).unwrap(), b"v");
        assert_eq!(child.read().unwrap().as_ref(), b"v");
    }
}
