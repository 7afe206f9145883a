"""Distributions with pomegranate 0.14's API: NormalDistribution,
MultivariateGaussianDistribution and IndependentComponentsDistribution."""

import copy
import json
import os
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _checks, _core, _frames
from ._core import MixturaError

__all__ = [
    "Distribution",
    "NormalDistribution",
    "LogNormalDistribution",
    "ExponentialDistribution",
    "GammaDistribution",
    "PoissonDistribution",
    "UniformDistribution",
    "BernoulliDistribution",
    "DiscreteDistribution",
    "MultivariateGaussianDistribution",
    "IndependentComponentsDistribution",
]


def _read_text(s):
    """JSON text, or the text of the file it names (pomegranate's from_json accepts both)."""
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    if not isinstance(s, str):
        raise TypeError(f"expected JSON text or a file name, got {type(s).__name__}")
    if s.lstrip().startswith("{"):
        return s
    if os.path.isfile(s):
        with open(s, encoding="utf-8") as f:
            return f.read()
    return s


_PROTOCOL = ("d", "log_probability", "summarize", "from_summaries", "clear_summaries")


def _is_custom(dist):
    """A Python object with pomegranate's distribution protocol that is not one of mixtura's."""
    return (
        not isinstance(dist, (Distribution, type))
        and all(hasattr(dist, a) for a in _PROTOCOL)
    )


def _external_core(dist):
    """The Rust object that calls a Python-implemented distribution."""
    return _core.Distribution.external(dist, type(dist).__name__, int(dist.d))


def _child_core(dist):
    return _external_core(dist) if _is_custom(dist) else dist._core


class Document:
    """The dict and YAML forms of a model's JSON document (pomegranate's ``to_dict``,
    ``from_dict``, ``to_yaml``, ``from_yaml``), for classes with ``to_json`` and ``from_json``."""

    if TYPE_CHECKING:

        def to_json(self) -> str: ...

        @classmethod
        def from_json(cls, s: str) -> Any: ...

    def to_dict(self):
        """The JSON document as a dict."""
        return json.loads(self.to_json())

    @classmethod
    def from_dict(cls, d):
        """A model from a dict, as ``to_dict`` gives."""
        return cls.from_json(_document_text(d))

    def to_yaml(self):
        """The document as YAML, keys sorted, as pomegranate writes it (needs PyYAML)."""
        import yaml

        return yaml.safe_dump(self.to_dict())

    @classmethod
    def from_yaml(cls, s):
        """A model from YAML text or a text stream (needs PyYAML). Every YAML error is a
        ``MixturaError`` (a ``ValueError``); so are anchors and aliases (a model document has
        none, and they can expand a small text into a huge document) and nesting deeper than a
        model's."""
        return cls.from_dict(_load_yaml(s))


def _no_more_keywords(kwargs):
    """A ``TypeError`` for the first keyword a ``from_samples`` does not take, as Python raises."""
    if kwargs:
        raise TypeError(f"from_samples() got an unexpected keyword argument {next(iter(kwargs))!r}")


def _document_text(d):
    """The JSON text of a document given as a dict (a ``MixturaError`` when it has no JSON
    form)."""
    if not isinstance(d, dict):
        raise MixturaError(f"invalid model document: expected a mapping, got {type(d).__name__}")
    try:
        return json.dumps(d)
    except (TypeError, ValueError) as e:
        raise MixturaError(f"invalid model document: {e}") from None
    except RecursionError:
        raise MixturaError("invalid model document: nested too deeply") from None


# YAML 1.1's base-60 integers and floats, as PyYAML resolves them.
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")

# A model document nests a few levels (a mixture of IndependentComponents of discrete
# distributions is five deep); far deeper ones are refused before they are built.
_MAX_NESTING = 200


def _load_yaml(text):
    """The document of YAML text, read by PyYAML's safe loader after a pass over its events that
    refuses anchors, aliases and deep nesting."""
    import yaml

    if hasattr(text, "read"):
        text = text.read()
    if not isinstance(text, (str, bytes)):
        raise TypeError(f"expected YAML text or a text stream, got {type(text).__name__}")
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise MixturaError("invalid YAML model: anchors and aliases (& and *) are not "
                                   "part of a model document")
            if (isinstance(event, yaml.ScalarEvent) and event.implicit[0]
                    and _SEXAGESIMAL.fullmatch(event.value)):
                # YAML 1.1's base-60 numbers (1:20:30) take PyYAML quadratic time to build,
                # and a model document has none.
                raise MixturaError(f"invalid YAML model: base-60 number {event.value[:40]!r}")
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > _MAX_NESTING:
                    raise MixturaError(
                        f"invalid YAML model: nested deeper than {_MAX_NESTING} levels")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise MixturaError(f"invalid YAML model: {e}") from None


class Distribution(Document):
    """The base class of mixtura's distributions.

    Attributes
    ----------
    name : str
        The class name, as in the JSON documents.
    d : int
        The number of features (1 for a univariate distribution).
    frozen : bool
        Whether fitting leaves the parameters as they are.
    parameters : list
        The parameters, in pomegranate's order.
    """

    # The pomegranate class name (None for a class that is not one of the families).
    _family: Any = None
    _univariate = True
    _summaries: list

    # -- the Rust object behind the distribution -------------------------------------------------
    def _get_core(self):
        return self.__dict__["_core_obj"]

    def _set_core(self, core):
        self.__dict__["_core_obj"] = core

    _core = property(lambda self: self._get_core())

    @classmethod
    def _wrap(cls, core):
        """A Python distribution around a ``_core.Distribution``."""
        klass = _CLASSES[core.name]
        obj = klass.__new__(klass)
        obj._summaries = []
        obj._set_core(core)
        return obj

    # -- attributes ----------------------------------------------------------------------------
    # pomegranate's layout of the stored statistics when there are none.
    _empty_summaries: list = []

    @property
    def summaries(self):
        """The stored statistics in pomegranate 0.14's layout (for example ``[sum w, sum w x,
        sum w x**2]`` for a normal distribution, ``[min, max, sum w]`` for a uniform one;
        ``[]`` for the multivariate classes, whose statistics pomegranate kept out of sight)."""
        if not self._summaries:
            return self._empty_summary_layout()
        return self._summary_layout(list(self._summaries[0].values()))

    def _empty_summary_layout(self):
        """pomegranate's layout of no statistics."""
        return list(self._empty_summaries)

    def _summary_layout(self, values):
        """pomegranate's layout of ``DistributionSummary.values()``."""
        return values

    @property
    def name(self):
        return type(self).__name__

    @property
    def d(self):
        return self._core.d

    @property
    def frozen(self):
        return self._core.frozen

    @frozen.setter
    def frozen(self, value):
        core = self._core
        core.frozen = bool(value)
        self._set_core(core)

    @property
    def parameters(self):
        return list(self._core.parameters())

    @parameters.setter
    def parameters(self, value):
        rebuild: Any = type(self)
        self._set_core(rebuild(*value, frozen=self.frozen, **self._init_extra())._core)

    def _init_extra(self):
        """Constructor arguments beyond the parameters that a rebuilt copy keeps."""
        return {}

    # -- probabilities ---------------------------------------------------------------------------
    def log_probability(self, X, n_jobs=1):
        """The log-density of each sample; a number (numpy float64) for a single sample, however
        it is given (a scalar, a row, or an array of one row), as in pomegranate.

        Parameters
        ----------
        X : array-like, shape (n_samples,) or (n_samples, d), or a single sample
        """
        out = self._core.log_probability(self._matrix(X), _checks.n_jobs(n_jobs))
        return out[0] if len(out) == 1 else out

    def probability(self, X, n_jobs=1):
        """The density of each sample: ``exp(log_probability(X))``."""
        return np.exp(self.log_probability(X, n_jobs=n_jobs))

    # -- fitting ---------------------------------------------------------------------------------
    def _matrix(self, X):
        # float32 rows stay as they are: the extension reads them in place, a block at a time.
        if self.d == 1:
            return _checks.as_column_rows(X)
        return _checks.as_rows(X, self.d)

    def summarize(self, X, weights=None):
        """Adds the sufficient statistics of ``X`` (with optional sample weights) to the
        distribution's stored summaries."""
        Xm = self._matrix(X)
        w = _checks.as_weights(weights)
        summary = self._core.summarize(Xm, w)
        if self._summaries:
            self._summaries[0].merge(summary)
        else:
            self._summaries = [summary]

    def from_summaries(self, inertia=0.0, pseudocount=0.0):
        """Sets the parameters from the stored summaries (``inertia`` weighs the old parameters;
        ``pseudocount`` smooths discrete counts), then clears them. A frozen distribution does
        not change."""
        inertia = _checks.real(inertia, "inertia")
        pseudocount = _checks.real(pseudocount, "pseudocount")
        if not self._summaries:
            return
        core = self._core
        core.from_summaries(self._summaries[0], inertia, pseudocount)
        self._set_core(core)
        self.clear_summaries()

    def clear_summaries(self):
        """Discards the stored summaries."""
        self._summaries = []

    def fit(self, X, weights=None, inertia=0.0, pseudocount=0.0):
        """Fits the distribution to ``X`` by maximum likelihood; returns self. ``pseudocount``
        smooths the counts of a discrete distribution."""
        self.clear_summaries()
        self.summarize(X, weights)
        self.from_summaries(inertia, pseudocount)
        return self

    @classmethod
    def blank(cls):
        """The distribution pomegranate's ``blank()`` gives."""
        return cls._wrap(_core.Distribution.blank(cls._family, 1))

    @classmethod
    def from_samples(cls, X, weights=None, **kwargs):
        """The maximum-likelihood distribution of ``X``.

        Keywords are those of :meth:`fit` (``inertia``, ``pseudocount``): as in pomegranate, the
        blank distribution is then fitted with them, so ``inertia`` weighs the blank
        distribution's parameters. An unknown keyword is a ``TypeError``.
        """
        if cls._univariate:
            Xm = _checks.as_column_rows(X)
        else:
            Xm = _checks.as_rows(X)
        if kwargs:
            core = _core.Distribution.blank(cls._family, Xm.shape[1])
            return cls._wrap(core).fit(Xm, weights, **kwargs)
        w = _checks.as_weights(weights)
        return cls._wrap(_core.Distribution.fit_new(cls._family, Xm, w))

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, n=None, random_state=None):
        """Draws ``n`` samples (one, not in an array, when ``n`` is None)."""
        count = 1 if n is None else _checks.integer(n, "n", minimum=0)
        out = self._core.sample(count, _checks.seed(random_state))
        if self.d == 1:
            out = out[:, 0]
            return float(out[0]) if n is None else out
        return out[0] if n is None else out

    # -- state -----------------------------------------------------------------------------------
    def freeze(self):
        """Freezes the distribution: fitting no longer changes it."""
        self.frozen = True

    def thaw(self):
        """Thaws the distribution: fitting changes it again."""
        self.frozen = False

    def copy(self):
        """A deep copy."""
        return self._wrap(self._core.copy())

    # -- serialisation ---------------------------------------------------------------------------
    def to_json(self, separators=(",", " : "), indent=4):
        """The pomegranate 0.14 JSON document of the distribution."""
        item, key = separators
        return self._core.to_json(indent, item, key)

    @classmethod
    def from_json(cls, s):
        """A distribution from JSON text or a file name."""
        return cls._wrap(_core.Distribution.from_json(_read_text(s)))

    def __reduce__(self):
        # The JSON document, and the constructor arguments it does not hold (min_std).
        return (_restore_distribution,
                (self.to_json(separators=(",", ":"), indent=None), self._init_extra()))

    def __eq__(self, other):
        return isinstance(other, Distribution) and self._core == other._core

    __hash__ = object.__hash__

    def __repr__(self):
        return self.to_json()


def _restore_distribution(text, extra=None):
    dist = Distribution.from_json(text)
    if extra:
        dist._set_core(type(dist)(*dist.parameters, frozen=dist.frozen, **extra)._core)
    return dist


class _Univariate(Distribution):
    """A univariate family whose parameters are numbers."""

    _params: tuple[str, ...] = ()

    def _build(self, values, frozen, min_std=0.0):
        self._summaries = []
        values = [_checks.real(v, name) for v, name in zip(values, self._params)]
        self._set_core(_core.Distribution.univariate(self._family, values, bool(frozen),
                                                     _checks.real(min_std, "min_std")))


class ZeroStdError(MixturaError, ZeroDivisionError):
    """``NormalDistribution(mean, 0)``: a ``ValueError`` (mixtura's rule) that is also the
    ``ZeroDivisionError`` pomegranate 0.14 raised, so that code catching either keeps working."""


class NormalDistribution(_Univariate):
    """A normal distribution ``N(mean, std**2)``.

    Parameters
    ----------
    mean : float
    std : float
        Positive.
    frozen : bool, optional
    min_std : float, optional
        The smallest standard deviation a fit may produce (default 0).
    """

    _empty_summaries = [0, 0, 0]

    _params = ("mean", "std")

    def __init__(self, mean, std, frozen=False, min_std=0.0):
        try:
            self._build([mean, std], frozen, min_std)
        except MixturaError as e:
            if std == 0:
                # pomegranate raised ZeroDivisionError here: code may catch either.
                raise ZeroStdError(str(e)) from None
            raise

    @property
    def min_std(self):
        return self._core.min_std

    def _init_extra(self):
        return {"min_std": self.min_std}


class LogNormalDistribution(_Univariate):
    """A log-normal distribution: ``log(x) ~ N(mu, sigma**2)``, for ``x > 0`` (log-probability
    ``-inf`` elsewhere).
    """

    _empty_summaries = [0, 0, 0]

    _params = ("mu", "sigma")

    def __init__(self, mu, sigma, min_std=0.0, frozen=False):
        self._build([mu, sigma], frozen, min_std)

    @property
    def min_std(self):
        return self._core.min_std

    def _init_extra(self):
        return {"min_std": self.min_std}


class ExponentialDistribution(_Univariate):
    """An exponential distribution with a rate, for ``x >= 0``."""

    _empty_summaries = [0, 0]

    _params = ("rate",)

    def __init__(self, rate, frozen=False):
        self._build([rate], frozen)


class GammaDistribution(_Univariate):
    """A gamma distribution with shape ``alpha`` and rate ``beta``, for ``x > 0``."""

    _empty_summaries = [0, 0, 0]

    def _summary_layout(self, values):
        return [values[1], values[2], values[0]]

    _params = ("alpha", "beta")

    def __init__(self, alpha, beta, frozen=False):
        self._build([alpha, beta], frozen)


class PoissonDistribution(_Univariate):
    """A Poisson distribution with mean ``l``, over the non-negative integers."""

    _empty_summaries = [0, 0]

    def _summary_layout(self, values):
        return [values[1], values[0]]

    _params = ("l",)

    def __init__(self, l, frozen=False):  # noqa: E741 (pomegranate's name)
        self._build([l], frozen)


class UniformDistribution(_Univariate):
    """A uniform distribution on ``[start, end]``."""

    _empty_summaries = [np.inf, -np.inf, 0]

    _params = ("start", "end")

    def __init__(self, start, end, frozen=False):
        self._build([start, end], frozen)


class BernoulliDistribution(_Univariate):
    """A Bernoulli distribution over ``{0, 1}`` with ``P(1) = p``."""

    _empty_summaries = [0.0, 0.0]

    _params = ("p",)

    def __init__(self, p, frozen=False):
        self._build([p], frozen)


def _is_missing(v):
    return v is None or (isinstance(v, (float, np.floating)) and v != v) or (
        isinstance(v, str) and v == "nan"
    )


def _dtype_name(key):
    t = type(key)
    if t.__module__ == "numpy":
        return f"numpy.{t.__name__}"
    return t.__name__


def _key_from_string(text, dtype):
    if dtype == "str":
        return text
    if dtype == "int":
        return int(text)
    if dtype == "float":
        return float(text)
    if dtype == "bool":
        return text == "True"
    if dtype.startswith("numpy."):
        t = getattr(np, dtype[len("numpy."):], None)
        if t is not None:
            if t is np.bool_:
                return np.bool_(text == "True")
            return t(text)
    return text


class DiscreteDistribution(Distribution):
    """A categorical distribution over symbols: strings, integers, booleans or other hashable
    values, given as a dict of symbol to probability.

    A symbol the distribution does not know has log-probability ``-inf``; ``None``, NaN and the
    string ``'nan'`` are missing values (log-probability 0).
    """

    def _empty_summary_layout(self):
        return [{k: 0 for k in self.keys()}, 0]

    def _summary_layout(self, values):
        return [dict(zip(self.keys(), values[:-1])), values[-1]]


    def __init__(self, characters, frozen=False):
        if not isinstance(characters, dict):
            raise TypeError(
                f"characters must be a dict of symbol to probability, got {type(characters).__name__}"
            )
        self._summaries = []
        keys = list(characters.keys())
        probs = [_checks.real(characters[k], "characters") for k in keys]
        dtype = _dtype_name(keys[0]) if keys else "str"
        self._set_keys(keys)
        self._set_core(_core.Distribution.discrete([str(k) for k in keys], probs, dtype, bool(frozen)))

    def _set_keys(self, keys):
        self._keys = list(keys)
        self._codes: dict = {}
        for i, k in enumerate(self._keys):
            self._codes.setdefault(k, i)

    def _set_core(self, core):
        texts, _ = core.parameters()
        known = {str(k): k for k in getattr(self, "_keys", [])}
        dtype = core.dtype
        try:
            keys = [known[t] if t in known else _key_from_string(t, dtype) for t in texts]
        except (ValueError, TypeError, OverflowError):
            keys = None
        if keys is None or len(dict.fromkeys(keys)) != len(keys):
            raise ValueError(
                f"invalid model document: the symbols {texts!r} of a DiscreteDistribution are "
                f"not distinct values of its dtype {dtype!r}"
            )
        self._set_keys(keys)
        self.__dict__["_core_obj"] = core

    @classmethod
    def _wrap(cls, core, keys=()):
        """A discrete distribution around ``core``; symbols whose text matches one of ``keys``
        are those keys (of any type), the others are read from their text and dtype."""
        obj = cls.__new__(cls)
        obj._summaries = []
        obj._keys = list(keys)
        obj._set_core(core)
        return obj

    def copy(self):
        """A deep copy (the symbols keep their Python types)."""
        return self._wrap(self._core.copy(), self._keys)

    def _encode(self, values):
        """Codes of the symbols (NaN for missing, -1 for unknown) as a column."""
        return _encode_column(values, self._codes).reshape(-1, 1)

    def _matrix(self, X):
        arr = np.asarray(_frames.values(X), dtype=object).reshape(-1)
        return self._encode(arr)

    @property
    def parameters(self):
        return [dict(zip(self._keys, self._core.parameters()[1]))]

    @parameters.setter
    def parameters(self, value):
        type(self).__init__(self, value[0], frozen=self.frozen)

    @property
    def dtype(self):
        return self._core.dtype

    def keys(self):
        return list(self._keys)

    def values(self):
        return list(self._core.parameters()[1])

    def items(self):
        return list(zip(self.keys(), self.values()))

    def __getitem__(self, key):
        return dict(self.items())[key]

    def log_probability(self, X, n_jobs=1):
        single = np.ndim(X) == 0 or isinstance(X, (str, bytes))
        values = [X] if single else X
        out = self._core.log_probability(self._matrix(values), _checks.n_jobs(n_jobs))
        return float(out[0]) if single else out

    def summarize(self, X, weights=None):
        arr = _symbol_array(X)
        new = [v for v in dict.fromkeys(list(arr)) if not _is_missing(v) and v not in self._codes]
        if new:
            self._extend(new)
        Distribution.summarize(self, arr, weights)

    def _extend(self, new):
        """Adds symbols with probability 0 (the statistics so far are kept)."""
        if self._summaries:
            raise ValueError("cannot add new symbols to a discrete distribution with pending summaries; "
                             "call from_summaries first")
        keys = self._keys + list(new)
        probs = list(self._core.parameters()[1]) + [0.0] * len(new)
        core = _core.Distribution.discrete([str(k) for k in keys], probs, self.dtype, self.frozen)
        self._set_keys(keys)
        self.__dict__["_core_obj"] = core

    def sample(self, n=None, random_state=None):
        count = 1 if n is None else _checks.integer(n, "n", minimum=0)
        codes = self._core.sample(count, _checks.seed(random_state))[:, 0].astype(int)
        out = [self._keys[c] for c in codes]
        return out[0] if n is None else np.array(out, dtype=object)

    @classmethod
    def blank(cls):
        raise ValueError("DiscreteDistribution has no blank form; give it a dict of symbols")

    @classmethod
    def from_samples(cls, X, weights=None, pseudocount=0.0, keys=None, **kwargs):
        """The distribution of the symbols in ``X`` (weighted counts, plus ``pseudocount``);
        ``keys`` lists symbols to include even where ``X`` has none (count 0)."""
        _no_more_keywords(kwargs)
        arr = _symbol_array(X)
        seen = [v for v in dict.fromkeys(list(arr)) if not _is_missing(v)]
        keys = seen if keys is None else list(dict.fromkeys([*keys, *seen]))
        if not keys:
            raise ValueError("X must hold at least one symbol that is not missing")
        d = cls({k: 1.0 / len(keys) for k in keys})
        d.summarize(arr, weights)
        summary = d._summaries[0]
        core = d._core
        core.from_summaries(summary, 0.0, _checks.real(pseudocount, "pseudocount"))
        d._set_core(core)
        d.clear_summaries()
        return d

    def __reduce__(self):
        return (_restore_discrete, (self.to_json(separators=(",", ":"), indent=None), self._keys))


def _symbol_array(X):
    """Symbols as a flat array; the elements of a typed numpy array stay numpy scalars, so that
    their type is the one recorded (as pomegranate records it)."""
    X = _frames.values(X)
    if isinstance(X, np.ndarray) and X.dtype != object:
        return X.reshape(-1)
    return np.asarray(X, dtype=object).reshape(-1)


def _restore_discrete(text, keys):
    return DiscreteDistribution._wrap(_core.Distribution.from_json(text), keys)


def encode_rows(X, d, codes, float32=False):
    """Rows as a float64 matrix of shape (n, d); column ``j`` holds the codes of its symbols when
    ``codes[j]`` is a symbol-to-code dict (discrete columns), and numbers otherwise. With
    ``float32``, numbers alone in a float32 array stay as they are (``_checks.as_rows``), for the
    extension's functions that read float32 rows."""
    if all(c is None for c in codes):
        return _checks.as_rows(X, d) if float32 else _checks.as_matrix(X, d)
    arr = np.asarray(_frames.values(X), dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if d > 1 and arr.shape[0] == d else arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ValueError(f"X must have shape (n_samples, {d}), got {arr.shape}")
    out = np.empty(arr.shape, dtype=np.float64)
    for j in range(d):
        if codes[j] is None:
            col = arr[:, j]
            try:
                out[:, j] = [np.nan if v is None else float(v) for v in col]
            except (TypeError, ValueError) as e:
                raise TypeError(f"X column {j} must hold numbers: {e}") from None
        else:
            out[:, j] = _encode_column(arr[:, j], codes[j])
    return out


def _encode_column(values, codes):
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if _is_missing(v):
            out[i] = np.nan
        else:
            try:
                out[i] = codes.get(v, -1.0)
            except TypeError:
                out[i] = -1.0
    return out


class MultivariateGaussianDistribution(Distribution):
    """A multivariate Gaussian with a full covariance matrix.

    Parameters
    ----------
    means : array-like, shape (d,)
    covariance : array-like, shape (d, d)
        Symmetric positive definite.
    frozen : bool, optional
    """

    def _summary_layout(self, values):
        return []

    _univariate = False

    def __init__(self, means, covariance, frozen=False):
        self._summaries = []
        mu = _checks.as_vector(means, "means")
        cov = _checks.as_matrix(covariance, None, "covariance")
        self._set_core(_core.Distribution.multivariate_gaussian(mu, cov, bool(frozen)))

    @property
    def mu(self):
        """The mean vector."""
        return self.parameters[0]

    @property
    def cov(self):
        """The covariance matrix."""
        return self.parameters[1]

    @classmethod
    def blank(cls, d=2):
        """The standard Gaussian ``N(0, I)`` over ``d`` features."""
        return cls._wrap(_core.Distribution.blank(cls._family, _checks.integer(d, "d", 1)))


class IndependentComponentsDistribution(Distribution):
    """Independent univariate distributions, one per feature:
    ``log p(x) = sum_j weights[j] * log p_j(x[j])``.

    Parameters
    ----------
    distributions : list of univariate distributions
    weights : array-like, shape (d,), optional
        Per-feature weights (default 1 each).
    frozen : bool, optional
    """

    def _summary_layout(self, values):
        return []

    _univariate = False
    # A numpy object array of the per-feature distributions (None while being wrapped).
    distributions: Any

    def __init__(self, distributions, weights=None, frozen=False):
        self._summaries = []
        dists = list(distributions)
        for j, dist in enumerate(dists):
            if not isinstance(dist, Distribution) and not _is_custom(dist):
                raise TypeError(
                    f"distributions[{j}] must be an initialised distribution (or have "
                    f"{', '.join(_PROTOCOL)}), got {dist!r}"
                )
        w = None if weights is None else [_checks.real(v, "weights") for v in weights]
        # Validates the combination (dimensions, weights) in Rust.
        _core.Distribution.independent([_child_core(c) for c in dists], w, bool(frozen))
        self.distributions = np.empty(len(dists), dtype=object)
        self.distributions[:] = dists
        self.weights = np.array(w if w is not None else [1.0] * len(dists))
        self._frozen = bool(frozen)

    def _get_core(self):
        return _core.Distribution.independent(
            [_child_core(c) for c in self.distributions], [float(v) for v in self.weights],
            self._frozen,
        )

    def _set_core(self, core):
        children = core.children()
        if getattr(self, "distributions", None) is None or len(self.distributions) != len(children):
            self.distributions = np.empty(len(children), dtype=object)
            self.distributions[:] = [Distribution._wrap(c) for c in children]
        else:
            for dist, c in zip(self.distributions, children):
                # A Python-implemented child was updated in place, through its own methods.
                if not _is_custom(dist):
                    dist._set_core(c)
        self.weights = np.array(core.parameters()[1], dtype=np.float64)
        self._frozen = core.frozen

    _core = property(_get_core)

    @property
    def frozen(self):
        return self._frozen

    @frozen.setter
    def frozen(self, value):
        self._frozen = bool(value)

    @property
    def parameters(self):
        return [list(self.distributions), list(self.weights)]

    @parameters.setter
    def parameters(self, value):
        dists, weights = value
        type(self).__init__(self, dists, weights, frozen=self._frozen)

    @classmethod
    def _wrap(cls, core):
        obj = cls.__new__(cls)
        obj._summaries = []
        obj.distributions = None
        obj._set_core(core)
        return obj

    def copy(self):
        """A deep copy (each child copied by its own ``copy``, so that discrete symbols keep
        their Python types)."""
        return type(self)([c.copy() if isinstance(c, Distribution) else copy.deepcopy(c)
                           for c in self.distributions], list(self.weights), frozen=self._frozen)

    def __reduce__(self):
        # The children pickle themselves (discrete symbols keep their types).
        return (_restore_independent, (list(self.distributions), list(self.weights),
                                       self._frozen))

    def _matrix(self, X):
        codes = [getattr(c, "_codes", None) for c in self.distributions]
        return encode_rows(X, self.d, codes, float32=True)

    @classmethod
    def blank(cls):
        raise ValueError(
            "IndependentComponentsDistribution has no blank form; build it from a list of distributions"
        )

    @classmethod
    def from_samples(cls, X, weights=None, distribution_weights=None, pseudocount=0.0,
                     distributions=None, **kwargs):
        """Fits one distribution per column of ``X``.

        Parameters
        ----------
        pseudocount : float, optional
            Added to the counts of the discrete columns.
        distributions : class or list of classes, optional
            The class of every column, or one class per column (default NormalDistribution).
        """
        _no_more_keywords(kwargs)
        if distributions is None:
            distributions = NormalDistribution
        per_column = isinstance(distributions, (list, tuple))
        numeric = all(
            isinstance(c, type) and issubclass(c, Distribution) and c is not DiscreteDistribution
            for c in (distributions if per_column else [distributions])
        )
        if numeric:
            # float32 columns stay as they are (each child reads its column in place).
            arr = _checks.as_rows(X)
        else:
            # Symbols stay as they are (a typed array keeps its element type, as the keys of the
            # discrete distributions record it); numeric columns are converted one by one.
            X = _frames.values(X)
            arr = X if isinstance(X, np.ndarray) and X.dtype != object else np.asarray(X, dtype=object)
            if arr.ndim != 2 or arr.shape[0] == 0:
                raise ValueError(f"X must be 2-D with at least one row, got shape {arr.shape}")
        d = arr.shape[1]
        classes = list(distributions) if per_column else [distributions] * d
        if len(classes) != d:
            raise ValueError(f"distributions must have one class per column of X ({d}), got {len(classes)}")
        children = []
        for j, c in enumerate(classes):
            col = arr[:, j]
            if not numeric and isinstance(c, type) and issubclass(c, Distribution) and (
                    c is not DiscreteDistribution):
                col = _checks.as_column(col, f"X column {j}")
            if c is DiscreteDistribution:
                children.append(c.from_samples(col, weights, pseudocount=pseudocount))
            else:
                children.append(c.from_samples(col, weights))
        return cls(children, distribution_weights)


# The classes by their pomegranate names (the names of the JSON documents and of the Rust
# family table); each knows its name as ``_family``.
_CLASSES = {
    c.__name__: c
    for c in (
        NormalDistribution,
        LogNormalDistribution,
        ExponentialDistribution,
        GammaDistribution,
        PoissonDistribution,
        UniformDistribution,
        BernoulliDistribution,
        DiscreteDistribution,
        MultivariateGaussianDistribution,
        IndependentComponentsDistribution,
    )
}
for _name, _class in _CLASSES.items():
    _class._family = _name


def _restore_independent(children, weights, frozen):
    return IndependentComponentsDistribution(children, weights, frozen=frozen)


# pomegranate 0.14 kept its classifier adapter beside the distributions.
from .neural import NeuralNetworkWrapper as NeuralNetworkWrapper  # noqa: E402
