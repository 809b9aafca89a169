"""Lyapunov exponents of the SCS network by the tangent-space QR method (Benettin et al. 1980).

The state h and k tangent vectors Q are integrated together (dQ/dt = DF(h) Q, DF the Jacobian
of :func:`neurodyn.network.drift`); every ``interval`` Q is re-orthonormalised by QR and the
logs of |R_ii| accumulated. Along the same solve the time integral of tr DF(h) is accumulated:
the sum of all N exponents equals its time average, an identity the spectrum checks use.

With ``noise`` σ > 0 the trajectory is driven by one realisation of additive white noise
(σ dW per neuron, as in :func:`neurodyn.simulate.simulate`); additive noise does not enter the
tangent dynamics, so the exponents are the *conditional* ones (the growth of a perturbation
under the same noise, Schuecker, Goedeke & Helias, PRX 2018).
"""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import integrate, solvers, validation
from .errors import ParameterError
from .network import AbstractNetwork, drift, rate
from .provenance import provenance
from .rng import key as random_key
from .simulate import (
    check_trajectory,
    diverged,
    divergence_bound,
    initial_condition,
    simulation_key,
)

_OUTCOMES = (diffrax.RESULTS.successful, diffrax.RESULTS.event_occurred,
             diffrax.RESULTS.dt_min_reached, diffrax.RESULTS.max_steps_reached,
             diffrax.RESULTS.internal_error)
"""Outcomes of one QR interval's solve, returned by index from the compiled scan (the last
stands for any other failure)."""


LYAPUNOV_SOLVER = solvers.ODE_SOLVERS["tsit5"]
"""Default solver of the state and tangent vectors between QR steps (no noise)."""

LYAPUNOV_SDE_SOLVER = solvers.SDE_SOLVERS["shark"]
"""Default solver with noise > 0 (strong order 1.5 for additive noise, fixed step)."""

LYAPUNOV_TOLERANCE = 1e-7
"""rtol and atol of the adaptive tangent solves when not given."""

LYAPUNOV_DT = 0.1
"""Step of the fixed-step tangent solves when not given (τ units)."""

LYAPUNOV_CONTROL = "i"
"""Step-size control of the tangent solves: the I controller, because PI does not help here.
Measured (benchmarks/bench_controllers.py: N = 40, g = 2, k = 2, t1 = 20, QR every 1) at equal
accuracy of the exponents, PI needs 0.97–1.03× the I controller's evaluations (error 2.9e-8: 1606
vs 1657; 3.1e-6: 695 vs 674; 3.2e-4: 481 vs 481). Each QR interval is a new solve of ~5 steps, so
the PI controller's memory of past errors, which smooths simulate's long step sequences, has
little to act on."""

LYAPUNOV_MAX_STEPS = 100_000
"""Steps allowed per QR interval."""

QR_METHODS = ("cholesky", "householder")
"""How the tangent vectors are re-orthonormalised: "cholesky" is CholeskyQR2 (R from the
Cholesky factor of QᵀQ, twice; Fukaya et al. 2014), built of XLA matrix products and a k × k
factorisation; "householder" is ``jnp.linalg.qr`` (LAPACK geqrf/orgqr). Measured at N = 1000,
k = 125 on the shared 2-core VM at load ~18: 3.7 s per Householder QR with OpenBLAS's default
threads (they spin against the other processes; 47 ms with OPENBLAS_NUM_THREADS=1) against
67 ms for CholeskyQR2, so the Householder QR dominated the whole spectrum under load
(benchmarks/bench_lyapunov.py). Two passes keep Q orthonormal to rounding while cond(Q) ≪
1/√eps (float64: 7e7): over one QR interval cond(Q) ~ exp((λ1 − λk)·interval), ~e² for the SCS
spectrum at interval = 1."""

QR_METHOD = "cholesky"
"""The re-orthonormalisation nd.lyapunov uses (one of QR_METHODS)."""

TANGENTS = ("gemm", "jvp")
"""How the tangent vectors' velocity DF(h) Q is formed: "gemm" as −Q + J (φ′·Q), one
matrix–matrix product (φ′ = d rate/dh from one jvp of :func:`neurodyn.network.rate`); "jvp" as
k jvps of :func:`neurodyn.network.drift`, vmapped (no knowledge of the drift's form)."""


def jacobian_trace(h: jax.Array, net: AbstractNetwork) -> jax.Array:
    """tr DF(h) of the drift F(h) = −h + J rate(h) + θ (+ input), shape () (1/τ).

    DF = −I + J diag(rate′(h)), so tr DF = −N + Σ_i J_ii rate′(h_i); θ, a time-dependent input
    and J_mean (folded into J by :meth:`Network.random`) do not enter. rate′ = g φ′(g h) is the
    jvp of the elementwise :func:`neurodyn.network.rate` along the ones vector (the same
    autodiff derivative as the tangent dynamics). tests/test_lyapunov.py checks it against
    ``jnp.trace(jax.jacfwd(drift))``. ``h``: shape (neuron,).
    """
    slope = jax.jvp(lambda x: rate(x, net), (h,), (jnp.ones_like(h),))[1]
    return -h.shape[-1] + jnp.dot(net.diagonal(), slope)


def _cholesky_qr(q):
    """One CholeskyQR pass: Q = q R⁻¹ with RᵀR = qᵀq (R upper triangular, positive diagonal)."""
    r = jnp.linalg.cholesky(q.T @ q).T
    eye = jnp.eye(q.shape[1], dtype=q.dtype)
    # R⁻¹ of the small k × k factor, then one (N, k) @ (k, k) product (XLA's GEMM).
    r_inv = jax.scipy.linalg.solve_triangular(r, eye, lower=False)
    return q @ r_inv, r


def orthonormalize(q, method: str = "cholesky"):
    """Q, diag R of the thin QR factorisation q = Q R with diag R > 0 (q: (N, k) of full rank).

    ``method``: one of QR_METHODS. **Returns:** Q (N, k) orthonormal and diag R (k,).
    """
    if method == "householder":
        q_orth, r = jnp.linalg.qr(q)
        signs = jnp.sign(jnp.diagonal(r))
        return q_orth * signs, jnp.abs(jnp.diagonal(r))
    q1, r1 = _cholesky_qr(q)
    q2, r2 = _cholesky_qr(q1)  # the second pass restores orthogonality lost to cond(q)²·eps
    return q2, jnp.diagonal(r2) * jnp.diagonal(r1)


def tangent_velocity(h, q, net: AbstractNetwork, tangents: str = "gemm"):
    """dQ/dt = DF(h) Q and tr DF(h) of the tangent vectors ``q`` (N, k) at the state ``h`` (N,).

    Pure and traceable (differentiable in ``h``, ``q`` and the network's arrays): the one
    tangent dynamics of the package, used by :func:`lyapunov` and by gradient flossing
    (:mod:`neurodyn.learning.flossing`). A time-dependent input or θ is additive in the drift
    and does not enter DF. ``tangents``: one of :data:`TANGENTS`.
    """
    slope = jax.jvp(lambda x: rate(x, net), (h,), (jnp.ones_like(h),))[1]
    if tangents == "gemm":
        # J (φ′·Q) through the network's recurrent product, with the k tangents as trials
        dq = -q + net.recurrent((slope[:, None] * q).T).T
    else:
        dq = jax.vmap(lambda v: jax.jvp(lambda x: drift(x, net), (h,), (v,))[1], in_axes=1,
                      out_axes=1)(q)
    trace = -h.shape[-1] + jnp.dot(net.diagonal(), slope)
    return dq, trace


def _velocity(h, q, net: AbstractNetwork, tangents: str):
    """dh/dt, dQ/dt = DF(h) Q and tr DF(h) of the augmented system (h: (N,), q: (N, k))."""
    dq, trace = tangent_velocity(h, q, net, tangents)
    return drift(h, net), dq, trace


@eqx.filter_jit
def _lyapunov_scan(net: AbstractNetwork, h0, q0, interval, n_intervals: int, n_transient: int, rtol, atol,
                   control: str = "pi", spec: solvers.SolverSpec = LYAPUNOV_SOLVER, dt=None,
                   noise=None, key=None, tangents: str = "gemm", qr: str = QR_METHOD):
    """Benettin's method: integrate h with k tangent vectors Q, re-orthonormalise by QR every
    ``interval`` and accumulate log|diag R|, and the integral of tr DF(h).

    The state of each solve is one flat vector [h, vec Q, ∫ tr DF] (so additive noise, σ on the
    h entries and 0 elsewhere, goes through :func:`neurodyn.integrate.solve` unchanged). Guarded
    like :func:`neurodyn.simulate.simulate`: each interval's solve stops at a state beyond the
    divergence bound (a diffrax Event on h) or when the adaptive step collapses (a non-finite
    drift); from the first failed interval on, the remaining intervals are skipped
    (``lax.cond``), so a blow-up costs one interval, not max_steps per interval.

    **Returns:** the summed logs (k,), the summed trace integral (), and per interval whether it
    succeeded, max |h| at its end, the diffrax result code and the steps attempted; then the
    divergence bound and scale.
    """
    N, k = q0.shape
    zero = jnp.zeros((), h0.dtype)
    bound, scale = divergence_bound(net, h0, zero, zero if noise is None else noise)

    def split(y):
        return y[:N], y[N:N + N * k].reshape(N, k)

    def augmented(t, y, args):
        h, q = split(y)
        dh, dq, trace = _velocity(h, q, net, tangents)
        return jnp.concatenate([dh, dq.reshape(-1), trace[None]])

    event = diffrax.Event(cond_fn=lambda t, y, args, **kwargs: diverged(t, y[:N], args))
    if noise is not None:
        # σ dW on the neurons only: the tangents and the trace integral carry no noise.
        diffusion = jnp.concatenate([jnp.full((N,), 1.0, h0.dtype) * noise,
                                     jnp.zeros((N * k + 1,), h0.dtype)])

    def solve(h, q, index):
        y0 = jnp.concatenate([h, q.reshape(-1), zero[None]])
        solution = integrate.solve(
            augmented, y0, spec, zero, interval,
            args=bound, dt=interval / 4 if dt is None else dt, rtol=rtol, atol=atol,
            control=control, event=event, adjoint=integrate.NO_REVERSE_MODE,
            max_steps=LYAPUNOV_MAX_STEPS, throw=False,
            noise=None if noise is None else diffusion,
            key=None if noise is None else jax.random.fold_in(key, index),
        )
        y = solution.ys[-1]
        h_new, q_new = split(y)
        code = jnp.asarray(len(_OUTCOMES) - 1)  # any other failure
        for number, outcome in reversed(list(enumerate(_OUTCOMES[:-1]))):
            code = jnp.where(solution.result == outcome, number, code)
        return h_new, q_new, y[-1], code, solution.stats["num_steps"]

    def skip(h, q, index):
        return h, q, zero, jnp.asarray(0), jnp.asarray(0)

    def step(carry, index):
        h, q, log_sum, trace_sum, alive = carry
        h_new, q_new, trace, code, steps = jax.lax.cond(alive, solve, skip, h, q, index)
        ok = (alive & (code == 0)
              & jnp.all(jnp.isfinite(h_new)) & jnp.all(jnp.isfinite(q_new))
              & jnp.all(jnp.abs(h_new) <= bound))
        q_orth, diagonal = orthonormalize(jnp.where(ok, q_new, q), qr)
        growth = jnp.log(diagonal)
        counted = (index >= n_transient) & ok
        log_sum = log_sum + jnp.where(counted, growth, 0.0)
        trace_sum = trace_sum + jnp.where(counted, trace, 0.0)
        max_abs = jnp.max(jnp.abs(jnp.where(jnp.isfinite(h_new), h_new, 0.0)))
        return (jnp.where(ok, h_new, h), q_orth, log_sum, trace_sum, ok), (ok, max_abs, code,
                                                                          steps)

    carry, (ok, max_abs, codes, steps) = jax.lax.scan(
        step, (h0, q0, jnp.zeros(k, h0.dtype), zero, jnp.asarray(True)),
        jnp.arange(n_transient + n_intervals))
    return carry[2], carry[3], ok, max_abs, codes, jnp.sum(steps), bound, scale


def lyapunov(
    net: AbstractNetwork,
    t1: float = 200.0,
    k: int = 1,
    seed: int = 0,
    transient: float = 50.0,
    interval: float = 1.0,
    h0_std: float = 1.0,
    rtol: float | None = None,
    atol: float | None = None,
    control: str | None = None,
    solver: str | None = None,
    dt: float | None = None,
    noise: float = 0.0,
    tangents: str = "gemm",
) -> xr.DataArray:
    """The leading ``k`` Lyapunov exponents (per unit τ) by the tangent-space QR method.

    (Benettin et al. 1980; Engelken, Wolf & Abbott 2023 for SCS networks.) The state and k
    tangent vectors are integrated together; every ``interval`` the tangent vectors are
    re-orthonormalised by QR and the logs of |R_ii| accumulated over ``t1`` after a
    ``transient`` during which both the trajectory and the tangent basis converge.

    **Arguments:**
    - ``solver``: a name of :data:`neurodyn.solvers.ODE_SOLVERS` (None: tsit5), or with noise of
      ``SDE_SOLVERS`` except the Euler–Maruyama scan (None: shark).
    - ``rtol``, ``atol`` (adaptive solvers; None: 1e-7) and ``control`` ("pi" or "i"; None:
      LYAPUNOV_CONTROL) set the step-size control; ``dt`` the step of a fixed-step solver
      (None: LYAPUNOV_DT; shortened so that it divides ``interval``).
    - ``noise``: σ ≥ 0 of additive white noise σ dW per neuron (τ units, as in
      :func:`neurodyn.simulate.simulate`); σ > 0 gives the conditional exponents along one
      noise realisation drawn from ``seed`` (purpose lyapunov_noise of :mod:`neurodyn.rng`).
    - ``tangents``: "gemm" or "jvp", how DF(h) Q is formed (:data:`TANGENTS`).

    For many exponents (k ≫ 1) ``solver="rk4", dt=0.25`` is 1.8× cheaper per τ than the default
    (16 vs 28.6 evaluations) and errs by ≤ 1.2e-4 at N = 1000, k = 125, g = 2, 18× below the
    network-to-network spread of λ1 (benchmarks/bench_lyapunov.py, RESULTS.md); a float32
    network is another 3.3× faster per evaluation at the same error.

    **Returns:** DataArray over ``exponent`` (0 = largest), sorted in decreasing order; attrs
    with the parameters, ``jacobian_trace_mean`` (1/τ: the time average of tr DF(h) over the
    counted intervals of the same trajectory, which the sum of all N exponents equals), the
    solves' ``num_steps`` (attempted, all intervals) and ``rhs_evaluations`` (tangent-system
    evaluations: one drift and k tangent velocities each).
    """
    if not isinstance(net, AbstractNetwork):
        raise ParameterError(f"net must be a neurodyn.Network (dense or sparse), got "
                             f"{type(net).__name__}")
    net.check_fields()
    t1 = validation.positive("t1", t1)
    transient = validation.non_negative("transient", transient)
    interval = validation.positive("interval", interval)
    k = validation.positive_int("k", k)
    if k > net.N:
        raise ParameterError(f"k={k} exceeds N={net.N}; at most N exponents exist")
    seed = validation.seed("seed", seed)
    h0_std = validation.non_negative("h0_std", h0_std)
    noise = validation.non_negative("noise", noise)
    tangents = validation.choice("tangents", tangents, TANGENTS)
    noisy = noise > 0
    if solver is None:
        spec = LYAPUNOV_SDE_SOLVER if noisy else LYAPUNOV_SOLVER
    else:
        spec = solvers.resolve(solver, noisy, noise)
        if spec.scan:
            raise ParameterError(f"solver={solver!r} (Euler–Maruyama scan) is not available for "
                                 "lyapunov; allowed with noise > 0: "
                                 + ", ".join(n for n, s in solvers.SDE_SOLVERS.items()
                                             if not s.scan))
    solvers.check_step_settings(spec, rtol=rtol, atol=atol, dt=dt)
    if spec.adaptive:
        rtol = validation.positive("rtol", LYAPUNOV_TOLERANCE if rtol is None else rtol)
        atol = validation.positive("atol", LYAPUNOV_TOLERANCE if atol is None else atol)
        step = None
    else:
        dt = validation.positive("dt", LYAPUNOV_DT if dt is None else dt)
        steps_per_interval = int(np.ceil(interval / dt - 1e-9))
        step = interval / steps_per_interval  # divides the interval: QR falls on a step
    control = validation.choice("control", LYAPUNOV_CONTROL if control is None else control,
                                integrate.CONTROLS)
    n_intervals = max(1, int(round(t1 / interval)))
    n_transient = int(round(transient / interval))
    dtype = net.dtype
    h0 = initial_condition(net.N, 1, seed, h0_std, dtype)[0]
    q_key = simulation_key(seed, 2)
    q0, _ = orthonormalize(jax.random.normal(q_key, (net.N, k), jnp.float64).astype(dtype),
                           QR_METHOD)
    log_sum, trace_sum, ok, max_abs, codes, num_steps, bound, scale = _lyapunov_scan(
        net.without_metadata(), h0, q0, jnp.asarray(interval, dtype), n_intervals, n_transient,
        None if rtol is None else jnp.asarray(rtol, dtype),
        None if atol is None else jnp.asarray(atol, dtype), control, spec,
        None if step is None else jnp.asarray(step, dtype),
        jnp.asarray(noise, dtype) if noisy else None,
        random_key(seed, "lyapunov_noise") if noisy else None, tangents, QR_METHOD,
    )
    ok, codes = np.asarray(ok), np.asarray(codes)
    # Save k of the check is the end of QR interval k (time from the start of the transient).
    ends = interval * np.arange(len(ok) + 1)
    max_abs = np.concatenate([[float(jnp.max(jnp.abs(h0)))], np.asarray(max_abs)])
    failed = np.flatnonzero(~ok)
    result = _OUTCOMES[int(codes[failed[0]])] if failed.size else diffrax.RESULTS.successful
    where = (f" (t counts from the start of the transient={transient:g}; QR every "
             f"interval={interval:g})")
    check_trajectory(ends, np.concatenate([[True], ok]), max_abs, float(bound), float(scale),
                     result, net.phi, max_steps=LYAPUNOV_MAX_STEPS, what="lyapunov: the trajectory",
                     where=where)
    duration = n_intervals * interval
    exponents = np.sort(np.asarray(log_sum) / duration)[::-1]
    attrs: dict[str, Any] = {
        "long_name": "Lyapunov exponents" + (" (conditional on the noise)" if noisy else ""),
        "units": "1/tau", "method": "tangent-space QR",
        "network": net.describe(), "t1": t1, "transient": transient, "interval": interval,
        "seed": seed, "noise": noise, "solver": spec.name, "tangents": tangents,
        "qr": QR_METHOD,
        "rtol": rtol, "atol": atol, "control": control, "dt": step,
        "jacobian_trace_mean": float(trace_sum) / duration,
        "num_steps": int(num_steps),
        # one solve per QR interval, each with its first (FSAL) stage
        "rhs_evaluations": (spec.evaluations_per_step * int(num_steps)
                            + spec.first_step_evaluations * len(ok)),
        "provenance": provenance(),
    }
    if rtol is None:
        del attrs["rtol"], attrs["atol"], attrs["control"]
    else:
        del attrs["dt"]
    return xr.DataArray(exponents, dims=("exponent",),
                        coords={"exponent": np.arange(k)}, name="lyapunov", attrs=attrs)


__all__ = ["LYAPUNOV_CONTROL", "LYAPUNOV_MAX_STEPS", "LYAPUNOV_SOLVER", "QR_METHODS", "TANGENTS",
           "jacobian_trace", "lyapunov", "orthonormalize", "tangent_velocity"]
