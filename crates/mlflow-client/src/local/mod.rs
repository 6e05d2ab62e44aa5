//! The local store: MLflow's file-store layout under an `mlruns` directory,
//! readable by `mlflow ui --backend-store-uri ./mlruns` and MLflow's Python
//! client (MLflow 3.x requires `MLFLOW_ALLOW_FILE_STORE=true` for that).
//!
//! ```text
//! mlruns/
//!   .trash/                       deleted experiments
//!   0/meta.yaml                   the Default experiment
//!   <exp>/meta.yaml, tags/<key>
//!   <exp>/<run>/meta.yaml, params/<key>, metrics/<key>, tags/<key>,
//!              inputs/<id>/meta.yaml, outputs/<model>/meta.yaml, artifacts/
//!   <exp>/datasets/<md5>/meta.yaml
//!   <exp>/models/<m-id>/meta.yaml, params/, metrics/, tags/, artifacts/
//! ```

mod experiments;
mod lineage;
mod meta;
mod models;
mod runs;

use std::path::{Path, PathBuf};

use crate::artifacts::{ArtifactRepo, Transfer};
use crate::error::{Error, ErrorCode, Result};
use crate::paths;
use crate::store::{Backend, ModelRegistry, sealed};
use crate::types::{Metric, Page, Param, Tag, ViewType};

const TRASH: &str = ".trash";
const DEFAULT_EXPERIMENT_ID: &str = "0";
/// The registry's folder in a shared root; never an experiment.
const REGISTRY_FOLDER: &str = "models";

/// An `mlruns` directory.
#[derive(Clone, Debug)]
pub(crate) struct LocalStore {
    root: PathBuf,
    transfer: Transfer,
}

impl LocalStore {
    /// Opens (creating if needed) the store at `root`, with MLflow's
    /// `.trash` folder and `Default` experiment `0`.
    pub(crate) fn open(root: &Path, transfer: Transfer) -> Result<LocalStore> {
        let root = std::path::absolute(root).map_err(|e| Error::io(root, e))?;
        let trash = root.join(TRASH);
        std::fs::create_dir_all(&trash).map_err(|e| Error::io(&trash, e))?;
        let store = LocalStore { root, transfer };
        if !store
            .root
            .join(DEFAULT_EXPERIMENT_ID)
            .join("meta.yaml")
            .exists()
            && !trash.join(DEFAULT_EXPERIMENT_ID).exists()
        {
            store.write_experiment_dir(DEFAULT_EXPERIMENT_ID, "Default", None, &[])?;
        }
        store.repair_run_dirs()?;
        Ok(store)
    }

    /// Gives every run its `artifacts` folder. Runs written before tandem
    /// made one at creation lack it, and MLflow's file store then reports
    /// them missing (`get_run`, `set_terminated`) though search lists them.
    /// One directory listing per experiment: linear in the runs held.
    fn repair_run_dirs(&self) -> Result<()> {
        for exp in self.experiment_dirs(ViewType::All)? {
            let entries = std::fs::read_dir(&exp).map_err(|e| Error::io(&exp, e))?;
            for entry in entries {
                let run = entry.map_err(|e| Error::io(&exp, e))?.path();
                if run.join("meta.yaml").is_file() && !run.join("artifacts").exists() {
                    let artifacts = run.join("artifacts");
                    match std::fs::create_dir(&artifacts) {
                        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                            return Err(Error::io(&artifacts, e));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// `file://` URI of a path in the store.
    fn file_uri(path: &Path) -> String {
        url::Url::from_file_path(path)
            .map(String::from)
            .unwrap_or_else(|()| path.display().to_string())
    }

    /// The experiment directories: active ones at the root, deleted ones in `.trash`.
    fn experiment_dirs(&self, view: ViewType) -> Result<Vec<PathBuf>> {
        let mut dirs = Vec::new();
        let mut scan = |parent: &Path, include: bool| -> Result<()> {
            if !include {
                return Ok(());
            }
            let entries = match std::fs::read_dir(parent) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(Error::io(parent, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(parent, e))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || name == REGISTRY_FOLDER {
                    continue;
                }
                if entry.path().join("meta.yaml").is_file() {
                    dirs.push(entry.path());
                }
            }
            Ok(())
        };
        scan(&self.root, view != ViewType::DeletedOnly)?;
        scan(&self.root.join(TRASH), view != ViewType::ActiveOnly)?;
        Ok(dirs)
    }

    /// The directory of experiment `id`, active or deleted.
    fn experiment_dir(&self, id: &str) -> Result<PathBuf> {
        validate_id(id, "experiment")?;
        [self.root.join(id), self.root.join(TRASH).join(id)]
            .into_iter()
            .find(|d| d.join("meta.yaml").is_file())
            .ok_or_else(|| {
                Error::mlflow(
                    ErrorCode::ResourceDoesNotExist,
                    format!("Could not find experiment with ID {id}"),
                )
            })
    }

    /// The directory of run `run_id`, in whichever experiment holds it.
    fn run_dir(&self, run_id: &str) -> Result<PathBuf> {
        validate_id(run_id, "run")?;
        for exp in self.experiment_dirs(ViewType::All)? {
            let dir = exp.join(run_id);
            if dir.join("meta.yaml").is_file() {
                return Ok(dir);
            }
        }
        Err(Error::mlflow(
            ErrorCode::ResourceDoesNotExist,
            format!("Run '{run_id}' not found"),
        ))
    }

    /// The directory of logged model `model_id`.
    fn model_dir(&self, model_id: &str) -> Result<PathBuf> {
        validate_id(model_id, "model")?;
        for exp in self.experiment_dirs(ViewType::All)? {
            let dir = exp.join("models").join(model_id);
            if dir.join("meta.yaml").is_file() {
                return Ok(dir);
            }
        }
        Err(Error::mlflow(
            ErrorCode::ResourceDoesNotExist,
            format!("Logged model with ID '{model_id}' not found."),
        ))
    }
}

/// Ids become directory names, so only id characters are allowed.
fn validate_id(id: &str, what: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!("Invalid {what} ID: '{id}'"),
        ))
    }
}

/// Metric, param and tag keys become file paths: MLflow's name rule
/// (`[/\w.\- :]`, ≤250 characters) plus no escaping or absolute paths.
fn validate_key(key: &str, what: &str) -> Result<()> {
    let chars_ok = key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':'));
    let path_ok = paths::relative(key).is_ok_and(|normal| normal == key);
    if key.is_empty() || key.chars().count() > 250 || !chars_ok || !path_ok {
        return Err(Error::mlflow(
            ErrorCode::InvalidParameterValue,
            format!(
                "Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores \
                 (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), at most 250 \
                 characters, and must not be an absolute path or contain '..'"
            ),
        ));
    }
    Ok(())
}

/// Reads every file under `dir` as key → content (keys may contain `/`).
fn read_key_files(dir: &Path) -> Result<Vec<(String, String)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    paths::walk_files(dir)?
        .into_iter()
        .filter(|(_, key)| !paths::basename(key).starts_with('.'))
        .map(|(path, key)| {
            let value = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            Ok((key, value))
        })
        .collect()
}

fn write_key_file(dir: &Path, key: &str, value: &str) -> Result<()> {
    meta::write_atomic(&paths::local_join(dir, key)?, value.as_bytes())
}

/// Pages through an in-memory result list; the token is the next offset.
fn paginate<T>(items: Vec<T>, max_results: usize, page_token: Option<&str>) -> Result<Page<T>> {
    let start = match page_token {
        None | Some("") => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            Error::mlflow(
                ErrorCode::InvalidParameterValue,
                format!("Invalid page token '{token}'"),
            )
        })?,
    };
    let max_results = max_results.max(1);
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(max_results).collect();
    let end = start + items.len();
    Ok(Page {
        items,
        next_page_token: (end < total).then(|| end.to_string()),
    })
}

impl sealed::Sealed for LocalStore {}

impl ModelRegistry for LocalStore {}

impl Backend for LocalStore {
    fn tracking_uri(&self) -> String {
        LocalStore::file_uri(&self.root)
    }

    fn is_local(&self) -> bool {
        true
    }

    fn has_model_registry(&self) -> bool {
        false
    }

    fn artifact_repo(&self, artifact_uri: &str) -> Result<ArtifactRepo> {
        ArtifactRepo::local(artifact_uri, &self.transfer)
    }

    fn log_batch_request(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        // No request limits here: the whole chunk is one write.
        self.log_batch_local(run_id, metrics, params, tags)
    }

    fn log_model_history(&self, run_id: &str, model_json: &str) -> Result<()> {
        self.log_model_history_local(run_id, model_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids_cannot_escape_the_store() {
        for bad in ["../x", "/abs", "a/../b", "a//b", "", "semi;colon", "a/./b"] {
            assert_eq!(
                validate_key(bad, "param").unwrap_err().kind(),
                "invalid_request",
                "{bad}"
            );
        }
        for good in ["alpha", "nested/key", "eval:rmse", "a.b-c d"] {
            validate_key(good, "param").unwrap();
        }
        assert!(validate_id("../0", "run").is_err());
        let page = paginate((0..5).collect(), 2, Some("2")).unwrap();
        assert_eq!(
            (page.items, page.next_page_token),
            (vec![2, 3], Some("4".into()))
        );
    }
}
