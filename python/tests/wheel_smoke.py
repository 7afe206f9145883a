"""A smoke test of an installed wheel, run by ``make test-wheel`` in fresh virtual environments
of the oldest and newest CPython at hand: fit, predict, a JSON round trip and the command line.

Usage: python wheel_smoke.py DATA_CSV WORK_DIR
"""

import os
import subprocess
import sys

import numpy as np

import mixtura
from mixtura import GeneralMixtureModel, MultivariateGaussianDistribution


def main(data, work):
    here = os.path.dirname(os.path.abspath(mixtura.__file__))
    assert "site-packages" in here, f"mixtura imported from {here}, not from the installed wheel"
    X = np.loadtxt(data, delimiter=",", skiprows=1)
    model = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X, random_state=0,
                                             n_jobs=2)
    labels = model.predict(X)
    assert labels.shape == (272,) and set(labels.tolist()) == {0, 1}
    means = sorted(d.mu[0] for d in model.distributions)
    assert abs(means[0] - 2.04) < 0.02 and abs(means[1] - 4.29) < 0.02, means
    again = GeneralMixtureModel.from_json(model.to_json())
    assert again.to_json() == model.to_json()
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))

    # The console script of the wheel.
    script = os.path.join(os.path.dirname(sys.executable), "mixtura")
    path = os.path.join(work, "model.json")
    subprocess.run([script, "fit", data, "-k", "2", "--random-state", "0", "-o", path], check=True,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([script, "predict", path, data], check=True, capture_output=True,
                         text=True).stdout.split()
    assert len(out) == 272
    bad = subprocess.run([script, "info", os.path.join(work, "no-such-file.json")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    print(f"wheel smoke test passed: Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"mixtura {mixtura.__version__}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
