//! `tandem pipeline describe|check`: spec files, no catalog.

use tandem_pipeline_core::FunctionRegistry;
use tandem_pipeline_ml::{AnyPipeline, Error, SpecDocument};

use crate::args::{CheckArgs, DescribeArgs};

/// Loads the spec (a pipeline or an `ml:` document) without resolving
/// functions and applies the filters as one `kedro run` filter; a PipelineMl
/// is filtered as kedro-mlflow does, keeping and re-validating the binding.
pub(crate) fn describe(args: &DescribeArgs) -> Result<AnyPipeline, Error> {
    let pipeline = SpecDocument::from_path(&args.common.spec)?.to_pipeline_unresolved()?;
    let filter = args.filters.to_filter();
    // Without filters there is nothing to intersect, and an empty spec is
    // still worth describing.
    if filter.is_empty() {
        return Ok(pipeline);
    }
    pipeline.filter(&filter)
}

/// Loads the spec and resolves every function in `registry`.
pub(crate) fn check(args: &CheckArgs, registry: &FunctionRegistry) -> Result<AnyPipeline, Error> {
    SpecDocument::from_path(&args.common.spec)?.to_pipeline(registry)
}
