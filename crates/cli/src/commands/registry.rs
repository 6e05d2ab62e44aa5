//! The pipelines `tandem run` chooses from: the app's and the spec files'.
//!
//! A spec file with a top-level `pipelines:` mapping defines one pipeline per
//! key; any other spec file is one pipeline named after its file stem. Specs
//! are resolved against the app's functions only when selected, so a broken
//! pipeline nobody runs does not stop the others.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tandem_pipeline_core::suggest::{close_matches, close_matches_all};
use tandem_pipeline_core::{Error, FunctionRegistry, PipelineSpec};
use tandem_pipeline_ml::{AnyPipeline, SpecDocument};

use crate::app::App;
use crate::args::DEFAULT_PIPELINE;
use crate::error::Failure;

/// A spec file defining named pipelines.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelinesFile {
    pipelines: BTreeMap<String, PipelineSpec>,
}

enum Source {
    Registered(AnyPipeline),
    Spec(SpecDocument),
}

struct Entry {
    source: Source,
    /// Where the pipeline was defined, for duplicate errors.
    origin: String,
}

/// Named pipelines, resolved on selection.
pub(crate) struct PipelineRegistry<'a> {
    entries: BTreeMap<String, Entry>,
    functions: &'a FunctionRegistry,
}

impl<'a> PipelineRegistry<'a> {
    /// The app's pipelines plus those of `spec_files`.
    pub(crate) fn new(app: &'a App, spec_files: &[impl AsRef<Path>]) -> Result<Self, Failure> {
        let mut registry = PipelineRegistry {
            entries: BTreeMap::new(),
            functions: app.functions(),
        };
        for (name, pipeline) in app.pipelines() {
            let entry = Entry {
                source: Source::Registered(pipeline.clone()),
                origin: "the binary's pipeline registry".to_owned(),
            };
            registry.add(name.clone(), entry)?;
        }
        for file in spec_files {
            let file = file.as_ref();
            for (name, spec) in read_spec_file(file)? {
                let origin = format!("spec file {}", file.display());
                let entry = Entry {
                    source: Source::Spec(spec),
                    origin,
                };
                registry.add(name, entry)?;
            }
        }
        Ok(registry)
    }

    /// Every pipeline name defined, sorted (`__default__` only if defined).
    pub(crate) fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    fn add(&mut self, name: String, entry: Entry) -> Result<(), Failure> {
        if let Some(first) = self.entries.get(&name) {
            return Err(Failure::DuplicatePipeline {
                name,
                first: first.origin.clone(),
                second: entry.origin,
            });
        }
        self.entries.insert(name, entry);
        Ok(())
    }

    /// The sum of the pipelines called `names`. `__default__`, unless
    /// defined, is the sum of every pipeline (Kedro's `find_pipelines()`).
    /// Unknown function ids of all the selected specs are reported at once.
    /// A single selected `PipelineMl` stays bound (Kedro sums onto an empty
    /// pipeline, which keeps the binding); a sum with others does not.
    pub(crate) fn select(&self, names: &[String]) -> Result<AnyPipeline, Failure> {
        let mut chosen: Vec<&Entry> = Vec::new();
        let mut seen: std::collections::HashSet<*const Entry> = std::collections::HashSet::new();
        for name in names {
            let entries: Vec<&Entry> = match self.entries.get(name) {
                Some(entry) => vec![entry],
                None if name == DEFAULT_PIPELINE && !self.entries.is_empty() => {
                    self.entries.values().collect()
                }
                None => return Err(self.unknown(name)),
            };
            for entry in entries {
                if seen.insert(std::ptr::from_ref(entry)) {
                    chosen.push(entry);
                }
            }
        }
        self.check_functions(&chosen)?;
        let pipelines = chosen
            .into_iter()
            .map(|entry| match &entry.source {
                Source::Registered(pipeline) => Ok(pipeline.clone()),
                Source::Spec(spec) => spec.to_pipeline(self.functions),
            })
            .collect::<Result<Vec<AnyPipeline>, _>>()?;
        Ok(AnyPipeline::union_all(pipelines)?)
    }

    fn check_functions(&self, chosen: &[&Entry]) -> Result<(), Error> {
        let mut unknown: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for entry in chosen {
            if let Source::Spec(spec) = &entry.source {
                unknown.extend(
                    spec_function_ids(spec)
                        .into_iter()
                        .filter(|id| !self.functions.contains(id)),
                );
            }
        }
        if unknown.is_empty() {
            return Ok(());
        }
        let unknown: Vec<String> = unknown.into_iter().map(str::to_owned).collect();
        let suggestions = close_matches_all(&unknown, self.functions.ids());
        Err(Error::UnknownFunction {
            ids: unknown,
            suggestions,
        })
    }

    fn unknown(&self, name: &str) -> Failure {
        let mut registered: Vec<String> = self.entries.keys().cloned().collect();
        if !self.entries.is_empty() && !self.entries.contains_key(DEFAULT_PIPELINE) {
            registered.push(DEFAULT_PIPELINE.to_owned());
            registered.sort();
        }
        Failure::UnknownPipeline {
            name: name.to_owned(),
            suggestions: close_matches(name, registered.iter().map(String::as_str)),
            registered,
        }
    }
}

fn spec_function_ids(doc: &SpecDocument) -> Vec<&str> {
    match doc {
        SpecDocument::Pipeline(spec) => spec.function_ids().into_iter().collect(),
        SpecDocument::Ml(ml) => ml
            .training
            .function_ids()
            .into_iter()
            .chain(ml.inference.function_ids())
            .collect(),
    }
}

/// The named pipelines of one spec file, read and parsed once.
fn read_spec_file(file: &Path) -> Result<Vec<(String, SpecDocument)>, Failure> {
    let label = file.display().to_string();
    let text =
        std::fs::read_to_string(file).map_err(|e| tandem_pipeline_core::Error::InvalidSpec {
            file: Some(label.clone()),
            line: None,
            message: format!("cannot read the file: {e}"),
        })?;
    let json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let keys = tandem_pipeline_core::spec::keys::document_keys(&text, json).unwrap_or_default();
    if keys.contains("pipelines") {
        let named: PipelinesFile = if json {
            tandem_pipeline_core::spec::parse_json(&text, Some(&label))?
        } else {
            tandem_pipeline_core::spec::parse_yaml(&text, Some(&label))?
        };
        return Ok(named
            .pipelines
            .into_iter()
            .map(|(name, spec)| (name, SpecDocument::Pipeline(spec)))
            .collect());
    }
    // Not a `pipelines:` file: a pipeline or `ml:` document, which the spec
    // parser reads or reports why it cannot, as `pipeline describe` does.
    let spec = SpecDocument::parse(&text, Some(&label), json)?;
    let name = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| DEFAULT_PIPELINE.to_owned());
    Ok(vec![(name, spec)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pipeline_core::{Pipeline, node};

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn names(p: &Pipeline) -> Vec<&str> {
        p.nodes().map(|n| n.name()).collect()
    }

    const PLAIN: &str = "nodes:\n  - {name: a, func: builtin:identity, inputs: x, outputs: y}\n";
    const NAMED: &str = "pipelines:\n  first:\n    nodes:\n      - {name: b, func: builtin:identity, inputs: y, outputs: z}\n  second:\n    nodes:\n      - {name: c, func: builtin:identity, inputs: z, outputs: w}\n";

    #[test]
    fn spec_files_define_pipelines_by_stem_or_mapping() {
        let dir = tempfile_dir();
        let plain = write(dir.path(), "plain.yml", PLAIN);
        let named = write(dir.path(), "named.yml", NAMED);
        let app = App::new();
        let registry = PipelineRegistry::new(&app, &[&plain, &named]).unwrap();
        assert_eq!(names(&registry.select(&["plain".into()]).unwrap()), ["a"]);
        let both = registry.select(&["second".into(), "first".into(), "second".into()]);
        assert_eq!(names(&both.unwrap()), ["b", "c"]);
        let all = registry.select(&[DEFAULT_PIPELINE.into()]).unwrap();
        assert_eq!(names(&all), ["a", "b", "c"]);
        let err = registry.select(&["frist".into()]).unwrap_err();
        assert_eq!(err.kind(), "pipeline_not_found");
        let message = err.to_string();
        assert!(message.contains("did you mean first?"), "{message}");
        assert!(
            message.contains("__default__, first, plain, second"),
            "{message}"
        );
    }

    #[test]
    fn registered_pipelines_and_duplicates() {
        let dir = tempfile_dir();
        let plain = write(dir.path(), "training.yml", PLAIN);
        fn double(x: &i64) -> i64 {
            x * 2
        }
        let training = Pipeline::new([node(double, "x", "y").name("d").build().unwrap()]).unwrap();
        let app = App::new().pipeline("training", training.clone());
        let err = PipelineRegistry::new(&app, &[&plain]).err().unwrap();
        assert_eq!(err.kind(), "duplicate_pipeline");
        assert!(err.to_string().contains("training.yml"), "{err}");
        let app = App::new().pipeline("__default__", training);
        let registry = PipelineRegistry::new(&app, &[&plain]).unwrap();
        assert_eq!(
            names(&registry.select(&[DEFAULT_PIPELINE.into()]).unwrap()),
            ["d"]
        );
        let empty = App::new();
        let none: [&Path; 0] = [];
        let err = PipelineRegistry::new(&empty, &none)
            .unwrap()
            .select(&[DEFAULT_PIPELINE.into()]);
        assert!(
            err.err()
                .unwrap()
                .to_string()
                .contains("registered pipelines: none")
        );
    }

    #[test]
    fn unknown_functions_of_all_selected_specs_are_reported_together() {
        let dir = tempfile_dir();
        let one = write(
            dir.path(),
            "one.yml",
            "nodes:\n  - {func: my::fit, inputs: x, outputs: y}\n",
        );
        let two = write(
            dir.path(),
            "two.json",
            r#"{"nodes": [{"func": "my::score", "inputs": "y", "outputs": "z"}]}"#,
        );
        let app = App::new();
        let registry = PipelineRegistry::new(&app, &[&one, &two]).unwrap();
        let err = registry.select(&[DEFAULT_PIPELINE.into()]).unwrap_err();
        assert_eq!(err.kind(), "unknown_function");
        assert!(err.to_string().contains("'my::fit', 'my::score'"), "{err}");
    }

    #[test]
    fn malformed_files_are_invalid_specs() {
        let dir = tempfile_dir();
        let bad = write(dir.path(), "bad.yml", "pipelines:\n  a:\n    nodez: []\n");
        let err = PipelineRegistry::new(&App::new(), &[&bad]).err().unwrap();
        assert_eq!(err.kind(), "invalid_spec");
        let list = write(dir.path(), "list.yml", "- 1\n");
        let err = PipelineRegistry::new(&App::new(), &[&list]).err().unwrap();
        assert_eq!(err.kind(), "invalid_spec");
    }

    fn tempfile_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }
}
