//! Run artifacts and URI resolution.

use std::path::{Path, PathBuf};

use crate::operation::block_on;

use super::MlflowClient;
use crate::artifacts::ArtifactRepo;
use crate::error::{Error, ErrorCode, Result};
use crate::paths;
use crate::store::LoggedModelQuery;
use crate::types::FileInfo;
use crate::uri::ModelUri;

impl MlflowClient {
    fn run_repo(&self, run_id: &str) -> Result<ArtifactRepo> {
        let run = self.get_run(run_id)?;
        self.store.artifact_repo(&run.info.artifact_uri)
    }

    /// Uploads one file into the run's artifacts, under `artifact_path`
    /// (a directory; the root when `None`). Returns its artifact path.
    pub fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<String> {
        self.operation(&format!("log_artifact for run {run_id}"), || {
            let repo = self.run_repo(run_id)?;
            block_on(repo.upload_file(local_file, artifact_path.unwrap_or("")))?
        })
    }

    /// Uploads a directory's files (recursively, several at a time) into
    /// the run's artifacts under `artifact_path`. Returns the file count.
    pub fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_path: Option<&str>,
    ) -> Result<usize> {
        self.operation(&format!("log_artifacts for run {run_id}"), || {
            let repo = self.run_repo(run_id)?;
            block_on(repo.upload_dir(local_dir, artifact_path.unwrap_or("")))?
        })
    }

    /// The files and directories directly under `path` (the root when
    /// `None`) of the run's artifacts; paths are relative to the root.
    pub fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let repo = self.run_repo(run_id)?;
        block_on(repo.list(path.unwrap_or("")))?
    }

    /// Downloads a run artifact (a file or a whole directory, files in
    /// parallel) to `dst/<path>` and returns that local path.
    pub fn download_artifacts(&self, run_id: &str, path: &str, dst: &Path) -> Result<PathBuf> {
        let repo = self.run_repo(run_id)?;
        block_on(repo.download(path, dst))?
    }

    /// Lists the artifacts at any URI [`ModelUri`] accepts.
    pub fn list_artifacts_at(&self, uri: &str) -> Result<Vec<FileInfo>> {
        let location = self.resolve_artifact_uri(uri)?;
        let repo = self.store.artifact_repo(&location)?;
        block_on(repo.list(""))?
    }

    /// Downloads everything at any URI [`ModelUri`] accepts (`runs:/`,
    /// `models:/name/1`, `models:/name@alias`, `models:/m-…`,
    /// `mlflow-artifacts:/…`, `file:`, `s3://…`) into `dst`; returns `dst`
    /// (for a single file, the file's local path).
    pub fn download_uri(&self, uri: &str, dst: &Path) -> Result<PathBuf> {
        let location = self.resolve_artifact_uri(uri)?;
        let (root, rel) = match location.rsplit_once('/') {
            // A single file is downloaded by name from its directory.
            Some((dir, name)) if !name.is_empty() && self.is_file_at(dir, name)? => {
                (dir.to_owned(), name.to_owned())
            }
            _ => (location, String::new()),
        };
        let repo = self.store.artifact_repo(&root)?;
        block_on(repo.download(&rel, dst))?
    }

    fn is_file_at(&self, dir: &str, name: &str) -> Result<bool> {
        let Ok(repo) = self.store.artifact_repo(dir) else {
            return Ok(false);
        };
        // An unlistable parent (e.g. a bucket root without list rights)
        // just means "treat the location as a directory".
        let listing = block_on(repo.list(""))?.unwrap_or_default();
        Ok(listing.iter().any(|f| f.path == name && !f.is_dir))
    }

    /// Resolves a model or artifact URI to the artifact location holding
    /// its files, the way MLflow does: `runs:/` via the run's artifact root
    /// (falling back, as MLflow 3 does, to the run's logged model of that
    /// name when nothing is at the path), `models:/name/version` and
    /// `models:/name@alias` via the registry's download URI, `models:/name`
    /// via its highest version, `models:/m-…` via the logged model.
    pub fn resolve_artifact_uri(&self, uri: &str) -> Result<String> {
        match ModelUri::parse(uri)? {
            ModelUri::Artifact(location) => Ok(location),
            ModelUri::Run { run_id, path } => {
                let run = self.get_run(&run_id)?;
                let root = run.info.artifact_uri.trim_end_matches('/').to_owned();
                if path.is_empty() {
                    return Ok(root);
                }
                let path = paths::relative(&path)?;
                if self.run_path_exists(&root, &path)? {
                    return Ok(format!("{root}/{path}"));
                }
                let query = LoggedModelQuery {
                    experiment_ids: vec![run.info.experiment_id.clone()],
                    filter: Some(format!("source_run_id = '{run_id}' AND name = '{path}'")),
                    max_results: Some(1),
                    order_by: Vec::new(),
                };
                // A server without logged models (2.x) simply has no fallback.
                match self.search_logged_models(&query, None) {
                    Ok(page) if !page.items.is_empty() => {
                        Ok(page.items[0].info.artifact_uri.clone())
                    }
                    _ => Ok(format!("{root}/{path}")),
                }
            }
            ModelUri::LoggedModel { model_id } => {
                Ok(self.get_logged_model(&model_id)?.info.artifact_uri)
            }
            ModelUri::Version { name, version } => self.model_version_download_uri(&name, &version),
            ModelUri::Alias { name, alias } => {
                let version = self.get_model_version_by_alias(&name, &alias)?;
                self.model_version_download_uri(&name, &version.version)
            }
            ModelUri::Stage { name, stage } => {
                let versions = self.latest_versions(&name, std::slice::from_ref(&stage))?;
                let newest = highest_version(versions.iter().map(|v| v.version.as_str()))
                    .ok_or_else(|| {
                        Error::mlflow(
                            ErrorCode::ResourceDoesNotExist,
                            format!("no versions of registered model '{name}' in stage '{stage}'"),
                        )
                    })?;
                self.model_version_download_uri(&name, &newest)
            }
            ModelUri::Latest { name } => {
                let escaped = name.replace('\'', "\\'");
                let versions = self.search_model_versions(Some(&format!("name='{escaped}'")))?;
                let newest = highest_version(versions.iter().map(|v| v.version.as_str()))
                    .ok_or_else(|| {
                        Error::mlflow(
                            ErrorCode::ResourceDoesNotExist,
                            format!("registered model '{name}' has no versions"),
                        )
                    })?;
                self.model_version_download_uri(&name, &newest)
            }
        }
    }

    fn run_path_exists(&self, root: &str, path: &str) -> Result<bool> {
        let repo = self.store.artifact_repo(root)?;
        let (parent, _) = path.rsplit_once('/').unwrap_or(("", path));
        let listing = block_on(repo.list(parent))?;
        match listing {
            Ok(files) => Ok(files.iter().any(|f| f.path == path)),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The numerically highest version string.
fn highest_version<'a>(versions: impl Iterator<Item = &'a str>) -> Option<String> {
    versions
        .max_by_key(|v| v.parse::<u64>().unwrap_or(0))
        .map(str::to_owned)
}
