"""Sparse SCS networks of fixed in-degree K: every neuron receives K couplings.

Model (time in units of the membrane time constant)::

    dh_i/dt = −h_i + Σ_k w_ik φ(g h_{idx_ik}) + θ_i (+ input_i(t))
    idx_i: K distinct presynaptic partners of neuron i, uniform among the K-subsets of {0 … N−1}
    w_ik ~ N(J_mean / K, 1 / K) iid,   θ_i ~ N(θ̄, σ_θ²)

Var(w)·K = 1, as Var(J_ij)·N = 1 for the dense network (:mod:`neurodyn.network`), so the local
field Σ_k w_ik φ_k has the variance ⟨φ²⟩ and the mean J_mean·⟨φ⟩ of the dense SCS model, and the
dense dynamic mean-field theory (:func:`neurodyn.dmft.stationary`) holds as K, N → ∞ (the
partners of two neurons overlap in K²/N of their inputs, which vanishes relative to K when
K ≪ N). Self-couplings are allowed, as in the dense network (i is a partner of i with
probability K/N).

Stored as an (N, K) int32 partner index and (N, K) weights — O(N K) memory, never a dense J.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import model_parameters, nonlinearity, resources, validation
from .errors import ParameterError
from .network_base import AbstractNetwork, _field_dtype, canonical_dtype
from .rng import key as random_key

GATHER_BLOCK_ELEMENTS = resources.SPARSE_BLOCK_ELEMENTS
"""Entries (trials × rows × K) gathered at once by :meth:`SparseNetwork.recurrent` when the
whole product is larger than PLAIN_GATHER_ELEMENTS."""

PLAIN_GATHER_ELEMENTS = 2**24
"""Products with at most this many gathered entries (trials × N × K) are one gather.

Why: XLA:CPU does not fuse the gather ``r[..., idx]`` into the reduction over K; it writes the
whole (..., N, K) gathered array first. Measured (scripts/sparse_matvec_choice.py,
benchmarks/sparse_matvec_choice.json, N = 10⁵, float32, on the shared 2-core VM): one trial,
the plain gather was the fastest of the plain gather, row blocks in ``lax.map``,
``jax.ops.segment_sum`` and ``jax.experimental.sparse.BCOO`` (K = 100: 45, 99, 113 and 150 ms;
K = 1000: 0.34, 0.72, 0.70 and 2.3 s); four trials, the row blocks were the fastest (K = 100:
0.20 s blocks, 0.22 segment_sum, 0.30 BCOO, 0.37 plain; K = 1000: 1.7, 2.0, 4.7 and 5.9 s), and
they bound the temporary: N = 10⁶, K = 1000 gathered at once is 4 GB per trial."""


class SparseNetwork(AbstractNetwork):
    """An SCS network with fixed in-degree K (an equinox Module, hence a pytree).

    **Fields:**
    - ``index``: presynaptic partners, int32 of shape (neuron, K); row i lists the K distinct
      neurons j with J_ij ≠ 0, in increasing order (sorted rows make the gather read r in order).
    - ``weights``: the couplings J_{i, index[i, k]}, shape (neuron, K).
    - ``theta``: static biases, shape (neuron,).
    - ``g``: gain inside φ, a 0-d array.
    - ``phi``: the :class:`~neurodyn.nonlinearity.Nonlinearity` (static).
    - ``params``: the construction parameters (static, for provenance), as (name, value) pairs.
    """

    index: jax.Array
    weights: jax.Array
    theta: jax.Array
    g: jax.Array
    phi: nonlinearity.Nonlinearity = eqx.field(static=True, converter=nonlinearity.get)
    params: tuple[tuple[str, Any], ...] = eqx.field(static=True, default=())
    dense: ClassVar[bool] = False

    @property
    def N(self) -> int:
        """Number of neurons."""
        return self.index.shape[0]

    @property
    def K(self) -> int:
        """In-degree: couplings per neuron."""
        return self.index.shape[1]

    @property
    def dtype(self) -> str:
        return np.dtype(self.weights.dtype).name

    @property
    def couplings(self) -> jax.Array:
        """The weights, shape (N, K) (what the learning group "J" trains)."""
        return self.weights

    def recurrent(self, r: jax.Array) -> jax.Array:
        """Σ_k w_ik r_{idx_ik} for ``r`` of shape (..., N) → (..., N): a gather and a sum over
        K, in row blocks of GATHER_BLOCK_ELEMENTS entries when the product is larger than
        PLAIN_GATHER_ELEMENTS (see there for what was measured)."""
        # The barrier makes XLA compute r (e.g. tanh(g h) in the drift) once before the gather:
        # without it XLA:CPU fused φ into the gather and evaluated it K times per neuron
        # (N = 10⁵, K = 100, float32: 118 ms per drift, 56 ms with the barrier, 38 ms for the
        # bare gather of a given r; measured while another job ran).
        r = jax.lax.optimization_barrier(r)
        trials = math.prod(r.shape[:-1])
        N, K = self.index.shape
        if trials * N * K <= PLAIN_GATHER_ELEMENTS:
            return jnp.sum(self.weights * r[..., self.index], axis=-1)
        rows = max(1, min(N, GATHER_BLOCK_ELEMENTS // (trials * K)))
        blocks = N // rows
        cut = blocks * rows

        def block(arrays):
            weights, index = arrays
            return jnp.sum(weights * r[..., index], axis=-1)

        head = jax.lax.map(block, (self.weights[:cut].reshape(blocks, rows, K),
                                   self.index[:cut].reshape(blocks, rows, K)))
        head = jnp.moveaxis(head, 0, -2).reshape(r.shape[:-1] + (cut,))
        if cut == N:
            return head
        tail = block((self.weights[cut:], self.index[cut:]))
        return jnp.concatenate([head, tail], axis=-1)

    def abs_row_sum(self) -> jax.Array:
        return jnp.sum(jnp.abs(self.weights), axis=-1)

    def diagonal(self) -> jax.Array:
        """J_ii: the weight of i's self-coupling if i is among its partners, else 0."""
        own = self.index == jnp.arange(self.N, dtype=self.index.dtype)[:, None]
        return jnp.sum(jnp.where(own, self.weights, 0.0), axis=-1)

    def to_dense(self) -> jax.Array:
        """The equivalent dense J, shape (N, N) (for tests and small N; refused when it would
        not fit in memory)."""
        resources.check_memory(f"SparseNetwork.to_dense N={self.N}, dtype={self.dtype}",
                               float(self.N) * self.N * resources.itemsize(self.dtype),
                               hint="keep the network sparse")
        rows = jnp.broadcast_to(jnp.arange(self.N)[:, None], self.index.shape)
        return jnp.zeros((self.N, self.N), self.weights.dtype).at[rows, self.index].add(
            self.weights)

    def check_fields(self) -> SparseNetwork:
        """Refuse (ParameterError) fields that do not fit together: index int32 (N, K) with
        1 ≤ K ≤ N and entries in [0, N), weights (N, K) floating, θ (N,), g a scalar, one
        dtype, φ a Nonlinearity. **Returns:** the network itself."""
        if not isinstance(self.phi, nonlinearity.Nonlinearity):
            raise ParameterError(f"SparseNetwork field phi={self.phi!r}; a "
                                 "neurodyn.nonlinearity.Nonlinearity is required")
        shape = tuple(np.shape(self.index))
        if len(shape) != 2 or shape[0] == 0 or not 1 <= shape[1] <= shape[0]:
            raise ParameterError(f"SparseNetwork field index has shape {shape}; (N, K) with "
                                 "N >= 1 and 1 <= K <= N is required")
        if np.dtype(self.index.dtype) != np.int32:
            raise ParameterError(f"SparseNetwork field index has dtype {self.index.dtype}; int32 "
                                 "is required")
        if tuple(np.shape(self.weights)) != shape:
            raise ParameterError(f"SparseNetwork field weights has shape "
                                 f"{tuple(np.shape(self.weights))}; the index's {shape} is "
                                 "required")
        N = shape[0]
        if tuple(np.shape(self.theta)) != (N,):
            raise ParameterError(f"SparseNetwork field theta has shape "
                                 f"{tuple(np.shape(self.theta))}; shape ({N},) is required")
        if np.shape(self.g) != ():
            raise ParameterError(f"SparseNetwork field g has shape {np.shape(self.g)}; a scalar "
                                 "is required")
        dtypes = {name: _field_dtype(name, value) for name, value in
                  (("weights", self.weights), ("theta", self.theta), ("g", self.g))}
        if len(set(dtypes.values())) > 1:
            listed = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
            raise ParameterError(f"SparseNetwork fields have mixed dtypes ({listed}); weights, "
                                 "theta and g must share one dtype, float64 or float32")
        # an index outside [0, N) would be clamped by the gather: a silently wrong network
        low, high = int(jnp.min(self.index)), int(jnp.max(self.index))
        if low < 0 or high >= N:
            raise ParameterError(f"SparseNetwork field index has entries in [{low}, {high}]; "
                                 f"entries in [0, N={N}) are required")
        return self

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: the construction parameters plus N, K, g, φ and dtype."""
        info = super().describe()
        info["K"] = int(self.K)
        return info

    def without_metadata(self) -> SparseNetwork:
        return SparseNetwork(index=self.index, weights=self.weights, theta=self.theta, g=self.g,
                             phi=self.phi)

    @classmethod
    def from_arrays(cls, index: Any, weights: Any, theta: Any = None, g: float = 1.0,
                    phi: str | nonlinearity.Nonlinearity = "tanh") -> SparseNetwork:
        """A sparse network from given partners ``index`` (N, K) and ``weights`` (N, K) (float64
        or float32) and biases ``theta`` (N,) (zeros if None)."""
        weights = jnp.asarray(weights)
        dtype = canonical_dtype(weights.dtype)
        theta = jnp.zeros(weights.shape[0], dtype) if theta is None else jnp.asarray(theta, dtype)
        index = np.asarray(index)
        if not np.issubdtype(index.dtype, np.integer):
            raise ParameterError(f"index has dtype {index.dtype}; integers are required")
        net = cls(index=jnp.asarray(index, jnp.int32), weights=weights, theta=theta,
                  g=jnp.asarray(model_parameters.g("g", g), dtype), phi=nonlinearity.get(phi),
                  params=(("source", "from_arrays"),))
        net.check_fields()
        if not (bool(jnp.all(jnp.isfinite(weights))) and bool(jnp.all(jnp.isfinite(theta)))):
            raise ParameterError("weights and theta must be finite; they contain NaN or inf")
        return net


def _row_partners(key: jax.Array, N: int, K: int) -> jax.Array:
    """K distinct integers of [0, N), sorted, uniform among the K-subsets; shape (K,) int32.

    K ≤ N/2: draw K with replacement, sort, redraw the repeated entries, until none repeats.
    Each round maps the set S of distinct values to S ∪ {K − |S| iid uniform draws}; that map
    commutes with every relabelling of {0 … N−1}, so the final set's law is invariant under
    relabelling, i.e. uniform over K-subsets. A redraw collides with probability < K/N ≤ 1/2,
    so the rounds are few (K²/2N repeats are expected in the first: 0.5 at N = 10⁶, K = 1000).
    K > N/2: the first K of a random permutation (O(N) = O(K) work).

    Written here: jax.random.choice(replace=False) draws a permutation of N per row (O(N) per
    row, O(N²) for the network) and NumPy's Generator.choice is host-side and sequential.
    """
    if 2 * K > N:
        return jnp.sort(jax.random.permutation(key, N)[:K]).astype(jnp.int32)

    def draw(round_):
        return jax.random.randint(jax.random.fold_in(key, round_), (K,), 0, N, jnp.int32)

    def repeats(x):
        return jnp.concatenate([jnp.zeros(1, bool), x[1:] == x[:-1]])

    def redraw(state):
        x, round_ = state
        return jnp.sort(jnp.where(repeats(x), draw(round_), x)), round_ + 1

    x, _ = jax.lax.while_loop(lambda state: jnp.any(repeats(state[0])), redraw,
                              (jnp.sort(draw(0)), 1))
    return x


@functools.partial(jax.jit, static_argnames=("N", "K", "rows"), donate_argnums=(0, 1))
def _fill_block(index, weights, start, key_partners, key_weights, J_mean, N: int, K: int,
                rows: int):
    """Rows start … start + rows − 1 of the partners and weights, written in place (the donated
    arrays are updated, not copied). Row i is drawn from keys folded with i, so the network does
    not depend on the block size."""
    row_ids = start + jnp.arange(rows)
    keys_p = jax.vmap(lambda i: jax.random.fold_in(key_partners, i))(row_ids)
    keys_w = jax.vmap(lambda i: jax.random.fold_in(key_weights, i))(row_ids)
    partners = jax.vmap(functools.partial(_row_partners, N=N, K=K))(keys_p)
    draws = jax.vmap(lambda k: jax.random.normal(k, (K,), jnp.float64))(keys_w)
    values = draws / math.sqrt(K) + J_mean / K
    index = jax.lax.dynamic_update_slice(index, partners, (start, 0))
    weights = jax.lax.dynamic_update_slice(weights, values.astype(weights.dtype), (start, 0))
    return index, weights


def random_sparse(N: int, K: int, g: float = 2.0, phi: str | nonlinearity.Nonlinearity = "tanh",
                  J_mean: float = 0.0, symmetry: float = 0.0, theta_mean: float = 0.0,
                  theta_std: float = 0.0, seed: int = 0,
                  dtype: str = "float64") -> SparseNetwork:
    """Draw a fixed-in-degree network from ``seed`` (what ``Network.random(K=...)`` returns).

    Partners from the purpose ``sparse_partners``, weights from ``couplings`` (each row i from
    the purpose's key folded with i, in float64, then cast to ``dtype``), θ from ``biases`` as
    in the dense network. Built in blocks of ~SPARSE_BLOCK_ELEMENTS entries written into the
    (N, K) arrays in place, so the peak is the network plus one block
    (:func:`neurodyn.resources.sparse_network_bytes`, checked before anything is allocated).

    **Arguments:** as :meth:`neurodyn.Network.random`, and ``K`` the in-degree, an integer in
    [1, N]. ``symmetry`` must be 0: a correlation between J_ij and J_ji needs the pairs (i, j),
    (j, i) to be drawn together, which independent rows do not do (refused, not approximated).
    """
    N = validation.positive_int("N", N)
    if isinstance(K, bool) or not isinstance(K, int | float | np.integer) or K != int(K) \
            or not 1 <= int(K) <= N:
        raise ParameterError(f"K={K!r} must be an integer in [1, N={N}] (the in-degree: "
                             "presynaptic partners per neuron)")
    K = int(K)
    g = model_parameters.g("g", g)
    phi = nonlinearity.get(phi)
    J_mean = model_parameters.J_mean("J_mean", J_mean)
    symmetry = model_parameters.symmetry("symmetry", symmetry)
    if symmetry != 0.0:
        raise ParameterError(f"symmetry={symmetry!r} with K={K}: sparse networks have "
                             "independent rows, so only symmetry=0 is available; use a dense "
                             "network (K=None) for eta != 0")
    theta_mean = model_parameters.theta_mean("theta_mean", theta_mean)
    theta_std = model_parameters.theta_std("theta_std", theta_std)
    seed = validation.seed("seed", seed)
    dtype = canonical_dtype(dtype)
    resources.check_memory(
        f"Network.random N={N}, K={K}, dtype={dtype} (an (N, K) index and weights)",
        resources.sparse_network_bytes(N, K, dtype), hint="reduce N or K")

    rows = min(N, max(1, resources.SPARSE_BLOCK_ELEMENTS // K))
    index = jnp.zeros((N, K), jnp.int32)
    weights = jnp.zeros((N, K), dtype)
    key_partners = random_key(seed, "sparse_partners")
    key_weights = random_key(seed, "couplings")
    mean = jnp.asarray(J_mean, jnp.float64)
    for start in range(0, N, rows):
        # the last block is shifted back to end at N (its overlap is redrawn identically)
        index, weights = _fill_block(index, weights, jnp.asarray(min(start, N - rows)),
                                     key_partners, key_weights, mean, N=N, K=K, rows=rows)
    theta = theta_mean + theta_std * jax.random.normal(random_key(seed, "biases"), (N,),
                                                       dtype=jnp.float64)
    params = (
        ("N", N), ("K", K), ("g", g), ("phi", phi.name), ("J_mean", J_mean),
        ("symmetry", symmetry), ("theta_mean", theta_mean), ("theta_std", theta_std),
        ("seed", seed), ("dtype", dtype),
    )
    return SparseNetwork(index=index, weights=weights, theta=theta.astype(dtype),
                         g=jnp.asarray(g, dtype=dtype), phi=phi, params=params)


__all__ = ["SparseNetwork", "random_sparse"]
