//! `tandem pipeline create`: a pipeline skeleton added to a generated
//! project and registered at the marker comments of src/pipelines/mod.rs.

use std::path::{Path, PathBuf};

use crate::args::PipelineCreateArgs;
use crate::error::Failure;

use super::names::{crate_name, pipeline_name_problem};
use super::templates::{
    MODULES_MARKER, PIPELINE_MODULE, PIPELINE_PARAMETERS, PIPELINE_TEST, REGISTRY_MARKER, Values,
    fill,
};
use super::{Created, CreatedKind, io_error, write_new};

/// Adds the pipeline `args` names to the project at `args.project`.
pub(crate) fn create_pipeline(args: &PipelineCreateArgs) -> Result<Created, Failure> {
    let name = args.name.as_str();
    if let Some(reason) = pipeline_name_problem(name) {
        return Err(Failure::InvalidName {
            what: "pipeline",
            name: name.to_owned(),
            reason,
        });
    }
    let root = &args.project;
    let package = package_name(&root.join("Cargo.toml"))?;
    let registry_path = root.join("src/pipelines/mod.rs");
    let registry = read_registry(&registry_path)?;
    if registry.lines().any(|line| {
        line.trim() == format!("pub mod {name};") || line.trim() == format!("mod {name};")
    }) {
        return Err(Failure::AlreadyExists {
            path: registry_path.display().to_string(),
            what: format!("it already declares the pipeline module '{name}'"),
        });
    }

    let crate_name = crate_name(&package);
    let values = Values {
        project_name: &package,
        crate_name: &crate_name,
        starter: "",
    };
    let fill_name = |text: &str| fill(text, &values).replace("{{pipeline_name}}", name);
    let mut files: Vec<(PathBuf, String)> = vec![
        (
            PathBuf::from(format!("src/pipelines/{name}.rs")),
            fill_name(PIPELINE_MODULE),
        ),
        (
            PathBuf::from(format!("tests/pipeline_{name}.rs")),
            fill_name(PIPELINE_TEST),
        ),
    ];
    if !args.skip_config {
        let env = conf_env(root, &args.env)?;
        files.push((
            env.join(format!("parameters_{name}.yml")),
            fill_name(PIPELINE_PARAMETERS),
        ));
    }
    for (path, _) in &files {
        let full = root.join(path);
        if full.exists() {
            return Err(Failure::AlreadyExists {
                path: full.display().to_string(),
                what: format!("pipeline '{name}' exists; choose another name"),
            });
        }
    }
    let updated = register(&registry, name);

    let mut written: Vec<PathBuf> = Vec::new();
    for (path, contents) in &files {
        let full = root.join(path);
        if let Err(e) = write_new(&full, contents) {
            // Leave the project as it was.
            for done in &written {
                let _ = std::fs::remove_file(done);
            }
            return Err(e);
        }
        written.push(full);
    }
    if let Err(e) = replace_file(&registry_path, &updated) {
        for done in &written {
            let _ = std::fs::remove_file(done);
        }
        return Err(e);
    }
    let mut paths: Vec<String> = files
        .iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    paths.push("src/pipelines/mod.rs".to_owned());
    paths.sort();
    Ok(Created {
        kind: CreatedKind::Pipeline,
        name: name.to_owned(),
        root: std::path::absolute(root).unwrap_or_else(|_| root.clone()),
        files: paths,
    })
}

/// `[package] name` of a Cargo.toml, read line by line (a generated
/// project's is one `name = "..."` line).
fn package_name(cargo_toml: &Path) -> Result<String, Failure> {
    let not_a_project = |reason: &str| Failure::NotAProject {
        path: cargo_toml.display().to_string(),
        reason: reason.to_owned(),
    };
    let text = std::fs::read_to_string(cargo_toml).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            not_a_project(
                "not found: run `tandem pipeline create` in a project made by `tandem new`, \
                 or pass --project DIR",
            )
        } else {
            io_error(cargo_toml, e)
        }
    })?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(value) = line.strip_prefix("name")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            let value = value.trim().trim_matches('"');
            if !value.is_empty() {
                return Ok(value.to_owned());
            }
        }
    }
    Err(not_a_project("it has no [package] name"))
}

/// src/pipelines/mod.rs, which must carry both markers.
fn read_registry(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            // The churn starter keeps the example's one-file registry.
            let hint = if path
                .parent()
                .is_some_and(|p| p.with_extension("rs").is_file())
            {
                " (this project registers its pipelines in src/pipelines.rs: add them there)"
            } else {
                ""
            };
            Failure::NotAProject {
                path: path.display().to_string(),
                reason: format!(
                    "not found: `tandem pipeline create` registers pipelines in the \
                     src/pipelines/mod.rs that `tandem new --starter minimal` generates{hint}"
                ),
            }
        } else {
            io_error(path, e)
        }
    })?;
    for marker in [MODULES_MARKER, REGISTRY_MARKER] {
        if !text
            .lines()
            .any(|line| line.trim_start().starts_with(marker))
        {
            return Err(Failure::NotAProject {
                path: path.display().to_string(),
                reason: format!(
                    "the marker comment `{marker}` is missing; `tandem pipeline create` adds \
                     pipelines above it"
                ),
            });
        }
    }
    Ok(text)
}

/// conf/<env>, which must exist; `env` is one plain directory name.
fn conf_env(root: &Path, env: &str) -> Result<PathBuf, Failure> {
    let plain = !env.is_empty()
        && env != "."
        && env != ".."
        && !env.contains(['/', '\\', '\0'])
        && !env.contains(':');
    let relative = Path::new("conf").join(env);
    if !plain || !root.join(&relative).is_dir() {
        return Err(Failure::NotAProject {
            path: root.join(&relative).display().to_string(),
            reason: "no such configuration environment directory".to_owned(),
        });
    }
    Ok(relative)
}

/// The registry with `name`'s module and pipeline added above the markers,
/// indented like them.
fn register(registry: &str, name: &str) -> String {
    let mut out = String::with_capacity(registry.len() + 128);
    for line in registry.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with(MODULES_MARKER) {
            out.push_str(&format!("{indent}pub mod {name};\n"));
        } else if trimmed.starts_with(REGISTRY_MARKER) {
            out.push_str(&format!(
                "{indent}(\"{name}\".to_owned(), {name}::create_pipeline()?),\n"
            ));
        }
        out.push_str(line);
    }
    out
}

/// Replaces `path` with `contents` through a sibling temporary file, so an
/// interrupted write leaves the old registry.
fn replace_file(path: &Path, contents: &str) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, e))?;
    std::io::Write::write_all(&mut staged, contents.as_bytes()).map_err(|e| io_error(path, e))?;
    staged.persist(path).map_err(|e| io_error(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{NewArgs, Starter, TandemSourceArgs};

    fn project(dir: &Path, starter: Starter) -> PathBuf {
        let args = NewArgs {
            name: "weather".to_owned(),
            starter,
            path: Some(dir.to_owned()),
            tandem: TandemSourceArgs {
                tandem_path: None,
                tandem_git: None,
                tandem_version: Some("0.1.0".to_owned()),
            },
            json: false,
        };
        super::super::project::new_project(&args).unwrap().root
    }

    fn create(root: &Path, name: &str) -> Result<Created, Failure> {
        create_pipeline(&PipelineCreateArgs {
            name: name.to_owned(),
            project: root.to_owned(),
            env: "base".to_owned(),
            skip_config: false,
            json: false,
        })
    }

    #[test]
    fn a_pipeline_is_added_and_registered() {
        let dir = tempfile::tempdir().unwrap();
        let root = project(dir.path(), Starter::Minimal);
        let created = create(&root, "reporting").unwrap();
        assert_eq!(
            created.files,
            [
                "conf/base/parameters_reporting.yml",
                "src/pipelines/mod.rs",
                "src/pipelines/reporting.rs",
                "tests/pipeline_reporting.rs"
            ]
        );
        let registry = std::fs::read_to_string(root.join("src/pipelines/mod.rs")).unwrap();
        assert!(registry.contains("pub mod reporting;\n// tandem:pipeline-modules"));
        assert!(registry.contains(
            "        (\"reporting\".to_owned(), reporting::create_pipeline()?),\n        // \
             tandem:pipeline-registry"
        ));
        let test = std::fs::read_to_string(root.join("tests/pipeline_reporting.rs")).unwrap();
        assert!(test.contains("weather::pipelines::reporting::create_pipeline()"));
        let module = std::fs::read_to_string(root.join("src/pipelines/reporting.rs")).unwrap();
        assert!(!module.contains("{{"), "{module}");

        // The same name again, or the starter's own, is refused untouched.
        let err = create(&root, "reporting").unwrap_err();
        assert_eq!(err.kind(), "already_exists");
        assert!(err.to_string().contains("'reporting'"), "{err}");
        let err = create(&root, "data_processing").unwrap_err();
        assert_eq!(err.kind(), "already_exists");
        assert!(err.to_string().contains("'data_processing'"), "{err}");
        assert_eq!(
            std::fs::read_to_string(root.join("src/pipelines/mod.rs")).unwrap(),
            registry
        );
        assert_eq!(
            create(&root, "Bad-Name").unwrap_err().kind(),
            "invalid_name"
        );
    }

    #[test]
    fn a_project_without_the_registry_markers_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = create(dir.path(), "reporting").unwrap_err();
        assert_eq!(err.kind(), "not_a_project");
        assert!(err.to_string().contains("Cargo.toml"), "{err}");

        // The churn starter keeps the example's src/pipelines.rs.
        let root = project(dir.path(), Starter::Churn);
        let err = create(&root, "reporting").unwrap_err();
        assert_eq!(err.kind(), "not_a_project");
        assert!(err.to_string().contains("src/pipelines/mod.rs"), "{err}");
        assert!(err.to_string().contains("add them there"), "{err}");
        assert!(!root.join("src/pipelines/reporting.rs").exists());

        let minimal = tempfile::tempdir().unwrap();
        let root = project(minimal.path(), Starter::Minimal);
        let registry = root.join("src/pipelines/mod.rs");
        let text = std::fs::read_to_string(&registry).unwrap();
        std::fs::write(&registry, text.replace(REGISTRY_MARKER, "// gone")).unwrap();
        let err = create(&root, "reporting").unwrap_err();
        assert!(err.to_string().contains(REGISTRY_MARKER), "{err}");
        std::fs::write(&registry, &text).unwrap();
        let err = create_pipeline(&PipelineCreateArgs {
            name: "reporting".to_owned(),
            project: root.clone(),
            env: "../..".to_owned(),
            skip_config: false,
            json: false,
        })
        .unwrap_err();
        assert_eq!(err.kind(), "not_a_project");
    }
}
