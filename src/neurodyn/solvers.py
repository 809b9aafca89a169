"""Names of the integrators neurodyn offers, mapped onto diffrax solvers.

This is the only list of solver names: the simulator, the Lyapunov exponents, the learning
rules (adaptive rules: the adaptive ODE solvers; fixed-step rules: the fixed-step ODE tableaux),
the command line, sweep configs and the tests read it; :mod:`neurodyn.integrate` runs them. It
imports neither JAX nor diffrax (the command line validates a solver name before it imports
JAX); each spec names its class as ``"module:attribute"`` and imports it on first use. diffrax
provides every method except the classical fourth-order Runge–Kutta method, which
:mod:`neurodyn.rk4` supplies as a Butcher tableau on diffrax's explicit Runge–Kutta machinery.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError

DEFAULT_TOLERANCE = 1e-6
"""rtol and atol of the adaptive solvers when not given."""

DEFAULT_DT = 0.01
"""Step of the fixed-step solvers (ODE and SDE) when not given (τ units)."""


@dataclass(frozen=True)
class SolverSpec:
    """How a solver name is used: its class (``"module:attribute"``, imported by :attr:`make`),
    whether its step is adaptive, whether it is an SDE method, whether it needs space-time Lévy
    area, and how many drift evaluations it makes: ``evaluations_per_step`` for every attempted
    step (FSAL methods reuse their last stage, so Dopri8's 14 stages cost 13) plus
    ``first_step_evaluations`` once (the first stage of an FSAL method). Counted, not assumed:
    tests/test_simulate.py counts drift calls on device."""

    name: str
    solver_class: str
    adaptive: bool
    sde: bool
    levy_area: bool
    evaluations_per_step: int
    first_step_evaluations: int = 0
    scan: bool = False
    """Integrated by :mod:`neurodyn.euler_maruyama` (a lax.scan) instead of diffrax."""
    order: int | None = None
    """Global order of accuracy of an ODE method (error ∝ dt^order; tests/test_simulate.py
    measures it for the fixed-step ones); None for the SDE methods."""

    @property
    def make(self) -> type:
        """The solver class (imports diffrax, or :mod:`neurodyn.rk4`, on first use)."""
        module, attribute = self.solver_class.split(":")
        return getattr(importlib.import_module(module), attribute)

    def rhs_evaluations(self, num_steps: int) -> int:
        """Drift evaluations of a solve that attempted ``num_steps`` steps (accepted + rejected)."""
        return num_steps * self.evaluations_per_step + self.first_step_evaluations


ODE_SOLVERS = {
    "tsit5": SolverSpec("tsit5", "diffrax:Tsit5", True, False, False, 6, 1, order=5),
    "dopri5": SolverSpec("dopri5", "diffrax:Dopri5", True, False, False, 6, 1, order=5),
    "dopri8": SolverSpec("dopri8", "diffrax:Dopri8", True, False, False, 13, 1, order=8),
    "euler": SolverSpec("euler", "diffrax:Euler", False, False, False, 1, order=1),
    "heun": SolverSpec("heun", "diffrax:Heun", False, False, False, 2, order=2),
    "rk4": SolverSpec("rk4", "neurodyn.rk4:ClassicalRK4", False, False, False, 4, order=4),
}
"""ODE solvers: adaptive (rtol/atol) and fixed-step (dt)."""

SDE_SOLVERS = {
    "euler": SolverSpec("euler", "diffrax:Euler", False, True, False, 1, scan=True),
    "shark": SolverSpec("shark", "diffrax:ShARK", False, True, True, 2),
    "sra1": SolverSpec("sra1", "diffrax:SRA1", False, True, True, 2),
}
"""SDE solvers for additive noise, fixed step: Euler–Maruyama (strong order 0.5, order 1 for
additive noise), ShARK and SRA1 (strong order 1.5 for additive noise, need space-time Lévy area)."""

DEFAULT_ODE_SOLVER = "tsit5"
DEFAULT_SDE_SOLVER = "shark"


def resolve(solver: str | None, noisy: bool, noise: float | None = None) -> SolverSpec:
    """The spec of ``solver`` (None → tsit5 for ODEs, shark for SDEs).

    An unknown name, or a name of the other kind (an ODE method with noise > 0 or an SDE-only
    method without noise), is a ParameterError that lists what is allowed; ``noise`` (if given)
    is quoted in it.
    """
    table = SDE_SOLVERS if noisy else ODE_SOLVERS
    if solver is None:
        return table[DEFAULT_SDE_SOLVER if noisy else DEFAULT_ODE_SOLVER]
    if solver in table:
        return table[solver]
    shown = "" if noise is None else f"noise={noise!r}"
    if noisy:
        condition, allowed = f"an SDE ({shown or 'noise'} > 0)", "with noise > 0"
    else:
        condition, allowed = f"an ODE ({shown or 'noise=0'})", "with noise=0"
    names = ", ".join(table)
    if solver in ODE_SOLVERS or solver in SDE_SOLVERS:
        raise ParameterError(
            f"solver={solver!r} cannot integrate {condition}; allowed {allowed}: {names}")
    raise ParameterError(f"solver={solver!r} is unknown; allowed {allowed}: {names}")


def check_step_settings(spec: SolverSpec, rtol: Any = None, atol: Any = None,
                        dt: Any = None) -> None:
    """Refuse settings the chosen solver would ignore (None means "not given"): ``dt`` with an
    adaptive solver, ``rtol``/``atol`` with a fixed-step one. Stdlib only, so the command line
    can call it before importing JAX."""
    fixed = ", ".join(name for name, s in {**ODE_SOLVERS, **SDE_SOLVERS}.items()
                      if not s.adaptive)
    adaptive = ", ".join(name for name, s in ODE_SOLVERS.items() if s.adaptive)
    if spec.adaptive and dt is not None:
        raise ParameterError(
            f"dt={dt!r} has no effect with solver={spec.name!r}, which chooses its own steps from "
            f"rtol and atol; dt is used by the fixed-step solvers ({fixed})")
    if not spec.adaptive:
        for name, value in (("rtol", rtol), ("atol", atol)):
            if value is not None:
                raise ParameterError(
                    f"{name}={value!r} has no effect with solver={spec.name!r}, which takes fixed "
                    f"steps of dt; rtol and atol are used by the adaptive solvers ({adaptive})")


def __getattr__(name: str) -> Any:
    # ClassicalRK4 used to live here; importing it from neurodyn.solvers still works, lazily,
    # so that this module itself never imports diffrax.
    if name == "ClassicalRK4":
        from .rk4 import ClassicalRK4

        return ClassicalRK4
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
