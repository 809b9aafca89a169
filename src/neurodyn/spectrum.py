"""What users of a Lyapunov spectrum read off it: the Kaplan–Yorke dimension and the
Kolmogorov–Sinai entropy rate (Engelken, Wolf & Abbott, PRR 2023, for SCS networks).

Both take the exponents of :func:`neurodyn.lyapunov` (1/τ, sorted or not) and are plain NumPy:
they are summaries of a few hundred numbers, computed once per run. Divide by N for the
per-neuron values the chaos job reports.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError


def _exponents(exponents, function: str) -> np.ndarray:
    values = np.asarray(getattr(exponents, "values", exponents), dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ParameterError(f"{function}: exponents has shape {values.shape}; a non-empty 1-d "
                             "array of Lyapunov exponents (1/tau) is required")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{function}: exponents contains non-finite values "
                             f"({np.count_nonzero(~np.isfinite(values))} of {values.size})")
    return np.sort(values)[::-1]


def lyapunov_dimension(exponents) -> float:
    """Kaplan–Yorke dimension D_KY = j + (λ_1 + … + λ_j) / |λ_{j+1}| of a spectrum (1/τ).

    j is the largest index with λ_1 + … + λ_j ≥ 0 (0 if λ_1 < 0: a stable fixed point or
    cycle-free attractor of dimension 0). **Returns** the dimension (number of directions);
    ``nan`` when the cumulative sum of all given exponents is still ≥ 0, since the dimension
    then exceeds the k exponents computed and is not determined by them (compute more).
    """
    values = _exponents(exponents, "lyapunov_dimension")
    cumulative = np.cumsum(values)
    if cumulative[-1] >= 0:
        return float("nan")
    if values[0] < 0:
        return 0.0
    j = int(np.flatnonzero(cumulative >= 0)[-1]) + 1  # number of exponents in the sum
    return float(j + cumulative[j - 1] / abs(values[j]))


def entropy_rate(exponents) -> float:
    """Kolmogorov–Sinai entropy rate h_KS = Σ_{λ_i > 0} λ_i (Pesin's identity; 1/τ, nats).

    A lower bound when only the leading k exponents are given and all k are positive.
    """
    values = _exponents(exponents, "entropy_rate")
    return float(np.sum(values[values > 0]))
