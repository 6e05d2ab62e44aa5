//! The Python venv the plot datasets' tests check their files with:
//! [`PLOTS_VENV`], `<target>/py-plots`, holding Python plotly, whose
//! `plotly.io.from_json` validates a figure against plotly's schema.

use std::path::Path;
use std::sync::OnceLock;

use crate::python::{Venv, target_dir};

/// `<target>/py-plots`: Python plotly (no kaleido: the tests only parse
/// and validate figures, they render nothing).
pub const PLOTS_VENV: Venv = Venv::new("py-plots", ".tandem-installed", &["plotly==7.1.0"]);

/// [`PLOTS_VENV`]'s `bin/` directory (`python`), provisioned on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn plots_bin() -> &'static Path {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        PLOTS_VENV
            .provision(&target_dir())
            .unwrap_or_else(|e| panic!("provisioning {}: {e}", PLOTS_VENV.name()))
    })
}
