//! The project's pipelines, Kedro's `pipeline_registry.py`: one module per
//! modular pipeline, each with a `create_pipeline()`.
//!
//! `tandem pipeline create NAME` adds `src/pipelines/NAME.rs` and registers
//! it at the two `tandem:` marker comments below; keep them.

use std::collections::BTreeMap;

use tandem_pipeline_core::{Error, Pipeline};

pub mod data_processing;
// tandem:pipeline-modules (`tandem pipeline create` adds modules above this line)

/// Every pipeline by name, and `__default__`: all of them together, as
/// Kedro's `find_pipelines` registers it. `run` without `--pipeline` runs
/// `__default__`.
pub fn register_pipelines() -> Result<BTreeMap<String, Pipeline>, Error> {
    let mut pipelines = BTreeMap::from([
        (
            "data_processing".to_owned(),
            data_processing::create_pipeline()?,
        ),
        // tandem:pipeline-registry (`tandem pipeline create` adds pipelines above this line)
    ]);
    let default = pipelines.values().sum::<Result<Pipeline, Error>>()?;
    pipelines.insert("__default__".to_owned(), default);
    Ok(pipelines)
}
