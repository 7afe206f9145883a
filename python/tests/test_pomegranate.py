"""Differential tests: mixtura against pomegranate 0.14.8 (the ``protopunica`` package) as an
oracle.

pomegranate 0.14 needs numpy < 2, so it lives in its own virtual environment and runs in a
subprocess. The oracle interpreter is ``$MIXTURA_ORACLE_PYTHON`` if set, else
``<repo>/.venv-oracle/bin/python``; the module is skipped when it is missing or cannot
``import protopunica``.

Each test group makes one oracle launch (a module-scoped fixture) and compares many numbers.
Both sides build their models from the same specifications with the same code (``BUILD_SRC``),
which runs here against ``mixtura`` and in the oracle against ``protopunica``.

Tolerances: mixtura uses the exact log(sqrt(2 pi)) where pomegranate's NormalDistribution uses
2.50662827463 (a relative difference of about 1e-12), so deterministic results are compared with
rtol=1e-9, atol=1e-9.
"""

import functools
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mixtura

REPO_ROOT = Path(__file__).resolve().parents[2]

RTOL = 1e-9
ATOL = 1e-9


# -- the oracle -----------------------------------------------------------------------------------
def oracle_python():
    """The interpreter that has pomegranate 0.14.8 (protopunica) installed."""
    env = os.environ.get("MIXTURA_ORACLE_PYTHON")
    if env:
        return Path(env)
    return REPO_ROOT / ".venv-oracle" / "bin" / "python"


def _oracle_env():
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


@functools.lru_cache(maxsize=None)
def oracle_unavailable():
    """None when the oracle works, else the reason it does not (checked once)."""
    py = oracle_python()
    if not py.exists():
        return f"oracle interpreter {py} not found (set MIXTURA_ORACLE_PYTHON)"
    try:
        r = subprocess.run(
            [str(py), "-I", "-c", "import protopunica"],
            capture_output=True, text=True, timeout=120, env=_oracle_env(),
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"oracle interpreter {py} does not run: {e}"
    if r.returncode != 0:
        tail = r.stderr.strip().splitlines()[-1:] or [""]
        return f"`import protopunica` fails in {py}: {tail[0]}"
    return None


_reason = oracle_unavailable()
if _reason is not None:
    pytest.skip(_reason, allow_module_level=True)


# Model construction shared by both sides: exec'd here with lib=mixtura and prepended to every
# oracle script, where it runs with lib=protopunica.
BUILD_SRC = r'''
import numpy as np

def build_component(lib, family, c):
    if family == "normal":
        return lib.NormalDistribution(c[0], c[1])
    if family == "mgd":
        return lib.MultivariateGaussianDistribution(np.array(c[0], dtype=np.float64),
                                                    np.array(c[1], dtype=np.float64))
    if family == "icd":
        dists = [lib.NormalDistribution(m, s) for m, s in c["dists"]]
        w = c.get("weights")
        return lib.IndependentComponentsDistribution(
            dists, weights=None if w is None else np.array(w, dtype=np.float64))
    raise ValueError(family)

def build(lib, spec):
    comps = [build_component(lib, spec["family"], c) for c in spec["components"]]
    w = spec.get("weights")
    return lib.GeneralMixtureModel(
        comps, weights=None if w is None else np.array(w, dtype=np.float64))

def history_dict(h):
    return {
        "epochs": [int(e) for e in h.epochs],
        "log_probabilities": [float(v) for v in h.log_probabilities],
        "improvements": [float(v) for v in h.improvements],
        "total_improvement": [float(v) for v in h.total_improvement],
        "learning_rates": [float(v) for v in h.learning_rates],
        "initial_log_probability": float(h.initial_log_probability),
    }
'''

_ns = {}
exec(BUILD_SRC, _ns)
build = functools.partial(_ns["build"], mixtura)
history_dict = _ns["history_dict"]

_PRELUDE = r'''
import json, sys
import numpy as np
import protopunica as pg
payload = json.load(sys.stdin)
result = {}
_stdout, sys.stdout = sys.stdout, sys.stderr  # keep stray prints out of the result
_build_with = build
def build(spec):
    return _build_with(pg, spec)
def arr(key):
    return np.array(payload[key], dtype=np.float64)
'''

_POSTLUDE = r'''
def _default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))
_stdout.write(json.dumps(result, default=_default, allow_nan=True))
_stdout.flush()
'''


def _to_jsonable(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"cannot send {type(o).__name__} to the oracle")


def oracle(script: str, payload: dict) -> dict:
    """Runs ``script`` in the oracle interpreter and returns its ``result`` dict.

    The script sees ``payload`` (the dict, decoded from JSON), ``pg`` (protopunica), ``np``,
    ``build(spec)`` (a pomegranate model from a spec), ``history_dict(h)`` and ``arr(key)``
    (``payload[key]`` as a float64 array), and fills ``result`` with JSON-able values (numpy
    arrays allowed). NaN passes both ways.
    """
    src = BUILD_SRC + _PRELUDE + script + _POSTLUDE
    r = subprocess.run(
        [str(oracle_python()), "-I", "-c", src],
        input=json.dumps(payload, default=_to_jsonable, allow_nan=True),
        capture_output=True, text=True, timeout=300, env=_oracle_env(),
    )
    if r.returncode != 0:
        raise RuntimeError(f"oracle script failed (exit {r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout)


# -- comparison helpers ---------------------------------------------------------------------------
def assert_close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=False,
                               err_msg=what)


def assert_same_document(actual, expected, rtol=RTOL, atol=ATOL, path="$"):
    """Two JSON documents (dicts of a model) with the same structure and strings, numbers
    within tolerance."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        assert list(actual.keys()) == list(expected.keys()), f"{path}: keys differ"
        for k in expected:
            assert_same_document(actual[k], expected[k], rtol, atol, f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: {actual!r} is not a list"
        assert len(actual) == len(expected), f"{path}: lengths {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_document(a, e, rtol, atol, f"{path}[{i}]")
    elif isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    else:
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), (
            f"{path}: {actual!r} is not a number")
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=path)


def assert_same_history(actual, expected, what=""):
    assert actual["epochs"] == expected["epochs"], f"{what}: epochs differ"
    for key in ("log_probabilities", "improvements", "total_improvement", "learning_rates"):
        assert_close(actual[key], expected[key], what=f"{what}: {key}")
    assert_close(actual["initial_log_probability"], expected["initial_log_probability"],
                 what=f"{what}: initial_log_probability")


# -- fixed data and models ------------------------------------------------------------------------
def _data():
    rs = np.random.RandomState(20240607)
    # 1-D: two normal clusters.
    x1 = np.concatenate([rs.normal(-2.0, 1.0, 90), rs.normal(3.0, 1.5, 110)])
    rs.shuffle(x1)
    x1 = x1.reshape(-1, 1)
    # 3-D: two correlated Gaussian clusters.
    c_a = np.array([[1.0, 0.6, 0.2], [0.6, 1.5, -0.3], [0.2, -0.3, 0.8]])
    c_b = np.array([[2.0, -0.7, 0.1], [-0.7, 1.0, 0.25], [0.1, 0.25, 1.2]])
    x3 = np.concatenate([rs.multivariate_normal([0.0, 0.0, 0.0], c_a, 100),
                         rs.multivariate_normal([3.0, 2.0, -2.0], c_b, 120)])
    rs.shuffle(x3)
    # 2-D, for from_samples with first-k: three overlapping clusters of different shapes; the
    # first three rows come one from each cluster, so first-k starts from sensible centroids.
    centres = np.array([[0.0, 0.0], [3.0, 1.0], [1.0, 3.5]])
    shapes = np.array([[[1.2, 0.0], [0.9, 0.5]],
                       [[0.5, 0.0], [-0.3, 1.1]],
                       [[1.0, 0.0], [0.0, 0.4]]])
    labels = np.concatenate([[0, 1, 2], rs.randint(0, 3, 177)])
    x2 = centres[labels] + np.einsum("nij,nj->ni", shapes[labels], rs.normal(0.0, 1.0, (180, 2)))
    # Sample weights.
    w1 = rs.uniform(0.2, 2.0, x1.shape[0])
    w3 = rs.uniform(0.2, 2.0, x3.shape[0])
    # NaN-holed copies (about 15% of the entries; two all-NaN rows in the 3-D data).
    x1n = x1.copy()
    x1n[rs.uniform(size=x1.shape) < 0.15] = np.nan
    x3n = x3.copy()
    x3n[rs.uniform(size=x3.shape) < 0.15] = np.nan
    x3n[[5, 77]] = np.nan
    return {"x1": x1, "x3": x3, "x2": x2, "w1": w1, "w3": w3, "x1n": x1n, "x3n": x3n}


DATA = _data()

NORMAL = {"family": "normal", "components": [[-1.0, 1.5], [2.0, 2.0]], "weights": [0.4, 0.6]}
NORMAL3 = {"family": "normal", "components": [[-3.0, 1.0], [0.5, 2.0], [4.0, 1.0]],
           "weights": [0.2, 0.3, 0.5]}
MGD = {
    "family": "mgd",
    "components": [
        [[0.5, -0.2, 0.3], [[1.2, 0.4, 0.1], [0.4, 1.3, -0.2], [0.1, -0.2, 0.9]]],
        [[2.5, 1.5, -1.5], [[1.8, -0.5, 0.2], [-0.5, 1.1, 0.3], [0.2, 0.3, 1.4]]],
    ],
    "weights": [0.45, 0.55],
}
ICD = {
    "family": "icd",
    "components": [
        {"dists": [[0.2, 1.1], [0.1, 1.4], [0.3, 0.9]]},
        {"dists": [[2.8, 1.5], [1.7, 1.0], [-1.8, 1.2]]},
    ],
    "weights": [0.5, 0.5],
}
# ICD with non-default feature weights (log p = sum_j w_j log p_j).
ICDW = {
    "family": "icd",
    "components": [
        {"dists": [[0.2, 1.1], [0.1, 1.4], [0.3, 0.9]], "weights": [1.0, 0.5, 2.0]},
        {"dists": [[2.8, 1.5], [1.7, 1.0], [-1.8, 1.2]], "weights": [1.0, 0.5, 2.0]},
    ],
    "weights": [0.3, 0.7],
}
SPECS = {"normal": NORMAL, "normal3": NORMAL3, "mgd": MGD, "icd": ICD, "icdw": ICDW}
SPEC_DATA = {"normal": "x1", "normal3": "x1", "mgd": "x3", "icd": "x3", "icdw": "x3"}


def _predictions(model, X):
    return {
        "log_probability": model.log_probability(X),
        "predict_proba": model.predict_proba(X),
        "predict_log_proba": model.predict_log_proba(X),
        "predict": model.predict(X),
    }


_PREDICT_SCRIPT = r'''
for name, job in payload["jobs"].items():
    m = build(job["spec"])
    X = np.array(job["X"], dtype=np.float64)
    result[name] = {
        "log_probability": m.log_probability(X),
        "predict_proba": m.predict_proba(X),
        "predict_log_proba": m.predict_log_proba(X),
        "predict": m.predict(X),
    }
'''


def _compare_predictions(mine, theirs, what):
    assert_close(mine["log_probability"], theirs["log_probability"],
                 what=f"{what}: log_probability")
    assert_close(mine["predict_proba"], theirs["predict_proba"], what=f"{what}: predict_proba")
    assert_close(mine["predict_log_proba"], theirs["predict_log_proba"],
                 what=f"{what}: predict_log_proba")
    np.testing.assert_array_equal(mine["predict"], theirs["predict"], err_msg=f"{what}: predict")


# == 1. predictions of pre-initialised mixtures ===================================================
@pytest.fixture(scope="module")
def predictions():
    jobs = {name: {"spec": spec, "X": DATA[SPEC_DATA[name]]} for name, spec in SPECS.items()}
    return oracle(_PREDICT_SCRIPT, {"jobs": jobs})


@pytest.mark.parametrize("name", list(SPECS))
def test_predictions_agree(predictions, name):
    model = build(SPECS[name])
    mine = _predictions(model, DATA[SPEC_DATA[name]])
    _compare_predictions(mine, predictions[name], name)


# == 2. fit from pre-initialised models ==========================================================
FIT_CASES = {}
for _name in ("normal", "normal3", "mgd", "icd"):
    for _iters in (None, 1, 2, 5):
        _kw = {} if _iters is None else {"max_iterations": _iters}
        FIT_CASES[f"{_name}-it{_iters or 'default'}"] = (_name, SPEC_DATA[_name], None, _kw)
for _name in ("normal", "mgd", "icd"):
    _w = "w1" if SPEC_DATA[_name] == "x1" else "w3"
    FIT_CASES[f"{_name}-weighted-it3"] = (_name, SPEC_DATA[_name], _w, {"max_iterations": 3})
    FIT_CASES[f"{_name}-weighted-default"] = (_name, SPEC_DATA[_name], _w, {})
FIT_CASES["mgd-inertia0.3-it5"] = ("mgd", "x3", None, {"inertia": 0.3, "max_iterations": 5})
FIT_CASES["mgd-inertia0.3-default"] = ("mgd", "x3", None, {"inertia": 0.3})
FIT_CASES["normal-threshold1e-3"] = ("normal", "x1", None, {"stop_threshold": 1e-3})
FIT_CASES["icdw-it2"] = ("icdw", "x3", None, {"max_iterations": 2})
FIT_CASES["icdw-default"] = ("icdw", "x3", None, {})
FIT_CASES["normal3-pseudocount-it5"] = ("normal3", "x1", None,
                                        {"pseudocount": 7.5, "max_iterations": 5})
FIT_CASES["mgd-pseudocount-default"] = ("mgd", "x3", None, {"pseudocount": 3.0})
FIT_CASES["mgd-lr_decay-it5"] = ("mgd", "x3", None, {"lr_decay": 0.6, "max_iterations": 5})
FIT_CASES["mgd-inertia-lr_decay-default"] = ("mgd", "x3", None, {"inertia": 0.2, "lr_decay": 0.4})

_FIT_SCRIPT = r'''
for name, job in payload["jobs"].items():
    m = build(job["spec"])
    X = np.array(job["X"], dtype=np.float64)
    w = None if job["w"] is None else np.array(job["w"], dtype=np.float64)
    m, h = m.fit(X, weights=w, return_history=True, **job["kwargs"])
    result[name] = {"model": json.loads(m.to_json()), "history": history_dict(h),
                    "log_probability": m.log_probability(X)}
'''


def _fit_job(case):
    spec_name, xkey, wkey, kwargs = case
    return {"spec": SPECS[spec_name], "X": DATA[xkey],
            "w": None if wkey is None else DATA[wkey], "kwargs": kwargs}


@pytest.fixture(scope="module")
def fits():
    return oracle(_FIT_SCRIPT, {"jobs": {n: _fit_job(c) for n, c in FIT_CASES.items()}})


@pytest.mark.parametrize("name", list(FIT_CASES))
def test_fit_agrees(fits, name):
    spec_name, xkey, wkey, kwargs = FIT_CASES[name]
    X = DATA[xkey]
    model = build(SPECS[spec_name])
    out = model.fit(X, weights=None if wkey is None else DATA[wkey], return_history=True, **kwargs)
    model, hist = out
    theirs = fits[name]
    assert_same_document(model.to_dict(), theirs["model"])
    assert_same_history(history_dict(hist), theirs["history"], name)
    # max_iterations counts M-steps: at most that many epochs, numbered from 1.
    assert hist.epochs == list(range(1, len(hist.epochs) + 1))
    if "max_iterations" in kwargs:
        assert len(hist.epochs) <= kwargs["max_iterations"]
    assert_close(model.log_probability(X), theirs["log_probability"], what="log_probability")


# == 3. from_samples with init='first-k' =========================================================
FROM_SAMPLES_CASES = {
    "mgd-k2-it5": ("MultivariateGaussianDistribution", 2, "x3", {"max_iterations": 5}),
    "mgd-k2-default": ("MultivariateGaussianDistribution", 2, "x3", {}),
    "mgd-k3-default": ("MultivariateGaussianDistribution", 3, "x2", {}),
    "normal2col-k3-it5": ("NormalDistribution", 3, "x2", {"max_iterations": 5}),
    "normal2col-k3-default": ("NormalDistribution", 3, "x2", {}),
    "normal1d-k2-default": ("NormalDistribution", 2, "x1", {}),
    "mgd-k2-weighted": ("MultivariateGaussianDistribution", 2, "x3", {"weights": "w3"}),
    # Missing values: NaN-ignoring k-means (NaN coordinates of first-k centroids become 0), then
    # EM with NaN (section 5).
    "nan-mgd-k2-default": ("MultivariateGaussianDistribution", 2, "x3n", {}),
    "nan-normal3col-k2-default": ("NormalDistribution", 2, "x3n", {}),
}

_FROM_SAMPLES_SCRIPT = r'''
for name, job in payload["jobs"].items():
    X = np.array(job["X"], dtype=np.float64)
    kw = dict(job["kwargs"])
    if "weights" in kw:
        kw["weights"] = np.array(kw["weights"], dtype=np.float64)
    m, h = pg.GeneralMixtureModel.from_samples(getattr(pg, job["cls"]), job["k"], X,
                                               init="first-k", return_history=True, **kw)
    result[name] = {"model": json.loads(m.to_json()), "history": history_dict(h),
                    "predict_proba": m.predict_proba(X)}
'''


def _resolve_kwargs(kwargs):
    return {k: (DATA[v] if k == "weights" else v) for k, v in kwargs.items()}


@pytest.fixture(scope="module")
def from_samples_results():
    jobs = {
        name: {"cls": cls, "k": k, "X": DATA[xkey], "kwargs": _resolve_kwargs(kwargs)}
        for name, (cls, k, xkey, kwargs) in FROM_SAMPLES_CASES.items()
    }
    return oracle(_FROM_SAMPLES_SCRIPT, {"jobs": jobs})


@pytest.mark.parametrize("name", list(FROM_SAMPLES_CASES))
def test_from_samples_first_k_agrees(from_samples_results, name):
    cls, k, xkey, kwargs = FROM_SAMPLES_CASES[name]
    X = DATA[xkey]
    model, hist = mixtura.GeneralMixtureModel.from_samples(
        getattr(mixtura, cls), k, X, init="first-k", return_history=True,
        **_resolve_kwargs(kwargs))
    theirs = from_samples_results[name]
    mine = model.to_dict()
    if cls == "NormalDistribution" and X.shape[1] > 1:
        assert all(c["name"] == "IndependentComponentsDistribution" for c in mine["distributions"])
    assert_same_document(mine, theirs["model"])
    assert_same_history(history_dict(hist), theirs["history"], name)
    assert_close(model.predict_proba(X), theirs["predict_proba"], what="predict_proba")


# == 4. JSON interchange ========================================================================
SIMPLE_JSON_MODELS = {
    "normal-simple": {"family": "normal", "components": [[0.0, 1.0], [3.0, 1.0]],
                      "weights": [0.25, 0.75]},
    "mgd-simple": {"family": "mgd",
                   "components": [[[0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]],
                                  [[1.0, 2.0], [[2.0, 0.5], [0.5, 1.0]]]],
                   "weights": [0.5, 0.5]},
    "icd-simple": {"family": "icd",
                   "components": [{"dists": [[0.0, 1.0], [1.0, 2.0]]},
                                  {"dists": [[2.5, 0.5], [-1.0, 1.5]], "weights": [1.0, 0.5]}],
                   "weights": [0.6, 0.4]},
}
# Models fitted for a few iterations, so that the parameters have full-precision digits.
FITTED_JSON_MODELS = {"normal": ("normal", "x1"), "mgd": ("mgd", "x3"), "icd": ("icd", "x3")}

JSON_MODEL_NAMES = list(SIMPLE_JSON_MODELS) + ["fitted-" + n for n in FITTED_JSON_MODELS]

_JSON_SCRIPT = r'''
# (a) pomegranate writes: simple models as built, and fitted models.
written = {}
for name, spec in payload["simple"].items():
    written[name] = build(spec).to_json()
for name, job in payload["fitted"].items():
    m = build(job["spec"])
    m.fit(np.array(job["X"], dtype=np.float64), max_iterations=4)
    written["fitted-" + name] = m.to_json()
result["written"] = written
result["written_predictions"] = {}
for name, text in written.items():
    X = np.array(payload["X"][name], dtype=np.float64)
    m = pg.GeneralMixtureModel.from_json(text)
    result["written_predictions"][name] = {
        "log_probability": m.log_probability(X), "predict_proba": m.predict_proba(X),
        "predict_log_proba": m.predict_log_proba(X), "predict": m.predict(X)}
# (b) pomegranate reads mixtura's documents, with both loaders.
result["read"] = {}
for name, text in payload["mixtura_json"].items():
    X = np.array(payload["X"][name], dtype=np.float64)
    out = {}
    loaded = (("class", pg.GeneralMixtureModel.from_json(text)), ("robust", pg.from_json(text)))
    for loader, m in loaded:
        out[loader] = {
            "log_probability": m.log_probability(X), "predict_proba": m.predict_proba(X),
            "predict_log_proba": m.predict_log_proba(X), "predict": m.predict(X),
            "to_json": m.to_json()}
    result["read"][name] = out
'''


def _json_x(name):
    if name.startswith("fitted-"):
        return DATA[FITTED_JSON_MODELS[name[len("fitted-"):]][1]]
    if name == "normal-simple":
        return DATA["x1"]
    return DATA["x3"][:, :2]


@functools.lru_cache(maxsize=None)
def _mixtura_json_models():
    """mixtura-written documents: the simple models, and models fitted by mixtura."""
    texts = {name: build(spec).to_json() for name, spec in SIMPLE_JSON_MODELS.items()}
    for name, (spec_name, xkey) in FITTED_JSON_MODELS.items():
        m = build(SPECS[spec_name])
        m.fit(DATA[xkey], max_iterations=4)
        texts["fitted-" + name] = m.to_json()
    return texts


@pytest.fixture(scope="module")
def json_results():
    payload = {
        "simple": SIMPLE_JSON_MODELS,
        "fitted": {n: {"spec": SPECS[s], "X": DATA[x]} for n, (s, x) in FITTED_JSON_MODELS.items()},
        "X": {n: _json_x(n) for n in JSON_MODEL_NAMES},
        "mixtura_json": _mixtura_json_models(),
    }
    return oracle(_JSON_SCRIPT, payload)


@pytest.mark.parametrize("name", list(SIMPLE_JSON_MODELS))
def test_to_json_byte_identical(json_results, name):
    assert build(SIMPLE_JSON_MODELS[name]).to_json() == json_results["written"][name]


def _normal_doc(mu, sigma):
    return ("        {\n"
            '            "class" : "Distribution",\n'
            '            "name" : "NormalDistribution",\n'
            '            "parameters" : [\n'
            f"                {mu},\n"
            f"                {sigma}\n"
            "            ],\n"
            '            "frozen" : false\n'
            "        }")


# pomegranate 0.14.8's to_json() of the model below (the semantics guide, section 1.10).
DOCUMENTED_JSON = (
    "{\n"
    '    "class" : "GeneralMixtureModel",\n'
    '    "distributions" : [\n'
    + _normal_doc("0.0", "1.0") + ",\n"
    + _normal_doc("3.0", "1.0") + "\n"
    "    ],\n"
    '    "weights" : [\n'
    "        0.25,\n"
    "        0.75\n"
    "    ]\n"
    "}"
)


def test_to_json_byte_identical_documented_example(json_results):
    m = mixtura.GeneralMixtureModel(
        [mixtura.NormalDistribution(0, 1), mixtura.NormalDistribution(3, 1)], weights=[0.25, 0.75])
    assert json_results["written"]["normal-simple"] == DOCUMENTED_JSON
    assert m.to_json() == DOCUMENTED_JSON


@pytest.mark.parametrize("name", JSON_MODEL_NAMES)
@pytest.mark.parametrize("loader", ["class", "robust"])
def test_pomegranate_json_loads_in_mixtura(json_results, name, loader):
    text = json_results["written"][name]
    load = mixtura.GeneralMixtureModel.from_json if loader == "class" else mixtura.from_json
    model = load(text)
    assert isinstance(model, mixtura.GeneralMixtureModel)
    _compare_predictions(_predictions(model, _json_x(name)),
                         json_results["written_predictions"][name], name)
    # Written back out, the document is the one pomegranate wrote, digit for digit.
    assert model.to_json() == text


@pytest.mark.parametrize("name", JSON_MODEL_NAMES)
@pytest.mark.parametrize("loader", ["class", "robust"])
def test_mixtura_json_loads_in_pomegranate(json_results, name, loader):
    text = _mixtura_json_models()[name]
    model = mixtura.GeneralMixtureModel.from_json(text)
    theirs = json_results["read"][name][loader]
    _compare_predictions(_predictions(model, _json_x(name)), theirs, name)
    # pomegranate writes back what it read, digit for digit, but for the mixture's weights: it
    # keeps their logarithms and writes exp(log w), whose last digit depends on the processor's
    # exp and log. Everything else must be the same text; the weights the same to 2 units in the
    # last place.
    head, _, tail = text.partition('"weights" : [')
    their_head, _, their_tail = theirs["to_json"].partition('"weights" : [')
    assert their_head == head
    ours, back = json.loads("[" + tail[:-1]), json.loads("[" + their_tail[:-1])
    assert len(back) == len(ours)
    for a, b in zip(back, ours):
        assert abs(a - b) <= 2 * np.spacing(b), (a, b)


def test_fitted_json_documents_agree(json_results):
    # The same fit, written by each library: the same document up to rounding.
    mine = _mixtura_json_models()
    for name in FITTED_JSON_MODELS:
        assert_same_document(json.loads(mine["fitted-" + name]),
                             json.loads(json_results["written"]["fitted-" + name]))


# == 5. missing values (NaN) ====================================================================
NAN_SPECS = {"normal": ("normal", "x1n"), "icd": ("icd", "x3n"), "icdw": ("icdw", "x3n"),
             "mgd": ("mgd", "x3n")}

_NAN_SCRIPT = r'''
result["predict"] = {}
for name, job in payload["predict"].items():
    m = build(job["spec"])
    X = np.array(job["X"], dtype=np.float64)
    result["predict"][name] = {
        "log_probability": m.log_probability(X), "predict_proba": m.predict_proba(X),
        "predict_log_proba": m.predict_log_proba(X), "predict": m.predict(X)}
result["fit"] = {}
for name, job in payload["fit"].items():
    m = build(job["spec"])
    X = np.array(job["X"], dtype=np.float64)
    w = None if job["w"] is None else np.array(job["w"], dtype=np.float64)
    m, h = m.fit(X, weights=w, return_history=True, **job["kwargs"])
    result["fit"][name] = {"model": json.loads(m.to_json()), "history": history_dict(h),
                           "log_probability": m.log_probability(X)}
'''

NAN_FIT_CASES = {
    "normal-it3": ("normal", "x1n", None, {"max_iterations": 3}),
    "icd-it3": ("icd", "x3n", None, {"max_iterations": 3}),
    "mgd-it3": ("mgd", "x3n", None, {"max_iterations": 3}),
    "normal-default": ("normal", "x1n", None, {}),
    "icd-default": ("icd", "x3n", None, {}),
    "mgd-default": ("mgd", "x3n", None, {}),
    "normal-weighted-it3": ("normal", "x1n", "w1", {"max_iterations": 3}),
    "icdw-weighted-it3": ("icdw", "x3n", "w3", {"max_iterations": 3}),
    "mgd-weighted-it3": ("mgd", "x3n", "w3", {"max_iterations": 3}),
}


@pytest.fixture(scope="module")
def nan_results():
    payload = {
        "predict": {n: {"spec": SPECS[s], "X": DATA[x]} for n, (s, x) in NAN_SPECS.items()},
        "fit": {n: {"spec": SPECS[s], "X": DATA[x], "w": None if w is None else DATA[w],
                    "kwargs": kw}
                for n, (s, x, w, kw) in NAN_FIT_CASES.items()},
    }
    return oracle(_NAN_SCRIPT, payload)


@pytest.mark.parametrize("name", list(NAN_SPECS))
def test_nan_predictions_agree(nan_results, name):
    spec_name, xkey = NAN_SPECS[name]
    X = DATA[xkey]
    assert np.isnan(X).any()
    mine = _predictions(build(SPECS[spec_name]), X)
    theirs = nan_results["predict"][name]
    _compare_predictions(mine, theirs, name)
    # All-NaN rows: log-probability 0, posteriors equal to the priors.
    empty = np.isnan(X).all(axis=1)
    assert empty.any()
    assert_close(mine["log_probability"][empty], np.zeros(int(empty.sum())), what="all-NaN rows")
    priors = np.array(SPECS[spec_name]["weights"]) / np.sum(SPECS[spec_name]["weights"])
    assert_close(mine["predict_proba"][empty], np.tile(priors, (int(empty.sum()), 1)),
                 what="all-NaN rows: priors")


@pytest.mark.parametrize("name", list(NAN_FIT_CASES))
def test_nan_fit_agrees(nan_results, name):
    spec_name, xkey, wkey, kwargs = NAN_FIT_CASES[name]
    X = DATA[xkey]
    model, hist = build(SPECS[spec_name]).fit(
        X, weights=None if wkey is None else DATA[wkey], return_history=True, **kwargs)
    theirs = nan_results["fit"][name]
    assert_same_document(model.to_dict(), theirs["model"])
    assert_same_history(history_dict(hist), theirs["history"], name)
    assert_close(model.log_probability(X), theirs["log_probability"], what="log_probability")
