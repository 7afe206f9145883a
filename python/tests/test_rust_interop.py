"""Models cross between Python and Rust: a model saved from Python loads in a Rust program and gives
the same predictions bit for bit, and the other way round."""

import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from mixtura import (
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
CARGO = shutil.which("cargo")
pytestmark = pytest.mark.skipif(CARGO is None, reason="cargo is not installed")


def cargo_example(name, *args, stdin=None):
    r = subprocess.run(
        [CARGO, "run", "--quiet", "--example", name, "--", *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def rust_predictions(model_path, X):
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in X)
    out = cargo_example("predict", str(model_path), stdin=rows)
    labels, logp, post = [], [], []
    for line in out.splitlines():
        fields = line.split()
        labels.append(int(fields[0]))
        logp.append(float(fields[1]))
        post.append([float(f) for f in fields[2:]])
    return np.array(labels), np.array(logp), np.array(post)


@pytest.mark.parametrize("kind", ["mgd", "icd"])
def test_python_model_predicts_identically_in_rust(tmp_path, faithful, kind):
    if kind == "mgd":
        cls = MultivariateGaussianDistribution
    else:
        cls = NormalDistribution
    model = GeneralMixtureModel.from_samples(cls, 3, faithful, random_state=4)
    path = tmp_path / "model.json"
    path.write_text(model.to_json())
    X = np.vstack([faithful[:50], [[np.nan, 70.0], [3.0, np.nan]]])
    labels, logp, post = rust_predictions(path, X)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_array_equal(logp, model.log_probability(X))
    np.testing.assert_array_equal(post, model.predict_proba(X))


def test_rust_model_loads_in_python(faithful):
    out = cargo_example("fit_old_faithful")
    text = out[out.index("{"):]
    model = GeneralMixtureModel.from_json(text)
    assert model.to_json() == text.strip()
    assert isinstance(model.distributions[0], MultivariateGaussianDistribution)
    # The Rust program reports the log-likelihood of the model it wrote.
    reported = float(out.split("log-likelihood ")[1].split()[0])
    assert model.log_probability(faithful).sum() == pytest.approx(reported, abs=1e-6)


def test_icd_model_round_trips_through_rust(tmp_path):
    model = GeneralMixtureModel(
        [
            IndependentComponentsDistribution([NormalDistribution(0.1, 1 / 3), NormalDistribution(-2, 0.7)],
                                              weights=[1.0, 0.5]),
            IndependentComponentsDistribution([NormalDistribution(3, 2), NormalDistribution(1e-9, 4)]),
        ],
        weights=[0.3, 0.7],
    )
    path = tmp_path / "icd.json"
    path.write_text(model.to_json())
    X = np.random.RandomState(0).randn(20, 2) * 3
    labels, logp, post = rust_predictions(path, X)
    np.testing.assert_array_equal(logp, model.log_probability(X))
    np.testing.assert_array_equal(post, model.predict_proba(X))
