//! `{{project_name}}`: a tandem project in Kedro's layout.
//!
//! Pipelines live in [`pipelines`], one module per modular pipeline (add one
//! with `tandem pipeline create NAME`); configuration in `conf/base/`
//! (overridden by `conf/local/`); data in `data/01_raw` … `data/08_reporting`.
//!
//! ```
//! let app = {{crate_name}}::app()?;
//! assert!(format!("{app:?}").contains("data_processing"));
//! # Ok::<(), tandem_pipeline_core::Error>(())
//! ```

pub mod pipelines;

use tandem_cli::App;

/// The CLI application: every registered pipeline (and `__default__`, all of
/// them together), with this package's name and version recorded in every
/// model it saves.
pub fn app() -> Result<App, tandem_pipeline_core::Error> {
    let mut app = App::new().package(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    for (name, pipeline) in pipelines::register_pipelines()? {
        app = app.pipeline(name, pipeline);
    }
    Ok(app)
}
