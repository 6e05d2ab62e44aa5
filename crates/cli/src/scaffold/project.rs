//! `tandem new`: a project generated in a staging directory beside its
//! target and renamed into place, so a failure leaves nothing half-written.

use std::path::{Path, PathBuf};

use crate::args::{NewArgs, Starter};
use crate::error::Failure;

use super::names::{crate_name, package_name_problem};
use super::templates::{self, DATA_LAYERS, Values};
use super::{Created, CreatedKind, io_error, write_new};

/// The tandem checkout this binary was built from (crates/cli's grandparent).
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Where a generated project takes the tandem crates from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TandemSource {
    /// A checkout on disk (absolute), one path per crate.
    Path(PathBuf),
    /// A git repository Cargo searches for each crate.
    Git(String),
    /// A version on crates.io.
    Version(String),
}

impl TandemSource {
    /// The inside of the dependency table for crate `name` (`tandem-cli`).
    fn dependency(&self, name: &str) -> String {
        match self {
            TandemSource::Path(root) => {
                let dir = root
                    .join("crates")
                    .join(name.strip_prefix("tandem-").unwrap_or(name));
                format!("path = {}", toml_string(&dir.to_string_lossy()))
            }
            TandemSource::Git(url) => format!("git = {}", toml_string(url)),
            TandemSource::Version(version) => format!("version = {}", toml_string(version)),
        }
    }
}

/// Generates the project `args` describe.
pub(crate) fn new_project(args: &NewArgs) -> Result<Created, Failure> {
    let files = templates::files(args.starter);
    let dependencies = dependency_names(&files);
    if let Some(reason) = package_name_problem(&args.name, &dependencies) {
        return Err(Failure::InvalidName {
            what: "project",
            name: args.name.clone(),
            reason,
        });
    }
    let source = tandem_source(args)?;
    let parent = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let target = parent.join(&args.name);
    refuse_existing(&target)?;
    std::fs::create_dir_all(&parent).map_err(|e| io_error(&parent, e))?;

    let crate_name = crate_name(&args.name);
    let values = Values {
        project_name: &args.name,
        crate_name: &crate_name,
        starter: args.starter.name(),
    };
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.tandem-new-", args.name))
        .tempdir_in(&parent)
        .map_err(|e| io_error(&parent, e))?;
    let mut written = Vec::new();
    let tandem = |name: &str| source.dependency(name);
    for file in &files {
        let mut contents = file.render(&values, &tandem);
        if file.path == ".gitignore" && args.starter == Starter::Minimal {
            // The sample data ships with the project, so it stays tracked.
            contents.push_str("!/data/01_raw/readings.csv\n");
        }
        write_new(&staging.path().join(file.path), &contents)?;
        written.push(file.path.to_owned());
    }
    for layer in DATA_LAYERS {
        let path = format!("data/{layer}/.gitkeep");
        write_new(&staging.path().join(&path), "")?;
        written.push(path);
    }
    if let TandemSource::Path(root) = &source {
        // The checkout's lock pins every dependency to the versions the
        // checkout builds with, so the project builds offline from the same
        // registry cache; Cargo drops the entries it does not need.
        let lock = root.join("Cargo.lock");
        if lock.is_file() {
            std::fs::copy(&lock, staging.path().join("Cargo.lock"))
                .map_err(|e| io_error(&lock, e))?;
            written.push("Cargo.lock".to_owned());
        }
    }
    let staged = staging.keep();
    // Renaming onto an empty directory replaces it; onto anything else fails.
    if let Err(e) = std::fs::rename(&staged, &target) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io_error(&target, e));
    }
    written.sort();
    Ok(Created {
        kind: CreatedKind::Project {
            starter: args.starter.name(),
        },
        name: args.name.clone(),
        root: std::path::absolute(&target).unwrap_or(target),
        files: written,
    })
}

/// The source named on the command line, or the checkout this binary was
/// built from, which must still be there.
fn tandem_source(args: &NewArgs) -> Result<TandemSource, Failure> {
    if let Some(url) = &args.tandem.tandem_git {
        return Ok(TandemSource::Git(url.clone()));
    }
    if let Some(version) = &args.tandem.tandem_version {
        return Ok(TandemSource::Version(version.clone()));
    }
    let root = args
        .tandem
        .tandem_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(BUILT_FROM));
    let not_found = |reason: &str| Failure::TandemNotFound {
        path: root.display().to_string(),
        reason: reason.to_owned(),
    };
    let root = root
        .canonicalize()
        .map_err(|e| not_found(&format!("the directory cannot be read: {e}")))?;
    if !root.join("crates/cli/Cargo.toml").is_file() {
        return Err(not_found("it has no crates/cli/Cargo.toml"));
    }
    Ok(TandemSource::Path(root))
}

/// Refuses a target that exists and is not an empty directory.
fn refuse_existing(target: &Path) -> Result<(), Failure> {
    let exists = |what: &str| Failure::AlreadyExists {
        path: target.display().to_string(),
        what: what.to_owned(),
    };
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(target, e)),
        Ok(meta) if !meta.is_dir() => Err(exists(
            "it is not a directory; choose another NAME or --path",
        )),
        Ok(_) => {
            let mut entries = std::fs::read_dir(target).map_err(|e| io_error(target, e))?;
            if entries.next().is_some() {
                Err(exists(
                    "the directory is not empty; tandem new writes into a new or empty directory",
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// The packages a starter's Cargo.toml depends on.
fn dependency_names(files: &[templates::Template]) -> Vec<&'static str> {
    let Some(cargo) = files.iter().find(|f| f.path == "Cargo.toml") else {
        return Vec::new();
    };
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in cargo.contents.lines() {
        if line.starts_with('[') {
            in_dependencies = line.ends_with("dependencies]");
        } else if in_dependencies && let Some((name, _)) = line.split_once(" = ") {
            names.push(name.trim());
        }
    }
    names
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::TandemSourceArgs;

    fn args(name: &str, path: &Path) -> NewArgs {
        NewArgs {
            name: name.to_owned(),
            starter: Starter::Minimal,
            path: Some(path.to_owned()),
            tandem: TandemSourceArgs {
                tandem_path: None,
                tandem_git: None,
                tandem_version: None,
            },
            json: false,
        }
    }

    #[test]
    fn a_project_has_kedros_layout_and_depends_on_this_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let created = new_project(&args("weather-station", dir.path())).unwrap();
        let root = dir.path().join("weather-station");
        assert_eq!(created.root, std::path::absolute(&root).unwrap());
        for layer in DATA_LAYERS {
            assert!(root.join("data").join(layer).join(".gitkeep").is_file());
        }
        for file in [
            "conf/base/catalog.yml",
            "conf/base/parameters.yml",
            "conf/base/mlflow.yml",
            "conf/local/credentials.yml",
            "conf/local/.gitkeep",
            "src/pipelines/mod.rs",
            "tests/pipelines.rs",
            "Cargo.lock",
            ".gitignore",
        ] {
            assert!(root.join(file).is_file(), "{file}");
            assert!(created.files.iter().any(|f| f == file), "{file}");
        }
        let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let checkout = Path::new(BUILT_FROM).canonicalize().unwrap();
        let cli = toml_string(&checkout.join("crates/cli").to_string_lossy());
        assert!(
            cargo.contains(&format!("tandem-cli = {{ path = {cli} }}")),
            "{cargo}"
        );
        assert!(cargo.contains("name = \"weather-station\""));
        let main = std::fs::read_to_string(root.join("src/main.rs")).unwrap();
        assert!(main.contains("weather_station::app()"), "{main}");
        let mlflow = std::fs::read_to_string(root.join("conf/base/mlflow.yml")).unwrap();
        assert!(mlflow.contains("name: \"weather-station\""));
        // Nothing staged is left beside it.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn existing_directories_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("taken")).unwrap();
        std::fs::write(dir.path().join("taken/notes.txt"), "mine").unwrap();
        let err = new_project(&args("taken", dir.path())).unwrap_err();
        assert_eq!(err.kind(), "already_exists");
        assert!(err.to_string().contains("taken") && err.to_string().contains("not empty"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("taken/notes.txt")).unwrap(),
            "mine"
        );

        // An empty directory is filled.
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        new_project(&args("empty", dir.path())).unwrap();
        assert!(dir.path().join("empty/Cargo.toml").is_file());

        let err = new_project(&args("my project", dir.path())).unwrap_err();
        assert_eq!(err.kind(), "invalid_name");
        assert!(
            err.to_string()
                .starts_with("'my project' cannot be a project name"),
            "{err}"
        );
        let err = new_project(&args("tandem-cli", dir.path())).unwrap_err();
        assert_eq!(err.kind(), "invalid_name");
    }

    #[test]
    fn a_missing_checkout_names_the_alternatives() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = args("weather", dir.path());
        args.tandem.tandem_path = Some(dir.path().join("no-such-checkout"));
        let err = new_project(&args).unwrap_err();
        assert_eq!(err.kind(), "tandem_not_found");
        let message = err.to_string();
        assert!(message.contains("no-such-checkout"), "{message}");
        assert!(message.contains("--tandem-git"), "{message}");
        args.tandem.tandem_path = Some(dir.path().to_owned());
        let err = new_project(&args).unwrap_err();
        assert!(err.to_string().contains("crates/cli/Cargo.toml"), "{err}");
        assert!(!dir.path().join("weather").exists());
    }

    #[test]
    fn git_and_version_sources() {
        let git = TandemSource::Git("https://example.com/t\"andem".to_owned());
        assert_eq!(
            git.dependency("tandem-cli"),
            "git = \"https://example.com/t\\\"andem\""
        );
        let version = TandemSource::Version("0.1.0".to_owned());
        assert_eq!(version.dependency("tandem-runners"), "version = \"0.1.0\"");
        let path = TandemSource::Path(PathBuf::from("/src/tandem"));
        assert_eq!(
            path.dependency("tandem-pipeline-core"),
            "path = \"/src/tandem/crates/pipeline-core\""
        );
    }
}
