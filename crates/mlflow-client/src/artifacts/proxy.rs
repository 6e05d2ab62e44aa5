//! Artifacts through the tracking server's proxy
//! (`/api/2.0/mlflow-artifacts`), including multipart upload.

use std::path::Path;
use std::sync::Arc;

use futures::stream::{self, TryStreamExt};
use reqwest::Method;
use reqwest::header::{ETAG, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use url::Url;

use super::{Transfer, create_parent, partial_path, publish_partial};
use crate::config::Multipart;
use crate::error::{Error, ErrorCode, Result};
use crate::http::{Http, read_json, transport};
use crate::paths;
use crate::retry::{Failure, retry};
use crate::types::FileInfo;

const ARTIFACTS: &str = "api/2.0/mlflow-artifacts";

/// One `mlflow-artifacts:/<root>` location.
#[derive(Clone, Debug)]
pub(crate) struct ProxyRepo {
    http: Arc<Http>,
    base: Url,
    root: String,
    transfer: Transfer,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Listing {
    files: Vec<FileInfo>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PartCredential {
    url: String,
    part_number: u64,
    headers: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MultipartCreated {
    upload_id: String,
    credentials: Vec<PartCredential>,
}

impl ProxyRepo {
    /// `uri` is `mlflow-artifacts:/<path>` or `mlflow-artifacts://host:port/<path>`;
    /// the latter talks to that host with the tracking server's scheme.
    pub(crate) fn new(http: Arc<Http>, uri: &str, transfer: Transfer) -> Result<ProxyRepo> {
        let parsed = Url::parse(uri).map_err(|e| Error::invalid_uri(uri, e.to_string()))?;
        let mut base = http.base().clone();
        if let Some(host) = parsed.host_str() {
            base.set_host(Some(host))
                .map_err(|e| Error::invalid_uri(uri, e.to_string()))?;
            base.set_port(parsed.port())
                .map_err(|()| Error::invalid_uri(uri, "cannot use this port"))?;
        }
        let decoded = percent_encoding::percent_decode_str(parsed.path()).decode_utf8_lossy();
        let root = paths::relative(decoded.trim_start_matches('/'))?;
        Ok(ProxyRepo {
            http,
            base,
            root,
            transfer,
        })
    }

    pub(crate) fn transfer(&self) -> &Transfer {
        &self.transfer
    }

    fn url(&self, op: &str, rel: &str) -> Result<Url> {
        let full = paths::join(&self.root, rel);
        self.base
            .join(&format!("{ARTIFACTS}/{op}/{}", paths::encode(&full)))
            .map_err(|e| Error::invalid_uri(&full, e.to_string()))
    }

    pub(crate) async fn put_file(&self, local: &Path, rel: &str) -> Result<()> {
        let size = tokio::fs::metadata(local)
            .await
            .map_err(|e| Error::io(local, e))?
            .len();
        if size >= self.transfer.multipart_min_size && self.multipart_offered().await? {
            match self.put_multipart(local, rel, size).await {
                Err(e) if e.code() == Some(&ErrorCode::NotImplemented) => {}
                other => return other,
            }
        }
        self.http
            .put_file(self.url("artifacts", rel)?, local, true)
            .await?;
        Ok(())
    }

    /// Whether to attempt multipart: the configured mode, or for `Auto`
    /// the server's own advertisement (absent on older servers).
    async fn multipart_offered(&self) -> Result<bool> {
        match self.transfer.multipart {
            Multipart::Always => Ok(true),
            Multipart::Never => Ok(false),
            Multipart::Auto => {
                let url = self.http.url("api/3.0/mlflow/server-info")?;
                let endpoint = format!("GET {}", url.path());
                let info = retry(self.http.retry_policy(), &endpoint, |_| async {
                    let response = self
                        .http
                        .send(self.http.request(Method::GET, url.clone()), &endpoint)
                        .await?;
                    read_json::<serde_json::Value>(response, &endpoint).await
                })
                .await;
                match info {
                    Ok(info) => Ok(info["multipart_uploads_enabled"].as_bool() == Some(true)),
                    Err(e) if e.status() == Some(404) => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn put_multipart(&self, local: &Path, rel: &str, size: u64) -> Result<()> {
        let full = paths::join(&self.root, rel);
        let (dir, name) = match full.rsplit_once('/') {
            Some((dir, name)) => (dir.to_owned(), name.to_owned()),
            None => (String::new(), full.clone()),
        };
        let route = |op: &str| format!("{ARTIFACTS}/mpu/{op}/{}", paths::encode(&dir));
        let chunk = self.transfer.multipart_chunk_size;
        let num_parts = size.div_ceil(chunk).max(1);
        let created: MultipartCreated = self
            .post(
                &route("create"),
                &json!({"path": name, "num_parts": num_parts}),
            )
            .await?;
        let upload_id = created.upload_id.clone();
        let abort = || async {
            // Best effort: the upload failed already; abort frees storage,
            // and its own failure must not hide the upload's.
            let abort = json!({"path": name, "upload_id": upload_id});
            let _ = self
                .post::<serde_json::Value>(&route("abort"), &abort)
                .await;
        };
        let invalid = |message: String| Error::Protocol {
            endpoint: format!("multipart upload of artifact '{full}'"),
            message,
        };
        let mut numbers: Vec<u64> = created.credentials.iter().map(|c| c.part_number).collect();
        numbers.sort_unstable();
        if numbers != (1..=num_parts).collect::<Vec<_>>() {
            abort().await;
            return Err(invalid(format!(
                "the server returned {} part credentials (part numbers {numbers:?}) for {num_parts} \
                 parts",
                created.credentials.len()
            )));
        }
        let parts = stream::iter(created.credentials.into_iter().map(Ok::<_, Error>))
            .map_ok(|cred| async move {
                let start = (cred.part_number.saturating_sub(1)) * chunk;
                let len = chunk.min(size.saturating_sub(start));
                let etag = self.put_part(local, &cred, start, len).await?;
                Ok::<_, Error>(
                    json!({"part_number": cred.part_number, "etag": etag, "url": cred.url}),
                )
            })
            .try_buffer_unordered(self.transfer.concurrency)
            .try_collect::<Vec<_>>()
            .await;
        let mut parts = match parts {
            Ok(parts) => parts,
            Err(e) => {
                abort().await;
                return Err(e);
            }
        };
        parts.sort_by_key(|p| p["part_number"].as_u64());
        let missing: Vec<u64> = parts
            .iter()
            .filter(|p| p["etag"].as_str().is_none_or(|e| e.trim().is_empty()))
            .filter_map(|p| p["part_number"].as_u64())
            .collect();
        if !missing.is_empty() {
            abort().await;
            return Err(invalid(format!(
                "the storage answered parts {missing:?} without an ETag"
            )));
        }
        let complete = json!({"path": name, "upload_id": upload_id, "parts": parts});
        self.post::<serde_json::Value>(&route("complete"), &complete)
            .await?;
        Ok(())
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        let url = self
            .base
            .join(route)
            .map_err(|e| Error::invalid_uri(route, e.to_string()))?;
        let endpoint = format!("POST {}", url.path());
        retry(self.http.retry_policy(), &endpoint, |_| async {
            let rb = self
                .http
                .request(Method::POST, url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
            let response = self.http.send(rb, &endpoint).await?;
            read_json(response, &endpoint).await
        })
        .await
    }

    /// PUTs one part to its presigned URL (no tracking credentials) and
    /// returns the storage's ETag.
    async fn put_part(
        &self,
        local: &Path,
        cred: &PartCredential,
        start: u64,
        len: u64,
    ) -> Result<String> {
        let url =
            Url::parse(&cred.url).map_err(|e| Error::invalid_uri(&cred.url, e.to_string()))?;
        let endpoint = format!("PUT part {}", cred.part_number);
        retry(self.http.retry_policy(), &endpoint, |_| async {
            let mut file = tokio::fs::File::open(local)
                .await
                .map_err(|e| Error::io(local, e))?;
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| Error::io(local, e))?;
            let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.take(len)
                .read_to_end(&mut buf)
                .await
                .map_err(|e| Error::io(local, e))?;
            let mut rb = self.http.request_bare(Method::PUT, url.clone()).body(buf);
            for (k, v) in &cred.headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::try_from(k.as_str()),
                    HeaderValue::try_from(v.as_str()),
                ) {
                    rb = rb.header(k, v);
                }
            }
            let response = self.http.send(rb, &endpoint).await?;
            let etag = response
                .headers()
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            Ok(etag)
        })
        .await
    }

    pub(crate) async fn get_file(&self, rel: &str, dest: &Path) -> Result<()> {
        let url = self.url("artifacts", rel)?;
        let endpoint = format!("GET {}", url.path());
        create_parent(dest)?;
        retry(self.http.retry_policy(), &endpoint, |_| async {
            let mut response = self
                .http
                .send(self.http.request(Method::GET, url.clone()), &endpoint)
                .await?;
            let partial = partial_path(dest)?;
            let mut file = tokio::fs::File::create(&partial)
                .await
                .map_err(|e| Error::io(&partial, e))?;
            let written: Result<(), Failure> = async {
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|e| transport(&endpoint, &e))?
                {
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| Error::io(&partial, e))?;
                }
                file.flush().await.map_err(|e| Error::io(&partial, e))?;
                Ok(())
            }
            .await;
            if let Err(failure) = written {
                drop(file);
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(failure);
            }
            publish_partial(file, &partial, dest).await?;
            Ok(())
        })
        .await
    }

    /// Lists one level. The proxy answers with base names; they are
    /// returned relative to the repository root like MLflow's run listing.
    pub(crate) async fn list(&self, rel: &str) -> Result<Vec<FileInfo>> {
        let mut url = self
            .base
            .join(&format!("{ARTIFACTS}/artifacts"))
            .map_err(|e| Error::invalid_uri(rel, e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("path", &paths::join(&self.root, rel));
        let endpoint = format!("GET {}", url.path());
        let listing: Listing = retry(self.http.retry_policy(), &endpoint, |_| async {
            let response = self
                .http
                .send(self.http.request(Method::GET, url.clone()), &endpoint)
                .await?;
            read_json(response, &endpoint).await
        })
        .await?;
        listing
            .files
            .into_iter()
            .map(|f| {
                let name = paths::relative(&f.path)?;
                Ok(FileInfo {
                    path: paths::join(rel, paths::basename(&name)),
                    ..f
                })
            })
            .collect()
    }
}
