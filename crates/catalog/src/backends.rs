//! Remote object stores, each behind its cargo feature.
//!
//! Settings come from the standard environment variables (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`) overlaid with the entry's credentials from
//! credentials.yml, which accept both object_store's names and Kedro/fsspec's
//! (`key`, `secret`, `token`, `client_kwargs.endpoint_url`, `region_name`).

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
fn options(scheme: &str, credentials: Option<&Credentials>) -> Vec<(String, String)> {
    let Some(credentials) = credentials else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in credentials.flattened() {
        let renamed = match (scheme, key.as_str()) {
            ("s3" | "s3a", "key") => "aws_access_key_id",
            ("s3" | "s3a", "secret") => "aws_secret_access_key",
            ("s3" | "s3a", "region_name") => "aws_region",
            ("gs", "token") => "google_service_account",
            ("az" | "abfs" | "abfss" | "azure", "account_name") => "azure_storage_account_name",
            ("az" | "abfs" | "abfss" | "azure", "account_key") => "azure_storage_account_key",
            _ => key.as_str(),
        }
        .to_owned();
        if matches!(
            renamed.as_str(),
            "endpoint_url" | "aws_endpoint" | "endpoint"
        ) && value.starts_with("http://")
        {
            out.push(("allow_http".to_owned(), "true".to_owned()));
        }
        out.push((renamed, value));
    }
    out
}

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
/// Builds a store from env + credentials, rejecting setting names the
/// backend does not know (so a typo is an error, not a silent fallback to the
/// environment). Values never appear in the error.
macro_rules! build_store {
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
        Arc::new(builder.build().map_err(|source| Error::Storage {
            operation: "configure store for",
            location: $url.to_owned(),
            source,
        })?) as Arc<dyn ObjectStore>
    }};
}

/// Resolves `scheme://...` for the remote schemes.
pub(crate) fn remote(
    scheme: &str,
    filepath: &str,
    credentials: Option<&Credentials>,
) -> Result<Location, Error> {
    let (bucket, path) = split_bucket(filepath)?;
    let object_path = parse_object_path(filepath, path)?;
    let store = store_for(scheme, bucket, filepath, credentials)?;
    let base = format!("{scheme}://{bucket}/");
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
        "s3" | "s3a" => Ok(build_store!(
            object_store::aws::AmazonS3Builder::from_env(),
            object_store::aws::AmazonS3ConfigKey,
            &format!("s3://{bucket}"),
            options(scheme, credentials)
        )),
        #[cfg(feature = "gcs")]
        "gs" => Ok(build_store!(
            object_store::gcp::GoogleCloudStorageBuilder::from_env(),
            object_store::gcp::GoogleConfigKey,
            &format!("gs://{bucket}"),
            options(scheme, credentials)
        )),
        #[cfg(feature = "azure")]
        "az" | "abfs" | "abfss" | "azure" => Ok(build_store!(
            object_store::azure::MicrosoftAzureBuilder::from_env(),
            object_store::azure::AzureConfigKey,
            &format!("{scheme}://{bucket}"),
            options(scheme, credentials)
        )),
        #[cfg(feature = "http")]
        "http" | "https" => Ok(build_store!(
            object_store::http::HttpBuilder::new(),
            object_store::ClientConfigKey,
            &format!("{scheme}://{bucket}"),
            options(scheme, credentials)
        )),
        #[cfg(not(feature = "s3"))]
        "s3" | "s3a" => Err(unsupported("s3")),
        #[cfg(not(feature = "gcs"))]
        "gs" => Err(unsupported("gcs")),
        #[cfg(not(feature = "azure"))]
        "az" | "abfs" | "abfss" | "azure" => Err(unsupported("azure")),
        #[cfg(not(feature = "http"))]
        "http" | "https" => Err(unsupported("http")),
        other => Err(Error::InvalidPath {
            path: filepath.to_owned(),
            reason: format!(
                "unsupported scheme '{other}://' (supported: file, memory, s3, gs, az, http, \
                 https)"
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
        let opts = options("s3", Some(&creds));
        assert!(opts.contains(&("aws_access_key_id".into(), "AK".into())));
        assert!(opts.contains(&("aws_secret_access_key".into(), "SK".into())));
        assert!(opts.contains(&("allow_http".into(), "true".into())));
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
