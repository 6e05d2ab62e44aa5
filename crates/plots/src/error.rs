//! The crate's one error enum.

/// What can go wrong drawing a figure or building a plotly figure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The figure cannot be drawn as given (a non-finite point, a ragged
    /// heatmap, a size out of bounds); the message names the part at fault.
    #[error("invalid figure: {0}")]
    InvalidFigure(String),

    /// The drawing backend failed.
    #[error("cannot render the figure as {format}: {message}")]
    Render {
        /// `png` or `svg`.
        format: &'static str,
        /// The backend's explanation.
        message: String,
    },

    /// A table cannot become the plotly figure `plotly_args` describe (a
    /// missing column, an unsupported column type).
    #[error("cannot build the plotly figure: {0}")]
    Plotly(String),
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidFigure(_) => "invalid_figure",
            Error::Render { .. } => "render",
            Error::Plotly(_) => "plotly_figure",
        }
    }

    /// This error as the catalog error a dataset's save returns: the
    /// dataset's location, this crate's kind and message.
    pub(crate) fn into_catalog(self, location: &str) -> tandem_catalog::Error {
        tandem_catalog::Error::External {
            operation: "save",
            dataset: location.to_owned(),
            kind: self.kind(),
            source: Box::new(self),
        }
    }
}
