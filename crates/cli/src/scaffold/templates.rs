//! The files of a generated project, embedded in the binary, and how their
//! placeholders are filled.
//!
//! Placeholders are plain `{{name}}` strings: `{{project_name}}` (the
//! package name), `{{crate_name}}` (its library name), `{{starter}}`, and in
//! Cargo.toml `{{tandem}}`, which becomes the source of the tandem crate
//! named on that line. The churn starter's sources, tests and conf are
//! examples/churn's own files, embedded from there so the starter is always
//! the example the workspace builds and tests; they are renamed instead:
//! `churn::` paths and function ids become `<crate_name>::`. (Publishing
//! tandem-cli means vendoring them under templates/churn/ first: a
//! package cannot embed files from outside its directory.)

use crate::args::Starter;

/// How a template becomes a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Replace the `{{...}}` placeholders.
    Placeholders,
    /// A copy of the churn example: rename the crate.
    ChurnRename,
    /// Written as is.
    Verbatim,
}

/// One file of a project.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Template {
    /// Where it goes, relative to the project root.
    pub(crate) path: &'static str,
    /// Its contents, with placeholders.
    pub(crate) contents: &'static str,
    /// How the placeholders are filled.
    pub(crate) fill: Fill,
}

const fn t(path: &'static str, contents: &'static str, fill: Fill) -> Template {
    Template {
        path,
        contents,
        fill,
    }
}

/// Kedro's data layers, each a folder under data/.
pub(crate) const DATA_LAYERS: [&str; 8] = [
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
];

/// What every Cargo.toml ends with: its own workspace, the lints and the
/// dev profile tandem itself builds with.
pub(crate) const CARGO_TAIL: &str = include_str!("../../templates/common/Cargo.tail.toml");

/// Files every starter has.
const COMMON: &[Template] = &[
    t(
        ".gitignore",
        include_str!("../../templates/common/gitignore"),
        Fill::Verbatim,
    ),
    t(
        "conf/local/credentials.yml",
        include_str!("../../templates/common/credentials.yml"),
        Fill::Verbatim,
    ),
    t("conf/local/.gitkeep", "", Fill::Verbatim),
    t(
        "conf/base/mlflow.yml",
        include_str!("../../../../examples/churn/conf/base/mlflow.yml"),
        Fill::ChurnRename,
    ),
];

const MINIMAL: &[Template] = &[
    t(
        "Cargo.toml",
        include_str!("../../templates/minimal/Cargo.toml"),
        Fill::Placeholders,
    ),
    t(
        "README.md",
        include_str!("../../templates/minimal/README.md"),
        Fill::Placeholders,
    ),
    t(
        "src/main.rs",
        include_str!("../../templates/minimal/src/main.rs"),
        Fill::Placeholders,
    ),
    t(
        "src/lib.rs",
        include_str!("../../templates/minimal/src/lib.rs"),
        Fill::Placeholders,
    ),
    t(
        "src/pipelines/mod.rs",
        include_str!("../../templates/minimal/src/pipelines/mod.rs"),
        Fill::Placeholders,
    ),
    t(
        "src/pipelines/data_processing.rs",
        include_str!("../../templates/minimal/src/pipelines/data_processing.rs"),
        Fill::Placeholders,
    ),
    t(
        "tests/pipelines.rs",
        include_str!("../../templates/minimal/tests/pipelines.rs"),
        Fill::Placeholders,
    ),
    t(
        "conf/base/catalog.yml",
        include_str!("../../templates/minimal/conf/base/catalog.yml"),
        Fill::Verbatim,
    ),
    t(
        "conf/base/parameters.yml",
        include_str!("../../templates/minimal/conf/base/parameters.yml"),
        Fill::Verbatim,
    ),
    t(
        "data/01_raw/readings.csv",
        include_str!("../../templates/minimal/data/01_raw/readings.csv"),
        Fill::Verbatim,
    ),
];

/// The churn example's files: (path in the project and in examples/churn,
/// contents).
pub(crate) const CHURN_SOURCES: &[(&str, &str)] = &[
    (
        "src/error.rs",
        include_str!("../../../../examples/churn/src/error.rs"),
    ),
    (
        "src/features.rs",
        include_str!("../../../../examples/churn/src/features.rs"),
    ),
    (
        "src/generate.rs",
        include_str!("../../../../examples/churn/src/generate.rs"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../../examples/churn/src/lib.rs"),
    ),
    (
        "src/main.rs",
        include_str!("../../../../examples/churn/src/main.rs"),
    ),
    (
        "src/metrics.rs",
        include_str!("../../../../examples/churn/src/metrics.rs"),
    ),
    (
        "src/model.rs",
        include_str!("../../../../examples/churn/src/model.rs"),
    ),
    (
        "src/pipelines.rs",
        include_str!("../../../../examples/churn/src/pipelines.rs"),
    ),
    (
        "src/plots.rs",
        include_str!("../../../../examples/churn/src/plots.rs"),
    ),
    (
        "src/table.rs",
        include_str!("../../../../examples/churn/src/table.rs"),
    ),
    (
        "tests/pipelines.rs",
        include_str!("../../../../examples/churn/tests/pipelines.rs"),
    ),
    (
        "tests/model.rs",
        include_str!("../../../../examples/churn/tests/model.rs"),
    ),
    (
        "tests/common/mod.rs",
        include_str!("../../../../examples/churn/tests/common/mod.rs"),
    ),
    (
        "conf/base/catalog.yml",
        include_str!("../../../../examples/churn/conf/base/catalog.yml"),
    ),
    (
        "conf/base/parameters.yml",
        include_str!("../../../../examples/churn/conf/base/parameters.yml"),
    ),
    (
        "conf/base/mlflow.yml",
        include_str!("../../../../examples/churn/conf/base/mlflow.yml"),
    ),
];

const CHURN: &[Template] = &[
    t(
        "Cargo.toml",
        include_str!("../../templates/churn/Cargo.toml"),
        Fill::Placeholders,
    ),
    t(
        "README.md",
        include_str!("../../templates/churn/README.md"),
        Fill::Placeholders,
    ),
];

/// The skeleton `tandem pipeline create` writes to src/pipelines/NAME.rs.
pub(crate) const PIPELINE_MODULE: &str = include_str!("../../templates/pipeline/pipeline.rs");
/// ... to conf/<env>/parameters_NAME.yml.
pub(crate) const PIPELINE_PARAMETERS: &str =
    include_str!("../../templates/pipeline/parameters.yml");
/// ... to tests/pipeline_NAME.rs.
pub(crate) const PIPELINE_TEST: &str = include_str!("../../templates/pipeline/test.rs");

/// The marker line in src/pipelines/mod.rs above which modules are declared.
pub(crate) const MODULES_MARKER: &str = "// tandem:pipeline-modules";
/// The marker line above which pipelines are registered.
pub(crate) const REGISTRY_MARKER: &str = "// tandem:pipeline-registry";

/// Every file of a `starter` project but the data layers' `.gitkeep`s.
pub(crate) fn files(starter: Starter) -> Vec<Template> {
    let own = match starter {
        Starter::Minimal => MINIMAL,
        Starter::Churn => CHURN,
    };
    let mut files: Vec<Template> = own.to_vec();
    if starter == Starter::Churn {
        files.extend(
            CHURN_SOURCES
                .iter()
                .filter(|(path, _)| *path != "conf/base/mlflow.yml")
                .map(|&(path, contents)| t(path, contents, Fill::ChurnRename)),
        );
    }
    files.extend_from_slice(COMMON);
    files
}

/// The values placeholders are filled with.
#[derive(Debug)]
pub(crate) struct Values<'a> {
    /// The package name.
    pub(crate) project_name: &'a str,
    /// Its library crate name.
    pub(crate) crate_name: &'a str,
    /// The starter's name.
    pub(crate) starter: &'a str,
}

impl Template {
    /// The file's contents for `values`; `tandem` gives the dependency
    /// source (`path = "..."`, `git = "..."`, `version = "..."`) of the
    /// tandem crate named on a Cargo.toml line.
    pub(crate) fn render(&self, values: &Values<'_>, tandem: &dyn Fn(&str) -> String) -> String {
        match self.fill {
            Fill::Verbatim => self.contents.to_owned(),
            Fill::ChurnRename => churn_rename(self.contents, values),
            Fill::Placeholders => {
                let mut text = fill(self.contents, values);
                if self.path == "Cargo.toml" {
                    text = fill_tandem(&text, tandem);
                    text.push_str(CARGO_TAIL);
                }
                text
            }
        }
    }
}

/// Replaces `{{project_name}}`, `{{crate_name}}` and `{{starter}}`.
pub(crate) fn fill(text: &str, values: &Values<'_>) -> String {
    text.replace("{{project_name}}", values.project_name)
        .replace("{{crate_name}}", values.crate_name)
        .replace("{{starter}}", values.starter)
}

/// Replaces `{{tandem}}` on each `tandem-xxx = { {{tandem}} ... }` line.
fn fill_tandem(text: &str, tandem: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.split_once(" = ") {
            Some((name, _)) if line.contains("{{tandem}}") => {
                out.push_str(&line.replace("{{tandem}}", &tandem(name.trim())));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The churn example renamed: `churn::` paths and ids, and the MLflow
/// experiment.
fn churn_rename(text: &str, values: &Values<'_>) -> String {
    text.replace("churn::", &format!("{}::", values.crate_name))
        .replace(
            "name: \"churn\"",
            &format!("name: \"{}\"", values.project_name),
        )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn workspace_root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    #[test]
    fn the_churn_starter_has_every_file_and_dependency_of_the_example() {
        let example = workspace_root().join("examples/churn");
        for dir in ["src", "tests", "tests/common", "conf/base"] {
            for entry in std::fs::read_dir(example.join(dir)).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_file() {
                    let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
                    assert!(
                        CHURN_SOURCES.iter().any(|(p, _)| *p == path),
                        "examples/churn/{path} is not in the churn starter (templates.rs)"
                    );
                }
            }
        }
        let example_toml = std::fs::read_to_string(example.join("Cargo.toml")).unwrap();
        let starter_toml = CHURN[0].contents;
        for line in example_toml.lines() {
            if let Some(name) = line.strip_suffix(".workspace = true") {
                if [
                    "version",
                    "edition",
                    "rust-version",
                    "license",
                    "repository",
                    "workspace",
                ]
                .contains(&name)
                {
                    continue;
                }
                assert!(
                    starter_toml
                        .lines()
                        .any(|l| l.starts_with(&format!("{name} = "))),
                    "examples/churn depends on {name}; add it to templates/churn/Cargo.toml"
                );
            }
        }
    }

    #[test]
    fn third_party_dependencies_match_the_workspace() {
        let workspace = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        for cargo_toml in [MINIMAL[0].contents, CHURN[0].contents] {
            for line in cargo_toml.lines() {
                let Some((name, _)) = line.split_once(" = ") else {
                    continue;
                };
                if name.starts_with("tandem-") || ["name", "version", "edition"].contains(&name) {
                    continue;
                }
                if name == "description" || name == "publish" {
                    continue;
                }
                assert!(
                    workspace.lines().any(|l| l == line),
                    "the template's `{line}` is not the workspace's (Cargo.toml \
                     [workspace.dependencies]): keep the versions in step"
                );
            }
        }
    }

    #[test]
    fn cargo_toml_gets_each_crates_source() {
        let values = Values {
            project_name: "weather",
            crate_name: "weather",
            starter: "minimal",
        };
        let text = MINIMAL[0].render(&values, &|name: &str| format!("version = \"{name}\""));
        assert!(text.contains("name = \"weather\""), "{text}");
        assert!(
            text.contains("tandem-cli = { version = \"tandem-cli\" }"),
            "{text}"
        );
        assert!(
            text.contains(
                "tandem-catalog = { version = \"tandem-catalog\", default-features = false }"
            ),
            "{text}"
        );
        assert!(!text.contains("{{"), "{text}");
        assert!(text.contains("[workspace]"), "{text}");
    }

    #[test]
    fn the_churn_sources_are_renamed() {
        let values = Values {
            project_name: "my-churn",
            crate_name: "my_churn",
            starter: "churn",
        };
        let render = |path: &str| {
            let file = files(Starter::Churn)
                .into_iter()
                .find(|f| f.path == path)
                .unwrap();
            file.render(&values, &|_: &str| String::new())
        };
        assert!(render("src/main.rs").contains("match my_churn::app()"));
        let pipelines = render("src/pipelines.rs");
        assert!(pipelines.contains("\"my_churn::fit_model\""));
        assert!(!pipelines.contains("\"churn::"));
        assert!(render("conf/base/mlflow.yml").contains("name: \"my-churn\""));
    }
}
