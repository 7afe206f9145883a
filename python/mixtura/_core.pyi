# Type stubs of the Rust extension module (checked against it by mypy.stubtest).

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Distribution",
    "DistributionSummary",
    "MixturaError",
    "GaussianMixture",
    "Kmeans",
    "KmeansSummary",
    "Mixture",
    "MixtureSummary",
    "Layout",
    "FitOptions",
    "FromSamplesOptions",
    "available_cores",
    "check_weights_and_labels",
    "class_names",
    "kernel_paths",
    "model_from_json",
    "__version__",
]

__version__: str

class MixturaError(ValueError): ...

_F64: TypeAlias = npt.NDArray[np.float64]
_I32: TypeAlias = npt.NDArray[np.int32]
# Rows of data: float64, or float32 read in place (any layout, a memmap).
_Rows: TypeAlias = npt.NDArray[np.float64] | npt.NDArray[np.float32]
_Callback: TypeAlias = Callable[[dict[str, Any], Mixture | None], None]

@final
class FitOptions:
    def __new__(
        cls,
        *,
        inertia: float = 0.0,
        pseudocount: float = 0.0,
        stop_threshold: float = 0.1,
        max_iterations: float = 1e8,
        batch_size: int | None = None,
        batches_per_epoch: int | None = None,
        lr_decay: float = 0.0,
        n_jobs: int = 1,
    ) -> FitOptions: ...
    @property
    def inertia(self) -> float: ...
    @property
    def pseudocount(self) -> float: ...
    @property
    def stop_threshold(self) -> float: ...
    @property
    def max_iterations(self) -> int: ...
    @property
    def batch_size(self) -> int | None: ...
    @property
    def batches_per_epoch(self) -> int | None: ...
    @property
    def lr_decay(self) -> float: ...
    @property
    def n_jobs(self) -> int: ...

@final
class FromSamplesOptions:
    def __new__(
        cls,
        n_components: int,
        *,
        init: str = "kmeans++",
        n_init: int = 1,
        max_kmeans_iterations: float = 1.0,
        seed: int = 0,
        fit: FitOptions | None = None,
    ) -> FromSamplesOptions: ...
    @property
    def n_components(self) -> int: ...
    @property
    def init(self) -> str: ...
    @property
    def n_init(self) -> int: ...
    @property
    def max_kmeans_iterations(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def fit(self) -> FitOptions: ...

@final
class Layout:
    EACH: Layout
    PER_FEATURE: Layout
    MIXED: Layout

@final
class DistributionSummary:
    def merge(self, other: DistributionSummary) -> None: ...
    def values(self) -> list[float]: ...

@final
class MixtureSummary:
    def merge(self, other: MixtureSummary) -> None: ...
    @property
    def responsibilities(self) -> _F64: ...
    @property
    def log_likelihood(self) -> float: ...
    @property
    def unexplained(self) -> float: ...
    def values(self) -> list[list[float]]: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> MixtureSummary: ...
    def __reduce__(self) -> tuple[Any, tuple[bytes]]: ...
    @property
    def rows(self) -> int: ...

@final
class Distribution:
    @staticmethod
    def normal(mean: float, std: float, min_std: float = 0.0, frozen: bool = False) -> Distribution: ...
    @staticmethod
    def multivariate_gaussian(means: _F64, covariance: _F64, frozen: bool = False) -> Distribution: ...
    @staticmethod
    def independent(
        distributions: Sequence[Distribution], weights: Sequence[float] | None = None, frozen: bool = False
    ) -> Distribution: ...
    @staticmethod
    def univariate(
        name: str, parameters: Sequence[float], frozen: bool = False, min_std: float = 0.0
    ) -> Distribution: ...
    @staticmethod
    def discrete(
        keys: Sequence[str], probabilities: Sequence[float], dtype: str, frozen: bool = False
    ) -> Distribution: ...
    @staticmethod
    def external(obj: Any, name: str, d: int) -> Distribution: ...
    @staticmethod
    def blank(name: str, d: int) -> Distribution: ...
    @staticmethod
    def fit_new(name: str, x: _Rows, weights: _F64 | None = None) -> Distribution: ...
    @staticmethod
    def from_json(text: str) -> Distribution: ...
    def to_json(
        self, indent: int | None = 4, item_separator: str = ",", key_separator: str = " : "
    ) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def d(self) -> int: ...
    frozen: bool
    @property
    def min_std(self) -> float | None: ...
    @property
    def dtype(self) -> str | None: ...
    def external_object(self) -> Any: ...
    def parameters(self) -> list[Any]: ...
    def children(self) -> list[Distribution]: ...
    def log_probability(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def summarize(self, x: _Rows, weights: _F64 | None = None) -> DistributionSummary: ...
    def from_summaries(
        self, summary: DistributionSummary, inertia: float = 0.0, pseudocount: float = 0.0
    ) -> None: ...
    def sample(self, n: int, seed: int) -> _F64: ...
    def copy(self) -> Distribution: ...

@final
class Mixture:
    def __new__(
        cls,
        distributions: Sequence[Distribution],
        weights: Sequence[float] | None = None,
        frozen: bool = False,
    ) -> Mixture: ...
    @staticmethod
    def from_json(text: str) -> Mixture: ...
    def to_json(
        self, indent: int | None = 4, item_separator: str = ",", key_separator: str = " : "
    ) -> str: ...
    def distributions(self) -> list[Distribution]: ...
    def weights(self) -> _F64: ...
    @property
    def frozen(self) -> bool: ...
    def log_probability(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def predict_log_proba(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def predict_proba(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def predict(self, x: _Rows, n_jobs: int = 1) -> _I32: ...
    def summarize(self, x: _Rows, weights: _F64 | None = None, n_jobs: int = 1) -> MixtureSummary: ...
    def summarize_part(self, x: _Rows, weights: _F64 | None = None, n_jobs: int = 1) -> MixtureSummary: ...
    def statistics_are_values(self) -> bool: ...
    def from_summaries(
        self, summary: MixtureSummary, inertia: float = 0.0, pseudocount: float = 0.0
    ) -> None: ...
    def sample(self, n: int, seed: int) -> _F64: ...
    def n_parameters(self) -> int | None: ...
    def bic(self, x: _Rows, n_jobs: int = 1) -> float: ...
    def aic(self, x: _Rows, n_jobs: int = 1) -> float: ...
    def fit(
        self,
        x: _Rows,
        weights: _F64 | None = None,
        labels: npt.NDArray[np.int64] | None = None,
        options: FitOptions | None = None,
        callback: _Callback | None = None,
        pass_model: bool = False,
    ) -> dict[str, Any]: ...
    def fit_source(
        self,
        factory: Callable[[], Any],
        options: FitOptions | None = None,
        callback: _Callback | None = None,
        pass_model: bool = False,
    ) -> dict[str, Any]: ...
    def fit_parts(
        self,
        summarize: Callable[[Mixture, list[int]], MixtureSummary | None],
        parts: int,
        options: FitOptions | None = None,
        callback: _Callback | None = None,
        pass_model: bool = False,
    ) -> dict[str, Any]: ...
    @staticmethod
    def from_samples(
        families: Sequence[tuple[str, int | None]],
        layout: Layout,
        x: _Rows,
        options: FromSamplesOptions,
        weights: _F64 | None = None,
        callback: _Callback | None = None,
        pass_model: bool = False,
    ) -> tuple[Mixture, dict[str, Any]]: ...
    def copy(self) -> Mixture: ...

@final
@final
class KmeansSummary:
    def __new__(cls, sums: _F64, weights: _F64, distance: float) -> KmeansSummary: ...
    @staticmethod
    def zeros(k: int, d: int) -> KmeansSummary: ...
    def merge(self, other: KmeansSummary) -> None: ...
    @property
    def sums(self) -> _F64: ...
    @property
    def weights(self) -> _F64: ...
    @property
    def distance(self) -> float: ...

@final
class Kmeans:
    def __new__(cls, centroids: _F64) -> Kmeans: ...
    @staticmethod
    def initial_centroids(
        k: int,
        x: _Rows,
        weights: _F64 | None = None,
        init: str = "kmeans++",
        seed: int = 0,
        n_jobs: int = 1,
    ) -> _F64: ...
    @staticmethod
    def fit(
        k: int,
        x: _Rows,
        weights: _F64 | None = None,
        init: str = "kmeans++",
        n_init: int = 1,
        max_iterations: float = 1000.0,
        stop_threshold: float = 1e-3,
        seed: int = 0,
        n_jobs: int = 1,
        centroids: _F64 | None = None,
        inertia: float = 0.0,
        clear_summaries: bool = False,
        batch_size: int | None = None,
        batches_per_epoch: int | None = None,
    ) -> Kmeans: ...
    @staticmethod
    def from_json(text: str) -> Kmeans: ...
    def to_json(
        self, /, indent: int | None = 4, item_separator: str = ",", key_separator: str = " : "
    ) -> str: ...
    @property
    def centroids(self) -> _F64: ...
    @property
    def inertia(self) -> float: ...
    @property
    def runs(self) -> list[tuple[float, float, list[float], list[float], float]]: ...
    def predict(self, x: _Rows, n_jobs: int = 1) -> _I32: ...
    def distance(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def summarize(
        self, x: _Rows, weights: _F64 | None = None, n_jobs: int = 1
    ) -> KmeansSummary: ...
    def from_summaries(self, stats: KmeansSummary, inertia: float = 0.0) -> None: ...

_I64: TypeAlias = npt.NDArray[np.int64]
_GaussianCallback: TypeAlias = Callable[[str, int, int, float, float, bool], None]

@final
class GaussianMixture:
    def __new__(
        cls,
        covariance_type: str,
        weights: _F64,
        means: _F64,
        covariances: _F64,
        precisions_cholesky: _F64,
    ) -> GaussianMixture: ...
    @staticmethod
    def fit(
        x: _Rows,
        n_components: int,
        covariance_type: str,
        tol: float,
        reg_covar: float,
        max_iter: int,
        n_init: int,
        init_params: str,
        seed: int,
        n_jobs: int,
        weights_init: _F64 | None = None,
        means_init: _F64 | None = None,
        precisions_init: _F64 | None = None,
        callback: _GaussianCallback | None = None,
    ) -> tuple[GaussianMixture, dict[str, Any]]: ...
    def fit_more(
        self,
        x: _Rows,
        tol: float,
        reg_covar: float,
        max_iter: int,
        lower_bound: float,
        n_jobs: int,
        callback: _GaussianCallback | None = None,
    ) -> dict[str, Any]: ...
    @property
    def covariance_type(self) -> str: ...
    @property
    def weights(self) -> _F64: ...
    @property
    def means(self) -> _F64: ...
    @property
    def covariances(self) -> _F64: ...
    @property
    def precisions(self) -> _F64: ...
    @property
    def precisions_cholesky(self) -> _F64: ...
    def n_parameters(self) -> int: ...
    def score_samples(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def predict_proba(self, x: _Rows, n_jobs: int = 1) -> _F64: ...
    def predict(self, x: _Rows, n_jobs: int = 1) -> _I64: ...
    def sample(self, n_samples: int, seed: int) -> tuple[_F64, _I64]: ...

def available_cores() -> int: ...
def check_weights_and_labels(
    n: int,
    weights: npt.NDArray[np.float64] | None = None,
    labels: npt.NDArray[np.int64] | None = None,
    k: int = 0,
) -> None: ...
def class_names() -> list[str]: ...
def kernel_paths() -> tuple[str, str]: ...
def model_from_json(text: str) -> tuple[str, Any]: ...
