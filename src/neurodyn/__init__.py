"""neurodyn: ODE/SDE dynamics and dynamic mean-field theory of SCS random neural networks.

This file holds the public API only (re-exports); see ../shared/DESIGN.md for the contract.
"""

import jax

# float64 must be available for the science (the package default); every array is created with
# an explicit dtype, so enabling x64 does not silently change float32 computations.
jax.config.update("jax_enable_x64", True)

from . import deep, dmft, gaussian, learning, nonlinearity  # noqa: E402
from .analysis import autocorrelation, lyapunov, summary  # noqa: E402
from .chaos import chaos  # noqa: E402
from .errors import (  # noqa: E402
    ConvergenceError,
    DivergenceError,
    NeurodynError,
    ParameterError,
    RunError,
)
from .network import Network, drift  # noqa: E402
from .simulate import simulate  # noqa: E402
from .storage import list_runs, open_run, open_sweep, save_run  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ConvergenceError",
    "DivergenceError",
    "Network",
    "NeurodynError",
    "ParameterError",
    "RunError",
    "__version__",
    "autocorrelation",
    "chaos",
    "deep",
    "dmft",
    "drift",
    "gaussian",
    "learning",
    "list_runs",
    "lyapunov",
    "nonlinearity",
    "open_run",
    "open_sweep",
    "save_run",
    "simulate",
    "summary",
]
