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
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from .. import gaussian, nonlinearity, validation
from ..errors import DivergenceError, ParameterError
from ..provenance import provenance


def _pair_function(phi: str, pair_order: int):
    nl = nonlinearity.get(phi)
    if phi == "erf":
        return lambda v1, v2, c: gaussian.closed_form_pair("erf", False, v1, v2, c)
    return lambda v1, v2, c: gaussian.expect_pair(nl.phi, nl.phi, v1, v2, c, order=pair_order)


def _recurrence(A, b):
    """x_ℓ = A_ℓ x_{ℓ+1} + b_ℓ for ℓ = L−1 … 0 with x_L = 0, by an associative scan."""

    def combine(left, right):
        # left acts after right along the reversed axis: x = A_l (A_r y + b_r) + b_l
        A_r, b_r = left
        A_l, b_l = right
        return A_l * A_r, A_l * b_r + b_l

    _, x = jax.lax.associative_scan(combine, (A, b), reverse=True)
    return x


@partial(jax.jit, static_argnames=("phi", "n_steps", "width", "pair_order"))
def _march(g, q0, noise, dt, *, phi, n_steps, width, pair_order):
    pair = _pair_function(phi, pair_order)
    a = jnp.exp(-dt)
    w = (1.0 - a) ** 2
    lags = jnp.arange(width + 1)

    def c_phi(row, diag_hist, i):
        # row[ℓ] = C(i, i−ℓ); variances C(i,i) and C(j,j) from the diagonal history.
        j = i - lags
        var_j = diag_hist[jnp.clip(j, 0, n_steps)]
        return pair(g * g * row[0], g * g * var_j, g * g * row)

    def new_row(row, crow, diag_hist, i, crow_new):
        # Entries ℓ′ of row i+1: C(i+1, i+1−ℓ′). Corners of the cell below/left of (i+1, j+1).
        prev = jnp.concatenate([row[:1] * 0, row[:-1]])  # C(i, i+1−ℓ′) = row[ℓ′−1] for ℓ′ ≥ 1
        cprev = jnp.concatenate([crow[:1] * 0, crow[:-1]])
        if crow_new is None:
            S = w * crow
            S0_extra = 0.0
        else:
            cnext = jnp.concatenate([crow_new[1:], crow_new[-1:]])  # C_φ(i+1, i−ℓ′)
            # ℓ′ = 0: corner (i, i+1) equals (i+1, i) by symmetry, i.e. cnext[0].
            cprev = cprev.at[0].set(cnext[0])
            S = w * 0.25 * (crow + cnext + cprev + crow_new)
            S0_extra = 0.0
        # C just outside the band is set to 0 (a Dirichlet edge). Extrapolating it from the stored
        # lags feeds edge errors back into the next row and is unstable (measured).
        edge = 0.0
        b = a * prev - a * a * row + S
        b = b.at[0].set(-a * a * row[0] + S[0] + S0_extra + 0.5 * noise**2 * (1.0 - a * a))
        A = jnp.full_like(row, a).at[0].set(2.0 * a)
        # the boundary column t′ = 0 (ℓ′ = i+1 when inside the band): C(i+1, 0) = a^{i+1} q0
        boundary = (lags == i + 1)
        invalid = lags > i + 1
        A = jnp.where(boundary | invalid, 0.0, A)
        b = jnp.where(boundary, q0 * a ** (i + 1), jnp.where(invalid, 0.0, b))
        b = b.at[-1].add(jnp.where(i + 1 > width, a * edge, 0.0))
        return _recurrence(A, b)

    def step(carry, i):
        row, crow, diag_hist = carry
        predicted = new_row(row, crow, diag_hist, i, None)
        hist_p = diag_hist.at[i + 1].set(predicted[0])
        crow_p = c_phi(predicted, hist_p, i + 1)
        corrected = new_row(row, crow, diag_hist, i, crow_p)
        corrected = jnp.where(lags <= i + 1, corrected, 0.0)
        hist = diag_hist.at[i + 1].set(corrected[0])
        crow_c = c_phi(corrected, hist, i + 1)
        return (corrected, crow_c, hist), corrected

    dtype = jnp.float64
    row0 = jnp.zeros(width + 1, dtype).at[0].set(q0)
    hist0 = jnp.zeros(n_steps + 1, dtype).at[0].set(q0)
    crow0 = jnp.where(lags == 0, c_phi(row0, hist0, 0), 0.0)
    _, rows = jax.lax.scan(step, (row0, crow0, hist0), jnp.arange(n_steps))
    return jnp.concatenate([row0[None], rows])


def two_time(
    g: float = 2.0,
    t1: float = 20.0,
    dt: float = 0.05,
    q0: float = 1.0,
    noise: float = 0.0,
    phi: str = "tanh",
    window: float | None = None,
    pair_order: int = 16,
) -> xr.Dataset:
    """March the two-time DMFT from ``h(0) ~ N(0, q0)``; see the module docstring.

    **Arguments:**
    - ``g`` > 0 (gain inside φ), ``phi`` ("tanh" or "erf", erf uses its closed form).
    - ``t1``, ``dt``: time grid [0, t1] (τ units). Cost O((t1/dt)·(window/dt)) pair averages.
    - ``q0`` ≥ 0: variance of h(0) [h²]. ``noise``: σ ≥ 0 of additive white noise.
    - ``window``: keep only lags t − t′ ≤ window (τ units); None keeps the full square.
    - ``pair_order``: Gauss–Legendre order per panel for ⟨φφ⟩ (tanh only).

    **Returns:** Dataset with ``C_band`` (t, lag) = C(t, t − lag) [h², NaN for t − lag < 0],
    ``variance`` (t) = C(t, t), and, when ``window`` is None, ``C`` (t, t_prime) the full
    symmetric matrix; attrs with every parameter and provenance.
    """
    g = validation.positive("g", g)
    t1 = validation.positive("t1", t1)
    dt = validation.positive("dt", dt)
    q0 = validation.non_negative("q0", q0)
    noise = validation.non_negative("noise", noise)
    validation.choice("phi", phi, nonlinearity.NONLINEARITIES)
    if phi not in ("tanh", "erf"):
        raise ParameterError(f"phi={phi!r} is not supported by two_time; allowed: tanh, erf")
    pair_order = validation.positive_int("pair_order", pair_order)
    if dt > t1 / 4:
        raise ParameterError(f"dt={dt!r} must be <= t1/4 = {t1 / 4!r}")
    n_steps = int(round(t1 / dt))
    if window is None:
        width = n_steps
    else:
        window = validation.positive("window", window)
        width = min(max(int(round(window / dt)), 2), n_steps)
    band = np.asarray(_march(g, q0, noise, dt, phi=phi, n_steps=n_steps, width=width,
                             pair_order=pair_order))
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
        "g": g, "t1": t1, "dt": dt, "q0": q0, "noise": noise, "phi": phi,
        "window": -1.0 if window is None else float(window), "width_steps": width,
        "pair_order": pair_order, "scheme": "exponential cell integration, trapezoid "
        "predictor-corrector (second order in dt)", "exp_dt": math.exp(-dt),
        "provenance": provenance(),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
