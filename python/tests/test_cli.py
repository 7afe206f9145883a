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


# -- the fuller command line -------------------------------------------------------------------------
def _run(*args):
    """The CLI in a child interpreter: (exit status, stdout, stderr)."""
    r = subprocess.run([sys.executable, "-m", "mixtura", *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def _fit_model(tmp_path, capsys):
    out = tmp_path / "model.json"
    assert main(["fit", str(DATA), "-k", "2", "--random-state", "0", "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def test_family_per_column_and_columns(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["fit", str(DATA), "--family", "normal,gamma", "--random-state", "0", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "eruptions: NormalDistribution" in text and "waiting: GammaDistribution" in text
    model = GeneralMixtureModel.from_json(str(out))
    assert [c.name for c in model.distributions[0].distributions] == ["NormalDistribution",
                                                                      "GammaDistribution"]
    assert main(["fit", str(DATA), "--columns", "waiting", "--family", "lognormal", "-k", "2",
                 "--random-state", "0", "-o", str(out)]) == 0
    assert "(waiting)" in capsys.readouterr().out
    model = GeneralMixtureModel.from_json(str(out))
    assert model.d == 1 and model.distributions[0].name == "LogNormalDistribution"
    # Columns by 1-based position too.
    assert main(["fit", str(DATA), "--columns", "2", "--family", "normal", "--random-state", "0"]) == 0
    assert "(waiting)" in capsys.readouterr().out


def test_discrete_columns_from_text(tmp_path, capsys):
    data = tmp_path / "mixed.csv"
    rng = np.random.RandomState(0)
    lines = ["size,colour"]
    for i in range(120):
        big = i % 2 == 0
        colour = ("red" if big else "blue") if i % 7 else ""
        lines.append(f"{rng.normal(10 if big else 0, 1):.3f},{colour}")
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "m.json"
    assert main(["fit", str(data), "--random-state", "0", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "colour: DiscreteDistribution" in text and "'red'" in text
    assert main(["predict", str(out), str(data)]) == 0
    labels = np.array(capsys.readouterr().out.split(), dtype=int)
    assert len(labels) == 120 and len(set(labels[::2])) == 1 and set(labels[::2]) != set(labels[1::2])
    assert main(["sample", str(out), "-n", "5", "--random-state", "1"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "x0,x1" and len(rows) == 6
    assert all(r.split(",")[1] in ("red", "blue") for r in rows[1:])


def test_tsv_npy_parquet(tmp_path, capsys):
    X, names = read_csv(DATA)
    tsv = tmp_path / "d.tsv"
    tsv.write_text("\n".join(["a\tb"] + [f"{x}\t{y}" for x, y in X]) + "\n")
    npy = tmp_path / "d.npy"
    np.save(npy, X)
    models = []
    for path in (DATA, tsv, npy):
        out = tmp_path / (path.name + ".json")
        assert main(["fit", str(path), "--random-state", "0", "-o", str(out)]) == 0
        models.append(out.read_text())
    capsys.readouterr()
    assert models[0] == models[1] == models[2]
    pq = tmp_path / "d.parquet"
    pa = __import__("pytest").importorskip("pyarrow")
    import pyarrow.parquet

    pyarrow.parquet.write_table(pa.table({"eruptions": X[:, 0], "waiting": X[:, 1]}), pq)
    out = tmp_path / "pq.json"
    assert main(["fit", str(pq), "--random-state", "0", "-o", str(out)]) == 0
    assert "(eruptions, waiting)" in capsys.readouterr().out
    assert out.read_text() == models[0]


def test_parquet_without_pyarrow_is_one_line(tmp_path):
    pq = tmp_path / "d.parquet"
    pq.write_bytes(b"PAR1")
    code = ("import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None; "
            "from mixtura.cli import main; sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "fit", str(pq)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "needs pyarrow" in r.stderr and str(pq) in r.stderr


def test_select_prints_the_table_and_keeps_the_best(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["fit", str(DATA), "--select", "1..4", "--random-state", "0", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "BIC" in text and "AIC" in text and "<- best" in text
    table = [line.split() for line in text.splitlines()[1:5]]
    assert [int(r[0]) for r in table] == [1, 2, 3, 4]
    bics = [float(r[3]) for r in table]
    model = GeneralMixtureModel.from_json(str(out))
    assert model.n == 1 + int(np.argmin(bics))
    assert main(["fit", str(DATA), "--select", "3..1"]) == 2


def test_predict_proba_and_log_likelihood_as_csv(tmp_path, capsys):
    out = _fit_model(tmp_path, capsys)
    assert main(["predict", str(out), str(DATA), "--proba", "--log-likelihood"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "component,p0,p1,log_likelihood" and len(lines) == 273
    table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    model = GeneralMixtureModel.from_json(str(out))
    X, _ = read_csv(DATA)
    np.testing.assert_array_equal(table[:, 1:3], model.predict_proba(X))
    np.testing.assert_array_equal(table[:, 3], model.log_probability(X))
    np.testing.assert_array_equal(table[:, 0], model.predict(X))
    assert main(["predict", str(out), str(DATA), "--log-proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "component,log_p0,log_p1"


def test_score_sample_info(tmp_path, capsys):
    out = _fit_model(tmp_path, capsys)
    model = GeneralMixtureModel.from_json(str(out))
    X, _ = read_csv(DATA)
    assert main(["score", str(out), str(DATA)]) == 0
    text = capsys.readouterr().out
    assert "rows: 272" in text and f"{model.log_probability(X).sum():.6f}" in text
    assert f"BIC: {model.bic(X):.6f}" in text
    sample = tmp_path / "s.csv"
    assert main(["sample", str(out), "-n", "1000", "--random-state", "3", "-o", str(sample)]) == 0
    S, names = read_csv(sample)
    assert S.shape == (1000, 2) and names == ["x0", "x1"]
    np.testing.assert_array_equal(S, model.sample(1000, random_state=3))
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GeneralMixtureModel: 2 components over 2 features" in text and "covariance" in text


def test_info_of_other_model_files(tmp_path, capsys):
    from mixtura import DiscreteDistribution, IndependentComponentsDistribution, Kmeans, NormalDistribution

    km = tmp_path / "km.json"
    km.write_text(Kmeans(2, init=[[0.0, 1.0], [2.0, 3.0]]).to_json())
    assert main(["info", str(km)]) == 0
    assert "Kmeans: 2 centroids" in capsys.readouterr().out
    d = tmp_path / "d.json"
    d.write_text(IndependentComponentsDistribution([NormalDistribution(0, 1),
                                                    DiscreteDistribution({"a": 0.5, "b": 0.5})]).to_json())
    assert main(["info", str(d)]) == 0
    text = capsys.readouterr().out
    assert "IndependentComponentsDistribution" in text and "'a': 0.5" in text
    # A document in pomegranate 0.14's own layout (as pomegranate writes it).
    pom = tmp_path / "pom.json"
    pom.write_text(json.dumps({
        "class": "GeneralMixtureModel",
        "distributions": [
            {"class": "Distribution", "name": "NormalDistribution", "parameters": [0.0, 1.0],
             "frozen": False},
            {"class": "Distribution", "name": "NormalDistribution", "parameters": [5.0, 2.0],
             "frozen": False}],
        "weights": [0.25, 0.75]}, indent=4))
    assert main(["info", str(pom)]) == 0
    text = capsys.readouterr().out
    assert "weight 0.25000, NormalDistribution" in text and "weight 0.75000" in text


def test_errors_are_one_line_with_status_2(tmp_path):
    model = tmp_path / "m.json"
    status, _, err = _run("fit", DATA, "--random-state", "0", "-o", model)
    assert status == 0, err
    cases = []
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    cases.append((("fit", ragged), [str(ragged), "row 3", "1 fields"]))
    text = tmp_path / "text.csv"
    text.write_text("a,b\n1,2\n3,4\n5,oops\n")
    cases.append((("fit", text, "--family", "normal"), [str(text), "row 4", "column 'b'", "'oops'"]))
    cases.append((("fit", DATA, "--family", "weibull"), ["unknown family 'weibull'"]))
    cases.append((("fit", DATA, "--columns", "nope"), ["no column 'nope'", "eruptions, waiting"]))
    cases.append((("fit", tmp_path / "missing.csv"), ["missing.csv"]))
    cases.append((("fit", DATA, "--family", "exponential,discrete", "-k", "0"), ["n_components"]))
    bad_model = tmp_path / "bad.json"
    bad_model.write_text("{not json")
    cases.append((("predict", bad_model, DATA), [str(bad_model)]))
    cases.append((("predict", model, DATA, "--columns", "waiting"), ["1 columns", "2 features"]))
    cases.append((("fit", DATA, "--no-such-option"), ["--no-such-option"]))
    cases.append((("sample", model, "-n", "-1"), ["-n"]))
    for args, words in cases:
        status, out, err = _run(*args)
        assert status == 2, (args, err)
        assert err.count("\n") == 1 and err.startswith("mixtura: error: "), (args, err)
        assert "Traceback" not in err
        for word in words:
            assert word in err, (args, word, err)


def test_progress_only_on_a_terminal(tmp_path, capsys):
    # Standard error is not a terminal under pytest: nothing is printed there.
    assert main(["fit", str(DATA), "--random-state", "0"]) == 0
    assert capsys.readouterr().err == ""

    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    terminal = Terminal()
    old = sys.stderr
    sys.stderr = terminal
    try:
        assert main(["fit", str(DATA), "--random-state", "0"]) == 0
    finally:
        sys.stderr = old
    lines = terminal.text.splitlines()
    assert lines and all(line.startswith("iteration ") for line in lines)
    assert "log-likelihood" in lines[0] and "improvement" in lines[0] and lines[0].endswith(" s")


def _numbers(text):
    """Every number of a JSON model or a CSV table, in order."""
    import re

    return np.array([float(v) for v in re.findall(r"-?\d+\.?\d*(?:[eE][-+]?\d+)?", text)])


def test_float32_npy_is_read_in_place_and_fits_within_1e5_of_its_float64_values(tmp_path, capsys):
    from mixtura import cli

    X, _ = read_csv(DATA)
    X32 = X.astype(np.float32)
    f32, f64 = tmp_path / "d32.npy", tmp_path / "d64.npy"
    np.save(f32, X32)
    np.save(f64, X32.astype(np.float64))
    table = cli.read_table(f32)
    assert table.matrix.dtype == np.float32 and isinstance(table.matrix, np.memmap)
    assert cli._numeric_matrix(table) is table.matrix
    models, labels = [], []
    for path in (f32, f64):
        out = tmp_path / (path.name + ".json")
        assert main(["fit", str(path), "-k", "2", "--random-state", "0", "-o", str(out)]) == 0
        models.append(out.read_text())
        capsys.readouterr()
        assert main(["predict", str(out), str(path), "--proba"]) == 0
        labels.append(capsys.readouterr().out)
    # Full covariance in two features computes float32 rows in float32 lanes: the model and the
    # probabilities within 1e-5 of the float64 ones (the same numbers in the same places).
    a, b = _numbers(models[0]), _numbers(models[1])
    assert a.shape == b.shape and models[0] != models[1]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
    p, q = _numbers(labels[0]), _numbers(labels[1])
    assert p.shape == q.shape
    np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-7)
    # A selection of some columns reads them as float64, as before.
    assert cli.read_table(f32).select("x1").matrix is None
