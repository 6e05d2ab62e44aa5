//! What a model's signature and input example need of the training input,
//! without the rest of it: a tracked run captures the `input_name` data to
//! infer both at the end of training, and holding the whole table for the
//! run's length costs its whole size in memory.

use std::collections::BTreeSet;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::DataType;
use tandem_pipeline_core::Data;

/// A copy of `data` that infers the same signature and the same input
/// example of `example_rows` rows: the first `example_rows` rows, then, for
/// each column (and nested field) that holds a missing value (null, or NaN,
/// which MLflow counts as missing) only further down, the first row where it
/// does, so the column is still inferred as optional. At most one row per
/// such column is added, and the rows are copied out of the original
/// buffers, which are then free to go. Values that are not tables are
/// returned as they are.
pub fn signature_sample(data: &Data, example_rows: usize) -> Data {
    let Ok(batch) = data.downcast_ref::<RecordBatch>() else {
        return data.clone();
    };
    let head = example_rows.min(batch.num_rows());
    let mut rows: BTreeSet<usize> = (0..head).collect();
    for column in batch.columns() {
        extra_missing_rows(column, head, &mut rows);
    }
    if rows.len() == batch.num_rows() {
        return data.clone();
    }
    let indices = UInt32Array::from_iter_values(rows.iter().filter_map(|&r| u32::try_from(r).ok()));
    match arrow_select::take::take_record_batch(batch, &indices) {
        Ok(sample) => Data::new(sample),
        // Cannot happen for in-bounds indices; keeping the table is correct, only larger.
        Err(_) => data.clone(),
    }
}

/// Adds the first row where `array` (or a struct field inside it) is
/// missing, when no row before `head` is.
fn extra_missing_rows(array: &ArrayRef, head: usize, rows: &mut BTreeSet<usize>) {
    let first = (0..array.len()).find(|&i| is_missing(array, i));
    if let Some(i) = first
        && i >= head
    {
        rows.insert(i);
    }
    if let DataType::Struct(_) = array.data_type() {
        for child in array.as_struct().columns() {
            extra_missing_rows(child, head, rows);
        }
    }
}

fn is_missing(array: &ArrayRef, i: usize) -> bool {
    array.is_null(i)
        || match array.data_type() {
            DataType::Float64 => array.as_primitive::<Float64Type>().value(i).is_nan(),
            DataType::Float32 => array.as_primitive::<Float32Type>().value(i).is_nan(),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;
    use crate::model::example::Example;
    use crate::model::infer_inputs;

    #[test]
    fn the_sample_infers_what_the_whole_table_infers() {
        let n = 10_000;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Float64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let x: Vec<f64> = (0..n)
            .map(|i| if i == 7_000 { f64::NAN } else { i as f64 })
            .collect();
        let s: Vec<Option<String>> = (0..n)
            .map(|i| (i != 9_999).then(|| format!("v{i}")))
            .collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
                Arc::new(Float64Array::from(x)),
                Arc::new(StringArray::from(s)),
            ],
        )
        .unwrap();
        let whole = Data::new(batch);
        let sample = signature_sample(&whole, 5);
        let small = sample.downcast_ref::<RecordBatch>().unwrap();
        assert_eq!(
            small.num_rows(),
            7,
            "5 example rows, one NaN row, one null row"
        );
        assert_eq!(
            infer_inputs(&sample).unwrap(),
            infer_inputs(&whole).unwrap()
        );
        assert_eq!(
            Example::from_data(&sample, 5).unwrap().input,
            Example::from_data(&whole, 5).unwrap().input
        );
        assert!(
            small.get_array_memory_size() < 4_096,
            "{}",
            small.get_array_memory_size()
        );
        let list = Data::new(vec![1.0_f64, 2.0]);
        assert_eq!(
            *signature_sample(&list, 5)
                .downcast_ref::<Vec<f64>>()
                .unwrap(),
            [1.0, 2.0]
        );
    }
}
