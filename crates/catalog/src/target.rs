//! The storage side shared by every file dataset: one configured filepath,
//! optionally versioned the Kedro way (`<filepath>/<version>/<basename>`).

use std::sync::Mutex;

use bytes::Bytes;

use crate::error::Error;
use crate::location::Location;
use crate::registry::DatasetConfig;
use crate::versioning::{Version, generate_timestamp, validate_version};

/// Where a file dataset reads and writes.
#[derive(Debug)]
pub struct FileTarget {
    location: Location,
    version: Option<Version>,
    versions: Mutex<Resolved>,
}

/// The versions this target has settled on, Kedro's `_version_cache`.
#[derive(Debug, Default)]
struct Resolved {
    /// The unpinned load version, fixed by the first load or by a save: later
    /// loads use it rather than the newest on the store, so a run reads the
    /// version it saved even when an overlapping run has saved a newer one.
    load: Option<String>,
    /// The version the last save wrote, reported by [`FileTarget::current_location`].
    saved: Option<String>,
}

impl FileTarget {
    /// Resolves `filepath` for the entry (credentials, project root, versioning).
    pub fn new(config: &DatasetConfig, filepath: &str) -> Result<Self, Error> {
        let location =
            Location::resolve(filepath, &config.project_root, config.credentials.as_ref())?;
        let version = config.version.clone().map(Version::validated).transpose()?;
        Ok(FileTarget {
            location,
            version,
            versions: Mutex::default(),
        })
    }

    /// An unversioned target at `location`.
    pub fn at(location: Location) -> Self {
        FileTarget {
            location,
            version: None,
            versions: Mutex::default(),
        }
    }

    /// The configured filepath.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Whether the dataset is versioned.
    pub fn is_versioned(&self) -> bool {
        self.version.is_some()
    }

    fn versioned(&self, version: &str) -> Result<Location, Error> {
        validate_version(version)?;
        let basename = self.location.basename().to_owned();
        self.location.child(version)?.child(&basename)
    }

    /// The newest version that holds the file (lexicographic order of the
    /// timestamps), as Kedro resolves an unpinned load.
    pub fn latest_version(&self) -> Result<Option<String>, Error> {
        let basename = self.location.basename();
        let mut latest: Option<String> = None;
        for entry in self.location.list_recursive()? {
            if let Some((version, file)) = entry.split_once('/')
                && file == basename
                && latest.as_deref().is_none_or(|l| version > l)
            {
                latest = Some(version.to_owned());
            }
        }
        Ok(latest)
    }

    fn resolved(&self) -> std::sync::MutexGuard<'_, Resolved> {
        // The guarded values are plain strings, consistent after any panic.
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The version a load reads: the pinned one; else the one this target
    /// last saved or loaded; else the newest on the store, which is then kept
    /// for later loads (Kedro caches it the same way until a save or release).
    pub fn load_version(&self) -> Result<Option<String>, Error> {
        let Some(version) = &self.version else {
            return Ok(None);
        };
        if let Some(pinned) = &version.load {
            return Ok(Some(pinned.clone()));
        }
        if let Some(kept) = self.resolved().load.clone() {
            return Ok(Some(kept));
        }
        let latest = self
            .latest_version()?
            .ok_or_else(|| Error::VersionNotFound {
                path: format!("{}/*/{}", self.location.url(), self.location.basename()),
            })?;
        // Two threads racing on a first load may both list; the first to
        // store wins so every load of this target agrees on one version.
        Ok(Some(self.resolved().load.get_or_insert(latest).clone()))
    }

    /// Where a load reads: see [`FileTarget::load_version`].
    pub fn load_location(&self) -> Result<Location, Error> {
        match self.load_version()? {
            Some(version) => self.versioned(&version),
            None => Ok(self.location.clone()),
        }
    }

    /// Reads the bytes a load should see.
    pub fn read(&self) -> Result<Bytes, Error> {
        let location = self.load_location()?;
        if self.is_versioned() && !location.exists()? {
            return Err(Error::VersionNotFound {
                path: location.url().to_owned(),
            });
        }
        location.read()
    }

    /// Writes atomically; a versioned save goes to the save version (the
    /// run's, or a fresh timestamp) and never overwrites an existing one, so
    /// two runs that picked the same version fail loudly instead of one
    /// silently replacing the other's data. With [`Version::overwrite`] it
    /// replaces that version atomically: the run was given its id and is
    /// being re-run, so what is there is its own earlier try's.
    ///
    /// After a save, unpinned loads read the version just written. Kedro
    /// gets there by listing the store again after the save and caching the
    /// newest; taking the saved version directly closes the window in which
    /// an overlapping run's newer save would be picked up instead.
    pub fn write(&self, payload: Bytes) -> Result<(), Error> {
        let Some(version) = &self.version else {
            return self.location.write(payload);
        };
        // Kedro clears its version cache before a save: a failed save leaves
        // no stale load version behind.
        self.resolved().load = None;
        let save = version.save.clone().unwrap_or_else(generate_timestamp);
        let target = self.versioned(&save)?;
        if version.overwrite {
            target.write(payload)?;
        } else {
            target.write_new(payload)?;
        }
        let mut resolved = self.resolved();
        resolved.saved = Some(save.clone());
        resolved.load = Some(save);
        Ok(())
    }

    /// Forgets the load version kept by [`FileTarget::load_version`], as
    /// Kedro's `release` clears its version cache: the next unpinned load
    /// looks for the newest version again. The saved version is still
    /// reported by [`FileTarget::current_location`].
    pub fn release(&self) {
        self.resolved().load = None;
    }

    /// Whether a load would find data.
    pub fn exists(&self) -> Result<bool, Error> {
        match self.load_location() {
            Ok(location) => location.exists(),
            Err(Error::VersionNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The version the last save wrote, if any.
    pub fn saved_version(&self) -> Option<String> {
        self.resolved().saved.clone()
    }

    /// The file of the version last saved, or else the one a load would read.
    pub fn current_location(&self) -> Option<Location> {
        match self.saved_version() {
            Some(v) => self.versioned(&v).ok(),
            None => self.load_location().ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dir: &std::path::Path, version: Option<Version>) -> FileTarget {
        let mut config = DatasetConfig::new("ds", "TextDataset", serde_json::Map::new());
        config.project_root = dir.to_path_buf();
        config.version = version;
        FileTarget::new(&config, "data/out.txt").unwrap()
    }

    #[test]
    fn unversioned_writes_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path(), None);
        assert!(!t.exists().unwrap());
        t.write(Bytes::from_static(b"hello")).unwrap();
        assert_eq!(t.read().unwrap(), Bytes::from_static(b"hello"));
        assert!(dir.path().join("data/out.txt").is_file());
    }

    #[test]
    fn versioned_layout_latest_pinned_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = "2026-01-01T00.00.00.000Z";
        let v2 = "2026-01-02T00.00.00.000Z";
        let t1 = target(
            dir.path(),
            Some(Version {
                load: None,
                save: Some(v1.into()),
                ..Default::default()
            }),
        );
        assert!(!t1.exists().unwrap());
        assert_eq!(t1.read().unwrap_err().kind(), "version_not_found");
        t1.write(Bytes::from_static(b"one")).unwrap();
        assert!(
            dir.path()
                .join(format!("data/out.txt/{v1}/out.txt"))
                .is_file()
        );
        assert_eq!(
            t1.write(Bytes::from_static(b"again")).unwrap_err().kind(),
            "version_exists"
        );

        let t2 = target(
            dir.path(),
            Some(Version {
                load: None,
                save: Some(v2.into()),
                ..Default::default()
            }),
        );
        t2.write(Bytes::from_static(b"two")).unwrap();
        assert_eq!(t2.read().unwrap(), Bytes::from_static(b"two"));
        assert_eq!(t1.latest_version().unwrap().as_deref(), Some(v2));

        let pinned = target(
            dir.path(),
            Some(Version {
                load: Some(v1.into()),
                save: None,
                ..Default::default()
            }),
        );
        assert_eq!(pinned.read().unwrap(), Bytes::from_static(b"one"));
        assert_eq!(
            t2.current_location().unwrap().url(),
            t2.versioned(v2).unwrap().url()
        );
    }

    #[test]
    fn an_overwriting_save_replaces_its_version_and_loads_read_the_new_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = "2026-01-01T00.00.00.000Z";
        let at = |overwrite| Version {
            save: Some(v1.into()),
            overwrite,
            ..Default::default()
        };
        target(dir.path(), Some(at(false)))
            .write(Bytes::from_static(b"one"))
            .unwrap();
        let refused = target(dir.path(), Some(at(false)));
        let err = refused.write(Bytes::from_static(b"two")).unwrap_err();
        assert_eq!(err.kind(), "version_exists");
        assert_eq!(refused.read().unwrap(), Bytes::from_static(b"one"));

        let rerun = target(dir.path(), Some(at(true)));
        rerun.write(Bytes::from_static(b"two")).unwrap();
        assert_eq!(rerun.read().unwrap(), Bytes::from_static(b"two"));
        assert_eq!(rerun.saved_version().as_deref(), Some(v1));
        let reader = target(dir.path(), Some(Version::default()));
        assert_eq!(reader.read().unwrap(), Bytes::from_static(b"two"));
    }

    #[test]
    fn unsafe_versions_never_touch_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = DatasetConfig::new("ds", "TextDataset", serde_json::Map::new());
        config.project_root = dir.path().to_path_buf();
        config.version = Some(Version {
            load: Some("../../etc".into()),
            save: None,
            ..Default::default()
        });
        assert_eq!(
            FileTarget::new(&config, "x.txt").unwrap_err().kind(),
            "invalid_version"
        );
    }
}
