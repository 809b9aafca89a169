"""Gradient flossing: train with the leading Lyapunov exponents pushed towards 0.

Engelken, *Gradient flossing: improving gradient descent through dynamic control of Jacobians*,
NeurIPS 2023 (arXiv:2312.17306). BPTT through a chaotic network explodes: the long-term Jacobian
of the forward dynamics grows as exp(λ₁ T), so over a long horizon the gradient is dominated by
a few exploding directions and descent stalls. Gradient flossing adds to the loss the squares of
the k leading Lyapunov exponents of the forward dynamics, estimated along the training
trajectory by the tangent-space QR method and differentiated through the QR factorisations
("differentiable linear algebra"):

    L_floss(w) = L_task(w) + β Σ_{i<k} λ_i(w)²,
    λ_i(w) = (1 / T) Σ_m log R^{(m)}_ii,     Q^{(m)} R^{(m)} = M_m Q^{(m−1)},

with M_m the Jacobian of the m-th interval's map of the state (here: the fixed-step scan of
:func:`neurodyn.learning.bptt.scan_loss`, so the exponents are those of the map BPTT-scan
differentiates; they approach the continuous ones as dt → 0), Q^{(0)} a fixed random orthonormal
(n, k) basis and the QR every ``qr_every`` sample intervals. The tangent dynamics (dQ/dt = DF(h) Q)
and the re-orthonormalisation are those of :mod:`neurodyn.lyapunov`
(:func:`~neurodyn.lyapunov.tangent_velocity`, :func:`~neurodyn.lyapunov.orthonormalize`,
CholeskyQR2), integrated with the same RK tableau as the state: an explicit RK step of the
variational system is the Jacobian of the RK step (:mod:`._fixed_step`), so the product of the
R factors is exactly the Jacobian of the discrete map applied to Q^{(0)}.

The paper flosses before training and/or during it; :func:`train_flossing` does both: an optional
``pre_iterations`` phase on β Σλ² alone, then the combined loss. Whether it works on a given
problem is measured, not assumed: scripts/flossing_demo.py stores the comparison with plain
BPTT in benchmarks/flossing.json.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from .. import rng, validation
from ..errors import DivergenceError, ParameterError
from ..lyapunov import QR_METHOD, orthonormalize, tangent_velocity
from ..provenance import provenance
from . import _fixed_step
from ._groups import check_trainable, select
from .params import TRAINABLE, Params, vector_field
from .tasks import TrajectoryTask, uniform_steps

SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules of :func:`train_flossing`."""


def initial_basis(n: int, k: int, seed: int = 0, dtype="float64") -> jax.Array:
    """Q⁽⁰⁾: a random orthonormal (n, k) basis (purpose ``flossing_basis`` of :mod:`neurodyn.rng`)."""
    q = jax.random.normal(rng.key(seed, "flossing_basis"), (n, k), jnp.float64).astype(dtype)
    return orthonormalize(q, QR_METHOD)[0]


def loss_and_exponents(params: Params, task: TrajectoryTask, q0: jax.Array, steps: int,
                       dt: float, stepper: str = "rk4", qr_every: int = 1):
    """(L_task, λ (k,)) along one fixed-step trajectory; pure and differentiable.

    **Arguments:** ``params``, ``task`` (a uniform grid), ``q0`` (n, k) orthonormal, ``steps``
    fixed steps of ``dt`` per sample interval (:func:`~neurodyn.learning.tasks.uniform_steps`),
    ``stepper`` ∈ {euler, heun, rk4}, ``qr_every`` ≥ 1 sample intervals between QR steps (static
    ints). L_task is :func:`neurodyn.learning.bptt.scan_loss` of the same trajectory; λ (1/τ) are
    the summed log R_ii over the whole window divided by the window's length, in the order of
    the columns of Q (the QR keeps them sorted in decreasing order once the basis has aligned).
    The window's intervals after the last full ``qr_every`` block still count (one final QR).
    """
    net = params.net

    def f(t, y):
        h, q = y
        return vector_field(h, params, task.input_at(t)), tangent_velocity(h, q, net)[0]

    intervals = task.times.shape[0] - 1

    def interval(carry, m):
        (h, q), loss, logs = carry
        t_start = task.times[m]

        def step(y, i):
            return _fixed_step.rk_step(f, t_start + i * dt, y, dt, stepper), None

        (h, q), _ = jax.lax.scan(step, (h, q), jnp.arange(steps))
        loss = loss + task.sample_loss(h, params, m + 1)
        due = ((m + 1) % qr_every == 0) | (m + 1 == intervals)
        # QR only when due; lax.cond keeps the untaken branch out of the derivative
        q, growth = jax.lax.cond(
            due, lambda q: _log_qr(q), lambda q: (q, jnp.zeros(q.shape[1], q.dtype)), q)
        return ((h, q), loss, logs + growth), None

    loss0 = task.sample_loss(task.h0, params, jnp.asarray(0))
    k = q0.shape[1]
    (_, loss, logs), _ = jax.lax.scan(
        interval, ((task.h0, q0), loss0, jnp.zeros(k, q0.dtype)), jnp.arange(intervals))
    return loss, logs / (task.times[-1] - task.times[0])


def _log_qr(q):
    q_orth, diagonal = orthonormalize(q, QR_METHOD)
    return q_orth, jnp.log(diagonal)


def flossed_loss(params: Params, task: TrajectoryTask, q0, steps: int, dt: float, beta,
                 task_weight, stepper: str = "rk4", qr_every: int = 1):
    """(task_weight · L_task + β Σ λ_i², (L_task, λ)): the flossing objective."""
    loss, exponents = loss_and_exponents(params, task, q0, steps, dt, stepper, qr_every)
    return task_weight * loss + beta * jnp.sum(exponents**2), (loss, exponents)


def train_flossing(params: Params, task: TrajectoryTask, k: int = 1, beta: float = 1.0,
                   iterations: int = 200, pre_iterations: int = 0,
                   learning_rate: float = 1e-2, trainable=TRAINABLE, dt: float = 0.1,
                   stepper: str = "rk4", qr_every: int = 1, seed: int = 0,
                   clip: float | None = None,
                   schedule: str = "constant") -> tuple[Params, xr.Dataset]:
    """Adam on the flossing objective (module docstring); ``beta = 0`` is plain BPTT-scan.

    **Arguments:** ``params``, ``task`` (uniform grid); ``k`` ≥ 1 exponents flossed (≤ n);
    ``beta`` ≥ 0 their weight (1/τ⁻² · loss units); ``iterations`` ≥ 1 Adam steps on the
    combined loss, preceded by ``pre_iterations`` ≥ 0 steps on β Σλ² alone (flossing before
    training, the paper's Fig. 5); ``learning_rate`` > 0; ``trainable`` groups; ``dt``,
    ``stepper`` of the fixed-step scan; ``qr_every`` ≥ 1 sample intervals per QR; ``seed`` of
    Q⁽⁰⁾; ``clip``: None, or the global gradient norm the updates are clipped to
    (``optax.clip_by_global_norm``; a common remedy of exploding gradients, for comparison);
    ``schedule`` ∈ SCHEDULES: "constant" learning rate, or "cosine" decay from
    ``learning_rate`` to 0 over all iterations (``optax.cosine_decay_schedule``; it removes the
    late loss spikes of a large constant rate).

    **Returns:** (trained params, Dataset over ``iteration`` with ``loss`` (L_task before update
    i), ``lyapunov`` (iteration, exponent; 1/τ) and ``grad_norm``, attrs with the options,
    ``final_loss``, ``final_lyapunov`` (after the last update), wall time and provenance).
    Raises :class:`DivergenceError` when the loss or gradient becomes non-finite.
    """
    if not isinstance(task, TrajectoryTask):
        raise ParameterError(f"task must be a TrajectoryTask, got {type(task).__name__}")
    task.check_params(params)
    trainable = check_trainable(trainable)
    k = validation.positive_int("k", k)
    if k > params.n:
        raise ParameterError(f"k={k} exceeds n={params.n}; at most n exponents exist")
    beta = validation.non_negative("beta", beta)
    iterations = validation.positive_int("iterations", iterations)
    pre_iterations = validation.seed("pre_iterations", pre_iterations)  # an integer >= 0
    learning_rate = validation.positive("learning_rate", learning_rate)
    qr_every = validation.positive_int("qr_every", qr_every)
    seed = validation.seed("seed", seed)
    _fixed_step.check_stepper(stepper)
    if clip is not None:
        clip = validation.positive("clip", clip)
    steps, step = uniform_steps(task, dt)
    dtype = params.net.dtype
    q0 = initial_basis(params.n, k, seed, dtype)
    schedule = validation.choice("schedule", schedule, SCHEDULES)
    rate = (learning_rate if schedule == "constant" else
            optax.cosine_decay_schedule(learning_rate, pre_iterations + iterations))
    transform = optax.adam(rate)
    if clip is not None:
        transform = optax.chain(optax.clip_by_global_norm(clip), transform)
    base = params.without_metadata()

    @jax.jit
    def update(groups, state, task_weight):
        def objective(groups):
            return flossed_loss(base.replace(**groups), task, q0, steps, step, beta,
                                task_weight, stepper, qr_every)

        (_, (loss, exponents)), grads = jax.value_and_grad(objective, has_aux=True)(groups)
        norm = optax.global_norm(grads)
        updates, state = transform.update(grads, state, groups)
        return optax.apply_updates(groups, updates), state, loss, exponents, norm

    groups = select(base, trainable)
    state = transform.init(groups)
    total = pre_iterations + iterations
    losses, norms = np.empty(total), np.empty(total)
    exponents = np.empty((total, k))
    started = time.perf_counter()
    for iteration in range(total):
        weight = jnp.asarray(0.0 if iteration < pre_iterations else 1.0, dtype)
        groups, state, loss, lyap, norm = update(groups, state, weight)
        losses[iteration], norms[iteration] = float(loss), float(norm)
        exponents[iteration] = np.asarray(lyap)
        if not (math.isfinite(losses[iteration]) and math.isfinite(norms[iteration])):
            raise DivergenceError(f"train_flossing: loss or gradient became non-finite at "
                                  f"iteration {iteration}; lower learning_rate")
    wall = time.perf_counter() - started
    trained = params.replace(**groups)
    final_loss, final_exponents = jax.jit(
        lambda p: loss_and_exponents(p, task, q0, steps, step, stepper, qr_every))(
            base.replace(**groups))
    ds = xr.Dataset(
        {"loss": ("iteration", losses, {"long_name": "task loss before the update",
                                        "units": "1"}),
         "lyapunov": (("iteration", "exponent"), exponents,
                      {"long_name": "QR estimate of the leading Lyapunov exponents along the "
                                    "training trajectory, before the update", "units": "1/tau"}),
         "grad_norm": ("iteration", norms,
                       {"long_name": "global norm of the objective's gradient (before clipping)"})},
        coords={"iteration": ("iteration", np.arange(total), {"long_name": "Adam iteration"}),
                "exponent": ("exponent", np.arange(k), {"long_name": "exponent index"})},
        attrs={"kind": "learning.flossing", "k": k, "beta": beta, "iterations": iterations,
               "pre_iterations": pre_iterations, "learning_rate": learning_rate,
               "trainable": list(trainable), "dt": step, "stepper": stepper,
               "qr_every": qr_every, "seed": seed, "schedule": schedule,
               "clip": "none" if clip is None else clip,
               "n": int(params.n), "duration": task.duration,
               "final_loss": float(final_loss),
               "final_lyapunov": [float(x) for x in np.asarray(final_exponents)],
               "wall_time_s": wall, "provenance": provenance()})
    return trained, ds


__all__ = ["SCHEDULES", "flossed_loss", "initial_basis", "loss_and_exponents", "train_flossing"]
