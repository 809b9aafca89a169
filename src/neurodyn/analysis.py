"""Observables of simulated runs: autocorrelation, summary statistics.

The Lyapunov exponents live in :mod:`neurodyn.lyapunov`; ``from neurodyn.analysis import
lyapunov`` keeps working (re-exported below).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from . import validation
from .errors import ParameterError

# Re-exported: the Lyapunov exponents moved to neurodyn.lyapunov (one concept per module).
from .lyapunov import LYAPUNOV_CONTROL as LYAPUNOV_CONTROL
from .lyapunov import LYAPUNOV_MAX_STEPS as LYAPUNOV_MAX_STEPS
from .lyapunov import LYAPUNOV_SOLVER as LYAPUNOV_SOLVER
from .lyapunov import lyapunov as lyapunov

SUBTRACT = ("none", "population", "neuron")


def autocorrelation(
    ds: xr.Dataset | xr.DataArray, max_lag: float | None = None, subtract: str = "none"
) -> xr.DataArray:
    """Population- and trial-averaged autocorrelation ``C(τ) = ⟨h_i(t) h_i(t+τ)⟩`` of ``h``.

    Computed with zero-padded FFTs along time (O(T log T) per neuron) and normalised by the
    number of overlapping pairs at each lag (the unbiased estimator), so C(τ) at every lag is an
    average of T−τ products.

    **Arguments:**
    - ``ds``: a run with ``h`` (trial, time, neuron) on a uniform time grid, or that DataArray.
    - ``max_lag``: largest lag kept (τ units); default half the window.
    - ``subtract``: ``"none"`` (default: the raw second moment, which is what the mean-field
      theory predicts when its mean is zero), ``"population"`` (subtract the instantaneous
      population mean ⟨h(t)⟩_i per trial), or ``"neuron"`` (subtract each neuron's temporal mean).
      Subtracting the per-neuron mean over a finite window T removes the slow part of the
      fluctuations and biases C(0) low by about 2∫Δ(τ)dτ / T (5–7% at g = 2, T = 200).

    **Returns:** DataArray over ``lag`` (τ units) in units of h².
    """
    h = _state(ds, "autocorrelation")
    validation.choice("subtract", subtract, SUBTRACT)
    times = np.asarray(h["time"].values, dtype=float)
    if times.size < 2:
        raise ParameterError("the run has fewer than 2 saved times; no autocorrelation exists")
    dt = (times[-1] - times[0]) / (times.size - 1)
    if not np.allclose(np.diff(times), dt, rtol=1e-6, atol=1e-12):
        raise ParameterError("the time coordinate is not uniformly spaced; resample it first")
    n_time = times.size
    if max_lag is None:
        max_lag = dt * (n_time // 2)
    max_lag = validation.non_negative("max_lag", max_lag)
    n_lag = min(int(round(max_lag / dt)) + 1, n_time)

    values = h.transpose("trial", "time", "neuron").values
    n_fft = 1 << int(np.ceil(np.log2(2 * n_time - 1)))
    total = np.zeros(n_lag)
    for trial in range(values.shape[0]):  # one trial at a time bounds memory at N·n_fft
        x = np.asarray(values[trial], dtype=np.float64)
        if subtract == "population":
            x = x - x.mean(axis=1, keepdims=True)
        elif subtract == "neuron":
            x = x - x.mean(axis=0, keepdims=True)
        spectrum = np.fft.rfft(x, n=n_fft, axis=0)
        power = (spectrum * spectrum.conj()).real.mean(axis=1)
        total += np.fft.irfft(power, n=n_fft)[:n_lag]
    pairs = n_time - np.arange(n_lag)
    corr = total / values.shape[0] / pairs
    return xr.DataArray(
        corr,
        dims=("lag",),
        coords={"lag": ("lag", _round_grid(dt, n_lag), {"units": "tau (membrane time constant)"})},
        name="autocorrelation",
        attrs={"long_name": "population autocorrelation <h_i(t) h_i(t+lag)>", "units": "h^2",
               "subtract": subtract, "estimator": "unbiased (divided by T - lag)"},
    )


def _round_grid(step: float, n: int) -> np.ndarray:
    # Rounded to 12 decimals so that lags like 10 × 0.1 are exactly 1.0 and .sel(lag=1.0) works.
    return np.round(step * np.arange(n), 12)


def _state(ds: Any, function: str) -> xr.DataArray:
    """The ``h`` (trial, time, neuron) of a run, or a ParameterError saying what is needed."""
    needed = ("an xarray Dataset with h (trial, time, neuron), as returned by nd.simulate or "
              "nd.open_run")
    if isinstance(ds, xr.Dataset):
        if "h" not in ds.data_vars:
            names = ", ".join(map(str, ds.data_vars)) or "none"
            raise ParameterError(f"{function}: ds has no variable 'h' (variables: {names}); "
                                 f"{needed} is required")
        h = ds["h"]
    elif isinstance(ds, xr.DataArray):
        h = ds
    else:
        kind = type(ds).__qualname__
        if type(ds).__module__ != "builtins":
            kind = f"{type(ds).__module__}.{kind}"
        raise ParameterError(f"{function}: ds is a {kind}; {needed} (or its h DataArray) is "
                             "required")
    if set(h.dims) != {"trial", "time", "neuron"}:
        raise ParameterError(f"{function}: h has dims {h.dims}; dims (trial, time, neuron) are "
                             "required")
    return h


def summary(ds: xr.Dataset) -> dict[str, float]:
    """Second moment ⟨h²⟩, variance, mean |h| and mean h over trial, time and neuron of a run
    (a Dataset with ``h``, or that DataArray)."""
    h = _state(ds, "summary")
    return {
        "second_moment": float((h**2).mean()),
        "variance": float(h.var()),
        "mean_abs": float(abs(h).mean()),
        "mean": float(h.mean()),
    }
