//! `tandem pipeline describe|check`: spec files, no catalog.

use tandem_pipeline_core::{Error, FunctionRegistry, Pipeline, PipelineSpec};

use crate::args::{CheckArgs, DescribeArgs};

/// Loads the spec without resolving functions and applies the filters as one
/// `kedro run` filter.
pub(crate) fn describe(args: &DescribeArgs) -> Result<Pipeline, Error> {
    let pipeline = PipelineSpec::from_path(&args.common.spec)?.to_pipeline_unresolved()?;
    let filter = args.filters.to_filter();
    // Without filters there is nothing to intersect, and an empty spec is
    // still worth describing.
    if filter.is_empty() {
        return Ok(pipeline);
    }
    pipeline.filter(&filter)
}

/// Loads the spec and resolves every function in `registry`.
pub(crate) fn check(args: &CheckArgs, registry: &FunctionRegistry) -> Result<Pipeline, Error> {
    PipelineSpec::from_path(&args.common.spec)?.to_pipeline(registry)
}
