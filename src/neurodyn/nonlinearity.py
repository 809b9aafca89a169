"""The registry of single-neuron nonlinearities φ.

Each entry gives φ, its derivative φ′ and its antiderivative Φ = ∫₀ˣ φ (Φ(0) = 0), all as pure
jax functions of an array of any shape. The mean-field theories need Φ for the energy
(Δ0) condition and φ′ for the Lyapunov exponent.

All three nonlinearities have φ(0) = 0 and φ′(0) = 1 except relu (φ′(0⁺) = 1), so with
``J_ij ~ N(0, 1/N)`` the quiescent state of ``dh/dt = −h + J φ(g h)`` loses stability at g = 1.

- ``tanh``: φ = tanh x, Φ = log cosh x.
- ``erf``: φ = erf(√π x / 2), the error-function sigmoid with slope 1 at 0; its Gaussian
  averages have closed forms (see :mod:`neurodyn.gaussian`). Φ = x φ(x) + (2/π)(e^{−πx²/4} − 1).
- ``relu``: φ = max(x, 0), Φ = max(x, 0)² / 2. Unbounded: trajectories can blow up for large g.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import jax
import jax.numpy as jnp

from . import validation
from .nonlinearity_names import NAMES

ArrayFunction = Callable[[jax.Array], jax.Array]

_ERF_SCALE = math.sqrt(math.pi) / 2.0  # erf(a x) has slope 2a/√π = 1 at 0 for a = √π/2


def _log_cosh(x: jax.Array) -> jax.Array:
    # log cosh x = |x| + log1p(e^{−2|x|}) − log 2, stable for large |x| where cosh overflows.
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2.0 * ax)) - math.log(2.0)


@dataclass(frozen=True)
class Nonlinearity:
    """φ with its derivative and antiderivative.

    **Fields:**
    - ``name``: registry key.
    - ``phi``, ``dphi``, ``antiderivative``: elementwise jax functions (any shape → same shape).
    - ``bound``: sup |φ| (``math.inf`` if φ is unbounded). It bounds every trajectory of a
      network: |h_i(t)| ≤ |h_i(0)| + Σ_j |J_ij| · bound + |θ_i| + sup |input_i|, which the
      simulator's divergence check uses; unbounded φ can make trajectories diverge.
    """

    name: str
    phi: ArrayFunction
    dphi: ArrayFunction
    antiderivative: ArrayFunction
    bound: float

    @property
    def bounded(self) -> bool:
        """Whether |φ| is bounded."""
        return math.isfinite(self.bound)


NONLINEARITIES: Mapping[str, Nonlinearity] = MappingProxyType(
    {
        "tanh": Nonlinearity(
            name="tanh",
            phi=jnp.tanh,
            dphi=lambda x: 1.0 - jnp.tanh(x) ** 2,
            antiderivative=_log_cosh,
            bound=1.0,
        ),
        "erf": Nonlinearity(
            name="erf",
            phi=lambda x: jax.scipy.special.erf(_ERF_SCALE * x),
            dphi=lambda x: jnp.exp(-(_ERF_SCALE * x) ** 2),
            antiderivative=lambda x: x * jax.scipy.special.erf(_ERF_SCALE * x)
            + (2.0 / math.pi) * (jnp.exp(-(_ERF_SCALE * x) ** 2) - 1.0),
            bound=1.0,
        ),
        "relu": Nonlinearity(
            name="relu",
            phi=lambda x: jnp.maximum(x, 0.0),
            dphi=lambda x: jnp.where(x > 0, 1.0, 0.0).astype(jnp.result_type(x)),
            antiderivative=lambda x: 0.5 * jnp.maximum(x, 0.0) ** 2,
            bound=math.inf,
        ),
    }
)


if tuple(NONLINEARITIES) != NAMES:
    raise ImportError(f"neurodyn.nonlinearity_names.NAMES={NAMES} does not match the registry "
                      f"{tuple(NONLINEARITIES)}; update nonlinearity_names.py")


def get(name: str) -> Nonlinearity:
    """Look up φ by name; unknown names raise a ParameterError listing the allowed ones."""
    validation.choice("phi", name, NONLINEARITIES)
    return NONLINEARITIES[name]
