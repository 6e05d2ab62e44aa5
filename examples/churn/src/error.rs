//! The one error type of the churn nodes.

/// Why a churn node could not produce its outputs. Nodes return it instead
/// of panicking, so a bad table or parameter fails the run with a message
/// that names the column or parameter at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A table lacks a column the node reads.
    #[error("the table has no column '{column}' (columns: {available})")]
    MissingColumn {
        /// The column the node needs.
        column: String,
        /// The table's columns, comma-separated.
        available: String,
    },

    /// A column has a type the node cannot read.
    #[error("column '{column}' is {found}, expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// Its arrow type.
        found: String,
        /// What the node reads.
        expected: &'static str,
    },

    /// A column holds values the node cannot use (nulls where none are
    /// allowed, no values to fit on, non-finite numbers).
    #[error("column '{column}': {message}")]
    InvalidColumn {
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },

    /// A parameter is out of range.
    #[error("parameter '{name}': {message}")]
    InvalidParameter {
        /// The parameter, as written in parameters.yml.
        name: &'static str,
        /// What is wrong.
        message: String,
    },

    /// Two tables that must line up do not.
    #[error("{0}")]
    Mismatch(String),

    /// Arrow refused to build a table.
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),

    /// linfa could not fit the model.
    #[error("fitting the logistic regression failed: {0}")]
    Fit(#[from] linfa_logistic::error::Error),
}

impl Error {
    pub(crate) fn invalid_column(column: &str, message: impl Into<String>) -> Self {
        Error::InvalidColumn {
            column: column.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid_parameter(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            message: message.into(),
        }
    }
}
