"""Differential tests of the distribution families beyond the normal (log-normal, exponential,
gamma, Poisson, uniform, Bernoulli, discrete, and independent components mixing them) against
pomegranate 0.14.8 (the ``protopunica`` package), with the oracle harness of
``test_pomegranate.py`` (one oracle launch per test group; the module is skipped when the oracle
is missing).

Where pomegranate 0.14.8 is wrong, the comparison avoids or accounts for it (the semantics guide,
sections 1.1, 1.4 and 1.12, and what running it shows):

- Outside the support pomegranate gives NaN or garbage (log-normal at x <= 0, exponential at
  x < 0, gamma at x <= 0, Poisson at non-integers); mixtura gives -inf. Log-probabilities are
  compared inside the support only; mixtura's -inf is checked on its own.
- The exponential MLE is ``(sum w + 1e-7) / (sum w x + 1e-7)`` in pomegranate and
  ``sum w / sum w x`` in mixtura. The difference is a relative 1e-7 * (1/sum w - 1/sum w x), so
  exponential rates are compared with rtol=1e-6 and pomegranate's value is also checked against
  its formula, mixtura's against the exact MLE.
- pomegranate's gamma shape comes from Newton's method stopped at a step below ``epsilon``
  (1e-9 in ``GammaDistribution.fit``, 1e-4 when a mixture calls ``from_summaries``); mixtura
  iterates to 1e-14. Newton converges quadratically from pomegranate's start, so both agree far
  better than epsilon: rtol=1e-7 is used, and mixtura's fit is checked to have a weighted
  log-likelihood at least pomegranate's.
- Inertia: exponential ignores it, and Bernoulli's log-probabilities use the unblended p;
  those fits use inertia=0 (mixtura's blending is checked on its own). Poisson does not update
  when sum w x < 1e-7, so all-zero counts are not compared.
- ``GeneralMixtureModel`` with top-level ``DiscreteDistribution`` components builds its symbol
  table from every component's keys without removing duplicates (``bayes.pyx _build_keymap``).
  With components that share their symbols, the M-step then divides by
  ``sum w + pseudocount * n_components * n_symbols`` instead of ``... * n_symbols`` (the
  probabilities no longer sum to 1) and applies inertia once per duplicate; and data that
  convert to float64 (integer symbols) are used as codes directly instead of going through the
  symbol table (``utils.pyx _check_input``). Discrete mixtures are therefore compared with
  inertia=0 and string symbols; with a pseudocount, one EM step is compared with pomegranate's
  probabilities renormalised (which is exactly the correct smoothed estimate).
- A standalone ``IndependentComponentsDistribution`` mixing numbers and strings cannot
  ``log_probability`` or ``fit`` in pomegranate (it converts the rows to floats); it works inside
  a mixture. Standalone, it is compared with pomegranate's definition: the weighted sum of its
  children's log-probabilities, each child fitted on its own column.
- mixtura passes the pseudocount of a mixture fit to discrete children of independent
  components as well (pomegranate does not): that case is not compared with pseudocount > 0.
"""

import json
import math
import re

import numpy as np
import pytest

import mixtura
from test_pomegranate import assert_close, assert_same_document, history_dict, oracle

RTOL = 1e-9
ATOL = 1e-9
EXP_RTOL = 1e-6  # exponential rates: pomegranate's 1e-7 offsets (module docstring)
GAMMA_RTOL = 1e-7  # gamma shapes: pomegranate's Newton stopping rule (module docstring)

# Model construction shared by both sides: exec'd here with lib=mixtura and prepended to every
# oracle script of this module, where it runs with lib=protopunica.
FAMILY_SRC = r'''
import numpy as np

def make_dist(lib, spec):
    name = spec["name"]
    kw = {"frozen": True} if spec.get("frozen") else {}
    if name == "DiscreteDistribution":
        keys = spec["keys"]
        if spec.get("numpy_keys"):
            keys = list(np.array(keys))  # numpy scalars: numpy.int64, numpy.str_
        return lib.DiscreteDistribution(dict(zip(keys, spec["probs"])), **kw)
    if name == "IndependentComponentsDistribution":
        w = spec.get("weights")
        return lib.IndependentComponentsDistribution(
            [make_dist(lib, c) for c in spec["children"]],
            weights=None if w is None else np.array(w, dtype=np.float64), **kw)
    return getattr(lib, name)(*spec["params"], **kw)

def make_gmm(lib, spec):
    w = spec.get("weights")
    return lib.GeneralMixtureModel([make_dist(lib, c) for c in spec["components"]],
                                   weights=None if w is None else np.array(w, dtype=np.float64))

def as_array(values):
    """float64 when every value is a number, else an object array (symbols)."""
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.array(values, dtype=object)

def params_of(dist):
    """The parameters of a distribution as JSON-able values: numbers for the univariate
    families, [[key, probability], ...] (keys with their types) for a discrete distribution,
    and the children's parameters plus the feature weights for independent components."""
    if dist.name == "DiscreteDistribution":
        return {"items": [[k, float(p)] for k, p in dist.parameters[0].items()]}
    if dist.name == "IndependentComponentsDistribution":
        children, weights = dist.parameters
        return {"children": [params_of(c) for c in children],
                "weights": [float(v) for v in weights]}
    return [float(v) for v in dist.parameters]
'''

_ns = {}
exec(FAMILY_SRC, _ns)
as_array = _ns["as_array"]
params_of = _ns["params_of"]


def make_dist(spec):
    return _ns["make_dist"](mixtura, spec)


def make_gmm(spec):
    return _ns["make_gmm"](mixtura, spec)


_ORACLE_PRELUDE = FAMILY_SRC + r'''
def dist(spec):
    return make_dist(pg, spec)
def gmm(spec):
    return make_gmm(pg, spec)
'''


def run_oracle(script, payload):
    return oracle(_ORACLE_PRELUDE + script, payload)


# -- specifications -------------------------------------------------------------------------------
def normal(mu, sigma):
    return {"name": "NormalDistribution", "params": [mu, sigma]}


def lognormal(mu, sigma):
    return {"name": "LogNormalDistribution", "params": [mu, sigma]}


def exponential(rate):
    return {"name": "ExponentialDistribution", "params": [rate]}


def gamma(alpha, beta):
    return {"name": "GammaDistribution", "params": [alpha, beta]}


def poisson(lam):
    return {"name": "PoissonDistribution", "params": [lam]}


def uniform(start, end):
    return {"name": "UniformDistribution", "params": [start, end]}


def bernoulli(p):
    return {"name": "BernoulliDistribution", "params": [p]}


def discrete(table):
    return {"name": "DiscreteDistribution", "keys": list(table), "probs": list(table.values())}


def icd(children, weights=None):
    spec = {"name": "IndependentComponentsDistribution", "children": children}
    if weights is not None:
        spec["weights"] = weights
    return spec


# -- comparison helpers ---------------------------------------------------------------------------
def assert_same_params(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    """Compares two ``params_of`` values: the same symbols in the same order (with the same
    types), numbers within tolerance."""
    if isinstance(expected, dict) and "items" in expected:
        keys = [k for k, _ in actual["items"]]
        assert keys == [k for k, _ in expected["items"]], f"{what}: symbols differ"
        assert [type(k) for k in keys] == [type(k) for k, _ in expected["items"]], (
            f"{what}: symbol types differ")
        assert_close([p for _, p in actual["items"]], [p for _, p in expected["items"]],
                     rtol=rtol, atol=atol, what=what)
    elif isinstance(expected, dict):
        assert len(actual["children"]) == len(expected["children"]), what
        for j, (a, e) in enumerate(zip(actual["children"], expected["children"])):
            r = rtol[j] if isinstance(rtol, (list, tuple)) else rtol
            assert_same_params(a, e, r, atol, f"{what}: child {j}")
        assert_close(actual["weights"], expected["weights"], what=f"{what}: weights")
    else:
        assert_close(actual, expected, rtol=rtol, atol=atol, what=what)


def assert_history(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    assert actual["epochs"] == expected["epochs"], f"{what}: epochs differ"
    for key in ("log_probabilities", "improvements", "total_improvement", "learning_rates"):
        assert_close(actual[key], expected[key], rtol=rtol, atol=atol, what=f"{what}: {key}")
    assert_close(actual["initial_log_probability"], expected["initial_log_probability"],
                 rtol=rtol, atol=atol, what=f"{what}: initial_log_probability")


def jsonable(values):
    """numpy arrays (object ones too) as lists, for the payload."""
    if isinstance(values, np.ndarray):
        return values.tolist()
    return values


# -- fixed data -----------------------------------------------------------------------------------
def _data():
    rs = np.random.RandomState(20240915)
    n = 240
    d = {
        "lognormal": rs.lognormal(0.4, 0.7, n),
        "exponential": rs.exponential(1 / 1.7, n),
        "gamma": rs.gamma(2.5, 1 / 1.3, n),
        "gamma_small": rs.gamma(0.6, 1 / 2.0, n),
        "poisson": rs.poisson(3.2, n).astype(np.float64),
        "uniform": rs.uniform(-1.0, 2.5, n),
        "bernoulli": rs.binomial(1, 0.3, n).astype(np.float64),
        "symbols": rs.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]).tolist(),
        "ints": [int(v) for v in rs.choice([1, 2, 5], n, p=[0.5, 0.3, 0.2])],
        "normal": rs.normal(0.5, 1.2, n),
        "w": rs.uniform(0.2, 2.0, n),
    }
    # The uniform fit uses only the observations with positive weight: give the extremes 0.
    w_u = d["w"].copy()
    w_u[np.argmin(d["uniform"])] = 0.0
    w_u[np.argmax(d["uniform"])] = 0.0
    d["w_uniform"] = w_u
    d["symbols_new"] = rs.choice(["a", "b", "c"], 60).tolist()  # "c" is new to {a, b}

    # Mixture data (two clusters each, shuffled).
    def mix(a, b):
        x = np.concatenate([a, b])
        return x[rs.permutation(len(x))]

    m = 300
    d["mix_exponential"] = mix(rs.exponential(0.5, 140), rs.exponential(4.0, 160)).reshape(-1, 1)
    d["mix_poisson"] = mix(rs.poisson(1.0, 120), rs.poisson(7.0, 180)).astype(float).reshape(-1, 1)
    d["mix_lognormal"] = mix(rs.lognormal(0.0, 0.5, 150),
                             rs.lognormal(1.5, 0.6, 150)).reshape(-1, 1)
    d["mix_gamma"] = mix(rs.gamma(2.0, 0.5, 150), rs.gamma(9.0, 1 / 1.5, 150)).reshape(-1, 1)
    a = np.column_stack([rs.normal(0.0, 1.0, 140), rs.exponential(0.5, 140),
                         rs.lognormal(0.0, 0.5, 140)])
    b = np.column_stack([rs.normal(3.0, 1.5, 160), rs.exponential(3.0, 160),
                         rs.lognormal(1.2, 0.4, 160)])
    d["mix_icd"] = mix(a, b)
    a = np.column_stack([rs.normal(0.0, 1.0, 130), rs.poisson(2.0, 130),
                         rs.binomial(1, 0.2, 130)])
    b = np.column_stack([rs.normal(2.5, 1.0, 170), rs.poisson(6.0, 170),
                         rs.binomial(1, 0.7, 170)])
    d["mix_counts"] = mix(a, b).astype(np.float64)
    labels = rs.binomial(1, 0.55, m)
    sym_a = rs.choice(["a", "b", "c", "d"], m, p=[0.6, 0.2, 0.1, 0.1])
    sym_b = rs.choice(["a", "b", "c", "d"], m, p=[0.1, 0.2, 0.3, 0.4])
    sym = np.where(labels == 0, sym_a, sym_b)
    x = np.where(labels == 0, rs.normal(0.0, 1.0, m), rs.normal(2.5, 1.2, m))
    d["mix_discrete"] = [[s] for s in sym.tolist()]
    d["mix_icd_discrete"] = [[float(v), s] for v, s in zip(x, sym.tolist())]
    d["w_mix"] = rs.uniform(0.2, 2.0, m)
    return d


DATA = _data()
NAN = float("nan")

# == 1. log_probability of single distributions inside their support ============================
LOGP_CASES = {
    "lognormal": (lognormal(0.3, 0.8), list(DATA["lognormal"][:40]) + [1e-3, 50.0, NAN]),
    "exponential": (exponential(1.7), [0.0] + list(DATA["exponential"][:40]) + [25.0, NAN]),
    "gamma": (gamma(2.5, 1.3), list(DATA["gamma"][:40]) + [1e-4, 30.0, NAN]),
    "gamma-shape<1": (gamma(0.6, 2.0), list(DATA["gamma_small"][:40]) + [1e-6, NAN]),
    "poisson": (poisson(3.2), [float(k) for k in range(21)] + [60.0, NAN]),
    "poisson-small": (poisson(0.05), [0.0, 1.0, 2.0, 7.0, NAN]),
    "uniform": (uniform(-1.0, 2.5), [-1.0, 2.5, 0.0] + list(DATA["uniform"][:30]) + [NAN]),
    "bernoulli": (bernoulli(0.3), [0.0, 1.0, 1.0, 0.0, NAN]),
    "bernoulli-p0": (bernoulli(0.0), [0.0, 1.0, NAN]),
    "discrete-str": (discrete({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}),
                     ["a", "b", "c", "d", "d", None, "nan", NAN]),
    "discrete-int": (discrete({1: 0.25, 2: 0.5, 5: 0.25}), [1, 2, 5, 5, NAN]),
    "icd-mixed": (icd([normal(0.5, 1.2), exponential(1.7), lognormal(0.3, 0.8)], [1.0, 0.5, 2.0]),
                  [[float(a), float(b), float(c)] for a, b, c in
                   zip(DATA["normal"][:30], DATA["exponential"][:30], DATA["lognormal"][:30])]
                  + [[NAN, 0.5, 1.0], [0.1, NAN, NAN], [NAN, NAN, NAN]]),
    "icd-counts": (icd([poisson(3.2), bernoulli(0.3), uniform(-1.0, 2.5), gamma(2.5, 1.3)]),
                   [[float(a), float(b), float(c), float(g)] for a, b, c, g in
                    zip(DATA["poisson"][:30], DATA["bernoulli"][:30], DATA["uniform"][:30],
                        DATA["gamma"][:30])]),
    # pomegranate cannot evaluate this one itself (module docstring): compared with the weighted
    # sum of its children's log-probabilities.
    "icd-normal-discrete": (icd([normal(0.5, 1.2), discrete({"a": 0.1, "b": 0.2, "c": 0.3,
                                                              "d": 0.4})], [1.0, 0.5]),
                            [[float(v), s] for v, s in zip(DATA["normal"][:30],
                                                            DATA["symbols"][:30])]
                            + [[NAN, "b"], [0.2, None]]),
}

# == 2. fits of single distributions ============================================================
# name: (initial spec, X, weights key, inertia, pseudocount or None, rtol)
FIT_CASES = {
    "lognormal": (lognormal(0.0, 1.0), DATA["lognormal"], "w", 0.0, None, RTOL),
    "lognormal-inertia": (lognormal(0.0, 1.0), DATA["lognormal"], "w", 0.3, None, RTOL),
    "lognormal-unweighted": (lognormal(0.0, 1.0), DATA["lognormal"], None, 0.0, None, RTOL),
    "exponential": (exponential(1.0), DATA["exponential"], "w", 0.0, None, EXP_RTOL),
    "gamma": (gamma(1.0, 1.0), DATA["gamma"], "w", 0.0, None, GAMMA_RTOL),
    "gamma-shape<1": (gamma(1.0, 1.0), DATA["gamma_small"], "w", 0.0, None, GAMMA_RTOL),
    "gamma-inertia": (gamma(1.0, 1.0), DATA["gamma"], "w", 0.3, None, GAMMA_RTOL),
    "poisson": (poisson(1.0), DATA["poisson"], "w", 0.0, None, RTOL),
    "poisson-inertia": (poisson(1.0), DATA["poisson"], "w", 0.3, None, RTOL),
    "uniform": (uniform(0.0, 1.0), DATA["uniform"], "w_uniform", 0.0, None, RTOL),
    "uniform-inertia": (uniform(0.0, 1.0), DATA["uniform"], "w_uniform", 0.3, None, RTOL),
    "bernoulli": (bernoulli(0.5), DATA["bernoulli"], "w", 0.0, None, RTOL),
    "discrete-str": (discrete({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}), DATA["symbols"],
                     "w", 0.0, None, RTOL),
    "discrete-str-inertia": (discrete({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}),
                             DATA["symbols"], "w", 0.3, None, RTOL),
    "discrete-str-pseudocount": (discrete({"a": 0.2, "b": 0.2, "c": 0.2, "d": 0.2, "e": 0.2}),
                                 DATA["symbols"], "w", 0.0, 2.5, RTOL),
    "discrete-str-unseen-key": (discrete({"a": 0.2, "b": 0.2, "c": 0.2, "d": 0.2, "e": 0.2}),
                                DATA["symbols"], "w", 0.0, None, RTOL),
    "discrete-new-symbol": (discrete({"a": 0.5, "b": 0.5}), DATA["symbols_new"], None, 0.0,
                            None, RTOL),
    "discrete-int": (discrete({1: 0.4, 2: 0.4, 5: 0.2}), DATA["ints"], "w", 0.0, None, RTOL),
    "icd-mixed": (icd([normal(0.0, 1.0), exponential(1.0), lognormal(0.0, 1.0)], [1.0, 0.5, 2.0]),
                  np.column_stack([DATA["normal"], DATA["exponential"], DATA["lognormal"]]),
                  "w", 0.0, None, [RTOL, EXP_RTOL, RTOL]),
    "icd-counts": (icd([poisson(1.0), uniform(0.0, 1.0), gamma(1.0, 1.0)]),
                   np.column_stack([DATA["poisson"], DATA["uniform"], DATA["gamma"]]),
                   "w", 0.0, None, [RTOL, RTOL, GAMMA_RTOL]),
    # Fitted column by column in the oracle (module docstring).
    "icd-normal-discrete": (icd([normal(0.0, 1.0), discrete({"a": 0.25, "b": 0.25, "c": 0.25,
                                                              "d": 0.25})]),
                            [[float(v), s] for v, s in zip(DATA["normal"], DATA["symbols"])],
                            "w", 0.0, None, RTOL),
}

_SINGLE_SCRIPT = r'''
def data_for(name, X):
    """Symbols keep their Python types (an object array); numbers are float64."""
    return np.array(X, dtype=object) if name == "DiscreteDistribution" else as_array(X)

def child_logp(d, values):
    if d.name == "DiscreteDistribution":
        return [float(d.log_probability(v)) for v in values]
    return [float(v) for v in d.log_probability(np.array(values, dtype=np.float64))]

result["logp"] = {}
for name, job in payload["logp"].items():
    d = dist(job["spec"])
    X = job["X"]
    if d.name == "DiscreteDistribution":
        result["logp"][name] = child_logp(d, X)
    elif job["by_column"]:
        children, weights = d.parameters
        total = np.zeros(len(X))
        for j, c in enumerate(children):
            total += weights[j] * np.array(child_logp(c, [row[j] for row in X]))
        result["logp"][name] = total
    else:
        result["logp"][name] = d.log_probability(as_array(X))

result["fit"] = {}
for name, job in payload["fit"].items():
    d = dist(job["spec"])
    X = job["X"]
    w = None if job["w"] is None else np.array(job["w"], dtype=np.float64)
    if job["by_column"]:
        for j, c in enumerate(d.parameters[0]):
            col = [row[j] for row in X]
            c.fit(data_for(c.name, col), weights=w, inertia=job["inertia"])
    elif job["pseudocount"] is not None:
        d.summarize(data_for(d.name, X), weights=w)
        d.from_summaries(job["inertia"], job["pseudocount"])
    else:
        d.fit(data_for(d.name, X), weights=w, inertia=job["inertia"])
    result["fit"][name] = {"params": params_of(d)}

result["from_samples"] = {}
for name, job in payload["from_samples"].items():
    w = None if job["w"] is None else np.array(job["w"], dtype=np.float64)
    d = getattr(pg, job["cls"]).from_samples(data_for(job["cls"], job["X"]), weights=w,
                                             **job["kwargs"])
    result["from_samples"][name] = {"name": d.name, "params": params_of(d)}
'''


# name: (class, X, weights key, keyword arguments, rtol)
FROM_SAMPLES_CASES = {
    "lognormal": ("LogNormalDistribution", DATA["lognormal"], "w", {}, RTOL),
    "exponential": ("ExponentialDistribution", DATA["exponential"], "w", {}, EXP_RTOL),
    "gamma": ("GammaDistribution", DATA["gamma"], "w", {}, GAMMA_RTOL),
    "poisson": ("PoissonDistribution", DATA["poisson"], "w", {}, RTOL),
    "uniform": ("UniformDistribution", DATA["uniform"], "w_uniform", {}, RTOL),
    "bernoulli": ("BernoulliDistribution", DATA["bernoulli"], "w", {}, RTOL),
    "discrete-str": ("DiscreteDistribution", DATA["symbols"], "w", {}, RTOL),
    "discrete-str-pseudocount": ("DiscreteDistribution", DATA["symbols"], "w",
                                 {"pseudocount": 1.5}, RTOL),
    "discrete-int": ("DiscreteDistribution", DATA["ints"], None, {}, RTOL),
}


def _by_column(spec):
    """Independent components mixing numbers and symbols (evaluated child by child)."""
    return spec["name"] == "IndependentComponentsDistribution" and any(
        c["name"] == "DiscreteDistribution" for c in spec["children"])


@pytest.fixture(scope="module")
def single_results():
    payload = {
        "logp": {name: {"spec": spec, "X": jsonable(X), "by_column": _by_column(spec)}
                 for name, (spec, X) in LOGP_CASES.items()},
        "fit": {name: {"spec": spec, "X": jsonable(X),
                       "w": None if wkey is None else DATA[wkey], "inertia": inertia,
                       "pseudocount": pc, "by_column": _by_column(spec)}
                for name, (spec, X, wkey, inertia, pc, _) in FIT_CASES.items()},
        "from_samples": {name: {"cls": cls, "X": jsonable(X),
                                "w": None if wkey is None else DATA[wkey], "kwargs": kw}
                         for name, (cls, X, wkey, kw, _) in FROM_SAMPLES_CASES.items()},
    }
    return run_oracle(_SINGLE_SCRIPT, payload)


def _mixtura_input(spec, X):
    """X as mixtura takes it: a list of symbols for a discrete distribution, else an array."""
    if spec["name"] == "DiscreteDistribution":
        return list(X)
    return as_array(jsonable(X))


@pytest.mark.parametrize("name", list(LOGP_CASES))
def test_log_probability_in_support(single_results, name):
    spec, X = LOGP_CASES[name]
    mine = make_dist(spec).log_probability(_mixtura_input(spec, X))
    theirs = single_results["logp"][name]
    assert_close(mine, theirs, what=f"{name}: log_probability")
    assert not np.isnan(mine).any()


@pytest.mark.parametrize("name", ["lognormal", "exponential", "gamma", "poisson", "uniform",
                                  "bernoulli", "discrete-str", "discrete-int"])
def test_log_probability_single_value(single_results, name):
    # A single value (not in a list) gives a float, as in pomegranate.
    spec, X = LOGP_CASES[name]
    value = X[1]
    mine = make_dist(spec).log_probability(value)
    assert isinstance(mine, float)
    assert_close(mine, single_results["logp"][name][1], what=name)


@pytest.mark.parametrize("name", list(FIT_CASES))
def test_fit_agrees(single_results, name):
    spec, X, wkey, inertia, pc, rtol = FIT_CASES[name]
    d = make_dist(spec)
    w = None if wkey is None else DATA[wkey]
    Xm = _mixtura_input(spec, X)
    if pc is not None:
        d.summarize(Xm, weights=w)
        d.from_summaries(inertia, pc)
    else:
        assert d.fit(Xm, weights=w, inertia=inertia) is d
    assert_same_params(params_of(d), single_results["fit"][name]["params"], rtol=rtol,
                       what=name)


@pytest.mark.parametrize("name", list(FROM_SAMPLES_CASES))
def test_from_samples_agrees(single_results, name):
    cls, X, wkey, kwargs, rtol = FROM_SAMPLES_CASES[name]
    Xm = list(X) if cls == "DiscreteDistribution" else X
    d = getattr(mixtura, cls).from_samples(Xm, weights=None if wkey is None else DATA[wkey],
                                           **kwargs)
    theirs = single_results["from_samples"][name]
    assert d.name == theirs["name"] == cls
    assert_same_params(params_of(d), theirs["params"], rtol=rtol, what=name)


def test_exponential_fit_formulas(single_results):
    # The difference of the two exponential fits is pomegranate's 1e-7 offsets, exactly.
    x, w = DATA["exponential"], DATA["w"]
    sw, swx = float(np.sum(w)), float(np.sum(w * x))
    (theirs,) = single_results["fit"]["exponential"]["params"]
    (mine,) = make_dist(exponential(1.0)).fit(x, weights=w).parameters
    assert_close(theirs, (sw + 1e-7) / (swx + 1e-7), rtol=1e-12, what="pomegranate")
    assert_close(mine, sw / swx, rtol=1e-12, what="mixtura")


@pytest.mark.parametrize("name", ["gamma", "gamma-shape<1"])
def test_gamma_fit_is_at_least_as_likely(single_results, name):
    spec, X, wkey, _, _, _ = FIT_CASES[name]
    w = DATA[wkey]
    mine = make_dist(spec).fit(X, weights=w)
    theirs = mixtura.GammaDistribution(*single_results["fit"][name]["params"])
    ll_mine = float(np.sum(w * mine.log_probability(X)))
    ll_theirs = float(np.sum(w * theirs.log_probability(X)))
    assert ll_mine >= ll_theirs - 1e-9 * abs(ll_theirs)


def test_discrete_fit_accepts_pseudocount(single_results):
    spec, X, wkey, inertia, pc, _ = FIT_CASES["discrete-str-pseudocount"]
    d = make_dist(spec)
    d.fit(list(X), weights=DATA[wkey], inertia=inertia, pseudocount=pc)
    assert_same_params(params_of(d), single_results["fit"]["discrete-str-pseudocount"]["params"])


# -- mixtura alone: outside the support, inertia where pomegranate is wrong -----------------------
OUTSIDE_SUPPORT = {
    "lognormal": (lognormal(0.3, 0.8), [0.0, -1.0, -1e-300]),
    "exponential": (exponential(1.7), [-1e-12, -0.5]),
    "gamma": (gamma(2.5, 1.3), [0.0, -1.0]),
    "gamma-shape<1": (gamma(0.6, 2.0), [0.0, -2.0]),
    "poisson": (poisson(3.2), [-1.0, -0.5, -0.0001]),
    "poisson-zero": (poisson(0.0), [1.0, 3.0, 0.5]),
    "uniform": (uniform(-1.0, 2.5), [-1.0000001, 2.5000001, 100.0]),
    "bernoulli": (bernoulli(0.3), [0.5, 2.0, -1.0, 1.0000001]),
    "discrete-str": (discrete({"a": 0.5, "b": 0.5}), ["z", "A", "", 1]),
    "discrete-int": (discrete({1: 0.5, 2: 0.5}), [0, 3, -1, "1"]),
}


@pytest.mark.parametrize("name", list(OUTSIDE_SUPPORT))
def test_outside_support_is_minus_infinity(name):
    spec, X = OUTSIDE_SUPPORT[name]
    d = make_dist(spec)
    out = d.log_probability(X if spec["name"] == "DiscreteDistribution" else np.array(X))
    np.testing.assert_array_equal(out, np.full(len(X), -np.inf))
    for v in X:
        assert d.log_probability(v) == -np.inf


def test_outside_support_in_independent_components():
    d = make_dist(icd([normal(0.0, 1.0), exponential(1.0), lognormal(0.0, 1.0)]))
    out = d.log_probability(np.array([[0.0, -1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    assert out[0] == -np.inf and out[1] == -np.inf and np.isfinite(out[2])


def test_poisson_zero_rate_gives_zero_its_probability_one():
    # P(0 | lambda = 0) = 1 (pomegranate gives -inf for every value when lambda == 0).
    assert make_dist(poisson(0.0)).log_probability(0.0) == 0.0


def test_poisson_all_zero_counts_fit_rate_zero():
    # pomegranate skips the update when sum w x < 1e-7; the MLE is 0.
    d = make_dist(poisson(2.0)).fit(np.zeros(10))
    assert d.parameters == [0.0]


def test_exponential_inertia_blends():
    x, w = DATA["exponential"], DATA["w"]
    d = make_dist(exponential(2.0)).fit(x, weights=w, inertia=0.3)
    (rate,) = d.parameters
    assert_close(rate, 0.3 * 2.0 + 0.7 * np.sum(w) / np.sum(w * x), rtol=1e-12)
    assert_close(d.log_probability(1.5), math.log(rate) - rate * 1.5, rtol=1e-12)


def test_bernoulli_inertia_blends_and_is_used():
    x, w = DATA["bernoulli"], DATA["w"]
    d = make_dist(bernoulli(0.9)).fit(x, weights=w, inertia=0.4)
    (p,) = d.parameters
    assert_close(p, 0.4 * 0.9 + 0.6 * np.sum(w * x) / np.sum(w), rtol=1e-12)
    assert_close(d.log_probability([0.0, 1.0]), [math.log(1 - p), math.log(p)], rtol=1e-12)


# == 3. mixtures of these families ==============================================================
def _d4(p):
    return discrete(dict(zip(["a", "b", "c", "d"], p)))


GMM_SPECS = {
    "exponential": {"components": [exponential(2.0), exponential(0.3)], "weights": [0.5, 0.5]},
    "poisson": {"components": [poisson(1.5), poisson(5.0)], "weights": [0.3, 0.7]},
    "lognormal": {"components": [lognormal(0.2, 0.6), lognormal(1.0, 0.8)]},
    "gamma": {"components": [gamma(1.5, 1.0), gamma(5.0, 1.0)], "weights": [0.4, 0.6]},
    "icd-mixed": {"components": [
        icd([normal(0.5, 1.0), exponential(1.5), lognormal(0.2, 0.7)]),
        icd([normal(2.0, 2.0), exponential(0.5), lognormal(0.8, 0.7)])]},
    "icd-mixed-weighted-features": {"components": [
        icd([normal(0.5, 1.0), exponential(1.5), lognormal(0.2, 0.7)], [1.0, 0.5, 2.0]),
        icd([normal(2.0, 2.0), exponential(0.5), lognormal(0.8, 0.7)], [1.0, 0.5, 2.0])],
        "weights": [0.3, 0.7]},
    "icd-counts": {"components": [icd([normal(0.5, 1.0), poisson(3.0), bernoulli(0.4)]),
                                  icd([normal(2.0, 1.5), poisson(4.0), bernoulli(0.5)])]},
    "discrete": {"components": [_d4([0.4, 0.3, 0.2, 0.1]), _d4([0.2, 0.2, 0.3, 0.3])],
                 "weights": [0.5, 0.5]},
    "icd-discrete": {"components": [icd([normal(0.5, 1.0), _d4([0.4, 0.3, 0.2, 0.1])]),
                                    icd([normal(2.0, 1.5), _d4([0.2, 0.2, 0.3, 0.3])])]},
}
GMM_DATA = {"exponential": "mix_exponential", "poisson": "mix_poisson",
            "lognormal": "mix_lognormal", "gamma": "mix_gamma", "icd-mixed": "mix_icd",
            "icd-mixed-weighted-features": "mix_icd", "icd-counts": "mix_counts",
            "discrete": "mix_discrete", "icd-discrete": "mix_icd_discrete"}
# Mixtures with exponential or gamma components: the tolerance of those fits (module docstring).
GMM_RTOL = {"exponential": EXP_RTOL, "icd-mixed": EXP_RTOL,
            "icd-mixed-weighted-features": EXP_RTOL, "gamma": GAMMA_RTOL}

GMM_FIT_CASES = {}
for _name in GMM_SPECS:
    GMM_FIT_CASES[f"{_name}-it3"] = (_name, None, {"max_iterations": 3})
    GMM_FIT_CASES[f"{_name}-default"] = (_name, None, {})
for _name in ("exponential", "poisson", "icd-mixed", "discrete", "icd-discrete"):
    GMM_FIT_CASES[f"{_name}-weighted-it3"] = (_name, "w_mix", {"max_iterations": 3})
    GMM_FIT_CASES[f"{_name}-weighted-default"] = (_name, "w_mix", {})
# pseudocount smooths the mixture weights (and top-level discrete components, below).
GMM_FIT_CASES["poisson-pseudocount-default"] = ("poisson", None, {"pseudocount": 5.0})
GMM_FIT_CASES["lognormal-pseudocount-it3"] = ("lognormal", None,
                                              {"pseudocount": 5.0, "max_iterations": 3})
# inertia where pomegranate applies it correctly (log-normal, Poisson, gamma).
GMM_FIT_CASES["lognormal-inertia-default"] = ("lognormal", None, {"inertia": 0.3})
GMM_FIT_CASES["poisson-inertia-it3"] = ("poisson", None, {"inertia": 0.3, "max_iterations": 3})
GMM_FIT_CASES["gamma-inertia-it3"] = ("gamma", None, {"inertia": 0.3, "max_iterations": 3})

# Top-level discrete components with a pseudocount: one EM step (module docstring).
DISCRETE_PSEUDOCOUNT_CASES = {
    "pseudocount1": (None, 1.0),
    "pseudocount2.5-weighted": ("w_mix", 2.5),
}

_GMM_SCRIPT = r'''
result["predict"] = {}
for name, job in payload["predict"].items():
    m = gmm(job["spec"])
    X = as_array(job["X"])
    result["predict"][name] = {
        "log_probability": m.log_probability(X), "predict_proba": m.predict_proba(X),
        "predict_log_proba": m.predict_log_proba(X), "predict": m.predict(X)}
result["fit"] = {}
for name, job in payload["fit"].items():
    m = gmm(job["spec"])
    X = as_array(job["X"])
    w = None if job["w"] is None else np.array(job["w"], dtype=np.float64)
    m, h = m.fit(X, weights=w, return_history=True, **job["kwargs"])
    result["fit"][name] = {"model": json.loads(m.to_json()), "history": history_dict(h),
                           "log_probability": m.log_probability(X)}
result["discrete_pseudocount"] = {}
for name, job in payload["discrete_pseudocount"].items():
    m = gmm(job["spec"])
    X = as_array(job["X"])
    w = None if job["w"] is None else np.array(job["w"], dtype=np.float64)
    m.fit(X, weights=w, pseudocount=job["pseudocount"], max_iterations=1)
    result["discrete_pseudocount"][name] = {
        "components": [params_of(d) for d in m.distributions],
        "weights": np.exp(m.weights)}
'''


def _gmm_X(name):
    return DATA[GMM_DATA[name]]


@pytest.fixture(scope="module")
def gmm_results():
    payload = {
        "predict": {n: {"spec": s, "X": jsonable(_gmm_X(n))} for n, s in GMM_SPECS.items()},
        "fit": {n: {"spec": GMM_SPECS[s], "X": jsonable(_gmm_X(s)),
                    "w": None if w is None else DATA[w], "kwargs": kw}
                for n, (s, w, kw) in GMM_FIT_CASES.items()},
        "discrete_pseudocount": {
            n: {"spec": GMM_SPECS["discrete"], "X": DATA["mix_discrete"],
                "w": None if w is None else DATA[w], "pseudocount": pc}
            for n, (w, pc) in DISCRETE_PSEUDOCOUNT_CASES.items()},
    }
    return run_oracle(_GMM_SCRIPT, payload)


def _predictions(model, X):
    return {
        "log_probability": model.log_probability(X),
        "predict_proba": model.predict_proba(X),
        "predict_log_proba": model.predict_log_proba(X),
        "predict": model.predict(X),
    }


def _compare_predictions(mine, theirs, what, rtol=RTOL, atol=ATOL):
    for key in ("log_probability", "predict_proba", "predict_log_proba"):
        assert_close(mine[key], theirs[key], rtol=rtol, atol=atol, what=f"{what}: {key}")
    np.testing.assert_array_equal(mine["predict"], theirs["predict"], err_msg=f"{what}: predict")


@pytest.mark.parametrize("name", list(GMM_SPECS))
def test_mixture_predictions_agree(gmm_results, name):
    mine = _predictions(make_gmm(GMM_SPECS[name]), as_array(jsonable(_gmm_X(name))))
    _compare_predictions(mine, gmm_results["predict"][name], name)


@pytest.mark.parametrize("name", list(GMM_FIT_CASES))
def test_mixture_fit_agrees(gmm_results, name):
    spec_name, wkey, kwargs = GMM_FIT_CASES[name]
    X = as_array(jsonable(_gmm_X(spec_name)))
    model, hist = make_gmm(GMM_SPECS[spec_name]).fit(
        X, weights=None if wkey is None else DATA[wkey], return_history=True, **kwargs)
    theirs = gmm_results["fit"][name]
    rtol = GMM_RTOL.get(spec_name, RTOL)
    assert_same_document(model.to_dict(), theirs["model"], rtol=rtol)
    assert_history(history_dict(hist), theirs["history"], rtol=rtol, what=name)
    assert_close(model.log_probability(X), theirs["log_probability"], rtol=rtol,
                 what=f"{name}: log_probability")
    if "max_iterations" in kwargs:
        assert len(hist.epochs) <= kwargs["max_iterations"]


@pytest.mark.parametrize("name", list(DISCRETE_PSEUDOCOUNT_CASES))
def test_discrete_mixture_pseudocount_one_step(gmm_results, name):
    wkey, pc = DISCRETE_PSEUDOCOUNT_CASES[name]
    model = make_gmm(GMM_SPECS["discrete"])
    model.fit(DATA["mix_discrete"], weights=None if wkey is None else DATA[wkey],
              pseudocount=pc, max_iterations=1)
    theirs = gmm_results["discrete_pseudocount"][name]
    assert_close(np.exp(model.weights), theirs["weights"], what=f"{name}: weights")
    for j, (dist, expected) in enumerate(zip(model.distributions, theirs["components"])):
        probs = np.array([p for _, p in expected["items"]])
        # pomegranate's probabilities do not sum to 1 (its denominator counts every symbol
        # once per component); renormalised, they are the smoothed estimate.
        assert probs.sum() < 1.0 - 1e-3
        renormalised = {"items": [[k, p / probs.sum()] for k, p in expected["items"]]}
        mine = params_of(dist)
        assert_same_params(mine, renormalised, what=f"{name}: component {j}")
        assert_close(sum(p for _, p in mine["items"]), 1.0, rtol=1e-12)


# == 4. JSON interchange ========================================================================
JSON_DIST_SPECS = {
    "lognormal": lognormal(0.3, 0.8),
    "lognormal-digits": lognormal(0.1 + 0.2, 1 / 3),
    "lognormal-frozen": dict(lognormal(-1.5, 2.0), frozen=True),
    "exponential": exponential(1.7),
    "exponential-digits": exponential(1e-7),
    "exponential-frozen": dict(exponential(2.0), frozen=True),
    "gamma": gamma(2.5, 1.3),
    "gamma-digits": gamma(12345.678901234567, 2.0 ** -30),
    "poisson": poisson(3.2),
    "poisson-zero": poisson(0.0),
    "poisson-digits": poisson(1e22),
    "uniform": uniform(-1.0, 2.5),
    "uniform-digits": uniform(-1e-300, 1e300),
    "bernoulli": bernoulli(0.3),
    "bernoulli-0": bernoulli(0.0),
    "bernoulli-1": bernoulli(1.0),
    "discrete-str": discrete({"a": 0.25, "b": 0.75}),
    "discrete-str-digits": discrete({"b": 0.1 + 0.2, "a": 1 / 3, "c": 1 - (0.1 + 0.2) - 1 / 3}),
    "discrete-str-frozen": dict(discrete({"x": 0.5, "y": 0.5}), frozen=True),
    "discrete-int": discrete({1: 0.2, 2: 0.3, 10: 0.5}),
    "discrete-int-negative": discrete({-3: 0.5, 7: 0.5}),
    "discrete-numpy-int": dict(discrete({1: 0.2, 2: 0.3, 10: 0.5}), numpy_keys=True),
    "discrete-numpy-str": dict(discrete({"a": 0.25, "b": 0.75}), numpy_keys=True),
    "icd-mixed": icd([normal(0.5, 1.2), exponential(1.7), lognormal(0.3, 0.8)], [1.0, 0.5, 2.0]),
    "icd-all-families": icd([normal(0.0, 1.0), lognormal(0.3, 0.8), exponential(1.7),
                             gamma(2.5, 1.3), poisson(3.2), uniform(-1.0, 2.5), bernoulli(0.3)]),
    "icd-discrete": icd([normal(0.5, 1.2), discrete({"a": 0.25, "b": 0.75})]),
    "icd-discrete-int": icd([poisson(2.0), discrete({1: 0.2, 2: 0.8})]),
}

JSON_GMM_SPECS = {
    "exponential": GMM_SPECS["exponential"],
    "poisson": GMM_SPECS["poisson"],
    "lognormal": GMM_SPECS["lognormal"],
    "gamma": GMM_SPECS["gamma"],
    "icd-mixed": GMM_SPECS["icd-mixed-weighted-features"],
    "icd-counts": GMM_SPECS["icd-counts"],
    "discrete": GMM_SPECS["discrete"],
    "icd-discrete": GMM_SPECS["icd-discrete"],
}
# Each mixture is written as built and after 3 EM iterations (full-precision parameters).
JSON_GMM_NAMES = [f"{n}-{v}" for n in JSON_GMM_SPECS for v in ("built", "fitted")]

_JSON_SCRIPT = r'''
result["dist"] = {name: dist(spec).to_json() for name, spec in payload["dist"].items()}
result["discrete_from_samples"] = {
    name: pg.DiscreteDistribution.from_samples(np.array(X)).to_json()
    for name, X in payload["discrete_from_samples"].items()}
result["gmm"] = {}
for name, job in payload["gmm"].items():
    m = gmm(job["spec"])
    X = as_array(job["X"])
    if job["fit"]:
        m.fit(X, max_iterations=3)
    text = m.to_json()
    m = pg.GeneralMixtureModel.from_json(text)
    result["gmm"][name] = {
        "text": text,
        "predictions": {
            "log_probability": m.log_probability(X), "predict_proba": m.predict_proba(X),
            "predict_log_proba": m.predict_log_proba(X), "predict": m.predict(X)}}
'''


def _json_gmm_job(name):
    base, variant = name.rsplit("-", 1)
    data_name = "icd-mixed" if base == "icd-mixed" else base
    return base, data_name, variant == "fitted"


@pytest.fixture(scope="module")
def json_results():
    gmm_jobs = {}
    for name in JSON_GMM_NAMES:
        base, data_name, fit = _json_gmm_job(name)
        gmm_jobs[name] = {"spec": JSON_GMM_SPECS[base], "X": jsonable(_gmm_X(data_name)),
                          "fit": fit}
    return run_oracle(_JSON_SCRIPT, {"dist": JSON_DIST_SPECS, "gmm": gmm_jobs,
                                     "discrete_from_samples": DISCRETE_FROM_SAMPLES_JSON})


@pytest.mark.parametrize("name", list(JSON_DIST_SPECS))
def test_distribution_to_json_byte_identical(json_results, name):
    assert make_dist(JSON_DIST_SPECS[name]).to_json() == json_results["dist"][name]


@pytest.mark.parametrize("name", list(JSON_DIST_SPECS))
@pytest.mark.parametrize("loader", ["robust", "class", "base"])
def test_pomegranate_distribution_json_loads_in_mixtura(json_results, name, loader):
    spec = JSON_DIST_SPECS[name]
    text = json_results["dist"][name]
    cls = getattr(mixtura, spec["name"])
    load = {"robust": mixtura.from_json, "class": cls.from_json,
            "base": mixtura.Distribution.from_json}[loader]
    d = load(text)
    assert type(d) is cls
    expected = params_of(make_dist(spec))
    assert params_of(d) == expected  # exactly, symbols with their types
    assert d.frozen == bool(spec.get("frozen"))
    assert d.to_json() == text
    if spec["name"] == "DiscreteDistribution":
        assert d.dtype == json.loads(text)["dtype"]


# DiscreteDistribution.from_samples on a numpy array: pomegranate keeps the numpy scalar types
# of the symbols, so its JSON says "dtype" : "numpy.int64" / "numpy.str_".
DISCRETE_FROM_SAMPLES_JSON = {"int": [1, 2, 5, 5, 2, 1, 1], "str": ["a", "b", "a", "c"]}


@pytest.mark.parametrize("name", list(DISCRETE_FROM_SAMPLES_JSON))
def test_discrete_from_numpy_array_json_dtype(json_results, name):
    d = mixtura.DiscreteDistribution.from_samples(np.array(DISCRETE_FROM_SAMPLES_JSON[name]))
    assert d.to_json() == json_results["discrete_from_samples"][name]


@pytest.mark.parametrize("name", JSON_GMM_NAMES)
@pytest.mark.parametrize("loader", ["robust", "class"])
def test_pomegranate_mixture_json_loads_in_mixtura(json_results, name, loader):
    base, data_name, _ = _json_gmm_job(name)
    theirs = json_results["gmm"][name]
    load = mixtura.from_json if loader == "robust" else mixtura.GeneralMixtureModel.from_json
    model = load(theirs["text"])
    assert isinstance(model, mixtura.GeneralMixtureModel)
    X = as_array(jsonable(_gmm_X(data_name)))
    _compare_predictions(_predictions(model, X), theirs["predictions"], name)
    assert model.to_json() == theirs["text"]


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _numbers_within_an_ulp(ours, theirs):
    """The two texts are the same document, character for character, but for numbers that
    differ by at most one unit in the last place. pomegranate writes a mixture's weights as
    numpy's exp of their logarithms, whose last bit depends on the processor numpy dispatches
    to (0.3 comes back as 0.30000000000000004 on some): its own output is byte-identical only
    up to that bit."""
    assert _NUMBER.sub("#", ours) == _NUMBER.sub("#", theirs)
    for a, b in zip(_NUMBER.findall(ours), _NUMBER.findall(theirs)):
        if a != b:
            x, y = float(a), float(b)
            assert abs(x - y) <= math.ulp(max(abs(x), abs(y))), (a, b)


@pytest.mark.parametrize("name", [n for n in JSON_GMM_NAMES if n.endswith("-built")])
def test_mixture_to_json_byte_identical(json_results, name):
    base, _, _ = _json_gmm_job(name)
    _numbers_within_an_ulp(make_gmm(JSON_GMM_SPECS[base]).to_json(),
                           json_results["gmm"][name]["text"])
