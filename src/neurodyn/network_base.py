"""What every network is: the interface shared by the dense :class:`~neurodyn.network.Network`
and the sparse :class:`~neurodyn.sparse_network.SparseNetwork`, and the dtype checks both use.

Its own module so that network.py (whose ``Network.random(K=...)`` builds sparse networks) and
sparse_network.py (whose class implements this interface) import it without importing each
other.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import numpy as np

from . import validation
from .errors import ParameterError

DTYPES = ("float64", "float32")


def canonical_dtype(dtype: Any) -> str:
    """Name of a supported floating dtype ("float64" or "float32"); anything else is an error."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = dtype  # quoted once, by the message: dtype='banana'
    return validation.choice("dtype", name, DTYPES)


def _field_dtype(name: str, value: Any) -> str:
    """The dtype name of a Network field, requiring a float64 or float32 array."""
    dtype = np.dtype(getattr(value, "dtype", type(value))).name
    if dtype not in DTYPES:
        raise ParameterError(f"Network field {name} has dtype {dtype}; a float64 or float32 "
                             "array is required (convert it with .astype(float))")
    return dtype


class AbstractNetwork(eqx.Module):
    """What every network provides (an equinox Module): biases ``theta`` (neuron,), gain ``g``
    (0-d), nonlinearity ``phi``, construction record ``params``, and the couplings only through
    the methods below, so callers need not know whether J is stored dense or sparse.

    - ``N``, ``dtype``: number of neurons and the float dtype name of the arrays.
    - ``recurrent(r)``: Σ_j J_ij r_j for ``r`` of shape (..., N) → (..., N).
    - ``abs_row_sum()``: Σ_j |J_ij|, shape (N,) (the a-priori bound of the divergence check).
    - ``diagonal()``: J_ii, shape (N,) (the trace of the Jacobian).
    - ``couplings``: the trainable coupling array (the learning group "J"): J (N, N) dense,
      the weights (N, K) sparse.
    - ``dense``: True if ``couplings`` is the full (N, N) matrix (rules that need the matrix
      itself, e.g. RTRL's Jacobians, refuse networks without it).
    - ``check_fields()``, ``describe()``, ``without_metadata()``.
    """

    # theta, g, phi and params are fields of each final network (declared there: equinox's
    # AbstractVar would put them before the subclasses' own fields without defaults)
    dense: ClassVar[bool]

    @property
    @abc.abstractmethod
    def N(self) -> int:
        """Number of neurons."""

    @property
    @abc.abstractmethod
    def dtype(self) -> str:
        """Float dtype name of the network's arrays."""

    @property
    @abc.abstractmethod
    def couplings(self) -> jax.Array:
        """The trainable coupling array."""

    @abc.abstractmethod
    def recurrent(self, r: jax.Array) -> jax.Array:
        """Σ_j J_ij r_j for r of shape (..., N)."""

    @abc.abstractmethod
    def abs_row_sum(self) -> jax.Array:
        """Σ_j |J_ij|, shape (N,)."""

    @abc.abstractmethod
    def diagonal(self) -> jax.Array:
        """J_ii, shape (N,)."""

    @abc.abstractmethod
    def check_fields(self) -> AbstractNetwork:
        """Refuse (ParameterError) inconsistent fields; returns the network."""

    @abc.abstractmethod
    def without_metadata(self) -> AbstractNetwork:
        """The same network with ``params`` emptied (one jit compilation for many seeds)."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: the construction parameters plus N, g, φ and dtype."""
        info = dict(self.params)
        info.update(N=int(self.N), g=float(self.g), phi=self.phi.name, dtype=self.dtype)
        return info


def require_dense(net: AbstractNetwork, where: str) -> None:
    """Refuse (ParameterError) a sparse network at ``where``, an entry point that needs the
    couplings as the full (N, N) matrix J (it indexes, multiplies or rewrites J itself rather
    than going through :meth:`AbstractNetwork.recurrent`). Safe under jit: it reads only the
    class attribute ``dense`` and the static shapes."""
    if net.dense:
        return
    raise ParameterError(
        f"{where} needs a dense network (J of shape (N, N)); this network is sparse "
        f"(N={net.N}, K={net.K}: (N, K) partner index and weights); a dense network is "
        "required, e.g. built without K (Network.random(..., K=None))")
