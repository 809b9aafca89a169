"""Explicit Runge–Kutta steps on pytrees for the plain ``lax.scan`` paths (BPTT-scan, discrete
RTRL, RFLO).

Explicit RK methods commute with differentiation: the derivative of one RK step of dh/dt = F is
the same RK step applied to the variational system (h, p) with dp/dt = ∂F/∂h p + ∂F/∂w (Hairer,
Nørsett & Wanner, *Solving ODEs I*, §II.6; "internal numerical differentiation"). So the discrete
RTRL that steps the augmented system with this tableau is the exact gradient of the loss that
BPTT-scan differentiates.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp

from .. import solvers, validation


def _coefficients(solver_class: type):
    """(a_lower rows, b, c) as Python floats from a diffrax solver's Butcher tableau (c₁ = 0
    prepended); diffrax.Euler has none (it is the one-stage tableau b = (1,))."""
    if solver_class is diffrax.Euler:
        return (), (1.0,), (0.0,)
    tableau = solver_class.tableau
    return (tuple(tuple(float(a) for a in row) for row in tableau.a_lower),
            tuple(float(b) for b in tableau.b_sol),
            (0.0, *(float(c) for c in tableau.c)))


TABLEAUX = {name: _coefficients(spec.make) for name, spec in solvers.ODE_SOLVERS.items()
            if not spec.adaptive}
"""name → (a_lower rows, b, c): the tableaux of the fixed-step ODE solvers of
:mod:`neurodyn.solvers` (euler, heun, rk4), the ones simulate uses for the same names."""


def check_stepper(name: str) -> str:
    return validation.choice("stepper", name, TABLEAUX)


def rk_stages(f, t, y, dt, stepper: str, perturbations=None):
    """One explicit RK step of dy/dt = f(t, y) (y any pytree) with the named tableau, and its
    stages: (y after the step, [(t_j, y_j) of every stage]). ``perturbations`` (one pytree like
    y per stage, or None) are added to the stage derivatives, k_j = f(t_j, y_j) + δ_j: the
    derivative of the step with respect to δ_j is how a parameter entering stage j moves the
    step (the approximate RTRL rules need it stage by stage)."""
    a_lower, b, c = TABLEAUX[stepper]
    stages, points = [], []
    for i in range(len(b)):
        y_stage = y
        if i > 0:
            y_stage = jax.tree.map(
                lambda y0, *ks, row=a_lower[i - 1]: y0 + dt * sum(
                    coefficient * k for coefficient, k in zip(row, ks, strict=True) if coefficient != 0.0),
                y, *stages)
        k = f(t + c[i] * dt, y_stage)
        if perturbations is not None:
            k = jax.tree.map(jnp.add, k, perturbations[i])
        stages.append(k)
        points.append((t + c[i] * dt, y_stage))
    y_next = jax.tree.map(
        lambda y0, *ks: y0 + dt * sum(weight * k for weight, k in zip(b, ks, strict=True)), y, *stages)
    return y_next, points


def rk_step(f, t, y, dt, stepper: str):
    """One explicit RK step of dy/dt = f(t, y) (y any pytree) with the named tableau."""
    return rk_stages(f, t, y, dt, stepper)[0]


def stage_count(stepper: str) -> int:
    """Number of stages of the named tableau (euler 1, heun 2, rk4 4)."""
    return len(TABLEAUX[stepper][1])


def integrate_samples(f, task, y0, steps: int, dt: float, stepper: str, on_sample, acc0):
    """March y from t_0 over every sample interval with ``steps`` fixed steps of ``dt``.

    ``on_sample(k, y, acc) -> acc`` is called at every sample time t_k (k = 0 … K−1): the online
    accumulation point (loss, gradient). Returns (y(t_{K−1}), acc). Memory is O(size of y) —
    nothing per step is stored unless a caller differentiates through it (BPTT-scan).
    """
    return march(lambda t, y, s: rk_step(f, t, y, dt, stepper), task, y0, steps, dt, on_sample,
                 acc0)


def march(step, task, y0, steps: int, dt: float, on_sample, acc0):
    """:func:`integrate_samples` with any step map: ``step(t, y, s) -> y`` advances y by ``dt``
    from time t, s the global index of the step (0, 1, …; a stochastic rule folds it into its
    key so that every step draws afresh)."""
    acc0 = on_sample(jnp.asarray(0), y0, acc0)

    def interval(carry, k):
        y, acc = carry
        t_start = task.times[k]

        def one(y, i):
            return step(t_start + i * dt, y, k * steps + i), None

        y, _ = jax.lax.scan(one, y, jnp.arange(steps))
        acc = on_sample(k + 1, y, acc)
        return (y, acc), None

    (y, acc), _ = jax.lax.scan(interval, (y0, acc0), jnp.arange(task.times.shape[0] - 1))
    return y, acc
