//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in mixtura. Messages say what to change.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// A parameter (of a constructor, of fit, of from_samples, ...) has an invalid value.
    #[error("invalid {name}: {message}")]
    InvalidParameter {
        /// The parameter's name as the Python API spells it.
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The data do not have the shape or the values that the call needs.
    #[error("invalid {name}: {message}")]
    InvalidData {
        /// The argument's name as the Python API spells it (usually `X` or `weights`).
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A model document (JSON) could not be read.
    #[error("invalid model document: {0}")]
    Format(String),
    /// A covariance matrix is not symmetric positive definite.
    #[error("invalid {name}: the matrix is not symmetric positive definite")]
    NotPositiveDefinite {
        /// The parameter's name.
        name: String,
    },
    /// A distribution implemented outside the crate reported an error.
    #[error("{0}")]
    External(String),
    /// The caller asked the computation to stop (an epoch callback returned an error).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Error {
    /// An [`Error::InvalidParameter`] for `name`.
    pub fn param(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            message: message.into(),
        }
    }

    /// An [`Error::InvalidData`] for `name`.
    pub fn data(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidData {
            name: name.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Format`].
    pub fn format(message: impl Into<String>) -> Self {
        Error::Format(message.into())
    }
}

/// `Result` with the crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
