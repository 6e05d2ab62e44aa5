//! Artifacts on storage the client writes itself: the local filesystem
//! (`file:` URIs, bare paths) and, behind the `s3`/`gcs`/`azure` features,
//! cloud buckets. The tracking server moves no bytes for these roots.
//!
//! Uploads into a local root bypass object_store, whose local store
//! neither fsyncs nor cleans the `<name>#<n>` files a killed upload leaves:
//! they go through [`tandem_io::durable`] like every other local write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::{Transfer, create_parent, partial_path, publish_partial};
use crate::error::{Error, ErrorCode, Result};
use crate::paths;
use crate::types::FileInfo;

/// Files up to this size go up in one request; larger ones stream in parts.
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
const PART_SIZE: usize = 8 * 1024 * 1024;

/// One artifact root on an `object_store` backend.
#[derive(Clone, Debug)]
pub(crate) struct ObjectRepo {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    uri: String,
    transfer: Transfer,
    /// The root on disk, for local roots: uploads bypass the store.
    local: Option<PathBuf>,
}

impl ObjectRepo {
    /// A repository for a `file:` URI, a bare local path, or a cloud URI.
    pub(crate) fn new(uri: &str, transfer: Transfer) -> Result<ObjectRepo> {
        match Url::parse(uri) {
            Ok(url) if url.scheme() == "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| Error::invalid_uri(uri, "not a local file URI"))?;
                ObjectRepo::local(&path, uri, transfer)
            }
            // A one-letter "scheme" is a Windows drive, i.e. a path.
            Ok(url) if url.scheme().len() > 1 => ObjectRepo::cloud(&url, uri, transfer),
            _ => ObjectRepo::local(Path::new(uri), uri, transfer),
        }
    }

    fn local(path: &Path, uri: &str, transfer: Transfer) -> Result<ObjectRepo> {
        let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        let prefix = ObjectPath::from_absolute_path(&absolute)
            .map_err(|e| Error::invalid_uri(uri, e.to_string()))?;
        Ok(ObjectRepo {
            store: Arc::new(LocalFileSystem::new()),
            prefix,
            uri: uri.to_owned(),
            transfer,
            local: Some(absolute),
        })
    }

    fn cloud(url: &Url, uri: &str, transfer: Transfer) -> Result<ObjectRepo> {
        // Standard AWS_*/GOOGLE_*/AZURE_* variables configure the stores
        // (the client's own laid over the process's, later ones winning);
        // MLflow's own S3 endpoint variable is honoured as well.
        // object_store's keys are lowercase (`aws_access_key_id`).
        let mut options: Vec<(String, String)> = std::env::vars()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        options.extend(
            transfer
                .variables
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.expose().to_owned())),
        );
        if let Some(endpoint) = transfer.var("MLFLOW_S3_ENDPOINT_URL") {
            if endpoint.starts_with("http://") {
                options.push(("aws_allow_http".into(), "true".into()));
            }
            options.push(("aws_endpoint".into(), endpoint));
        }
        if transfer
            .var("MLFLOW_S3_IGNORE_TLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            options.push(("allow_invalid_certificates".into(), "true".into()));
        }
        let (store, prefix) = object_store::parse_url_opts(url, options).map_err(|e| match e {
            object_store::Error::Generic { source, .. }
                if source.to_string().contains("not enabled") =>
            {
                Error::unsupported(format!(
                    "artifact root {uri}: this build has no support for '{}:' storage; enable the \
                     tandem-mlflow-client feature s3, gcs or azure",
                    url.scheme()
                ))
            }
            other => Error::Storage {
                uri: uri.to_owned(),
                message: other.to_string(),
            },
        })?;
        Ok(ObjectRepo {
            store: Arc::from(store),
            prefix,
            uri: uri.to_owned(),
            transfer,
            local: None,
        })
    }

    pub(crate) fn transfer(&self) -> &Transfer {
        &self.transfer
    }

    fn location(&self, rel: &str) -> ObjectPath {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |path, part| {
                path.join(PathPart::from(part))
            })
    }

    fn storage_error(&self, rel: &str, e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { .. } => Error::mlflow(
                ErrorCode::ResourceDoesNotExist,
                format!("artifact '{rel}' not found under {}", self.uri),
            ),
            other => Error::Storage {
                uri: self.uri.clone(),
                message: other.to_string(),
            },
        }
    }

    pub(crate) async fn put_file(&self, local: &Path, rel: &str) -> Result<()> {
        if let Some(root) = &self.local {
            let (root, source, rel) = (root.clone(), local.to_path_buf(), rel.to_owned());
            // File copies and fsyncs block; on the blocking pool, the files
            // of a directory upload still go up concurrently.
            return tokio::task::spawn_blocking(move || put_local(&root, &source, &rel))
                .await
                .unwrap_or_else(|e| Err(Error::io(local, std::io::Error::other(e))));
        }
        let location = self.location(rel);
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|e| Error::io(local, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| Error::io(local, e))?
            .len();
        if size <= SINGLE_PUT_MAX {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            file.read_to_end(&mut bytes)
                .await
                .map_err(|e| Error::io(local, e))?;
            self.store
                .put(&location, PutPayload::from(bytes))
                .await
                .map_err(|e| self.storage_error(rel, e))?;
            return Ok(());
        }
        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(|e| self.storage_error(rel, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; PART_SIZE];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(Error::io(local, e));
                }
            };
            writer
                .wait_for_capacity(self.transfer.concurrency)
                .await
                .map_err(|e| self.storage_error(rel, e))?;
            writer.write(&buf[..n]);
        }
        writer
            .finish()
            .await
            .map_err(|e| self.storage_error(rel, e))?;
        Ok(())
    }

    pub(crate) async fn get_file(&self, rel: &str, dest: &Path) -> Result<()> {
        let result = self
            .store
            .get(&self.location(rel))
            .await
            .map_err(|e| self.storage_error(rel, e))?;
        create_parent(dest)?;
        let partial = partial_path(dest)?;
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| Error::io(&partial, e))?;
        let mut stream = result.into_stream();
        let copied: Result<()> = async {
            while let Some(chunk) = stream
                .try_next()
                .await
                .map_err(|e| self.storage_error(rel, e))?
            {
                file.write_all(&chunk)
                    .await
                    .map_err(|e| Error::io(&partial, e))?;
            }
            file.flush().await.map_err(|e| Error::io(&partial, e))
        }
        .await;
        if let Err(e) = copied {
            drop(file);
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
        publish_partial(file, &partial, dest).await
    }

    pub(crate) async fn list(&self, rel: &str) -> Result<Vec<FileInfo>> {
        let location = self.location(rel);
        let listing = match self.store.list_with_delimiter(Some(&location)).await {
            Ok(listing) => listing,
            // Listing a file (or nothing) is an empty directory, as in MLflow.
            Err(_) if self.store.head(&location).await.is_ok() => return Ok(Vec::new()),
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.storage_error(rel, e)),
        };
        let relative = |path: &ObjectPath| -> String {
            path.prefix_match(&self.prefix)
                .map(|parts| {
                    parts
                        .map(|p| p.as_ref().to_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default()
        };
        let dirs = listing.common_prefixes.iter().map(|p| FileInfo {
            path: relative(p),
            is_dir: true,
            file_size: None,
        });
        let files = listing.objects.iter().map(|o| FileInfo {
            path: relative(&o.location),
            is_dir: false,
            file_size: i64::try_from(o.size).ok(),
        });
        Ok(dirs.chain(files).collect())
    }
}

/// Copies `source` to `root/<rel>` durably: staged in a hidden sibling
/// named after this process (which also removes what killed uploads of the
/// same file left), fsynced, renamed into place, the directory fsynced. A
/// symlink already under the root cannot take the write outside it.
fn put_local(root: &Path, source: &Path, rel: &str) -> Result<()> {
    tandem_io::durable::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let dest = paths::download_path(root, rel)?;
    let mut input = std::fs::File::open(source).map_err(|e| Error::io(source, e))?;
    let staged = tandem_io::durable::create_staging_file(&dest).map_err(|e| Error::io(&dest, e))?;
    let copied = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&staged)
        .and_then(|mut output| {
            std::io::copy(&mut input, &mut output)?;
            output.sync_all()
        })
        .map_err(|e| Error::io(&staged, e))
        .and_then(|()| {
            tandem_io::durable::rename_durably(&staged, &dest).map_err(|e| Error::io(&dest, e))
        });
    if copied.is_err() {
        // Best effort: the copy's error is what the caller needs.
        let _ = std::fs::remove_file(&staged);
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Multipart;

    fn repo(root: &Path) -> ObjectRepo {
        let transfer = Transfer {
            variables: std::sync::Arc::default(),
            concurrency: 2,
            multipart: Multipart::Never,
            multipart_min_size: u64::MAX,
            multipart_chunk_size: u64::MAX,
        };
        let uri = url::Url::from_directory_path(root).unwrap().to_string();
        ObjectRepo::new(&uri, transfer).unwrap()
    }

    #[test]
    fn local_uploads_are_staged_and_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("artifacts");
        let source = dir.path().join("MLmodel");
        std::fs::write(&source, b"flavors: {}\n").unwrap();
        // pid_max is at most 2^22, so no process has this pid.
        let dead = root.join("model/.MLmodel.tandem-4194999-1");
        std::fs::create_dir_all(dead.parent().unwrap()).unwrap();
        std::fs::write(&dead, b"half").unwrap();
        let repo = repo(&root);
        tandem_io::block_on(repo.put_file(&source, "model/MLmodel"))
            .unwrap()
            .unwrap();
        assert_eq!(
            std::fs::read(root.join("model/MLmodel")).unwrap(),
            b"flavors: {}\n"
        );
        let names: Vec<_> = std::fs::read_dir(root.join("model"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["MLmodel"], "the dead upload's leftover is removed");
        let listed = tandem_io::block_on(repo.list("model")).unwrap().unwrap();
        assert_eq!(listed.len(), 1);

        #[cfg(unix)]
        {
            let outside = dir.path().join("outside");
            std::fs::create_dir(&outside).unwrap();
            std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
            let err = tandem_io::block_on(repo.put_file(&source, "link/MLmodel"))
                .unwrap()
                .unwrap_err();
            assert_eq!(err.kind(), "unsafe_path", "{err}");
            assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        }
    }
}
