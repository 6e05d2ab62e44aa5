//! MLflow's URI forms: tracking URIs (which backend), model URIs
//! (`runs:/`, `models:/`) and artifact roots (`mlflow-artifacts:`, `file:`,
//! cloud buckets, bare paths).

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where tracking data goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrackingTarget {
    /// An MLflow server at this http(s) URL.
    Server(url::Url),
    /// A local `mlruns` directory.
    Local(PathBuf),
}

/// The local store MLflow uses when nothing is configured.
pub(crate) const DEFAULT_LOCAL_ROOT: &str = "mlruns";

/// Decides the backend from a tracking URI (`None` → `./mlruns`).
pub(crate) fn tracking_target(uri: Option<&str>) -> Result<TrackingTarget> {
    let Some(uri) = uri.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(TrackingTarget::Local(PathBuf::from(DEFAULT_LOCAL_ROOT)));
    };
    match scheme(uri) {
        Some("http" | "https") => url::Url::parse(uri)
            .map(TrackingTarget::Server)
            .map_err(|e| Error::invalid_uri(redact(uri), e.to_string())),
        Some("file") => {
            let url = url::Url::parse(uri).map_err(|e| Error::invalid_uri(uri, e.to_string()))?;
            url.to_file_path()
                .map(TrackingTarget::Local)
                .map_err(|()| Error::invalid_uri(uri, "a file: tracking URI must be a local path"))
        }
        None => Ok(TrackingTarget::Local(PathBuf::from(uri))),
        Some(other) => Err(Error::unsupported(format!(
            "tracking URI '{uri}': '{other}:' backends are not supported by this client; run \
             `mlflow server --backend-store-uri {uri}` and point MLFLOW_TRACKING_URI at it"
        ))),
    }
}

/// The URI with any password in its user-info replaced by `***`, for
/// messages and `Debug` output.
pub(crate) fn redact(uri: &str) -> String {
    let Some(start) = uri.find("://").map(|i| i + 3) else {
        return uri.to_owned();
    };
    let authority_end = uri[start..]
        .find(['/', '?', '#'])
        .map_or(uri.len(), |i| start + i);
    match uri[start..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &uri[start..start + at];
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{}{masked}{}", &uri[..start], &uri[start + at..])
        }
        None => uri.to_owned(),
    }
}

/// The URI's scheme, unless it is a path (no scheme, or a Windows drive).
fn scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let valid = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// A reference to a model or to artifacts, as MLflow's APIs accept them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelUri {
    /// `runs:/<run_id>/<path>`: a path under a run's artifacts.
    Run {
        /// The run.
        run_id: String,
        /// The path under its artifact root (may be empty).
        path: String,
    },
    /// `models:/<name>/<version>`.
    Version {
        /// Registered model name.
        name: String,
        /// Version number.
        version: String,
    },
    /// `models:/<name>@<alias>`.
    Alias {
        /// Registered model name.
        name: String,
        /// The alias.
        alias: String,
    },
    /// `models:/<name>/<stage>` (stage-based; deprecated by MLflow).
    Stage {
        /// Registered model name.
        name: String,
        /// `Staging`, `Production`, …
        stage: String,
    },
    /// `models:/<name>` or `models:/<name>/latest`: the highest version.
    Latest {
        /// Registered model name.
        name: String,
    },
    /// `models:/m-<id>`: an MLflow 3 logged model.
    LoggedModel {
        /// The model id, `m-…`.
        model_id: String,
    },
    /// A direct artifact location: `mlflow-artifacts:/…`, `file:…`, `s3://…`,
    /// `gs://…`, `az://…` (and other object-store schemes), or a local path.
    Artifact(String),
}

impl ModelUri {
    /// Parses any of MLflow's model or artifact URI forms.
    pub fn parse(uri: &str) -> Result<ModelUri> {
        let bad = |message: &str| Error::invalid_uri(uri, message);
        match scheme(uri) {
            Some("runs") => {
                let rest = uri["runs:".len()..].trim_start_matches('/');
                let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
                if run_id.is_empty() {
                    return Err(bad("expected runs:/<run_id>/<path>"));
                }
                Ok(ModelUri::Run {
                    run_id: run_id.to_owned(),
                    path: path.trim_matches('/').to_owned(),
                })
            }
            Some("models") => {
                if uri.starts_with("models://") {
                    return Err(bad("models URIs with a host (profiles) are not supported"));
                }
                let rest = uri["models:".len()..].trim_start_matches('/');
                ModelUri::parse_models(rest).ok_or_else(|| {
                    bad("expected models:/<name>/<version>, models:/<name>@<alias> or models:/m-<id>")
                })
            }
            Some(
                "mlflow-artifacts" | "file" | "s3" | "s3a" | "gs" | "az" | "azure" | "abfs"
                | "abfss" | "adl" | "wasbs" | "http" | "https",
            )
            | None => Ok(ModelUri::Artifact(uri.to_owned())),
            Some(other) => Err(bad(&format!("unknown scheme '{other}:'"))),
        }
    }

    fn parse_models(rest: &str) -> Option<ModelUri> {
        if rest.is_empty() {
            return None;
        }
        if let Some((name, alias)) = rest.rsplit_once('@') {
            return (!name.is_empty() && !alias.is_empty() && !alias.contains('/')).then(|| {
                ModelUri::Alias {
                    name: name.to_owned(),
                    alias: alias.to_owned(),
                }
            });
        }
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [id] if id.starts_with("m-") => Some(ModelUri::LoggedModel {
                model_id: (*id).to_owned(),
            }),
            [name] => Some(ModelUri::Latest {
                name: (*name).to_owned(),
            }),
            [name, "latest"] => Some(ModelUri::Latest {
                name: (*name).to_owned(),
            }),
            [name, version]
                if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(ModelUri::Version {
                    name: (*name).to_owned(),
                    version: (*version).to_owned(),
                })
            }
            [name, stage] if !name.is_empty() && !stage.is_empty() => Some(ModelUri::Stage {
                name: (*name).to_owned(),
                stage: (*stage).to_owned(),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for ModelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelUri::Run { run_id, path } => write!(f, "runs:/{run_id}/{path}"),
            ModelUri::Version { name, version } => write!(f, "models:/{name}/{version}"),
            ModelUri::Alias { name, alias } => write!(f, "models:/{name}@{alias}"),
            ModelUri::Stage { name, stage } => write!(f, "models:/{name}/{stage}"),
            ModelUri::Latest { name } => write!(f, "models:/{name}"),
            ModelUri::LoggedModel { model_id } => write!(f, "models:/{model_id}"),
            ModelUri::Artifact(uri) => f.write_str(uri),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_model_uri_form() {
        let cases = [
            (
                "runs:/abc/model/MLmodel",
                ModelUri::Run {
                    run_id: "abc".into(),
                    path: "model/MLmodel".into(),
                },
            ),
            (
                "runs:/abc",
                ModelUri::Run {
                    run_id: "abc".into(),
                    path: String::new(),
                },
            ),
            (
                "models:/fraud/3",
                ModelUri::Version {
                    name: "fraud".into(),
                    version: "3".into(),
                },
            ),
            (
                "models:/fraud@champion",
                ModelUri::Alias {
                    name: "fraud".into(),
                    alias: "champion".into(),
                },
            ),
            (
                "models:/fraud/Production",
                ModelUri::Stage {
                    name: "fraud".into(),
                    stage: "Production".into(),
                },
            ),
            (
                "models:/fraud",
                ModelUri::Latest {
                    name: "fraud".into(),
                },
            ),
            (
                "models:/fraud/latest",
                ModelUri::Latest {
                    name: "fraud".into(),
                },
            ),
            (
                "models:/m-0123abcd",
                ModelUri::LoggedModel {
                    model_id: "m-0123abcd".into(),
                },
            ),
            (
                "mlflow-artifacts:/1/abc/artifacts",
                ModelUri::Artifact("mlflow-artifacts:/1/abc/artifacts".into()),
            ),
            (
                "s3://bucket/key",
                ModelUri::Artifact("s3://bucket/key".into()),
            ),
            ("/tmp/model", ModelUri::Artifact("/tmp/model".into())),
        ];
        for (text, expected) in cases {
            let parsed = ModelUri::parse(text).unwrap();
            assert_eq!(parsed, expected, "{text}");
        }
        assert_eq!(
            ModelUri::parse("models:/fraud@champion")
                .unwrap()
                .to_string(),
            "models:/fraud@champion"
        );
        for bad in [
            "runs:/",
            "models:/",
            "models:/a@",
            "models://profile/x/1",
            "ftp2x:/x",
        ] {
            assert_eq!(
                ModelUri::parse(bad).unwrap_err().kind(),
                "invalid_uri",
                "{bad}"
            );
        }
    }

    #[test]
    fn tracking_uris_choose_the_backend() {
        assert_eq!(
            tracking_target(None).unwrap(),
            TrackingTarget::Local("mlruns".into())
        );
        assert_eq!(
            tracking_target(Some("file:///tmp/ml runs")).unwrap(),
            TrackingTarget::Local("/tmp/ml runs".into())
        );
        assert_eq!(
            tracking_target(Some("./x")).unwrap(),
            TrackingTarget::Local("./x".into())
        );
        assert!(matches!(
            tracking_target(Some("http://127.0.0.1:5000")).unwrap(),
            TrackingTarget::Server(_)
        ));
        assert_eq!(
            tracking_target(Some("sqlite:///m.db")).unwrap_err().kind(),
            "unsupported"
        );
        let bad = tracking_target(Some("http://ann:pw@[::1/x")).unwrap_err();
        assert!(!bad.to_string().contains("pw"), "{bad}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("https://ann:s3cret@host:5000/p?q=1"),
            "https://ann:***@host:5000/p?q=1"
        );
        assert_eq!(redact("https://ann@host/"), "https://ann@host/");
        assert_eq!(redact("http://host/a@b"), "http://host/a@b");
        assert_eq!(redact("./mlruns"), "./mlruns");
    }
}
