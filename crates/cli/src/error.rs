//! Why a command failed: the library errors plus the CLI's own, each with the
//! stable kind printed under `--json`.

use tandem_runners::RunFailure;

/// A failed command (exit code 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Building, filtering or resolving a pipeline.
    #[error(transparent)]
    Pipeline(#[from] tandem_pipeline_core::Error),

    /// Loading the configuration or using the catalog.
    #[error(transparent)]
    Catalog(#[from] tandem_catalog::Error),

    /// Running the pipeline.
    #[error(transparent)]
    Run(#[from] tandem_runners::Error),

    /// Binding a PipelineMl or extracting its artifacts.
    #[error(transparent)]
    Ml(#[from] tandem_pipeline_ml::Error),

    /// Saving, loading or running a model.
    #[error(transparent)]
    Model(#[from] tandem_pipeline_model::Error),

    /// Serving a model.
    #[error(transparent)]
    Serving(#[from] tandem_serving::Error),

    /// Tracking a run (mlflow.yml, the tracking server or store, model logging).
    #[error(transparent)]
    Tracking(#[from] tandem_tracking::Error),

    /// Planning or rendering a deployment.
    #[error(transparent)]
    Deploy(#[from] tandem_deploy::Error),

    /// `models save` names a pipeline that is not a PipelineMl.
    #[error(
        "pipeline '{name}' is not a PipelineMl, so it has no inference pipeline to save as a \
         model; bind one with pipeline_ml_factory (or an `ml:` spec document)"
    )]
    NotPipelineMl {
        /// The pipeline name.
        name: String,
    },

    /// `--experiment` names no active MLflow experiment.
    #[error(
        "no active MLflow experiment is called '{name}'; active experiments: {}",
        if .active.is_empty() { "none".to_owned() } else { .active.join(", ") }
    )]
    UnknownExperiment {
        /// The name asked for.
        name: String,
        /// The active experiments' names.
        active: Vec<String>,
    },

    /// Reading or writing a file named on the command line.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// `--pipeline` names a pipeline nobody registered.
    #[error(
        "pipeline '{name}' not found{}; registered pipelines: {}",
        hint(.suggestions),
        registered_list(.registered)
    )]
    UnknownPipeline {
        /// The name asked for.
        name: String,
        /// Close matches.
        suggestions: Vec<String>,
        /// Every registered name, sorted.
        registered: Vec<String>,
    },

    /// Two sources define the same pipeline name.
    #[error("pipeline '{name}' is defined twice: by {first} and by {second}")]
    DuplicatePipeline {
        /// The pipeline name.
        name: String,
        /// Where it was defined first.
        first: String,
        /// Where it was defined again.
        second: String,
    },

    /// The model needs functions this binary lacks, and running its
    /// embedded executable was not consented to.
    #[error(
        "model '{model}' needs functions this binary does not register; its embedded executable \
         {path} (target {target}, sha256 {sha256}) could run it, but that executable is code \
         from whoever saved or registered the model, and tandem runs it only with consent: if \
         you trust the model's source, pass --trust-model-executable or set \
         TANDEM_TRUST_MODEL_EXECUTABLE=1 (or run the model with its project's own binary)"
    )]
    UntrustedExecutable {
        /// The model as given (a directory or an MLflow URI).
        model: String,
        /// The executable inside the model.
        path: String,
        /// Its target triple.
        target: String,
        /// Its SHA-256.
        sha256: String,
    },

    /// The model needs functions this binary lacks, and its embedded
    /// executable cannot stand in.
    #[error("{missing}; {reason}")]
    CannotDelegate {
        /// The load error naming the missing functions.
        missing: Box<tandem_pipeline_model::Error>,
        /// Why the embedded executable cannot run it.
        reason: String,
    },

    /// `tandem new` or `pipeline create` was given an unusable name.
    #[error("'{name}' cannot be a {what} name: {reason}")]
    InvalidName {
        /// "project" or "pipeline".
        what: &'static str,
        /// The name given.
        name: String,
        /// Why not.
        reason: String,
    },

    /// A file or directory `tandem new` or `pipeline create` would write
    /// already exists.
    #[error("{path} already exists: {what}")]
    AlreadyExists {
        /// The path.
        path: String,
        /// What it is and what to do instead.
        what: String,
    },

    /// The tandem checkout a new project would depend on is not there.
    #[error(
        "no tandem checkout at {path} ({reason}); pass --tandem-path to a checkout, \
         --tandem-git URL or --tandem-version VERSION"
    )]
    TandemNotFound {
        /// The directory looked at.
        path: String,
        /// What is missing.
        reason: String,
    },

    /// `--conf-source` names an archive that cannot be used.
    #[error("--conf-source {path}: {reason}")]
    ConfSource {
        /// The archive as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `pipeline create` runs outside a project `tandem new` generated.
    #[error("{path}: {reason}")]
    NotAProject {
        /// The file or directory at fault.
        path: String,
        /// What is missing.
        reason: String,
    },
}

impl Failure {
    /// The stable, machine-readable kind.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Failure::Pipeline(e) => e.kind(),
            Failure::Catalog(e) => e.kind(),
            Failure::Run(e) => e.kind(),
            Failure::Ml(e) => e.kind(),
            Failure::Model(e) => e.kind(),
            Failure::Serving(e) => e.kind(),
            Failure::Tracking(e) => e.kind(),
            Failure::Deploy(e) => e.kind(),
            Failure::NotPipelineMl { .. } => "not_pipeline_ml",
            Failure::UnknownExperiment { .. } => "not_found",
            Failure::File { .. } => "io",
            Failure::UnknownPipeline { .. } => "pipeline_not_found",
            Failure::DuplicatePipeline { .. } => "duplicate_pipeline",
            Failure::CannotDelegate { missing, .. } => missing.kind(),
            Failure::UntrustedExecutable { .. } => "untrusted_executable",
            Failure::InvalidName { .. } => "invalid_name",
            Failure::AlreadyExists { .. } => "already_exists",
            Failure::TandemNotFound { .. } => "tandem_not_found",
            Failure::NotAProject { .. } => "not_a_project",
            Failure::ConfSource { .. } => "conf_source",
        }
    }

    /// The node failure, when a node failed during a run.
    pub(crate) fn run_failure(&self) -> Option<&RunFailure> {
        match self {
            Failure::Run(e) => e.failure(),
            _ => None,
        }
    }

    /// The one-paragraph message, without the resume hint (rendered apart).
    pub(crate) fn message(&self) -> String {
        match self.run_failure() {
            Some(failure) => failure_message(failure),
            None => self.to_string(),
        }
    }
}

impl From<tandem_mlflow_client::Error> for Failure {
    fn from(error: tandem_mlflow_client::Error) -> Self {
        Failure::Tracking(error.into())
    }
}

/// "node 'x' failed: why", naming the node once: errors of the node's own
/// function and panics already name it.
fn failure_message(failure: &RunFailure) -> String {
    let names_node = match &failure.cause {
        tandem_runners::Error::Pipeline(tandem_pipeline_core::Error::NodeFailed {
            node, ..
        })
        | tandem_runners::Error::Panic { node, .. } => *node == failure.node,
        _ => false,
    };
    if names_node {
        failure.cause.to_string()
    } else {
        format!("node '{}' failed: {}", failure.node, failure.cause)
    }
}

fn registered_list(names: &[String]) -> String {
    if names.is_empty() {
        "none (a project binary registers them; spec files add them with --spec FILE)".to_owned()
    } else {
        names.join(", ")
    }
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}
