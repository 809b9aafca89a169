"""What a learning rule is: an abstract ``eqx.Module`` that final rule Modules complete.

A rule holds its validated options as fields (static where they shape the computation: solver
names, step counts; traced where only their value matters: tolerances, β) and provides

- ``prepare(params, task)``: the Python-side checks that depend on the call (e.g. a uniform
  sample grid) and the hashable static data the computation needs (e.g. steps per sample);
- ``gradient(params, task, trainable, static)``: the pure, traceable computation, returning
  ``(loss, {group: dL/dw}, diagnostics)``;
- ``check(diagnostics, grads, task)``: the Python-side check of the result (convergence of a
  fixed point, finiteness), raising :class:`~neurodyn.errors.ConvergenceError`.

From these the base class builds the two public entry points, :meth:`AbstractRule.value_and_grad`
(checks, one cached ``jax.jit`` over every rule, checks) and :meth:`AbstractRule.compiled` (the
lowered and compiled gradient, for timing and memory analysis without Python overhead). Final
rules implement the three abstract methods and nothing else; no class overrides a concrete method
of another.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable
from typing import Any, ClassVar

import equinox as eqx
import jax

from .. import integrate, solvers, validation
from ..errors import ParameterError
from . import _fixed_step
from ._groups import check_trainable
from .params import TRAINABLE, Params
from .tasks import AbstractTask, TrajectoryTask, uniform_steps


class AbstractRule(eqx.Module):
    """A learning rule: (loss, gradient) of a task's loss at given parameters.

    **Class attributes** (set by each final rule):
    - ``name``: the registry name (``method=`` of :func:`neurodyn.learning.value_and_grad`).
    - ``kind``: "trajectory" (takes a :class:`TrajectoryTask`) or "fixed_point" (a
      :class:`~neurodyn.learning.fixed_point.FixedPointTask`).
    - ``task_type``: the task class it takes.
    - ``approximate``: True if the result is not the gradient for any choice of the options
      (e.g. RFLO's truncated sensitivities); compare such rules with
      :func:`neurodyn.learning.alignment`.
    - ``symmetric_J_only``: True if the rule needs J = Jᵀ and returns the J-gradient within
      symmetric matrices (equilibrium propagation).
    - ``sparse``: True if the rule takes a sparse network (it needs the drift and its
      autodiff only, not the dense J: BPTT); the others refuse one with a ParameterError.
    - ``description``: one line for listings.
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    task_type: ClassVar[type]
    approximate: ClassVar[bool]
    symmetric_J_only: ClassVar[bool]
    description: ClassVar[str]
    sparse: ClassVar[bool] = False

    @abc.abstractmethod
    def prepare(self, params: Params, task: AbstractTask) -> Hashable:
        """Call-dependent checks (raise ParameterError); returns static data for ``gradient``."""

    @abc.abstractmethod
    def gradient(self, params: Params, task: AbstractTask, trainable: tuple[str, ...],
                 static: Hashable) -> tuple[jax.Array, dict[str, jax.Array], Any]:
        """(loss, {group: dL/dw}, diagnostics), traceable; no checks."""

    @abc.abstractmethod
    def check(self, diagnostics: Any, grads: dict[str, jax.Array], task: AbstractTask) -> None:
        """Raise ConvergenceError if the computed result must not be returned."""

    def _checked(self, params: Params, task: AbstractTask, trainable) -> tuple:
        """(trainable groups, static data) after every check that precedes the computation."""
        trainable = check_trainable(trainable)
        if not isinstance(task, self.task_type):
            raise ParameterError(
                f"method={self.name!r} needs a {self.task_type.__name__}, got "
                f"{type(task).__name__} (it is a {self.kind.replace('_', '-')} rule)")
        task.check_params(params)
        if not params.net.dense and not self.sparse:
            # the rules that take one, found among AbstractRule's subclasses (importing the
            # registry here would make rule ↔ registry an import cycle)
            takes = sorted({rule.name for rule in _subclasses(AbstractRule)
                            if getattr(rule, "sparse", False) and hasattr(rule, "name")})
            raise ParameterError(
                f"method={self.name!r} needs a dense J (N x N); this network is sparse "
                f"(K={params.net.K}); methods that take sparse networks: {', '.join(takes)}")
        return trainable, self.prepare(params, task)

    def value_and_grad(self, params: Params, task: AbstractTask,
                       trainable=TRAINABLE) -> tuple[jax.Array, dict[str, jax.Array]]:
        """(loss, {group: dL/dw}) of ``task`` at ``params`` for the groups ``trainable`` (any
        non-empty subset of ("J", "theta", "B", "W_out")); gradients have the groups' shapes.

        One jit-compiled function serves every rule; it recompiles only when the rule's static
        options, the trainable groups or the shapes change.
        """
        trainable, static = self._checked(params, task, trainable)
        loss, grads, diagnostics = _gradient(self, params.without_metadata(), task, trainable,
                                             static)
        self.check(diagnostics, grads, task)
        return loss, grads

    def compiled(self, params: Params, task: AbstractTask,
                 trainable=TRAINABLE) -> jax.stages.Compiled:
        """The gradient lowered and compiled for these arguments, with this rule's options as
        constants: call it as ``f(params, task) -> (loss, grads, diagnostics)`` with arguments
        of the same structure and shapes (no checks: pass the result to :meth:`check`). Its
        ``memory_analysis()`` is XLA's buffer accounting of the computation."""
        trainable, static = self._checked(params, task, trainable)
        return jax.jit(lambda p, t: self.gradient(p, t, trainable, static)).lower(
            params, task).compile()


@jax.jit(static_argnames=("trainable", "static"))
def _gradient(rule, params, task, trainable, static):
    return rule.gradient(params, task, trainable, static)


class AbstractTrajectoryRule(AbstractRule):
    """A rule for trajectory tasks; nothing converges or diverges, so there is nothing to check
    after the computation."""

    kind: ClassVar[str] = "trajectory"
    task_type: ClassVar[type] = TrajectoryTask
    symmetric_J_only: ClassVar[bool] = False

    def check(self, diagnostics, grads, task) -> None:
        return None


SOLVERS = {name: spec for name, spec in solvers.ODE_SOLVERS.items() if spec.adaptive}
"""The adaptive ODE solvers of :mod:`neurodyn.solvers` the adaptive rules take (name → spec)."""

CONTROL = "i"
"""Default step-size control of the adaptive rules (:data:`neurodyn.integrate.CONTROLS`): the I
controller, because PI does not help BPTT and RTRL. Measured (benchmarks/bench_controllers.py:
the sine task, n = 12, g = 1.5, 101 samples over T = 10, gradient error against BPTT at 1e-12)
at equal gradient accuracy, PI needs 1.01–1.25× the I controller's evaluations for BPTT (1e-8:
690 vs 686; 1.9e-10: 1320 vs 1062) and 1.00–1.04× for RTRL (2e-10: 1614 vs 1554): the steps
land on every sample time (BPTT) or restart at each (RTRL), so few steps are the controller's
own choice. The continuous adjoint is the exception (:class:`~.adjoint.Adjoint` uses PI)."""


def check_solver(solver: str) -> str:
    return validation.choice("solver", solver, SOLVERS)


class AbstractAdaptiveRule(AbstractTrajectoryRule):
    """A trajectory rule over adaptive diffrax solves of the continuous dynamics; it
    differentiates the continuous loss to the accuracy of ``rtol``/``atol``.

    **Fields** (every adaptive rule has them; a final rule may change the defaults):
    ``solver`` ∈ SOLVERS (the adaptive ODE solvers of :mod:`neurodyn.solvers`; static),
    ``rtol``, ``atol`` > 0 and ``control`` ∈ {"pi", "i"} (step-size control, static; default
    CONTROL), ``max_steps`` ≥ 1 per solve (static).

    The gradient's diagnostics are ``{"num_steps": steps attempted by its solves}``.
    """

    solver: str = eqx.field(static=True, default=solvers.DEFAULT_ODE_SOLVER)
    rtol: float = 1e-8
    atol: float = 1e-8
    max_steps: int = eqx.field(static=True, default=100_000)
    control: str = eqx.field(static=True, default=CONTROL)

    def __check_init__(self):
        check_solver(self.solver)
        validation.choice("control", self.control, integrate.CONTROLS)
        validation.positive("rtol", self.rtol)
        validation.positive("atol", self.atol)
        validation.positive_int("max_steps", self.max_steps)

    def prepare(self, params, task) -> None:
        return None


class AbstractFixedStepRule(AbstractTrajectoryRule):
    """A trajectory rule over a fixed-step ``lax.scan`` (steps of ≤ ``dt`` landing on every
    sample time, tableau ``stepper`` ∈ {euler, heun, rk4}); it differentiates (or approximates
    the gradient of) that discretised loss, :func:`neurodyn.learning.bptt.scan_loss`.

    **Fields:** ``dt`` > 0 (τ units, the largest step; the step used is the sample spacing
    divided by the steps per interval, so ``dt`` is not part of the compiled computation),
    ``stepper`` (static).
    """

    dt: float = 0.01
    stepper: str = eqx.field(static=True, default="rk4")

    def __check_init__(self):
        validation.positive("dt", self.dt)
        _fixed_step.check_stepper(self.stepper)

    def prepare(self, params, task) -> int:
        """Steps per sample interval (the grid must be uniform)."""
        return uniform_steps(task, self.dt)[0]

    @staticmethod
    def step(task: TrajectoryTask, steps: int) -> jax.Array:
        """The step used, (t_1 − t_0) / steps (≤ dt)."""
        return (task.times[1] - task.times[0]) / steps



class AbstractSeededFixedStepRule(AbstractFixedStepRule):
    """A fixed-step rule whose result is a random, unbiased estimate (UORO, KF-RTRL): the
    random signs of every step come from ``seed`` (an int ≥ 0, traced, so one compilation
    serves every seed); the mean over seeds is the gradient of the discretised loss."""

    seed: int = 0

    def __check_init__(self):
        validation.seed("seed", self.seed)


def _subclasses(cls: type) -> list[type]:
    """Every subclass of ``cls``, recursively."""
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out
