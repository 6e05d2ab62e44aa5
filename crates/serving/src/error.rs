//! The crate's error type; every variant has a stable kind (see [`Error::kind`]).

/// Why the scoring server could not start or serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound (in use, not permitted).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] tandem_pipeline_model::Error),
}

impl Error {
    /// The stable, machine-readable kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Listen { .. } => "io",
            Error::Model(e) => e.kind(),
        }
    }
}
