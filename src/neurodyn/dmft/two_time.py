"""Two-time (non-stationary) DMFT: C(t, t′) = ⟨h(t) h(t′)⟩ from a Gaussian initial condition.

For ``J_ij ~ N(0, 1/N)``, θ = 0 and additive white noise σ, with ``h(0) ~ N(0, q0)`` independent
of J (Crisanti & Sompolinsky 2018, eqs. 29–31; Sompolinsky & Zippelius 1982)::

    (1 + ∂t)(1 + ∂t′) C(t, t′) = C_φ(C(t,t), C(t′,t′), C(t,t′)) + σ² δ(t − t′),
    C(t, 0) = q0 e^{−t},   C_φ = ⟨φ(g h(t)) φ(g h(t′))⟩.

Scheme: on the grid t_i = i·dt, with a = e^{−dt} the exact propagator of (1 + ∂t), integrating the
equation over the cell [t_i, t_{i+1}] × [t_j, t_{j+1}] gives::

    C(i+1, j+1) = a C(i+1, j) + a C(i, j+1) − a² C(i, j) + (1 − a)² ⟨C_φ⟩_cell
                  [+ σ² (1 − a²)/2 on the diagonal cell]

with the cell average by the trapezoid rule over its corners (predictor: lower-left corner,
then one corrector), so the scheme is second order in dt. Rows are marched with ``lax.scan``
over t; within a row the recursion along t′ is a linear recurrence solved by
``lax.associative_scan``. Rows are stored by lag ℓ = i − j ∈ [0, window]: the band. Outside the
band C is replaced at the edge by its value at lag = window, so the window must be longer than
the correlation time (the stored band is exact up to the scheme error when it is).
"""

from __future__ import annotations

import math
import sys
from functools import partial
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from .. import gaussian, nonlinearity, resources, validation
from ..errors import ConvergenceError, DivergenceError, ParameterError
from ..mean_field import MeanFieldModel
from ..provenance import provenance
from .stationary import resolve_model

if TYPE_CHECKING:
    import xarray as xr


def _pair_function(phi: nonlinearity.Nonlinearity, pair_order: int):
    """⟨φ(u1)φ(u2)⟩ at zero means: φ's closed form when it has one, else the quadrature."""
    if phi.gaussian_pair is not None:
        return phi.gaussian_pair
    return lambda v1, v2, c: gaussian.expect_pair(phi.phi, phi.phi, v1, v2, c, order=pair_order)


def _recurrence(A, b):
    """x_ℓ = A_ℓ x_{ℓ+1} + b_ℓ for ℓ = L−1 … 0 with x_L = 0, by an associative scan."""

    def combine(left, right):
        # left acts after right along the reversed axis: x = A_l (A_r y + b_r) + b_l
        A_r, b_r = left
        A_l, b_l = right
        return A_l * A_r, A_l * b_r + b_l

    _, x = jax.lax.associative_scan(combine, (A, b), reverse=True)
    return x


def _row_step(g, q0, noise, dt, phi, n_steps, width, pair_order):
    """One row of the march, as a ``lax.scan`` body over the row index i (carry: row i, its
    C_φ values and the diagonal history C(j, j))."""
    pair = _pair_function(phi, pair_order)
    a = jnp.exp(-dt)
    w = (1.0 - a) ** 2
    lags = jnp.arange(width + 1)

    def c_phi(row, diag_hist, i):
        # row[ℓ] = C(i, i−ℓ); variances C(i,i) and C(j,j) from the diagonal history.
        j = i - lags
        var_j = diag_hist[jnp.clip(j, 0, n_steps)]
        return pair(g * g * row[0], g * g * var_j, g * g * row)

    def new_row(row, crow, i, crow_new):
        # Entries ℓ′ of row i+1: C(i+1, i+1−ℓ′). Corners of the cell below/left of (i+1, j+1).
        prev = jnp.concatenate([row[:1] * 0, row[:-1]])  # C(i, i+1−ℓ′) = row[ℓ′−1] for ℓ′ ≥ 1
        cprev = jnp.concatenate([crow[:1] * 0, crow[:-1]])
        if crow_new is None:
            S = w * crow
        else:
            cnext = jnp.concatenate([crow_new[1:], crow_new[-1:]])  # C_φ(i+1, i−ℓ′)
            # ℓ′ = 0: corner (i, i+1) equals (i+1, i) by symmetry, i.e. cnext[0].
            cprev = cprev.at[0].set(cnext[0])
            S = w * 0.25 * (crow + cnext + cprev + crow_new)
        # C just outside the band is set to 0 (a Dirichlet edge). Extrapolating it from the stored
        # lags feeds edge errors back into the next row and is unstable (measured).
        b = a * prev - a * a * row + S
        b = b.at[0].set(-a * a * row[0] + S[0] + 0.5 * noise**2 * (1.0 - a * a))
        A = jnp.full_like(row, a).at[0].set(2.0 * a)
        # the boundary column t′ = 0 (ℓ′ = i+1 when inside the band): C(i+1, 0) = a^{i+1} q0
        boundary = (lags == i + 1)
        invalid = lags > i + 1
        A = jnp.where(boundary | invalid, 0.0, A)
        b = jnp.where(boundary, q0 * a ** (i + 1), jnp.where(invalid, 0.0, b))
        return _recurrence(A, b)

    def step(carry, i):
        row, crow, diag_hist = carry
        predicted = new_row(row, crow, i, None)
        hist_p = diag_hist.at[i + 1].set(predicted[0], mode="drop")
        crow_p = c_phi(predicted, hist_p, i + 1)
        corrected = new_row(row, crow, i, crow_p)
        corrected = jnp.where(lags <= i + 1, corrected, 0.0)
        hist = diag_hist.at[i + 1].set(corrected[0], mode="drop")
        crow_c = c_phi(corrected, hist, i + 1)
        return (corrected, crow_c, hist), corrected

    def start():
        dtype = jnp.float64
        row0 = jnp.zeros(width + 1, dtype).at[0].set(q0)
        hist0 = jnp.zeros(n_steps + 1, dtype).at[0].set(q0)
        crow0 = jnp.where(lags == 0, c_phi(row0, hist0, 0), 0.0)
        return row0, crow0, hist0

    return step, start


@partial(jax.jit, static_argnames=("phi", "n_steps", "width", "pair_order"))
def _march(g, q0, noise, dt, *, phi, n_steps, width, pair_order):
    """The whole march in one compiled scan: rows 0 … n_steps of the band (n_steps+1, width+1)."""
    step, start = _row_step(g, q0, noise, dt, phi, n_steps, width, pair_order)
    carry = start()
    _, rows = jax.lax.scan(step, carry, jnp.arange(n_steps))
    return jnp.concatenate([carry[0][None], rows])


@partial(jax.jit, static_argnames=("phi", "n_steps", "width", "pair_order"))
def _march_start(g, q0, noise, dt, *, phi, n_steps, width, pair_order):
    return _row_step(g, q0, noise, dt, phi, n_steps, width, pair_order)[1]()


@partial(jax.jit, static_argnames=("phi", "n_steps", "width", "pair_order", "rows"))
def _march_rows(carry, first, g, q0, noise, dt, *, phi, n_steps, width, pair_order, rows):
    """``rows`` rows from row index ``first`` on (rows past n_steps are computed and dropped by
    the caller: every chunk has the same length, so one compilation serves them all)."""
    step, _ = _row_step(g, q0, noise, dt, phi, n_steps, width, pair_order)
    return jax.lax.scan(step, carry, first + jnp.arange(rows))


def _march_with_progress(g, q0, noise, dt, *, phi, n_steps, width, pair_order):
    """The same march in ~50 equal chunks of rows with a tqdm bar (one host transfer a chunk)."""
    import tqdm

    static = {"phi": phi, "n_steps": n_steps, "width": width, "pair_order": pair_order}
    rows = max(1, math.ceil(n_steps / _PROGRESS_CHUNKS))
    carry = _march_start(g, q0, noise, dt, **static)
    pieces = [np.asarray(carry[0])[None]]
    with tqdm.tqdm(total=n_steps, unit="row", desc="two-time DMFT") as bar:
        for first in range(0, n_steps, rows):
            carry, piece = _march_rows(carry, first, g, q0, noise, dt, rows=rows, **static)
            pieces.append(np.asarray(piece)[: n_steps - first])
            bar.update(min(rows, n_steps - first))
    return np.concatenate(pieces)


MAX_SECONDS = 600.0
"""Default limit on the estimated run time of :func:`two_time` (pass ``max_seconds`` to change)."""

DT_MAX = 1.0
"""Largest time step accepted at all (the membrane time constant); finer limits come from the
probe (:data:`DT_RTOL`)."""

DT_RTOL = 5e-3
"""Largest accepted estimated error of C from the probe solve at dt and dt/2, relative to max C."""

_PROBE_STEPS = 32  # rows of the dt / dt/2 probe (both of this size: one compilation)
_PROGRESS_CHUNKS = 50  # chunks of rows when a progress bar is shown
# Measured on the development machine (2 shared cores, XLA CPU, full square and band, t1/dt =
# 400-800): a band entry (two pair averages, predictor and corrector, (2·order)² quadrature node
# pairs each) took 8-11 µs for tanh at order 16, i.e. ~5 ns per node pair, and 0.16 µs for the
# erf closed form. The estimate only decides refusals, so it need only be within ~2×.
_NODE_PAIR_SECONDS = 5e-9
_CLOSED_FORM_ENTRY_SECONDS = 0.2e-6
_BYTES = 8


def _validate(model, t1, dt, q0, window, pair_order):
    if model.J_mean != 0 or model.theta_mean != 0 or model.theta_std != 0:
        raise ParameterError(
            f"two_time covers J_mean = theta_mean = theta_std = 0 only; the model has "
            f"J_mean={model.J_mean!r}, theta_mean={model.theta_mean!r}, "
            f"theta_std={model.theta_std!r}")
    t1 = validation.positive("t1", t1)
    dt = validation.positive("dt", dt)
    q0 = validation.non_negative("q0", q0)
    pair_order = validation.positive_int("pair_order", pair_order)
    if dt > t1 / 4:
        raise ParameterError(f"dt={dt!r} must be <= t1/4 = {t1 / 4!r}")
    if dt > DT_MAX:
        raise ParameterError(
            f"dt={dt!r} is too coarse for the two-time DMFT: it must be <= {DT_MAX} (the "
            "membrane time constant is 1 and C_phi is averaged over cells of size dt)")
    if window is not None:
        window = validation.positive("window", window)
    return t1, dt, q0, window, pair_order


def check_two_time_plan(
    g: float | None = None,
    t1: float = 20.0,
    dt: float = 0.05,
    q0: float = 1.0,
    noise: float | None = None,
    phi: str | nonlinearity.Nonlinearity | None = None,
    window: float | None = None,
    pair_order: int = 16,
    max_seconds: float | None = MAX_SECONDS,
    *,
    model: MeanFieldModel | None = None,
) -> dict:
    """Every argument and size check of :func:`two_time`, without computing (no JAX work).

    The march costs n_steps·(width + 1) band entries (n_steps = t1/dt, width = window/dt or
    n_steps), two pair averages each, i.e. O((t1/dt)·(window/dt)); it holds the band
    (n_steps+1)·(width+1) floats three times (scan output, result, NaN-masked copy) and, when
    ``window`` is None, the full square (n_steps+1)² with its index arrays. Raises
    ParameterError on a bad argument, on a plan needing more than
    :data:`neurodyn.resources.MEMORY_FRACTION` of the available memory (the rule of
    :func:`neurodyn.resources.check_memory`, with a message saying what to change), or on an
    estimated run time above ``max_seconds`` (None: no limit); the messages name t1, dt,
    window, the estimate and the limit.

    **Returns:** dict with ``n_steps``, ``width`` (lags kept, in steps), ``entries``,
    ``seconds`` (estimated run time) and ``bytes`` (estimated memory).
    """
    model = resolve_model(model, g=g, phi=phi, noise=noise)
    t1, dt, q0, window, pair_order = _validate(model, t1, dt, q0, window, pair_order)
    if max_seconds is not None:
        max_seconds = validation.positive("max_seconds", max_seconds)
    n_steps = int(round(t1 / dt))
    width = n_steps if window is None else min(max(int(round(window / dt)), 2), n_steps)
    entries = n_steps * (width + 1)
    per_entry = (_CLOSED_FORM_ENTRY_SECONDS if model.phi.gaussian_pair is not None
                 else 2 * _NODE_PAIR_SECONDS * (2 * pair_order) ** 2)
    seconds = entries * per_entry
    band = (n_steps + 1) * (width + 1) * _BYTES
    # full square: the matrix, two int64 index arrays and a temporary of the same size
    square = 4 * (n_steps + 1) ** 2 * _BYTES if window is None else 0
    needed = 3 * band + square
    plan = (f"two_time t1={t1:g}, dt={dt:g}, window={window!r} "
            f"({n_steps} steps x {width + 1} lags)")
    available = resources.available_memory_bytes()
    if needed > resources.MEMORY_FRACTION * available:
        raise ParameterError(
            f"{plan} needs about {resources.format_bytes(needed)} of memory, more than "
            f"{resources.MEMORY_FRACTION:.0%} of the {resources.format_bytes(available)} "
            "available; use a window (a few correlation times; the band grows like "
            "t1·window/dt², the full square like (t1/dt)²), a larger dt or a smaller t1")
    if max_seconds is not None and seconds > max_seconds:
        raise ParameterError(
            f"{plan} would take about {seconds:.3g} s ({entries:.3g} pair averages at "
            f"{per_entry * 1e6:.2g} us), more than max_seconds={max_seconds:g}; use a window "
            "(window >= a few correlation times), a larger dt, a smaller t1, or pass "
            "max_seconds=None to run it anyway")
    return {"n_steps": n_steps, "width": width, "entries": entries, "seconds": seconds,
            "bytes": needed}


def _probe_error(g, q0, noise, dt, phi, pair_order):
    """Estimated error of C from the first steps at dt against the same span at dt/2.

    Both probes have _PROBE_STEPS rows (the dt/2 one covers half the time): the scheme is
    second order, so the dt solution's error is ≈ (4/3)·|C_dt − C_dt/2| on their common grid.
    Relative to max |C| there (or to q0 + σ²/2 if C vanishes).
    """
    static = {"phi": phi, "n_steps": _PROBE_STEPS, "width": _PROBE_STEPS,
              "pair_order": pair_order}
    coarse = np.asarray(_march(g, q0, noise, dt, **static))
    fine = np.asarray(_march(g, q0, noise, dt / 2, **static))
    half = _PROBE_STEPS // 2
    # band[i, ℓ] = C(i, i − ℓ): coarse (i, ℓ) ↔ fine (2i, 2ℓ)
    i, lag = np.meshgrid(np.arange(half + 1), np.arange(half + 1), indexing="ij")
    ok = lag <= i
    difference = np.abs(coarse[i, lag] - fine[2 * i, 2 * lag])[ok]
    scale = max(float(np.max(np.abs(fine))), q0 + noise**2 / 2, 1e-300)
    return float(4.0 / 3.0 * np.max(difference) / scale)


def two_time(
    g: float | None = None,
    t1: float = 20.0,
    dt: float = 0.05,
    q0: float = 1.0,
    noise: float | None = None,
    phi: str | nonlinearity.Nonlinearity | None = None,
    window: float | None = None,
    pair_order: int = 16,
    max_seconds: float | None = MAX_SECONDS,
    progress: bool = False,
    *,
    model: MeanFieldModel | None = None,
) -> xr.Dataset:
    """March the two-time DMFT from ``h(0) ~ N(0, q0)``; see the module docstring.

    **Arguments:**
    - ``model``: a :class:`neurodyn.MeanFieldModel` with J_mean = θ = 0, or instead ``g`` ≥ 0
      [2] (gain inside φ), ``noise`` [0] and ``phi`` [tanh] (any bounded φ; one with a closed
      form ``gaussian_pair`` uses it, the others quadrature).
    - ``t1``, ``dt``: time grid [0, t1] (τ units), dt ≤ :data:`DT_MAX`. Cost
      O((t1/dt)·(window/dt)) pair averages.
    - ``q0`` ≥ 0: variance of h(0) [h²]. ``noise``: σ ≥ 0 of additive white noise σ dW.
    - ``window``: keep only lags t − t′ ≤ window (τ units); None keeps the full square.
    - ``pair_order``: Gauss–Legendre order per panel for ⟨φφ⟩ (φ without a closed form).
    - ``max_seconds``: refuse plans whose estimated run time exceeds it (None: no limit).
    - ``progress``: show a progress bar (when stderr is a terminal); the march then runs in
      ~50 chunks of rows instead of one compiled call, with identical results.

    **Checks, before the march** (:func:`check_two_time_plan`, then a probe): arguments, memory
    and run time; then the first 32 steps are solved at dt and at dt/2 and the estimated error
    of C at dt, (4/3)·max|C_dt − C_dt/2| / max|C|, must be ≤ :data:`DT_RTOL`
    (ConvergenceError naming dt otherwise). The probe is where the fast dynamics are (the
    variance relaxes from q0 and C_φ has its kink at equal times).

    **Returns:** Dataset with ``C_band`` (t, lag) = C(t, t − lag) [h², NaN for t − lag < 0],
    ``variance`` (t) = C(t, t), and, when ``window`` is None, ``C`` (t, t_prime) the full
    symmetric matrix; attrs with every parameter, ``dt_error`` (the probe's estimate) and
    provenance.
    """
    model = resolve_model(model, g=g, phi=phi, noise=noise)
    plan = check_two_time_plan(t1=t1, dt=dt, q0=q0, window=window, pair_order=pair_order,
                               max_seconds=max_seconds, model=model)
    t1, dt, q0, window, pair_order = _validate(model, t1, dt, q0, window, pair_order)
    g, noise, phi = model.g, model.noise, model.phi
    n_steps, width = plan["n_steps"], plan["width"]
    dt_error = _probe_error(g, q0, noise, dt, phi, pair_order)
    if not dt_error <= DT_RTOL:
        raise ConvergenceError(
            f"two_time: dt={dt!r} does not resolve the dynamics at g={g}: C at dt and dt/2 "
            f"differ by an estimated {dt_error:.2g} of max C over the first {_PROBE_STEPS} "
            f"steps (allowed {DT_RTOL:g}); use dt <= {dt * math.sqrt(DT_RTOL / dt_error) / 1.2:.3g}")
    static = {"phi": phi, "n_steps": n_steps, "width": width, "pair_order": pair_order}
    if progress and sys.stderr.isatty():
        band = _march_with_progress(g, q0, noise, dt, **static)
    else:
        band = np.asarray(_march(g, q0, noise, dt, **static))
    if not np.all(np.isfinite(band)):
        bad = int(np.argmin(np.all(np.isfinite(band), axis=1)))
        raise DivergenceError(f"two_time: C became non-finite at t={bad * dt:g}")
    t = np.round(np.arange(n_steps + 1) * dt, 12)
    lag = np.round(np.arange(width + 1) * dt, 12)
    valid = lag[None, :] <= t[:, None] + 1e-12
    band = np.where(valid, band, np.nan)
    time_attrs = {"units": "tau (membrane time constant)"}
    data = {
        "C_band": (("t", "lag"), band, {"long_name": "C(t, t - lag)", "units": "h^2"}),
        "variance": ("t", band[:, 0], {"long_name": "C(t, t)", "units": "h^2"}),
    }
    coords = {"t": ("t", t, time_attrs), "lag": ("lag", lag, time_attrs)}
    if window is None:
        i, j = np.indices((n_steps + 1, n_steps + 1))
        full = band[np.maximum(i, j), np.abs(i - j)]
        data["C"] = (("t", "t_prime"), full, {"long_name": "C(t, t_prime)", "units": "h^2"})
        coords["t_prime"] = ("t_prime", t, time_attrs)
    attrs = {
        "model": "SCS two-time DMFT: (1+d_t)(1+d_t')C = C_phi + noise^2 delta(t-t')",
        "g": g, "t1": t1, "dt": dt, "q0": q0, "noise": noise, "phi": phi.name,
        "window": -1.0 if window is None else float(window), "width_steps": width,
        "pair_order": pair_order, "dt_error": dt_error, "scheme": "exponential cell integration, trapezoid "
        "predictor-corrector (second order in dt)", "exp_dt": math.exp(-dt),
        "provenance": provenance(),
    }
    import xarray as xr  # here, not at import: the dmft command needs it only for this result

    return xr.Dataset(data, coords=coords, attrs=attrs)
