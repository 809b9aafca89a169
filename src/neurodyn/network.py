"""The SCS network: couplings J, biases θ, gain g and nonlinearity φ, and its vector field.

Model (time in units of the membrane time constant)::

    dh/dt = F(h) = −h + J φ(g h) + θ (+ input(t))
    J_ij ~ N(J_mean / N, 1 / N),   corr(J_ij, J_ji) = η (``symmetry``),   θ_i ~ N(θ̄, σ_θ²)

or, with a fixed in-degree K (``Network.random(K=...)``, :mod:`neurodyn.sparse_network`), K
nonzero couplings per row with J_ij ~ N(J_mean / K, 1 / K).

The vector field :func:`drift` is defined once here; simulation, Lyapunov tangent dynamics and
every learning rule call it (and differentiate it with jax) rather than re-deriving it. It asks the
network for its recurrent input (:meth:`AbstractNetwork.recurrent`), so dense and sparse networks
share every caller.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import model_parameters, nonlinearity, resources, validation
from .errors import ParameterError
from .network_base import DTYPES, AbstractNetwork, _field_dtype, canonical_dtype
from .rng import key as random_key

__all__ = ["DTYPES", "AbstractNetwork", "Network", "canonical_dtype", "drift", "rate"]


class Network(AbstractNetwork):
    """An SCS random network (an equinox Module, hence a pytree: jit/vmap/grad see J, θ, g).

    **Fields:**
    - ``J``: couplings, shape (neuron, neuron); row i holds the inputs of neuron i.
    - ``theta``: static biases, shape (neuron,).
    - ``g``: gain inside φ, a 0-d array (so sweeps over g do not recompile).
    - ``phi``: the :class:`~neurodyn.nonlinearity.Nonlinearity` (static; ``phi.name`` is its
      name). The constructors accept a registered name or a Nonlinearity.
    - ``params``: the construction parameters (static, for provenance), as (name, value) pairs.
    """

    J: jax.Array
    theta: jax.Array
    g: jax.Array
    phi: nonlinearity.Nonlinearity = eqx.field(static=True, converter=nonlinearity.get)
    params: tuple[tuple[str, Any], ...] = eqx.field(static=True, default=())
    dense: ClassVar[bool] = True

    @property
    def N(self) -> int:
        """Number of neurons."""
        return self.J.shape[0]

    @property
    def dtype(self) -> str:
        return np.dtype(self.J.dtype).name

    @property
    def couplings(self) -> jax.Array:
        """J itself, shape (N, N)."""
        return self.J

    def recurrent(self, r: jax.Array) -> jax.Array:
        """J r for r of shape (..., N): a matrix–vector product, or one matrix–matrix product
        for a batch of trials."""
        # J is the left operand so the contraction streams J row by row in its stored layout:
        # written as ``r @ J.T``, XLA:CPU handled the single-trajectory float64 case as a
        # transposed matvec that ran 4.5x slower at N = 4000 (10.7 vs 2.2 ms per product,
        # benchmarks/RESULTS.md); batched GEMMs take the same time either way.
        return jnp.einsum("ij,...j->...i", self.J, r)

    def abs_row_sum(self) -> jax.Array:
        return jnp.sum(jnp.abs(self.J), axis=-1)

    def diagonal(self) -> jax.Array:
        return jnp.diagonal(self.J)

    def check_fields(self) -> Network:
        """Refuse (ParameterError) a network whose fields do not fit together: J square and
        floating, θ of shape (N,), g a scalar, all of one dtype, φ a Nonlinearity. Network.random and
        from_arrays build consistent networks; this catches ones assembled or edited by hand
        (``Network(...)``, ``eqx.tree_at``) before a solve compiles on them.

        **Returns:** the network itself.
        """
        if not isinstance(self.phi, nonlinearity.Nonlinearity):
            raise ParameterError(f"Network field phi={self.phi!r}; a "
                                 "neurodyn.nonlinearity.Nonlinearity is required")
        shape = tuple(np.shape(self.J))
        if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
            raise ParameterError(f"Network field J has shape {shape}; a non-empty square "
                                 "(N, N) matrix is required")
        if tuple(np.shape(self.theta)) != (shape[0],):
            raise ParameterError(f"Network field theta has shape {tuple(np.shape(self.theta))}; "
                                 f"shape ({shape[0]},) is required")
        if np.shape(self.g) != ():
            raise ParameterError(f"Network field g has shape {np.shape(self.g)}; a scalar is "
                                 "required")
        dtypes = {name: _field_dtype(name, value)
                  for name, value in (("J", self.J), ("theta", self.theta), ("g", self.g))}
        if len(set(dtypes.values())) > 1:
            listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
            raise ParameterError(f"Network fields have mixed dtypes ({listed}); J, theta and g "
                                 "must share one dtype, float64 or float32 (cast them all)")
        return self

    def without_metadata(self) -> Network:
        """The same network with ``params`` emptied.

        Static fields are part of jit's cache key; dropping the construction record before a
        compiled call means networks that differ only in seed or g share one compilation.
        """
        return Network(J=self.J, theta=self.theta, g=self.g, phi=self.phi)

    @classmethod
    def random(
        cls,
        N: int = 1000,
        g: float = 2.0,
        phi: str | nonlinearity.Nonlinearity = "tanh",
        J_mean: float = 0.0,
        symmetry: float = 0.0,
        theta_mean: float = 0.0,
        theta_std: float = 0.0,
        seed: int = 0,
        dtype: str = "float64",
        K: int | None = None,
    ) -> AbstractNetwork:
        """Draw a network from ``seed``: dense, or with fixed in-degree ``K``.

        The couplings are ``J = (a X + b Xᵀ)/√N + J_mean/N`` with X iid N(0, 1),
        ``a = (√(1+η) + √(1−η))/2`` and ``b = (√(1+η) − √(1−η))/2``: then a² + b² = 1 (so
        Var J_ij = 1/N) and 2ab = η (so corr(J_ij, J_ji) = η). η = 0 gives X/√N exactly, η = 1
        a symmetric matrix. Random numbers are drawn in float64 with jax's counter-based
        threefry generator (identical on every platform) and then cast to ``dtype``, so the
        float32 network is the rounded float64 one.

        **Arguments:** N ≥ 1 neurons; g ≥ 0; ``phi`` a registered name (tanh, erf, relu) or a
        :class:`~neurodyn.nonlinearity.Nonlinearity`; ``J_mean`` (mean
        coupling × N); ``symmetry`` η ∈ [−1, 1]; ``theta_mean``, ``theta_std`` ≥ 0 of the biases;
        ``seed`` ≥ 0; ``dtype`` ∈ {float64, float32}; ``K``: None (dense) or the in-degree,
        an integer in [1, N]: each neuron receives K partners drawn without replacement, with
        weights N(J_mean / K, 1 / K), stored as (N, K) arrays — a
        :class:`~neurodyn.sparse_network.SparseNetwork` (see
        :func:`neurodyn.sparse_network.random_sparse`; η ≠ 0 is refused there).
        """
        if K is not None:
            from .sparse_network import random_sparse

            return random_sparse(N=N, K=K, g=g, phi=phi, J_mean=J_mean, symmetry=symmetry,
                                 theta_mean=theta_mean, theta_std=theta_std, seed=seed,
                                 dtype=dtype)
        N = validation.positive_int("N", N)
        g = model_parameters.g("g", g)
        phi = nonlinearity.get(phi)
        J_mean = model_parameters.J_mean("J_mean", J_mean)
        symmetry = model_parameters.symmetry("symmetry", symmetry)
        theta_mean = model_parameters.theta_mean("theta_mean", theta_mean)
        theta_std = model_parameters.theta_std("theta_std", theta_std)
        seed = validation.seed("seed", seed)
        dtype = canonical_dtype(dtype)
        # Refused up front (the estimate the command line uses too): XLA's out-of-memory abort
        # is a 30-line traceback.
        resources.check_memory(f"Network.random N={N}, dtype={dtype} (J is N x N)",
                               resources.network_bytes(N, dtype), hint="reduce N")

        key_J, key_theta = random_key(seed, "couplings"), random_key(seed, "biases")
        X = jax.random.normal(key_J, (N, N), dtype=jnp.float64)
        a = (math.sqrt(1.0 + symmetry) + math.sqrt(1.0 - symmetry)) / 2.0
        b = (math.sqrt(1.0 + symmetry) - math.sqrt(1.0 - symmetry)) / 2.0
        J = X if b == 0.0 else a * X + b * X.T
        J = J / math.sqrt(N) + J_mean / N
        theta = theta_mean + theta_std * jax.random.normal(key_theta, (N,), dtype=jnp.float64)
        params = (
            ("N", N), ("g", g), ("phi", phi.name), ("J_mean", J_mean), ("symmetry", symmetry),
            ("theta_mean", theta_mean), ("theta_std", theta_std), ("seed", seed),
            ("dtype", dtype),
        )
        return cls(
            J=J.astype(dtype),
            theta=theta.astype(dtype),
            g=jnp.asarray(g, dtype=dtype),
            phi=phi,
            params=params,
        )

    @classmethod
    def from_arrays(cls, J: Any, theta: Any = None, g: float = 1.0,
                    phi: str | nonlinearity.Nonlinearity = "tanh") -> Network:
        """A network from given couplings ``J`` (N, N) and biases ``theta`` (N,) (zeros if None);
        ``phi`` a registered name or a :class:`~neurodyn.nonlinearity.Nonlinearity`."""
        J_dtype = np.dtype(J.dtype if hasattr(J, "dtype") else np.asarray(J).dtype)
        if J_dtype.name not in DTYPES:
            raise ParameterError(f"J has dtype {J_dtype.name}; a float64 or float32 array is "
                                 "required (convert it with J.astype(float))")
        J = jnp.asarray(J)
        if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] == 0:
            raise ParameterError(f"J has shape {J.shape}; a non-empty square (N, N) matrix is required")
        dtype = canonical_dtype(J.dtype)
        theta = jnp.zeros(J.shape[0], dtype) if theta is None else jnp.asarray(theta, dtype)
        if theta.shape != (J.shape[0],):
            raise ParameterError(f"theta has shape {theta.shape}; shape ({J.shape[0]},) is required")
        if not (bool(jnp.all(jnp.isfinite(J))) and bool(jnp.all(jnp.isfinite(theta)))):
            raise ParameterError("J and theta must be finite; they contain NaN or inf")
        g = model_parameters.g("g", g)
        phi = nonlinearity.get(phi)
        return cls(J=J, theta=theta, g=jnp.asarray(g, dtype), phi=phi,
                   params=(("source", "from_arrays"),))


def rate(h: jax.Array, net: AbstractNetwork) -> jax.Array:
    """Firing rate φ(g h), same shape as h."""
    return net.phi.phi(net.g * h)


def drift(h: jax.Array, net: AbstractNetwork, external: jax.Array | float = 0.0) -> jax.Array:
    """The vector field ``F(h) = −h + J φ(g h) + θ + external``.

    **Arguments:** ``h`` of shape (..., neuron) — a batch of trials is one matrix–matrix
    product (dense) or one gather (sparse); ``net`` any :class:`AbstractNetwork`; ``external``
    broadcastable to h (time-dependent input, already evaluated).

    **Returns:** dh/dt with the shape of ``h``.
    """
    return -h + net.recurrent(rate(h, net)) + net.theta + external
