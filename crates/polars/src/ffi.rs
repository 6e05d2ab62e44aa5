//! One array across the Arrow C data interface, in either direction, without
//! copying its buffers.
//!
//! arrow-rs and polars-arrow each define the interface's two C structs
//! (`ArrowArray`, `ArrowSchema`) as `#[repr(C)]` Rust structs with the
//! fields the specification lists, in its order. A struct exported by one
//! library is therefore a valid struct of the other, and moving it across is
//! a reinterpretation of the same bytes: the release callback moves with
//! it, so the exporting library's buffers stay alive exactly as long as the
//! importing library holds the array, and are freed once (by the callback).
//!
//! This is the only module of the crate that may use `unsafe`.
#![allow(unsafe_code)]

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{ArrayRef, make_array};
use polars_arrow::array::Array as PolarsArray;
use polars_arrow::datatypes::Field as PolarsField;
use polars_arrow::ffi::{ArrowArray, ArrowSchema};

/// Moves an arrow-rs array into polars-arrow: returns its polars-arrow
/// type and the array, which shares the arrow-rs buffers.
pub(crate) fn to_polars(array: &ArrayRef) -> Result<(PolarsField, Box<dyn PolarsArray>), String> {
    let (ffi_array, ffi_schema) =
        arrow_array::ffi::to_ffi(&array.to_data()).map_err(|e| e.to_string())?;
    // SAFETY: both structs are `#[repr(C)]` definitions of the C data
    // interface's `ArrowSchema`/`ArrowArray` with identical fields (the
    // transmute also checks at compile time that the sizes are equal).
    // Ownership moves with the value: the arrow-rs struct is consumed, so its
    // release callback runs once, from the polars-arrow struct's `Drop` or
    // from the array polars builds on it.
    let schema: ArrowSchema = unsafe { std::mem::transmute::<FFI_ArrowSchema, _>(ffi_schema) };
    // SAFETY: as above, for the array struct.
    let c_array: ArrowArray = unsafe { std::mem::transmute::<FFI_ArrowArray, _>(ffi_array) };
    // SAFETY: `schema` was just produced by arrow-rs's exporter, so it is a
    // valid, unreleased C data interface schema.
    let field =
        unsafe { polars_arrow::ffi::import_field_from_c(&schema) }.map_err(|e| e.to_string())?;
    // SAFETY: `c_array` is a valid, unreleased array exported by arrow-rs
    // together with `schema`, whose imported type `field.dtype` describes it;
    // polars takes ownership of it (and of the buffers it points to).
    let imported = unsafe { polars_arrow::ffi::import_array_from_c(c_array, field.dtype.clone()) }
        .map_err(|e| e.to_string())?;
    Ok((field, imported))
}

/// Moves a polars-arrow array into arrow-rs, sharing its buffers (the
/// caller names the arrow-rs field).
pub(crate) fn from_polars(array: Box<dyn PolarsArray>) -> Result<ArrayRef, String> {
    let field = PolarsField::new("".into(), array.dtype().clone(), true);
    let schema = polars_arrow::ffi::export_field_to_c(&field);
    let c_array = polars_arrow::ffi::export_array_to_c(array);
    // SAFETY: the same layout argument as in `to_polars`, in the other
    // direction: the polars-arrow structs are consumed and their release
    // callbacks move into the arrow-rs structs.
    let schema: FFI_ArrowSchema = unsafe { std::mem::transmute::<ArrowSchema, _>(schema) };
    // SAFETY: as above, for the array struct.
    let c_array: FFI_ArrowArray = unsafe { std::mem::transmute::<ArrowArray, _>(c_array) };
    // SAFETY: `c_array` and `schema` were just exported together by
    // polars-arrow, are unreleased, and `schema` describes `c_array`;
    // arrow-rs takes ownership of the array.
    let data =
        unsafe { arrow_array::ffi::from_ffi(c_array, &schema) }.map_err(|e| e.to_string())?;
    Ok(make_array(data))
}
