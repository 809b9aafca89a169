"""Names of the integrators neurodyn offers, mapped onto diffrax solvers.

diffrax provides every method here except the classical fourth-order Runge–Kutta method, which
it lacks as a named solver; :class:`ClassicalRK4` supplies it as a Butcher tableau on diffrax's
explicit Runge–Kutta machinery (no integration loop of our own).
"""

from __future__ import annotations

from dataclasses import dataclass

import diffrax
import numpy as np

from . import validation


class ClassicalRK4(diffrax.AbstractERK):
    """The classical 4-stage, order-4 Runge–Kutta method (Kutta 1901), fixed step only.

    It has no embedded error estimate (``b_error`` is zero), so it must be used with
    ``diffrax.ConstantStepSize``.
    """

    tableau = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]),
        b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        b_error=np.zeros(4),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    )
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 4


@dataclass(frozen=True)
class SolverSpec:
    """How a solver name is used: its diffrax class, whether its step is adaptive, whether it is
    an SDE method, whether it needs space-time Lévy area, and how many drift evaluations it makes:
    ``evaluations_per_step`` for every attempted step (FSAL methods reuse their last stage, so
    Dopri8's 14 stages cost 13) plus ``first_step_evaluations`` once (the first stage of an FSAL
    method). Counted, not assumed: tests/test_simulate.py counts drift calls on device."""

    name: str
    make: type
    adaptive: bool
    sde: bool
    levy_area: bool
    evaluations_per_step: int
    first_step_evaluations: int = 0
    scan: bool = False
    """Integrated by :mod:`neurodyn.euler_maruyama` (a lax.scan) instead of diffrax."""

    def rhs_evaluations(self, num_steps: int) -> int:
        """Drift evaluations of a solve that attempted ``num_steps`` steps (accepted + rejected)."""
        return num_steps * self.evaluations_per_step + self.first_step_evaluations


ODE_SOLVERS = {
    "tsit5": SolverSpec("tsit5", diffrax.Tsit5, True, False, False, 6, 1),
    "dopri5": SolverSpec("dopri5", diffrax.Dopri5, True, False, False, 6, 1),
    "dopri8": SolverSpec("dopri8", diffrax.Dopri8, True, False, False, 13, 1),
    "euler": SolverSpec("euler", diffrax.Euler, False, False, False, 1),
    "heun": SolverSpec("heun", diffrax.Heun, False, False, False, 2),
    "rk4": SolverSpec("rk4", ClassicalRK4, False, False, False, 4),
}
"""ODE solvers: adaptive (rtol/atol) and fixed-step (dt)."""

SDE_SOLVERS = {
    "euler": SolverSpec("euler", diffrax.Euler, False, True, False, 1, scan=True),
    "shark": SolverSpec("shark", diffrax.ShARK, False, True, True, 2),
    "sra1": SolverSpec("sra1", diffrax.SRA1, False, True, True, 2),
}
"""SDE solvers for additive noise, fixed step: Euler–Maruyama (strong order 0.5, order 1 for
additive noise), ShARK and SRA1 (strong order 1.5 for additive noise, need space-time Lévy area)."""


def resolve(solver: str | None, noisy: bool) -> SolverSpec:
    """The spec of ``solver`` (None → tsit5 for ODEs, shark for SDEs); unknown names are errors."""
    table = SDE_SOLVERS if noisy else ODE_SOLVERS
    if solver is None:
        solver = "shark" if noisy else "tsit5"
    kind = "SDE (noise > 0)" if noisy else "ODE (noise = 0)"
    if solver not in table:
        validation.choice(f"solver for an {kind}", solver, table)
    return table[solver]
