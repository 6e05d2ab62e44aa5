//! MLflow's URI forms: tracking URIs (which backend), model URIs
//! (`runs:/`, `models:/`) and artifact roots (`mlflow-artifacts:`, `file:`,
//! cloud buckets, bare paths).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where tracking data goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrackingTarget {
    /// An MLflow server at this http(s) URL.
    Server(url::Url),
    /// A local `mlruns` directory.
    Local(PathBuf),
    /// A SQLite database file in MLflow's schema (relative to the current
    /// directory when the URI's path is).
    Sqlite(PathBuf),
}

/// MLflow's default tracking URI for a process working in `base`:
/// `sqlite:///<base>/mlflow.db`, unless `<base>/mlruns` already holds an
/// experiment (`mlruns/<digits>/meta.yaml`), in which case MLflow keeps
/// using that file store and so does this: `file://<base>/mlruns`. `base`
/// is made absolute against the current directory.
pub fn default_tracking_uri(base: &Path) -> String {
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    let mlruns = base.join(DEFAULT_LOCAL_ROOT);
    let has_experiment = std::fs::read_dir(&mlruns).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_digit())
                && entry.path().join("meta.yaml").is_file()
        })
    });
    if has_experiment {
        url::Url::from_file_path(&mlruns)
            .map(String::from)
            .unwrap_or_else(|()| mlruns.display().to_string())
    } else {
        format!("sqlite:///{}", base.join("mlflow.db").display())
    }
}

/// The file store's directory name, under the working directory.
pub(crate) const DEFAULT_LOCAL_ROOT: &str = "mlruns";

/// Decides the backend from a tracking URI (`None` → MLflow's default for
/// the current directory, see [`default_tracking_uri`]).
pub(crate) fn tracking_target(uri: Option<&str>) -> Result<TrackingTarget> {
    let Some(uri) = uri.map(str::trim).filter(|u| !u.is_empty()) else {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        return tracking_target(Some(&default_tracking_uri(&cwd)));
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
        Some("sqlite") => sqlite_path(uri).map(TrackingTarget::Sqlite),
        None => Ok(TrackingTarget::Local(PathBuf::from(uri))),
        Some(other) => Err(Error::unsupported(format!(
            "tracking URI '{}': '{other}:' backends are not supported by this client; run \
             `mlflow server --backend-store-uri {}` and point MLFLOW_TRACKING_URI at it",
            redact(uri),
            redact(uri)
        ))),
    }
}

/// The database file of a `sqlite:` URI in SQLAlchemy's form: three
/// slashes then the path, so `sqlite:///x.db` is relative and
/// `sqlite:////abs/x.db` absolute.
fn sqlite_path(uri: &str) -> Result<PathBuf> {
    let expected = "expected sqlite:///<relative path> or sqlite:////<absolute path>";
    let rest = uri
        .strip_prefix("sqlite://")
        .ok_or_else(|| Error::invalid_uri(uri, format!("{expected} (SQLAlchemy's form)")))?;
    let Some(path) = rest.strip_prefix('/') else {
        return Err(Error::invalid_uri(
            uri,
            format!("a sqlite URI has no host; {expected}"),
        ));
    };
    if path.is_empty() || path == ":memory:" {
        return Err(Error::invalid_uri(
            uri,
            format!(
                "in-memory SQLite databases are not supported (the data would vanish); {expected}"
            ),
        ));
    }
    if path.contains('?') {
        return Err(Error::invalid_uri(
            uri,
            format!("query parameters are not supported; {expected}"),
        ));
    }
    Ok(PathBuf::from(path))
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
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            tracking_target(None).unwrap(),
            tracking_target(Some(&default_tracking_uri(&cwd))).unwrap()
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
            tracking_target(Some("postgresql://db/x"))
                .unwrap_err()
                .kind(),
            "unsupported"
        );
        let bad = tracking_target(Some("http://ann:pw@[::1/x")).unwrap_err();
        assert!(!bad.to_string().contains("pw"), "{bad}");
    }

    #[test]
    fn sqlite_uris_follow_sqlalchemy() {
        assert_eq!(
            tracking_target(Some("sqlite:///m.db")).unwrap(),
            TrackingTarget::Sqlite("m.db".into())
        );
        assert_eq!(
            tracking_target(Some("sqlite:///sub/m.db")).unwrap(),
            TrackingTarget::Sqlite("sub/m.db".into())
        );
        assert_eq!(
            tracking_target(Some("sqlite:////tmp/x/m.db")).unwrap(),
            TrackingTarget::Sqlite("/tmp/x/m.db".into())
        );
        for bad in [
            "sqlite://host/m.db",
            "sqlite:///:memory:",
            "sqlite://",
            "sqlite:///",
            "sqlite:m.db",
            "sqlite:///m.db?mode=ro",
        ] {
            assert_eq!(
                tracking_target(Some(bad)).unwrap_err().kind(),
                "invalid_uri",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_default_is_mlflow_db_unless_mlruns_has_experiments() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let db = format!("sqlite:///{}", base.join("mlflow.db").display());
        assert_eq!(default_tracking_uri(base), db);
        assert!(db.starts_with("sqlite:////"), "{db}");
        // An mlruns folder without an experiment does not switch.
        std::fs::create_dir_all(base.join("mlruns/.trash")).unwrap();
        std::fs::create_dir_all(base.join("mlruns/models")).unwrap();
        std::fs::create_dir_all(base.join("mlruns/5")).unwrap();
        assert_eq!(default_tracking_uri(base), db);
        std::fs::write(base.join("mlruns/5/meta.yaml"), "name: x\n").unwrap();
        let file = default_tracking_uri(base);
        assert!(
            file.starts_with("file:///") && file.ends_with("/mlruns"),
            "{file}"
        );
        assert_eq!(
            tracking_target(Some(&file)).unwrap(),
            TrackingTarget::Local(base.join("mlruns"))
        );
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
