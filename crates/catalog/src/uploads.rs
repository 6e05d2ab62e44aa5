//! Multipart uploads that killed saves left on S3.
//!
//! An upload that never completes is invisible to readers, but S3 keeps
//! (and bills) its parts until someone aborts it. So before an S3 save
//! overwrites a key, it lists the unfinished uploads of exactly that key
//! (`ListMultipartUploads`) and aborts the abandoned ones.
//!
//! Abandoned, because nothing on S3 says which process owns an upload (the
//! listing carries no metadata, only the key, the id and when it was
//! initiated), and a live writer must never lose its upload:
//!
//! - uploads of a key this process is writing right now are never touched;
//! - any other upload counts as live until it has shown no activity (its
//!   initiation or, from `ListParts`, its newest part) for the store's
//!   `stale_upload_age` setting, one hour by default: a live writer sends a
//!   part every few seconds, so an hour of silence means its process is
//!   gone. A save after a crash therefore cleans what the crash left once
//!   it is that old; `stale_upload_age: 0` cleans at once, for buckets whose
//!   keys only one process at a time writes.
//!
//! Versioned saves never go through here: they write a fresh key with a
//! single conditional PUT, which leaves nothing behind. Object_store has no
//! listing of uploads, so the two listing requests are signed here with its
//! public [`AwsAuthorizer`] from the store's explicit keys; a store without
//! explicit keys (an instance profile, a web identity) skips the cleanup
//! rather than fetch credentials itself: S3's lifecycle rule
//! `AbortIncompleteMultipartUpload` is the way to clean such buckets.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::aws::{
    AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer, AwsCredential,
};
use object_store::client::{
    ClientConfigKey, ClientOptions, HttpClient, HttpConnector, HttpRequest, HttpRequestBody,
    ReqwestConnector,
};
use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

/// How long an upload of another process must have been silent before a
/// save aborts it, unless the store's `stale_upload_age` says otherwise.
pub const DEFAULT_STALE_UPLOAD_AGE: Duration = Duration::from_secs(60 * 60);

/// The store setting (seconds) that overrides [`DEFAULT_STALE_UPLOAD_AGE`].
pub(crate) const STALE_UPLOAD_AGE_SETTING: &str = "stale_upload_age";

/// A bound on listing pages, against a server that always says "truncated".
const MAX_PAGES: usize = 100;

/// SigV4's encoding of a query value (RFC 3986 unreserved characters kept).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same for an object key in a URL path, whose `/` stay.
const KEY: &AsciiSet = &QUERY.remove(b'/');

/// The cleanup side of one S3 store.
pub(crate) struct Uploads {
    s3: Arc<AmazonS3>,
    bucket: String,
    /// `https://s3.<region>.amazonaws.com/<bucket>`, or the configured endpoint.
    bucket_endpoint: String,
    region: String,
    credential: AwsCredential,
    http: HttpClient,
    stale_age: Duration,
}

impl fmt::Debug for Uploads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the credential.
        f.debug_struct("Uploads")
            .field("bucket_endpoint", &self.bucket_endpoint)
            .field("stale_age", &self.stale_age)
            .finish_non_exhaustive()
    }
}

impl Uploads {
    /// The cleanup for the store `builder` built, or `None` when the store
    /// has no explicit keys (or signs nothing, or is S3 Express).
    pub(crate) fn new(
        builder: &AmazonS3Builder,
        bucket: &str,
        s3: Arc<AmazonS3>,
        stale_age: Duration,
    ) -> Result<Option<Uploads>, object_store::Error> {
        let get = |key: AmazonS3ConfigKey| builder.get_config_value(&key);
        let on = |key: AmazonS3ConfigKey| get(key).is_some_and(|v| v == "true");
        let (Some(key_id), Some(secret_key)) = (
            get(AmazonS3ConfigKey::AccessKeyId),
            get(AmazonS3ConfigKey::SecretAccessKey),
        ) else {
            return Ok(None);
        };
        if on(AmazonS3ConfigKey::SkipSignature) || on(AmazonS3ConfigKey::S3Express) {
            return Ok(None);
        }
        let region = get(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".to_owned());
        // The same endpoint object_store's own requests go to.
        let virtual_hosted = on(AmazonS3ConfigKey::VirtualHostedStyleRequest);
        let bucket_endpoint = match (get(AmazonS3ConfigKey::Endpoint), virtual_hosted) {
            (Some(endpoint), true) => endpoint.trim_end_matches('/').to_owned(),
            (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        let allow_http = on(AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp));
        let http = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http))?;
        Ok(Some(Uploads {
            s3,
            bucket: bucket.to_owned(),
            bucket_endpoint,
            region,
            credential: AwsCredential {
                key_id,
                secret_key,
                token: get(AmazonS3ConfigKey::Token),
            },
            http,
            stale_age,
        }))
    }

    /// Marks `key` as being written by this process until the guard drops,
    /// so no save of this process aborts its upload meanwhile.
    pub(crate) fn writing(&self, key: &ObjectPath) -> Writing {
        let name = self.name(key);
        *in_flight().entry(name.clone()).or_default() += 1;
        Writing(name)
    }

    /// How [`in_flight`] names a key: by bucket, not endpoint, so two
    /// stores reaching one bucket differently still see each other's saves.
    fn name(&self, key: &ObjectPath) -> String {
        format!("{}/{key}", self.bucket)
    }

    fn written_here(&self, key: &ObjectPath) -> bool {
        in_flight().contains_key(&self.name(key))
    }

    /// Aborts the abandoned unfinished uploads of exactly `key` (see the
    /// module's rule); returns how many went.
    pub(crate) async fn abort_abandoned(
        &self,
        key: &ObjectPath,
    ) -> Result<usize, object_store::Error> {
        if self.written_here(key) {
            return Ok(0);
        }
        let now = Utc::now();
        let mut aborted = 0;
        for upload in self.list_uploads(key).await? {
            if upload.key != key.as_ref() || !self.stale(&upload.initiated, now) {
                continue;
            }
            let newest_part = self.newest_part(key, &upload.upload_id).await?;
            if newest_part.is_some_and(|at| !self.stale(&at, now)) {
                continue;
            }
            // Checked again right before the abort: a save of this process
            // may have started on the key while we listed.
            if self.written_here(key) {
                return Ok(aborted);
            }
            match self.s3.abort_multipart(key, &upload.upload_id).await {
                Ok(()) => aborted += 1,
                // Completed or aborted by someone else meanwhile.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(aborted)
    }

    /// Whether activity at `at` (an S3 timestamp) is older than the age.
    /// An unreadable timestamp is fresh: keeping an upload is a leak,
    /// aborting a live one a failed save.
    fn stale(&self, at: &str, now: DateTime<Utc>) -> bool {
        let Ok(at) = DateTime::parse_from_rfc3339(at) else {
            return false;
        };
        self.stale_age.is_zero()
            || (now - at.with_timezone(&Utc))
                .to_std()
                .is_ok_and(|silent| silent > self.stale_age)
    }

    async fn list_uploads(&self, key: &ObjectPath) -> Result<Vec<Upload>, object_store::Error> {
        let mut uploads = Vec::new();
        let mut markers: Option<(String, String)> = None;
        for _ in 0..MAX_PAGES {
            let mut query = format!("uploads&prefix={}", encode(key.as_ref(), QUERY));
            if let Some((key_marker, id_marker)) = &markers {
                query.push_str(&format!(
                    "&key-marker={}&upload-id-marker={}",
                    encode(key_marker, QUERY),
                    encode(id_marker, QUERY)
                ));
            }
            let page: ListUploads = self.get(&self.bucket_endpoint, &query).await?;
            uploads.extend(page.uploads);
            match (
                page.is_truncated,
                page.next_key_marker,
                page.next_upload_id_marker,
            ) {
                (true, Some(k), Some(i)) if !k.is_empty() => markers = Some((k, i)),
                _ => break,
            }
        }
        Ok(uploads)
    }

    /// When the newest part of an upload arrived, if it has any.
    async fn newest_part(
        &self,
        key: &ObjectPath,
        upload_id: &str,
    ) -> Result<Option<String>, object_store::Error> {
        let url = format!("{}/{}", self.bucket_endpoint, encode(key.as_ref(), KEY));
        let mut newest: Option<(DateTime<Utc>, String)> = None;
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = format!("uploadId={}", encode(upload_id, QUERY));
            if let Some(marker) = &marker {
                query.push_str(&format!("&part-number-marker={}", encode(marker, QUERY)));
            }
            let page: ListParts = self.get(&url, &query).await?;
            for part in page.parts {
                let Ok(at) = DateTime::parse_from_rfc3339(&part.last_modified) else {
                    // Unreadable: as fresh as can be, so the upload stays.
                    return Ok(Some(Utc::now().to_rfc3339()));
                };
                let at = at.with_timezone(&Utc);
                if newest.as_ref().is_none_or(|(n, _)| at > *n) {
                    newest = Some((at, part.last_modified));
                }
            }
            match (page.is_truncated, page.next_part_number_marker) {
                (true, Some(m)) if !m.is_empty() => marker = Some(m),
                _ => break,
            }
        }
        Ok(newest.map(|(_, text)| text))
    }

    /// A signed GET of `url?query`, its XML answer decoded.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        query: &str,
    ) -> Result<T, object_store::Error> {
        let url = format!("{url}?{query}");
        let mut request = HttpRequest::new(HttpRequestBody::empty());
        *request.uri_mut() = url
            .parse()
            .map_err(|e| generic(format!("listing uploads: bad URL: {e}")))?;
        AwsAuthorizer::new(&self.credential, "s3", &self.region)
            .try_authorize(&mut request, None)?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| generic(format!("listing uploads: {e}")))?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| generic(format!("listing uploads: {e}")))?;
        if !status.is_success() {
            return Err(generic(format!(
                "listing uploads: HTTP {}: {}",
                status.as_u16(),
                clip(&body)
            )));
        }
        let text = std::str::from_utf8(&body)
            .map_err(|e| generic(format!("listing uploads: the answer is not UTF-8: {e}")))?;
        quick_xml::de::from_str(text).map_err(|e| generic(format!("listing uploads: {e}")))
    }
}

/// A key this process is writing; see [`Uploads::writing`].
#[derive(Debug)]
pub(crate) struct Writing(String);

impl Drop for Writing {
    fn drop(&mut self) {
        let mut writing = in_flight();
        if let Some(count) = writing.get_mut(&self.0) {
            *count -= 1;
            if *count == 0 {
                writing.remove(&self.0);
            }
        }
    }
}

/// `<bucket>/<key>` → how many saves of this process are writing it.
fn in_flight() -> MutexGuard<'static, BTreeMap<String, usize>> {
    static IN_FLIGHT: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    // Plain counters, consistent after any panic.
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

fn encode(text: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(text, set).to_string()
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

/// The start of an error answer, for a message.
fn clip(body: &Bytes) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListUploads {
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
    #[serde(default, rename = "Upload")]
    uploads: Vec<Upload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Upload {
    key: String,
    upload_id: String,
    #[serde(default)]
    initiated: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListParts {
    #[serde(default)]
    is_truncated: bool,
    next_part_number_marker: Option<String>,
    #[serde(default, rename = "Part")]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Part {
    #[serde(default)]
    last_modified: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_decode_as_s3_writes_them() {
        let page: ListUploads = quick_xml::de::from_str(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>data/x.bin</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>
  <MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>data/x.bin</Key><UploadId>u1</UploadId>
    <Initiator><ID>i</ID><DisplayName>d</DisplayName></Initiator>
    <StorageClass>STANDARD</StorageClass><Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload>
  <Upload><Key>data/x.bin.old</Key><UploadId>u2</UploadId>
    <Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload>
</ListMultipartUploadsResult>"#,
        )
        .unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.next_upload_id_marker.as_deref(), Some("u2"));
        let keys: Vec<_> = page.uploads.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys, ["data/x.bin", "data/x.bin.old"]);
        let empty: ListUploads = quick_xml::de::from_str(
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>\
             </ListMultipartUploadsResult>",
        )
        .unwrap();
        assert!(empty.uploads.is_empty() && !empty.is_truncated);
        let parts: ListParts = quick_xml::de::from_str(
            "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>\
             <LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag>\
             <Size>5</Size></Part></ListPartsResult>",
        )
        .unwrap();
        assert_eq!(parts.parts[0].last_modified, "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn keys_and_values_are_encoded_for_sigv4() {
        assert_eq!(encode("data/a b+c~.csv", KEY), "data/a%20b%2Bc~.csv");
        assert_eq!(encode("data/a b", QUERY), "data%2Fa%20b");
    }
}
