"""pomegranate 0.14's data generators (``pomegranate.io``): data given to ``fit`` and
``from_samples`` in batches.

A generator is any object with a ``batches()`` method that yields ``(X, weights)`` pairs (or
``(X, y, weights)`` triples, whose labels a mixture does not use); ``fit`` calls it once per
epoch. Subclass :class:`BaseGenerator` to read data from anywhere (files, a database), as in
pomegranate's data-generators tutorial.
"""

import numpy as np

from . import _checks

__all__ = ["BaseGenerator", "DataGenerator"]


class BaseGenerator:
    """The base class of data generators: a subclass gives ``batches()`` and, where it can,
    ``__len__``, ``shape``, ``ndim`` and ``classes``."""

    def __len__(self):
        raise NotImplementedError("a data generator tells its number of samples by overriding __len__")

    @property
    def shape(self):
        raise NotImplementedError("a data generator tells its shape by overriding shape")

    @property
    def ndim(self):
        raise NotImplementedError("a data generator tells its number of dimensions by overriding ndim")

    @property
    def classes(self):
        raise NotImplementedError("a data generator tells its classes by overriding classes")

    def batches(self):
        """Yields the batches of one epoch."""
        raise NotImplementedError("a data generator yields its batches from batches()")


class DataGenerator(BaseGenerator):
    """Batches of an in-memory data set.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features) or (n_samples,)
    weights : array-like, shape (n_samples,), optional
        Sample weights (1 each by default).
    y : array-like, shape (n_samples,), optional
        Labels (-1 for unlabelled samples); batches are then ``(X, y, weights)``.
    batch_size : int, optional
        Samples per batch; the whole data set when None. The last batch of an epoch may be
        smaller.
    batches_per_epoch : int, optional
        The most batches of one epoch; each epoch starts again at the first sample, as in
        pomegranate (a fit's own ``batches_per_epoch`` moves on through the data instead).
    """

    def __init__(self, X, weights=None, y=None, batch_size=None, batches_per_epoch=None):
        self.X = np.asarray(X)
        n = len(self.X)
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != n:
            raise ValueError(f"y must have one label per sample ({n}), got {len(self.y)}")
        w = _checks.as_weights(weights)
        self.weights = np.ones(n) if w is None else w
        if len(self.weights) != n:
            raise ValueError(f"weights must have one weight per sample ({n}), got {len(self.weights)}")
        self.batch_size = n if batch_size is None else _checks.integer(batch_size, "batch_size", 1)
        self.batches_per_epoch = (
            None if batches_per_epoch is None
            else _checks.integer(batches_per_epoch, "batches_per_epoch", 1))

    def __len__(self):
        return len(self.X)

    @property
    def shape(self):
        return self.X.shape

    @property
    def ndim(self):
        return self.X.ndim

    @property
    def classes(self):
        if self.y is None:
            raise ValueError("an unlabelled data set has no classes")
        return np.unique(self.y)

    def _labels(self):
        if self.y is None:
            raise ValueError("an unlabelled data set has no labelled or unlabelled batches")
        return self.y

    def _slices(self, n, per_epoch=True):
        starts = range(0, n, max(self.batch_size, 1))
        if per_epoch and self.batches_per_epoch is not None:
            starts = starts[: self.batches_per_epoch]
        return [slice(s, s + self.batch_size) for s in starts]

    def batches(self):
        """The batches of one epoch: ``(X, weights)``, or ``(X, y, weights)`` with labels."""
        y = self.y
        for s in self._slices(len(self)):
            if y is None:
                yield self.X[s], self.weights[s]
            else:
                yield self.X[s], y[s], self.weights[s]

    def labeled_batches(self):
        """``(X, y, weights)`` batches of the labelled samples (label not -1)."""
        labels = self._labels()
        keep = labels != -1
        X, y, w = self.X[keep], labels[keep], self.weights[keep]
        for s in self._slices(len(X), per_epoch=False):
            yield X[s], y[s], w[s]

    def unlabeled_batches(self):
        """``(X, weights)`` batches of the unlabelled samples (label -1)."""
        keep = self._labels() == -1
        X, w = self.X[keep], self.weights[keep]
        for s in self._slices(len(X), per_epoch=False):
            yield X[s], w[s]

