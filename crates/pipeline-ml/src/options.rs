//! PipelineMl options: kedro-mlflow's `kpm_kwargs` (how the packed model
//! runs) and `log_model_kwargs` (how it is logged).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tandem_catalog::CopyMode;

use crate::error::Error;

/// How the packed model copies data between datasets on save and load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CopyModes {
    /// One mode for every dataset (`copy_mode: assign`).
    All(String),
    /// A mode per dataset; unlisted datasets use `assign`.
    PerDataset(BTreeMap<String, String>),
}

impl Default for CopyModes {
    /// `assign` everywhere: kedro-mlflow's default, and free in Rust since
    /// nodes cannot mutate shared values.
    fn default() -> Self {
        CopyModes::All(CopyMode::Assign.as_str().to_owned())
    }
}

impl CopyModes {
    /// The mode of each of `datasets`, checking every mode string and that
    /// per-dataset keys name datasets of the inference pipeline.
    pub fn resolve<'a>(
        &self,
        datasets: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, CopyMode>, Error> {
        let parse =
            |s: &str| CopyMode::from_str(s).map_err(|e| Error::InvalidOption(e.to_string()));
        let datasets: Vec<&str> = datasets.into_iter().collect();
        match self {
            CopyModes::All(mode) => {
                let mode = parse(mode)?;
                Ok(datasets.iter().map(|d| ((*d).to_owned(), mode)).collect())
            }
            CopyModes::PerDataset(modes) => {
                let unknown: Vec<&str> = modes
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !datasets.contains(k))
                    .collect();
                if !unknown.is_empty() {
                    return Err(Error::InvalidOption(format!(
                        "copy_mode names datasets the inference pipeline does not have: {}",
                        unknown.join(", ")
                    )));
                }
                datasets
                    .iter()
                    .map(|d| {
                        let mode = match modes.get(*d) {
                            Some(m) => parse(m)?,
                            None => CopyMode::Assign,
                        };
                        Ok(((*d).to_owned(), mode))
                    })
                    .collect()
            }
        }
    }
}

/// Which runner the packed model uses by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerChoice {
    /// One node at a time (the default).
    #[default]
    Sequential,
    /// Independent nodes concurrently.
    Parallel,
}

impl FromStr for RunnerChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "sequential" | "SequentialRunner" => Ok(RunnerChoice::Sequential),
            "parallel" | "ParallelRunner" => Ok(RunnerChoice::Parallel),
            other => Err(Error::InvalidOption(format!(
                "unknown runner '{other}'; use 'sequential' or 'parallel'"
            ))),
        }
    }
}

/// Whether and how the model's signature is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureChoice {
    /// Inferred from the `input_name` data and the parameters (the default).
    #[default]
    Auto,
    /// No signature.
    None,
    /// This MLflow signature (`{inputs, outputs, params}` as MLflow writes it).
    Explicit(serde_json::Value),
}

/// How the packed model runs (kedro-mlflow's `kpm_kwargs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelOptions {
    /// Copy modes of the model's datasets.
    pub copy_mode: CopyModes,
    /// The default runner.
    pub runner: RunnerChoice,
}

/// How the model is logged (kedro-mlflow's `log_model_kwargs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogModelOptions {
    /// The model's name in the run (MLflow 3's `name`; default `model`).
    pub name: String,
    /// Registers a new version of this registered model when set.
    pub registered_model_name: Option<String>,
    /// Aliases moved to the new registered version (`champion`), so that
    /// `models:/<name>@<alias>` serves it. A tandem addition: MLflow's
    /// `log_model` registers without aliases. Needs `registered_model_name`.
    pub aliases: Vec<String>,
    /// The signature to log.
    pub signature: SignatureChoice,
    /// An explicit input example (MLflow's split-oriented JSON); by default
    /// the first rows of the `input_name` data are used.
    pub input_example: Option<serde_json::Value>,
}

impl Default for LogModelOptions {
    fn default() -> Self {
        LogModelOptions {
            name: "model".to_owned(),
            registered_model_name: None,
            aliases: Vec::new(),
            signature: SignatureChoice::Auto,
            input_example: None,
        }
    }
}

/// Every PipelineMl option.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineMlOptions {
    /// How the packed model runs.
    pub model: ModelOptions,
    /// How the model is logged.
    pub log_model: LogModelOptions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_modes_resolve_per_dataset_with_assign_default() {
        let all = CopyModes::default().resolve(["a", "b"]).unwrap();
        assert!(all.values().all(|m| *m == CopyMode::Assign));
        let per = CopyModes::PerDataset(BTreeMap::from([("model".into(), "deepcopy".into())]));
        let modes = per.resolve(["model", "x"]).unwrap();
        assert_eq!(modes["model"], CopyMode::DeepCopy);
        assert_eq!(modes["x"], CopyMode::Assign);
    }

    #[test]
    fn unknown_datasets_and_bad_modes_are_errors_up_front() {
        let per = CopyModes::PerDataset(BTreeMap::from([("nope".into(), "copy".into())]));
        assert_eq!(per.resolve(["model"]).unwrap_err().kind(), "invalid_option");
        let bad = CopyModes::All("bogus".into());
        assert!(
            bad.resolve(["model"])
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
    }

    #[test]
    fn options_deserialize_from_spec_yaml_shapes() {
        let o: PipelineMlOptions = serde_json::from_value(serde_json::json!({
            "model": {"copy_mode": {"model": "copy"}, "runner": "parallel"},
            "log_model": {"name": "churn", "signature": "none"}
        }))
        .unwrap();
        assert_eq!(o.model.runner, RunnerChoice::Parallel);
        assert_eq!(o.log_model.signature, SignatureChoice::None);
        assert_eq!(o.log_model.name, "churn");
        assert!("threaded".parse::<RunnerChoice>().is_err());
        let err = serde_json::from_value::<PipelineMlOptions>(serde_json::json!({"kpm": {}}));
        assert!(err.is_err());
    }
}
