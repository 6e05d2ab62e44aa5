//! The serialized form of a PipelineMl: an `ml:` section in a spec document.
//!
//! ```yaml
//! ml:
//!   training: {nodes: [...]}
//!   inference: {nodes: [...]}
//!   input_name: x
//!   model: {copy_mode: assign, runner: sequential}   # optional
//!   log_model: {name: model}                         # optional
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};
use tandem_pipeline_core::spec::{parse_json, parse_yaml};
use tandem_pipeline_core::{FunctionRegistry, PipelineSpec};

use crate::error::Error;
use crate::options::{LogModelOptions, ModelOptions, PipelineMlOptions};
use crate::pipeline_ml::{AnyPipeline, PipelineMl};

/// A PipelineMl as data: two pipeline specs, the input name and the options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlSpec {
    /// The training pipeline.
    pub training: PipelineSpec,
    /// The inference pipeline.
    pub inference: PipelineSpec,
    /// The inference input that receives the data to predict on.
    pub input_name: String,
    /// How the packed model runs.
    #[serde(default)]
    pub model: ModelOptions,
    /// How the model is logged.
    #[serde(default)]
    pub log_model: LogModelOptions,
}

impl MlSpec {
    /// The spec of an existing PipelineMl.
    pub fn from_pipeline_ml(ml: &PipelineMl) -> Self {
        MlSpec {
            training: PipelineSpec::from_pipeline(ml.training()),
            inference: PipelineSpec::from_pipeline(ml.inference()),
            input_name: ml.input_name().to_owned(),
            model: ml.options().model.clone(),
            log_model: ml.options().log_model.clone(),
        }
    }

    fn options(&self) -> PipelineMlOptions {
        PipelineMlOptions {
            model: self.model.clone(),
            log_model: self.log_model.clone(),
        }
    }

    /// Builds and validates it without resolving functions (for `describe`).
    pub fn to_pipeline_ml_unresolved(&self) -> Result<PipelineMl, Error> {
        PipelineMl::new(
            self.training.to_pipeline_unresolved()?,
            self.inference.to_pipeline_unresolved()?,
            self.input_name.clone(),
            self.options(),
        )
    }

    /// Builds it with functions from `registry`; every unknown id of both
    /// pipelines is reported in one error.
    pub fn to_pipeline_ml(&self, registry: &FunctionRegistry) -> Result<PipelineMl, Error> {
        let both = PipelineSpec {
            nodes: self
                .training
                .nodes
                .iter()
                .chain(&self.inference.nodes)
                .cloned()
                .collect(),
            ..PipelineSpec::new(Vec::new())
        };
        let unknown: Vec<&str> = both
            .function_ids()
            .into_iter()
            .filter(|id| !registry.contains(id))
            .collect();
        if !unknown.is_empty() {
            // Reuse the registry's own error (sorted ids, suggestions).
            both.to_pipeline(registry)?;
        }
        PipelineMl::new(
            self.training.to_pipeline(registry)?,
            self.inference.to_pipeline(registry)?,
            self.input_name.clone(),
            self.options(),
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlDocument {
    ml: MlSpec,
}

/// A spec document: a plain pipeline spec, or an `ml:` section.
#[derive(Clone, Debug, PartialEq)]
pub enum SpecDocument {
    /// A pipeline spec.
    Pipeline(PipelineSpec),
    /// A PipelineMl spec.
    Ml(Box<MlSpec>),
}

impl SpecDocument {
    /// Parses YAML or JSON text; `file` only labels errors, `json` picks the parser.
    pub fn parse(text: &str, file: Option<&str>, json: bool) -> Result<Self, Error> {
        fn read<T: serde::de::DeserializeOwned>(
            text: &str,
            file: Option<&str>,
            json: bool,
        ) -> Result<T, Error> {
            Ok(if json {
                parse_json(text, file)?
            } else {
                parse_yaml(text, file)?
            })
        }
        // Peek at the top-level keys so errors come from the right schema.
        let keys = tandem_pipeline_core::spec::keys::document_keys(text, json).unwrap_or_default();
        if keys.contains("ml") {
            let doc: MlDocument = read(text, file, json)?;
            Ok(SpecDocument::Ml(Box::new(doc.ml)))
        } else {
            Ok(SpecDocument::Pipeline(read(text, file, json)?))
        }
    }

    /// Reads a spec file (JSON when the extension is `.json`, YAML otherwise).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Pipeline(tandem_pipeline_core::Error::InvalidSpec {
                file: Some(file.clone()),
                line: None,
                message: format!("cannot read the file: {e}"),
            })
        })?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        SpecDocument::parse(&text, Some(&file), json)
    }

    /// The document as YAML.
    pub fn to_yaml_string(&self) -> Result<String, Error> {
        let text = match self {
            SpecDocument::Pipeline(p) => p.to_yaml_string()?,
            SpecDocument::Ml(ml) => serde_saphyr::to_string(&MlDocument { ml: (**ml).clone() })
                .map_err(|e| Error::InvalidOption(format!("cannot serialize the ml spec: {e}")))?,
        };
        Ok(text)
    }

    /// Builds the pipeline without resolving functions.
    pub fn to_pipeline_unresolved(&self) -> Result<AnyPipeline, Error> {
        match self {
            SpecDocument::Pipeline(p) => Ok(AnyPipeline::Plain(p.to_pipeline_unresolved()?)),
            SpecDocument::Ml(ml) => Ok(AnyPipeline::Ml(Box::new(ml.to_pipeline_ml_unresolved()?))),
        }
    }

    /// Builds the pipeline with functions from `registry`.
    pub fn to_pipeline(&self, registry: &FunctionRegistry) -> Result<AnyPipeline, Error> {
        match self {
            SpecDocument::Pipeline(p) => Ok(AnyPipeline::Plain(p.to_pipeline(registry)?)),
            SpecDocument::Ml(ml) => Ok(AnyPipeline::Ml(Box::new(ml.to_pipeline_ml(registry)?))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ML: &str = "
ml:
  input_name: raw
  training:
    nodes:
      - {name: fit, func: demo::fit, inputs: raw_train, outputs: model}
  inference:
    nodes:
      - {name: predict, func: demo::predict, inputs: [raw, model, 'params:t'], outputs: preds}
  model: {copy_mode: {model: deepcopy}, runner: parallel}
";

    #[test]
    fn parses_and_builds_an_ml_document_without_functions() {
        let doc = SpecDocument::parse(ML, Some("ml.yml"), false).unwrap();
        let SpecDocument::Ml(spec) = &doc else {
            panic!("expected an ml document")
        };
        assert_eq!(spec.input_name, "raw");
        let any = doc.to_pipeline_unresolved().unwrap();
        let ml = any.as_ml().unwrap();
        assert_eq!(ml.artifacts(), ["model", "params:t"]);
        assert_eq!(ml.options().model.runner, crate::RunnerChoice::Parallel);
        let round = SpecDocument::parse(&doc.to_yaml_string().unwrap(), None, false).unwrap();
        assert_eq!(round, doc);
    }

    #[test]
    fn plain_documents_and_errors_with_lines() {
        let doc = SpecDocument::parse("nodes: []\n", None, false).unwrap();
        assert!(matches!(doc, SpecDocument::Pipeline(_)));
        let bad =
            "ml:\n  training: {nodes: []}\n  inference: {nodes: []}\n  input_name: x\n  typo: 1\n";
        let err = SpecDocument::parse(bad, Some("f.yml"), false).unwrap_err();
        assert_eq!(err.kind(), "invalid_spec");
        assert!(err.to_string().contains("typo"), "{err}");
        let invalid = ML.replace("input_name: raw", "input_name: nope");
        let err = SpecDocument::parse(&invalid, None, false)
            .unwrap()
            .to_pipeline_unresolved()
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_input_name");
    }

    #[test]
    fn unknown_functions_of_both_pipelines_are_listed_together() {
        let doc = SpecDocument::parse(ML, None, false).unwrap();
        let err = doc
            .to_pipeline(&FunctionRegistry::with_builtins())
            .unwrap_err();
        assert_eq!(err.kind(), "unknown_function");
        let msg = err.to_string();
        assert!(
            msg.contains("demo::fit") && msg.contains("demo::predict"),
            "{msg}"
        );
    }
}
