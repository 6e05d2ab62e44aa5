//! Integration tests for tandem-pipeline-core, ported from Kedro 1.7's
//! `tests/pipeline/test_node.py`, `test_pipeline.py` and
//! `test_pipeline_with_transcoding.py`, plus typed execution and property tests.

mod dataset_ids;
mod execution;
mod filter;
mod node;
mod operators;
mod pipeline;
mod properties;
mod support;
mod transcoding;
