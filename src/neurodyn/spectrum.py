"""What users of a Lyapunov spectrum read off it: the Kaplan–Yorke dimension, the
Kolmogorov–Sinai entropy rate, the spectrum per neuron and the participation ratio of a
Lyapunov vector (Engelken, Wolf & Abbott, PRR 5, 043044 (2023), for SCS networks).

All take the exponents of :func:`neurodyn.lyapunov` (1/τ, sorted or not; a DataArray or any
1-d array) and are plain NumPy: they are summaries of a few hundred numbers, computed once per
run. Chaos in SCS networks is extensive (the spectrum λ_i vs i/N does not depend on N), so the
numbers to compare across sizes are the per-neuron ones: ``per_neuron=True`` divides by N, taken
from the DataArray's ``attrs["network"]["N"]`` or given as ``N``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from . import validation
from .errors import ParameterError


def _exponents(exponents, function: str) -> np.ndarray:
    """The exponents as a float array sorted in decreasing order (λ_1 ≥ λ_2 ≥ …)."""
    values = np.asarray(getattr(exponents, "values", exponents), dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ParameterError(f"{function}: exponents has shape {values.shape}; a non-empty 1-d "
                             "array of Lyapunov exponents (1/tau) is required")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{function}: exponents contains non-finite values "
                             f"({np.count_nonzero(~np.isfinite(values))} of {values.size})")
    return np.sort(values)[::-1]


def _network_size(exponents, N, count: int, function: str) -> int:
    """N given, else the one recorded by :func:`neurodyn.lyapunov` in the exponents' attrs."""
    if N is None:
        network = getattr(exponents, "attrs", {}).get("network", {})
        if "N" not in network:
            raise ParameterError(f"{function}: N=None and the exponents carry no "
                                 "attrs['network']['N'] (pass N, the number of neurons)")
        N = network["N"]
    N = validation.positive_int("N", int(N) if isinstance(N, np.integer) else N)
    if N < count:
        raise ParameterError(f"{function}: N={N} is smaller than the {count} exponents given; "
                             "a network of N neurons has at most N exponents")
    return N


def lyapunov_dimension(exponents, per_neuron: bool = False, N: int | None = None) -> float:
    """Kaplan–Yorke dimension D_KY = j + (λ_1 + … + λ_j) / |λ_{j+1}| of a spectrum (1/τ).

    j is the largest index with λ_1 + … + λ_j ≥ 0 (0 if λ_1 < 0: a stable fixed point).
    **Returns** the dimension (number of directions), divided by N with ``per_neuron`` (N
    from ``N`` or the exponents' attrs); ``nan`` when the cumulative sum of all given
    exponents is still ≥ 0, since the dimension then exceeds the k exponents computed and is
    not determined by them (compute more).
    """
    values = _exponents(exponents, "lyapunov_dimension")
    scale = _network_size(exponents, N, values.size, "lyapunov_dimension") if per_neuron else 1
    cumulative = np.cumsum(values)
    if cumulative[-1] >= 0:
        return float("nan")
    if values[0] < 0:
        return 0.0
    j = int(np.flatnonzero(cumulative >= 0)[-1]) + 1  # number of exponents in the sum
    return float(j + cumulative[j - 1] / abs(values[j])) / scale


def entropy_rate(exponents, per_neuron: bool = False, N: int | None = None) -> float:
    """Kolmogorov–Sinai entropy rate h_KS = Σ_{λ_i > 0} λ_i (Pesin's identity; nats/τ).

    Divided by N with ``per_neuron`` (N from ``N`` or the exponents' attrs). A lower bound
    when only the leading k exponents are given and all k are positive.
    """
    values = _exponents(exponents, "entropy_rate")
    scale = _network_size(exponents, N, values.size, "entropy_rate") if per_neuron else 1
    return float(np.sum(values[values > 0])) / scale


def per_neuron_spectrum(exponents, N: int | None = None) -> xr.DataArray:
    """The spectrum as a function of the rank per neuron: λ_i at x_i = (i − ½)/N, i = 1…k.

    x_i is the midpoint of the i-th exponent's share 1/N of the unit interval, so spectra of
    two sizes sample one curve λ(x) without an offset of order 1/N (an extensive spectrum,
    Engelken, Wolf & Abbott 2023, Fig. 1, has the same λ(x) for every N). N from ``N`` or the
    exponents' attrs.

    **Returns:** DataArray over ``exponent`` (0 = largest) with coordinate ``fraction`` = x_i
    (dimensionless), values λ_i (1/τ) in decreasing order.
    """
    values = _exponents(exponents, "per_neuron_spectrum")
    N = _network_size(exponents, N, values.size, "per_neuron_spectrum")
    fraction = (np.arange(values.size) + 0.5) / N
    return xr.DataArray(values, dims=("exponent",),
                        coords={"exponent": np.arange(values.size),
                                "fraction": ("exponent", fraction, {"long_name": "i/N"})},
                        name="lyapunov", attrs={"units": "1/tau", "N": N})


def participation_ratio(vectors) -> np.ndarray:
    """Participation ratio P = (Σ_i v_i²)² / Σ_i v_i⁴ of Lyapunov vectors (number of neurons).

    P = N for a vector spread evenly over N neurons and 1 for one on a single neuron; P/N is
    the fraction of the network a direction involves (the localisation measure of Engelken,
    Wolf & Abbott 2023, for the leading Lyapunov vector). Normalisation does not matter.

    **Arguments:** ``vectors`` of shape (neuron,) or (neuron, vector).
    **Returns:** P, a float for one vector, else shape (vector,).
    """
    values = np.asarray(getattr(vectors, "values", vectors), dtype=float)
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        raise ParameterError(f"participation_ratio: vectors has shape {values.shape}; shape "
                             "(neuron,) or (neuron, vector) with at least one neuron is required")
    if not np.all(np.isfinite(values)):
        raise ParameterError("participation_ratio: vectors contains non-finite values")
    squares = values**2
    norms = np.sum(squares, axis=0)
    if np.any(norms == 0):
        raise ParameterError("participation_ratio: a vector is zero; it has no direction")
    ratio = norms**2 / np.sum(squares**2, axis=0)
    return float(ratio) if values.ndim == 1 else ratio
