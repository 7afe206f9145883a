//! The exception classes of `mixtura._core`, and how a crate [`Error`] becomes a Python exception.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::PyErr;

use crate::error::Error;

create_exception!(
    mixtura._core,
    MixturaError,
    PyValueError,
    "An invalid argument, data set or model document (a ValueError)."
);

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Interrupted { message, .. } => PyKeyboardInterrupt::new_err(message),
            Error::Foreign { message, origin } => origin
                .take::<PyErr>()
                .unwrap_or_else(|| MixturaError::new_err(message)),
            other => MixturaError::new_err(python_message(&other)),
        }
    }
}

/// The message of an error as the Python API says it: the Rust-only advice on reading
/// distributions of one's own (`from_json_with`) is left out.
fn python_message(e: &Error) -> String {
    let text = e.to_string();
    let hint = format!("; {}", crate::format::UNKNOWN_HINT);
    match text.strip_suffix(&hint) {
        Some(head) => head.to_string(),
        None => text,
    }
}

/// A `MixturaError` with a message of the crate's form, `invalid {name}: {message}`, for the
/// rules that only the Python layer states.
pub(super) fn invalid(name: &str, message: impl std::fmt::Display) -> PyErr {
    MixturaError::new_err(format!("invalid {name}: {message}"))
}

/// The Rust error that carries a Python exception to the Python boundary, where it is raised
/// as it was.
pub(super) fn external_error(e: PyErr, context: String) -> Error {
    let msg = format!("{context}: {e}");
    Error::foreign(msg, e)
}
