"""Argument checks that only Python can make: types, array-likes, dtype coercion, random_state.

Value rules (ranges, finiteness, shapes against the model) are checked in Rust, so that Rust
users get them too.
"""

import numbers
import warnings

import numpy as np

from . import _frames

_MAX_SEED = 2**63 - 1

# The largest integer argument: counts cross into Rust as 64-bit integers.
_MAX_INTEGER = 2**63 - 1

# numpy's warning when complex values are cast to real ones (numpy.exceptions from 1.25 on).
_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning


def as_matrix(X, d=None, name="X"):
    """X as a C-contiguous float64 array of shape (n, d).

    A 1-D input is a column of samples when ``d`` is 1 (or unknown), and a single sample when its
    length is ``d`` > 1.
    """
    return np.ascontiguousarray(_shaped(_floats(X, name), d, name))


def as_rows(X, d=None, name="X"):
    """Rows of data for the extension, shape (n, d): a float32 array as it is (C or Fortran
    order, strided, a memmap: the extension reads it in place, converting a block of rows at a
    time), anything else as ``as_matrix`` makes it. A float32 array that is not aligned or not in
    the machine's byte order is copied once, as float32."""
    values = _frames.values(X)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and values.itemsize == 4:
        arr = np.require(values, dtype=np.float32, requirements="A")
        return _shaped(arr, d, name)
    return as_matrix(X, d, name)


def _shaped(arr, d, name):
    """``arr`` as a 2-D array of samples (see ``as_matrix``), a view where it can be."""
    if arr.ndim == 0:
        raise TypeError(f"{name} must be an array of samples, not a scalar")
    if arr.ndim == 1:
        if d is None or d == 1:
            arr = arr.reshape(-1, 1)
        elif arr.shape[0] == d:
            arr = arr.reshape(1, d)
        else:
            raise ValueError(
                f"{name} must have shape (n_samples, {d}); got a 1-D array of length {arr.shape[0]}"
            )
    elif arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, of shape (n_samples, n_features); got {arr.ndim}-D")
    return arr


def _floats(X, name):
    frame, X = X, _frames.values(X)
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, not a string")
    try:
        with warnings.catch_warnings():
            # numpy drops the imaginary parts of complex values with only a warning.
            warnings.simplefilter("error", _ComplexWarning)
            return np.asarray(X, dtype=np.float64)
    except _ComplexWarning:
        raise TypeError(f"{name} must hold real numbers, got complex values") from None
    except (TypeError, ValueError) as e:
        column = _frames.first_non_numeric(frame)
        where = "" if column is None else f" (column {column!r} is not numeric)"
        raise TypeError(f"{name} must be an array of numbers{where}: {e}") from None


def as_column(X, name="X"):
    """Samples of a univariate distribution (a scalar or an array of any shape) as a float64
    array of shape (n, 1)."""
    return np.ascontiguousarray(_floats(X, name).reshape(-1, 1))


def as_column_rows(X, name="X"):
    """Samples of a univariate distribution as ``as_column`` makes them, but a float32 array as
    it is, reshaped to one column where it can be without a copy (the extension reads float32
    rows in place; see ``as_rows``)."""
    values = _frames.values(X)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and values.itemsize == 4:
        arr = np.require(values, dtype=np.float32, requirements="A")
        return arr.reshape(-1, 1)
    return as_column(X, name)


def as_vector(v, name):
    """A 1-D float64 array."""
    arr = _floats(v, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def as_weights(weights, name="weights"):
    """Sample weights as a 1-D float64 array, or None (their number and values are checked in
    Rust)."""
    if weights is None:
        return None
    arr = _floats(weights, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one weight per sample; got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def integer(value, name, minimum=None):
    """A Python int from an integer argument (bool is not an integer here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if not -_MAX_INTEGER - 1 <= value <= _MAX_INTEGER:
        raise ValueError(f"{name} must be between -2**63 and 2**63 - 1, got {value}")
    return value


def real(value, name):
    """A float from a real-number argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def optional_integer(value, name):
    """None, or an int (its range is checked in Rust)."""
    if value is None:
        return None
    return integer(value, name)


def n_jobs(value):
    """n_jobs as an int (its range is checked in Rust: positive, or -1 for all cores)."""
    return integer(value, "n_jobs")


def seed(random_state):
    """A 64-bit seed from random_state: an int, a numpy RandomState or Generator, or None (a seed
    drawn from numpy's global generator, so that numpy.random.seed makes runs reproducible, as in
    pomegranate)."""
    if random_state is None:
        return int(np.random.randint(0, _MAX_SEED, dtype=np.int64))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, _MAX_SEED, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, _MAX_SEED))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            "random_state must be None, an int, or a numpy RandomState or Generator, "
            f"got {type(random_state).__name__}"
        )
    value = int(random_state)
    if value < 0 or value >= 2**32:
        raise ValueError(f"random_state must be between 0 and 2**32 - 1, got {value}")
    # scikit-learn's convention (check_random_state): an int seeds a RandomState, so that
    # random_state=k and random_state=numpy.random.RandomState(k) give the same model.
    return seed(np.random.RandomState(value))
