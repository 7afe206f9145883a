"""Pictures of mixtures (needs matplotlib: ``pip install mixtura[plot]``).

matplotlib is imported when a function here is called, never by ``import mixtura``.

- :func:`plot_fit` draws a mixture over its data: for one column, a histogram with each
  component's weighted density and the mixture's density; for two, the rows coloured by their
  most probable component, the 1 and 2 sigma ellipses of each Gaussian component and the
  contours of the mixture's density; for more, a grid of such pictures of pairs of columns (the
  marginal densities). Discrete columns are drawn as bar charts of the observed frequencies and
  the model's probabilities.
- :func:`plot_history` draws the log-likelihood per EM iteration of a fit's history.
- :func:`plot_selection` draws the BIC and AIC against the number of components, from the
  table of ``GeneralMixtureModel.select_n_components``.
"""

import itertools

import numpy as np

__all__ = ["plot_fit", "plot_history", "plot_selection", "save_fit"]

# The normal distribution's log(sqrt(2 pi)).
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _colours(k):
    """One colour per component (matplotlib's tab10 cycle, then tab20)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(j % cmap.N) for j in range(k)]


# -- what the model says about a few columns ----------------------------------------------------------
def _children(dist, d):
    """The per-column distributions of an IndependentComponentsDistribution (or of a univariate
    distribution, d = 1); None for other components."""
    name = getattr(dist, "name", None)
    if name == "IndependentComponentsDistribution":
        return list(dist.distributions)
    if d == 1 and name not in (None, "MultivariateGaussianDistribution"):
        return [dist]
    return None


def _gaussian(dist, cols, d):
    """The mean and covariance of a component over the columns ``cols`` when it is Gaussian
    there (a multivariate Gaussian, or independent normals); None otherwise."""
    name = getattr(dist, "name", None)
    if name == "MultivariateGaussianDistribution":
        mu, cov = np.asarray(dist.mu), np.asarray(dist.cov)
        return mu[list(cols)], cov[np.ix_(cols, cols)]
    children = _children(dist, d)
    if children is not None and all(children[c].name == "NormalDistribution" for c in cols):
        params = [children[c].parameters for c in cols]
        return np.array([p[0] for p in params]), np.diag([p[1] ** 2 for p in params])
    return None


def _log_density(dist, cols, points, d):
    """The log-density of a component's marginal over the columns ``cols`` at ``points``
    (shape (n, len(cols))); None when the component cannot tell it."""
    if getattr(dist, "name", None) == "MultivariateGaussianDistribution":
        mu, cov = _gaussian(dist, cols, d)
        diff = points - mu
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, diff.T)
        return (-0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diag(chol)))
                - len(cols) * _LOG_SQRT_2PI)
    children = _children(dist, d)
    if children is None:
        if len(cols) == d and hasattr(dist, "log_probability"):
            return np.asarray(dist.log_probability(points), dtype=np.float64).reshape(-1)
        return None
    out = np.zeros(len(points))
    for i, c in enumerate(cols):
        out += np.asarray(children[c].log_probability(points[:, i]), dtype=np.float64).reshape(-1)
    return out


def _component_densities(model, cols, points):
    """The weighted density of each component's marginal at ``points``, shape (k, n); None when
    a component cannot tell it."""
    weights = np.exp(model.weights)
    out = []
    for w, dist in zip(weights, model.distributions):
        logp = _log_density(dist, cols, points, model.d)
        if logp is None:
            return None
        out.append(w * np.exp(logp))
    return np.array(out)


# -- the panels ----------------------------------------------------------------------------------------
def _finite(values):
    return values[np.isfinite(values)]


def _range(values, pad=0.08):
    lo, hi = float(np.min(values)), float(np.max(values))
    span = hi - lo if hi > lo else max(abs(lo), 1.0)
    return lo - pad * span, hi + pad * span


def _histogram(ax, model, X, col, name, colours, bins):
    x = _finite(X[:, col])
    ax.hist(x, bins=bins, density=True, color="0.82", edgecolor="white", label="data")
    lo, hi = _range(x)
    grid = np.linspace(lo, hi, 400)
    dens = _component_densities(model, [col], grid.reshape(-1, 1))
    if dens is not None:
        # The mixture under its components, where they coincide with it.
        ax.plot(grid, dens.sum(axis=0), color="black", lw=3.5, alpha=0.35, label="mixture")
        for j, dj in enumerate(dens):
            ax.plot(grid, dj, color=colours[j], lw=1.6, label=f"component {j}")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(name)
    ax.set_ylabel("density")


def _bars(ax, model, X, col, name, keys, colours):
    """Observed frequencies of a discrete column beside the model's probabilities (stacked by
    component)."""
    codes = X[:, col]
    codes = codes[np.isfinite(codes)].astype(int)
    k = len(keys)
    observed = np.bincount(codes[codes >= 0], minlength=k)[:k] / max(len(codes), 1)
    pos = np.arange(k)
    ax.bar(pos - 0.2, observed, width=0.4, color="0.75", label="data")
    bottom = np.zeros(k)
    for j, (w, dist) in enumerate(zip(np.exp(model.weights), model.distributions)):
        children = _children(dist, model.d)
        if children is None:
            break
        table = dict(children[col].items())
        share = w * np.array([table.get(s, 0.0) for s in keys])
        ax.bar(pos + 0.2, share, width=0.4, bottom=bottom, color=colours[j], label=f"component {j}")
        bottom += share
    ax.set_xticks(pos)
    ax.set_xticklabels([str(s) for s in keys], rotation=45 if k > 6 else 0)
    ax.set_xlabel(name)
    ax.set_ylabel("probability")


def _ellipse(ax, mean, cov, n_sigma, colour):
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 0.0)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    ax.add_patch(Ellipse(mean, 2 * n_sigma * np.sqrt(values[1]), 2 * n_sigma * np.sqrt(values[0]),
                         angle=angle, fill=False, edgecolor=colour, lw=1.6 if n_sigma == 1 else 1.0,
                         ls="-" if n_sigma == 1 else "--"))


def _scatter(ax, model, X, cols, names, labels, colours, points_shown):
    a, b = cols
    rows = np.isfinite(X[:, a]) & np.isfinite(X[:, b])
    xa, xb = X[rows, a], X[rows, b]
    c = [colours[j] for j in labels[rows]] if labels is not None else "0.5"
    ax.scatter(xa, xb, c=c, s=points_shown, alpha=0.7, linewidths=0)
    xlo, xhi = _range(xa)
    ylo, yhi = _range(xb)
    gx, gy = np.meshgrid(np.linspace(xlo, xhi, 120), np.linspace(ylo, yhi, 120))
    dens = _component_densities(model, list(cols), np.column_stack([gx.ravel(), gy.ravel()]))
    if dens is not None:
        z = dens.sum(axis=0).reshape(gx.shape)
        if np.isfinite(z).all() and z.max() > 0:
            levels = z.max() * np.array([0.02, 0.08, 0.25, 0.5, 0.8])
            ax.contour(gx, gy, z, levels=levels, colors="0.25", linewidths=0.7)
    for j, dist in enumerate(model.distributions):
        g = _gaussian(dist, list(cols), model.d)
        if g is not None:
            for n_sigma in (1, 2):
                _ellipse(ax, g[0], g[1], n_sigma, colours[j])
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    ax.set_xlabel(names[a])
    ax.set_ylabel(names[b])


def _prepare(model, X, names):
    from .gmm import GeneralMixtureModel

    if not isinstance(model, GeneralMixtureModel):
        raise TypeError(f"model must be a GeneralMixtureModel, got {type(model).__name__}")
    Xm = model._X(X)
    if names is None:
        from . import _frames

        names = model.feature_names or _frames.names(X) or [f"x{j}" for j in range(model.d)]
    names = [str(n) for n in names]
    if len(names) != model.d:
        raise ValueError(f"names must hold one name per feature ({model.d}), got {len(names)}")
    return Xm, names, model._columns()


def _panels(model, Xm, columns, pairs):
    """The panels of a picture: ("hist", j), ("bars", j) or ("pair", (a, b))."""
    numeric = [j for j, keys in enumerate(columns) if keys is None]
    discrete = [("bars", j) for j, keys in enumerate(columns) if keys is not None]
    if pairs is None:
        if len(numeric) == 1:
            return [("hist", numeric[0])] + discrete
        pairs = list(itertools.combinations(numeric[:4], 2))
    else:
        pairs = [tuple(int(c) for c in p) for p in pairs]
        for p in pairs:
            if len(p) != 2 or any(not 0 <= c < model.d or columns[c] is not None for c in p):
                raise ValueError(f"pairs must be pairs of numeric column indices, got {p!r}")
    return [("pair", p) for p in pairs] + discrete


def plot_fit(model, X, ax=None, pairs=None, names=None, bins=30, fig=None):
    """Draws a fitted mixture over data.

    Parameters
    ----------
    model : GeneralMixtureModel
    X : array-like or pandas DataFrame, shape (n_samples, n_features)
    ax : matplotlib Axes, optional
        Where to draw a picture of one panel (one numeric column, two numeric columns, or one
        discrete column); a new figure by default.
    pairs : list of (int, int), optional
        The pairs of numeric columns drawn when there are more than two (default: every pair of
        the first four numeric columns).
    names : list of str, optional
        Column names for the axes (default: the model's ``feature_names``, a DataFrame's
        columns, or x0, x1, ...).
    bins : int
        Histogram bins for one numeric column.
    fig : matplotlib Figure, optional
        The figure to draw a grid of panels in (default: a new pyplot figure).

    Returns
    -------
    matplotlib Figure
    """
    Xm, names, columns = _prepare(model, X, names)
    panels = _panels(model, Xm, columns, pairs)
    if not panels:
        raise ValueError("nothing to draw: no numeric pair or discrete column")
    colours = _colours(model.n)
    # The data as given: the model encodes symbols itself (Xm holds their codes).
    labels = model.predict(X) if any(kind == "pair" for kind, _ in panels) else None
    if ax is not None:
        if len(panels) != 1:
            raise ValueError(f"this picture has {len(panels)} panels: pass fig= (or neither ax nor "
                             "fig) instead of ax")
        axes = [ax]
        fig = ax.figure
    else:
        ncols = min(len(panels), 3)
        nrows = -(-len(panels) // ncols)
        if fig is None:
            fig = _pyplot().figure(figsize=(4.6 * ncols, 4.0 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for extra in axes[len(panels):]:
            extra.set_visible(False)
    size = 12 if len(Xm) <= 2000 else 4
    for (kind, what), panel in zip(panels, axes):
        if kind == "hist":
            _histogram(panel, model, Xm, what, names[what], colours, bins)
        elif kind == "bars":
            _bars(panel, model, Xm, what, names[what], columns[what], colours)
        else:
            _scatter(panel, model, Xm, what, names, labels, colours, size)
    if len(panels) == 1 and panels[0][0] != "pair" and model.n <= 10:
        axes[0].legend(fontsize="small", frameon=False)
    fig.tight_layout()
    return fig


def save_fit(model, X, path, names=None, dpi=90, **kwargs):
    """Draws :func:`plot_fit` into a picture file (PNG, SVG, PDF, by its extension) without
    pyplot, so it works without a display."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8))
    plot_fit(model, X, names=names, fig=fig, **kwargs)
    fig.savefig(path, dpi=dpi)
    return path


def plot_history(history, ax=None):
    """Draws the log-likelihood after each EM iteration.

    Parameters
    ----------
    history : History (from ``fit(..., return_history=True)``) or a sequence of log-likelihoods
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    values = getattr(history, "log_probabilities", history)
    values = np.asarray(list(values), dtype=np.float64)
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 3.5))
    epochs = getattr(history, "epochs", None) or list(range(1, len(values) + 1))
    initial = getattr(history, "initial_log_probability", None)
    if initial is not None:
        epochs, values = [0, *epochs], np.concatenate([[initial], values])
    ax.plot(epochs, values, marker="o", ms=3, color="tab:blue")
    ax.set_xlabel("iteration")
    ax.set_ylabel("log-likelihood")
    ax.grid(alpha=0.3)
    return ax


def plot_selection(table, ax=None):
    """Draws BIC and AIC against the number of components and marks each one's minimum.

    Parameters
    ----------
    table : list of dicts from ``GeneralMixtureModel.select_n_components`` (``n_components``,
        ``bic``, ``aic``)
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    rows = list(table)
    if not rows:
        raise ValueError("table is empty")
    k = np.array([r["n_components"] for r in rows])
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 3.5))
    for key, colour in (("bic", "tab:blue"), ("aic", "tab:orange")):
        values = np.array([r[key] for r in rows], dtype=np.float64)
        ax.plot(k, values, marker="o", color=colour, label=key.upper())
        best = int(np.argmin(values))
        ax.plot([k[best]], [values[best]], marker="*", ms=14, color=colour)
    ax.set_xticks(k)
    ax.set_xlabel("number of components")
    ax.set_ylabel("criterion (lower is better)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
