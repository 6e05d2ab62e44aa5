//! Kedro-compatible dataset versioning: timestamps, validation and layout.
//!
//! A versioned dataset at `<filepath>` stores each version at
//! `<filepath>/<version>/<basename of filepath>`. Versions are UTC timestamps
//! `YYYY-MM-DDThh.mm.ss.sssZ`, so the lexicographically greatest is the newest.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::Error;
use crate::location::unsafe_reason;

/// The millisecond of the last timestamp this process handed out.
static LAST_MILLIS: AtomicI64 = AtomicI64::new(i64::MIN);

/// A new save version, Kedro's `generate_timestamp()`: UTC, millisecond precision.
///
/// Unlike Kedro's, it never returns the same value twice in a process: two
/// catalogs (two runs) created in the same millisecond would otherwise share
/// a save version and the second save of a versioned dataset would fail. A
/// call in a millisecond already used takes the next one, so values stay in
/// Kedro's format and in time order, running ahead of the clock only while
/// more than a thousand are asked for per second. Separate processes can
/// still pick the same value; the create-only save of a versioned file
/// ([`crate::FileTarget::write`]) then refuses the second one.
///
/// ```
/// let v = tandem_catalog::generate_timestamp();
/// assert_eq!(v.len(), "2026-11-27T03.22.14.996Z".len());
/// assert!(v.ends_with('Z'));
/// assert!(tandem_catalog::generate_timestamp() > v);
/// ```
pub fn generate_timestamp() -> String {
    let now = chrono::Utc::now().timestamp_millis();
    let mut last = LAST_MILLIS.load(Ordering::Relaxed);
    let millis = loop {
        // Also keeps the order if the wall clock steps back.
        let next = now.max(last.saturating_add(1));
        match LAST_MILLIS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(current) => last = current,
        }
    };
    format_millis(millis)
}

/// Kedro's `%Y-%m-%dT%H.%M.%S.%fZ` truncated to milliseconds.
fn format_millis(millis: i64) -> String {
    // Out of chrono's range only after the year 262143; the clock's own
    // reading is the best fallback there is.
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_else(chrono::Utc::now)
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
    /// Whether a save may replace an existing save version. Off, a second
    /// save under one version fails ([`Error::VersionExists`]); on, it is
    /// for a run given its id that is being re-run (a retried task), whose
    /// earlier try saved what is replaced.
    pub overwrite: bool,
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
    fn timestamps_never_repeat_in_a_process() {
        // Far more calls than fit in one millisecond, from several threads.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..500).map(|_| generate_timestamp()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = Vec::new();
        for t in threads {
            let batch = t.join().unwrap();
            assert!(batch.windows(2).all(|w| w[0] < w[1]), "in order per thread");
            all.extend(batch);
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "no timestamp handed out twice");
    }

    #[test]
    fn formatted_milliseconds_match_kedro() {
        assert_eq!(format_millis(1_795_749_734_996), "2026-11-27T03.22.14.996Z");
        assert_eq!(format_millis(1_795_749_734_000), "2026-11-27T03.22.14.000Z");
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
            ..Default::default()
        };
        assert!(v.validated().is_err());
    }
}
