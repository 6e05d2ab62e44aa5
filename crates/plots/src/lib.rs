//! Plot datasets for tandem: figures a person can look at, saved by the
//! catalog like any other file (any `object_store` backend, Kedro
//! versioning, atomic writes).
//!
//! - `matplotlib.MatplotlibWriter` ([`MatplotlibWriter`]): a [`Figure`]
//!   (line and scatter series, heatmaps such as a confusion matrix, titles,
//!   axis labels) drawn with plotters and saved as PNG or SVG, with a
//!   bundled font so nothing depends on the machine's fonts.
//! - `plotly.JSONDataset` ([`PlotlyJsonDataset`]): a plotly figure's JSON,
//!   saved and loaded as a `serde_json::Value` ([`plotly_figure`] turns a
//!   plotly.rs `Plot` into one).
//! - `plotly.PlotlyDataset` ([`PlotlyDataset`]): a figure built from a
//!   table (`arrow_array::RecordBatch`) with Kedro's `plotly_args`.
//!
//! [`register`] adds all three (and Kedro's names for them) to a registry.
//!
//! ```
//! use tandem_catalog::{DatasetConfig, DatasetRegistry};
//! use tandem_pipeline_core::Data;
//! use tandem_plots::Figure;
//!
//! let mut registry = DatasetRegistry::with_builtins();
//! tandem_plots::register(&mut registry);
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("roc.png");
//! let options = serde_json::json!({"filepath": path.to_str().unwrap()});
//! let config = DatasetConfig::new(
//!     "roc_curve",
//!     "matplotlib.MatplotlibWriter",
//!     options.as_object().unwrap().clone(),
//! );
//! let roc = Figure::axes("ROC").line("model", vec![(0.0, 0.0), (0.3, 0.8), (1.0, 1.0)]);
//! registry.build(&config)?.save(Data::new(roc))?;
//! assert!(std::fs::read(&path)?.starts_with(b"\x89PNG\r\n\x1a\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod figure;
mod font;
mod matplotlib;
mod options;
mod plotly_json;
mod plotly_table;
mod render;

use std::sync::Arc;

use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry, FileDataset, FileFormat};

pub use error::Error;
pub use figure::{
    Axes, Color, Content, DEFAULT_DPI, DEFAULT_SIZE, Figure, Heatmap, MAX_PIXELS, Series,
    SeriesStyle,
};
pub use matplotlib::{ImageFormat, MatplotlibFormat};
pub use plotly_json::{PlotlyJsonFormat, plotly_figure};
pub use plotly_table::{ChartType, FigArgs, OneOrMany, PlotlyArgs, PlotlyFormat};

/// A [`Figure`] saved as a PNG or SVG image (Kedro's `matplotlib.MatplotlibWriter`).
pub type MatplotlibWriter = FileDataset<MatplotlibFormat>;
/// A plotly figure as JSON (Kedro's `plotly.JSONDataset`).
pub type PlotlyJsonDataset = FileDataset<PlotlyJsonFormat>;
/// A plotly figure built from a table (Kedro's `plotly.PlotlyDataset`).
pub type PlotlyDataset = FileDataset<PlotlyFormat>;

/// Registers the plot datasets under their tandem names
/// (`MatplotlibWriter`, `PlotlyJSONDataset`, `PlotlyDataset`) and Kedro's
/// (`matplotlib.MatplotlibWriter`, `matplotlib.MatplotlibDataset`,
/// `plotly.JSONDataset`, `plotly.PlotlyDataset`).
pub fn register(registry: &mut DatasetRegistry) {
    fn add<F: FileFormat>(registry: &mut DatasetRegistry, aliases: &[&str]) {
        registry.register(F::TYPE_NAME, |config: &DatasetConfig| {
            Ok(Arc::new(FileDataset::<F>::from_config(config)?) as Arc<dyn Dataset>)
        });
        for alias in aliases {
            registry.alias(*alias, F::TYPE_NAME);
        }
    }
    add::<MatplotlibFormat>(
        registry,
        &[
            "matplotlib.MatplotlibWriter",
            "matplotlib.MatplotlibDataset",
        ],
    );
    add::<PlotlyJsonFormat>(registry, &["plotly.JSONDataset"]);
    add::<PlotlyFormat>(registry, &["plotly.PlotlyDataset"]);
}
