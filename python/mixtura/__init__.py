"""mixtura: general mixture models with pomegranate 0.14's API, computed in Rust.

>>> from mixtura import GeneralMixtureModel, MultivariateGaussianDistribution
>>> model = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X)
"""

import sys as _sys

from . import _core, distributions, io as io, neural, utils as utils
from ._core import MixturaError
from .callbacks import Callback, CSVLogger, History, LambdaCallback, ModelCheckpoint
from .distributions import (
    BernoulliDistribution as BernoulliDistribution,
    DiscreteDistribution as DiscreteDistribution,
    Distribution as Distribution,
    ExponentialDistribution as ExponentialDistribution,
    GammaDistribution as GammaDistribution,
    IndependentComponentsDistribution as IndependentComponentsDistribution,
    LogNormalDistribution as LogNormalDistribution,
    MultivariateGaussianDistribution as MultivariateGaussianDistribution,
    NormalDistribution as NormalDistribution,
    PoissonDistribution as PoissonDistribution,
    UniformDistribution as UniformDistribution,
    _document_text,
    _read_text,
)
from .gmm import GeneralMixtureModel
from .kmeans import Kmeans
from .neural import NeuralNetworkWrapper

# pomegranate 0.14 kept the wrapper in a module of its own:
# ``from mixtura.distributions.NeuralNetworkWrapper import NeuralNetworkWrapper`` works too.
_sys.modules[__name__ + ".distributions.NeuralNetworkWrapper"] = neural

__version__ = _core.__version__

__all__ = [
    "GeneralMixtureModel",
    *distributions.__all__,
    "Kmeans",
    "NeuralNetworkWrapper",
    "Callback",
    "History",
    "ModelCheckpoint",
    "CSVLogger",
    "LambdaCallback",
    "MixturaError",
    "from_json",
    "from_dict",
]


def from_json(s):
    """Any model from JSON text or a file name, dispatching on its "class" (pomegranate's
    robust loader)."""
    kind, core = _core.model_from_json(_read_text(s))
    if kind == "GeneralMixtureModel":
        return GeneralMixtureModel._from_core(core)
    if kind == "Kmeans":
        return Kmeans._from_core(core)
    return Distribution._wrap(core)


def from_dict(d):
    """Any model from a dict."""
    return from_json(_document_text(d))


def __getattr__(name):
    # scikit-learn's GaussianMixture is loaded when first asked for (`from mixtura import
    # GaussianMixture`; it is documented in mixtura.sklearn and left out of __all__): its module
    # imports scikit-learn (and with it pandas) when they are installed, which `import mixtura`
    # does not.
    if name == "GaussianMixture":
        from .sklearn import GaussianMixture

        return GaussianMixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
