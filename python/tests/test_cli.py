import json
import pathlib
import subprocess
import sys

import numpy as np

from mixtura import GeneralMixtureModel
from mixtura.cli import main, read_csv

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "old_faithful.csv"


def test_fit_prints_a_summary_and_writes_the_model(tmp_path, capsys):
    out = tmp_path / "model.json"
    assert main(["fit", str(DATA), "-k", "2", "--random-state", "0", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ["weight", "means", "covariance", "log-likelihood", "EM iterations", " s\n"]:
        assert word in text
    model = GeneralMixtureModel.from_json(str(out))
    assert model.n == 2 and json.loads(out.read_text())["class"] == "GeneralMixtureModel"
    X, names = read_csv(DATA)
    assert names == ["eruptions", "waiting"] and X.shape == (272, 2)
    means = sorted(d.mu[0] for d in model.distributions)
    np.testing.assert_allclose(means, [2.04, 4.29], atol=0.02)
    assert main(["predict", str(out), str(DATA)]) == 0
    labels = capsys.readouterr().out.split()
    assert len(labels) == 272 and set(labels) == {"0", "1"}


def test_python_dash_m_and_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mixtura", "fit", str(DATA), "-k", "3",
                        "--covariance", "diagonal", "--random-state", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "component 2" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,x\n")
    r = subprocess.run([sys.executable, "-m", "mixtura", "fit", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "row 3" in r.stderr
