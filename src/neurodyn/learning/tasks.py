"""Trajectory tasks: inputs x(t), targets y(t) and weights α(t) on a time grid.

The loss of a trajectory task is

    L(w) = ∫ α(t) ℓ(r(t), y(t)) dt,     ℓ(r, y) = ½ ‖r − y‖²,     r(t) = W_out φ(g h(t)),

with h(t) the solution of dh/dt = F(h, w, x(t)) from the fixed initial state h0. The integral is
the trapezoid rule on the task's sample grid t_0 < … < t_{K−1}:

    L(w) = Σ_k q_k α_k ℓ(r(t_k), y_k),     q = trapezoid weights of the grid,

so L is a function of the exact continuous trajectory at the sample times; every learning rule
(BPTT, adjoint, RTRL) differentiates this same functional. Between samples the input is linearly
interpolated (continuous, piecewise linear in t).
"""

from __future__ import annotations

import abc
import math
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import rng, validation
from ..errors import ParameterError
from .params import Params, readout


class AbstractTask(eqx.Module):
    """What every learning task provides: the sizes it expects of :class:`Params` and the one
    check of them (final tasks: :class:`TrajectoryTask`, :class:`~.fixed_point.FixedPointTask`)."""

    @property
    @abc.abstractmethod
    def n(self) -> int:
        """Number of neurons the task expects."""

    @property
    @abc.abstractmethod
    def n_in(self) -> int:
        """Input channels the task presents."""

    @property
    @abc.abstractmethod
    def n_out(self) -> int:
        """Readout channels the task scores."""

    def check_params(self, params: Params) -> None:
        """Raise ParameterError if ``params`` is not :class:`Params` of this task's shapes."""
        if not isinstance(params, Params):
            raise ParameterError(
                f"params must be neurodyn.learning.Params, got {type(params).__name__}")
        if (params.n != self.n or params.B.shape[1] != self.n_in
                or params.W_out.shape[0] != self.n_out):
            raise ParameterError(
                f"params (n={params.n}, n_in={params.B.shape[1]}, n_out={params.W_out.shape[0]}) "
                f"do not match the task (n={self.n}, n_in={self.n_in}, n_out={self.n_out})")


def trapezoid_weights(times: np.ndarray) -> np.ndarray:
    """Weights q with Σ q_k f(t_k) = trapezoid rule of ∫ f dt on the grid ``times`` (K,)."""
    spacing = np.diff(times)
    q = np.zeros_like(times)
    q[:-1] += spacing / 2
    q[1:] += spacing / 2
    return q


@final
class TrajectoryTask(AbstractTask):
    """A supervised trajectory task (all arrays float, time in units of τ).

    **Fields:**
    - ``times``: sample times t_k, shape (K,), strictly increasing; integration runs t_0 → t_{K−1}.
    - ``inputs``: x(t_k), shape (K, n_in), linearly interpolated in between.
    - ``targets``: y(t_k), shape (K, n_out).
    - ``weights``: α(t_k) ≥ 0, shape (K,) (zero where the output is free, e.g. a washout).
    - ``h0``: initial state h(t_0), shape (n,); not trained.
    - ``quadrature``: q_k α_k, the per-sample loss weight (trapezoid rule times α), shape (K,).
    """

    times: jax.Array
    inputs: jax.Array
    targets: jax.Array
    weights: jax.Array
    h0: jax.Array
    quadrature: jax.Array

    @classmethod
    def create(cls, times, inputs, targets, weights=None, h0=None, n: int | None = None,
               dtype: str = "float64") -> TrajectoryTask:
        """Validate and build a task. ``h0`` defaults to zeros of length ``n``."""
        times_np = np.asarray(times, dtype=np.float64)
        if times_np.ndim != 1 or times_np.size < 2 or not np.all(np.isfinite(times_np)):
            raise ParameterError(f"times has shape {times_np.shape}; a finite 1-D grid of >= 2 "
                                 "sample times is required")
        if not np.all(np.diff(times_np) > 0):
            raise ParameterError("times must be strictly increasing")
        K = times_np.size
        inputs_np = np.asarray(inputs, dtype=np.float64)
        if inputs_np.ndim == 1:
            inputs_np = inputs_np[:, None]
        targets_np = np.asarray(targets, dtype=np.float64)
        if targets_np.ndim == 1:
            targets_np = targets_np[:, None]
        for name, value in (("inputs", inputs_np), ("targets", targets_np)):
            if value.ndim != 2 or value.shape[0] != K:
                raise ParameterError(f"{name} has shape {value.shape}; shape ({K}, channels) is "
                                     "required (one row per sample time)")
            if not np.all(np.isfinite(value)):
                raise ParameterError(f"{name} contains NaN or inf")
        weights_np = np.ones(K) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights_np.shape != (K,) or not np.all(weights_np >= 0):
            raise ParameterError(f"weights must be {K} non-negative numbers, got shape "
                                 f"{weights_np.shape}")
        if h0 is None:
            if n is None:
                raise ParameterError("give h0 (n,) or the number of neurons n")
            h0_np = np.zeros(validation.positive_int("n", n))
        else:
            h0_np = np.asarray(h0, dtype=np.float64)
            if h0_np.ndim != 1 or not np.all(np.isfinite(h0_np)):
                raise ParameterError(f"h0 has shape {h0_np.shape}; a finite (n,) vector is required")
        as_array = lambda a: jnp.asarray(a, dtype=dtype)  # noqa: E731
        return cls(times=as_array(times_np), inputs=as_array(inputs_np),
                   targets=as_array(targets_np), weights=as_array(weights_np),
                   h0=as_array(h0_np),
                   quadrature=as_array(trapezoid_weights(times_np) * weights_np))

    @property
    def n(self) -> int:
        return self.h0.shape[0]

    @property
    def n_in(self) -> int:
        return self.inputs.shape[1]

    @property
    def n_out(self) -> int:
        return self.targets.shape[1]

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0])

    def input_at(self, t: jax.Array) -> jax.Array:
        """x(t), shape (n_in,): linear interpolation of the samples (constant outside the grid)."""
        return jax.vmap(lambda column: jnp.interp(t, self.times, column), in_axes=1)(self.inputs)

    def sample_loss(self, h: jax.Array, params: Params, k: jax.Array) -> jax.Array:
        """q_k α_k ℓ(r(t_k), y_k) for the state ``h`` (n,) at sample ``k``."""
        residual = readout(h, params) - self.targets[k]
        return self.quadrature[k] * 0.5 * jnp.sum(residual**2)

    def loss_from_states(self, states: jax.Array, params: Params) -> jax.Array:
        """L from the states at all sample times, ``states`` (K, n)."""
        residual = readout(states, params) - self.targets
        return jnp.sum(self.quadrature * 0.5 * jnp.sum(residual**2, axis=-1))


def uniform_steps(task: TrajectoryTask, dt: float) -> tuple[int, float]:
    """Fixed steps per sample interval and the step actually used (≤ ``dt``) for the scan paths.

    The scan paths land exactly on every sample time, so the grid must be uniform.
    """
    dt = validation.positive("dt", dt)
    spacing = np.diff(np.asarray(task.times))
    if not np.allclose(spacing, spacing[0], rtol=1e-9, atol=0.0):
        raise ParameterError("fixed-step methods need a uniform sample grid (times equally spaced)")
    steps = max(1, int(math.ceil(spacing[0] / dt - 1e-9)))
    return steps, float(spacing[0] / steps)


def sine_generation(
    n: int = 100, g: float = 1.5, duration: float = 20.0, period: float = 5.0,
    amplitude: float = 0.5, dt_sample: float = 0.1, washout: float = 0.0, seed: int = 0,
    dtype: str = "float64",
) -> tuple[Params, TrajectoryTask]:
    """A chaotic SCS network (gain ``g``, default 1.5) and the task of producing
    y(t) = amplitude · sin(2π t / period) at its readout, with no input (x ≡ 0, n_in = 1).

    h0 ~ N(0, 1) per neuron (seeded); α = 0 during ``washout`` and 1 after. The network is
    :meth:`Params.random` (n, g, seed), so untrained it is chaotic for g > 1 (SCS 1988).
    """
    n = validation.positive_int("n", n)
    duration = validation.positive("duration", duration)
    period = validation.positive("period", period)
    dt_sample = validation.positive("dt_sample", dt_sample)
    washout = validation.in_range("washout", washout, 0.0, duration)
    amplitude = validation.finite("amplitude", amplitude)
    K = int(round(duration / dt_sample)) + 1
    times = np.linspace(0.0, duration, K)
    target = amplitude * np.sin(2 * np.pi * times / period)
    weights = (times >= washout).astype(np.float64)
    params = Params.random(n, n_in=1, n_out=1, g=g, seed=seed, dtype=dtype)
    h0 = np.asarray(jax.random.normal(rng.key(seed, "task_initial_state"), (n,), jnp.float64))
    task = TrajectoryTask.create(times, np.zeros((K, 1)), target, weights, h0=h0, dtype=dtype)
    return params, task


def flip_flop(
    n: int = 100, bits: int = 3, g: float = 1.5, duration: float = 20.0,
    pulse_rate: float = 0.1, pulse_width: float = 1.0, amplitude: float = 1.0,
    dt_sample: float = 0.1, seed: int = 0, trial: int = 0, dtype: str = "float64",
) -> tuple[Params, TrajectoryTask]:
    """The ``bits``-bit flip-flop, a task with memory (Sussillo & Barak, Neural Comput. 25, 626
    (2013)): each input channel receives brief pulses of ±``amplitude`` and the matching output
    must hold the sign of that channel's last pulse until the next one.

    Every channel gets a pulse of random sign in [0, ``pulse_width``) (so the target is defined
    from t = ``pulse_width`` on; α = 0 before, the washout) and further pulses at the starts of
    the sample intervals chosen with probability ``pulse_rate`` · ``dt_sample`` (a Bernoulli
    approximation of a Poisson process of ``pulse_rate`` per τ), each lasting ``pulse_width``
    (rounded to samples; a pulse starting while another runs on the same channel is dropped).
    The target switches to a pulse's sign when it starts. The network is :meth:`Params.random`
    (n, n_in = n_out = ``bits``, g, seed) and h0 ~ N(0, 1) as in :func:`sine_generation`; the
    pulses are drawn from ``seed`` and ``trial`` (purpose ``task_pulses``), so ``trial`` gives
    held-out trials for the same network.
    """
    n = validation.positive_int("n", n)
    bits = validation.positive_int("bits", bits)
    duration = validation.positive("duration", duration)
    pulse_rate = validation.non_negative("pulse_rate", pulse_rate)
    dt_sample = validation.positive("dt_sample", dt_sample)
    pulse_width = validation.in_range("pulse_width", pulse_width, dt_sample, duration / 2)
    amplitude = validation.positive("amplitude", amplitude)
    trial = validation.seed("trial", trial)
    if pulse_rate * dt_sample > 1:
        raise ParameterError(f"pulse_rate={pulse_rate!r} exceeds 1/dt_sample = "
                             f"{1 / dt_sample:g}; at most one pulse starts per sample")
    K = int(round(duration / dt_sample)) + 1
    times = np.linspace(0.0, duration, K)
    width = max(1, int(round(pulse_width / dt_sample)))
    key = jax.random.fold_in(rng.key(seed, "task_pulses"), trial)
    key_sign, key_start, key_first = jax.random.split(key, 3)
    signs = np.where(np.asarray(jax.random.bernoulli(key_sign, 0.5, (K, bits))), 1.0, -1.0)
    starts = np.asarray(jax.random.uniform(key_start, (K, bits))) < pulse_rate * dt_sample
    starts[0] = True  # the first pulse of every channel
    first_signs = np.where(np.asarray(jax.random.bernoulli(key_first, 0.5, (bits,))), 1.0, -1.0)
    signs[0] = first_signs
    inputs = np.zeros((K, bits))
    targets = np.zeros((K, bits))
    for channel in range(bits):
        busy_until, state = -1, 0.0
        for k in range(K):
            if starts[k, channel] and k >= busy_until:
                state = signs[k, channel]
                busy_until = k + width
                inputs[k:min(K, k + width), channel] = amplitude * state
            targets[k, channel] = state
    weights = (times >= width * dt_sample).astype(np.float64)
    params = Params.random(n, n_in=bits, n_out=bits, g=g, seed=seed, dtype=dtype)
    h0 = np.asarray(jax.random.normal(rng.key(seed, "task_initial_state"), (n,), jnp.float64))
    task = TrajectoryTask.create(times, inputs, targets, weights, h0=h0, dtype=dtype)
    return params, task
