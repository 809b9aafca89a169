"""Fixed-step Euler–Maruyama for additive noise, ``h ← h + F(h) dt + σ √dt ξ``, as a
``jax.lax.scan`` whose Gaussian increments are drawn a block of steps at a time.

Why not diffrax here (the other solvers use it): measured at N = 1000, one trajectory
(benchmarks/RESULTS.md, bench_peers SDE rows and the performance notes), diffrax's ``Euler`` with
``UnsafeBrownianPath`` costs ~61 µs per step against 47.7 µs for the bare drift, and was no
faster than a hand-written NumPy loop: each step draws its 1000 normals through a key folded with
the step's time. Drawing a block of steps' increments in one call brings the step to ~54 µs. For
64 trials both take the same time (the GEMM dominates). Checked in diffrax 0.7.2: its Brownian
paths (``UnsafeBrownianPath``, ``VirtualBrownianTree``) draw per step or per query; none draws a
block of increments ahead.

Streams: save interval k (k = 1 … n−1, from ``transient + (k−1)·dt_save`` to
``transient + k·dt_save``) uses ``fold_in(key, k)``, split into one key per block; the transient
uses ``fold_in(key, 0)``, one key per step. A run split into chunks (for a progress bar) is
therefore bit-identical to one run in a single call.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .network import AbstractNetwork, drift

BLOCK_NUMBERS = 2**17
"""Most Gaussian numbers drawn in one block (1 MiB in float64): big enough to amortise the draw,
small enough to stay in cache next to J."""


def block_length(steps_per_save: int, state_size: int) -> int:
    """Steps per noise block: the largest divisor of ``steps_per_save`` whose block holds at
    most BLOCK_NUMBERS numbers (``state_size`` = trials · N per step); at least 1."""
    most = max(1, BLOCK_NUMBERS // state_size)
    return max(d for d in range(1, min(steps_per_save, most) + 1) if steps_per_save % d == 0)


def transient_steps(transient: float, dt: float) -> tuple[int, float]:
    """Steps and step length covering ``transient`` exactly with steps no longer than ``dt``."""
    if transient <= 0.0:
        return 0, dt
    steps = math.ceil(transient / dt - 1e-9)
    return steps, transient / steps


def _step(h, t, z, net, external, noise, dt):
    return h + dt * drift(h, net, external(t)) + (noise * jnp.sqrt(dt)) * z


@eqx.filter_jit
def run_transient(net: AbstractNetwork, h0, key, noise, dt, steps, external):
    """h after ``steps`` steps of length ``dt`` from t = 0; shape of ``h0`` (trial, neuron).
    ``steps`` is traced (a sweep over transients does not recompile); per-step draws."""
    stream = jax.random.fold_in(key, 0)

    def body(i, h):
        z = jax.random.normal(jax.random.fold_in(stream, i), h.shape, h.dtype)
        return _step(h, i * dt, z, net, external, noise, dt)

    return jax.lax.fori_loop(0, steps, body, h0)


@eqx.filter_jit
def run_intervals(net: AbstractNetwork, h, key, noise, dt, t_first, first_interval, external,
                  intervals: int, steps_per_save: int, block: int):
    """Integrate ``intervals`` save intervals, the first numbered ``first_interval`` and
    starting at time ``t_first`` from state ``h`` (trial, neuron).

    **Returns:** h at the end of each interval, shape (intervals, trial, neuron).
    ``intervals``, ``steps_per_save`` and ``block`` are static (they set shapes and loops).
    """
    dt_save = dt * steps_per_save

    def interval(h, k):
        keys = jax.random.split(jax.random.fold_in(key, first_interval + k), steps_per_save // block)
        t_start = t_first + k * dt_save

        def one_block(h, block_key_and_index):
            block_key, b = block_key_and_index
            increments = jax.random.normal(block_key, (block,) + h.shape, h.dtype)

            def step(h, z_and_index):
                z, i = z_and_index
                return _step(h, t_start + (b * block + i) * dt, z, net, external, noise, dt), None

            return jax.lax.scan(step, h, (increments, jnp.arange(block)))[0], None

        h = jax.lax.scan(one_block, h, (keys, jnp.arange(steps_per_save // block)))[0]
        return h, h

    return jax.lax.scan(interval, h, jnp.arange(intervals))[1]
