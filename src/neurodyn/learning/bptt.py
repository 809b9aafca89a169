"""Backpropagation through time: reverse-mode differentiation of the discretised solve.

Discretise-then-optimise. Two paths over the same vector field
(:func:`neurodyn.learning.params.vector_field`) and the same loss
(:class:`~neurodyn.learning.tasks.TrajectoryTask`):

- :class:`Bptt` (``bptt``): ``jax.grad`` through an adaptive diffrax solve with
  ``RecursiveCheckpointAdjoint(checkpoints)`` (Kidger 2021, thesis §5.1: binomial checkpointing;
  with c checkpoints the memory is O(c n) and the recomputation grows as steps/c).
- :class:`BpttScan` (``bptt_scan``): ``jax.grad`` through a plain fixed-step ``lax.scan`` — the
  textbook BPTT: every step's state is stored, memory O(n · steps), time O(n² · steps) for the
  forward plus the backward sweep.
"""

from __future__ import annotations

from typing import ClassVar, final

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .. import integrate, validation
from ..solvers import DEFAULT_ODE_SOLVER
from . import _fixed_step
from ._groups import select
from .params import vector_field
from .rule import CONTROL, SOLVERS, AbstractAdaptiveRule, AbstractFixedStepRule
from .tasks import TrajectoryTask


def solve_trajectory(params, task: TrajectoryTask, solver: str = DEFAULT_ODE_SOLVER,
                     rtol: float = 1e-8, atol: float = 1e-8, adjoint=None, max_steps: int = 100_000,
                     control: str = CONTROL) -> diffrax.Solution:
    """One adaptive solve of h over the task's window, saving h(t_k) at every sample time
    (``solution.ys``: shape (K, n)); the steps also land on every sample time (the input has
    kinks there)."""
    # params and task travel as ``args`` (not closed over) so BacksolveAdjoint sees them
    return integrate.solve(
        lambda t, h, args: vector_field(h, args[0], args[1].input_at(t)), task.h0,
        SOLVERS[solver], task.times[0], task.times[-1], save_times=task.times,
        args=(params, task), rtol=rtol, atol=atol, control=control, step_ts=task.times,
        adjoint=adjoint, max_steps=max_steps)


def solve_states(params, task: TrajectoryTask, solver: str = DEFAULT_ODE_SOLVER,
                 rtol: float = 1e-8, atol: float = 1e-8, adjoint=None, max_steps: int = 100_000,
                 control: str = CONTROL):
    """h(t_k) at every sample time, shape (K, n), by one adaptive solve (:func:`solve_trajectory`)."""
    return solve_trajectory(params, task, solver, rtol, atol, adjoint, max_steps, control).ys


def grad_through(loss_of_params, params, trainable, has_aux: bool = False):
    """(L, {group: dL/dw}) by reverse mode of ``loss_of_params`` over the ``trainable`` groups;
    with ``has_aux``, ``loss_of_params`` returns (L, aux) and this ((L, aux), grads)."""

    def loss_of_groups(groups):
        return loss_of_params(params.replace(**groups))

    return jax.value_and_grad(loss_of_groups, has_aux=has_aux)(select(params, trainable))


@final
class Bptt(AbstractAdaptiveRule):
    """Reverse mode through an adaptive diffrax solve (discretise-then-optimise).

    **Options:** ``solver`` ∈ SOLVERS; ``rtol``/``atol``/``control`` of the step control;
    ``checkpoints``: number of checkpoints of diffrax's ``RecursiveCheckpointAdjoint`` (None:
    diffrax's default, which depends on ``max_steps``); ``max_steps`` of the solve.
    """

    name: ClassVar[str] = "bptt"
    approximate: ClassVar[bool] = False
    sparse: ClassVar[bool] = True
    description: ClassVar[str] = "reverse mode through an adaptive diffrax solve, checkpointed"

    checkpoints: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.checkpoints is not None:
            validation.positive_int("checkpoints", self.checkpoints)

    def gradient(self, params, task, trainable, static):
        adjoint = diffrax.RecursiveCheckpointAdjoint(checkpoints=self.checkpoints)

        def loss_and_steps(p):
            solution = solve_trajectory(p, task, self.solver, self.rtol, self.atol, adjoint,
                                        self.max_steps, self.control)
            return task.loss_from_states(solution.ys, p), solution.stats["num_steps"]

        (loss, steps), grads = grad_through(loss_and_steps, params, trainable, has_aux=True)
        return loss, grads, {"num_steps": steps}


def scan_loss(params, task: TrajectoryTask, steps: int, dt: float, stepper: str):
    """L by a fixed-step ``lax.scan`` (``steps`` steps of ``dt`` per sample interval)."""

    def f(t, h):
        return vector_field(h, params, task.input_at(t))

    def on_sample(k, h, total):
        return total + task.sample_loss(h, params, k)

    _, total = _fixed_step.integrate_samples(f, task, task.h0, steps, dt, stepper, on_sample,
                                             jnp.zeros((), task.h0.dtype))
    return total


@final
class BpttScan(AbstractFixedStepRule):
    """Reverse mode through a fixed-step ``lax.scan``: the textbook BPTT.

    This is the exact gradient of the *discretised* loss (:func:`scan_loss`; steps of ≤ ``dt``
    landing on every sample time, tableau ``stepper`` ∈ {euler, heun, rk4}); it differs from the
    continuous gradient by the discretisation error (O(dt⁴) for rk4). Every step's state is
    stored: memory O(n · steps).
    """

    name: ClassVar[str] = "bptt_scan"
    approximate: ClassVar[bool] = False
    sparse: ClassVar[bool] = True
    description: ClassVar[str] = "reverse mode through a fixed-step lax.scan (textbook BPTT)"

    def gradient(self, params, task, trainable, static):
        dt = self.step(task, static)
        loss, grads = grad_through(lambda p: scan_loss(p, task, static, dt, self.stepper),
                                   params, trainable)
        return loss, grads, None
