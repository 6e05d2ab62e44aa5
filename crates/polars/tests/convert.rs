//! DataFrame ⇄ RecordBatch: buffers are shared (pointer equality of the
//! value buffers before and after), values and nulls survive, and the
//! conversions that must copy are the documented ones.

use std::sync::Arc;

use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, LargeStringArray,
    NullArray, PrimitiveArray, RecordBatch, StringArray, StringViewArray,
    TimestampMicrosecondArray,
};
use arrow_schema::DataType;
use polars::prelude::*;
use tandem_polars::{from_record_batch, from_record_batches, to_record_batch};

/// The address of an arrow-rs array's first data buffer (values, or views).
fn arrow_values(array: &dyn Array) -> *const u8 {
    array.to_data().buffers()[0].as_ptr()
}

fn arrow_validity(array: &dyn Array) -> *const u8 {
    array.to_data().nulls().unwrap().buffer().as_ptr()
}

fn polars_values(frame: &DataFrame, name: &str) -> *const u8 {
    let series = frame.column(name).unwrap().as_materialized_series();
    let chunk = &series.chunks()[0];
    match chunk.dtype() {
        ArrowDataType::Boolean => chunk
            .as_any()
            .downcast_ref::<polars_arrow::array::BooleanArray>()
            .unwrap()
            .values()
            .as_slice()
            .0
            .as_ptr(),
        ArrowDataType::Utf8View => chunk
            .as_any()
            .downcast_ref::<polars_arrow::array::Utf8ViewArray>()
            .unwrap()
            .views()
            .as_ptr()
            .cast(),
        ArrowDataType::Float64 => prim::<f64>(chunk),
        ArrowDataType::Int32 | ArrowDataType::Date32 => prim::<i32>(chunk),
        _ => prim::<i64>(chunk),
    }
}

fn prim<T: polars_arrow::types::NativeType>(chunk: &polars_arrow::array::ArrayRef) -> *const u8 {
    chunk
        .as_any()
        .downcast_ref::<polars_arrow::array::PrimitiveArray<T>>()
        .unwrap()
        .values()
        .as_ptr()
        .cast()
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

#[test]
fn numbers_bools_dates_timestamps_and_views_are_shared_both_ways() {
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]));
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5, f64::NAN, -2.0]));
    let bools: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]));
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(19_000), None, Some(0)]));
    let stamps: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), Some(0), None])
            .with_timezone("UTC"),
    );
    let naive: ArrayRef = Arc::new(PrimitiveArray::<TimestampMicrosecondType>::from(vec![
        5, 6, 7,
    ]));
    let strings: ArrayRef = Arc::new(StringViewArray::from(vec![
        Some("short"),
        None,
        Some("a string longer than twelve bytes"),
    ]));
    let input = batch(vec![
        ("ints", ints.clone()),
        ("floats", floats.clone()),
        ("bools", bools.clone()),
        ("dates", dates.clone()),
        ("stamps", stamps.clone()),
        ("naive", naive.clone()),
        ("strings", strings.clone()),
    ]);

    let frame = from_record_batch(&input).unwrap();
    assert_eq!(frame.height(), 3);
    assert_eq!(
        frame.column("ints").unwrap().dtype(),
        &polars::prelude::DataType::Int64
    );
    assert_eq!(
        frame.column("dates").unwrap().dtype(),
        &polars::prelude::DataType::Date
    );
    assert_eq!(
        frame.column("stamps").unwrap().dtype(),
        &polars::prelude::DataType::Datetime(TimeUnit::Microseconds, Some(time_zone("UTC")))
    );
    assert_eq!(frame.column("ints").unwrap().null_count(), 1);
    assert_eq!(
        frame.column("strings").unwrap().str().unwrap().get(2),
        Some("a string longer than twelve bytes")
    );
    for (name, array) in [
        ("ints", &ints),
        ("floats", &floats),
        ("dates", &dates),
        ("stamps", &stamps),
        ("naive", &naive),
        ("strings", &strings),
    ] {
        assert_eq!(
            polars_values(&frame, name),
            arrow_values(array.as_ref()),
            "{name} into polars"
        );
    }
    // Booleans are bit-packed in both libraries: same bitmap bytes.
    assert_eq!(polars_values(&frame, "bools"), arrow_values(bools.as_ref()));

    let back = to_record_batch(&frame).unwrap();
    assert_eq!(back.num_rows(), 3);
    for (i, array) in input.columns().iter().enumerate() {
        let out = back.column(i);
        assert_eq!(
            out.data_type(),
            array.data_type(),
            "{}",
            input.schema().field(i).name()
        );
        assert_eq!(
            out.to_data(),
            array.to_data(),
            "{}",
            input.schema().field(i).name()
        );
        assert_eq!(
            arrow_values(out.as_ref()),
            arrow_values(array.as_ref()),
            "{} out",
            input.schema().field(i).name()
        );
    }
    // Validity bitmaps travel too.
    assert_eq!(
        arrow_validity(back.column(0).as_ref()),
        arrow_validity(ints.as_ref())
    );
}

/// Polars' time zone value for `name`.
fn time_zone(name: &str) -> TimeZone {
    TimeZone::opt_try_new(Some(name)).unwrap().unwrap()
}

#[test]
fn offset_strings_are_converted_to_views_and_large_utf8_is_available() {
    let utf8: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("ccc")]));
    let large: ArrayRef = Arc::new(LargeStringArray::from(vec!["x", "yy", "zzz"]));
    let frame = from_record_batch(&batch(vec![("utf8", utf8), ("large", large)])).unwrap();
    let col = frame.column("utf8").unwrap().str().unwrap();
    assert_eq!(col.get(0), Some("a"));
    assert_eq!(col.get(1), None);
    assert_eq!(
        frame.column("large").unwrap().str().unwrap().get(2),
        Some("zzz")
    );

    let views = to_record_batch(&frame).unwrap();
    assert_eq!(views.column(0).data_type(), &DataType::Utf8View);
    let large_back = tandem_polars::to_record_batch_large_utf8(&frame).unwrap();
    assert_eq!(large_back.column(1).data_type(), &DataType::LargeUtf8);
    let strings = large_back
        .column(0)
        .as_any()
        .downcast_ref::<LargeStringArray>()
        .unwrap();
    assert_eq!(
        strings.iter().collect::<Vec<_>>(),
        vec![Some("a"), None, Some("ccc")]
    );
}

#[test]
fn all_null_columns_and_empty_frames_convert() {
    let nulls: ArrayRef = Arc::new(NullArray::new(4));
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
    let frame = from_record_batch(&batch(vec![("n", nulls), ("i", ints)])).unwrap();
    assert_eq!(
        frame.column("n").unwrap().dtype(),
        &polars::prelude::DataType::Null
    );
    assert_eq!(frame.column("n").unwrap().null_count(), 4);
    let back = to_record_batch(&frame).unwrap();
    assert_eq!(back.column(0).data_type(), &DataType::Null);
    assert_eq!(back.column(0).len(), 4);

    let empty = to_record_batch(&DataFrame::empty()).unwrap();
    assert_eq!((empty.num_rows(), empty.num_columns()), (0, 0));
}

#[test]
fn several_batches_become_chunks_without_copies_and_rechunk_on_the_way_out() {
    let a: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![3, 4, 5]));
    let frame =
        from_record_batches(&[batch(vec![("x", a.clone())]), batch(vec![("x", b.clone())])])
            .unwrap();
    let series = frame.column("x").unwrap().as_materialized_series();
    assert_eq!(series.n_chunks(), 2);
    assert_eq!(prim::<i64>(&series.chunks()[1]), arrow_values(b.as_ref()));
    let back = to_record_batch(&frame).unwrap();
    let values = back
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(values.values().as_ref(), &[1, 2, 3, 4, 5]);

    let other: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let err = from_record_batches(&[batch(vec![("x", a)]), batch(vec![("x", other)])]).unwrap_err();
    assert_eq!(err.kind(), "arrow_conversion");
}

#[test]
fn sliced_arrays_keep_their_offset() {
    let full = Int64Array::from((0..10).collect::<Vec<i64>>());
    let sliced: ArrayRef = Arc::new(full.slice(3, 4));
    let frame = from_record_batch(&batch(vec![("x", sliced)])).unwrap();
    let values: Vec<i64> = frame
        .column("x")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(values, vec![3, 4, 5, 6]);
    let dates = Date32Array::from(vec![1, 2, 3]);
    let d: ArrayRef = Arc::new(PrimitiveArray::<Date32Type>::from(dates.to_data()));
    assert_eq!(
        from_record_batch(&batch(vec![("d", d)])).unwrap().height(),
        3
    );
}

#[test]
fn a_node_declaring_a_dataframe_receives_record_batches_and_lazy_frames() {
    tandem_polars::install();
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![4, 5]));
    let data = tandem_pipeline_core::Data::new(batch(vec![("x", ints.clone())]));
    let frame: DataFrame = data.clone().into_value().unwrap();
    assert_eq!(polars_values(&frame, "x"), arrow_values(ints.as_ref()));
    let borrowed = data.value_arc::<DataFrame>().unwrap();
    assert_eq!(borrowed.height(), 2);
    let lazy: LazyFrame = data.into_value().unwrap();
    assert_eq!(lazy.collect().unwrap().height(), 2);

    let plan = tandem_pipeline_core::Data::new(frame.lazy().filter(col("x").gt(lit(4))));
    let collected: DataFrame = plan.into_value().unwrap();
    assert_eq!(collected.height(), 1);

    let wrong = tandem_pipeline_core::Data::new(3_i64)
        .into_value::<DataFrame>()
        .unwrap_err();
    assert_eq!(wrong.kind(), "type_mismatch");
}
