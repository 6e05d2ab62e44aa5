//! The `{{pipeline_name}}` pipeline.
//!
//! Added by `tandem pipeline create {{pipeline_name}}`: write its node
//! functions here and bind them to datasets in [`create_pipeline`]. Its
//! parameters live in `conf/base/parameters_{{pipeline_name}}.yml` under
//! `{{pipeline_name}}:`, read as `params:{{pipeline_name}}.<key>`; its
//! datasets go in `conf/base/catalog.yml` (unlisted ones stay in memory).

use tandem_pipeline_core::{Error, Node, Pipeline};

/// The pipeline's nodes: none yet. Add them like this:
///
/// ```text
/// node(clean_orders, ["raw_orders", "params:{{pipeline_name}}.min_amount"], "orders")
///     .name("clean_orders")
///     .build()?,
/// ```
pub fn create_pipeline() -> Result<Pipeline, Error> {
    Pipeline::new(Vec::<Node>::new())
}
