"""Deep mean-field theory of random feed-forward networks: q-map, c-map, χ₁, depth scales.

A deep random network propagates pre-activations layer by layer,

    h^l = W^l φ(h^{l−1}) + b^l,   W^l_ij ~ N(0, σ_w²/N),   b^l_i ~ N(0, σ_b²),

which is the SCS recurrent network with time replaced by depth and fresh weights at every layer.
At large width N the pre-activations are Gaussian and their statistics obey deterministic maps
(Poole et al. 2016, "Exponential expressivity in deep neural networks through transient chaos",
eqs. 3–5; Schoenholz et al. 2017, "Deep information propagation", eqs. 1–9):

- length map   ``V(q) = σ_w² ⟨φ(√q z)²⟩ + σ_b²``, z ~ N(0, 1), fixed point q* (Poole eq. 3);
- covariance map for two inputs ``q12' = σ_w² ⟨φ(u1) φ(u2)⟩ + σ_b²`` with
  (u1, u2) ~ N(0, [[q1, q12], [q12, q2]]) (Poole eq. 5), and at q* the correlation map
  ``C(c) = (σ_w² ⟨φ(u1)φ(u2)⟩ + σ_b²) / q*`` with cov = c q*, fixed point c*;
- ``χ₁ = ∂C/∂c at c = 1 = σ_w² ⟨φ′(√q* z)²⟩`` (Poole eq. 7): ordered phase χ₁ < 1 (c* = 1),
  chaotic phase χ₁ > 1 (c* < 1); the critical line is χ₁ = 1;
- depth scales ``ξ_q = −1/ln V′(q*)`` and ``ξ_c = −1/ln χ_c`` with ``χ_c = ∂C/∂c at c*``
  (Schoenholz eqs. 6–9); ξ_c diverges on the critical line.

For σ_b = 0 and a φ with φ(x)² ≤ φ′(0)² x² (tanh, erf, relu) q* = 0 and χ₁ = σ_w² φ′(0)² for
σ_w ≤ 1/φ′(0): the critical line starts at σ_w = 1/φ′(0) (= 1 for the registered φ), the deep
counterpart of the SCS transition at g φ′(0) = 1.

Every ``phi`` argument is a registered name or a :class:`~neurodyn.nonlinearity.Nonlinearity`;
the maps use its capabilities only (its bound, and its closed-form pair averages if it has them).

Public API: :func:`length_map`, :func:`length_slope`, :func:`q_iterates`, :func:`q_star`,
:func:`chi1`, :func:`correlation_map`, :func:`c_star`, :func:`covariance_iterates`,
:func:`depth_scales`, :func:`phase_diagram`, :func:`simulate_deep`, :func:`job` (its figure:
:func:`neurodyn.plots.deep_figure`).
All variances are of pre-activations h (dimensionless); "layer" is depth l (0 = the input).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import gaussian, validation
from .errors import ConvergenceError, ParameterError
from .nonlinearity import Nonlinearity, PhiLike
from .nonlinearity import get as _nonlinearity

# Number of plain iterations of the length map before the Newton polish: enough to enter the
# basin of the stable fixed point from the upper bound q0 = σ_w² sup φ² + σ_b² (the map is
# monotone, so the iterates decrease onto the largest fixed point); Newton then converges fast.
_Q_ITERATIONS = 200
_NEWTON_STEPS = 40
# Residual |V(q) − q| ≤ tol (1 + q) for convergence: 1-D Gauss averages are accurate to ~1e-12
# relative (see neurodyn.gaussian), so 1e-10 is reachable with margin.
_Q_TOL = 1e-10
# The pair averages of tanh are accurate to ~1e-8 (order 48); the c-map tolerance sits above that.
_C_TOL = 1e-8
_ORDER = 128
# Variance floor used for derivatives at q = 0, where the one-sided limit is meant (relu has a kink).
_TINY_VARIANCE = 1e-200


def _check_sigmas(sigma_w, sigma_b) -> tuple[np.ndarray, np.ndarray]:
    sw = np.asarray(sigma_w, dtype=np.float64)
    sb = np.asarray(sigma_b, dtype=np.float64)
    for name, value in (("sigma_w", sw), ("sigma_b", sb)):
        if value.size == 0:
            raise ParameterError(f"{name}=[] is empty; at least one value is required")
        if not np.all(np.isfinite(value)):
            raise ParameterError(f"{name}={value.tolist()} must be finite")
    if np.any(sw <= 0):
        raise ParameterError(f"sigma_w={sw.tolist()} must be > 0 (weight standard deviation)")
    if np.any(sb < 0):
        raise ParameterError(f"sigma_b={sb.tolist()} must be >= 0 (bias standard deviation)")
    return np.broadcast_arrays(sw, sb)


def _as_output(x: jax.Array, shape: tuple[int, ...]):
    x = np.asarray(x, dtype=np.float64).reshape(shape)
    return float(x) if x.ndim == 0 else x


# --- pure maps (jax, broadcasting, vmappable) ------------------------------------------------

def _second_derivative_of_square(nl: Nonlinearity):
    # (φ²)″ elementwise through jax, used in Price's theorem dV/dq = σ_w²/2 ⟨(φ²)″(u)⟩.
    scalar = jax.grad(jax.grad(lambda x: nl.phi(x) ** 2))
    return jnp.vectorize(scalar)


def _length(q, sw, sb, nl: Nonlinearity):
    return sw**2 * gaussian.expect(lambda u: nl.phi(u) ** 2, q, order=_ORDER) + sb**2


def _length_slope(q, sw, nl: Nonlinearity):
    q = jnp.maximum(q, _TINY_VARIANCE)
    return 0.5 * sw**2 * gaussian.expect(_second_derivative_of_square(nl), q, order=_ORDER)


def _chi1(q, sw, nl: Nonlinearity):
    q = jnp.maximum(q, _TINY_VARIANCE)
    return sw**2 * gaussian.expect(lambda u: nl.dphi(u) ** 2, q, order=_ORDER)


def _pair(nl: Nonlinearity, derivative: bool, var1, var2, cov):
    """⟨φ(u1)φ(u2)⟩ (or φ′) at zero means: φ's closed form if it has one (erf, relu), else
    quadrature (tanh)."""
    return gaussian.pair(nl, derivative, var1, var2, cov)


def _q_star_core(sw, sb, nl: Nonlinearity):
    """(q*, converged) for scalar σ_w, σ_b; see :func:`q_star`."""
    dtype = jnp.float64
    sw = jnp.asarray(sw, dtype)
    sb = jnp.asarray(sb, dtype)
    # For bounded φ, V(q) ≤ σ_w² sup φ² + σ_b² for every q; for unbounded φ (relu) any positive
    # start (σ_w² + σ_b², the bound's value for sup |φ| = 1).
    top = nl.bound**2 if nl.bounded else 1.0
    q0 = sw**2 * top + sb**2
    q = jax.lax.fori_loop(0, _Q_ITERATIONS, lambda _, q: _length(q, sw, sb, nl), q0)

    def newton(_, q):
        residual = _length(q, sw, sb, nl) - q
        slope = _length_slope(q, sw, nl) - 1.0
        step = jnp.where(jnp.abs(slope) > 1e-14, residual / slope, 0.0)
        new = q - step
        return jnp.where(jnp.isfinite(new) & (new >= 0.0), new, q)

    q = jax.lax.fori_loop(0, _NEWTON_STEPS, newton, q)
    # With σ_b = 0 and V′(0⁺) ≤ 1 the only fixed point is q* = 0, approached algebraically at
    # V′(0⁺) = 1 (too slowly to iterate): φ(x)² ≤ φ′(0⁺)² x² for tanh, erf and relu, so
    # V(q) ≤ V′(0⁺) q < q for q > 0. (Assumed of every φ: it holds for any φ with φ(0) = 0 whose
    # |φ(x)|/|x| is largest at 0, e.g. odd φ concave on x > 0; q_star documents it.)
    # (1e-12: the quadrature of V′(0⁺) = σ_w² φ′(0⁺)² is exact only to round-off.)
    zero_is_stable = (sb == 0.0) & (_length_slope(jnp.zeros((), dtype), sw, nl) <= 1.0 + 1e-12)
    q = jnp.where(zero_is_stable, 0.0, q)
    residual = jnp.abs(_length(q, sw, sb, nl) - q)
    stable = _length_slope(q, sw, nl) <= 1.0 + 1e-9
    converged = jnp.isfinite(q) & (q >= 0.0) & (residual <= _Q_TOL * (1.0 + q)) & stable
    return q, converged


def _c_star_core(sw, sb, q, nl: Nonlinearity):
    """(c*, χ_c, converged) for scalar σ_w, σ_b at the length fixed point q."""
    chi = _chi1(q, sw, nl)
    safe_q = jnp.where(q > 0, q, 1.0)

    def cmap(c):
        return (sw**2 * _pair(nl, False, safe_q, safe_q, c * safe_q) + sb**2) / safe_q

    def cslope(c):
        return sw**2 * _pair(nl, True, safe_q, safe_q, c * safe_q)

    # Chaotic phase: G(c) = C(c) − c is convex on [0, 1] (C″ = σ_w² q* ⟨φ″φ″⟩ ≥ 0 for c ≥ 0)
    # with G(0) ≥ 0, so Newton from c = 0 increases monotonically onto the smallest root c* < 1.
    def newton(_, c):
        new = c - (cmap(c) - c) / (cslope(c) - 1.0)
        return jnp.where(jnp.isfinite(new), jnp.clip(new, -1.0, 1.0), c)

    c_chaos = jax.lax.fori_loop(0, _NEWTON_STEPS, newton, jnp.zeros_like(q))
    # Ordered phase (χ₁ ≤ 1): convexity puts C above its tangent 1 + χ₁ (c − 1) ≥ c, so c* = 1.
    ordered = chi <= 1.0 + 1e-12  # round-off of the quadrature at the critical point
    c = jnp.where(ordered, 1.0, c_chaos)
    chi_c = jnp.where(ordered, chi, cslope(c))
    residual = jnp.where(ordered, 0.0, jnp.abs(cmap(c) - c))
    converged = jnp.isfinite(c) & (residual <= _C_TOL) & (ordered | (q > 0))
    return c, chi_c, converged


# --- public theory ---------------------------------------------------------------------------

def length_map(q, sigma_w, sigma_b, phi: PhiLike = "tanh"):
    """The length map ``V(q) = σ_w² ⟨φ(√q z)²⟩ + σ_b²`` (Poole et al. 2016, eq. 3).

    **Arguments:** ``q`` ≥ 0 (pre-activation variance), ``sigma_w`` > 0, ``sigma_b`` ≥ 0, all
    broadcasting to shape S; ``phi`` a registered nonlinearity.

    **Returns:** V(q), float or array of shape S.
    """
    nl = _nonlinearity(phi)
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    q = np.asarray(q, dtype=np.float64)
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ParameterError(f"q={q.tolist()} must be finite and >= 0 (a variance)")
    q, sw, sb = np.broadcast_arrays(q, sw, sb)
    return _as_output(_length(jnp.asarray(q), sw, sb, nl), q.shape)


def length_slope(q, sigma_w, sigma_b=0.0, phi: PhiLike = "tanh"):
    """``∂V/∂q = (σ_w²/2) ⟨(φ²)″(√q z)⟩`` (Price's theorem); at q = 0 the limit q → 0⁺."""
    nl = _nonlinearity(phi)
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    q = np.asarray(q, dtype=np.float64)
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ParameterError(f"q={q.tolist()} must be finite and >= 0 (a variance)")
    q, sw, _ = np.broadcast_arrays(q, sw, sb)
    return _as_output(_length_slope(jnp.asarray(q), sw, nl), q.shape)


def _padded(function, sw: np.ndarray, sb: np.ndarray, nl: Nonlinearity):
    """Apply a vmapped, jitted ``function(sw, sb, nl)`` to the flattened grid, padded to a power
    of two (≥ 8) with a benign point (σ_w = σ_b = 0.5, ordered for φ′(0) < 2; its outputs are
    cut off whatever they are), so that grids of different sizes share compilations; returns
    the outputs cut back to ``sw.size``."""
    n = sw.size
    size = max(8, 1 << (n - 1).bit_length())
    pad = np.full(size - n, 0.5)
    outputs = function(jnp.asarray(np.concatenate([sw.ravel(), pad])),
                       jnp.asarray(np.concatenate([sb.ravel(), pad])), nl)
    return tuple(x[:n] for x in outputs)


@eqx.filter_jit
def _q_star_vectorised(sw, sb, nl):
    return jax.vmap(lambda a, b: _q_star_core(a, b, nl))(sw, sb)


def _require_converged(ok, sw, sb, problem: str, hint: str = "") -> None:
    """ConvergenceError naming the first (σ_w, σ_b) grid point where ``ok`` is False."""
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise ConvergenceError(
            f"{problem} at sigma_w={sw.ravel()[bad]:g}, sigma_b={sb.ravel()[bad]:g} "
            f"({int((~ok).sum())} of {ok.size} points failed){hint}")


def _q_star_checked(sigma_w, sigma_b, phi):
    nl = _nonlinearity(phi)
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    q, ok = (np.asarray(x) for x in _padded(_q_star_vectorised, sw, sb, nl))
    hint = "" if nl.bounded else ("; for an unbounded phi q* may not exist (relu: only for "
                                  "sigma_w^2 < 2)")
    _require_converged(ok, sw, sb, f"no stable finite fixed point q* of the length map for "
                       f"phi={nl.name!r}", hint)
    return nl, sw, sb, q


def q_star(sigma_w, sigma_b, phi: PhiLike = "tanh"):
    """The stable fixed point q* of the length map (Poole et al. 2016, eq. 4).

    Found by iterating V from the upper bound σ_w² sup φ² + σ_b² (the iterates decrease
    monotonically onto the largest fixed point; σ_w² + σ_b² for unbounded φ), then Newton steps
    on V(q) − q. For σ_b = 0 and V′(0⁺) = σ_w² φ′(0)² ≤ 1, q* = 0, which assumes
    φ(x)² ≤ φ′(0)² x² (true for tanh, erf, relu and any odd φ concave on x > 0).

    **Arguments:** ``sigma_w`` > 0, ``sigma_b`` ≥ 0 (broadcast to shape S); ``phi``.

    **Returns:** q* (float or array of shape S).

    **Raises:** ``ConvergenceError`` naming the first failing (σ_w, σ_b) when there is no stable
    finite fixed point (relu with σ_w² ≥ 2 unless the fixed point is q* = 0 with V′ ≤ 1).
    """
    _, sw, _, q = _q_star_checked(sigma_w, sigma_b, phi)
    return _as_output(q, sw.shape)


def chi1(sigma_w, sigma_b, phi: PhiLike = "tanh"):
    """``χ₁ = σ_w² ⟨φ′(√q* z)²⟩``, the slope of the correlation map at c = 1 (Poole eq. 7).

    χ₁ < 1: ordered phase; χ₁ > 1: chaotic phase. Shapes as :func:`q_star`.
    """
    nl, sw, _, q = _q_star_checked(sigma_w, sigma_b, phi)
    return _as_output(_chi1(q, jnp.asarray(sw.ravel()), nl), sw.shape)


def correlation_map(c, sigma_w, sigma_b, phi: PhiLike = "tanh"):
    """``C(c) = (σ_w² ⟨φ(u1)φ(u2)⟩ + σ_b²)/q*`` with var u = q*, cov = c q* (Poole eq. 5).

    **Arguments:** ``c`` in [−1, 1] and σ's broadcasting to S. **Returns:** C(c), shape S.
    """
    c_arr = np.asarray(c, dtype=np.float64)
    if not np.all(np.isfinite(c_arr)) or np.any(np.abs(c_arr) > 1):
        raise ParameterError(f"c={c_arr.tolist()} must be in [-1, 1] (a correlation)")
    nl, sw, sb, q = _q_star_checked(sigma_w, sigma_b, phi)
    c_arr, sw, sb, q = np.broadcast_arrays(c_arr, sw, sb, np.asarray(q).reshape(sw.shape))
    if np.any(q <= 0):
        raise ParameterError("the correlation map is undefined where q* = 0 (sigma_b = 0 in the "
                             "ordered phase): every input collapses onto h = 0")
    value = _correlation_value(jnp.asarray(c_arr), jnp.asarray(sw), jnp.asarray(sb),
                               jnp.asarray(q), nl)
    return _as_output(value, c_arr.shape)


@eqx.filter_jit
def _correlation_value(c, sw, sb, q, nl):
    return (sw**2 * _pair(nl, False, q, q, c * q) + sb**2) / q


@eqx.filter_jit
def _theory_vectorised(sw, sb, nl):
    def point(a, b):
        q, q_ok = _q_star_core(a, b, nl)
        c, chi_c, c_ok = _c_star_core(a, b, q, nl)
        return q, _chi1(q, a, nl), _length_slope(q, a, nl), c, chi_c, q_ok, c_ok

    return jax.vmap(point)(sw, sb)


def _theory(sigma_w, sigma_b, phi):
    nl = _nonlinearity(phi)
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    out = _padded(_theory_vectorised, sw, sb, nl)
    return sw, sb, [np.asarray(x) for x in out]


def c_star(sigma_w, sigma_b, phi: PhiLike = "tanh"):
    """The stable fixed point c* of the correlation map (Poole et al. 2016, Fig. 2).

    c* = 1 in the ordered phase (χ₁ ≤ 1); in the chaotic phase the root c* < 1 found by Newton
    from c = 0. Shapes as :func:`q_star`. Raises ``ConvergenceError`` if q* or c* fails.
    """
    sw, sb, (q, _, _, c, _, q_ok, c_ok) = _theory(sigma_w, sigma_b, phi)
    _require_converged(q_ok & c_ok, sw, sb, f"fixed point c* (or q*) did not converge for "
                       f"phi={_nonlinearity(phi).name!r}")
    return _as_output(c, sw.shape)


def depth_scales(sigma_w, sigma_b, phi: PhiLike = "tanh") -> dict:
    """Depth scales ``ξ_q = −1/ln V′(q*)`` and ``ξ_c = −1/ln χ_c`` (Schoenholz et al. 2017, eqs. 6–9).

    **Returns:** dict with ``xi_q``, ``xi_c``, ``chi_c`` (slope of C at c*), shapes as
    :func:`q_star`; ξ = inf where the slope is 1 (critical line), ξ_q = 0 where V′ = 0.
    """
    sw, sb, (q, _, slope, c, chi_c, q_ok, c_ok) = _theory(sigma_w, sigma_b, phi)
    _require_converged(q_ok & c_ok, sw, sb, f"fixed points did not converge for "
                       f"phi={_nonlinearity(phi).name!r}")
    with np.errstate(divide="ignore"):
        xi_q = -1.0 / np.log(slope)
        xi_c = -1.0 / np.log(chi_c)
    return {"xi_q": _as_output(xi_q, sw.shape), "xi_c": _as_output(xi_c, sw.shape),
            "chi_c": _as_output(chi_c, sw.shape)}


def _covariance_step(cov, sw, sb, nl: Nonlinearity):
    """One layer of the covariance map on an (n, n) covariance matrix (Poole eqs. 3, 5)."""
    var = jnp.diagonal(cov)
    v1 = jnp.broadcast_to(var[:, None], cov.shape)
    v2 = jnp.broadcast_to(var[None, :], cov.shape)
    cross = _pair(nl, False, v1, v2, cov)
    diag = gaussian.expect(lambda u: nl.phi(u) ** 2, var, order=_ORDER)
    n = cov.shape[0]
    cross = jnp.where(jnp.eye(n, dtype=bool), jnp.diag(diag), cross)
    return sw**2 * cross + sb**2


@eqx.filter_jit
def _covariance_iterates(cov0, sw, sb, depth: int, nl):
    def step(cov, _):
        new = _covariance_step(cov, sw, sb, nl)
        return new, new

    _, covs = jax.lax.scan(step, cov0, None, length=depth)
    return jnp.concatenate([cov0[None], covs], axis=0)


def covariance_iterates(cov0, sigma_w: float, sigma_b: float, depth: int, phi: PhiLike = "tanh"):
    """Iterate the covariance map from an input covariance matrix.

    **Arguments:** ``cov0``: (n, n) symmetric positive semi-definite covariance of n inputs'
    pre-activations at layer 0; scalar σ's; ``depth`` layers.

    **Returns:** numpy array (depth + 1, n, n): covariance at layers 0..depth. The diagonal is the
    q-map iterate q^l of each input; ``cov[l, a, b]/sqrt(q_a q_b)`` is c^l.
    """
    nl = _nonlinearity(phi)
    sw = validation.positive("sigma_w", sigma_w)
    sb = validation.non_negative("sigma_b", sigma_b)
    depth = validation.positive_int("depth", depth)
    cov0 = np.asarray(cov0, dtype=np.float64)
    if cov0.ndim != 2 or cov0.shape[0] != cov0.shape[1] or not np.all(np.isfinite(cov0)):
        raise ParameterError(f"cov0 of shape {cov0.shape} must be a finite square (n, n) matrix")
    if not np.allclose(cov0, cov0.T) or np.linalg.eigvalsh(cov0).min() < -1e-12 * max(
            1.0, float(np.abs(cov0).max())):
        raise ParameterError("cov0 must be symmetric positive semi-definite")
    return np.asarray(_covariance_iterates(jnp.asarray(cov0), jnp.asarray(sw), jnp.asarray(sb), depth, nl))


def q_iterates(q0, sigma_w: float, sigma_b: float, depth: int, phi: PhiLike = "tanh"):
    """The length-map iterates q^0 = q0, q^{l+1} = V(q^l); returns (depth + 1,) (or (depth+1,)+S)."""
    nl = _nonlinearity(phi)
    sw = validation.positive("sigma_w", sigma_w)
    sb = validation.non_negative("sigma_b", sigma_b)
    depth = validation.positive_int("depth", depth)
    q0 = np.asarray(q0, dtype=np.float64)
    if not np.all(np.isfinite(q0)) or np.any(q0 < 0):
        raise ParameterError(f"q0={q0.tolist()} must be finite and >= 0 (a variance)")

    def step(q, _):
        new = _length(q, sw, sb, nl)
        return new, new

    _, qs = jax.lax.scan(step, jnp.asarray(q0), None, length=depth)
    return np.concatenate([q0[None], np.asarray(qs)], axis=0)


def phase_diagram(sigma_w, sigma_b, phi: PhiLike = "tanh") -> xr.Dataset:
    """q*, c*, χ₁, χ_c, ξ_q, ξ_c over a (σ_w, σ_b) grid (vmap over all points).

    **Arguments:** 1-D ``sigma_w`` (> 0) and ``sigma_b`` (≥ 0) grids.

    **Returns:** Dataset over dims (sigma_w, sigma_b); points without a stable finite fixed point
    are NaN (flag ``converged``). The critical line is the χ₁ = 1 contour.
    """
    sw = np.atleast_1d(np.asarray(sigma_w, dtype=np.float64))
    sb = np.atleast_1d(np.asarray(sigma_b, dtype=np.float64))
    if sw.ndim != 1 or sb.ndim != 1:
        raise ParameterError("sigma_w and sigma_b must be 1-D grids")
    grid_w, grid_b = np.meshgrid(sw, sb, indexing="ij")
    _, _, (q, chi, slope, c, chi_c, q_ok, c_ok) = _theory(grid_w, grid_b, phi)
    ok = (q_ok & c_ok).reshape(grid_w.shape)

    def shaped(x):
        return np.where(ok, np.asarray(x, dtype=np.float64).reshape(grid_w.shape), np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        xi_q = -1.0 / np.log(shaped(slope))
        xi_c = -1.0 / np.log(shaped(chi_c))
    dims = ("sigma_w", "sigma_b")
    return xr.Dataset(
        {
            "q_star": (dims, shaped(q), {"long_name": "fixed point q* of the length map",
                                         "units": "h^2"}),
            "c_star": (dims, shaped(c), {"long_name": "fixed point c* of the correlation map"}),
            "chi1": (dims, shaped(chi), {"long_name": "chi_1 = sigma_w^2 <phi'(sqrt(q*) z)^2>"}),
            "chi_c": (dims, shaped(chi_c), {"long_name": "slope of the correlation map at c*"}),
            "q_slope": (dims, shaped(slope), {"long_name": "dV/dq at q*"}),
            "xi_q": (dims, xi_q, {"long_name": "-1/ln(dV/dq at q*)", "units": "layers"}),
            "xi_c": (dims, xi_c, {"long_name": "-1/ln(chi_c)", "units": "layers"}),
            "converged": (dims, ok),
        },
        coords={"sigma_w": ("sigma_w", sw, {"long_name": "weight std (times sqrt(N))"}),
                "sigma_b": ("sigma_b", sb, {"long_name": "bias std"})},
        attrs={"phi": _nonlinearity(phi).name},
    )


def critical_sigma_w(sigma_b, phi: PhiLike = "tanh", bracket=(0.2, 20.0)):
    """σ_w on the critical line χ₁(σ_w, σ_b) = 1, by bisection (χ₁ increases with σ_w)."""
    sb = validation.non_negative("sigma_b", sigma_b)
    low, high = bracket
    f_low, f_high = chi1(low, sb, phi) - 1.0, chi1(high, sb, phi) - 1.0
    if f_low > 0 or f_high < 0:
        raise ConvergenceError(f"chi1 - 1 does not change sign on sigma_w in {bracket} at "
                               f"sigma_b={sb:g}, phi={_nonlinearity(phi).name!r}")
    for _ in range(60):
        mid = 0.5 * (low + high)
        if chi1(mid, sb, phi) > 1.0:
            high = mid
        else:
            low = mid
    return 0.5 * (low + high)


# --- simulation ------------------------------------------------------------------------------

@eqx.filter_jit
def _propagate(h0, key, sw, sb, depth: int, nl):
    width = h0.shape[-1]

    def layer(h, key):
        kw, kb = jax.random.split(key)
        w = jax.random.normal(kw, (width, width), h.dtype) * (sw / math.sqrt(width))
        b = jax.random.normal(kb, (width,), h.dtype) * sb
        new = nl.phi(h) @ w.T + b
        return new, new @ new.T / width

    keys = jax.random.split(key, depth)
    _, grams = jax.lax.scan(layer, h0, keys)
    return jnp.concatenate([(h0 @ h0.T / width)[None], grams], axis=0)


def simulate_deep(inputs, sigma_w: float, sigma_b: float, depth: int, phi: PhiLike = "tanh",
                  seed: int = 0):
    """Propagate inputs through a random deep network and return the empirical Gram matrices.

    ``h^l = W^l φ(h^{l−1}) + b^l`` with fresh ``W^l ~ N(0, σ_w²/N)`` (N, N) and ``b^l ~ N(0, σ_b²)``
    at every layer (lax.scan over layers), the same network for every input.

    **Arguments:** ``inputs`` (n, N): the layer-0 pre-activations of n inputs, width N = the
    network width; ``depth`` layers; ``seed`` for the weights and biases.

    **Returns:** numpy (depth + 1, n, n) with ``G^l_ab = (1/N) Σ_i h^l_ai h^l_bi``: diagonal =
    empirical q^l, ``G_ab/sqrt(G_aa G_bb)`` = empirical c^l.
    """
    nl = _nonlinearity(phi)
    sw = validation.positive("sigma_w", sigma_w)
    sb = validation.non_negative("sigma_b", sigma_b)
    depth = validation.positive_int("depth", depth)
    seed = validation.seed("seed", seed)
    h0 = np.asarray(inputs, dtype=np.float64)
    if h0.ndim != 2 or h0.shape[1] < 1 or not np.all(np.isfinite(h0)):
        raise ParameterError(f"inputs of shape {h0.shape} must be a finite (n_inputs, width) "
                             "array")
    # σ's as arrays so that filter_jit traces them (Python floats would be static: a recompile each).
    grams = _propagate(jnp.asarray(h0), jax.random.key(seed), jnp.asarray(sw), jnp.asarray(sb),
                       depth, nl)
    return np.asarray(grams)


def make_inputs(q0, c0, width: int, seed: int = 0):
    """Layer-0 inputs with exactly prescribed empirical statistics.

    Returns (n_q + 2 n_c, width): first one input per ``q0`` value (variance q0), then for each
    ``c0`` a pair with variance 1 and empirical correlation exactly c0, and the (n, n) covariance
    matrix they realise (exact, by Gram–Schmidt on Gaussian draws).
    """
    width = validation.positive_int("width", width)
    q0 = np.atleast_1d(np.asarray(q0, dtype=np.float64))
    c0 = np.atleast_1d(np.asarray(c0, dtype=np.float64))
    if np.any(q0 <= 0) or not np.all(np.isfinite(q0)):
        raise ParameterError(f"q0={q0.tolist()} must be finite and > 0")
    if np.any(np.abs(c0) >= 1) or not np.all(np.isfinite(c0)):
        raise ParameterError(f"c0={c0.tolist()} must be in (-1, 1)")
    if width < 3:
        raise ParameterError(f"width={width} must be >= 3")
    rng = np.random.default_rng(seed)
    rows = []
    for q in q0:
        x = rng.standard_normal(width)
        rows.append(x * math.sqrt(q * width / (x @ x)))
    for c in c0:
        x, y = rng.standard_normal((2, width))
        x /= math.sqrt(x @ x / width)
        y -= (y @ x) / (x @ x) * x
        y /= math.sqrt(y @ y / width)
        rows += [x, c * x + math.sqrt(1.0 - c * c) * y]
    inputs = np.stack(rows)
    return inputs, inputs @ inputs.T / width


# --- job -------------------------------------------------------------------------------------

def job(sigma_w_grid=None, sigma_b_grid=None, sim_sigma_w=(1.3, 2.5, 4.0), sim_sigma_b=0.3,
        depth: int = 20, width: int = 1000, phi: PhiLike = "tanh", seeds=(0, 1, 2),
        q0=(0.5, 4.0, 12.0), c0=(0.2, 0.6, 0.95)) -> xr.Dataset:
    """The deep mean-field job: simulated q^l, c^l vs the maps, and the (σ_w, σ_b) phase diagram.

    **Arguments:** ``sigma_w_grid``/``sigma_b_grid`` 1-D grids for the phase diagram (defaults
    linspace(0.5, 4.5, 41) and linspace(0, 1, 21)); simulations at each ``sim_sigma_w`` with
    bias ``sim_sigma_b`` through ``depth`` layers of ``width`` neurons, for each seed; inputs with
    variances ``q0`` (panel A) and pairs with correlations ``c0`` (panel B).

    The job writes nothing: the caller saves the Dataset (:func:`neurodyn.save_run`) and draws
    its figure (:func:`neurodyn.plots.plot`), as ``neurodyn deep`` does.

    **Returns:** Dataset with ``q_sim`` (sim_sigma_w, seed, layer, input), ``q_theory``,
    ``c_sim`` (sim_sigma_w, seed, layer, pair), ``c_theory`` and the phase diagram variables.
    """
    from .provenance import provenance

    sw_grid = np.linspace(0.5, 4.5, 41) if sigma_w_grid is None else np.asarray(sigma_w_grid)
    sb_grid = np.linspace(0.0, 1.0, 21) if sigma_b_grid is None else np.asarray(sigma_b_grid)
    sim_sw = np.atleast_1d(np.asarray(sim_sigma_w, dtype=np.float64))
    _check_sigmas(sim_sw, sim_sigma_b)
    seed_list = [validation.seed("seeds", s.item()) for s in np.atleast_1d(seeds)]
    if not seed_list:
        raise ParameterError("seeds=[] is empty; at least one seed is required")
    depth = validation.positive_int("depth", depth)
    width = validation.positive_int("width", width)
    diagram = phase_diagram(sw_grid, sb_grid, phi)
    inputs, cov0 = make_inputs(q0, c0, width, seed=seed_list[0])
    n_q, n_c = len(np.atleast_1d(q0)), len(np.atleast_1d(c0))
    pair_index = [(n_q + 2 * k, n_q + 2 * k + 1) for k in range(n_c)]

    def summarise(grams):
        q = np.diagonal(grams, axis1=-2, axis2=-1)[..., :n_q]
        c = np.stack([grams[..., a, b] / np.sqrt(grams[..., a, a] * grams[..., b, b])
                      for a, b in pair_index], axis=-1)
        return q, c

    q_sim = np.empty((len(sim_sw), len(seed_list), depth + 1, n_q))
    c_sim = np.empty((len(sim_sw), len(seed_list), depth + 1, n_c))
    q_th = np.empty((len(sim_sw), depth + 1, n_q))
    c_th = np.empty((len(sim_sw), depth + 1, n_c))
    for i, sw in enumerate(sim_sw):
        q_th[i], c_th[i] = summarise(covariance_iterates(cov0, sw, sim_sigma_b, depth, phi))
        for j, s in enumerate(seed_list):
            q_sim[i, j], c_sim[i, j] = summarise(
                simulate_deep(inputs, sw, sim_sigma_b, depth, phi, seed=s))
    layer_attrs = {"long_name": "layer index l (0 = input)", "units": "layers"}
    ds = diagram.assign(
        q_sim=(("sim_sigma_w", "seed", "layer", "input"), q_sim,
               {"long_name": "empirical q^l = mean_i h_i^2", "units": "h^2"}),
        q_theory=(("sim_sigma_w", "layer", "input"), q_th,
                  {"long_name": "length-map iterates q^l", "units": "h^2"}),
        c_sim=(("sim_sigma_w", "seed", "layer", "pair"), c_sim,
               {"long_name": "empirical correlation c^l of an input pair"}),
        c_theory=(("sim_sigma_w", "layer", "pair"), c_th,
                  {"long_name": "covariance-map iterates c^l"}),
    ).assign_coords(
        sim_sigma_w=("sim_sigma_w", sim_sw, {"long_name": "sigma_w of the simulated networks"}),
        seed=("seed", np.asarray(seed_list, dtype=np.int64)),
        layer=("layer", np.arange(depth + 1), layer_attrs),
        input=("input", np.asarray(q0, dtype=np.float64).reshape(-1),
               {"long_name": "input variance q^0", "units": "h^2"}),
        pair=("pair", np.asarray(c0, dtype=np.float64).reshape(-1),
              {"long_name": "input-pair correlation c^0"}),
    )
    ds.attrs = {
        "kind": "deep", "phi": _nonlinearity(phi).name, "width": width, "depth": depth,
        "sim_sigma_b": float(sim_sigma_b), "seeds": seed_list,
        "sigma_w_grid": [float(x) for x in sw_grid], "sigma_b_grid": [float(x) for x in sb_grid],
        "references": "Poole et al. 2016 (NeurIPS) eqs. 3-7; Schoenholz et al. 2017 (ICLR)",
        "provenance": provenance(),
    }
    return ds
