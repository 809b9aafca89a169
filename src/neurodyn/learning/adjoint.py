"""Continuous adjoint (optimise-then-discretise), memory independent of T.

For L = Σ_k q_k α_k ℓ(r(t_k), y_k) along dh/dt = F(h, w, x(t)) the adjoint a(t) (n,) obeys
(Pontryagin; Chen et al., *Neural ODEs*, NeurIPS 2018, eqs. 4–5; Kidger 2021 thesis §5.1)

    da/dt = −(∂F/∂h)ᵀ a                      between samples,
    a(t_k⁻) = a(t_k⁺) + q_k α_k ∂ℓ/∂h(t_k)    at every sample (the loss is sampled),
    dL/dw = ∫ aᵀ ∂F/∂w dt  (+ the direct readout term Σ_k q_k α_k ∂ℓ/∂W_out),

solved backwards from a(t_{K−1}⁺) = 0 together with h itself, which is **re-integrated
backwards** from h(t_{K−1}) instead of being stored. Memory is O(n + m) whatever T.

Accuracy (documented and tested, tests/test_learning_trajectory.py): backwards in time the
re-integrated h follows dh/dt = F with time reversed, whose Lyapunov exponents are minus the
forward ones. For contracting dynamics (g < 1: all forward exponents ≈ −1 + …) and for chaotic
dynamics (the strongly contracting directions, ≈ −1) the backward solve amplifies the solver's
local errors like e^{|λ_min| (T − t)}, so the gradient error grows roughly exponentially with T
for any g, faster at larger g where the contracting directions are steeper. Tight tolerances
delay but do not remove this. ``implementation="diffrax"`` uses diffrax's ``BacksolveAdjoint``,
which makes the same approximation (diffrax documents it as approximate).

The vector-Jacobian products aᵀ ∂F/∂h and aᵀ ∂F/∂w come from ``jax.vjp`` of the one vector field,
so aᵀ ∂F/∂J = a ⊗ φ(g h) costs O(n²), not O(n·m).
"""

from __future__ import annotations

from typing import ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import integrate, validation
from ._groups import DYNAMIC, select
from .bptt import grad_through, solve_trajectory
from .params import vector_field
from .rule import SOLVERS, AbstractAdaptiveRule

IMPLEMENTATIONS = ("own", "diffrax")


@final
class Adjoint(AbstractAdaptiveRule):
    """The continuous adjoint solved backwards (see the module docstring).

    **Options:** ``solver`` ∈ SOLVERS; ``rtol``/``atol``/``control`` for the forward and
    the backward solves (default tight, 1e-10, and PI control); ``implementation`` "own"
    (segment-wise backward solve of (h, a, ∫aᵀ∂F/∂w) with the jumps at the sample times;
    O(n + m) memory) or "diffrax"
    (``BacksolveAdjoint`` through ``SaveAt(ts=times)``; its output h(t_k) is O(K n));
    ``max_steps`` of each solve.
    """

    name: ClassVar[str] = "adjoint"
    approximate: ClassVar[bool] = False
    description: ClassVar[str] = "continuous adjoint solved backwards with h, memory flat in T"

    rtol: float = 1e-10
    atol: float = 1e-10
    # PI, unlike the other adaptive rules (rule.CONTROL): measured (benchmarks/
    # bench_controllers.py, the sine task, n = 12) at a gradient error of 7.8e-5 it needs 0.86×
    # the I controller's evaluations (5200 vs 6060), and at this default rtol = 1e-10 its error
    # is 1.4e-4 (4782 evaluations) where the I controller's is still 1.7e-3 (3348): the backward
    # re-integration amplifies local errors, which PI keeps ~10× below the tolerance.
    control: str = eqx.field(static=True, default="pi")
    implementation: str = eqx.field(static=True, default="own")

    def __check_init__(self):
        validation.choice("implementation", self.implementation, IMPLEMENTATIONS)

    def gradient(self, params, task, trainable, static):
        if self.implementation == "diffrax":
            loss, grads, steps = _backsolve(params, task, trainable, self.solver, self.rtol,
                                            self.atol, self.max_steps, self.control)
        else:
            loss, grads, steps = _own(params, task, trainable, self.solver, self.rtol, self.atol,
                                      self.max_steps, self.control)
        return loss, grads, {"num_steps": steps}


def _backsolve(params, task, trainable, solver, rtol, atol, max_steps, control):
    """(L, grads, forward steps) by diffrax's BacksolveAdjoint."""
    adjoint = integrate.backsolve_adjoint(SOLVERS[solver], rtol, atol, control)

    def loss_and_steps(p):
        solution = solve_trajectory(p, task, solver, rtol, atol, adjoint, max_steps, control)
        return task.loss_from_states(solution.ys, p), solution.stats["num_steps"]

    (loss, steps), grads = grad_through(loss_and_steps, params, trainable, has_aux=True)
    return loss, grads, steps


def _segment(field, solver, t0, t1, y0, args, rtol, atol, max_steps, control):
    """Solve from t0 to t1 (either direction); returns y(t1) and the steps attempted."""
    solution = integrate.solve(field, y0, SOLVERS[solver], t0, t1, args=args, rtol=rtol,
                               atol=atol, control=control, max_steps=max_steps)
    return jax.tree.map(lambda leaf: leaf[-1], solution.ys), solution.stats["num_steps"]


def _own(params, task, trainable, solver, rtol, atol, max_steps, control):
    """(L, grads, steps of the forward and backward solves) by the segment-wise adjoint."""
    dynamic = tuple(name for name in trainable if name in DYNAMIC)
    times = task.times
    K = times.shape[0]

    def forward(t, h, p):
        return vector_field(h, p, task.input_at(t))

    def readout_terms(h, k):
        """Sample k's loss, ∂/∂h and ∂/∂W_out of it."""
        loss, (d_h, d_params) = jax.value_and_grad(task.sample_loss, argnums=(0, 1))(h, params, k)
        return loss, d_h, d_params.W_out

    def forward_interval(carry, k):
        h, loss = carry
        h, steps = _segment(forward, solver, times[k], times[k + 1], h, params, rtol, atol,
                            max_steps, control)
        return (h, loss + task.sample_loss(h, params, k + 1)), steps

    (h_final, loss), forward_steps = jax.lax.scan(
        forward_interval, (task.h0, task.sample_loss(task.h0, params, 0)), jnp.arange(K - 1))

    def backward_field(t, state, args):
        h, a, _ = state
        x = task.input_at(t)

        def field(h, groups):
            return vector_field(h, params.replace(**groups), x)

        dh, vjp = jax.vjp(field, h, select(params, dynamic))
        a_h, a_w = vjp(a)
        return dh, -a_h, jax.tree.map(jnp.negative, a_w)

    zeros = {name: jnp.zeros_like(params.get(name)) for name in dynamic}
    _, d_h, d_out = readout_terms(h_final, K - 1)

    def backward_interval(carry, k):
        h, a, integral, d_out = carry
        (h, a, integral), steps = _segment(backward_field, solver, times[k + 1], times[k],
                                           (h, a, integral), None, rtol, atol, max_steps, control)
        _, d_h, d_out_k = readout_terms(h, k)
        return (h, a + d_h, integral, d_out + d_out_k), steps

    carry = (h_final, d_h, zeros, d_out)
    (_, _, integral, d_out), backward_steps = jax.lax.scan(backward_interval, carry,
                                                           jnp.arange(K - 2, -1, -1))
    grads = dict(integral)
    if "W_out" in trainable:
        # along the re-integrated trajectory, like the rest of the gradient
        grads["W_out"] = d_out
    return (loss, {name: grads[name] for name in trainable},
            jnp.sum(forward_steps) + jnp.sum(backward_steps))
