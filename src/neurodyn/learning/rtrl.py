"""Real-time recurrent learning (forward sensitivities) and the RFLO approximation.

Exact RTRL (Williams & Zipser 1989; continuous time: Marschall, Cho & Savin, JMLR 2020, §3):
the sensitivities p_w = dh/dw (n × m_w per group w) obey the variational equation

    dp/dt = (∂F/∂h) p + ∂F/∂w,      p(t_0) = 0 (h0 does not depend on w),

integrated alongside h; the gradient is accumulated online, dL/dw = Σ_k q_k α_k ∂ℓ/∂h(t_k) p(t_k)
(+ the direct readout term for W_out), so nothing is stored over time: memory O(n m).

Structure (why this is not a dense n × m × m product): ∂F_i/∂J_kl = δ_ik φ(g h_l),
∂F_i/∂θ_k = δ_ik, ∂F_i/∂B_kl = δ_ik x_l — each parameter touches one row, so the source term is
written into the diagonal i = k in O(n²) instead of forming an n × m matrix, and (∂F/∂h) p is
``jax.linearize`` of the one vector field applied to the m columns of p by ``vmap`` (one
(m × n)·(n × n) product): O(n² m) = O(n⁴) per step for m = n².

- :class:`Rtrl` (``rtrl``): the augmented ODE (h, p) through diffrax, adaptive, one solve per
  sample interval (online accumulation at every sample).
- :class:`RtrlDiscrete` (``rtrl_discrete``): the same augmented system stepped by the fixed-step
  tableau of BPTT-scan; explicit RK steps commute with differentiation, so this is exactly the
  gradient of BPTT-scan's discretised loss.
- :class:`Rflo` (``rflo``): RFLO (Murray, eLife 2019) without its random feedback: eligibility
  traces of each parameter on its own unit that decay at the leak rate,
  de_kl/dt = −e_kl + ∂F_k/∂w_kl: memory O(m), time O(n²) per step. It is an approximation;
  :func:`alignment` reports its cosine with the exact gradient. e-prop (:mod:`.eprop`) is the
  same rule here and SnAp-1 (:mod:`.snap1`) adds the self-coupling to the decay; UORO
  (:mod:`.uoro`) and KF-RTRL (:mod:`.kf_rtrl`) keep random low-rank estimates of the whole p.
"""

from __future__ import annotations

from typing import ClassVar, final

import jax
import jax.numpy as jnp

from .. import integrate
from ..network import rate
from . import _fixed_step
from ._groups import DYNAMIC
from .params import vector_field
from .rule import SOLVERS, AbstractAdaptiveRule, AbstractFixedStepRule


def _source(name: str, h, params, x):
    """∂F/∂w for group ``name`` as the row-structured factor s: ∂F_i/∂w_(k, l) = δ_ik s_l."""
    if name == "J":
        return rate(h, params.net)
    if name == "B":
        return x
    return None  # theta: ∂F_i/∂θ_k = δ_ik


def _add_diagonal(tangent, name, source):
    """tangent[i, i, ...] += source (or += 1 for θ) — the row structure of ∂F/∂w."""
    n = tangent.shape[0]
    index = jnp.arange(n)
    if source is None:
        return tangent.at[index, index].add(1.0)
    return tangent.at[index, index, :].add(source)


def augmented_field(params, task, dynamic):
    """f(t, (h, p)) = (F, (∂F/∂h) p + ∂F/∂w) for the groups in ``dynamic``."""

    def f(t, state):
        h, sensitivities = state
        x = task.input_at(t)
        dh, jvp = jax.linearize(lambda hh: vector_field(hh, params, x), h)
        n = h.shape[0]
        out = {}
        for name, p in sensitivities.items():
            columns = p.reshape(n, -1)
            tangent = jax.vmap(jvp, in_axes=1, out_axes=1)(columns).reshape(p.shape)
            out[name] = _add_diagonal(tangent, name, _source(name, h, params, x))
        return dh, out

    return f


def _initial_sensitivities(params, dynamic):
    n = params.n
    return {name: jnp.zeros((n,) + params.get(name).shape, params.net.J.dtype) for name in dynamic}


def _accumulate(params, task, trainable):
    """on_sample(k, (h, p), (loss, grads)) for the exact sensitivities p (n, *shape_w)."""

    def on_sample(k, state, acc):
        h, sensitivities = state
        loss, grads = acc
        value, (d_h, d_params) = jax.value_and_grad(task.sample_loss, argnums=(0, 1))(h, params, k)
        grads = dict(grads)
        for name, p in sensitivities.items():
            grads[name] = grads[name] + jnp.tensordot(d_h, p, axes=(0, 0))
        if "W_out" in trainable:
            grads["W_out"] = grads["W_out"] + d_params.W_out
        return loss + value, grads

    return on_sample


def zero_accumulator(params, trainable):
    """(0 loss, zero gradient per trainable group): the start of a forward rule's online sum."""
    return (jnp.zeros((), params.net.J.dtype),
            {name: jnp.zeros_like(params.get(name)) for name in trainable})


@final
class Rtrl(AbstractAdaptiveRule):
    """Exact RTRL as an augmented ODE (h, p) through diffrax (adaptive), one solve per sample
    interval with the gradient accumulated online at every sample.

    The step-size control sees h and p together, so the sensitivities are as accurate as
    the tolerances. Memory O(n · m) (p for J is n³ numbers), time O(n² m) per step.

    **Options:** ``solver`` ∈ SOLVERS, ``rtol``/``atol``/``control``, ``max_steps``.
    """

    name: ClassVar[str] = "rtrl"
    approximate: ClassVar[bool] = False
    description: ClassVar[str] = "exact forward sensitivities as an augmented ODE in diffrax"

    def gradient(self, params, task, trainable, static):
        dynamic = tuple(name for name in trainable if name in DYNAMIC)
        f = augmented_field(params, task, dynamic)
        on_sample = _accumulate(params, task, trainable)
        y0 = (task.h0, _initial_sensitivities(params, dynamic))
        acc0 = on_sample(0, y0, zero_accumulator(params, trainable))

        def interval(carry, k):
            y, acc = carry
            solution = integrate.solve(
                lambda t, y, args: f(t, y), y, SOLVERS[self.solver], task.times[k],
                task.times[k + 1], rtol=self.rtol, atol=self.atol, control=self.control,
                max_steps=self.max_steps)
            y = jax.tree.map(lambda leaf: leaf[-1], solution.ys)
            return (y, on_sample(k + 1, y, acc)), solution.stats["num_steps"]

        (_, (loss, grads)), steps = jax.lax.scan(interval, (y0, acc0),
                                                 jnp.arange(task.times.shape[0] - 1))
        return loss, grads, {"num_steps": jnp.sum(steps)}


@final
class RtrlDiscrete(AbstractFixedStepRule):
    """Discrete-time RTRL: the augmented system stepped in a ``lax.scan`` with the fixed-step
    tableau of BPTT-scan (same ``dt``, ``stepper``), hence the exact gradient of BPTT-scan's
    discretised loss, computed forward and online."""

    name: ClassVar[str] = "rtrl_discrete"
    approximate: ClassVar[bool] = False
    description: ClassVar[str] = "exact forward sensitivities stepped by BPTT-scan's tableau"

    def gradient(self, params, task, trainable, static):
        dynamic = tuple(name for name in trainable if name in DYNAMIC)
        y0 = (task.h0, _initial_sensitivities(params, dynamic))
        _, (loss, grads) = _fixed_step.integrate_samples(
            augmented_field(params, task, dynamic), task, y0, static, self.step(task, static),
            self.stepper, _accumulate(params, task, trainable), zero_accumulator(params, trainable))
        return loss, grads, None


class AbstractDiagonalTraceRule(AbstractFixedStepRule):
    """Approximate gradient by eligibility traces of the parameter's own unit (the shared code
    of RFLO, e-prop and SnAp-1).

    Exact RTRL keeps p_{i,(k,l)} = dh_i/dw_(k,l) for every unit i. These rules keep only the
    entries i = k, the trace e_(k,l) (the shape of w: memory O(m)), and drop the paths through
    the other units: with D_k the kept part of ∂F_k/∂h_k,

        de_(k,l)/dt = D_k e_(k,l) + s_l,    s the row factor of ∂F/∂w (φ(g h) for J, 1 for θ,
                                            x for B),

    stepped with the state by the fixed-step tableau; the estimate is
    Σ_j q_j α_j (∂ℓ/∂h_k)(t_j) e_(k,l)(t_j). The W_out gradient is exact (no dynamics) and the
    loss is the exact fixed-step loss. Memory O(m), time O(n²) per step.

    **Class attribute** ``self_coupling``: whether D_k includes the unit's coupling to itself
    through the network, D_k = −1 + J_kk g φ′(g h_k) (SnAp-1), or only the leak, D_k = −1
    (RFLO, e-prop).
    """

    approximate: ClassVar[bool] = True
    self_coupling: ClassVar[bool]

    def gradient(self, params, task, trainable, static):
        dynamic = tuple(name for name in trainable if name in DYNAMIC)
        dphi = params.net.phi.dphi

        def f(t, state):
            h, traces = state
            x = task.input_at(t)
            if self.self_coupling:
                diagonal = (-1.0 + jnp.diagonal(params.net.J) * params.net.g
                            * dphi(params.net.g * h))
            else:
                diagonal = -jnp.ones_like(h)
            out = {}
            for name, e in traces.items():
                source = _source(name, h, params, x)
                if source is None:
                    out[name] = diagonal * e + 1.0
                else:
                    out[name] = diagonal[:, None] * e + source[None, :]
            return vector_field(h, params, x), out

        def on_sample(k, state, acc):
            h, traces = state
            loss, grads = acc
            value, (d_h, d_params) = jax.value_and_grad(task.sample_loss, argnums=(0, 1))(
                h, params, k)
            grads = dict(grads)
            for name, e in traces.items():
                grads[name] = grads[name] + (d_h * e if e.ndim == 1 else d_h[:, None] * e)
            if "W_out" in trainable:
                grads["W_out"] = grads["W_out"] + d_params.W_out
            return loss + value, grads

        y0 = (task.h0, {name: jnp.zeros_like(params.get(name)) for name in dynamic})
        _, (loss, grads) = _fixed_step.integrate_samples(
            f, task, y0, static, self.step(task, static), self.stepper, on_sample,
            zero_accumulator(params, trainable))
        return loss, grads, None


@final
class Rflo(AbstractDiagonalTraceRule):
    """RFLO, random-feedback-free (Murray, eLife 2019): the eligibility trace of w_(k,l)
    decays at the leak rate alone, de_(k,l)/dt = −e_(k,l) + s_l
    (:class:`AbstractDiagonalTraceRule`); the error reaches unit k through W_outᵀ (∂ℓ/∂h_k)
    instead of Murray's fixed random feedback matrix. Murray's discrete update
    e ← (1 − α) e + α φ′(u_k) a_l is this trace for the rate form r = φ(u); in our
    pre-activation form h the factor φ′ sits in ∂ℓ/∂h. Until 2026-12-01 ``rflo`` also kept the
    unit's self-coupling J_kk g φ′(g h_k) in the decay: that rule is SnAp-1, now
    :class:`~.snap1.Snap1`.
    """

    name: ClassVar[str] = "rflo"
    description: ClassVar[str] = "RFLO: leak-only eligibility traces (Murray 2019), an approximation"
    self_coupling: ClassVar[bool] = False


def alignment(approximate: dict, exact: dict) -> float:
    """Cosine between two gradients (dicts over the same groups), flattened and concatenated."""
    a = jnp.concatenate([jnp.ravel(approximate[name]) for name in sorted(exact)])
    b = jnp.concatenate([jnp.ravel(exact[name]) for name in sorted(exact)])
    return float(a @ b / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))
