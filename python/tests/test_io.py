"""pomegranate's data generators (mixtura.io) as input of fit and from_samples."""

import numpy as np
import pytest

from mixtura import GeneralMixtureModel, NormalDistribution
from mixtura.io import BaseGenerator, DataGenerator


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    x = np.concatenate([rng.randn(300) - 3, rng.randn(300) + 3])
    return x[rng.permutation(len(x))].reshape(-1, 1)


def two_normals():
    return GeneralMixtureModel([NormalDistribution(-1, 1), NormalDistribution(1, 1)])


def assert_same_model(a, b):
    """The same parameters up to the order of the sums over batches."""
    for da, db in zip(a.distributions, b.distributions):
        np.testing.assert_allclose(da.parameters, db.parameters, rtol=1e-12)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)


def test_a_data_generator_fits_as_its_batches_do(data):
    w = np.linspace(0.5, 2, len(data))
    by_array = two_normals().fit(data, weights=w, batch_size=100, max_iterations=10)
    by_generator = two_normals().fit(DataGenerator(data, weights=w, batch_size=100),
                                     max_iterations=10)
    assert_same_model(by_generator, by_array)


def test_a_data_generator_gives_pomegranates_batches(data):
    gen = DataGenerator(data, y=np.r_[np.zeros(300), -np.ones(300)], batch_size=250,
                        batches_per_epoch=2)
    assert len(gen) == 600 and gen.shape == (600, 1) and gen.ndim == 2
    assert [len(b[0]) for b in gen.batches()] == [250, 250]
    assert all(len(b) == 3 for b in gen.batches())
    assert [len(b[0]) for b in gen.labeled_batches()] == [250, 50]
    assert [len(b[0]) for b in gen.unlabeled_batches()] == [250, 50]
    np.testing.assert_array_equal(gen.classes, [-1, 0])
    whole = DataGenerator(data)
    assert [len(b[0]) for b in whole.batches()] == [600]
    with pytest.raises(ValueError, match="weights"):
        DataGenerator(data, weights=np.ones(3))
    with pytest.raises(ValueError, match="classes"):
        _ = whole.classes


def test_a_generator_of_ones_own_works(data):
    class Chunks(BaseGenerator):
        """Reads the data in chunks of 200, as a user's generator reading a file would."""

        def __len__(self):
            return len(data)

        @property
        def shape(self):
            return data.shape

        def batches(self):
            for i in range(0, len(data), 200):
                yield data[i:i + 200], np.ones(len(data[i:i + 200]))

    fitted = two_normals().fit(Chunks(), max_iterations=10)
    reference = two_normals().fit(data, batch_size=200, max_iterations=10)
    assert_same_model(fitted, reference)
    model = GeneralMixtureModel.from_samples(NormalDistribution, 2, Chunks(), random_state=0,
                                             max_iterations=5)
    means = sorted(d.parameters[0] for d in model.distributions)
    assert means[0] < -2 and means[1] > 2
    with pytest.raises(NotImplementedError):
        BaseGenerator().shape  # noqa: B018


def test_data_generator_arguments_are_checked(data):
    with pytest.raises(TypeError, match="real numbers"):
        DataGenerator(data, weights=np.ones(len(data)) + 1j)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="batch_size"):
            DataGenerator(data, batch_size=bad)
    with pytest.raises(TypeError, match="batches_per_epoch"):
        DataGenerator(data, batches_per_epoch=2.5)
