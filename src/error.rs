//! The crate's one error type.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

use thiserror::Error;

/// Everything that can go wrong in mixtura. Messages say what to change. Later versions may add
/// variants (the enum is `#[non_exhaustive]`): a `match` on it ends with a `_` arm.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A parameter (of a constructor, of fit, of from_samples, ...) has an invalid value.
    #[error("invalid {name}: {message}")]
    InvalidParameter {
        /// The parameter's name as the Rust API spells it (an option's field, an argument:
        /// `threads`, `inertia`, ...; the Python layer says its own names).
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The data do not have the shape or the values that the call needs.
    #[error("invalid {name}: {message}")]
    InvalidData {
        /// The argument's name: `data` (the rows), `weights` or `labels`.
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
    /// Reading or writing failed: a [`BatchSource`](crate::BatchSource) reading a file, say,
    /// whose `std::io::Error` becomes this one through `?`.
    #[error("input/output error: {message}")]
    Io {
        /// The kind of the original error.
        kind: std::io::ErrorKind,
        /// The original error's message.
        message: String,
    },
    /// The computation stopped before its end: a [`Cancel`](crate::Cancel) flag was set, or an
    /// epoch callback returned this error ([`Error::interrupted`]). A fit of a
    /// [`GeneralMixtureModel`](crate::GeneralMixtureModel) that stops after its first E-step
    /// keeps the parameters of its last reported epoch and carries the report of the epochs it
    /// ran ([`Error::partial_report`]).
    #[error("interrupted: {message}")]
    Interrupted {
        /// Why the computation stopped.
        message: String,
        /// The report of the epochs run before the stop, when the stopped call was a fit that
        /// got that far.
        report: Option<Box<crate::em::FitReport>>,
    },
    /// A distribution or callback implemented outside the crate failed, and its own error value
    /// travels with this one (for example a Python exception, raised again as it was).
    #[error("{message}")]
    Foreign {
        /// What went wrong, as text.
        message: String,
        /// The original error value.
        origin: Origin,
    },
}

/// The original error value of an [`Error::Foreign`]: a shared slot, emptied by the first
/// [`take`](Origin::take) (clones of the error share it). Two origins are equal when they share
/// the slot.
#[derive(Clone)]
pub struct Origin(Arc<Mutex<Option<Box<dyn Any + Send>>>>);

impl Origin {
    /// Wraps an error value.
    pub fn new(value: impl Any + Send) -> Self {
        Origin(Arc::new(Mutex::new(Some(Box::new(value)))))
    }

    /// The value, if it has the type `T` and was not taken before.
    pub fn take<T: Any>(&self) -> Option<T> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take()?.downcast::<T>() {
            Ok(v) => Some(*v),
            Err(other) => {
                *slot = Some(other);
                None
            }
        }
    }
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Origin(..)")
    }
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

    /// An [`Error::Interrupted`] without a report (a fit that stops on it adds its own).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Error::Interrupted {
            message: message.into(),
            report: None,
        }
    }

    /// The report of the epochs an EM fit ran before it was interrupted (see
    /// [`Error::Interrupted`]); `None` for other errors, for a fit stopped before the end of its
    /// first epoch, and for `GaussianMixture` and `Kmeans` fits.
    pub fn partial_report(&self) -> Option<&crate::em::FitReport> {
        match self {
            Error::Interrupted { report, .. } => report.as_deref(),
            _ => None,
        }
    }

    /// An [`Error::Foreign`] carrying `origin`.
    pub fn foreign(message: impl Into<String>, origin: impl Any + Send) -> Self {
        Error::Foreign {
            message: message.into(),
            origin: Origin::new(origin),
        }
    }

    /// An [`Error::Format`].
    pub fn format(message: impl Into<String>) -> Self {
        Error::Format(message.into())
    }
}

/// `std::io::Error` keeps its kind and message (the error itself is neither `Clone` nor
/// `PartialEq`, which this type is).
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// `Result` with the crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
