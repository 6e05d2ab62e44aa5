//! [`DataValue`] for Polars' `DataFrame` and `LazyFrame` (feature `polars`).
//!
//! The impls live here, not in `tandem-polars`, because of the orphan rule:
//! the trait is this crate's and the types are Polars', so only one of the
//! two crates may implement it, and it must be the trait's.
//!
//! **Copy modes.** Polars columns are reference-counted, copy-on-write
//! buffers: `DataFrame::clone` bumps counts, and any in-place change made
//! through a `&mut DataFrame` copies a buffer that is shared before writing
//! to it. A deep copy can therefore never be told apart from a shallow one
//! by a node, so `deep_clone` is `clone` (Kedro infers `assign` for any
//! DataFrame for the same reason; tandem's default is `assign` for every
//! type). A `LazyFrame` is a query plan, immutable once built.
//!
//! **Conversions at the node boundary.** A node declaring a `DataFrame`
//! accepts a stored `LazyFrame` (collected then, and only then), an arrow
//! `RecordBatch` or `Vec<RecordBatch>`; one declaring a `LazyFrame` accepts
//! a `DataFrame` or record batches too. Arrow batches go through the
//! conversion [`install_record_batch_import`] registered (`tandem-polars`
//! registers its zero-copy one in `tandem_polars::register`): this crate
//! forbids `unsafe`, which the Arrow C data interface needs.

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use polars::frame::DataFrame;
use polars::lazy::frame::{IntoLazy, LazyFrame};

use crate::data::{Data, DataValue};

/// Converts arrow record batches into one `DataFrame`.
pub type RecordBatchImport = fn(&[RecordBatch]) -> Result<DataFrame, String>;

static IMPORT: OnceLock<RecordBatchImport> = OnceLock::new();

/// Registers how arrow batches become a `DataFrame` at the node boundary.
/// The first registration wins; later ones are ignored (there is one
/// correct conversion, and every caller registers the same).
pub fn install_record_batch_import(import: RecordBatchImport) {
    let _ = IMPORT.set(import);
}

fn import_batches(data: &Data) -> Option<Result<DataFrame, String>> {
    let batches: &[RecordBatch] = if let Ok(batch) = data.downcast_ref::<RecordBatch>() {
        std::slice::from_ref(batch)
    } else {
        data.downcast_ref::<Vec<RecordBatch>>().ok()?.as_slice()
    };
    Some(match IMPORT.get() {
        Some(import) => import(batches),
        None => Err("no arrow-to-Polars conversion is registered: call \
                     tandem_polars::register (or tandem_polars::install) first"
            .to_owned()),
    })
}

impl DataValue for DataFrame {
    fn convert_from(data: &Data) -> Option<Result<Self, String>> {
        if let Ok(lazy) = data.downcast_ref::<LazyFrame>() {
            return Some(lazy.clone().collect().map_err(|e| e.to_string()));
        }
        import_batches(data)
    }
}

impl DataValue for LazyFrame {
    fn convert_from(data: &Data) -> Option<Result<Self, String>> {
        if let Ok(frame) = data.downcast_ref::<DataFrame>() {
            return Some(Ok(frame.clone().lazy()));
        }
        import_batches(data).map(|r| r.map(IntoLazy::lazy))
    }
}
