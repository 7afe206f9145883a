"""mixtura.plot, headless: each picture is a non-blank PNG whose size and colours make sense."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from mixtura import (
    DiscreteDistribution,
    GeneralMixtureModel,
    MultivariateGaussianDistribution,
    NormalDistribution,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from mixtura import plot  # noqa: E402
from mixtura.cli import main  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "old_faithful.csv"
X = np.loadtxt(DATA, delimiter=",", skiprows=1)
# matplotlib's first two colours (tab10), those of components 0 and 1.
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)


def _png(path, width=None, height=None, colours=(BLUE, ORANGE)):
    """Checks a picture file: its size, that it is not blank, and that the components' colours
    are in it. Returns its pixels (h, w, 3) as 0..255 integers."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 3_000 < len(data) < 300_000, len(data)
    img = matplotlib.image.imread(path)
    h, w = img.shape[:2]
    if width is not None:
        assert (w, h) == (width, height)
    rgb = np.round(img[..., :3] * 255).astype(int)
    not_white = np.any(rgb < 245, axis=2).mean()
    assert 0.02 < not_white < 0.9, not_white
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 20
    for colour in colours:
        near = np.all(np.abs(rgb - np.array(colour)) <= 24, axis=2).sum()
        assert near > 10, (colour, near)
    return rgb


def _save(fig, tmp_path, name="p.png"):
    path = tmp_path / name
    fig.savefig(path, dpi=60)
    return path


def test_two_columns_points_ellipses_contours(tmp_path):
    model = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X, random_state=0)
    fig = plot.plot_fit(model, X, fig=Figure(figsize=(5, 4)))
    ax = fig.axes[0]
    assert len(ax.collections) >= 2          # the points, the contours
    assert len(ax.patches) == 4              # 1 and 2 sigma ellipses of two components
    assert ax.get_xlabel() == "x0" and ax.get_ylabel() == "x1"
    _png(_save(fig, tmp_path), 300, 240)


def test_one_column_histogram_and_densities(tmp_path):
    model = GeneralMixtureModel.from_samples(NormalDistribution, 2, X[:, :1], random_state=0)
    fig = plot.plot_fit(model, X[:, :1], fig=Figure(figsize=(5, 4)), names=["eruptions"])
    ax = fig.axes[0]
    assert len(ax.lines) == 3                # two components and the mixture
    grid, mixture = ax.lines[0].get_data()
    # The drawn mixture density integrates to about 1 over the data's range.
    assert 0.9 < np.sum(np.diff(grid) * (mixture[1:] + mixture[:-1]) / 2) < 1.01
    np.testing.assert_allclose(ax.lines[1].get_ydata() + ax.lines[2].get_ydata(), mixture)
    assert ax.get_xlabel() == "eruptions"
    _png(_save(fig, tmp_path), 300, 240)


def test_more_columns_a_grid_and_discrete_bars(tmp_path):
    rng = np.random.RandomState(0)
    n = 300
    first = rng.rand(n) < 0.5
    rows = np.empty((n, 4), dtype=object)
    rows[:, 0] = np.where(first, rng.normal(0, 1, n), rng.normal(5, 1, n))
    rows[:, 1] = np.where(first, rng.normal(0, 1, n), rng.normal(3, 0.5, n))
    rows[:, 2] = rng.normal(0, 1, n)
    rows[:, 3] = np.where(first, "a", "b")
    model = GeneralMixtureModel.from_samples(
        [NormalDistribution] * 3 + [DiscreteDistribution], 2, rows, random_state=0)
    fig = plot.plot_fit(model, rows, fig=Figure(figsize=(9, 6)))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4                 # three pairs, one discrete column
    # The points take the colours of their components, both of them.
    labels = model.predict(rows)
    colours = visible[0].collections[0].get_facecolors()
    assert len({tuple(c) for c in colours}) == 2
    assert len({tuple(c) for c in colours[labels == 0]}) == 1
    assert all(len(ax.patches) == 4 for ax in visible[:3])
    bars = visible[3]
    assert sorted(t.get_text() for t in bars.get_xticklabels()) == ["a", "b"]
    heights = [p.get_height() for p in bars.patches]
    assert sum(heights) == pytest.approx(2.0, abs=1e-6)   # frequencies, then the model's
    _png(_save(fig, tmp_path), 540, 360)
    one_pair = plot.plot_fit(model, rows, pairs=[(0, 2)], fig=Figure())
    assert one_pair.axes[0].get_xlabel() == "x0" and one_pair.axes[0].get_ylabel() == "x2"
    with pytest.raises(ValueError, match="pairs"):
        plot.plot_fit(model, rows, pairs=[(0, 3)], fig=Figure())
    ax = Figure().subplots()
    with pytest.raises(ValueError, match="panels"):
        plot.plot_fit(model, rows, ax=ax)


def test_history_and_selection(tmp_path):
    model, history = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X,
                                                      random_state=0, return_history=True)
    ax = Figure(figsize=(5, 3.5)).subplots()
    plot.plot_history(history, ax=ax)
    y = ax.lines[0].get_ydata()
    assert len(y) == len(history.epochs) + 1 and np.all(np.diff(y) >= -1e-9)
    _png(_save(ax.figure, tmp_path, "h.png"), 300, 210, colours=(BLUE,))
    _, table = GeneralMixtureModel.select_n_components(MultivariateGaussianDistribution, X, 4,
                                                       random_state=0)
    ax = Figure(figsize=(5, 3.5)).subplots()
    plot.plot_selection(table, ax=ax)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [r["bic"] for r in table])
    _png(_save(ax.figure, tmp_path, "s.png"), 300, 210)


def test_pyplot_figures_and_frames():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["eruptions", "waiting"])
    model = GeneralMixtureModel.from_samples(NormalDistribution, 2, df, random_state=0)
    fig = plot.plot_fit(model, df)
    assert fig.axes[0].get_xlabel() == "eruptions"
    assert len(fig.axes[0].patches) == 4     # independent normals are Gaussian too
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_cli_plot_and_readme_image(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["fit", str(DATA), "--random-state", "0", "-o", str(model)]) == 0
    out = tmp_path / "fit.png"
    assert main(["plot", str(model), str(DATA), "-o", str(out)]) == 0
    _png(out, 576, 432)
    readme = DATA.parents[1] / "docs" / "old_faithful.png"
    assert readme.stat().st_size < 100_000
    _png(readme, 576, 432)


def test_matplotlib_is_imported_only_when_used():
    code = ("import sys, mixtura, mixtura.plot, mixtura.cli; "
            "print('matplotlib' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
