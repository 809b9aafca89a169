"""KF-RTRL, Kronecker-factored RTRL (Mujika, Meier & Steger, NeurIPS 2018), for the rate network
discretised as :class:`~.rtrl.RtrlDiscrete` is.

The dynamic parameters act through one matrix W = [J | θ | B] (n × n_a, n_a = n + 1 + n_in) on
the factor a(h, x) = [φ(g h); 1; x]: F = −h + W a. The influence p_{i,(k,l)} = dh_i/dW_kl is
carried as one Kronecker product, p ≈ A ⊗ u: p_{i,(k,l)} ≈ A_ik u_l with A (n × n) and
u (n_a). One explicit RK step S evaluates W a at each stage j (state y_j, time t_j), so its
exact sensitivity update (that of discrete RTRL) is a sum of Kronecker products,

    p ← Φ p + Σ_j C_j ⊗ a_j,    Φ = ∂S/∂h,  C_j = ∂S/∂δ_j  (δ_j added to stage j's derivative),

and with p ≈ A ⊗ u it is (ΦA) ⊗ u + Σ_j C_j ⊗ a_j: 1 + (stages) terms X_i ⊗ y_i. Independent
random signs c_i ∈ {±1} reduce them to one unbiasedly (the paper's reduction, for any number of
terms): A ← Σ_i c_i ρ_i X_i, u ← Σ_i c_i y_i/ρ_i, E = Σ_i X_i ⊗ y_i since E[c_i c_j] = δ_ij;
ρ_i = √(‖y_i‖/‖X_i‖) balances the factors. So E[A ⊗ u] is the exact discrete sensitivity and the
gradient estimate Σ_k q_k α_k (∂ℓ/∂h(t_k)ᵀ A) ⊗ u is unbiased for the gradient of the
discretised loss, with far less variance than UORO (the noise is only in the mixing of 1 + s
terms, not in a random projection of Ψ). Cost: Φ and the C_j are (1 + s) n Jacobian-vector
products of the step (forward-mode, as n × n matrices) and ΦA one n × n product: time O(n³)
per step, memory O(n²).

Signs: ``neurodyn.rng.key(seed, "kf_rtrl")`` with the global step index folded in; ``seed`` is
a traced option.
"""

from __future__ import annotations

from typing import ClassVar, final

import jax
import jax.numpy as jnp

from .. import rng
from ..network import rate
from . import _fixed_step
from ._groups import DYNAMIC
from .params import vector_field
from .rtrl import zero_accumulator
from .rule import AbstractSeededFixedStepRule
from .uoro import _TINY, accumulate_readout


@final
class KfRtrl(AbstractSeededFixedStepRule):
    """KF-RTRL: an unbiased Kronecker-factored estimate of the discrete RTRL sensitivity
    (module docstring). **Options:** ``dt``, ``stepper`` (as BPTT-scan), ``seed`` ≥ 0 (the
    random signs; traced)."""

    name: ClassVar[str] = "kf_rtrl"
    approximate: ClassVar[bool] = True
    description: ClassVar[str] = "KF-RTRL: unbiased Kronecker-factored RTRL estimate (Mujika et al. 2018)"

    def gradient(self, params, task, trainable, static):
        dynamic = tuple(name for name in trainable if name in DYNAMIC)
        dt = self.step(task, static)
        stages = _fixed_step.stage_count(self.stepper)
        base = rng.key(self.seed, "kf_rtrl")
        dtype = params.net.J.dtype
        n = params.n

        def factor(t, y):
            """a restricted to the dynamic groups: {J: φ(g y), theta: 1, B: x(t)}."""
            full = {"J": rate(y, params.net), "theta": jnp.ones((), dtype),
                    "B": task.input_at(t)}
            return {name: full[name] for name in dynamic}

        def field(t, y):
            return vector_field(y, params, task.input_at(t))

        def step(t, h, deltas):
            h_next, points = _fixed_step.rk_stages(field, t, h, dt, self.stepper, deltas)
            return h_next, (h_next, [factor(s, y) for s, y in points])

        def advance(t, state, index):
            h, A, u = state
            deltas = [jnp.zeros_like(h) for _ in range(stages)]
            (phi, C), (h_next, a) = jax.jacfwd(step, argnums=(1, 2), has_aux=True)(t, h, deltas)
            terms = [(phi @ A, u)] + list(zip(C, a, strict=True))
            signs = jax.random.rademacher(jax.random.fold_in(base, index), (len(terms),), dtype)
            A_next = jnp.zeros_like(A)
            u_next = jax.tree.map(jnp.zeros_like, u)
            for c, (X, y) in zip(signs, terms, strict=True):
                norm_y = jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(y)))
                rho = jnp.sqrt((norm_y + _TINY) / (jnp.linalg.norm(X) + _TINY))
                A_next = A_next + c * rho * X
                u_next = jax.tree.map(lambda acc, leaf, c=c, rho=rho: acc + c * leaf / rho,
                                      u_next, y)
            return h_next, A_next, u_next

        def add_dynamic(d_h, state, grads):
            _, A, u = state
            row = d_h @ A  # (n,): Σ_i ∂ℓ/∂h_i A_ik
            for name in dynamic:
                grads[name] = grads[name] + (row * u[name] if u[name].ndim == 0
                                             else jnp.outer(row, u[name]))
            return grads

        u0 = jax.tree.map(jnp.zeros_like, factor(task.times[0], task.h0))
        y0 = (task.h0, jnp.zeros((n, n), dtype), u0)
        _, (loss, grads) = _fixed_step.march(
            advance, task, y0, static, dt, accumulate_readout(task, params, trainable, add_dynamic),
            zero_accumulator(params, trainable))
        return loss, grads, None
