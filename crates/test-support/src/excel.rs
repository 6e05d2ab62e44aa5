//! The venv the Excel interop tests read and write workbooks with:
//! pandas (the release kedro-datasets' notes were verified with), openpyxl
//! (`read_excel`'s and `to_excel`'s engine for `.xlsx`) and pyarrow (to
//! read back the parquet files a CSV or Excel entry turned into).

use std::path::Path;
use std::sync::OnceLock;

use crate::python::{Venv, target_dir};

/// `<target>/py-excel`.
pub const EXCEL_VENV: Venv = Venv::new(
    "py-excel",
    ".tandem-installed",
    &["pandas==3.1.1", "openpyxl==3.1.5", "pyarrow==25.0.1"],
);

/// [`EXCEL_VENV`]'s `bin/` directory, provisioned on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn excel_bin() -> &'static Path {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        EXCEL_VENV
            .provision(&target_dir())
            .unwrap_or_else(|e| panic!("provisioning {}: {e}", EXCEL_VENV.name()))
    })
}
