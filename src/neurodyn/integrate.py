"""Solve an ODE or additive-noise SDE with a named solver: the package's one call of diffrax.

Every continuous-time solve goes through :func:`solve`: the simulator, the Lyapunov tangent
dynamics, BPTT, the continuous adjoint, RTRL and the fixed-point relaxations. The caller brings
its vector field ``f(t, y, args)`` (y any pytree), a :class:`~neurodyn.solvers.SolverSpec` from
:mod:`neurodyn.solvers` (the only list of solver names) and what it needs of the solve (save
times, tolerances or a step, noise, a stopping event, the adjoint for reverse mode); the step-size
control, the step floor and the Brownian path are decided here, once.

The Euler–Maruyama ``lax.scan`` (:mod:`neurodyn.euler_maruyama`, SolverSpec.scan) is the one
solver not on diffrax: it is host-chunked (a progress bar without changing the streams) and
defined for the network drift only, so :func:`neurodyn.simulate.simulate` dispatches to it
itself, and :func:`solve` refuses a scan spec.

:func:`solve` is traceable and not jitted: callers call it inside their own compiled function
(jit at the boundaries), so a sweep over networks shares one compilation.
"""

from __future__ import annotations

from typing import Any

import diffrax
import jax
import jax.numpy as jnp
import lineax

from . import validation
from .errors import ParameterError
from .solvers import SolverSpec

DT_MIN = 1e-12
"""Step floor of the adaptive solvers (τ units): a step below it ends the solve with diffrax's
``dt_min_reached`` (``PIDController(dtmin=..., force_dtmin=False)``). diffrax rejects every step
whose drift is NaN/inf and shrinks the step 5× each time (``factormin``); without a floor it does
so until max_steps (measured: 95 s at N = 50 for a non-finite drift, > 300 s at N = 300); with it
the solve stops after ~20 rejections. Stiffness cannot drive a step this low: it would take a
Lipschitz constant g‖J‖ of ~1e12. A floor tied to the final time's rounding (so many ulps of
t1) was rejected: in float32 at t1 = 1e5 it would be 0.1, a normal step size."""

PI_COEFFICIENTS = {"pcoeff": 0.4, "icoeff": 0.3}
"""PI step-size control for the adaptive solvers, one of the literature's pairs listed in diffrax's
``PIDController`` docs (default there: the I controller, pcoeff 0, icoeff 1). Measured on four
N = 1000, g = 2 networks: for a max error ≤ 1e-4 over t ≤ 10 against a tight reference it needs
15–28 % fewer drift evaluations over T = 200 than the I controller (tsit5 1620–1788 vs 2064–2280,
dopri8 1547–1781 vs 2015–2470) and rejects no steps. The I controller's step sizes oscillate and
its errors sit at the tolerance, so it needs a 10–30× tighter rtol for the same accuracy; at the
same rtol the PI controller takes ~15 % more steps and is ~10× more accurate. For Lyapunov
tangents, learning and relaxations see benchmarks/bench_controllers.py and each call site."""

CONTROLS = {"pi": PI_COEFFICIENTS, "i": {}}
"""Step-size control of the adaptive solvers by name: "pi" (PI_COEFFICIENTS) or "i" (diffrax's
default integral controller, pcoeff 0, icoeff 1)."""

NO_REVERSE_MODE = diffrax.ForwardMode()
"""The adjoint of solves that are never reverse-differentiated (simulate, Lyapunov tangents).
diffrax's default, RecursiveCheckpointAdjoint, builds a checkpointed loop for reverse mode that
only costs compile time there (measured at N = 20: 3.2 s vs 1.8 s to compile a tsit5, dopri8 or
rk4 solve; the same steps and bit-identical trajectories)."""


def step_controller(spec: SolverSpec, rtol: Any = None, atol: Any = None, control: str = "pi",
                    step_ts: Any = None):
    """The step-size controller of a solve with ``spec``.

    Adaptive: PID control with the coefficients ``CONTROLS[control]`` and the step floor DT_MIN,
    which ends the solve (``dt_min_reached``) instead of shrinking the step forever at a
    non-finite drift; ``step_ts`` (times the steps must land on, e.g. kinks of an input) wraps it
    in ``ClipStepSizeController``. Fixed-step: ``ConstantStepSize`` (``rtol``, ``atol``,
    ``control`` unused). ``rtol``, ``atol``: scalars (0-d arrays of the state's dtype in
    compiled solves).
    """
    if not spec.adaptive:
        return diffrax.ConstantStepSize()
    validation.choice("control", control, CONTROLS)
    dtype = jnp.result_type(rtol)
    controller = diffrax.PIDController(rtol=rtol, atol=atol, dtmin=jnp.asarray(DT_MIN, dtype),
                                       force_dtmin=False, **CONTROLS[control])
    if step_ts is not None:
        controller = diffrax.ClipStepSizeController(controller, step_ts=step_ts)
    return controller


def backsolve_adjoint(spec: SolverSpec, rtol: Any, atol: Any, control: str = "pi"):
    """diffrax's ``BacksolveAdjoint`` whose backward solve uses ``spec`` with the same control
    as :func:`solve` (optimise-then-discretise)."""
    return diffrax.BacksolveAdjoint(solver=spec.make(),
                                    stepsize_controller=step_controller(spec, rtol, atol, control))


def solve(
    field,
    y0: Any,
    spec: SolverSpec,
    t0: Any,
    t1: Any,
    *,
    save_times: Any = None,
    args: Any = None,
    dt: Any = None,
    rtol: Any = None,
    atol: Any = None,
    control: str = "pi",
    step_ts: Any = None,
    noise: Any = None,
    key: Any = None,
    event: diffrax.Event | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    max_steps: int | None = 4096,
    throw: bool = True,
    progress: bool = False,
) -> diffrax.Solution:
    """Integrate dy = f(t, y, args) dt (+ σ dW) from ``t0`` to ``t1`` (either direction).

    **Arguments:**
    - ``field``: the drift ``f(t, y, args)`` with y a pytree of the shape of ``y0``.
    - ``spec``: the solver (:data:`neurodyn.solvers.ODE_SOLVERS`, ``SDE_SOLVERS``); a scan spec
      (Euler–Maruyama) is refused, see the module docstring.
    - ``save_times``: times at which y is saved (1-d, within [t0, t1]); None saves y(t1) only
      (``solution.ys`` then has a leading axis of length 1, or of the event time).
    - ``dt``: the step of a fixed-step solver (τ units); for an adaptive one its first step
      (None: diffrax chooses it from the drift at t0).
    - ``rtol``, ``atol``, ``control``, ``step_ts``: the adaptive step control
      (:func:`step_controller`).
    - ``noise``: σ of additive white noise, σ dW per component of y (an array y0), with the
      PRNG ``key`` of its Brownian motion; needs an SDE spec. None: an ODE.
    - ``event``: a ``diffrax.Event`` that ends the solve (divergence, steady state).
    - ``adjoint``: how reverse mode differentiates the solve: None is diffrax's
      ``RecursiveCheckpointAdjoint`` (BPTT), :func:`backsolve_adjoint` the continuous adjoint,
      NO_REVERSE_MODE a solve that is never reverse-differentiated (cheaper to compile).
    - ``max_steps``, ``throw``, ``progress``: as in ``diffrax.diffeqsolve`` (``throw=False``
      returns a failed solve's result code in ``solution.result`` instead of raising).

    **Returns:** the ``diffrax.Solution`` (``ys``, ``ts``, ``result``, ``stats``: ``num_steps``
    attempted, of which ``num_accepted_steps``/``num_rejected_steps``; drift evaluations are
    ``spec.rhs_evaluations(num_steps)``).
    """
    if spec.scan:
        raise ParameterError(f"solver={spec.name!r} (SDE) is integrated by "
                             "neurodyn.euler_maruyama (a lax.scan), not by integrate.solve")
    if (noise is not None) != spec.sde:
        raise ParameterError(f"solver={spec.name!r} is an {'SDE' if spec.sde else 'ODE'} method "
                             f"but noise={'None' if noise is None else 'given'}")
    drift = diffrax.ODETerm(field)
    if noise is None:
        terms = drift
    else:
        shape = jax.ShapeDtypeStruct(jnp.shape(y0), jnp.result_type(y0))
        # UnsafeBrownianPath is exact for fixed steps and much cheaper than VirtualBrownianTree;
        # it does not support reverse-mode differentiation (no SDE solve here is differentiated).
        brownian = diffrax.UnsafeBrownianPath(
            shape=shape, key=key,
            levy_area=diffrax.SpaceTimeLevyArea if spec.levy_area else diffrax.BrownianIncrement)
        diffusion = diffrax.ControlTerm(
            lambda t, y, args: lineax.DiagonalLinearOperator(noise * jnp.ones_like(y)), brownian)
        terms = diffrax.MultiTerm(drift, diffusion)
    saveat = diffrax.SaveAt(t1=True) if save_times is None else diffrax.SaveAt(ts=save_times)
    return diffrax.diffeqsolve(
        terms,
        spec.make(),
        t0=t0,
        t1=t1,
        dt0=dt,
        y0=y0,
        args=args,
        saveat=saveat,
        stepsize_controller=step_controller(spec, rtol, atol, control, step_ts),
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
        event=event,
        max_steps=max_steps,
        throw=throw,
        progress_meter=diffrax.TqdmProgressMeter() if progress else diffrax.NoProgressMeter(),
    )
