//! The one font every figure is drawn with, bundled in the crate so a
//! rendering never depends on the fonts a machine happens to have.

use std::sync::OnceLock;

/// The family name figures ask plotters for.
pub(crate) const FAMILY: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera licence, fonts/LICENSE-DejaVu.txt).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Registers the bundled font with plotters once per process; plotters
/// keeps its fonts in a process-wide table, so every later call is free.
pub(crate) fn ensure_registered() -> Result<(), crate::Error> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, DEJAVU_SANS)
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(crate::Error::Render {
            format: "font",
            message: "the bundled DejaVu Sans font could not be parsed".to_owned(),
        })
    }
}
