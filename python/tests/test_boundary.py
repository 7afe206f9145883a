"""The boundary between the Python package and the extension: the options objects, the layout
enum, and the value checks that Rust makes for Python (their errors name the Python parameter)."""

import numpy as np
import pytest

from mixtura import GeneralMixtureModel, Kmeans, MixturaError, NormalDistribution, _core


def test_fit_options_have_pomegranates_defaults():
    o = _core.FitOptions()
    assert (o.inertia, o.pseudocount, o.stop_threshold, o.max_iterations) == (0.0, 0.0, 0.1, 10**8)
    assert (o.batch_size, o.batches_per_epoch, o.lr_decay, o.n_jobs) == (None, None, 0.0, 1)
    s = _core.FromSamplesOptions(3)
    assert (s.n_components, s.init, s.n_init, s.max_kmeans_iterations, s.seed) == (
        3, "kmeans++", 1, 1, 0)
    assert s.fit.max_iterations == 10**8


def test_fit_options_are_keyword_only_and_checked_when_built():
    with pytest.raises(TypeError):
        _core.FitOptions(0.5)
    assert _core.FitOptions(max_iterations=float("inf")).max_iterations == 2**64 - 1
    assert _core.FitOptions(max_iterations=7.0).max_iterations == 7
    for kwargs, name in [
        ({"max_iterations": -1.0}, "max_iterations"),
        ({"max_iterations": 2.5}, "max_iterations"),
        ({"max_iterations": float("nan")}, "max_iterations"),
        ({"batch_size": -3}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"batches_per_epoch": -1}, "batches_per_epoch"),
        ({"inertia": 1.5}, "inertia"),
        ({"lr_decay": -1.0}, "lr_decay"),
        ({"n_jobs": 0}, "n_jobs"),
    ]:
        with pytest.raises(MixturaError, match=f"invalid {name}"):
            _core.FitOptions(**kwargs)
    with pytest.raises(MixturaError, match="invalid max_kmeans_iterations"):
        _core.FromSamplesOptions(2, max_kmeans_iterations=-1.0)


def test_layout_and_families_are_typed(blobs):
    x = np.ascontiguousarray(blobs[:, :1])
    options = _core.FromSamplesOptions(2, seed=1)
    core, report = _core.Mixture.from_samples(
        [("NormalDistribution", None)], _core.Layout.EACH, x, options)
    assert [d.name for d in core.distributions()] == ["NormalDistribution"] * 2
    assert report["n_iterations"] >= 1
    with pytest.raises(MixturaError, match="invalid layout"):
        _core.Mixture.from_samples([("NormalDistribution", None)] * 2, _core.Layout.EACH, x, options)
    # A discrete family needs its number of symbols; the name alone does not say it.
    with pytest.raises(MixturaError, match="invalid distributions"):
        _core.Mixture.from_samples([("DiscreteDistribution", None)], _core.Layout.EACH, x, options)
    with pytest.raises(MixturaError, match="invalid distributions"):
        _core.Mixture.from_samples([("DiscreteDistribution:2", None)], _core.Layout.EACH, x, options)
    codes = np.array([[0.0], [1.0], [1.0], [0.0]])
    core, _ = _core.Mixture.from_samples(
        [("DiscreteDistribution", 2)], _core.Layout.EACH, codes, _core.FromSamplesOptions(1))
    assert core.distributions()[0].name == "DiscreteDistribution"


def test_weights_are_counted_in_rust(blobs):
    m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(5, 1)])
    x = blobs[:, 0]
    for call in (
        lambda: m.fit(x, weights=np.ones(3)),
        lambda: m.summarize(x, weights=np.ones(3)),
        lambda: NormalDistribution.from_samples(x, weights=np.ones(3)),
        lambda: Kmeans(2).fit(blobs, weights=np.ones(3)),
        lambda: GeneralMixtureModel.from_samples(NormalDistribution, 2, x, weights=np.ones(3)),
    ):
        with pytest.raises(MixturaError, match="invalid weights: must have one weight per row"):
            call()


def test_iteration_limits_name_their_parameter(blobs):
    with pytest.raises(MixturaError, match="invalid max_kmeans_iterations"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, blobs, max_kmeans_iterations=0.5)
    with pytest.raises(MixturaError, match="invalid max_iterations"):
        Kmeans(2).fit(blobs, max_iterations=-2)
    with pytest.raises(TypeError, match="max_iterations"):
        Kmeans(2).fit(blobs, max_iterations="many")


def test_the_python_classes_are_the_rust_family_table():
    from mixtura import distributions

    assert sorted(distributions._CLASSES) == sorted(_core.class_names())
    for name, cls in distributions._CLASSES.items():
        assert cls._family == name


def test_bad_weights_and_labels_are_refused_before_any_callback(blobs, tmp_path):
    from mixtura import Callback

    class Recorder(Callback):
        def __init__(self):
            self.calls = []

        def on_training_begin(self):
            self.calls.append("begin")

        def on_training_end(self, logs):
            self.calls.append("end")

    m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(5, 1)])
    X = blobs[:, :1]
    for kwargs, name in [({"weights": np.ones(3)}, "weights"),
                         ({"weights": -np.ones(len(X))}, "weights"),
                         ({"y": np.full(len(X), 7)}, "y")]:
        rec = Recorder()
        with pytest.raises(MixturaError, match=name):
            m.fit(X, callbacks=[rec], **kwargs)
        assert rec.calls == []
    rec = Recorder()
    with pytest.raises(MixturaError, match="weights"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, X, weights=np.ones(3),
                                         callbacks=[rec])
    assert rec.calls == []
