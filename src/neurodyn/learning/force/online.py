"""What an online learning rule is: weights corrected by RLS *while* the network runs, then a
test phase with learning switched off, on one simulated trajectory.

Unlike the gradient rules (:class:`~neurodyn.learning.AbstractRule`), an online rule returns
trained weights, not a gradient: :meth:`AbstractOnlineRule.train` simulates the task's time grid
with fixed steps (a ``lax.scan`` jitted once, no host round-trip), applies the rule's RLS update
every ``update_every`` steps while t < ``learn_until`` and keeps running with the weights frozen
until the end of the grid (the test phase, held-out time). The losses of the two phases are the
task's loss functional restricted to their sample times.

A final rule (:class:`~.force.Force`, :class:`~.full_force.FullForce`) provides what differs:
the state it integrates, its vector field, its readout, its RLS update and the trained
parameters; the loop, the checks, the divergence report and the cost measurement are here, once.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import time
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ... import validation
from ...errors import DivergenceError, ParameterError
from ...network_base import AbstractNetwork, require_dense
from ...provenance import provenance
from .. import _fixed_step
from ..params import Params
from ..tasks import TrajectoryTask, uniform_steps


def target_at(task: TrajectoryTask, t: jax.Array) -> jax.Array:
    """y(t), shape (n_out,): linear interpolation of the task's targets (as ``input_at``)."""
    return jax.vmap(lambda column: jnp.interp(t, task.times, column), in_axes=1)(task.targets)


def check_key(key: Any) -> jax.Array:
    """A jax PRNG key: a typed key array of shape () or a raw uint32 key of shape (2,)."""
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape == ():
            return key
    elif (isinstance(key, jax.Array | np.ndarray) and key.dtype == np.uint32
          and key.shape == (2,)):
        return jnp.asarray(key)
    raise ParameterError(
        f"key={key!r} is not a jax PRNG key; pass jax.random.key(seed), "
        "jax.random.PRNGKey(seed) or neurodyn.rng.key(seed, purpose)")


class OnlineResult(eqx.Module):
    """The outcome of one online training run (time in units of τ).

    **Fields:**
    - ``params``: the trained :class:`~neurodyn.learning.Params` (W_out; J too for the rules that
      train it); θ, B, g, φ unchanged.
    - ``feedback``: (n, n_out), the feedback weights w_f of the trained closed loop
      dh/dt = F(h) + w_f z (zeros when the trained network has no feedback loop).
    - ``drive``: (n, n_out), the random weights the rule drew from its key (FORCE: w_f; full-FORCE:
      u, the target-generating network's input weights of the target).
    - ``outputs``: z(t_k) at the task's sample times, (K, n_out).
    - ``train_loss``, ``test_loss``: the task's loss Σ_k q_k α_k ½‖z_k − y_k‖² over the samples
      with t_k < t_stop (learning) and t_k ≥ t_stop (test), t_stop the time learning stopped.
    - ``test_error``: test_loss over the same sum with z = 0 (the target's power there): a
      normalised mean-square error.
    - ``t_stop``: time learning stopped (τ); ``steps``: integration steps; ``updates``: RLS
      updates applied; ``step``: the step used (τ); ``wall_time_s``: wall time of the call
      (compilation included when it compiled).
    """

    params: Params
    feedback: jax.Array
    drive: jax.Array
    outputs: jax.Array
    train_loss: jax.Array
    test_loss: jax.Array
    test_error: jax.Array
    t_stop: float
    steps: int
    updates: int
    step: float
    wall_time_s: float

    def to_dataset(self, task: TrajectoryTask, rule: AbstractOnlineRule) -> xr.Dataset:
        """z(t) and y(t) over the sample times with the losses and the rule's options as attrs."""
        times = np.asarray(task.times)
        coords = {"time": ("time", times, {"long_name": "time", "units": "tau"}),
                  "output": ("output", np.arange(task.n_out), {"long_name": "readout channel"})}
        return xr.Dataset(
            {"z": (("time", "output"), np.asarray(self.outputs),
                   {"long_name": "network output z = W_out phi(g h)"}),
             "target": (("time", "output"), np.asarray(task.targets),
                        {"long_name": "target y"}),
             # t_stop and the samples lie on the step grid: half a step separates them exactly
             "learning": ("time", times < self.t_stop - self.step / 2,
                          {"long_name": "sample inside the learning phase"})},
            coords=coords,
            attrs={"kind": "learning.online", "rule": rule.name, "options": rule.options(),
                   "train_loss": float(self.train_loss), "test_loss": float(self.test_loss),
                   "test_error": float(self.test_error), "t_stop": self.t_stop,
                   "steps": self.steps, "updates": self.updates, "step": self.step,
                   "wall_time_s": self.wall_time_s, "n": int(task.n),
                   "provenance": provenance()})


class AbstractOnlineRule(eqx.Module):
    """An online rule: RLS on some weights while the network runs (see the module docstring).

    **Fields** (every online rule has them):
    - ``alpha`` > 0: P₀ = I/α, the ridge penalty of the regression RLS solves (module
      :mod:`.rls`); Sussillo & Abbott use α = 1 … 100 (a small α learns fast and can be
      unstable, a large one slowly).
    - ``update_every`` ≥ 1 (static): integration steps between RLS updates (2 in both papers).
    - ``dt`` > 0: the largest integration step (τ); the step used is the sample spacing divided
      by the number of steps per interval, so the RLS updates fall on a uniform grid.
    - ``stepper`` ∈ {euler, heun, rk4} (static): the fixed-step tableau (the ones simulate and
      BPTT-scan use). The papers use Euler with dt = 0.1 τ; rk4 (default) follows the
      continuous model to ~1e-5 at that step.

    **Class attributes:** ``name`` (registry name), ``description`` (one line).

    A final rule implements the abstract methods below on the state pytree it integrates
    (``y``: the network state(s); ``weights``: a dict of the arrays RLS corrects).
    """

    name: ClassVar[str]
    description: ClassVar[str]

    alpha: float = 1.0
    update_every: int = eqx.field(static=True, default=2)
    dt: float = 0.1
    stepper: str = eqx.field(static=True, default="rk4")

    def __check_init__(self):
        validation.positive("alpha", self.alpha)
        validation.positive_int("update_every", self.update_every)
        validation.positive("dt", self.dt)
        _fixed_step.check_stepper(self.stepper)

    # -- what a final rule provides ------------------------------------------------------------

    @property
    @abc.abstractmethod
    def needs_dense(self) -> bool:
        """True if the rule reads or rewrites the (n, n) matrix J itself (then a sparse network
        is refused by :meth:`prepare`, :meth:`train`, :meth:`compiled` and :func:`measure`)."""

    @abc.abstractmethod
    def draw(self, key: jax.Array, n: int, n_out: int, dtype) -> jax.Array:
        """The rule's random weights (n, n_out) from ``key``."""

    @abc.abstractmethod
    def start(self, params: Params, task: TrajectoryTask, drive: jax.Array) -> tuple[Any, dict]:
        """(y at t_0, the initial weights {name: array})."""

    @abc.abstractmethod
    def advance(self, params, task, drive, weights, y, t, dt, learning) -> Any:
        """y after one step of ``dt`` from time ``t``; ``learning`` (bool array): inside the
        learning phase."""

    @abc.abstractmethod
    def output(self, params, weights, y) -> jax.Array:
        """The readout z (n_out,) at state ``y``."""

    @abc.abstractmethod
    def learn(self, params, drive, weights, P, y, target) -> tuple[jax.Array, dict]:
        """One RLS update at state ``y`` with the target y(t) (n_out,): (P, weights)."""

    @abc.abstractmethod
    def trained(self, params, drive, weights) -> tuple[Params, jax.Array]:
        """(trained Params, feedback (n, n_out)) from the final weights."""

    # -- the shared machinery ------------------------------------------------------------------

    def refuse_sparse(self, params: Params, where: str) -> None:
        """ParameterError naming ``where`` if the rule needs a dense J and ``params.net`` is
        sparse (anything that is not Params is left to :meth:`prepare`'s checks)."""
        net = getattr(params, "net", None)
        if self.needs_dense and isinstance(net, AbstractNetwork):
            require_dense(net, where)

    def options(self) -> dict:
        """The rule's options as JSON-ready values."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def prepare(self, params: Params, task: TrajectoryTask,
                learn_until: float) -> tuple[tuple[int, int], int]:
        """Checks; returns the static (steps per sample interval, total steps) and the number of
        learning steps."""
        self.refuse_sparse(params, f"{type(self).__name__}.prepare")
        if not isinstance(task, TrajectoryTask):
            raise ParameterError(f"{type(self).__name__} needs a TrajectoryTask, got "
                                 f"{type(task).__name__}")
        task.check_params(params)
        steps_per_sample, step = uniform_steps(task, self.dt)
        samples = int(task.times.shape[0])
        total = steps_per_sample * (samples - 1)
        t0, t_end = float(task.times[0]), float(task.times[-1])
        learn_until = validation.finite("learn_until", learn_until)
        if not t0 <= learn_until < t_end:
            raise ParameterError(
                f"learn_until={learn_until!r} must lie in [{t0}, {t_end}) (the task's time "
                "grid; the test phase is the time after it)")
        learn_steps = min(total, int(round((learn_until - t0) / step)))
        if learn_steps >= total - steps_per_sample + 1:
            raise ParameterError(
                f"learn_until={learn_until!r} leaves no sample time for the test phase (the last "
                f"sample is t = {t_end}); it must be at most {t_end - (t_end - t0) / (samples - 1)}")
        return (steps_per_sample, total), learn_steps

    def train(self, params: Params, task: TrajectoryTask, key: jax.Array, learn_until: float,
              *, learning: bool = True) -> OnlineResult:
        """Train online over [t_0, learn_until), then test with learning off until the task's
        last sample.

        **Arguments:**
        - ``params``: :class:`~neurodyn.learning.Params`; its W_out (and J) are the initial
          weights, h0 is the task's.
        - ``task``: a :class:`~neurodyn.learning.TrajectoryTask` on a uniform grid (x(t) enters
          through B; y(t) is the target, linearly interpolated between samples for the updates
          that fall between them).
        - ``key``: PRNG key of the rule's random weights (:meth:`draw`).
        - ``learn_until``: end of the learning phase (τ), in [t_0, t_{K−1}), rounded to a step.
        - ``learning``: False runs the very same closed loop with every update switched off:
          the untrained network, with the same random weights and the same windows.

        **Returns:** :class:`OnlineResult`. **Raises:** :class:`ParameterError` for bad input,
        :class:`DivergenceError` (with the time) if the state becomes non-finite.
        """
        self.refuse_sparse(params, f"{type(self).__name__}.train")
        static, learn_steps = self.prepare(params, task, learn_until)
        key = check_key(key)
        if not isinstance(learning, bool):
            raise ParameterError(f"learning={learning!r} must be True or False")
        started = time.perf_counter()
        drive = self.draw(key, task.n, task.n_out, params.net.dtype)
        run = jax.block_until_ready(_simulate(self, params.without_metadata(), task, drive,
                                              jnp.asarray(learn_steps if learning else 0),
                                              static))
        wall = time.perf_counter() - started
        return self._result(params, task, drive, learn_steps, learning, static, run, wall)

    def compiled(self, params: Params, task: TrajectoryTask) -> jax.stages.Compiled:
        """The run lowered and compiled for these shapes, called as
        ``f(params, task, drive, learn_steps) -> (weights, outputs, diverged_at)``; its
        ``memory_analysis()`` is XLA's buffer accounting (used by :func:`measure`)."""
        self.refuse_sparse(params, f"{type(self).__name__}.compiled")
        static, _ = self.prepare(params, task, float(task.times[0]))
        return jax.jit(lambda p, t, d, s: self.simulate(p, t, d, s, static)).lower(
            params.without_metadata(), task, self.draw(jax.random.key(0), task.n, task.n_out,
                                                       params.net.dtype),
            jnp.asarray(0)).compile()

    def simulate(self, params, task, drive, learn_steps, static):
        """The traceable run: (final weights, z at the samples (K, n_out), first non-finite
        step or −1)."""
        steps_per_sample, _ = static
        y0, weights0 = self.start(params, task, drive)
        n = task.n
        dtype = params.net.dtype
        P0 = jnp.eye(n, dtype=dtype) / jnp.asarray(self.alpha, dtype)
        dt = (task.times[1] - task.times[0]) / steps_per_sample
        z0 = self.output(params, weights0, y0)

        def interval(carry, k):
            t_k, y_k, y_next = task.times[k], task.targets[k], task.targets[k + 1]

            def step(carry, i):
                y, weights, P, s, diverged_at = carry
                learning = s < learn_steps

                def update(operands):
                    P, weights = operands
                    target = y_k + (i / steps_per_sample) * (y_next - y_k)
                    return self.learn(params, drive, weights, P, y, target)

                P, weights = jax.lax.cond(learning & (s % self.update_every == 0), update,
                                          lambda operands: operands, (P, weights))
                y = self.advance(params, task, drive, weights, y, t_k + i * dt, dt, learning)
                # the network state only: a non-finite P or weight reaches it within a step
                finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf))
                                            for leaf in jax.tree.leaves(y)]))
                diverged_at = jnp.where((diverged_at < 0) & ~finite, s, diverged_at)
                return (y, weights, P, s + 1, diverged_at), None

            carry, _ = jax.lax.scan(step, carry, jnp.arange(steps_per_sample))
            y, weights = carry[0], carry[1]
            return carry, self.output(params, weights, y)

        carry0 = (y0, weights0, P0, jnp.asarray(0), jnp.asarray(-1))
        carry, zs = jax.lax.scan(interval, carry0, jnp.arange(task.times.shape[0] - 1))
        outputs = jnp.concatenate([z0[None], zs])
        return carry[1], outputs, carry[4]

    def _result(self, params, task, drive, learn_steps, learning, static, run,
                wall) -> OnlineResult:
        """The result of a run whose learning phase is the first ``learn_steps`` steps (the loss
        windows; RLS ran there only if ``learning``); raises DivergenceError."""
        weights, outputs, diverged_at = run
        steps_per_sample, total = static
        step = float(task.times[1] - task.times[0]) / steps_per_sample
        t0 = float(task.times[0])
        diverged_at = int(diverged_at)
        if diverged_at >= 0:
            phase = "in the learning phase" if diverged_at < learn_steps else "in the test phase"
            raise DivergenceError(
                f"{type(self).__name__}: the network state became non-finite at "
                f"t = {t0 + (diverged_at + 1) * step:.6g} tau (step {diverged_at + 1} of {total}, "
                f"{phase}); lower dt or the feedback scale, or raise alpha")
        test = jnp.arange(task.times.shape[0]) * steps_per_sample >= learn_steps
        per_sample = task.quadrature * 0.5 * jnp.sum((outputs - task.targets) ** 2, axis=-1)
        power = task.quadrature * 0.5 * jnp.sum(task.targets**2, axis=-1)
        test_loss = jnp.sum(jnp.where(test, per_sample, 0.0))
        trained, feedback = self.trained(params, drive, weights)
        return OnlineResult(
            params=trained, feedback=feedback, drive=drive, outputs=outputs,
            train_loss=jnp.sum(jnp.where(test, 0.0, per_sample)), test_loss=test_loss,
            test_error=test_loss / jnp.sum(jnp.where(test, power, 0.0)),
            t_stop=t0 + learn_steps * step, steps=total,
            updates=-(-learn_steps // self.update_every) if learning else 0, step=step,
            wall_time_s=wall)


@jax.jit(static_argnames=("static",))
def _simulate(rule, params, task, drive, learn_steps, static):
    return rule.simulate(params, task, drive, learn_steps, static)


def measure(rule: AbstractOnlineRule, params: Params, task: TrajectoryTask, key: jax.Array,
            learn_until: float, repeats: int = 3) -> dict:
    """The cost of one online run as learn-bench measures a gradient: the compiled run alone
    (no Python overhead), its warm wall time (median of ``repeats`` calls after two warm-up
    calls), per step, and XLA's peak working bytes (temp + output: buffers the run allocates
    beyond its inputs), with the run's losses.

    **Returns:** {"time_s", "time_per_step_s", "steps", "updates", "peak_bytes", "train_loss",
    "test_loss", "test_error"}.
    """
    rule.refuse_sparse(params, f"force.measure ({type(rule).__name__})")
    repeats = validation.positive_int("repeats", repeats)
    static, learn_steps = rule.prepare(params, task, learn_until)
    drive = rule.draw(check_key(key), task.n, task.n_out, params.net.dtype)
    compiled = rule.compiled(params, task)
    analysis = compiled.memory_analysis()
    arguments = (params.without_metadata(), task, drive, jnp.asarray(learn_steps))
    run = jax.block_until_ready(compiled(*arguments))
    jax.block_until_ready(compiled(*arguments))  # first calls after compiling ran slower
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(compiled(*arguments))
        times.append(time.perf_counter() - started)
    result = rule._result(params, task, drive, learn_steps, True, static, run,
                          float(np.median(times)))
    peak = (int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)
            if analysis is not None else math.nan)
    return {"time_s": result.wall_time_s, "time_per_step_s": result.wall_time_s / result.steps,
            "steps": result.steps, "updates": result.updates, "peak_bytes": peak,
            "train_loss": float(result.train_loss), "test_loss": float(result.test_loss),
            "test_error": float(result.test_error)}
