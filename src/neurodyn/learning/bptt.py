"""Backpropagation through time: reverse-mode differentiation of the discretised solve.

Discretise-then-optimise. Two paths over the same vector field
(:func:`neurodyn.learning.params.vector_field`) and the same loss
(:class:`~neurodyn.learning.tasks.TrajectoryTask`):

- :func:`bptt_value_and_grad`: ``jax.grad`` through an adaptive diffrax solve with
  ``RecursiveCheckpointAdjoint(checkpoints)`` (Kidger 2021, thesis §5.1: binomial checkpointing;
  with c checkpoints the memory is O(c n) and the recomputation grows as steps/c).
- :func:`bptt_scan_value_and_grad`: ``jax.grad`` through a plain fixed-step ``lax.scan`` — the
  textbook BPTT: every step's state is stored, memory O(n · steps), time O(n² · steps) for the
  forward plus the backward sweep.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp

from .. import validation
from . import _fixed_step
from ._groups import check_trainable, compile_key, select
from .params import vector_field
from .tasks import TrajectoryTask

SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8}


def check_solver(solver: str) -> str:
    return validation.choice("solver", solver, SOLVERS)


def controller(rtol: float, atol: float, task: TrajectoryTask):
    """PID step control that also lands on every sample time (the input has kinks there)."""
    return diffrax.ClipStepSizeController(diffrax.PIDController(rtol=rtol, atol=atol),
                                          step_ts=task.times)


def solve_states(params, task: TrajectoryTask, solver: str = "tsit5", rtol: float = 1e-8,
                 atol: float = 1e-8, adjoint=None, max_steps: int = 100_000):
    """h(t_k) at every sample time, shape (K, n), by one adaptive diffrax solve."""
    # params and task travel as ``args`` (not closed over) so BacksolveAdjoint sees them
    term = diffrax.ODETerm(lambda t, h, args: vector_field(h, args[0], args[1].input_at(t)))
    solution = diffrax.diffeqsolve(
        term, SOLVERS[solver](), t0=task.times[0], t1=task.times[-1], dt0=None, y0=task.h0,
        args=(params, task), saveat=diffrax.SaveAt(ts=task.times),
        stepsize_controller=controller(rtol, atol, task),
        adjoint=adjoint if adjoint is not None else diffrax.RecursiveCheckpointAdjoint(),
        max_steps=max_steps)
    return solution.ys


def _grad_through(loss_of_params, params, trainable):
    def loss_of_groups(groups):
        return loss_of_params(params.replace(**groups))

    return jax.value_and_grad(loss_of_groups)(select(params, trainable))


def bptt_value_and_grad(params, task: TrajectoryTask, trainable=("J", "theta", "B", "W_out"),
                        solver: str = "tsit5", rtol: float = 1e-8, atol: float = 1e-8,
                        checkpoints: int | None = None, max_steps: int = 100_000):
    """(L, {group: dL/dw}) by reverse mode through an adaptive diffrax solve.

    **Arguments:** ``solver`` ∈ {tsit5, dopri5, dopri8}; ``rtol``/``atol`` of the PID controller;
    ``checkpoints``: number of checkpoints of diffrax's ``RecursiveCheckpointAdjoint`` (None:
    diffrax's default, which depends on ``max_steps``).
    """
    trainable = check_trainable(trainable)
    task.check_params(params)
    solver = check_solver(solver)
    rtol, atol = validation.positive("rtol", rtol), validation.positive("atol", atol)
    if checkpoints is not None:
        checkpoints = validation.positive_int("checkpoints", checkpoints)
    adjoint = diffrax.RecursiveCheckpointAdjoint(checkpoints=checkpoints)
    return _bptt(compile_key(params), task, trainable, solver, rtol, atol, adjoint, max_steps)


@jax.jit(static_argnames=("trainable", "solver", "max_steps"))
def _bptt(params, task, trainable, solver, rtol, atol, adjoint, max_steps):
    return _grad_through(
        lambda p: task.loss_from_states(
            solve_states(p, task, solver, rtol, atol, adjoint, max_steps), p),
        params, trainable)


def scan_loss(params, task: TrajectoryTask, steps: int, dt: float, stepper: str):
    """L by a fixed-step ``lax.scan`` (``steps`` steps of ``dt`` per sample interval)."""

    def f(t, h):
        return vector_field(h, params, task.input_at(t))

    def on_sample(k, h, total):
        return total + task.sample_loss(h, params, k)

    _, total = _fixed_step.integrate_samples(f, task, task.h0, steps, dt, stepper, on_sample,
                                             jnp.zeros((), task.h0.dtype))
    return total


def bptt_scan_value_and_grad(params, task: TrajectoryTask,
                             trainable=("J", "theta", "B", "W_out"), dt: float = 0.01,
                             stepper: str = "rk4"):
    """(L, {group: dL/dw}) by reverse mode through a fixed-step ``lax.scan``.

    This is the exact gradient of the *discretised* loss (steps of ≤ ``dt`` landing on every
    sample time, tableau ``stepper`` ∈ {euler, heun, rk4}); it differs from the continuous
    gradient by the discretisation error (O(dt⁴) for rk4).
    """
    params, trainable, steps, dt, stepper = _fixed_step.prepare(params, task, trainable, dt,
                                                                stepper)
    return _bptt_scan(params, task, trainable, steps, dt, stepper)


@jax.jit(static_argnames=("trainable", "steps", "stepper"))
def _bptt_scan(params, task, trainable, steps, dt, stepper):
    return _grad_through(lambda p: scan_loss(p, task, steps, dt, stepper), params, trainable)
