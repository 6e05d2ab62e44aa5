//! What each command does, independent of how results are printed.

use tandem_pipeline_core::{Error, FunctionRegistry, Pipeline, PipelineSpec};

use crate::args::{CheckArgs, DescribeArgs};

/// A command's result, handed to the render layer.
pub(crate) enum Outcome {
    /// `pipeline describe`: the (filtered) pipeline.
    Described(Pipeline),
    /// `pipeline check`: the pipeline, every function resolved.
    Checked(Pipeline),
}

/// Loads the spec without resolving functions and applies the filters as one
/// `kedro run` filter.
pub(crate) fn describe(args: &DescribeArgs) -> Result<Outcome, Error> {
    let pipeline = PipelineSpec::from_path(&args.common.spec)?.to_pipeline_unresolved()?;
    let filter = args.filters.to_filter();
    // Without filters there is nothing to intersect, and an empty spec is
    // still worth describing.
    if filter.is_empty() {
        return Ok(Outcome::Described(pipeline));
    }
    pipeline.filter(&filter).map(Outcome::Described)
}

/// Loads the spec and resolves every function in `registry`.
pub(crate) fn check(args: &CheckArgs, registry: &FunctionRegistry) -> Result<Outcome, Error> {
    PipelineSpec::from_path(&args.common.spec)?
        .to_pipeline(registry)
        .map(Outcome::Checked)
}
