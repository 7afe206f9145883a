"""pomegranate's ``utils`` functions that code written for it calls.

mixtura computes on the CPU, in multithreaded Rust kernels; there is no GPU to switch on.
"""

import warnings

__all__ = ["is_gpu_enabled", "enable_gpu", "disable_gpu"]


def is_gpu_enabled():
    """Whether computations run on a GPU: never, in mixtura."""
    return False


def enable_gpu():
    """Warns that mixtura computes on the CPU (pomegranate moved its multivariate Gaussian
    products to a GPU with cupy); the computation goes on, on the CPU."""
    warnings.warn(
        "mixtura computes on the CPU (multithreaded kernels); enable_gpu() has no effect",
        UserWarning,
        stacklevel=2,
    )


def disable_gpu():
    """Does nothing: mixtura always computes on the CPU."""
