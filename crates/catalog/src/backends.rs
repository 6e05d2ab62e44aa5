//! Remote object stores, each behind its cargo feature.
//!
//! Settings come from the standard environment variables (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`) overlaid with the entry's credentials from
//! credentials.yml, which accept both object_store's names and Kedro/fsspec's
//! (`key`, `secret`, `token`, `client_kwargs.endpoint_url`, `region_name`).
//! One setting is tandem's own: `stale_upload_age` (S3, whole seconds, one
//! hour by default), how long another process's unfinished upload must be
//! silent before an overwrite of its key aborts it (`crate::uploads`).

use std::sync::Arc;

use object_store::ObjectStore;

use crate::credentials::Credentials;
use crate::error::Error;
use crate::location::{Location, parse_object_path};

/// Renames fsspec's credential names to object_store's.
#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http")),
    allow(dead_code)
)]
fn options(
    scheme: &str,
    credentials: Option<&Credentials>,
) -> Result<Vec<(String, String)>, Error> {
    let Some(credentials) = credentials else {
        return Ok(Vec::new());
    };
    if let Some((key, kind)) = credentials.unusable_setting() {
        return Err(Error::InvalidConfig {
            file: None,
            line: None,
            entry: None,
            message: format!(
                "credentials setting '{key}' is {kind}; storage settings are strings, numbers \
                 or booleans"
            ),
        });
    }
    let mut out = Vec::new();
    for (key, value) in credentials.flattened() {
        let renamed = match (scheme, key.as_str()) {
            ("s3" | "s3a", "key") => "aws_access_key_id",
            ("s3" | "s3a", "secret") => "aws_secret_access_key",
            ("s3" | "s3a", "region_name") => "aws_region",
            ("gs" | "gcs", "token") => "google_service_account",
            ("az" | "abfs" | "abfss" | "azure", "account_name") => "azure_storage_account_name",
            ("az" | "abfs" | "abfss" | "azure", "account_key") => "azure_storage_account_key",
            _ => key.as_str(),
        }
        .to_owned();
        if matches!(
            renamed.as_str(),
            "endpoint_url" | "aws_endpoint" | "endpoint"
        ) {
            check_endpoint(&key, &value)?;
            if value.starts_with("http://") {
                out.push(("allow_http".to_owned(), "true".to_owned()));
            }
        }
        out.push((renamed, value));
    }
    Ok(out)
}

/// An endpoint is a URL with an http(s) scheme and a host: object_store's
/// HTTP client panics on a request to `localhost:9000`, which botocore (and
/// so Kedro) refuses up front too. The value is not shown: a credentials
/// entry may embed user information in it.
fn check_endpoint(key: &str, value: &str) -> Result<(), Error> {
    // Parsed as the HTTP client will (a bracket left open in an IPv6 host
    // makes object_store's request builder panic, too).
    let parsed = url::Url::parse(value).ok();
    let usable = parsed.as_ref().is_some_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some_and(|h| !h.is_empty())
            && (value.starts_with("http://") || value.starts_with("https://"))
    });
    if usable {
        return Ok(());
    }
    Err(Error::InvalidConfig {
        file: None,
        line: None,
        entry: None,
        message: format!(
            "credentials setting '{key}' must be a URL starting with http:// or https:// and \
             naming a host (for example http://HOST:PORT)"
        ),
    })
}

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
/// A builder configured from env + credentials, rejecting setting names the
/// backend does not know (so a typo is an error, not a silent fallback to the
/// environment). Values never appear in the error.
macro_rules! configure {
    ($builder:expr, $key:ty, $url:expr, $opts:expr) => {{
        let mut builder = $builder.with_url($url);
        for (name, value) in $opts {
            let key: $key =
                name.to_ascii_lowercase()
                    .parse()
                    .map_err(|_| Error::InvalidConfig {
                        file: None,
                        line: None,
                        entry: None,
                        message: format!("unknown storage setting '{name}' for '{}'", $url),
                    })?;
            builder = builder.with_config(key, value);
        }
        builder
    }};
}

#[cfg(any(feature = "gcs", feature = "azure", feature = "http"))]
/// Builds a store from env + credentials (see [`configure`]).
macro_rules! build_store {
    ($builder:expr, $key:ty, $url:expr, $opts:expr) => {{
        let builder = configure!($builder, $key, $url, $opts);
        Arc::new(builder.build().map_err(|source| Error::Storage {
            operation: "configure store for",
            location: $url.to_owned(),
            source,
        })?) as Arc<dyn ObjectStore>
    }};
}

/// An S3 store and, when it has explicit keys, the cleanup of unfinished
/// uploads its overwrites run.
#[cfg(feature = "s3")]
type S3Store = (Arc<dyn ObjectStore>, Option<Arc<crate::uploads::Uploads>>);

/// The S3 store for `url` (see [`S3Store`]); `stale_upload_age` (seconds)
/// is tandem's own setting, the others object_store's.
#[cfg(feature = "s3")]
fn s3_store(bucket: &str, options: Vec<(String, String)>) -> Result<S3Store, Error> {
    let url = &format!("s3://{bucket}");
    use crate::uploads::{DEFAULT_STALE_UPLOAD_AGE, STALE_UPLOAD_AGE_SETTING, Uploads};
    let (age, options): (Vec<_>, Vec<_>) = options
        .into_iter()
        .partition(|(name, _)| name == STALE_UPLOAD_AGE_SETTING);
    let stale_age = match age.last() {
        None => DEFAULT_STALE_UPLOAD_AGE,
        Some((_, seconds)) => seconds
            .parse()
            .map(std::time::Duration::from_secs)
            .map_err(|_| Error::InvalidConfig {
                file: None,
                line: None,
                entry: None,
                message: format!(
                    "storage setting '{STALE_UPLOAD_AGE_SETTING}' for '{url}' must be a whole \
                     number of seconds, not '{seconds}'"
                ),
            })?,
    };
    let builder = configure!(
        object_store::aws::AmazonS3Builder::from_env(),
        object_store::aws::AmazonS3ConfigKey,
        url,
        options
    );
    let storage = |source| Error::Storage {
        operation: "configure store for",
        location: url.to_owned(),
        source,
    };
    let s3 = Arc::new(builder.clone().build().map_err(storage)?);
    let uploads = Uploads::new(&builder, bucket, Arc::clone(&s3), stale_age).map_err(storage)?;
    Ok((s3 as Arc<dyn ObjectStore>, uploads.map(Arc::new)))
}

/// Resolves `scheme://...` for the remote schemes.
pub(crate) fn remote(
    scheme: &str,
    filepath: &str,
    credentials: Option<&Credentials>,
) -> Result<Location, Error> {
    let (bucket, path) = split_bucket(filepath)?;
    let object_path = parse_object_path(filepath, path)?;
    let base = format!("{scheme}://{bucket}/");
    #[cfg(feature = "s3")]
    if matches!(scheme, "s3" | "s3a") {
        let (store, uploads) = s3_store(bucket, options(scheme, credentials)?)?;
        let location = Location::remote(store, object_path, filepath.to_owned(), base);
        return Ok(match uploads {
            Some(uploads) => location.with_uploads(uploads),
            None => location,
        });
    }
    let store = store_for(scheme, bucket, filepath, credentials)?;
    Ok(Location::remote(
        store,
        object_path,
        filepath.to_owned(),
        base,
    ))
}

#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http")),
    allow(unused_variables)
)]
fn store_for(
    scheme: &str,
    bucket: &str,
    filepath: &str,
    credentials: Option<&Credentials>,
) -> Result<Arc<dyn ObjectStore>, Error> {
    #[cfg(not(all(feature = "s3", feature = "gcs", feature = "azure", feature = "http")))]
    let unsupported = |feature: &'static str| Error::UnsupportedBackend {
        scheme: scheme.to_owned(),
        feature,
    };
    match scheme {
        #[cfg(feature = "s3")]
        "s3" | "s3a" => s3_store(bucket, options(scheme, credentials)?).map(|(store, _)| store),
        // fsspec (and so Kedro) spells Google Cloud Storage both ways.
        #[cfg(feature = "gcs")]
        "gs" | "gcs" => Ok(build_store!(
            object_store::gcp::GoogleCloudStorageBuilder::from_env(),
            object_store::gcp::GoogleConfigKey,
            &format!("gs://{bucket}"),
            options(scheme, credentials)?
        )),
        #[cfg(feature = "azure")]
        "az" | "abfs" | "abfss" | "azure" => Ok(build_store!(
            object_store::azure::MicrosoftAzureBuilder::from_env(),
            object_store::azure::AzureConfigKey,
            &format!("{scheme}://{bucket}"),
            options(scheme, credentials)?
        )),
        #[cfg(feature = "http")]
        "http" | "https" => Ok(build_store!(
            object_store::http::HttpBuilder::new(),
            object_store::ClientConfigKey,
            &format!("{scheme}://{bucket}"),
            options(scheme, credentials)?
        )),
        #[cfg(not(feature = "s3"))]
        "s3" | "s3a" => Err(unsupported("s3")),
        #[cfg(not(feature = "gcs"))]
        "gs" | "gcs" => Err(unsupported("gcs")),
        #[cfg(not(feature = "azure"))]
        "az" | "abfs" | "abfss" | "azure" => Err(unsupported("azure")),
        #[cfg(not(feature = "http"))]
        "http" | "https" => Err(unsupported("http")),
        other => Err(Error::InvalidPath {
            path: filepath.to_owned(),
            reason: format!(
                "unsupported scheme '{other}://' (supported: file, memory, s3, gs, gcs, az, \
                 http, https)"
            ),
        }),
    }
}

fn split_bucket(filepath: &str) -> Result<(&str, &str), Error> {
    let rest = filepath.split_once("://").map_or(filepath, |(_, r)| r);
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::InvalidPath {
            path: filepath.to_owned(),
            reason: "missing bucket or host".to_owned(),
        });
    }
    Ok((bucket, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsspec_names_are_translated_and_http_endpoints_allowed() {
        let creds = Credentials::new(
            [
                ("key".to_owned(), serde_json::json!("AK")),
                ("secret".to_owned(), serde_json::json!("SK")),
                (
                    "client_kwargs".to_owned(),
                    serde_json::json!({"endpoint_url": "http://127.0.0.1:1"}),
                ),
            ]
            .into(),
        );
        let opts = options("s3", Some(&creds)).unwrap();
        assert!(opts.contains(&("aws_access_key_id".into(), "AK".into())));
        assert!(opts.contains(&("aws_secret_access_key".into(), "SK".into())));
        assert!(opts.contains(&("allow_http".into(), "true".into())));
    }

    #[test]
    fn list_settings_are_refused_not_dropped() {
        for (setting, value) in [
            ("key", serde_json::json!(["a", "b"])),
            ("client_kwargs", serde_json::json!({"endpoint_url": ["x"]})),
        ] {
            let creds = Credentials::new([(setting.to_owned(), value)].into());
            let err = options("s3", Some(&creds)).unwrap_err();
            assert_eq!(err.kind(), "invalid_config");
            assert!(err.to_string().contains(setting), "{err}");
        }
    }

    #[test]
    fn an_endpoint_needs_a_scheme_and_a_host() {
        let with = |endpoint: &str| {
            let creds = Credentials::new(
                [(
                    "client_kwargs".to_owned(),
                    serde_json::json!({"endpoint_url": endpoint}),
                )]
                .into(),
            );
            options("s3", Some(&creds))
        };
        for bad in [
            "localhost:9000",
            "127.0.0.1:9000",
            "http://",
            "ftp://host",
            "https:// x",
            "http://[::1",
            "http://exa mple.com",
        ] {
            let err = with(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_config", "{bad}");
            assert!(err.to_string().contains("'endpoint_url'"), "{err}");
            if bad.contains(':') && !bad.starts_with("http") {
                assert!(!err.to_string().contains(bad), "the value stays out: {err}");
            }
        }
        for good in [
            "http://127.0.0.1:9000",
            "https://s3.example.com/",
            "http://[::1]:9000",
        ] {
            assert!(with(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn unknown_schemes_and_missing_buckets_are_errors() {
        let root = std::path::Path::new("/tmp");
        assert_eq!(
            Location::resolve("ftp://x/y", root, None)
                .unwrap_err()
                .kind(),
            "invalid_path"
        );
        assert_eq!(
            Location::resolve("s3:///y", root, None).unwrap_err().kind(),
            "invalid_path"
        );
    }
}
