"""neurodyn's one random-number scheme: every stream is ``key(seed, purpose)``.

A stream's key is the root key ``jax.random.PRNGKey(seed)`` with the integers of its purpose
folded in one after the other (``jax.random.fold_in``), from the fixed table :data:`PURPOSES`:

===================  ===================  =============================================
purpose              folded in            drawn by
===================  ===================  =============================================
couplings            0                    :meth:`Network.random`: J (N, N)
biases               1                    :meth:`Network.random`: θ (N,)
sparse_partners      2                    :meth:`Network.random` with K: the (N, K) partners
initial_state        SIMULATION, 0        :func:`simulate` / :func:`lyapunov`: h(0)
noise                SIMULATION, 1        :func:`simulate`: the Brownian motion
tangents             SIMULATION, 2        :func:`lyapunov`: the initial tangent vectors
lyapunov_noise       SIMULATION, 3        :func:`lyapunov` with noise: the Brownian motion
input_weights        LEARNING, 0          :meth:`learning.Params.random`: B (n, n_in)
readout_weights      LEARNING, 1          :meth:`learning.Params.random`: W_out (n_out, n)
task_initial_state   LEARNING, 2          learning tasks (sine_generation, learn-bench): h0
uoro                 LEARNING, 3          :class:`learning.Uoro`: the signs of every step
kf_rtrl              LEARNING, 4          :class:`learning.KfRtrl`: the signs of every step
online_weights       LEARNING, 5          learn-bench: the online rules' random weights
flossing_basis       LEARNING, 10         :mod:`learning.flossing`: the initial tangent basis
task_pulses          LEARNING, 11         :func:`learning.flip_flop`: the input pulses
deep_layers          DEEP                 :func:`deep.simulate_deep`: one key per layer
sampling_dmft        SAMPLING_DMFT        :func:`dmft.sampling`: the single-site paths
===================  ===================  =============================================

with the domains SIMULATION = 0x73696D75 ("simu" in ASCII), LEARNING = 0x6C726E67 ("lrng"),
DEEP = 0x64656570 ("deep") and SAMPLING_DMFT = 0x646D6673 ("dmfs"). Two purposes never share
their sequence of folds, so their keys differ (threefry's fold_in is a hash of the key and the
integer: distinct keys give streams with no usable correlation). The table is part of the
stored runs' meaning: an entry is never renumbered, a new purpose is a new row.

Compatibility: ``split(k)[i] == fold_in(k, i)`` in jax (threefry2x32, checked in
tests/test_rng.py), so ``couplings`` and ``biases`` are exactly the keys
``jax.random.split(PRNGKey(seed))`` that :meth:`Network.random` used before this module, and
the simulation purposes are exactly the former ``simulate.simulation_key(seed, stream)``
(``fold_in(fold_in(PRNGKey(seed), 0x73696D75), stream)``): every network, simulation and
Lyapunov result of a given seed is unchanged. The learning and deep streams changed when this
scheme was introduced (CHANGELOG.md).

The simulation domain exists because without it a network and a simulation with equal seeds
drew h(0) from J's key (measured: equal-time variance 40 % high during the transient).
"""

from __future__ import annotations

import jax

from . import validation
from .errors import ParameterError

SIMULATION = 0x73696D75
"""Domain of the simulation streams ("simu")."""
LEARNING = 0x6C726E67
"""Domain of the learning streams ("lrng")."""
DEEP = 0x64656570
"""Domain of the deep-network streams ("deep")."""
SAMPLING_DMFT = 0x646D6673
"""Domain of the sampling DMFT's single-site paths ("dmfs")."""

PURPOSES: dict[str, tuple[int, ...]] = {
    "couplings": (0,),
    "biases": (1,),
    "sparse_partners": (2,),
    "initial_state": (SIMULATION, 0),
    "noise": (SIMULATION, 1),
    "tangents": (SIMULATION, 2),
    "lyapunov_noise": (SIMULATION, 3),
    "input_weights": (LEARNING, 0),
    "readout_weights": (LEARNING, 1),
    "task_initial_state": (LEARNING, 2),
    "uoro": (LEARNING, 3),
    "kf_rtrl": (LEARNING, 4),
    "online_weights": (LEARNING, 5),
    "flossing_basis": (LEARNING, 10),
    "task_pulses": (LEARNING, 11),
    "deep_layers": (DEEP,),
    "sampling_dmft": (SAMPLING_DMFT,),
}
"""Purpose → the integers folded, in order, into ``PRNGKey(seed)`` (see the module docstring)."""


def key(seed: int, purpose: str) -> jax.Array:
    """The key of the random stream ``purpose`` of ``seed``.

    **Arguments:** ``seed``: a non-negative integer, or a traced integer scalar (inside
    ``jit``/``vmap``, e.g. the seed field of a stochastic learning rule: one compilation for
    every seed; its value cannot be checked there); ``purpose``: a name in :data:`PURPOSES`.

    **Returns:** a raw key, uint32 of shape (2,) (the format of ``jax.random.PRNGKey``).

    **Raises:** :class:`ParameterError` for a negative or non-integer seed or an unknown
    purpose.
    """
    if isinstance(seed, jax.core.Tracer):
        if seed.shape != () or not jax.numpy.issubdtype(seed.dtype, jax.numpy.integer):
            raise ParameterError(f"seed must be an integer scalar, got {seed.dtype}{seed.shape}")
    else:
        seed = validation.seed("seed", seed)
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise ParameterError(f"purpose={purpose!r} is unknown; allowed: {', '.join(PURPOSES)}")
    stream = jax.random.PRNGKey(seed)
    for domain in PURPOSES[purpose]:
        stream = jax.random.fold_in(stream, domain)
    return stream


__all__ = ["DEEP", "LEARNING", "PURPOSES", "SIMULATION", "key"]
