//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

/// What can go wrong converting frames or using the Polars datasets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame could not cross between Polars and arrow-rs.
    #[error("arrow conversion failed{}: {message}", column_text(.column))]
    Conversion {
        /// The column at fault, when one is.
        column: Option<String>,
        /// Why.
        message: String,
    },
}

fn column_text(column: &Option<String>) -> String {
    column
        .as_ref()
        .map(|c| format!(" for column '{c}'"))
        .unwrap_or_default()
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Conversion { .. } => "arrow_conversion",
        }
    }
}
