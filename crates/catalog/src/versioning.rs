//! Kedro-compatible dataset versioning: timestamps, validation and layout.
//!
//! A versioned dataset at `<filepath>` stores each version at
//! `<filepath>/<version>/<basename of filepath>`. Versions are UTC timestamps
//! `YYYY-MM-DDThh.mm.ss.sssZ`, so the lexicographically greatest is the newest.

use crate::error::Error;
use crate::location::unsafe_reason;

/// A new save version, Kedro's `generate_timestamp()`: UTC, millisecond precision.
///
/// ```
/// let v = tandem_catalog::generate_timestamp();
/// assert_eq!(v.len(), "2026-11-27T03.22.14.996Z".len());
/// assert!(v.ends_with('Z'));
/// ```
pub fn generate_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H.%M.%S%.3fZ")
        .to_string()
}

/// Refuses versions that could escape the dataset's directory: a version is
/// one path segment ([`tandem_io::paths::segment`]: not empty, `.` or `..`,
/// no separator), and has no control characters either.
pub fn validate_version(version: &str) -> Result<(), Error> {
    let reason = match tandem_io::paths::segment(version) {
        Err(e) => Some(unsafe_reason(&e)),
        Ok(_) if version.chars().any(char::is_control) => Some("it contains control characters"),
        Ok(_) => None,
    };
    match reason {
        Some(reason) => Err(Error::InvalidVersion {
            version: version.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The versions a dataset loads and saves, Kedro's `Version(load, save)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Version {
    /// The version to load; `None` loads the newest.
    pub load: Option<String>,
    /// The version to save under; `None` generates one at save time.
    pub save: Option<String>,
}

impl Version {
    /// Checks both versions with [`validate_version`].
    pub fn validated(self) -> Result<Self, Error> {
        for v in self.load.iter().chain(&self.save) {
            validate_version(v)?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_kedros_format_and_sort_by_time() {
        let a = generate_timestamp();
        let b = generate_timestamp();
        assert!(a <= b);
        let bytes = a.as_bytes();
        assert_eq!(bytes[4], b'-');
        assert_eq!(bytes[10], b'T');
        assert_eq!(bytes[13], b'.');
        assert_eq!(bytes[19], b'.');
        assert_eq!(bytes[23], b'Z');
    }

    #[test]
    fn unsafe_versions_are_rejected() {
        for bad in ["", "a/b", "a\\b", ".", "..", "x\n"] {
            let err = validate_version(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_version", "{bad:?}");
        }
        validate_version("2026-11-27T03.22.14.996Z").unwrap();
        let v = Version {
            load: Some("../x".into()),
            save: None,
        };
        assert!(v.validated().is_err());
    }
}
