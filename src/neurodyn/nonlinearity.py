"""Single-neuron nonlinearities φ and what the theory needs to know about them.

A :class:`Nonlinearity` gives φ, its derivative φ′ and its antiderivative Φ = ∫₀ˣ φ (Φ(0) = 0),
all pure jax functions of an array of any shape, together with its *capabilities*: sup |φ|
(``bound``), φ′(0), whether φ is odd and strictly increasing, and optional closed forms of the
zero-mean Gaussian pair averages ⟨φ(u1)φ(u2)⟩ and ⟨φ′(u1)φ′(u2)⟩. Every other module asks these
capabilities, never a name: a user-defined φ (built with :class:`Nonlinearity` in user code)
works wherever a registered one does. The mean-field theories need Φ for the energy (Δ0)
condition, φ′ for the Lyapunov exponent and the bound for their existence (bounded φ).

With ``J_ij ~ N(0, 1/N)`` the quiescent state h = 0 of ``dh/dt = −h + J φ(g h)`` (φ(0) = 0)
loses stability at g · φ′(0) = 1, i.e. at g = 1 for all three registered ones:

- ``tanh``: φ = tanh x, Φ = log cosh x.
- ``erf``: φ = erf(√π x / 2), the error-function sigmoid with slope 1 at 0.
  Φ = x φ(x) + (2/π)(e^{−πx²/4} − 1). Closed forms: ⟨φφ⟩ = (2/π) arcsin(k c12 /
  √((1 + k c11)(1 + k c22))) with k = π/2 (Williams 1997); ⟨φ′φ′⟩ = det(I + k C)^{−1/2}.
- ``relu``: φ = max(x, 0), Φ = max(x, 0)² / 2, φ′(0⁺) = 1. Unbounded: trajectories can blow up
  for large g. Closed forms: the arc-cosine kernel of degree 1,
  ⟨φφ⟩ = s1 s2 (sin θ + (π − θ) cos θ) / (2π) with cos θ = c12/(s1 s2), and ⟨φ′φ′⟩ = (π − θ)/(2π)
  (Cho & Saul 2009).

The capabilities of the registered names are also listed, JAX-free, in
:mod:`neurodyn.nonlinearity_names`; this module checks at import that the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from . import validation
from .errors import ParameterError
from .nonlinearity_names import CAPABILITIES, NAMES, Capabilities

ArrayFunction = Callable[[jax.Array], jax.Array]
PairFunction = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]

_ERF_SCALE = math.sqrt(math.pi) / 2.0  # erf(a x) has slope 2a/√π = 1 at 0 for a = √π/2
_ERF_K = math.pi / 2.0  # erf(a x) = Φ_N(√2 a x)·2 − 1; the Williams kernel has k = 2a² = π/2


def _static(**kwargs: Any):
    return eqx.field(static=True, **kwargs)


class Nonlinearity(eqx.Module):
    """φ with its derivative, antiderivative and capabilities (an equinox Module).

    Every field is static (the Module has no array leaves), so a Nonlinearity is hashable, can
    be a static field of :class:`~neurodyn.network.Network` and a jit cache key; two instances
    are equal when their fields are (functions compare by identity).

    **Fields:**
    - ``name``: a label (the registry key for registered ones); stored in run metadata.
    - ``phi``, ``dphi``, ``antiderivative``: elementwise jax functions (any shape → same shape);
      Φ(x) = ∫₀ˣ φ with Φ(0) = 0.
    - ``bound``: sup |φ| > 0 (``math.inf`` if φ is unbounded). It bounds every trajectory of a
      network: |h_i(t)| ≤ |h_i(0)| + Σ_j |J_ij| · bound + |θ_i| + sup |input_i|, which the
      simulator's divergence check uses; unbounded φ can make trajectories diverge, and the
      mean-field theories require a bounded φ.
    - ``slope_at_zero``: φ′(0) (the right derivative if φ has a kink at 0), finite.
    - ``odd``: φ(−x) = −φ(x). ``increasing``: φ strictly increasing (equilibrium propagation
      needs it: its metric g φ′(g h) must be positive).
    - ``gaussian_pair``: optional closed form ``f(var1, var2, cov)`` of ⟨φ(u1)φ(u2)⟩ for
      zero-mean jointly Gaussian (u1, u2) with those (co)variances, broadcasting; None if none.
    - ``gaussian_pair_dphi``: the same for ⟨φ′(u1)φ′(u2)⟩, or None.

    Construction checks the fields (ParameterError naming the field and its value).
    """

    name: str = _static()
    phi: ArrayFunction = _static()
    dphi: ArrayFunction = _static()
    antiderivative: ArrayFunction = _static()
    bound: float = _static()
    slope_at_zero: float = _static()
    odd: bool = _static()
    increasing: bool = _static()
    gaussian_pair: PairFunction | None = _static(default=None)
    gaussian_pair_dphi: PairFunction | None = _static(default=None)

    def __check_init__(self):
        label = f"Nonlinearity(name={self.name!r})"
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"Nonlinearity name={self.name!r}; a non-empty string is required")
        for field in ("phi", "dphi", "antiderivative"):
            if not callable(getattr(self, field)):
                raise ParameterError(f"{label}: {field}={getattr(self, field)!r} is not callable; "
                                     "an elementwise jax function is required")
        for field in ("gaussian_pair", "gaussian_pair_dphi"):
            value = getattr(self, field)
            if value is not None and not callable(value):
                raise ParameterError(f"{label}: {field}={value!r} must be None or a function "
                                     "f(var1, var2, cov)")
        bound = _number(label, "bound", self.bound)
        if not bound > 0:
            raise ParameterError(f"{label}: bound={self.bound!r} must be > 0 (sup |phi|, "
                                 "math.inf if phi is unbounded)")
        slope = _number(label, "slope_at_zero", self.slope_at_zero)
        if not math.isfinite(slope):
            raise ParameterError(f"{label}: slope_at_zero={self.slope_at_zero!r} must be finite "
                                 "(phi'(0), the right derivative at a kink)")
        for field in ("odd", "increasing"):
            if not isinstance(getattr(self, field), bool):
                raise ParameterError(f"{label}: {field}={getattr(self, field)!r}; True or False "
                                     "is required")

    @property
    def bounded(self) -> bool:
        """Whether |φ| is bounded (``bound`` finite)."""
        return math.isfinite(self.bound)

    @property
    def capabilities(self) -> Capabilities:
        """The JAX-free summary (:class:`neurodyn.nonlinearity_names.Capabilities`)."""
        return Capabilities(bound=float(self.bound), slope_at_zero=float(self.slope_at_zero),
                            odd=self.odd, increasing=self.increasing,
                            closed_form=self.gaussian_pair is not None
                            and self.gaussian_pair_dphi is not None)


PhiLike = str | Nonlinearity
"""What every ``phi`` argument accepts: a registered name or a :class:`Nonlinearity`."""


def _number(label: str, field: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{label}: {field}={value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{label}: {field}={value!r} is not a number") from None
    if math.isnan(number):
        raise ParameterError(f"{label}: {field}={value!r} is NaN")
    return number


def _log_cosh(x: jax.Array) -> jax.Array:
    # log cosh x = |x| + log1p(e^{−2|x|}) − log 2, stable for large |x| where cosh overflows.
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2.0 * ax)) - math.log(2.0)


def _erf_pair(var1, var2, cov):
    return (2.0 / math.pi) * jnp.arcsin(
        _ERF_K * cov / jnp.sqrt((1.0 + _ERF_K * var1) * (1.0 + _ERF_K * var2)))


def _erf_pair_dphi(var1, var2, cov):
    return 1.0 / jnp.sqrt((1.0 + _ERF_K * var1) * (1.0 + _ERF_K * var2) - (_ERF_K * cov) ** 2)


def _relu_angle(var1, var2, cov):
    s1s2 = jnp.sqrt(var1 * var2)
    cos_theta = jnp.clip(cov / s1s2, -1.0, 1.0)
    return s1s2, cos_theta, jnp.arccos(cos_theta)


def _relu_pair(var1, var2, cov):
    s1s2, cos_theta, theta = _relu_angle(var1, var2, cov)
    return s1s2 * (jnp.sin(theta) + (math.pi - theta) * cos_theta) / (2.0 * math.pi)


def _relu_pair_dphi(var1, var2, cov):
    _, _, theta = _relu_angle(var1, var2, cov)
    return (math.pi - theta) / (2.0 * math.pi)


NONLINEARITIES: Mapping[str, Nonlinearity] = MappingProxyType(
    {
        "tanh": Nonlinearity(
            name="tanh",
            phi=jnp.tanh,
            dphi=lambda x: 1.0 - jnp.tanh(x) ** 2,
            antiderivative=_log_cosh,
            bound=1.0, slope_at_zero=1.0, odd=True, increasing=True,
        ),
        "erf": Nonlinearity(
            name="erf",
            phi=lambda x: jax.scipy.special.erf(_ERF_SCALE * x),
            dphi=lambda x: jnp.exp(-(_ERF_SCALE * x) ** 2),
            antiderivative=lambda x: x * jax.scipy.special.erf(_ERF_SCALE * x)
            + (2.0 / math.pi) * (jnp.exp(-(_ERF_SCALE * x) ** 2) - 1.0),
            bound=1.0, slope_at_zero=1.0, odd=True, increasing=True,
            gaussian_pair=_erf_pair, gaussian_pair_dphi=_erf_pair_dphi,
        ),
        "relu": Nonlinearity(
            name="relu",
            phi=lambda x: jnp.maximum(x, 0.0),
            dphi=lambda x: jnp.where(x > 0, 1.0, 0.0).astype(jnp.result_type(x)),
            antiderivative=lambda x: 0.5 * jnp.maximum(x, 0.0) ** 2,
            bound=math.inf, slope_at_zero=1.0, odd=False, increasing=False,
            gaussian_pair=_relu_pair, gaussian_pair_dphi=_relu_pair_dphi,
        ),
    }
)
"""The registered nonlinearities by name. A new φ (with its closed forms, if any) is one entry
here plus its line in :data:`neurodyn.nonlinearity_names.CAPABILITIES`."""


def _check_registry() -> None:
    # The JAX-free table is what the CLI and sweep_config validate against before importing JAX.
    if tuple(NONLINEARITIES) != NAMES:
        raise ImportError(f"neurodyn.nonlinearity_names.NAMES={NAMES} does not match the "
                          f"registry {tuple(NONLINEARITIES)}; update nonlinearity_names.py")
    for name, entry in NONLINEARITIES.items():
        if entry.name != name or entry.capabilities != CAPABILITIES[name]:
            raise ImportError(f"neurodyn.nonlinearity_names.CAPABILITIES[{name!r}]="
                              f"{CAPABILITIES[name]} does not match the registry entry "
                              f"{entry.capabilities}; update nonlinearity_names.py")


_check_registry()


def get(phi: PhiLike) -> Nonlinearity:
    """The :class:`Nonlinearity` for ``phi``: a registered name → its entry; a Nonlinearity →
    itself (its fields were checked when it was built). Anything else raises a ParameterError
    naming ``phi`` and listing the registered names."""
    if isinstance(phi, Nonlinearity):
        return phi
    if not isinstance(phi, str):
        raise ParameterError(f"phi={phi!r} is neither a registered name nor a Nonlinearity; "
                             f"allowed: {', '.join(NONLINEARITIES)} or a "
                             "neurodyn.nonlinearity.Nonlinearity")
    validation.choice("phi", phi, NONLINEARITIES)
    return NONLINEARITIES[phi]


def name_of(phi: PhiLike) -> str:
    """The name of ``phi`` (a registered name or a Nonlinearity), for messages and metadata."""
    return get(phi).name
