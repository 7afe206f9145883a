"""``NeuralNetworkWrapper``: one class of a classifier as a mixture component (pomegranate 0.14's
adapter, used by its deep-models tutorial).

A classifier over ``n_classes`` classes gives, for each row, the posterior probability of each
class. Wrapping class ``i`` of it as component ``i`` of a ``GeneralMixtureModel`` makes its
log-posterior the component's log-density: in the E-step the mixture multiplies it by the prior
and normalises, so the responsibilities are the classifier's posteriors re-weighted by the
mixture's weights. The M-step trains the classifier on the batch with those responsibilities as
soft labels.

The wrappers of one classifier share its batches: every wrapper's ``summarize`` adds its column of
responsibilities to the batch, and the first ``from_summaries`` after that trains the classifier
once, on every batch of the epoch (pomegranate's wrapper kept the last batch only). The classifier can be

- Keras-like: ``predict(X)`` gives the ``(n, n_classes)`` posteriors and
  ``train_on_batch(X, Y)`` takes soft labels ``Y``, ``(n, n_classes)``;
- scikit-learn-like: ``predict_proba(X)`` gives the posteriors (columns in the order of
  ``classes_``) and ``fit(X, y, sample_weight=...)`` learns from weighted hard labels; it is
  given each row once per class, labelled with that class and weighted by its responsibility.
"""

import numpy as np

from . import _checks

__all__ = ["NeuralNetworkWrapper"]

# The batches each classifier has been shown since it last trained, by id: (classifier, a list of
# (X, soft labels, the classes whose column is set)).
_PENDING: dict = {}


class NeuralNetworkWrapper:
    """Class ``i`` of the classifier ``model`` as a mixture component over ``n_dimensions``
    features.

    Parameters
    ----------
    model : classifier
        With ``predict`` and ``train_on_batch`` (Keras), or ``predict_proba`` and ``fit``
        (scikit-learn).
    i : int
        The class this component stands for, in ``0 .. n_classes - 1``.
    n_dimensions : int
        The number of features of a row.
    n_classes : int
        The number of classes of the classifier (the number of components it gives).
    """

    def __init__(self, model, i, n_dimensions, n_classes):
        self.n_classes = _checks.integer(n_classes, "n_classes", minimum=1)
        self.i = _checks.integer(i, "i", minimum=0)
        if self.i >= self.n_classes:
            raise ValueError(f"i must be below n_classes ({self.n_classes}), got {self.i}")
        self.d = _checks.integer(n_dimensions, "n_dimensions", minimum=1)
        predicts = callable(getattr(model, "predict_proba", None)) or callable(
            getattr(model, "predict", None))
        trains = callable(getattr(model, "train_on_batch", None)) or callable(
            getattr(model, "fit", None))
        if not (predicts and trains):
            raise TypeError("model must have predict and train_on_batch (Keras) or "
                            "predict_proba and fit (scikit-learn)")
        self.model = model

    # -- the component protocol ------------------------------------------------------------------
    def log_probability(self, X):
        """The log of the classifier's posterior of this class for each row of ``X``."""
        X = _checks.as_matrix(X, self.d)
        proba = self._posteriors(X)
        with np.errstate(divide="ignore"):
            return np.log(proba)

    def summarize(self, X, weights=None):
        """Records the responsibilities of this class for the rows of ``X``; the classifier
        trains on them in ``from_summaries``."""
        X = _checks.as_matrix(X, self.d)
        w = np.ones(len(X)) if weights is None else _checks.as_weights(weights)
        if len(w) != len(X):
            raise ValueError(f"weights must have one value per row of X ({len(X)}), got {len(w)}")
        blocks = _PENDING.setdefault(id(self.model), (self.model, []))[1]
        last = blocks[-1] if blocks else None
        if (last is None or self.i in last[2] or last[0].shape != X.shape
                or not np.array_equal(last[0], X, equal_nan=True)):
            # A batch not seen yet: the first wrapper to see it keeps a copy.
            last = (X.copy(), np.zeros((len(X), self.n_classes)), set())
            blocks.append(last)
        last[1][:, self.i] = w
        last[2].add(self.i)

    def from_summaries(self, inertia=0.0, pseudocount=0.0):
        """Trains the classifier once on the recorded batches and soft labels (the first wrapper
        to be called does it; ``inertia`` and ``pseudocount`` do not apply to a classifier)."""
        pending = _PENDING.pop(id(self.model), None)
        if pending is None or not pending[1]:
            return
        X = np.vstack([b[0] for b in pending[1]])
        Y = np.vstack([b[1] for b in pending[1]])
        if callable(getattr(self.model, "train_on_batch", None)):
            self.model.train_on_batch(X, Y)
            return
        n, k = Y.shape
        rows = np.tile(np.arange(n), k)
        labels = np.repeat(np.arange(k), n)
        w = Y.T.ravel()
        keep = w > 0
        self.model.fit(X[rows[keep]], labels[keep], sample_weight=w[keep])

    def clear_summaries(self):
        """Forgets the recorded batch."""
        _PENDING.pop(id(self.model), None)

    @classmethod
    def from_samples(cls, X, weights=None, **kwargs):
        raise TypeError("a NeuralNetworkWrapper wraps a classifier: build the wrappers of its "
                        "classes and give them to GeneralMixtureModel, which trains the "
                        "classifier in its fit")

    # -- helpers ---------------------------------------------------------------------------------
    def _posteriors(self, X):
        if callable(getattr(self.model, "predict_proba", None)):
            proba = np.asarray(self.model.predict_proba(X), dtype=np.float64)
            classes = list(getattr(self.model, "classes_", range(proba.shape[1])))
            if self.i not in classes:
                # The classifier has never seen this class: probability 0.
                return np.zeros(len(X))
            column = classes.index(self.i)
        else:
            proba = np.asarray(self.model.predict(X), dtype=np.float64)
            column = self.i
        if proba.ndim != 2 or proba.shape[0] != len(X) or proba.shape[1] <= column:
            raise ValueError(f"the classifier must give posteriors of shape ({len(X)}, "
                             f"{self.n_classes}), got {proba.shape}")
        return proba[:, column]

    def __repr__(self):
        return (f"NeuralNetworkWrapper(model={type(self.model).__name__}, i={self.i}, "
                f"n_dimensions={self.d}, n_classes={self.n_classes})")
