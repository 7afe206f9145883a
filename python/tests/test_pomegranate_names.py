"""Small names of pomegranate 0.14 that its users' code reads: the model's name (the default
prefix of ModelCheckpoint's files) and the utils module's GPU switches."""

import os

import numpy as np
import pytest

import mixtura
from mixtura import GeneralMixtureModel, ModelCheckpoint, NormalDistribution


def test_a_mixture_is_named_model_as_in_pomegranate(tmp_path):
    m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(4, 1)])
    assert m.name == "Model"
    fitted = GeneralMixtureModel.from_samples(NormalDistribution, 2, np.arange(10.0),
                                              random_state=0)
    assert fitted.name == "Model"
    assert GeneralMixtureModel.from_json(fitted.to_json()).name == "Model"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        m.fit(np.arange(10.0), max_iterations=2, callbacks=[ModelCheckpoint(verbose=False)])
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Model.1.json", "Model.2.json"]


def test_the_gpu_switches_of_pomegranates_utils():
    from mixtura.utils import disable_gpu, enable_gpu, is_gpu_enabled

    assert is_gpu_enabled() is False
    disable_gpu()
    with pytest.warns(UserWarning, match="CPU"):
        enable_gpu()
    assert mixtura.utils.is_gpu_enabled() is False
