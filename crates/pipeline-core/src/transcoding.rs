//! Kedro's `@` transcoding convention: `name@format` is the dataset `name`
//! read or written in another format. Graph edges and uniqueness use the
//! stripped name; sets returned to users keep the raw names.

use crate::error::Error;

/// The separator between a dataset name and its transcoding format.
pub const TRANSCODING_SEPARATOR: char = '@';

/// `"b@spark"` → `"b"`; names without `@` are returned unchanged.
pub fn strip_transcoding(name: &str) -> &str {
    name.split_once(TRANSCODING_SEPARATOR)
        .map_or(name, |(base, _)| base)
}

/// `"b@spark"` → `("b", "spark")`, `"b"` → `("b", "")`.
pub fn split_transcoding(name: &str) -> (&str, &str) {
    name.split_once(TRANSCODING_SEPARATOR).unwrap_or((name, ""))
}

/// Whether the name carries a transcoding suffix.
pub fn is_transcoded(name: &str) -> bool {
    name.contains(TRANSCODING_SEPARATOR)
}

/// Rejects names with more than one separator, as Kedro does.
pub(crate) fn check_separators(name: &str) -> Result<(), Error> {
    let count = name.matches(TRANSCODING_SEPARATOR).count();
    if count > 1 {
        return Err(Error::Transcoding {
            message: format!(
                "expected at most 1 transcoding separator ('@'), found {count} instead: '{name}'"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_splits() {
        assert_eq!(strip_transcoding("b@spark"), "b");
        assert_eq!(strip_transcoding("b"), "b");
        assert_eq!(split_transcoding("b@spark"), ("b", "spark"));
        assert_eq!(split_transcoding("b"), ("b", ""));
        assert!(is_transcoded("a@x") && !is_transcoded("a"));
    }

    #[test]
    fn two_separators_are_rejected() {
        let err = check_separators("a@b@c").unwrap_err();
        assert_eq!(err.kind(), "transcoding");
        assert!(err.to_string().contains("found 2"));
    }
}
