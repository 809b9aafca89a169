"""Trainable parameters of an SCS network with input and readout weights.

The learning rules all differentiate the same vector field,

    F(h, w, x) = −h + J φ(g h) + θ + B x,     readout r = W_out φ(g h),

which is :func:`neurodyn.network.drift` applied to the network inside :class:`Params`; no learning
rule re-derives it.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import rng
from ..network import AbstractNetwork, Network, drift, rate
from ..nonlinearity import PhiLike

TRAINABLE = ("J", "theta", "B", "W_out")
"""Names of the parameter groups a learning rule can train (any subset)."""


class Params(eqx.Module):
    """Network plus input and readout weights.

    **Fields:**
    - ``net``: the network (J (n, n), θ (n,), g, φ): a dense
      :class:`~neurodyn.network.Network`, or a sparse one
      (:class:`~neurodyn.sparse_network.SparseNetwork`, whose group "J" is its (n, K) weights;
      only the rules with ``sparse = True`` take it).
    - ``B``: input weights, shape (n, n_in).
    - ``W_out``: readout weights, shape (n_out, n).
    """

    net: AbstractNetwork
    B: jax.Array
    W_out: jax.Array

    @property
    def n(self) -> int:
        return self.net.N

    @classmethod
    def random(
        cls, n: int, n_in: int = 1, n_out: int = 1, g: float = 0.8, phi: PhiLike = "tanh",
        symmetry: float = 0.0, seed: int = 0, dtype: str = "float64", K: int | None = None,
    ) -> Params:
        """Random network (see :meth:`Network.random`; ``phi`` a registered name or a
        :class:`~neurodyn.nonlinearity.Nonlinearity`; ``K`` the in-degree of a sparse network,
        None for dense) with B, W_out ~ N(0, 1/n)."""
        net = Network.random(N=n, g=g, phi=phi, symmetry=symmetry, seed=seed, dtype=dtype, K=K)
        key_B, key_out = rng.key(seed, "input_weights"), rng.key(seed, "readout_weights")
        B = jax.random.normal(key_B, (n, n_in), jnp.float64) / jnp.sqrt(n)
        W_out = jax.random.normal(key_out, (n_out, n), jnp.float64) / jnp.sqrt(n)
        return cls(net=net, B=B.astype(dtype), W_out=W_out.astype(dtype))

    def without_metadata(self) -> Params:
        """These params with the network's construction record dropped. Static fields are part
        of jit's cache key, so networks differing only in seed or g then share one compilation;
        every rule calls its compiled gradient on this."""
        return eqx.tree_at(lambda p: p.net, self, self.net.without_metadata())

    def get(self, name: str) -> jax.Array:
        """The array of parameter group ``name`` ∈ TRAINABLE ("J": the network's couplings,
        (n, n) dense or (n, K) sparse)."""
        return {"J": self.net.couplings, "theta": self.net.theta, "B": self.B, "W_out": self.W_out}[name]

    def replace(self, **groups: jax.Array) -> Params:
        """A copy with some groups (names from TRAINABLE) replaced."""
        out = self
        for name, value in groups.items():
            where = {
                "J": lambda p: p.net.couplings, "theta": lambda p: p.net.theta,
                "B": lambda p: p.B, "W_out": lambda p: p.W_out,
            }[name]
            out = eqx.tree_at(where, out, value)
        return out


def vector_field(h: jax.Array, params: Params, x: jax.Array) -> jax.Array:
    """F(h, w, x) = −h + J φ(g h) + θ + B x; ``h`` (..., n), ``x`` (..., n_in)."""
    return drift(h, params.net, x @ params.B.T)


def readout(h: jax.Array, params: Params) -> jax.Array:
    """r = W_out φ(g h); ``h`` (..., n) → (..., n_out)."""
    return rate(h, params.net) @ params.W_out.T
