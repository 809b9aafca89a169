"""Observables of simulated runs: autocorrelation, Lyapunov exponents, summary statistics."""

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
from .network import Network, drift
from .provenance import provenance
from .simulate import (
    check_trajectory,
    diverged,
    divergence_bound,
    initial_condition,
    simulation_key,
)

SUBTRACT = ("none", "population", "neuron")


def autocorrelation(
    ds: xr.Dataset | xr.DataArray, max_lag: float | None = None, subtract: str = "none"
) -> xr.DataArray:
    """Population- and trial-averaged autocorrelation ``C(τ) = ⟨h_i(t) h_i(t+τ)⟩`` of ``h``.

    Computed with zero-padded FFTs along time (O(T log T) per neuron) and normalised by the
    number of overlapping pairs at each lag (the unbiased estimator), so C(τ) at every lag is an
    average of T−τ products.

    **Arguments:**
    - ``ds``: a run with ``h`` (trial, time, neuron) on a uniform time grid, or that DataArray.
    - ``max_lag``: largest lag kept (τ units); default half the window.
    - ``subtract``: ``"none"`` (default: the raw second moment, which is what the mean-field
      theory predicts when its mean is zero), ``"population"`` (subtract the instantaneous
      population mean ⟨h(t)⟩_i per trial), or ``"neuron"`` (subtract each neuron's temporal mean).
      Subtracting the per-neuron mean over a finite window T removes the slow part of the
      fluctuations and biases C(0) low by about 2∫Δ(τ)dτ / T (5–7% at g = 2, T = 200).

    **Returns:** DataArray over ``lag`` (τ units) in units of h².
    """
    h = _state(ds, "autocorrelation")
    validation.choice("subtract", subtract, SUBTRACT)
    times = np.asarray(h["time"].values, dtype=float)
    if times.size < 2:
        raise ParameterError("the run has fewer than 2 saved times; no autocorrelation exists")
    dt = (times[-1] - times[0]) / (times.size - 1)
    if not np.allclose(np.diff(times), dt, rtol=1e-6, atol=1e-12):
        raise ParameterError("the time coordinate is not uniformly spaced; resample it first")
    n_time = times.size
    if max_lag is None:
        max_lag = dt * (n_time // 2)
    max_lag = validation.non_negative("max_lag", max_lag)
    n_lag = min(int(round(max_lag / dt)) + 1, n_time)

    values = h.transpose("trial", "time", "neuron").values
    n_fft = 1 << int(np.ceil(np.log2(2 * n_time - 1)))
    total = np.zeros(n_lag)
    for trial in range(values.shape[0]):  # one trial at a time bounds memory at N·n_fft
        x = np.asarray(values[trial], dtype=np.float64)
        if subtract == "population":
            x = x - x.mean(axis=1, keepdims=True)
        elif subtract == "neuron":
            x = x - x.mean(axis=0, keepdims=True)
        spectrum = np.fft.rfft(x, n=n_fft, axis=0)
        power = (spectrum * spectrum.conj()).real.mean(axis=1)
        total += np.fft.irfft(power, n=n_fft)[:n_lag]
    pairs = n_time - np.arange(n_lag)
    corr = total / values.shape[0] / pairs
    return xr.DataArray(
        corr,
        dims=("lag",),
        coords={"lag": ("lag", _round_grid(dt, n_lag), {"units": "tau (membrane time constant)"})},
        name="autocorrelation",
        attrs={"long_name": "population autocorrelation <h_i(t) h_i(t+lag)>", "units": "h^2",
               "subtract": subtract, "estimator": "unbiased (divided by T - lag)"},
    )


def _round_grid(step: float, n: int) -> np.ndarray:
    # Rounded to 12 decimals so that lags like 10 × 0.1 are exactly 1.0 and .sel(lag=1.0) works.
    return np.round(step * np.arange(n), 12)


def _state(ds: Any, function: str) -> xr.DataArray:
    """The ``h`` (trial, time, neuron) of a run, or a ParameterError saying what is needed."""
    needed = ("an xarray Dataset with h (trial, time, neuron), as returned by nd.simulate or "
              "nd.open_run")
    if isinstance(ds, xr.Dataset):
        if "h" not in ds.data_vars:
            names = ", ".join(map(str, ds.data_vars)) or "none"
            raise ParameterError(f"{function}: ds has no variable 'h' (variables: {names}); "
                                 f"{needed} is required")
        h = ds["h"]
    elif isinstance(ds, xr.DataArray):
        h = ds
    else:
        kind = type(ds).__qualname__
        if type(ds).__module__ != "builtins":
            kind = f"{type(ds).__module__}.{kind}"
        raise ParameterError(f"{function}: ds is a {kind}; {needed} (or its h DataArray) is "
                             "required")
    if set(h.dims) != {"trial", "time", "neuron"}:
        raise ParameterError(f"{function}: h has dims {h.dims}; dims (trial, time, neuron) are "
                             "required")
    return h


def summary(ds: xr.Dataset) -> dict[str, float]:
    """Second moment ⟨h²⟩, variance, mean |h| and mean h over trial, time and neuron of a run
    (a Dataset with ``h``, or that DataArray)."""
    h = _state(ds, "summary")
    return {
        "second_moment": float((h**2).mean()),
        "variance": float(h.var()),
        "mean_abs": float(abs(h).mean()),
        "mean": float(h.mean()),
    }


_OUTCOMES = (diffrax.RESULTS.successful, diffrax.RESULTS.event_occurred,
             diffrax.RESULTS.dt_min_reached, diffrax.RESULTS.max_steps_reached,
             diffrax.RESULTS.internal_error)
"""Outcomes of one QR interval's solve, returned by index from the compiled scan (the last
stands for any other failure)."""


LYAPUNOV_SOLVER = solvers.ODE_SOLVERS["tsit5"]
"""Solver of the state and tangent vectors between QR steps."""

LYAPUNOV_CONTROL = "i"
"""Step-size control of the tangent solves: the I controller, because PI does not help here.
Measured (benchmarks/bench_controllers.py: N = 40, g = 2, k = 2, t1 = 20, QR every 1) at equal
accuracy of the exponents, PI needs 0.97–1.03× the I controller's evaluations (error 2.9e-8: 1606
vs 1657; 3.1e-6: 695 vs 674; 3.2e-4: 481 vs 481). Each QR interval is a new solve of ~5 steps, so
the PI controller's memory of past errors, which smooths simulate's long step sequences, has
little to act on."""

LYAPUNOV_MAX_STEPS = 100_000
"""Steps allowed per QR interval."""


@eqx.filter_jit
def _lyapunov_scan(net: Network, h0, q0, interval, n_intervals: int, n_transient: int, rtol, atol,
                   control: str = "pi"):
    """Benettin's method: integrate h with k tangent vectors Q, re-orthonormalise by QR every
    ``interval`` and accumulate log|diag R|. The tangent dynamics dQ/dt = DF(h) Q are the
    jvp of the same :func:`drift` (no hand-written Jacobian).

    Guarded like :func:`neurodyn.simulate.simulate`: each interval's solve stops at a state
    beyond the divergence bound (a diffrax Event on h) or when the adaptive step collapses (a
    non-finite drift); from the first failed interval on, the remaining intervals are skipped
    (``lax.cond``), so a blow-up costs one interval, not max_steps per interval.

    **Returns:** the summed logs (k,), and per interval whether it succeeded, max |h| at its
    end, the diffrax result code and the steps attempted; then the divergence bound and scale.
    """
    bound, scale = divergence_bound(net, h0, jnp.zeros((), h0.dtype), jnp.zeros((), h0.dtype))

    def augmented(t, state, args):
        h, q = state
        dh, dq = jax.vmap(lambda v: jax.jvp(lambda x: drift(x, net), (h,), (v,)), in_axes=1,
                          out_axes=(None, 1))(q)
        return dh, dq

    event = diffrax.Event(cond_fn=lambda t, state, args, **kwargs: diverged(t, state[0], args))

    def solve(h, q):
        solution = integrate.solve(
            augmented, (h, q), LYAPUNOV_SOLVER, jnp.zeros((), h.dtype), interval,
            args=bound, dt=interval / 4, rtol=rtol, atol=atol, control=control,
            event=event, adjoint=integrate.NO_REVERSE_MODE, max_steps=LYAPUNOV_MAX_STEPS,
            throw=False,
        )
        h_new, q_new = jax.tree_util.tree_map(lambda x: x[-1], solution.ys)
        code = jnp.asarray(len(_OUTCOMES) - 1)  # any other failure
        for index, outcome in reversed(list(enumerate(_OUTCOMES[:-1]))):
            code = jnp.where(solution.result == outcome, index, code)
        return h_new, q_new, code, solution.stats["num_steps"]

    def skip(h, q):
        return h, q, jnp.asarray(0), jnp.asarray(0)

    def step(carry, index):
        h, q, log_sum, alive = carry
        h_new, q_new, code, steps = jax.lax.cond(alive, solve, skip, h, q)
        ok = (alive & (code == 0)
              & jnp.all(jnp.isfinite(h_new)) & jnp.all(jnp.isfinite(q_new))
              & jnp.all(jnp.abs(h_new) <= bound))
        q_orth, r = jnp.linalg.qr(jnp.where(ok, q_new, q))
        signs = jnp.sign(jnp.diagonal(r))
        q_orth = q_orth * signs
        growth = jnp.log(jnp.abs(jnp.diagonal(r)))
        counted = index >= n_transient
        log_sum = log_sum + jnp.where(counted & ok, growth, 0.0)
        max_abs = jnp.max(jnp.abs(jnp.where(jnp.isfinite(h_new), h_new, 0.0)))
        return (jnp.where(ok, h_new, h), q_orth, log_sum, ok), (ok, max_abs, code, steps)

    carry, (ok, max_abs, codes, steps) = jax.lax.scan(
        step, (h0, q0, jnp.zeros(q0.shape[1], h0.dtype), jnp.asarray(True)),
        jnp.arange(n_transient + n_intervals))
    return carry[2], ok, max_abs, codes, jnp.sum(steps), bound, scale


def lyapunov(
    net: Network,
    t1: float = 200.0,
    k: int = 1,
    seed: int = 0,
    transient: float = 50.0,
    interval: float = 1.0,
    h0_std: float = 1.0,
    rtol: float = 1e-7,
    atol: float = 1e-7,
    control: str | None = None,
) -> xr.DataArray:
    """The leading ``k`` Lyapunov exponents (per unit τ) by the tangent-space QR method.

    (Benettin et al. 1980; Engelken, Wolf & Abbott 2023 for SCS networks.) The state and k
    tangent vectors are integrated with Tsit5; every ``interval`` the tangent vectors are
    re-orthonormalised by QR and the logs of |R_ii| accumulated over ``t1`` after a
    ``transient`` during which both the trajectory and the tangent basis converge.
    ``rtol``, ``atol`` and ``control`` ("pi" or "i"; None: LYAPUNOV_CONTROL) set the step-size
    control of those solves.

    **Returns:** DataArray over ``exponent`` (0 = largest), sorted in decreasing order; attrs
    with the parameters and the solves' ``num_steps`` (attempted, all intervals) and
    ``rhs_evaluations`` (tangent-system evaluations: one drift and k jvps each).
    """
    if not isinstance(net, Network):
        raise ParameterError(f"net must be a neurodyn.Network, got {type(net).__name__}")
    net.check_fields()
    t1 = validation.positive("t1", t1)
    transient = validation.non_negative("transient", transient)
    interval = validation.positive("interval", interval)
    k = validation.positive_int("k", k)
    if k > net.N:
        raise ParameterError(f"k={k} exceeds N={net.N}; at most N exponents exist")
    seed = validation.seed("seed", seed)
    h0_std = validation.non_negative("h0_std", h0_std)
    rtol = validation.positive("rtol", rtol)
    atol = validation.positive("atol", atol)
    control = validation.choice("control", LYAPUNOV_CONTROL if control is None else control,
                                integrate.CONTROLS)
    n_intervals = max(1, int(round(t1 / interval)))
    n_transient = int(round(transient / interval))
    dtype = net.dtype
    h0 = initial_condition(net.N, 1, seed, h0_std, dtype)[0]
    q_key = simulation_key(seed, 2)
    q0, _ = jnp.linalg.qr(jax.random.normal(q_key, (net.N, k), jnp.float64).astype(dtype))
    log_sum, ok, max_abs, codes, num_steps, bound, scale = _lyapunov_scan(
        net.without_metadata(), h0, q0, jnp.asarray(interval, dtype), n_intervals, n_transient,
        jnp.asarray(rtol, dtype), jnp.asarray(atol, dtype), control,
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
    exponents = np.sort(np.asarray(log_sum) / (n_intervals * interval))[::-1]
    attrs: dict[str, Any] = {
        "long_name": "Lyapunov exponents", "units": "1/tau", "method": "tangent-space QR",
        "network": net.describe(), "t1": t1, "transient": transient, "interval": interval,
        "seed": seed, "rtol": rtol, "atol": atol, "control": control,
        "solver": LYAPUNOV_SOLVER.name, "num_steps": int(num_steps),
        # one solve per QR interval, each with its first (FSAL) stage
        "rhs_evaluations": (LYAPUNOV_SOLVER.evaluations_per_step * int(num_steps)
                            + LYAPUNOV_SOLVER.first_step_evaluations * len(ok)),
        "provenance": provenance(),
    }
    return xr.DataArray(exponents, dims=("exponent",),
                        coords={"exponent": np.arange(k)}, name="lyapunov", attrs=attrs)
