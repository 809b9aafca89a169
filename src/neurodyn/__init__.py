"""neurodyn: ODE/SDE dynamics and dynamic mean-field theory of SCS random neural networks.

This file holds the public API only (re-exports); see ../shared/DESIGN.md for the contract.

The names are loaded on first use (PEP 562 ``__getattr__``): ``import neurodyn`` costs a few
milliseconds instead of ~2 s of JAX, diffrax and xarray, so the command line parses and
validates its arguments, and reports a user's mistake, before any of them is imported.
"""

import importlib
import os
import sys
import types

# float64 must be available for the science (the package default); every array is created with
# an explicit dtype, so enabling x64 does not silently change float32 computations. JAX reads
# JAX_ENABLE_X64 when it is imported, which covers every module of ours that imports it (also
# when one is imported directly, e.g. `from neurodyn.simulate import initial_condition`, and in
# dask worker processes, which inherit the environment); if JAX is imported already, set it.
if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    os.environ["JAX_ENABLE_X64"] = "1"

__version__ = "0.1.0"

_EXPORTS = {
    "ConvergenceError": "errors",
    "CorruptRunError": "errors",
    "DivergenceError": "errors",
    "NeurodynError": "errors",
    "ParameterError": "errors",
    "RunError": "errors",
    "MeanFieldModel": "mean_field",
    "Nonlinearity": "nonlinearity",
    "Network": "network",
    "SparseNetwork": "sparse_network",
    "drift": "network",
    "simulate": "simulate",
    "autocorrelation": "analysis",
    "lyapunov": "lyapunov",
    "summary": "analysis",
    "entropy_rate": "spectrum",
    "lyapunov_dimension": "spectrum",
    "participation_ratio": "spectrum",
    "per_neuron_spectrum": "spectrum",
    "chaos": "chaos",
    "list_runs": "storage",
    "open_run": "storage",
    "open_sweep": "storage",
    "save_run": "storage",
    "verify_run": "storage",
}
"""Public name → the module that defines it."""

_SUBMODULES = ("deep", "dmft", "gaussian", "learning", "nonlinearity", "plots", "sharding")
"""Public subpackages and modules, used as ``nd.dmft.stationary`` etc."""

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value  # cached: later look-ups are plain attribute reads
        return value
    if not name.startswith("__"):
        # Other modules as attributes (nd.storage.show_run in the notebooks), as before the
        # names were loaded lazily.
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'neurodyn' has no attribute {name!r}")


def __dir__():
    return __all__


class _Package(types.ModuleType):
    """The package module. Importing a submodule binds it as an attribute of its package; for
    ``simulate`` and ``chaos`` that would hide the public function of the same name (the module
    stays reachable as ``sys.modules["neurodyn.simulate"]``), so that binding is skipped."""

    def __setattr__(self, name, value):
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
