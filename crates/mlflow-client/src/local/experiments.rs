//! Experiments in the local store.

use std::path::Path;

use serde::Deserialize;

use super::meta::{self, Yaml, lenient_string};
use super::{LocalStore, paginate, read_key_files, validate_key, write_key_file};
use crate::error::{Error, ErrorCode, Result};
use crate::store::Experiments;
use crate::types::{Experiment, Page, Tag, ViewType, now_millis};

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExperimentMeta {
    #[serde(deserialize_with = "lenient_string")]
    experiment_id: String,
    #[serde(deserialize_with = "lenient_string")]
    name: String,
    artifact_location: Option<String>,
    lifecycle_stage: Option<String>,
    creation_time: Option<i64>,
    last_update_time: Option<i64>,
}

/// An 18-digit id without a leading zero, the shape MLflow's file store
/// gives experiments.
fn new_experiment_id() -> String {
    format!(
        "{}{:017}",
        fastrand::u8(1..=9),
        fastrand::u64(..100_000_000_000_000_000)
    )
}

impl LocalStore {
    pub(super) fn write_experiment_dir(
        &self,
        id: &str,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<()> {
        let dir = self.root.join(id);
        let location = artifact_location
            .map(str::to_owned)
            .unwrap_or_else(|| LocalStore::file_uri(&dir));
        let now = now_millis();
        meta::write(
            &dir.join("meta.yaml"),
            &[
                ("artifact_location", Yaml::Str(&location)),
                ("creation_time", Yaml::Int(now)),
                ("experiment_id", Yaml::Str(id)),
                ("last_update_time", Yaml::Int(now)),
                ("lifecycle_stage", Yaml::Str("active")),
                ("name", Yaml::Str(name)),
            ],
        )?;
        for tag in tags {
            write_key_file(&dir.join("tags"), &tag.key, &tag.value)?;
        }
        Ok(())
    }

    pub(super) fn read_experiment(&self, dir: &Path) -> Result<Experiment> {
        let m: ExperimentMeta = meta::read(&dir.join("meta.yaml"))?;
        let in_trash = dir.parent().is_some_and(|p| p.ends_with(super::TRASH));
        let lifecycle_stage = match m.lifecycle_stage {
            Some(stage) if !stage.is_empty() => stage,
            _ if in_trash => "deleted".to_owned(),
            _ => "active".to_owned(),
        };
        let tags = read_key_files(&dir.join("tags"))?
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect();
        Ok(Experiment {
            experiment_id: m.experiment_id,
            name: m.name,
            artifact_location: m
                .artifact_location
                .unwrap_or_else(|| LocalStore::file_uri(dir)),
            lifecycle_stage,
            creation_time: m.creation_time,
            last_update_time: m.last_update_time,
            tags,
        })
    }
}

impl Experiments for LocalStore {
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.read_experiment(&self.experiment_dir(experiment_id)?)
    }

    /// Deleted experiments are found too, as the server's get-by-name does.
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        for dir in self.experiment_dirs(ViewType::All)? {
            let experiment = self.read_experiment(&dir)?;
            if experiment.name == name {
                return Ok(Some(experiment));
            }
        }
        Ok(None)
    }

    fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        crate::store::check_experiment_name(name)?;
        for tag in tags {
            validate_key(&tag.key, "tag")?;
        }
        if let Some(existing) = self.get_experiment_by_name(name)? {
            let hint = if existing.is_deleted() {
                " in a deleted state; restore it or permanently delete it from the .trash folder"
            } else {
                ""
            };
            return Err(Error::mlflow(
                ErrorCode::ResourceAlreadyExists,
                format!("Experiment '{name}' already exists{hint}."),
            ));
        }
        loop {
            let id = new_experiment_id();
            let dir = self.root.join(&id);
            // create_dir (not _all) fails if another writer took the id.
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    self.write_experiment_dir(&id, name, artifact_location, tags)?;
                    return Ok(id);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&dir, e)),
            }
        }
    }

    fn search_experiments(
        &self,
        view: ViewType,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Experiment>> {
        let mut all = self
            .experiment_dirs(view)?
            .iter()
            .map(|d| self.read_experiment(d))
            .collect::<Result<Vec<_>>>()?;
        // MLflow's default order: newest first, then by id.
        all.sort_by(|a, b| {
            b.creation_time
                .cmp(&a.creation_time)
                .then_with(|| b.experiment_id.cmp(&a.experiment_id))
        });
        paginate(all, max_results as usize, page_token)
    }

    /// MLflow's file store restores by moving the directory back out of
    /// `.trash` and marking it active again.
    fn restore_experiment(&self, id: &str) -> Result<()> {
        let dir = self.experiment_dir(id)?;
        let experiment = self.read_experiment(&dir)?;
        if !experiment.is_deleted() {
            return Ok(());
        }
        let active = self.root.join(id);
        if dir != active {
            tandem_io::durable::rename_durably(&dir, &active).map_err(|e| Error::io(&active, e))?;
        }
        meta::write(
            &active.join("meta.yaml"),
            &[
                (
                    "artifact_location",
                    Yaml::Str(&experiment.artifact_location),
                ),
                ("creation_time", experiment.creation_time.into()),
                ("experiment_id", Yaml::Str(id)),
                ("last_update_time", Yaml::Int(now_millis())),
                ("lifecycle_stage", Yaml::Str("active")),
                ("name", Yaml::Str(&experiment.name)),
            ],
        )
    }
}
