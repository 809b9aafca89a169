"""The one rule for each parameter a network shares with its mean-field theory (stdlib only).

``Network.random``, :class:`neurodyn.mean_field.MeanFieldModel`, the DMFT solvers, the chaos job,
the sweep config and the command line all check these parameters with the functions here, so a
value one of them accepts the others accept too. Each rule takes ``(name, value)``, where
``name`` is how the caller shows the parameter (``g``, ``--g``, ``[grid] g``), and returns the
checked value or raises :class:`~neurodyn.errors.ParameterError` naming it, its value and what
is allowed. Only the standard library is imported: the command line and the sweep config check
before JAX is imported.

- ``g`` ≥ 0: the gain inside φ. g = 0 is a network without recurrent drive (h relaxes onto θ +
  J φ(0)); the theory solves it in closed form (static, or Ornstein–Uhlenbeck with noise,
  λ_max = −1).
- ``J_mean``, ``theta_mean``: any finite number; ``theta_std``, ``noise`` ≥ 0.
- ``symmetry`` η ∈ [−1, 1] (corr(J_ij, J_ji)).
- ``phi``: a registered name (:data:`neurodyn.nonlinearity_names.NAMES`); the two-time DMFT (and
  the command line, sweep and chaos job that compose the theory) need a *bounded* φ, the
  stationary DMFT also takes an unbounded one (:func:`theory_phi`): a capability, not a list of
  names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import validation
from .errors import ParameterError
from .nonlinearity_names import CAPABILITIES, NAMES, names_with


def g(name: str, value: Any) -> float:
    """The gain inside φ: a finite number ≥ 0."""
    return validation.non_negative(name, value)


def J_mean(name: str, value: Any) -> float:
    """The mean coupling × N: a finite number."""
    return validation.finite(name, value)


def theta_mean(name: str, value: Any) -> float:
    """The mean bias: a finite number."""
    return validation.finite(name, value)


def theta_std(name: str, value: Any) -> float:
    """The standard deviation of the biases: a finite number ≥ 0."""
    return validation.non_negative(name, value)


def noise(name: str, value: Any) -> float:
    """σ of the additive white noise σ dW: a finite number ≥ 0."""
    return validation.non_negative(name, value)


def symmetry(name: str, value: Any) -> float:
    """η = corr(J_ij, J_ji): a finite number in [−1, 1]."""
    return validation.in_range(name, value, -1.0, 1.0)


def phi(name: str, value: Any) -> str:
    """A registered nonlinearity name."""
    return validation.choice(name, value, NAMES)


THEORY_PHI = names_with(bounded=True)
"""The registered φ every mean-field solver takes: the bounded ones (from the capability table).
The stationary DMFT takes every registered φ (:func:`theory_phi` with ``unbounded=True``)."""


def theory_phi(name: str, value: Any, unbounded: bool = False) -> Any:
    """φ for the mean-field theory: bounded, or also unbounded where the solver takes that.

    ``value`` is a registered name (its capabilities are read from
    :data:`neurodyn.nonlinearity_names.CAPABILITIES`, no JAX) or a Nonlinearity (its own
    ``bounded``). ``unbounded=True`` is the stationary DMFT's rule: it takes an unbounded φ such
    as relu (its quadrature cuts at φ's kink instead of where φ saturates, it brackets the mean
    and the variance without sup |φ|, and it reports "no bounded solution" where the network
    diverges), so only the name is checked. With False (the two-time DMFT, and the command line,
    sweep and chaos job, which have not been extended yet) an unbounded φ is refused: the
    two-time march is validated for bounded φ only (an unbounded φ lets C(t, t) grow without
    bound, and its comparison with simulation covers tanh and erf). Returns ``value``.
    """
    if isinstance(value, str):
        phi(name, value)
        bounded, label = CAPABILITIES[value].bounded, value
    else:
        bounded, label = bool(getattr(value, "bounded", False)), getattr(value, "name", value)
    if not bounded and not unbounded:
        raise ParameterError(
            f"{name}={label!r} is unbounded; this solver needs a bounded phi (registered: "
            f"{', '.join(THEORY_PHI)}, or a Nonlinearity with a finite bound): the two-time "
            "DMFT is validated for bounded phi only (with an unbounded phi C(t, t) can grow "
            "without bound); the stationary DMFT, neurodyn.dmft.stationary, takes unbounded phi")
    return value


RULES: dict[str, Callable[[str, Any], Any]] = {
    "g": g, "phi": phi, "J_mean": J_mean, "theta_mean": theta_mean, "theta_std": theta_std,
    "noise": noise, "symmetry": symmetry,
}
"""Parameter name → its rule."""
