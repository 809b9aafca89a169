"""UORO, unbiased online recurrent optimisation (Tallec & Ollivier, ICLR 2018), for the rate
network discretised as :class:`~.rtrl.RtrlDiscrete` is.

The fixed-step map h ← S(h, w) (the tableau of BPTT-scan, landing on every sample) has the exact
sensitivity recursion of discrete RTRL, p ← Φ p + Ψ with Φ = ∂S/∂h (n × n) and Ψ = ∂S/∂w
(n × m). UORO carries a rank-one estimate p̃ = u vᵀ (u ∈ ℝⁿ, v ∈ ℝᵐ over the groups J, θ, B)
and updates it with fresh random signs ν ∈ {±1}ⁿ and c ∈ {±1} at every step:

    u ← ρ₀ Φu + c ρ₁ ν,     v ← v/ρ₀ + c (νᵀΨ)/ρ₁,
    ρ₀ = √(‖v‖/‖Φu‖),       ρ₁ = √(‖νᵀΨ‖/‖ν‖)   (the variance-minimising scales),

so E[u′v′ᵀ | past] = Φ u vᵀ + E[ννᵀ] Ψ = Φ u vᵀ + Ψ (the cross terms carry a factor c, the ρ's
cancel in the kept terms): by induction E[p̃] = p at every step, and the gradient estimate
Σ_k q_k α_k (∂ℓ/∂h(t_k) · u) v is unbiased for the gradient of the discretised loss (what
BPTT-scan and discrete RTRL compute exactly). Φu is one JVP of the step and νᵀΨ one VJP:
time O(n²) per step (a few evaluations of the vector field), memory O(m) = O(n²).

The signs are drawn from ``neurodyn.rng.key(seed, "uoro")`` with the global step index folded
in; ``seed`` is a traced option (one compilation serves every seed).
"""

from __future__ import annotations

from typing import ClassVar, final

import jax
import jax.numpy as jnp

from .. import rng
from . import _fixed_step
from ._groups import DYNAMIC
from .params import vector_field
from .rtrl import zero_accumulator
from .rule import AbstractSeededFixedStepRule

_TINY = 1e-30
"""Added to the norms of the ρ's: at the first step u = v = 0 (ρ₀ = 1 then) and a zero νᵀΨ
(no trainable dynamic group) must not divide 0 by 0. Any positive value keeps the estimate
unbiased (the ρ's cancel in expectation); this one is far below every norm that occurs."""


def _norm(tree) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(tree)))


def step_map(params, task, dynamic, dt, stepper):
    """S(t, h, groups): one fixed step of dh/dt = F(h, w, x(t)) with the groups ``dynamic``
    given as arrays (so that jax can differentiate the step with respect to them)."""

    def step(t, h, groups):
        p = params.replace(**groups)
        return _fixed_step.rk_step(lambda s, y: vector_field(y, p, task.input_at(s)), t, h, dt,
                                   stepper)

    return step


def accumulate_readout(task, params, trainable, add_dynamic):
    """on_sample(k, state, (loss, grads)): the sample's loss, the exact W_out term and
    ``add_dynamic(d_h, state, grads)`` for the dynamic groups."""

    def on_sample(k, state, acc):
        loss, grads = acc
        value, (d_h, d_params) = jax.value_and_grad(task.sample_loss, argnums=(0, 1))(
            state[0], params, k)
        grads = add_dynamic(d_h, state, dict(grads))
        if "W_out" in trainable:
            grads["W_out"] = grads["W_out"] + d_params.W_out
        return loss + value, grads

    return on_sample


@final
class Uoro(AbstractSeededFixedStepRule):
    """UORO: an unbiased rank-one estimate of the discrete RTRL sensitivity (module docstring).

    **Options:** ``dt``, ``stepper`` (as BPTT-scan), ``seed`` ≥ 0 (the random signs; traced).
    One call returns one estimate; the mean over seeds converges to BPTT-scan's gradient.
    """

    name: ClassVar[str] = "uoro"
    approximate: ClassVar[bool] = True
    description: ClassVar[str] = "UORO: unbiased rank-one RTRL estimate (Tallec & Ollivier 2018)"

    def gradient(self, params, task, trainable, static):
        dynamic = tuple(name for name in trainable if name in DYNAMIC)
        dt = self.step(task, static)
        step = step_map(params, task, dynamic, dt, self.stepper)
        groups = {name: params.get(name) for name in dynamic}
        base = rng.key(self.seed, "uoro")
        dtype = params.net.J.dtype

        def advance(t, state, index):
            h, u, v = state
            signs, sign = jax.random.split(jax.random.fold_in(base, index))
            nu = jax.random.rademacher(signs, h.shape, dtype)
            c = jax.random.rademacher(sign, (), dtype)
            h_next, phi_u = jax.jvp(lambda y: step(t, y, groups), (h,), (u,))
            nu_psi = jax.vjp(lambda w: step(t, h, w), groups)[1](nu)[0]
            rho0 = jnp.sqrt((_norm(v) + _TINY) / (_norm(phi_u) + _TINY))
            rho1 = jnp.sqrt((_norm(nu_psi) + _TINY) / (_norm(nu) + _TINY))
            u = rho0 * phi_u + c * rho1 * nu
            v = jax.tree.map(lambda a, b: a / rho0 + c * b / rho1, v, nu_psi)
            return h_next, u, v

        def add_dynamic(d_h, state, grads):
            _, u, v = state
            weight = d_h @ u
            for name in dynamic:
                grads[name] = grads[name] + weight * v[name]
            return grads

        y0 = (task.h0, jnp.zeros_like(task.h0), jax.tree.map(jnp.zeros_like, groups))
        _, (loss, grads) = _fixed_step.march(
            advance, task, y0, static, dt, accumulate_readout(task, params, trainable, add_dynamic),
            zero_accumulator(params, trainable))
        return loss, grads, None
