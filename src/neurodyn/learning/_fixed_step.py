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


def rk_step(f, t, y, dt, stepper: str):
    """One explicit RK step of dy/dt = f(t, y) (y any pytree) with the named tableau."""
    a_lower, b, c = TABLEAUX[stepper]
    stages = []
    for i in range(len(b)):
        y_stage = y
        if i > 0:
            y_stage = jax.tree.map(
                lambda y0, *ks, row=a_lower[i - 1]: y0 + dt * sum(
                    coefficient * k for coefficient, k in zip(row, ks, strict=True) if coefficient != 0.0),
                y, *stages)
        stages.append(f(t + c[i] * dt, y_stage))
    return jax.tree.map(
        lambda y0, *ks: y0 + dt * sum(weight * k for weight, k in zip(b, ks, strict=True)), y, *stages)


def integrate_samples(f, task, y0, steps: int, dt: float, stepper: str, on_sample, acc0):
    """March y from t_0 over every sample interval with ``steps`` fixed steps of ``dt``.

    ``on_sample(k, y, acc) -> acc`` is called at every sample time t_k (k = 0 … K−1): the online
    accumulation point (loss, gradient). Returns (y(t_{K−1}), acc). Memory is O(size of y) —
    nothing per step is stored unless a caller differentiates through it (BPTT-scan).
    """
    acc0 = on_sample(jnp.asarray(0), y0, acc0)

    def interval(carry, k):
        y, acc = carry
        t_start = task.times[k]

        def step(y, i):
            return rk_step(f, t_start + i * dt, y, dt, stepper), None

        y, _ = jax.lax.scan(step, y, jnp.arange(steps))
        acc = on_sample(k + 1, y, acc)
        return (y, acc), None

    (y, acc), _ = jax.lax.scan(interval, (y0, acc0), jnp.arange(task.times.shape[0] - 1))
    return y, acc
