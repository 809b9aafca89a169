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
- ``phi``: a registered name (:data:`neurodyn.nonlinearity_names.NAMES`); the mean-field theory
  needs a *bounded* φ (:func:`theory_phi`), a capability, not a list of names.
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
"""The registered φ the mean-field theory solves: the bounded ones (from the capability table)."""


def theory_phi(name: str, value: Any) -> Any:
    """φ for the stationary and two-time DMFT: bounded.

    ``value`` is a registered name (its capabilities are read from
    :data:`neurodyn.nonlinearity_names.CAPABILITIES`, no JAX) or a Nonlinearity (its own
    ``bounded``). The solver brackets the mean and the variance of h by sup |φ| and cuts its
    quadrature where φ saturates, so an unbounded φ (relu: its DMFT is homogeneous of degree one
    in Δ, the energy condition fixes no amplitude) is refused. Returns ``value``.
    """
    if isinstance(value, str):
        phi(name, value)
        bounded, label = CAPABILITIES[value].bounded, value
    else:
        bounded, label = bool(getattr(value, "bounded", False)), getattr(value, "name", value)
    if not bounded:
        raise ParameterError(
            f"{name}={label!r} is unbounded; the mean-field theory needs a bounded phi "
            f"(registered: {', '.join(THEORY_PHI)}, or a Nonlinearity with a finite bound); an "
            "unbounded phi such as relu makes the DMFT homogeneous in Delta, so the energy "
            "condition fixes no amplitude")
    return value


RULES: dict[str, Callable[[str, Any], Any]] = {
    "g": g, "phi": phi, "J_mean": J_mean, "theta_mean": theta_mean, "theta_std": theta_std,
    "noise": noise, "symmetry": symmetry,
}
"""Parameter name → its rule."""
