//! The signature's outputs, inferred as MLflow's `log_model` infers them:
//! by running the model on its input example and describing what comes
//! back.

use arrow_array::RecordBatch;
use serde_json::Map;
use tandem_pipeline_core::{Data, FunctionRegistry};
use tandem_pipeline_ml::PipelineMl;

use super::pyjson;
use super::signature::infer_inputs;
use crate::pipeline_model::{LoadOptions, PipelineModel};

/// MLflow's `signature.outputs` text for the model written in `dir`: the
/// inference pipeline run, from the model directory itself, on the first
/// `rows` rows of `input` (the input example), its output described with
/// the column types inputs get. `None` when the pipeline fails on the
/// example or its output has no MLflow description: outputs are then left
/// absent rather than guessed (a warning says why).
pub(crate) fn infer_outputs(
    ml: &PipelineMl,
    dir: &std::path::Path,
    input: &Data,
    rows: usize,
) -> Option<String> {
    // The functions are the inference pipeline's own: whatever this process
    // registered under other ids is never consulted.
    let mut functions = FunctionRegistry::new();
    for node in ml.inference().nodes() {
        if let Some(function) = node.function() {
            functions.register_function(function.clone());
        }
    }
    let predicted = PipelineModel::load(dir, &functions, &LoadOptions::default())
        .and_then(|model| model.predict(example_rows(input, rows), &Map::new(), None));
    let output = match predicted {
        Ok(output) => output,
        Err(e) => {
            tracing::warn!(
                "the signature has no outputs: the inference pipeline failed on the input example: {e}"
            );
            return None;
        }
    };
    match infer_inputs(&output) {
        Ok(Some(specs)) => Some(pyjson::dumps(&specs)),
        Ok(None) => {
            tracing::warn!(
                "the signature has no outputs: the model output ({}) has no MLflow signature",
                output.type_name()
            );
            None
        }
        Err(e) => {
            tracing::warn!("the signature has no outputs: {e}");
            None
        }
    }
}

/// The rows the input example holds: a table's first `rows`, a list's
/// first `rows` items; other values whole.
fn example_rows(input: &Data, rows: usize) -> Data {
    if let Ok(batch) = input.downcast_ref::<RecordBatch>() {
        return Data::new(batch.slice(0, rows.min(batch.num_rows())));
    }
    if let Ok(batches) = input.downcast_ref::<Vec<RecordBatch>>() {
        let mut taken = Vec::new();
        let mut left = rows;
        for batch in batches {
            if left == 0 {
                break;
            }
            let n = left.min(batch.num_rows());
            taken.push(batch.slice(0, n));
            left -= n;
        }
        return Data::new(taken);
    }
    macro_rules! head {
        ($($t:ty),*) => {
            $(if let Ok(items) = input.downcast_ref::<Vec<$t>>() {
                return Data::new(items.iter().take(rows).cloned().collect::<Vec<$t>>());
            })*
        };
    }
    head!(f64, f32, i64, i32, i16, i8, u32, u16, u8, bool, String);
    input.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_the_first_rows() {
        let list = example_rows(&Data::new(vec![1.0_f64, 2.0, 3.0]), 2);
        assert_eq!(*list.downcast_ref::<Vec<f64>>().unwrap(), vec![1.0, 2.0]);
        let batch = RecordBatch::try_from_iter([(
            "x",
            std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0, 3.0]))
                as arrow_array::ArrayRef,
        )])
        .unwrap();
        let head = example_rows(&Data::new(batch), 2);
        assert_eq!(head.downcast_ref::<RecordBatch>().unwrap().num_rows(), 2);
        let other = example_rows(&Data::new(7_i64), 2);
        assert_eq!(*other.downcast_ref::<i64>().unwrap(), 7);
    }
}
