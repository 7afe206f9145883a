"""pandas input without a pandas dependency.

A DataFrame or Series is recognised only when pandas is already imported (whoever made one
imported it), so this module never imports pandas itself. Frames become numpy arrays: float64
when every column is numeric (missing values as NaN), otherwise an object array whose numeric
columns hold floats and whose other columns (object, string, categorical) hold their values, with
every missing value (NaN, None, pd.NA, NaT) as None.
"""

import sys

import numpy as np


def _pandas():
    return sys.modules.get("pandas")


def is_frame(X):
    """True for a pandas DataFrame."""
    pd = _pandas()
    return pd is not None and isinstance(X, pd.DataFrame)


def is_series(X):
    """True for a pandas Series."""
    pd = _pandas()
    return pd is not None and isinstance(X, pd.Series)


def names(X):
    """The column names of a DataFrame, as a list of str, when every name is a string; None for
    anything else (numpy arrays, Series, and frames with unnamed or non-string columns)."""
    if not is_frame(X):
        return None
    columns = list(X.columns)
    if columns and all(isinstance(c, str) for c in columns):
        return columns
    return None


def _is_numeric(dtype):
    pd = _pandas()
    types = pd.api.types
    return (types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype)) and not isinstance(
        dtype, pd.CategoricalDtype
    )


def _numbers(column):
    """A numeric Series as float64, its missing values (NaN, pd.NA) as NaN."""
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _symbols(column):
    """An object, string or categorical Series as an object array, missing values as None."""
    values = column.to_numpy(dtype=object)
    missing = column.isna().to_numpy(dtype=bool)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def values(X):
    """X itself, or the numpy array of a DataFrame or Series (see the module's docstring)."""
    if is_series(X):
        return _numbers(X) if _is_numeric(X.dtype) else _symbols(X)
    if not is_frame(X):
        return X
    dtypes = list(X.dtypes)
    if all(_is_numeric(t) for t in dtypes):
        if not dtypes:
            return np.empty((len(X), 0))
        return np.column_stack([_numbers(X.iloc[:, j]) for j in range(X.shape[1])])
    out = np.empty(X.shape, dtype=object)
    for j, t in enumerate(dtypes):
        column = X.iloc[:, j]
        if _is_numeric(t):
            out[:, j] = _numbers(column)
        else:
            out[:, j] = _symbols(column)
    return out


def first_non_numeric(X):
    """The name of the first column of a DataFrame that is not numeric; None otherwise."""
    if not is_frame(X):
        return None
    for column, dtype in zip(X.columns, X.dtypes):
        if not _is_numeric(dtype):
            return column
    return None


def check_names(X, expected):
    """Raises ValueError when ``X`` is a DataFrame with string column names other than
    ``expected`` (the model's feature names), naming the difference; nothing otherwise."""
    got = names(X)
    if got is None or expected is None or got == list(expected):
        return
    expected = list(expected)
    missing = [c for c in expected if c not in got]
    extra = [c for c in got if c not in expected]
    if not missing and not extra:
        raise ValueError(
            f"X has the model's columns in another order: expected {expected}, got {got} "
            "(select them in the model's order, e.g. X[model.feature_names])"
        )
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"unexpected {extra}")
    raise ValueError(f"X's columns do not match the model's feature names {expected}: {', '.join(parts)}")
