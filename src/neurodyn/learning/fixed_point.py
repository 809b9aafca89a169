"""Fixed-point learning: implicit differentiation, recurrent backprop and equilibrium propagation.

A fixed-point task presents a static input x and asks that the network, after relaxing to its
stable equilibrium h*(w),

    F(h*, w, x) = −h* + J φ(g h*) + θ + B x = 0,          (F: :func:`.params.vector_field`)

reads out r* = W_out φ(g h*) close to a target y; the loss is ℓ(r*, y) = ½ ‖r* − y‖². By the
implicit function theorem (h* is a regular zero of F when the equilibrium is stable)

    dL/dw = ∂ℓ/∂w − ∂ℓ/∂h* (∂F/∂h)⁻¹ ∂F/∂w,                              (IFT)

evaluated at h*. Three ways to compute it are provided over the one shared vector field:

- :class:`Implicit` (``implicit``): the linear solve of (IFT) by optimistix's ``ImplicitAdjoint``
  (lineax dense LU, or matrix-free GMRES);
- :class:`RecurrentBackprop` (``recurrent_backprop``): Almeida (1987) / Pineda (1987) recurrent
  backpropagation, the adjoint relaxation dv/dt = v ∂F/∂h + ∂ℓ/∂h* to its steady state;
- :class:`Eqprop` (``eqprop``): equilibrium propagation (Scellier & Bengio 2017) for symmetric J,
  from a second, nudged equilibrium (one-sided or the symmetric ±β estimate of Laborieux et al.
  2021).

Fixed points are found by relaxing the dynamics with diffrax (terminated by a steady-state event)
and refining with optimistix's Newton root-finder; if either does not converge a
:class:`~neurodyn.errors.ConvergenceError` reports the residual reached and where — never a
silent wrong gradient. Every rule is jit-compiled inside (:class:`~.rule.AbstractRule`) and
checks convergence at its Python boundary (``check``).
"""

from __future__ import annotations

from typing import ClassVar, final

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx

from .. import nonlinearity, validation
from ..errors import ConvergenceError, ParameterError
from ..integrate import solve
from ..network_base import require_dense
from ..solvers import ODE_SOLVERS
from ._groups import select
from .params import Params, readout, vector_field
from .rule import AbstractRule
from .tasks import AbstractTask

LINEAR_SOLVERS = ("dense", "iterative")
"""``solver`` choices of :class:`Implicit`: lineax LU or matrix-free GMRES."""

EQPROP_GROUPS = ("J", "theta", "B", "W_out")
"""Groups equilibrium propagation supports (J: the symmetric part of the gradient, see
:class:`Eqprop`)."""


@final
class FixedPointTask(AbstractTask):
    """A static-input regression task on the network's stable equilibrium.

    Loss ℓ(r*, y) = ½ ‖r* − y‖² with r* = W_out φ(g h*) and F(h*, w, x) = 0.

    **Fields:**
    - ``x``: static input, shape (n_in,).
    - ``y``: target readout, shape (n_out,).
    - ``h0``: state the relaxation starts from, shape (n,).
    - ``t_relax``: longest relaxation time (units of τ) for the forward and adjoint relaxations
      (a 0-d array, so changing it does not recompile).
    - ``relax_tol``: the forward relaxation stops (steady-state event) once ‖F(h)‖_∞ < relax_tol;
      reaching t_relax with a larger residual is a :class:`ConvergenceError`.
    - ``tol``: required ‖F(h*)‖_∞ after the Newton refinement.
    - ``rtol``, ``atol``: step-size control of the relaxation ODE solves (the steady state of an
      autonomous solve does not depend on them: every Runge–Kutta stage vanishes at a zero of F).
    - ``max_steps``: step limit of each relaxation; ``newton_steps``: limit of Newton iterations.
    """

    x: jax.Array
    y: jax.Array
    h0: jax.Array
    t_relax: jax.Array = eqx.field(default_factory=lambda: jnp.asarray(2000.0))
    relax_tol: float = eqx.field(static=True, default=1e-6)
    tol: float = eqx.field(static=True, default=1e-10)
    rtol: float = eqx.field(static=True, default=1e-6)
    atol: float = eqx.field(static=True, default=1e-8)
    max_steps: int = eqx.field(static=True, default=100_000)
    newton_steps: int = eqx.field(static=True, default=50)

    @classmethod
    def create(cls, x, y, n: int | None = None, h0=None, t_relax: float = 2000.0,
               relax_tol: float = 1e-6, tol: float = 1e-10, rtol: float = 1e-6,
               atol: float = 1e-8, max_steps: int = 100_000, newton_steps: int = 50,
               dtype: str = "float64") -> FixedPointTask:
        """Validate and build a task; ``h0`` defaults to zeros of length ``n``."""
        arrays = {}
        for name, value in (("x", x), ("y", y)):
            value = np.atleast_1d(np.asarray(value, dtype=np.float64))
            if value.ndim != 1 or value.size == 0 or not np.all(np.isfinite(value)):
                raise ParameterError(f"{name} has shape {value.shape} (or non-finite entries); "
                                     "a finite non-empty 1-D array is required")
            arrays[name] = jnp.asarray(value, dtype)
        if h0 is None:
            if n is None:
                raise ParameterError("n=None and h0=None; give the network size n or h0")
            n = validation.positive_int("n", n)
            h0 = np.zeros(n)
        h0 = np.asarray(h0, dtype=np.float64)
        if h0.ndim != 1 or h0.size == 0 or not np.all(np.isfinite(h0)):
            raise ParameterError(f"h0 has shape {h0.shape} (or non-finite entries); a finite "
                                 "1-D state of length n is required")
        if n is not None and h0.size != n:
            raise ParameterError(f"h0 has length {h0.size}; n={n} is required")
        return cls(
            x=arrays["x"], y=arrays["y"], h0=jnp.asarray(h0, dtype),
            t_relax=jnp.asarray(validation.positive("t_relax", t_relax), dtype),
            relax_tol=validation.positive("relax_tol", relax_tol),
            tol=validation.positive("tol", tol),
            rtol=validation.positive("rtol", rtol), atol=validation.positive("atol", atol),
            max_steps=validation.positive_int("max_steps", max_steps),
            newton_steps=validation.positive_int("newton_steps", newton_steps))

    @property
    def n(self) -> int:
        return self.h0.shape[0]

    @property
    def n_in(self) -> int:
        return self.x.shape[0]

    @property
    def n_out(self) -> int:
        return self.y.shape[0]

    def loss_at(self, h: jax.Array, params: Params) -> jax.Array:
        """ℓ(r, y) = ½ ‖W_out φ(g h) − y‖² for a state ``h`` (n,) (pure jax, differentiable)."""
        residual = readout(h, params) - self.y
        return 0.5 * jnp.sum(residual * residual)

    def loss(self, params: Params) -> jax.Array:
        """L(w) = ℓ(r*(w), y) at the relaxed and Newton-refined fixed point (checked; not for
        use under ``jax.grad`` — use the rule :class:`Implicit` for gradients)."""
        return self.loss_at(fixed_point(params, self), params)


# ------------------------------------------------------------------------------------------------
# Finding the equilibrium


RELAX_SOLVER = ODE_SOLVERS["tsit5"]
"""Solver of the relaxations to a fixed point (forward state, Almeida–Pineda adjoint)."""

RELAX_CONTROL = "i"
"""Step-size control of the relaxations: the I controller, because PI costs more here. Measured
(benchmarks/bench_controllers.py, n = 20, g = 0.5) to the same steady-state event: 277 (I) vs 391
(PI) evaluations for the forward relaxation to ‖F‖ < 1e-6, 1909 vs 2479 for the Almeida–Pineda
adjoint to 1e-12. Near rest the step sits at Tsit5's stability limit, where the I controller's
quicker step growth pays and PI's damping only delays it."""


def _relax(field, y0, args, task: FixedPointTask, tol: float):
    """Integrate dy/dt = field(y, args) from y0 until ‖field‖_∞ < tol or t = t_relax.

    Returns (y_end, t_end). Gradients are not taken through the relaxation (the implicit
    function theorem does not need them)."""
    solution = solve(
        lambda t, y, a: field(y, a), y0, RELAX_SOLVER, jnp.zeros((), task.t_relax.dtype),
        task.t_relax, args=args,
        # near the steady state the step grows to Tsit5's stability limit, where the step-size
        # control keeps ‖F‖ at the level of its tolerances: they must lie below ``tol``
        rtol=min(task.rtol, tol / 10), atol=min(task.atol, tol / 10), control=RELAX_CONTROL,
        event=diffrax.Event(diffrax.steady_state_event(rtol=0.0, atol=tol,
                                                       norm=optx.max_norm)),
        max_steps=task.max_steps, throw=False)
    return solution.ys[-1], solution.ts[-1]


def _equilibrium(field, args, task: FixedPointTask, adjoint=None):
    """Stable zero of ``field(h, args)``: relaxation, then Newton. Returns (h*, diagnostics)."""
    frozen = jax.lax.stop_gradient(args)
    h_relaxed, t_end = _relax(field, task.h0, frozen, task, task.relax_tol)
    h_relaxed = jax.lax.stop_gradient(h_relaxed)
    relax_residual = jnp.max(jnp.abs(field(h_relaxed, frozen)))
    solution = optx.root_find(
        field, optx.Newton(rtol=task.tol, atol=task.tol, linear_solver=lx.LU()), h_relaxed, args,
        max_steps=task.newton_steps, throw=False,
        adjoint=adjoint if adjoint is not None else optx.ImplicitAdjoint())
    h = solution.value
    diagnostics = {
        "relax_residual": relax_residual, "relax_time": t_end,
        "residual": jnp.max(jnp.abs(field(jax.lax.stop_gradient(h), frozen))),
        "newton_steps": solution.stats["num_steps"],
        "newton_ok": solution.result == optx.RESULTS.successful,
    }
    return h, diagnostics


def _converged(diagnostics, task: FixedPointTask) -> jax.Array:
    """Traced version of :func:`_check`: True when relaxation settled and Newton converged."""
    return ((diagnostics["relax_residual"] < task.relax_tol)
            & (diagnostics["residual"] <= task.tol) & diagnostics["newton_ok"])


def _check(diagnostics, task: FixedPointTask, where: str) -> None:
    """Raise ConvergenceError unless the relaxation settled and Newton reached ``task.tol``."""
    relax_residual = float(diagnostics["relax_residual"])
    residual = float(diagnostics["residual"])
    if not relax_residual < task.relax_tol:
        raise ConvergenceError(
            f"{where}: the dynamics did not settle to a stable fixed point: ‖F(h)‖_∞ = "
            f"{relax_residual:.3g} at t = {float(diagnostics['relax_time']):.4g} "
            f"(t_relax = {float(task.t_relax):g}, relax_tol = {task.relax_tol}); the network may be "
            "chaotic/oscillating (g too large) or t_relax too short")
    if not (residual <= task.tol and bool(diagnostics["newton_ok"])):
        raise ConvergenceError(
            f"{where}: Newton refinement of the fixed point did not converge: ‖F(h*)‖_∞ = "
            f"{residual:.3g} after {int(diagnostics['newton_steps'])} steps "
            f"(tol = {task.tol}, newton_steps = {task.newton_steps})")


def _field(h, args):
    params, x = args
    return vector_field(h, params, x)


@jax.jit
def _fixed_point(params, task):
    return _equilibrium(_field, (params, task.x), task)


def _prepare(params, task) -> Params:
    if not isinstance(task, FixedPointTask):
        raise ParameterError(f"task must be a FixedPointTask, got {type(task).__name__}")
    task.check_params(params)
    return params.without_metadata()


def fixed_point(params: Params, task: FixedPointTask) -> jax.Array:
    """The stable equilibrium h* (n,) of dh/dt = F(h, w, x) reached from ``task.h0``.

    Relaxes the dynamics (diffrax Tsit5, steady-state event at ‖F‖_∞ < relax_tol, at most
    t_relax) and refines with Newton (optimistix, dense LU) to ‖F(h*)‖_∞ ≤ tol. Raises
    :class:`ConvergenceError` (with the residual reached and the time or step count) otherwise.
    Inside a user's jit the check is ``eqx.error_if`` instead: a run-time error carrying the
    message (``EquinoxRuntimeError`` under ``eqx.filter_jit``), without the residual values.
    """
    h, diagnostics = _fixed_point(_prepare(params, task), task)
    if isinstance(h, jax.core.Tracer):
        return eqx.error_if(h, ~_converged(diagnostics, task),
                            "fixed_point: no stable fixed point reached (the relaxation did not "
                            "settle within t_relax or Newton did not reach tol)")
    _check(diagnostics, task, "fixed_point")
    return h


# ------------------------------------------------------------------------------------------------
# (a) implicit function theorem, linear solve


class AbstractFixedPointRule(AbstractRule):
    """A rule for :class:`FixedPointTask`: every equilibrium it relaxes to is checked."""

    kind: ClassVar[str] = "fixed_point"
    task_type: ClassVar[type] = FixedPointTask


def _check_finite(grads, where: str, what: str) -> None:
    if not all(bool(jnp.all(jnp.isfinite(d))) for d in grads.values()):
        raise ConvergenceError(f"{where}: {what} returned a non-finite gradient")


# ------------------------------------------------------------------------------------------------
# (a) implicit function theorem, linear solve


def _linear_solver(solver: str, n: int, tol: float):
    if solver == "dense":
        return lx.LU()
    # GMRES on the (transposed) Jacobian, matrix-free: only Jacobian–vector / vector–Jacobian
    # products of F are formed. A restart of n makes it exact in exact arithmetic for n ≤ 50.
    return lx.GMRES(rtol=tol, atol=tol, restart=min(n, 50), max_steps=50 * n)


@final
class Implicit(AbstractFixedPointRule):
    """The implicit function theorem.

    dL/dw = ∂ℓ/∂w − ∂ℓ/∂h* (∂F/∂h)⁻¹ ∂F/∂w at h*: reverse-mode differentiation through
    ``optimistix.root_find`` with ``ImplicitAdjoint``, which solves the transposed linear system
    (∂F/∂h)ᵀ λ = ∂ℓ/∂h* once (one solve for all parameters) and contracts λ with ∂F/∂w.

    **Options:** ``solver``: "dense" (lineax LU of the n × n Jacobian, O(n³)) or "iterative"
    (matrix-free GMRES, O(n²) per iteration, tolerance ``linear_tol``).
    """

    name: ClassVar[str] = "implicit"
    approximate: ClassVar[bool] = False
    symmetric_J_only: ClassVar[bool] = False
    description: ClassVar[str] = "implicit function theorem, one linear solve (LU or GMRES)"

    solver: str = eqx.field(static=True, default="dense")
    linear_tol: float = eqx.field(static=True, default=1e-12)

    def __check_init__(self):
        validation.choice("solver", self.solver, LINEAR_SOLVERS)
        validation.positive("linear_tol", self.linear_tol)

    def prepare(self, params, task) -> None:
        return None

    def gradient(self, params, task, trainable, static):
        adjoint = optx.ImplicitAdjoint(
            linear_solver=_linear_solver(self.solver, task.n, self.linear_tol))

        def loss_of_groups(groups):
            p = params.replace(**groups)
            h, diagnostics = _equilibrium(_field, (p, task.x), task, adjoint)
            return task.loss_at(h, p), diagnostics

        (loss, diagnostics), grads = jax.value_and_grad(loss_of_groups, has_aux=True)(
            select(params, trainable))
        return loss, grads, diagnostics

    def check(self, diagnostics, grads, task) -> None:
        _check(diagnostics, task, self.name)
        _check_finite(grads, self.name, f"the {self.solver} linear solve")


# ------------------------------------------------------------------------------------------------
# (b) Almeida–Pineda recurrent backpropagation


def adjoint_gradient(params: Params, task: FixedPointTask, h: jax.Array, v: jax.Array,
                     trainable: tuple[str, ...]) -> dict[str, jax.Array]:
    """∂ℓ/∂w (direct, at fixed h) + v ∂F/∂w at the state ``h`` (n,) for the adjoint ``v`` (n,):
    the gradient (IFT) once v = −∂ℓ/∂h* (∂F/∂h)⁻¹ is known, for the groups in ``trainable``."""

    def objective(groups):
        p = params.replace(**groups)
        return task.loss_at(h, p) + jnp.vdot(v, vector_field(h, p, task.x))

    return jax.grad(objective)(select(params, trainable))


@final
class RecurrentBackprop(AbstractFixedPointRule):
    """Almeida–Pineda recurrent backpropagation (exact up to the relaxation tolerance).

    Almeida, *A learning rule for asynchronous perceptrons with feedback in a combinatorial
    environment*, IEEE ICNN 1987; Pineda, *Generalization of back-propagation to recurrent
    neural networks*, PRL 59, 2229 (1987), Eqs. (11)–(14); Liao et al., ICML 2018, Eq. (5).

    The adjoint (row vector) v relaxes under the linear dynamics

        dv/dt = v ∂F/∂h(h*) + ∂ℓ/∂h*,         v(0) = 0,

    (in code: dv/dt = (∂F/∂h)ᵀ v + ∇_h ℓ, one vector–Jacobian product of the shared vector field
    per evaluation), which converges to v* = −∂ℓ/∂h* (∂F/∂h)⁻¹ exactly when h* is a stable
    equilibrium (same spectrum as the forward linearisation). Then
    dL/dw = ∂ℓ/∂w + v* ∂F/∂w, identical to (IFT). The relaxation stops when
    ‖dv/dt‖_∞ < ``tol``; the gradient error is then ≲ tol / (decay rate of the slowest mode).
    Not reaching ``tol`` within ``task.t_relax`` is a :class:`ConvergenceError`.

    **Options:** ``tol`` > 0 (static: it sets the relaxation's step-size control).
    """

    name: ClassVar[str] = "recurrent_backprop"
    approximate: ClassVar[bool] = False
    symmetric_J_only: ClassVar[bool] = False
    description: ClassVar[str] = "Almeida-Pineda recurrent backprop: the adjoint relaxed to rest"

    tol: float = eqx.field(static=True, default=1e-12)

    def __check_init__(self):
        validation.positive("tol", self.tol)

    def prepare(self, params, task) -> None:
        return None

    def gradient(self, params, task, trainable, static):
        h, diagnostics = _equilibrium(_field, (params, task.x), task)
        dl_dh = jax.grad(task.loss_at)(h, params)
        _, vjp = jax.vjp(lambda state: vector_field(state, params, task.x), h)

        def adjoint_field(v, args):
            return vjp(v)[0] + dl_dh

        v, t_end = _relax(adjoint_field, jnp.zeros_like(h), None, task, self.tol)
        diagnostics["adjoint_residual"] = jnp.max(jnp.abs(adjoint_field(v, None)))
        diagnostics["adjoint_time"] = t_end
        grads = adjoint_gradient(params, task, h, v, trainable)
        return task.loss_at(h, params), grads, diagnostics

    def check(self, diagnostics, grads, task) -> None:
        _check(diagnostics, task, self.name)
        residual = float(diagnostics["adjoint_residual"])
        if not residual < self.tol:
            raise ConvergenceError(
                f"{self.name}: the Almeida–Pineda adjoint relaxation did not reach its steady "
                f"state: ‖dv/dt‖_∞ = {residual:.3g} at t = "
                f"{float(diagnostics['adjoint_time']):.4g} (tol = {self.tol}, "
                f"t_relax = {float(task.t_relax):g})")
        _check_finite(grads, self.name, "the adjoint relaxation")


# ------------------------------------------------------------------------------------------------
# (c) equilibrium propagation


def energy(h: jax.Array, params: Params, x: jax.Array) -> jax.Array:
    """Cohen–Grossberg–Hopfield energy E(h, w) of the SCS dynamics with symmetric J (scalar).

        E = Σ_i [h_i φ(g h_i) − Φ(g h_i)/g] − ½ φᵀ J φ − φᵀ (θ + B x),     φ = φ(g h),

    with Φ = ∫φ (Φ(0) = 0). See :class:`Eqprop` for why F = −D⁻¹ ∂E/∂h. Needs a dense J
    (ParameterError for a sparse network).
    """
    net = params.net
    require_dense(net, "fixed_point.energy")
    phi = net.phi
    rate = phi.phi(net.g * h)
    leak = jnp.sum(h * rate - phi.antiderivative(net.g * h) / net.g)
    return leak - 0.5 * rate @ net.J @ rate - rate @ (net.theta + params.B @ x)


def _nudged_field(h, args):
    params, x, y, beta = args
    net = params.net
    metric = net.g * net.phi.dphi(net.g * h)
    dl_dh = jax.grad(lambda state: 0.5 * jnp.sum((readout(state, params) - y) ** 2))(h)
    return vector_field(h, params, x) - beta * dl_dh / metric


@final
class Eqprop(AbstractFixedPointRule):
    """Equilibrium propagation: an O(β) (one-sided) or O(β²) (symmetric) estimate of dL/dw.

    Scellier & Bengio, *Equilibrium propagation*, Front. Comput. Neurosci. 11, 24 (2017),
    Theorem 1 / Eq. (10); symmetric estimate: Laborieux et al., Front. Neurosci. 15, 633674
    (2021), Eq. (7).

    **Model and energy.** The SCS dynamics dh/dt = F = −h + J φ(g h) + θ + B x is not the
    gradient of a function of h, but for symmetric J it is a gradient system in a positive
    metric (Cohen & Grossberg, IEEE SMC 13, 815 (1983); Hopfield, PNAS 81, 3088 (1984)).
    With φ = φ(g h), Φ = ∫φ and D = diag(g φ′(g h)) > 0, the energy (:func:`energy`)

        E(h, w) = Σ_i [h_i φ_i − Φ(g h_i)/g] − ½ φᵀ J φ − φᵀ (θ + B x)

    has ∂E/∂h_i = g φ′(g h_i) [h_i − (J φ)_i − θ_i − (B x)_i] (using Jᵀ = J), i.e.

        F = −D⁻¹ ∂E/∂h,         dE/dt = −(∂E/∂h)ᵀ D⁻¹ (∂E/∂h) ≤ 0,

    so the dynamics descends E and its stable equilibria are local minima of E (equivalently,
    in u = φ(g h): E(u) = Σ_i G(u_i) − ½ uᵀJu − uᵀ(θ + Bx) with G′(u) = φ⁻¹(u)/g, the
    continuous Hopfield energy). The nudged dynamics descends E + β ℓ in the same metric:

        dh/dt = F(h) − β D⁻¹ ∂ℓ/∂h,            equilibrium h*(β): ∂E/∂h + β ∂ℓ/∂h = 0.

    **Estimate.** By Scellier & Bengio's theorem (differentiate ∂_w(E + βℓ)(h*(β)) in β at 0
    and use the implicit function theorem for dh*/dβ and dh*/dw with the symmetric Hessian of
    E), dL/dw = ∂ℓ/∂w(h*(0)) + d/dβ|₀ ∂E/∂w(h*(β), w). The one-sided estimate

        [∂E/∂w(h*(β)) − ∂E/∂w(h*(0))] / β + ∂ℓ/∂w(h*(0))

    has bias O(β) (Taylor expansion of a smooth function of β); the symmetric estimate
    [∂E/∂w(h*(β)) − ∂E/∂w(h*(−β))] / (2β) + ∂ℓ/∂w has bias O(β²) (the even terms cancel).
    ∂E/∂θ = −φ, ∂E/∂B = −φ xᵀ, ∂E/∂J = −½ φ φᵀ.

    **Requirements and supported groups.** J symmetric (to 1e-12 relative; else
    :class:`ParameterError`), φ strictly increasing (``Nonlinearity.increasing``: tanh, erf;
    relu has D = 0 for h < 0) and g > 0. Groups: ``theta``, ``B``, ``W_out`` (exact direct
    term) and ``J``, for which the estimate is the gradient *within symmetric matrices*: the
    symmetric part ½(G + Gᵀ) of the unconstrained gradient G of the other methods (a
    perturbation δJ = δJᵀ changes the dynamics by δJ φ, which the energy's −½ φᵀ J φ term
    produces with weight ½ on each of J_ij, J_ji). Gradient descent with it keeps J symmetric.

    **Options:** ``beta`` > 0 nudging strength; ``symmetric``: use the ±β estimate.
    """

    name: ClassVar[str] = "eqprop"
    approximate: ClassVar[bool] = False
    symmetric_J_only: ClassVar[bool] = True
    description: ClassVar[str] = "equilibrium propagation from nudged equilibria (symmetric J)"

    beta: float = 1e-3
    symmetric: bool = False

    def __check_init__(self):
        validation.positive("beta", self.beta)
        if not isinstance(self.symmetric, bool):
            raise ParameterError(f"symmetric={self.symmetric!r}; True or False is required")

    def prepare(self, params, task) -> None:
        net = params.net
        if not net.phi.increasing:
            # The metric D = diag(g φ′(g h)) of the gradient system must be positive definite.
            allowed = tuple(name for name, nl in nonlinearity.NONLINEARITIES.items()
                            if nl.increasing)
            raise ParameterError(f"phi={net.phi.name!r}: equilibrium propagation needs a strictly "
                                 f"increasing φ (Nonlinearity.increasing); registered ones that "
                                 f"are: {allowed}")
        if not float(net.g) > 0:
            raise ParameterError(f"g={float(net.g)}: equilibrium propagation needs g > 0")
        asymmetry = float(jnp.max(jnp.abs(net.J - net.J.T)))
        if asymmetry > 1e-12 * max(1.0, float(jnp.max(jnp.abs(net.J)))):
            raise ParameterError(f"J is not symmetric (max |J − Jᵀ| = {asymmetry:.3g}); "
                                 "equilibrium propagation requires J = Jᵀ (symmetry=1)")

    def gradient(self, params, task, trainable, static):
        beta, symmetric = self.beta, self.symmetric
        h_free, diagnostics = _equilibrium(_field, (params, task.x), task)
        start = eqx.tree_at(lambda t: t.h0, task, h_free)
        h_plus, diag_plus = _equilibrium(_nudged_field, (params, task.x, task.y, beta), start)
        # one code path for both estimates: the one-sided reference is the β = 0 equilibrium,
        # found again from h_free itself (the relaxation stops at once, Newton takes ≤ 1 step)
        h_reference, diag_reference = _equilibrium(
            _nudged_field, (params, task.x, task.y, jnp.where(symmetric, -beta, 0.0)), start)

        def energy_grad(h):
            return jax.grad(lambda groups: energy(h, params.replace(**groups), task.x))(
                select(params, trainable))

        direct = jax.grad(lambda groups: task.loss_at(h_free, params.replace(**groups)))(
            select(params, trainable))
        scale = jnp.where(symmetric, 2.0 * beta, beta)
        grads = jax.tree.map(lambda a, b, c: (a - b) / scale + c, energy_grad(h_plus),
                             energy_grad(h_reference), direct)
        return task.loss_at(h_free, params), grads, (diagnostics, diag_plus, diag_reference)

    def check(self, diagnostics, grads, task) -> None:
        labels = ("free", "nudged +β", "nudged −β" if self.symmetric else "reference")
        for label, diag in zip(labels, diagnostics, strict=True):
            _check(diag, task, f"{self.name} ({label} phase)")
        _check_finite(grads, self.name, "the nudged equilibria")
