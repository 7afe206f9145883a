import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def faithful():
    return np.loadtxt(ROOT / "data" / "old_faithful.csv", delimiter=",", skiprows=1)


@pytest.fixture
def blobs():
    """Three well-separated 2-D Gaussian clusters, 600 rows."""
    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]])
    X = np.vstack([rng.randn(200, 2) * [1.0, 0.6] + c for c in centers])
    return X[rng.permutation(len(X))]
