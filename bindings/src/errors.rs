//! The exception classes of `mixtura._core`, and how a crate [`Error`] becomes a Python exception.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::PyErr;

use mixtura::Error;

create_exception!(
    mixtura._core,
    MixturaError,
    PyValueError,
    "An invalid argument, data set or model document (a ValueError)."
);

/// The Python exception of a crate [`Error`] (`?` on a crate result in a binding goes through
/// [`Py`]).
pub(crate) fn py_err(e: Error) -> PyErr {
    match e {
        Error::Interrupted { message, .. } => PyKeyboardInterrupt::new_err(message),
        Error::Foreign { message, origin } => origin
            .take::<PyErr>()
            .unwrap_or_else(|| MixturaError::new_err(message)),
        other => MixturaError::new_err(python_message(&other)),
    }
}

/// The Rust names of arguments and the Python API's, as messages say them (`invalid data: ...`
/// is `invalid X: ...` in Python, as pomegranate and scikit-learn name the rows).
const PYTHON_NAMES: [(&str, &str); 8] = [
    ("invalid data: ", "invalid X: "),
    ("invalid labels: ", "invalid y: "),
    ("invalid threads: ", "invalid n_jobs: "),
    ("row of the data", "row of X"),
    ("but the data have ", "but X has "),
    ("column of the data", "column of X"),
    ("needs data with one column", "needs X with one column"),
    ("check the data and weights", "check X and weights"),
];

/// The message of an error as the Python API says it: its names for the arguments, and
/// without the Rust-only advice on reading distributions of one's own (`from_json_with`).
fn python_message(e: &Error) -> String {
    let mut text = e.to_string();
    // The crate's own messages; a distribution's (`External`) and the system's (`Io`) are theirs.
    if !matches!(e, Error::External(_) | Error::Io { .. }) {
        for (rust, python) in PYTHON_NAMES {
            text = text.replace(rust, python);
        }
    }
    let hint = format!("; {}", mixtura::bindings::UNKNOWN_HINT);
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
