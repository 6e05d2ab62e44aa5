//! Artifact repositories: the server's proxy (`mlflow-artifacts:`) and
//! direct object storage (`file:`, bare paths, and with features `s3:`,
//! `gs:`, `az:`). Directory transfers run file transfers concurrently.

mod object;
mod proxy;

use std::path::{Path, PathBuf};

use futures::stream::{self, TryStreamExt};

pub(crate) use object::ObjectRepo;
pub(crate) use proxy::ProxyRepo;

use crate::config::{Config, Multipart};
use crate::error::{Error, Result};
use crate::paths;
use crate::types::FileInfo;

/// How deep an artifact tree may be; deeper listings are taken as cyclic.
const MAX_DEPTH: usize = 64;

/// Transfer tuning shared by every repository of a client.
#[derive(Clone, Debug)]
pub(crate) struct Transfer {
    pub(crate) concurrency: usize,
    pub(crate) multipart: Multipart,
    pub(crate) multipart_min_size: u64,
    pub(crate) multipart_chunk_size: u64,
    /// [`Config`]'s variables over the process environment.
    pub(crate) variables: std::sync::Arc<Vec<(String, crate::Secret)>>,
}

impl Transfer {
    pub(crate) fn from_config(config: &Config) -> Transfer {
        Transfer {
            concurrency: config.transfer_concurrency,
            multipart: config.multipart,
            multipart_min_size: config.multipart_min_size,
            multipart_chunk_size: config.multipart_chunk_size,
            variables: std::sync::Arc::clone(&config.variables),
        }
    }

    /// A variable of the client's environment: its own, else the process's.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        self.variables
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.expose().to_owned())
            .or_else(|| std::env::var(name).ok())
    }
}

/// Where one artifact root lives.
#[derive(Clone, Debug)]
pub(crate) enum ArtifactRepo {
    Proxy(ProxyRepo),
    Object(ObjectRepo),
}

impl ArtifactRepo {
    /// The repository of a local store's artifact URI (a path, `file:` or a
    /// bucket): a local store cannot reach a server's `mlflow-artifacts:`.
    pub(crate) fn local(artifact_uri: &str, transfer: &Transfer) -> Result<ArtifactRepo> {
        if artifact_uri.starts_with("mlflow-artifacts:") {
            return Err(Error::unsupported(format!(
                "artifact URI {artifact_uri} is served by a tracking server; set \
                 MLFLOW_TRACKING_URI to that server to reach it"
            )));
        }
        Ok(ArtifactRepo::Object(ObjectRepo::new(
            artifact_uri,
            transfer.clone(),
        )?))
    }

    fn concurrency(&self) -> usize {
        match self {
            ArtifactRepo::Proxy(r) => r.transfer().concurrency,
            ArtifactRepo::Object(r) => r.transfer().concurrency,
        }
    }

    async fn put_file(&self, local: &Path, rel: &str) -> Result<()> {
        match self {
            ArtifactRepo::Proxy(r) => r.put_file(local, rel).await,
            ArtifactRepo::Object(r) => r.put_file(local, rel).await,
        }
    }

    async fn get_file(&self, rel: &str, dest: &Path) -> Result<()> {
        match self {
            ArtifactRepo::Proxy(r) => r.get_file(rel, dest).await,
            ArtifactRepo::Object(r) => r.get_file(rel, dest).await,
        }
    }

    /// The direct children of `rel`, with paths relative to the root.
    pub(crate) async fn list(&self, rel: &str) -> Result<Vec<FileInfo>> {
        let rel = paths::relative(rel)?;
        let mut files = match self {
            ArtifactRepo::Proxy(r) => r.list(&rel).await?,
            ArtifactRepo::Object(r) => r.list(&rel).await?,
        };
        // A listing of a file itself is not a directory listing.
        files.retain(|f| f.path != rel);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Uploads one file to `dest_dir/<its name>`.
    pub(crate) async fn upload_file(&self, local: &Path, dest_dir: &str) -> Result<String> {
        let dest_dir = paths::relative(dest_dir)?;
        let name = local
            .file_name()
            .ok_or_else(|| Error::UnsafePath {
                path: local.display().to_string(),
                message: "not a file name".into(),
            })?
            .to_string_lossy();
        let rel = paths::join(&dest_dir, &paths::relative(&name)?);
        self.put_file(local, &rel).await?;
        Ok(rel)
    }

    /// Uploads a directory's files under `dest_dir`, several at a time.
    pub(crate) async fn upload_dir(&self, local_dir: &Path, dest_dir: &str) -> Result<usize> {
        let dest_dir = paths::relative(dest_dir)?;
        let files = paths::walk_files(local_dir)?;
        let count = files.len();
        stream::iter(files.into_iter().map(Ok::<_, Error>))
            .try_for_each_concurrent(self.concurrency(), |(local, rel)| {
                let dest = paths::join(&dest_dir, &rel);
                async move { self.put_file(&local, &paths::relative(&dest)?).await }
            })
            .await?;
        Ok(count)
    }

    /// Every file under `rel` (recursively), or `rel` itself if it is a file.
    ///
    /// A listing comes from the server, so it may be cyclic (a directory
    /// listing itself or an ancestor, or each level answering like the one
    /// above): every entry must be a new path strictly inside the directory
    /// listed, and the tree at most [`MAX_DEPTH`] levels deep.
    async fn files_under(&self, rel: &str) -> Result<Vec<String>> {
        let mut files = Vec::new();
        let mut dirs = vec![(rel.to_owned(), 0usize)];
        let mut seen = std::collections::HashSet::from([rel.to_owned()]);
        let mut is_dir = false;
        while let Some((dir, depth)) = dirs.pop() {
            for entry in self.list(&dir).await? {
                is_dir = true;
                let inside = dir.is_empty()
                    || entry
                        .path
                        .strip_prefix(dir.as_str())
                        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'));
                if !inside || !seen.insert(entry.path.clone()) || depth >= MAX_DEPTH {
                    return Err(Error::Protocol {
                        endpoint: format!("listing of artifact directory '{dir}'"),
                        message: format!(
                            "the listing is cyclic: it names '{}' (a directory listing itself \
                             or an ancestor, or more than {MAX_DEPTH} levels deep)",
                            entry.path
                        ),
                    });
                }
                if entry.is_dir {
                    dirs.push((entry.path, depth + 1));
                } else {
                    files.push(entry.path);
                }
            }
        }
        if !is_dir {
            files.push(rel.to_owned());
        }
        Ok(files)
    }

    /// Downloads `rel` (a file or a whole directory) to `dst/<rel>`, files
    /// in parallel; returns that local path. Server-provided names are
    /// checked so none can land outside `dst`, not even through a symlink
    /// already in `dst`.
    pub(crate) async fn download(&self, rel: &str, dst: &Path) -> Result<PathBuf> {
        let rel = paths::relative(rel)?;
        let files = self.files_under(&rel).await?;
        // Symlinks under `dst` can only be resolved once it exists.
        std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
        stream::iter(files.into_iter().map(Ok::<_, Error>))
            .map_ok(|file| async move {
                let local = paths::download_path(dst, &file)?;
                self.get_file(&paths::relative(&file)?, &local).await
            })
            .try_buffer_unordered(self.concurrency())
            .try_collect::<Vec<()>>()
            .await?;
        let out = paths::local_join(dst, &rel)?;
        if rel.is_empty() || !out.exists() {
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        }
        Ok(out)
    }
}

/// A download goes to a hidden staged sibling first (named after this
/// process, so the next download of `dest` removes what a killed one left),
/// and [`publish_partial`] moves it into place, so an interrupted transfer
/// never leaves a truncated file under its name.
pub(crate) fn partial_path(dest: &Path) -> Result<PathBuf> {
    tandem_io::durable::create_staging_file(dest).map_err(|e| Error::io(dest, e))
}

/// Durably publishes a finished download: the staged file is fsynced, renamed
/// onto `dest` and the directory fsynced. Blocking, but two fsyncs of one
/// file are what the transfer waits for anyway.
pub(crate) async fn publish_partial(
    file: tokio::fs::File,
    partial: &Path,
    dest: &Path,
) -> Result<()> {
    let synced = file.sync_all().await.map_err(|e| Error::io(partial, e));
    drop(file);
    let published = synced.and_then(|()| {
        tandem_io::durable::rename_durably(partial, dest).map_err(|e| Error::io(dest, e))
    });
    if published.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    published
}

pub(crate) fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn downloads_are_staged_and_clean_up_after_dead_ones() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("model/m.bin");
        create_parent(&dest).unwrap();
        // pid_max is at most 2^22, so no process has this pid.
        let dead = dir.path().join("model/.m.bin.tandem-4194999-1");
        std::fs::write(&dead, b"half").unwrap();
        let partial = partial_path(&dest).unwrap();
        assert!(!dead.exists(), "a dead download's partial file is removed");
        let published = tandem_io::block_on({
            let (partial, dest) = (partial.clone(), dest.clone());
            async move {
                let mut file = tokio::fs::File::create(&partial).await.unwrap();
                file.write_all(b"bytes").await.unwrap();
                publish_partial(file, &partial, &dest).await
            }
        })
        .unwrap();
        published.unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"bytes");
        assert!(!partial.exists());
    }
}
