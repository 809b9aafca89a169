"""Stationary dynamic mean-field theory (DMFT) of SCS networks: Δ0, Δ(τ), static mean, λ_max.

Model (h units, gain inside φ): ``dh_i/dt = −h_i + Σ_j J_ij φ(g h_j) + θ_i + σ ξ_i(t)`` with
``J_ij ~ N(J_mean/N, 1/N)``, ``θ_i ~ N(theta_mean, theta_std²)``, white noise ξ. In the large-N
limit each h_i is Gaussian with mean ``M`` and the connected autocorrelation
``Δ(τ) = ⟨δh(t) δh(t+τ)⟩`` (δh = h − M) obeys (Sompolinsky, Crisanti & Sommers 1988, eq. 5;
Crisanti & Sompolinsky 2018, sec. IV)::

    M      = theta_mean + J_mean ⟨φ(x)⟩
    Δ''(τ) = Δ(τ) − C_φ(Δ(τ)) − theta_std² − σ² δ(τ)
    C_φ(Δ) = ⟨φ(x1) φ(x2)⟩,  x_a = g h_a,  mean g M, Var x_a = g² Δ0, Cov(x1, x2) = g² Δ

This is a particle in the potential ``V(Δ) = −Δ²/2 + theta_std² Δ + ⟨Φ(x1)Φ(x2)⟩/g²`` (Φ = ∫φ,
Price's theorem gives dV/dΔ = −Δ + theta_std² + C_φ). A bounded solution starts at Δ0 with
velocity Δ'(0⁺) = −σ²/2 (the noise kink) and creeps onto the hill top Δ∞ (V'(Δ∞) = 0, the static
quenched variance), so energy conservation fixes Δ0::

    V(Δ0) + σ⁴/8 = V(Δ∞)        (θ = J_mean = σ = 0: Δ0²/2 = [⟨Φ²⟩ − ⟨Φ⟩²]/g²)

Method. (0) Gaussian averages by the resolved rules of :func:`_resolved_pair`: the nested
integrals are cut where φ changes (|x| ≤ L, L from φ itself by :func:`transition_half_width`:
20 for tanh, 7 for erf) and where the inner average
changes, so the transition of φ gets its own Gauss–Legendre panels however wide the Gaussian is
(s = g√Δ0 ~ g). The general rule of :mod:`neurodyn.gaussian` spaces its nodes ~0.01 s near
x = 0 and misses φ′ at large g: g²⟨φ′φ′⟩ came out 2 % low at g = 50 and 0 at g ≥ 10⁴, hence
λ_max = −0.37 at g = 500 and −1 at g = 10⁴ before (measured against scipy). (1) For trial Δ0
the mean M is found by bisection and Δ∞ by Newton from below (C_φ is convex in Δ ≥ 0 by
Mehler's expansion, so Newton from the left is monotone). The energy mismatch is scanned on a
log grid of Δ0 (a first pass with the general rules, verified with the resolved ones on the
bracket, widened by a cell if needed, else a resolved scan) and its sign change refined by
the ITP method (bracketed: bisection's worst case, regula falsi's speed) on ln Δ0 to relative
6e-16. Without a sign change (σ = 0, below the transition) the
solution is static: Δ ≡ Δ0 = Δ∞ from the fixed point Δ0 = ⟨φ²⟩ + theta_std² continued from
g = 0. All of step (1) and the tables of step (2) are one compiled computation per φ
(:func:`_core`; the scan, its check and the bisection are phases of one ``lax.while_loop``),
so the host dispatches it once. (2) Δ(τ) is integrated from τ = 0 with RK4 on the Newton equation only while
Δ − Δ∞ > (Δ0 − Δ∞)/2 (a short stretch, so the separatrix instability e^{κτ} cannot grow);
after that the energy integral is used in the form ``d ln(Δ − Δ∞)/dτ = −ρ``,
``ρ² = 2 ∫₀¹ (1 − t)(1 − g²⟨φ′φ′⟩(Δ∞ + u t)) dt``, which is contracting and free of
cancellation down to any Δ − Δ∞ (see REFERENCES: integrating the Newton equation forward is
unstable). Near Δ0, C_φ(Δ0) − C_φ(Δ) ∝ √(Δ0 − Δ) down to Δ0 − Δ ~ 1/g² and g²⟨φ′φ′⟩ has a peak
of height ~g and width ~1/g² (φ → sign: (2/π)/√(Δ0² − Δ²)); both are tabulated against
ln(Δ0 − Δ) (Chebyshev), where they are smooth for every g; the tail's g²⟨φ′φ′⟩ against Δ on
[Δ∞, Δ∞ + ¾(Δ0 − Δ∞)]. (3) λ_max = −1 + √(1 − E0) with E0 the ground state of
``H = −∂τ² + 1 − g²⟨φ′(x1)φ′(x2)⟩(τ)`` (Crisanti & Sompolinsky 2018, eqs. 76–79) by linear
finite elements (:func:`ground_state`). At large g the potential is a well of depth ~g and
width w ~ 1/g at τ = 0 (a 1-d Coulomb well cut off at 1/g, so E0 ~ −(ln g)² and λ_max grows
like ln g), which a uniform grid cannot resolve; everything is therefore computed on an internal
graded grid τ = w sinh(b s) (s uniform on [0, 1], ``grid_points`` lags) reaching 36 decay
lengths of Δ − Δ∞. Below the transition λ_max = g√⟨φ′²⟩ − 1 (g − 1 for θ = 0).

Checks (:func:`_internal_solution`; each failed one refines the grid — 2× points or 4× length,
up to 3 times — or raises ConvergenceError saying which setting to change): E0 on the grid and
on its every-other and every-fourth point subgrids (Richardson: the λ_max error estimate must be
≤ 1e-3 |λ_max|), Δ(τ) on the grid and its half (≤ 1e-6 of Δ0 − Δ∞), Δ − Δ∞ at the grid's end
(≤ 1e-12 of Δ0 − Δ∞) and the ground state there (≤ 1e-6 of its maximum, unless the well is so
shallow that the box energy is within tolerance), the g²⟨φ′φ′⟩ table against direct averages at
8 lags (≤ 1e-7). A chaotic solution (σ = 0) with λ_max ≤ 0 is a contradiction and raises. The
returned ``delta`` is the internal solution interpolated (quintic Hermite with Δ′ and Δ″) onto
k·dtau ≤ tau_max, so tau_max and dtau change no number: a short tau_max only shows less of the
decay (attribute ``tail_fraction``), a coarse dtau samples it more sparsely.

What the solver needs from φ are capabilities of its :class:`~neurodyn.nonlinearity.Nonlinearity`,
not its name. A bounded φ: the mean is bracketed by |J_mean|·sup|φ|, Var h by sup φ² + θs² +
σ²/2, the quadrature is cut where φ saturates (its transition half-width, computed from φ) and
φ′(0) gives the critical gain 1/φ′(0) of the unbiased network. Any bounded φ runs, one defined
by a user included.

An unbounded φ runs if it is affine outside a bounded window (threshold-linear: relu, a shifted
relu; :func:`transition` finds the window and the kink c where its affine pieces meet, and
every rule makes c a panel boundary, so the averages are exact to round-off). The mean is
bracketed by widening (a mean rate that runs away, J_mean g⟨φ′⟩ ≥ 1, has none), Δ0 is scanned
over 20 decades about the scale s0 = θm² + θs² + σ²/2 + (c/g)² of the inputs and the kink,
and the stability of h ≡ 0 (relu without bias) is judged at Δ0 → 0⁺. The regimes:

- static: the fixed point Δ0 = ⟨φ²⟩ + θs² exists and g²⟨φ′²⟩ < 1. relu without bias is
  positively homogeneous (the equations are invariant under Δ → λΔ, so no amplitude is fixed):
  h ≡ 0 for g < √2, where the variance map g²Δ0/2 contracts. With J_mean = 0 the static map
  Δ0 ↦ g²⟨relu(h)²⟩ + θs² is concave in Δ0 and its slope is g²⟨φ′²⟩ (Price), so its root is
  stable wherever it exists, up to g = √2: no chaos.
- chaotic: a root of the energy condition with Δ0 > Δ∞. For relu with θs = 0 the static
  conditions in a = M/√Δ0 read g²⟨relu(a + z)²⟩ = 1 and, for stability, g²Φ(a) < 1; their
  difference is g²a(aΦ(a) + ϕ(a)), so the static solution is stable iff M > 0 and g_c = √2
  (a = 0) whatever J_mean and θm. Beyond it the static solution exists only with a mean rate
  that pulls M below threshold, e.g. inhibition J_mean < 0 with θm > 0 (cf. Kadmon &
  Sompolinsky, PRX 5, 041030 (2015) for threshold-linear units): relu, J_mean = −1, θm = 1 is
  chaotic from √2 to between g = 2 (Δ0 = 195) and 2.5 (no bounded solution).
- no bounded solution: no root of the energy condition, and the static solution either does
  not exist (its iteration runs away) or is unstable (σ = 0), or the mean has no root. Above
  ~1e12 s0 the equations are those of the homogeneous φ, so the scan's largest Δ0 shows whether
  the variance keeps asking to grow: the solver raises DivergenceError at once, naming g, φ and
  the conditions that fail (relu, θ = 0, g = 1.6: "the static solution is unstable: g²⟨φ′²⟩ =
  1.28 ≥ 1"), instead of returning numbers.

g = 0 (no recurrent drive) is solved in closed form: C_φ ≡ φ(0)², so M = θm + J_mean φ(0),
Δ∞ = φ(0)² + θs², Δ(τ) = Δ∞ + (σ²/2) e^{−τ}, λ_max = −1 (E0 = 1), τ_corr = 1 with noise.
"""

from __future__ import annotations

import functools
import inspect
import math
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import gaussian, model_parameters, nonlinearity, validation
from ..errors import ConvergenceError, DivergenceError, ParameterError
from ..mean_field import MeanFieldModel
from ..provenance import provenance
from ._executables import call as _call

if TYPE_CHECKING:
    import xarray as xr

_SCAN_POINTS = 96  # log-spaced trial Δ0 values for the sign scan of the energy mismatch
_BISECTIONS = 50  # halvings of the unbounded static root's cell (ratio 1.27⁴ = 2.6): 1e-15
_NEWTON = 30  # Newton steps for Δ∞ (monotone from below, quadratic at the end)
_CHEB = 48  # Chebyshev-Lobatto nodes of the tail's g²⟨φ′φ′⟩ table
_HEAD_CHEB = 128  # Chebyshev-Lobatto nodes in ln(Δ0 − Δ) of the C_φ and g²⟨φ′φ′⟩ tables
_LEGENDRE = 16  # Gauss–Legendre nodes for the tail energy integral ρ²
_STATIC_ITER = 600  # fixed-point sweeps for the static solution (contraction ≤ 0.95 checked)
_MIN_ROOT = 1e-8  # relative to the upper bound: smaller roots are round-off at g = g_c
_SATURATION_RTOL = 2e-17  # φ within this × sup|φ| of its limits outside the transition
_SATURATION_STEP, _SATURATION_MAX = 1.0 / 16.0, 4096.0  # the scan of transition_half_width
_PANELS, _PANEL_ORDER = 8, 24  # f's transition: 8 panels of 24 nodes (see _resolved_rule)
# (panels, nodes) on the five segments of a pair average's outer integral: tail, inner
# average's transition, f's transition, inner average's transition, tail
_OUTER_SEGMENTS = ((2, 16), (4, 16), (8, 24), (4, 16), (2, 16))
_KINK_SEGMENT = (4, 16)  # unbounded φ: each of the six sorted segments (the same 384 nodes)
_TAIL_TABLE = 0.75  # the g²⟨φ′φ′⟩ table covers [Δ∞, Δ∞ + ¾(Δ0 − Δ∞)] (tail starts below ½)
_CHUNK = 512  # lag steps per compiled march call: any grid length reuses one compilation
GRID_POINTS = 2049
"""Default number of lags of the internal graded grid (4k + 1, so halving twice is exact)."""
_MAX_REFINEMENTS = 3  # grid doublings / domain extensions before giving up
_DECAY_LENGTHS = 36.0  # the internal grid spans 36 decay lengths 1/κ of Δ − Δ∞ (e^{−36} = 2e-16)
_MAX_TAU_END = 1e7
_LAMBDA_RTOL, _LAMBDA_ATOL = 1e-3, 1e-9  # estimated λ error allowed (10× inside the 1 % promise)
_TABLE_CHECKS, _TABLE_RTOL = 8, 1e-7  # potential table vs direct pair averages (E0 moves ≤ 1e-7|U|)
_PATH_RTOL = 1e-6  # allowed difference of Δ on the grid and its half, relative to Δ0 − Δ∞


_AFFINE_RTOL = 1e-12  # second differences of an affine φ are round-off: ≤ 4 eps of |φ| values
_UNBOUNDED_DECADES = (-8.0, 12.0)  # scan of Δ0 for unbounded φ, relative to the input scale s0
_MEAN_EXPANSIONS = 40  # bracket widenings (×4) of the mean for unbounded φ: up to 4^40 ≈ 1e24
_MEAN_BISECTIONS = 200  # enough to bisect the widest of those brackets to 1e-15


@functools.cache  # one scan per φ (a Nonlinearity is hashable)
def transition(phi: nonlinearity.Nonlinearity) -> tuple[float | None, float]:
    """Where φ is not simple, as (centre, half-width L): the quadrature's window [c − L, c + L].

    Bounded φ: (None, :func:`transition_half_width`), the window [−L, L] outside which φ is
    constant (centre None: the rules of the bounded solver, unchanged). Unbounded φ: outside the
    window φ must be affine. Its second differences on a 1/16 grid over |x| ≤ 4096 are
    compared with _AFFINE_RTOL × the sum of the |φ| values involved; the points where they are
    larger are φ's non-affine part [x_lo, x_hi]. The centre c is where the affine pieces on
    either side of it meet (threshold-linear φ: exactly its kink — relu: 0, relu(x − a): a,
    whose line x − a is met to round-off), clipped onto [x_lo − 1/16, x_hi + 1/16]; the midpoint
    if both pieces have the same slope. L is the smallest half-width about c containing that
    interval. The rules put a panel boundary at c, so a single kink is integrated exactly (two
    kinks are not: their error is algebraic in the node count). Raises ParameterError if φ is
    not affine beyond |x| ≤ 4096 (x³, |x|x: the quadrature cannot cut it off).
    """
    if phi.bounded:
        return None, transition_half_width(phi)
    h = _SATURATION_STEP
    x = np.arange(-_SATURATION_MAX, _SATURATION_MAX + h / 2, h)
    with jax.ensure_compile_time_eval():
        values = np.asarray(phi.phi(jnp.asarray(x, dtype=jnp.float64)))
    d2 = values[2:] - 2.0 * values[1:-1] + values[:-2]
    size = np.abs(values[2:]) + 2.0 * np.abs(values[1:-1]) + np.abs(values[:-2])
    bent = ~(np.abs(d2) <= _AFFINE_RTOL * size)  # NaN counts as not affine
    if bent[0] or bent[-1]:
        raise ParameterError(
            f"phi={phi.name!r} is unbounded and not affine for |x| near {_SATURATION_MAX:g}; the "
            "stationary DMFT takes an unbounded phi only if it is affine outside a bounded "
            "window (threshold-linear, relu)")
    where = np.nonzero(bent)[0] + 1  # indices into x
    if where.size == 0:  # affine everywhere
        return 0.0, 1.0
    lo, hi = int(where[0]), int(where[-1])
    slope_lo = (values[lo - 1] - values[lo - 2]) / h
    slope_hi = (values[hi + 2] - values[hi + 1]) / h
    left, right = x[lo - 1], x[hi + 1]
    if abs(slope_hi - slope_lo) > _AFFINE_RTOL * (abs(slope_lo) + abs(slope_hi)):
        centre = left + (values[hi + 1] - values[lo - 1] - slope_hi * (right - left)) / (
            slope_lo - slope_hi)
        centre = float(np.clip(centre, left, right))
    else:
        centre = float(0.5 * (left + right))
    return centre, float(max(centre - left, right - centre, h))


@functools.cache  # one scan per φ (a Nonlinearity is hashable)
def transition_half_width(phi: nonlinearity.Nonlinearity) -> float:
    """Half-width L of φ's transition: the smallest integer L with |φ(±x) − φ(±∞)| ≤ 2e-17 ·
    sup|φ| for every |x| ≥ L (φ(±∞) taken at ±4·4096; scanned on a 1/16 grid up to 4096).

    Outside [−L, L] φ is constant to below float64 resolution (so are Φ up to its linear part,
    and φ′ ≈ 0): the resolved quadrature puts its panels on [−L, L]. The rule gives 20 for tanh
    (1 − tanh x ≈ 2e^{−2x}) and 7 for erf (erfc(√π x/2)), the half-widths the solver used when
    they were a table, so the numbers are unchanged. Raises ParameterError if φ does not
    saturate within |x| ≤ 4096 (its transition cannot be cut off). An unbounded φ has no
    saturation: its half-width is that of its non-affine window (:func:`transition`).
    """
    if not phi.bounded:
        return transition(phi)[1]
    x = np.arange(1, int(_SATURATION_MAX / _SATURATION_STEP) + 1) * _SATURATION_STEP
    far = 4.0 * _SATURATION_MAX
    with jax.ensure_compile_time_eval():  # concrete even when first asked for inside a trace
        values = np.asarray(phi.phi(jnp.asarray(np.concatenate([x, -x, [far, -far]]),
                                                dtype=jnp.float64)))
    n = x.size
    off = np.maximum(np.abs(values[:n] - values[-2]), np.abs(values[n:2 * n] - values[-1]))
    off = ~(off <= _SATURATION_RTOL * phi.bound)  # NaN counts as not saturated
    if off[-1]:
        raise ParameterError(
            f"phi={phi.name!r} does not reach its limits (to {_SATURATION_RTOL:g} of its bound "
            f"{phi.bound:g}) within |x| <= {_SATURATION_MAX:g}; the stationary DMFT cuts its "
            "quadrature where phi saturates")
    last = np.nonzero(off)[0]
    return float(math.floor(x[last[-1]]) + 1) if last.size else 1.0


class _Model:
    """Gaussian averages of the theory for one φ (pure functions of traced scalars), by the
    resolved rules of :func:`_resolved_expect` / :func:`_resolved_pair`.

    For an unbounded φ the window of :func:`transition` has a centre (φ's kink), which the
    rules make a panel boundary, and φ′ does not vanish outside it (the outer segments stay in
    its averages); the general rules are shifted so that their split is at the centre.
    """

    def __init__(self, phi: nonlinearity.PhiLike, pair_order: int, general: bool = False):
        self.nl = nonlinearity.get(phi)
        self.centre, self.support = transition(self.nl)
        self.order = pair_order
        self.general = general  # the cheap rules of neurodyn.gaussian (the scan's first pass)
        self.dphi_outer = self.centre is not None  # φ′ outside the window: 0 only if bounded

    def _shifted(self, f):
        """f(x + c) and the shift c: neurodyn.gaussian splits at 0, φ's kink is at c."""
        if self.centre is None:
            return f, 0.0
        c = self.centre
        return (lambda x: f(x + c)), c

    def _expect(self, f, g, M, d0, outer=True):
        if self.general:
            f, c = self._shifted(f)
            return gaussian.expect(f, g * g * d0, g * M - c)
        return _resolved_expect(f, self.support, g * g * d0, g * M, self.order, outer,
                                self.centre)

    def mean_rate(self, g, M, d0):
        return self._expect(self.nl.phi, g, M, d0)

    def second_moment(self, g, M, d0):
        return self._expect(lambda x: self.nl.phi(x) ** 2, g, M, d0)

    def dphi_square(self, g, M, d0):
        return self._expect(lambda x: self.nl.dphi(x) ** 2, g, M, d0, outer=self.dphi_outer)

    def _pair(self, f, g, M, d0, delta, outer=True):
        if self.general:
            v = g * g * d0
            f, c = self._shifted(f)
            return gaussian.expect_pair(f, f, v, v, g * g * delta, g * M - c, g * M - c,
                                        order=self.order)
        return _resolved_pair(f, self.support, g * g * d0, g * g * delta, g * M, self.order,
                              outer, self.centre)

    def C(self, g, M, d0, delta):
        return self._pair(self.nl.phi, g, M, d0, delta)

    def Dprime(self, g, M, d0, delta):
        """g²⟨φ′(x1)φ′(x2)⟩ = dC_φ/dΔ (φ′ vanishes outside a bounded φ's transition: no outer
        segments; an unbounded φ keeps them)."""
        return g * g * self._pair(self.nl.dphi, g, M, d0, delta, outer=self.dphi_outer)

    def V(self, g, M, d0, delta, theta_std):
        W = self._pair(self.nl.antiderivative, g, M, d0, delta) / (g * g)
        return -0.5 * delta**2 + theta_std**2 * delta + W

    def C_equal(self, g, M, d0):
        """C_φ(Δ0) = ⟨φ²⟩: x1 = x2, a one-dimensional average."""
        return self.second_moment(g, M, d0)

    def V_equal(self, g, M, d0, theta_std):
        """V(Δ0), with ⟨Φ(x)²⟩ one-dimensional."""
        W = self._expect(lambda x: self.nl.antiderivative(x) ** 2, g, M, d0) / (g * g)
        return -0.5 * d0**2 + theta_std**2 * d0 + W


def _legendre_on(lo, hi, n, panels=1):
    """Composite Gauss–Legendre nodes z and weights w·N(z; 0, 1) on [lo, hi] (shape S → S+(n·p,))."""
    t, w = np.polynomial.legendre.leggauss(n)
    width = (hi - lo) / panels
    left = lo[..., None] + width[..., None] * np.arange(panels)
    z = left[..., None] + width[..., None, None] * (0.5 * (t + 1.0))
    weight = width[..., None, None] * (0.5 * w) * jnp.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    shape = z.shape[:-2] + (panels * n,)
    return z.reshape(shape), weight.reshape(shape)


def _resolved_rule(mean, std, support, outer_order, outer, centre=None):
    """Nodes z, weights for ⟨f(mean + std·z)⟩ where f changes only on |x| ≤ ``support``.

    [−10, 10] (in standard deviations) is cut at the z where x = ±support: the middle segment
    gets _PANELS × _PANEL_ORDER Gauss–Legendre nodes, whatever the standard deviation, and the
    two outer segments (where f is smooth: constant, linear or ≈ 0) ``outer_order`` each, or
    none when ``outer`` is False (f ≈ 0 there). Small std: the middle segment is all of
    [−10, 10]; large std: it is f's transition, resolved however wide the Gaussian is. In
    either case a panel is 2·support/_PANELS wide in x or less, against poles of tanh at π/2
    from the real axis: error ~(1.8)^{−2·_PANEL_ORDER} ≈ 1e-12 (measured against scipy).

    With a ``centre`` c (an unbounded φ, :func:`transition`) the window is [c − support,
    c + support] and its two halves get _PANELS/2 panels each, so the z of x = c (φ's kink) is
    a panel boundary even where the window is clipped on one side; on either side of it f is a
    polynomial (φ, φ², Φ, Φ² of a threshold-linear φ) or smooth, integrated to round-off.
    """
    tiny = jnp.finfo(jnp.float64).tiny
    cut = gaussian.TAIL_CUTOFF
    safe = jnp.maximum(std, tiny)
    if centre is None:
        lo = jnp.clip((-support - mean) / safe, -cut, cut)
        hi = jnp.clip((support - mean) / safe, -cut, cut)
        z, w = _legendre_on(lo, hi, _PANEL_ORDER, _PANELS)
    else:
        lo = jnp.clip((centre - support - mean) / safe, -cut, cut)
        kink = jnp.clip((centre - mean) / safe, -cut, cut)
        hi = jnp.clip((centre + support - mean) / safe, -cut, cut)
        z_a, w_a = _legendre_on(lo, kink, _PANEL_ORDER, _PANELS // 2)
        z_b, w_b = _legendre_on(kink, hi, _PANEL_ORDER, _PANELS // 2)
        z, w = jnp.concatenate([z_a, z_b], axis=-1), jnp.concatenate([w_a, w_b], axis=-1)
    if outer:
        z_lo, w_lo = _legendre_on(jnp.full_like(lo, -cut), lo, outer_order)
        z_hi, w_hi = _legendre_on(hi, jnp.full_like(hi, cut), outer_order)
        z = jnp.concatenate([z_lo, z, z_hi], axis=-1)
        w = jnp.concatenate([w_lo, w, w_hi], axis=-1)
    return z, w


def _resolved_expect(f, support, var, mean, order, outer=True, centre=None):
    """``⟨f(x)⟩``, x ~ N(mean, var), by :func:`_resolved_rule` (shapes broadcast)."""
    var, mean = jnp.broadcast_arrays(jnp.asarray(var), jnp.asarray(mean))
    std = jnp.sqrt(jnp.maximum(var, 0.0))
    z, w = _resolved_rule(mean, std, support, order, outer, centre)
    return jnp.sum(w * f(mean[..., None] + std[..., None] * z), axis=-1)


def _resolved_pair(f, support, var, cov, mean, order, outer=True, centre=None):
    """``⟨f(x1) f(x2)⟩`` for x1, x2 of equal mean and variance and covariance ``cov``.

    Conditional decomposition x2 | x1 ~ N(m2, s_c²), m2 = mean + (cov/s) z1, s_c² = var −
    cov²/var; the inner integral by :func:`_resolved_rule`. The outer integrand
    f(x1)·⟨f(x2)|z1⟩ has two nested features: f's transition, |x1| ≤ support (z1 within a = support/s of
    c1 = −mean/s), and the inner average's, |m2| ≤ support + 10 s_c (within A of c2 =
    −mean·s/cov). [−10, 10] is cut at c2 − A, c1 − a, c1 + a, c2 + A (clipped, made
    non-decreasing) into five segments with _OUTER_SEGMENTS (panels, nodes) each: the most on
    f's transition, which is what the general rule of :mod:`neurodyn.gaussian` misses at large
    s = g√Δ0 (its nodes are ~0.01 s apart near x = 0 — measured: g²⟨φ′φ′⟩ 2 % low at g = 50
    and 0 at g = 10⁴, C_φ(Δ0) at its sign-function limit, off by O(1/g)).

    With a ``centre`` c (an unbounded φ): everything is measured from c (c1 = (c − mean)/s,
    c2 = (c − mean)·s/cov) and c1 itself is a break, so f's kink is a panel boundary; the
    breaks are sorted (not made non-decreasing, which could move c1) and each of the six
    segments gets _KINK_SEGMENT (panels, nodes): panels at most 20/4 = 5 standard deviations
    wide, on which 16 Gauss–Legendre nodes integrate a polynomial times the Gaussian to ~1e-14.
    """
    var, cov, mean = jnp.broadcast_arrays(*map(jnp.asarray, (var, cov, mean)))
    tiny = jnp.finfo(jnp.float64).tiny
    cut = gaussian.TAIL_CUTOFF
    std = jnp.sqrt(jnp.maximum(var, tiny))
    slope = cov / std
    cond_std = jnp.sqrt(jnp.maximum(var - slope**2, 0.0))
    # |slope| ≥ 1e-6 s: below, the inner average varies on ≫ 10 standard deviations of z1
    safe_slope = jnp.where(slope < 0, -1.0, 1.0) * jnp.maximum(jnp.abs(slope), 1e-6 * std)
    offset = -mean if centre is None else centre - mean
    a, c1 = support / std, offset / std
    A, c2 = (support + cut * cond_std) / jnp.abs(safe_slope), offset / safe_slope
    ends = (jnp.full_like(std, -cut), jnp.full_like(std, cut))
    if centre is None:
        breaks = jnp.stack([ends[0], c2 - A, c1 - a, c1 + a, c2 + A, ends[1]], axis=-1)
        breaks = jax.lax.cummax(jnp.clip(breaks, -cut, cut), axis=breaks.ndim - 1)
        segments = _OUTER_SEGMENTS
    else:
        breaks = jnp.stack([ends[0], c2 - A, c1 - a, c1, c1 + a, c2 + A, ends[1]], axis=-1)
        breaks = jnp.sort(jnp.clip(breaks, -cut, cut), axis=-1)
        segments = (_KINK_SEGMENT,) * 6
    pieces = [_legendre_on(breaks[..., k], breaks[..., k + 1], n, panels)
              for k, (panels, n) in enumerate(segments)]
    z1 = jnp.concatenate([z for z, _ in pieces], axis=-1)
    w1 = jnp.concatenate([w for _, w in pieces], axis=-1)
    cond_mean = mean[..., None] + slope[..., None] * z1
    cs = jnp.broadcast_to(cond_std[..., None], cond_mean.shape)
    z2, w2 = _resolved_rule(cond_mean, cs, support, order, outer, centre)
    inner = jnp.sum(w2 * f(cond_mean[..., None] + cs[..., None] * z2), axis=-1)
    return jnp.sum(w1 * f(mean[..., None] + std[..., None] * z1) * inner, axis=-1)


def _solve_mean(model, g, d0, J_mean, theta_mean):
    """M = theta_mean + J_mean⟨φ⟩ by bisection on [θm − |J| b, θm + |J| b] (|φ| ≤ b = sup|φ|).

    Unbounded φ (no b): the bracket [θm − w, θm + w] is widened 4× from w = |J|(1 + |⟨φ⟩|) at
    M = θm until F(M) = M − θm − J⟨φ⟩ changes sign across it (at most _MEAN_EXPANSIONS times).
    Without a sign change the mean rate runs away (J_mean g ⟨φ′⟩ ≥ 1: each rise of M raises
    the recurrent input by more) and NaN is returned, which the caller reports as "no bounded
    solution".
    """
    def F(M):
        return M - theta_mean - J_mean * model.mean_rate(g, M, d0)

    if model.nl.bounded:
        half = jnp.abs(J_mean) * model.nl.bound + 1e-300
        lo, hi, limit = theta_mean - half, theta_mean + half, 80
    else:
        start = jnp.abs(J_mean) * (1.0 + jnp.abs(model.mean_rate(g, theta_mean, d0))) + 1e-300

        def widen(state):
            k, half = state
            return k + 1, 4.0 * half

        def unbracketed(state):
            k, half = state
            return (k < _MEAN_EXPANSIONS) & ~((F(theta_mean - half) <= 0)
                                              & (F(theta_mean + half) >= 0))

        _, half = jax.lax.while_loop(unbracketed, widen, (0, start))
        found = (F(theta_mean - half) <= 0) & (F(theta_mean + half) >= 0)
        lo, hi, limit = theta_mean - half, theta_mean + half, _MEAN_BISECTIONS

    def body(state):
        k, lo, hi = state
        mid = 0.5 * (lo + hi)
        F_mid = F(mid)
        return k + 1, jnp.where(F_mid > 0, lo, mid), jnp.where(F_mid > 0, mid, hi)

    def running(state):  # J_mean = 0 starts converged (M = theta_mean)
        k, lo, hi = state
        return (k < limit) & (hi - lo > 1e-15 * (1.0 + jnp.abs(lo)))

    _, lo, hi = jax.lax.while_loop(running, body, (0, lo, hi))
    if model.nl.bounded:
        return 0.5 * (lo + hi)
    return jnp.where(found, 0.5 * (lo + hi), jnp.nan)


def _solve_floor(model, g, M, d0, theta_std):
    """Smallest root Δ∞ ∈ [0, Δ0] of f(Δ) = Δ − C_φ(Δ) − θs² (Newton from 0, monotone).

    Each step evaluates f and f′ once (one compiled copy of the pair averages); the loop stops
    when the step is at round-off, so the f of the last step is f at the returned Δ∞ (θ = 0,
    M = 0: f(0) = 0 and one evaluation)."""

    def body(state):
        k, delta, *_ = state
        f = delta - model.C(g, M, d0, delta) - theta_std**2
        slope = 1.0 - model.Dprime(g, M, d0, delta)
        step = jnp.where(slope > 0, -f / jnp.where(slope > 0, slope, 1.0), 0.0)
        new = jnp.clip(delta + step, 0.0, d0)
        return k + 1, new, f, jnp.abs(new - delta)

    def running(state):
        k, _, _, change = state
        return (k < _NEWTON) & (change > 1e-15 * (d0 + theta_std**2))

    one = jnp.ones_like(d0)
    _, delta, f, _ = jax.lax.while_loop(running, body, (0, jnp.zeros_like(d0), one, one))
    return delta, f


def _mismatch(model, g, d0, J_mean, theta_mean, theta_std, noise):
    """Energy mismatch V(Δ0) + σ⁴/8 − V(Δ∞) (> 0: Δ0 too small), with M and Δ∞ for this Δ0."""
    M = _solve_mean(model, g, d0, J_mean, theta_mean)
    floor, f_floor = _solve_floor(model, g, M, d0, theta_std)
    E = (model.V_equal(g, M, d0, theta_std) + noise**4 / 8.0
         - model.V(g, M, d0, floor, theta_std))
    # No hill below Δ0 (Newton could not reach f = 0): the particle would fall through, which
    # happens only for Δ0 below the physical root, i.e. "Δ0 too small".
    scale = d0 + theta_std**2 + 1e-300
    E = jnp.where(jnp.abs(f_floor) > 1e-9 * scale, jnp.abs(E) + 1e-300, E)
    return E, M, floor


def _unbounded_grid(g, theta_mean, theta_std, noise, centre):
    """Trial Δ0 for an unbounded φ: 20 decades about the scale s0 = θm² + θs² + σ²/2 + (c/g)²
    of the inputs and of φ's kink c (h units), with the bounded scan's cell ratio 1.27."""
    scale = theta_mean**2 + theta_std**2 + noise**2 / 2.0 + (centre / g) ** 2
    scale = jnp.where(scale > 0, scale, 1.0)  # θ = σ = 0, kink at 0: homogeneous
    decades = _UNBOUNDED_DECADES[1] - _UNBOUNDED_DECADES[0]
    points = int(decades / 10 * (_SCAN_POINTS - 1)) + 1
    return scale * np.logspace(*_UNBOUNDED_DECADES, points), scale


def _static_unbounded(model, g, J_mean, theta_mean, theta_std):
    """Static solution for an unbounded φ: the smallest root of r(Δ0) = Δ0 − ⟨φ²⟩ − θs² with M
    solved at each Δ0 (no fixed-point sweeps: with a mean feedback J_mean < 0 they converge
    slowly or not at all near g_c; measured: residual 9e-5 at g = 1.40 and a collapse to 0 at
    1.41 for relu, J_mean = −1, θm = 1). r ≤ 0 at Δ0 → 0 (r(0) = −⟨φ²⟩ − θs²); its first rise
    above 0 on a 48-point log grid (general rules, vmapped) is bisected on ln Δ0 with the resolved
    rules. r(0) = 0 (h ≡ M, no rate and no spread: relu without bias) gives Δ0 = 0; no rise at
    all (the static map outgrows Δ0) gives NaN: no static solution."""
    general = _Model(model.nl, model.order, general=True)
    # every 4th point of the energy scan's grid (cells of ratio 2.6, bisected to 1e-15 by
    # _BISECTIONS halvings): the static scan is vmapped over critical_gain_of's gains
    grid = _unbounded_grid(g, theta_mean, theta_std, 0.0, model.centre)[0][::4]

    def residual(rules, d0):
        M = _solve_mean(rules, g, d0, J_mean, theta_mean)
        return d0 - rules.second_moment(g, M, d0) - theta_std**2

    r = jax.vmap(lambda d: residual(general, d))(grid)
    rise = (r[:-1] <= 0) & (r[1:] > 0)
    index = jnp.argmax(rise)  # the first rise (0 if none)
    found = jnp.any(rise)
    at_zero = residual(model, jnp.zeros(()))  # = −⟨φ(gθm)²⟩ − θs² (Δ0 = 0 exactly)
    zero_root = at_zero >= 0

    def bisect(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        up = residual(model, jnp.exp(mid)) > 0
        return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

    lo, hi = jax.lax.fori_loop(0, _BISECTIONS, bisect,
                               (jnp.log(grid[index]), jnp.log(grid[index + 1])))
    d0 = jnp.where(zero_root, 0.0, jnp.where(found, jnp.exp(0.5 * (lo + hi)), jnp.nan))
    return _solve_mean(model, g, d0, J_mean, theta_mean), d0


def _static(model, g, J_mean, theta_mean, theta_std):
    """Static solution continued from g = 0: Δ0 = ⟨φ²⟩ + θs², M = θm + J_mean⟨φ⟩ (an
    unbounded φ: :func:`_static_unbounded`)."""
    if model.centre is not None:
        return _static_unbounded(model, g, J_mean, theta_mean, theta_std)

    def body(_, state):
        M, d0 = state
        return (theta_mean + J_mean * model.mean_rate(g, M, d0),
                model.second_moment(g, M, d0) + theta_std**2)

    M, d0 = jax.lax.fori_loop(0, _STATIC_ITER, body, (theta_mean, theta_std**2))

    # Newton polish (the sweeps converge slowly where the static map is nearly marginal).
    def polish(_, d0):
        # d0 = 0 (θ = 0 below g_c) is exact already, and √variance has no derivative there.
        safe = jnp.where(d0 > 0, d0, 1.0)
        M = _solve_mean(model, g, safe, J_mean, theta_mean)
        moment, slope = jax.value_and_grad(lambda d: model.second_moment(g, M, d))(safe)
        residual = safe - moment - theta_std**2
        return jnp.where(d0 > 0, jnp.maximum(safe - residual / (1.0 - slope), 0.0), d0)

    d0 = jax.lax.fori_loop(0, 8, polish, d0)
    return _solve_mean(model, g, d0, J_mean, theta_mean), d0


def _stability_variance(model, d0):
    """Δ0 at which g²⟨φ′²⟩ decides the static solution's stability. For a kinked (unbounded)
    φ at Δ0 = 0 (relu without bias: h ≡ 0) φ′ at the kink is ambiguous; a perturbation of any
    size sees both sides, so the limit Δ0 → 0⁺ is taken (relu: g²/2, the slope of the
    homogeneous variance map g²Δ0/2). A bounded φ uses Δ0 itself."""
    if model.centre is None:
        return d0
    return jnp.maximum(d0, 1e-200)


def _chebyshev(a, b, n):
    k = jnp.arange(n + 1)
    nodes = a + (b - a) * 0.5 * (1.0 - jnp.cos(jnp.pi * k / n))
    weights = jnp.where((k == 0) | (k == n), 0.5, 1.0) * (-1.0) ** k
    return nodes, weights


def _barycentric(x, nodes, weights, values):
    diff = x[..., None] - nodes
    exact = diff == 0
    safe = jnp.where(exact, 1.0, diff)
    ratio = weights / safe
    interp = jnp.sum(ratio * values, -1) / jnp.sum(ratio, -1)
    hit = jnp.sum(jnp.where(exact, values, 0.0), -1)
    return jnp.where(jnp.any(exact, -1), hit, interp)


def _root_cell(E, grid, smallest):
    """The physical root's scan cell: the largest i where the mismatch turns from E[i] > 0 to
    E[i + 1] ≤ 0 (Δ0 above ``smallest``). Returns (found, i), i = 0 if none."""
    change = (E[:-1] > 0) & (E[1:] <= 0) & (grid[1:] > smallest)
    index = jnp.max(jnp.where(change, jnp.arange(change.size), -1))
    return index >= 0, jnp.maximum(index, 0)


# phases of the root search in _energy_root (one while_loop, one compiled resolved mismatch)
_CELLS, _RESOLVED_SCAN, _BISECTION, _DONE = 0, 1, 2, 3


_ITP_EPS = 3e-16  # half the final bracket width in ln Δ0: Δ0 to relative 6e-16
_ITP_K1, _ITP_K2, _ITP_N0 = 0.2, 2.0, 1  # ITP's truncation constants and slack over bisection


def _itp_budget(width):
    """ITP's step count for a bracket of ``width`` (ln Δ0): bisection's ⌈log2(width/2ε)⌉ + n0,
    so it never takes more than one step beyond what bisection would."""
    halvings = jnp.ceil(jnp.log2(jnp.maximum(width, 2.0 * _ITP_EPS) / (2.0 * _ITP_EPS)))
    return halvings.astype(jnp.int32) + _ITP_N0


def _itp_point(lo, hi, E_lo, E_hi, step, budget):
    """The next trial of the ITP method (Oliveira & Takahashi, ACM TOMS 47, 5 (2020)) on the
    bracket [lo, hi] with E(lo) > 0 ≥ E(hi), at ``step`` of ``budget``: regula falsi, truncated
    towards the midpoint and projected into the ball about it that keeps bisection's worst
    case. On the smooth mismatch it converges superlinearly (measured: ~10 evaluations instead
    of 50 halvings); where the mismatch is flat at round-off next to the static root (which
    plain regula falsi mistakes for a root) the projection falls back to halving. Own code:
    optimistix's root finders (Bisection, Newton, Chord) have no bracketed superlinear method
    that runs inside this ``lax.while_loop`` phase machine."""
    width = hi - lo
    half = 0.5 * (lo + hi)
    denominator = E_hi - E_lo
    falsi = jnp.where(denominator != 0, (E_hi * lo - E_lo * hi) / jnp.where(
        denominator != 0, denominator, 1.0), half)
    falsi = jnp.clip(falsi, lo, hi)
    sigma = jnp.sign(half - falsi)
    delta = _ITP_K1 * width**_ITP_K2
    truncated = jnp.where(delta <= jnp.abs(half - falsi), falsi + sigma * delta, half)
    radius = _ITP_EPS * 2.0 ** (budget - step).astype(jnp.float64) - 0.5 * width
    return jnp.where(jnp.abs(truncated - half) <= radius, truncated, half - sigma * radius)


def _energy_root(g, J_mean, theta_mean, theta_std, noise, *, phi, pair_order):
    """Δ0 from the energy condition (module docstring, step 1), all on the device.

    First pass with the general rules (~10× cheaper, exact enough for the sign away from the
    root when g√upper ≤ 4; measured error ≤ 2e-9 there), vmapped over the log grid. Then one
    ``lax.while_loop`` whose body evaluates the resolved mismatch at one Δ0 (the only compiled
    copy of it) and whose phase says which Δ0: the four cells around the first pass's root
    (the bracket, or the bracket widened by a cell on each side, must show the sign change
    with the resolved rules), else (or when no root was found at g√upper > 4, where the
    general rules may miss it) the whole resolved scan, then the ITP method on ln Δ0
    (:func:`_itp_point`: at most one step more than bisection's halvings to relative 6e-16,
    robust where the mismatch is flat at round-off next to the static root, which plain regula
    falsi mistakes for a root). Returns (bisected, Δ0, mismatch, M, Δ∞) at the last trial,
    the mismatch/Δ0² of the first pass at the largest scanned Δ0 and that Δ0.

    Unbounded φ: the scan spans 20 decades about the inputs' scale (no sup |φ| bounds Var h)
    and has no resolved fallback (the general rules are split at φ's kink).
    """
    general, resolved = _Model(phi, pair_order, general=True), _Model(phi, pair_order)
    if phi.bounded:
        # Var h ≤ input second moment + σ²/2, with ⟨φ²⟩ ≤ sup φ²
        upper = phi.bound**2 + theta_std**2 + noise**2 / 2.0
        grid = upper * np.logspace(-10.0, 0.0, _SCAN_POINTS)
        smallest = _MIN_ROOT * upper
    else:
        # No a-priori bound on Var h: 20 decades about the scale s0 of the inputs and of φ's
        # kink (h units), with the bounded scan's cell ratio 1.27. Far above s0 the equations
        # are those of the homogeneous φ (the bias is O(√(s0/Δ0)) of h), so a root beyond
        # 1e12 s0 would need g within ~1e-6 of the divergence; none found means unbounded.
        grid, scale = _unbounded_grid(g, theta_mean, theta_std, noise, resolved.centre)
        smallest = _MIN_ROOT * scale
    points = grid.shape[0]
    E_general = jax.vmap(lambda d: _mismatch(general, g, d, J_mean, theta_mean, theta_std,
                                             noise)[0])(grid)
    found, index = _root_cell(E_general, grid, smallest)
    cells = jnp.clip(index + jnp.arange(-1, 3), 0, points - 1)
    if phi.bounded:
        fallback = g * jnp.sqrt(upper) > 4.0
    else:  # the general rules split at φ's kink, exact for threshold-linear φ at any g
        fallback = False
    phase = jnp.where(found, _CELLS, jnp.where(fallback, _RESOLVED_SCAN, _DONE))
    zero = jnp.zeros((), jnp.float64)
    scan = jnp.zeros(points, jnp.float64)
    # bracket values E(lo) > 0 ≥ E(hi) and the ITP step budget (set when the bracket is)
    itp = (zero, zero, jnp.zeros((), jnp.int32))
    state = (phase, 0, zero, zero, jnp.zeros(4, jnp.float64), scan, False, zero, zero, zero, zero,
             *itp)

    def body(state):
        phase, k, lo, hi, E_cells, E_scan, bisected = state[:7]
        E_lo, E_hi, budget = state[11:]
        mid = _itp_point(lo, hi, E_lo, E_hi, k, budget)
        trial = jnp.where(phase == _CELLS, grid[cells[jnp.minimum(k, 3)]],
                          jnp.where(phase == _RESOLVED_SCAN, grid[k], jnp.exp(mid)))
        E, M, floor = _mismatch(resolved, g, trial, J_mean, theta_mean, theta_std, noise)
        last = k + 1
        # cells: the bracket, the widened bracket, or (neither) the resolved scan
        E_cells = jnp.where(phase == _CELLS, E_cells.at[jnp.minimum(k, 3)].set(E), E_cells)
        narrow = (E_cells[1] > 0) & (E_cells[2] <= 0)
        wide = (E_cells[0] > 0) & (E_cells[3] <= 0)
        cells_lo = jnp.log(jnp.where(narrow, grid[cells[1]], grid[cells[0]]))
        cells_hi = jnp.log(jnp.where(narrow, grid[cells[2]], grid[cells[3]]))
        cells_done = (phase == _CELLS) & (last == 4)
        # resolved scan: a root, or none at all
        E_scan = jnp.where(phase == _RESOLVED_SCAN, E_scan.at[k].set(E), E_scan)
        scan_found, scan_index = _root_cell(E_scan, grid, smallest)
        scan_done = (phase == _RESOLVED_SCAN) & (last == points)
        # ITP on ln Δ0: keep the side whose sign the trial shares
        bisecting = phase == _BISECTION
        below = bisecting & (E > 0)
        above = bisecting & ~(E > 0)
        new_lo, new_E_lo = jnp.where(below, mid, lo), jnp.where(below, E, E_lo)
        new_hi, new_E_hi = jnp.where(above, mid, hi), jnp.where(above, E, E_hi)
        start_cells = cells_done & (narrow | wide)
        new_lo = jnp.where(start_cells, cells_lo, new_lo)
        new_hi = jnp.where(start_cells, cells_hi, new_hi)
        new_E_lo = jnp.where(start_cells, jnp.where(narrow, E_cells[1], E_cells[0]), new_E_lo)
        new_E_hi = jnp.where(start_cells, jnp.where(narrow, E_cells[2], E_cells[3]), new_E_hi)
        upper_index = jnp.minimum(scan_index + 1, points - 1)
        new_lo = jnp.where(scan_done, jnp.log(grid[scan_index]), new_lo)
        new_hi = jnp.where(scan_done, jnp.log(grid[upper_index]), new_hi)
        new_E_lo = jnp.where(scan_done, E_scan[scan_index], new_E_lo)
        new_E_hi = jnp.where(scan_done, E_scan[upper_index], new_E_hi)
        starting = start_cells | (scan_done & scan_found)
        budget = jnp.where(starting, _itp_budget(new_hi - new_lo), budget)
        converged = bisecting & ((new_hi - new_lo <= 2.0 * _ITP_EPS) | (last >= budget))
        next_phase = jnp.select(
            [start_cells, cells_done, scan_done & scan_found, scan_done, converged],
            [_BISECTION, _RESOLVED_SCAN, _BISECTION, _DONE, _DONE], phase)
        k = jnp.where(next_phase == phase, last, 0)
        kept = [jnp.where(bisecting, new, old)
                for new, old in zip((mid, E, M, floor), state[7:11], strict=True)]
        return (next_phase, k, new_lo, new_hi, E_cells, E_scan, bisected | bisecting, *kept,
                new_E_lo, new_E_hi, budget)

    out = jax.lax.while_loop(lambda state: state[0] != _DONE, body, state)
    bisected, log_d0, E, M, floor = out[6:11]
    # the mismatch per Δ0² at the scan's largest Δ0: > 0 there means the energy condition
    # still asks for a larger variance (for an unbounded φ: it grows without bound)
    far = E_general[-1] / grid[-1] ** 2
    return bisected, jnp.exp(log_d0), E, M, floor, far, grid[-1]


def _static_solution(g, J_mean, theta_mean, theta_std, *, phi, pair_order):
    return _static(_Model(phi, pair_order), g, J_mean, theta_mean, theta_std)


def _tables(g, M, d0, floor, J_mean, theta_mean, theta_std, *, phi, pair_order):
    """The Chebyshev tables of the Newton equation and the λ_max potential, and residuals."""
    model = _Model(phi, pair_order)
    span = jnp.maximum(d0 - floor, 1e-300)
    # The Newton force needs C_φ on [Δ∞, Δ0]. Near Δ0, C_φ(Δ0) − C_φ(Δ) ∝ √(Δ0 − Δ) down to
    # Δ0 − Δ ~ 1/g², then linear: no polynomial in Δ resolves that at large g (measured: force
    # 2 % off at Δ0 − Δ = 1e-4 Δ0, g = 1000). Tabulated instead: y = ln[(C(Δ0) − C(Δ))/(Δ0 − Δ)]
    # against v = ln(Δ0 − Δ) on [ln ε, ln 1.5·span], ε = min(1e-4/g², 1e-6 span) (below ε the
    # ratio is its constant limit dC/dΔ(Δ0)): y is smooth in v, from a constant through a slope
    # −1/2 to the far side. Likewise ln g²⟨φ′φ′⟩ against v for the potential of the λ_max
    # operator (its peak ~g at Δ0, width ~1/g²), and g²⟨φ′φ′⟩ against Δ on [Δ∞, Δ∞ + ¾ span]
    # for the tail rate, far from Δ0.
    log_lo = jnp.log(jnp.minimum(1e-4 / (g * g), 1e-6 * span))
    log_nodes, _ = _chebyshev(log_lo, jnp.log(1.5 * span), _HEAD_CHEB)
    gap = jnp.exp(log_nodes)
    C0 = model.C_equal(g, M, d0)
    C_values = model.C(g, M, d0, jnp.concatenate([d0 - gap, floor[None]]))
    ratio = (C0 - C_values[:-1]) / gap
    # g²⟨φ′φ′⟩ has no cancellation, so its table reaches down to g²(Δ0 − Δ) = 1e-10, where the
    # clamp to its value at Δ0 is exact to that level (C's ratio stops at 1e-4/g², where the
    # difference C(Δ0) − C(Δ) still has 1e-8/g relative round-off).
    log_lo_D = jnp.log(jnp.minimum(1e-10 / (g * g), 1e-10 * span))
    log_nodes_D, _ = _chebyshev(log_lo_D, jnp.log(1.5 * span), _HEAD_CHEB)
    tail_nodes, _ = _chebyshev(floor, floor + _TAIL_TABLE * span, _CHEB)
    D_values = model.Dprime(g, M, d0, jnp.concatenate([tail_nodes, d0 - jnp.exp(log_nodes_D)]))
    tables = {
        "floor": floor, "span": span, "delta0": d0, "theta_std": theta_std, "C0": C0,
        "log_lo": log_lo, "log_ratio": jnp.log(jnp.maximum(ratio, 1e-300)),
        "D_nodes": D_values[:_CHEB + 1],
        "log_lo_D": log_lo_D,
        "log_D": jnp.log(jnp.maximum(D_values[_CHEB + 1:], 1e-300)),
    }
    mean_residual = M - theta_mean - J_mean * model.mean_rate(g, M, d0)
    return {
        "tables": tables, "mean_residual": mean_residual,
        "floor_residual": floor - C_values[-1] - theta_std**2,
        "static_potential": 1.0 - g * g * model.dphi_square(g, M, _stability_variance(model, d0)),
        "curvature0": d0 - C0 - theta_std**2, "tail_rate2": 1.0 - tables["D_nodes"][0],
    }


@partial(jax.jit, static_argnames=("phi", "pair_order"))
def _core(g, J_mean, theta_mean, theta_std, noise, *, phi, pair_order):
    """Δ0, Δ∞, M by the energy condition, and the tables (module docstring, step 1): one
    compiled computation per (φ, pair_order), so a call is one dispatch and one transfer.

    The root search is :func:`_energy_root`; without a root with Δ0 > Δ∞ (σ = 0 below the
    transition) the static solution, in a ``lax.cond`` (run only then).
    """
    rules = {"phi": phi, "pair_order": pair_order}
    bisected, d0, E_dyn, M, floor, far, far_delta0 = _energy_root(
        g, J_mean, theta_mean, theta_std, noise, **rules)
    # A root with Δ0 = Δ∞ is the static solution itself (the mismatch vanishes there too).
    dynamic = bisected & (d0 - floor > 1e-6 * d0)

    def static():
        M, d0 = _static_solution(g, J_mean, theta_mean, theta_std, **rules)
        return M, d0, d0, jnp.zeros_like(d0)

    M, d0, floor, E_dyn = jax.lax.cond(dynamic, lambda: (M, d0, floor, E_dyn), static)
    out = _tables(g, M, d0, floor, J_mean, theta_mean, theta_std, **rules)
    return {**out, "delta0": d0, "delta_inf": floor, "mean": M, "dynamic": dynamic,
            "energy_residual": E_dyn, "far_mismatch": far, "far_delta0": far_delta0}


def _dynamics(tables):
    """Force Δ'' = Δ − C_φ(Δ) − θs² and tail rate ρ(ln(Δ − Δ∞)) from the tables."""
    floor, span = tables["floor"], tables["span"]
    log_hi = jnp.log(1.5 * span)
    log_nodes, log_weights = _chebyshev(tables["log_lo"], log_hi, _HEAD_CHEB)
    tail_nodes, tail_weights = _chebyshev(floor, floor + _TAIL_TABLE * span, _CHEB)
    t_leg, w_leg = (jnp.asarray(a, jnp.float64) for a in np.polynomial.legendre.leggauss(_LEGENDRE))
    t_leg, w_leg = 0.5 * (t_leg + 1.0), 0.5 * w_leg

    def force(delta):
        gap = tables["delta0"] - delta
        v = jnp.clip(jnp.log(jnp.maximum(jnp.abs(gap), 1e-300)), tables["log_lo"], log_hi)
        C = tables["C0"] - gap * jnp.exp(_barycentric(v, log_nodes, log_weights,
                                                      tables["log_ratio"]))
        return delta - C - tables["theta_std"]**2

    def rate(log_u):
        u = jnp.exp(log_u)
        D = _barycentric(floor + u * t_leg, tail_nodes, tail_weights, tables["D_nodes"])
        rho2 = 2.0 * jnp.sum(w_leg * (1.0 - t_leg) * (1.0 - D))
        return -jnp.sqrt(jnp.maximum(rho2, 0.0))

    return force, rate


@partial(jax.jit, static_argnames=("substeps",))
def _march(tables, state, steps, *, substeps):
    """Advance Δ(τ) over the lag steps ``steps`` (_CHUNK,), RK4 with ``substeps`` per step.

    Head (Δ − Δ∞ ≥ span/2): RK4 on the Newton equation (Δ, Δ'). Tail: RK4 on the contracting
    energy integral d ln(Δ − Δ∞)/dτ = −ρ. Returns the final state and, at every step's end,
    Δ, Δ' and Δ'' (the derivatives exact for the stored Δ: Δ' from the energy integral in the
    tail, Δ'' from the force), which the quintic Hermite interpolant of :func:`_hermite` uses.
    A zero step leaves the state unchanged (padding of the last chunk).
    """
    floor, span = tables["floor"], tables["span"]
    force, rate = _dynamics(tables)

    def substep(h, state):
        delta, p, tail = state
        k1 = (p, force(delta))
        k2 = (p + 0.5 * h * k1[1], force(delta + 0.5 * h * k1[0]))
        k3 = (p + 0.5 * h * k2[1], force(delta + 0.5 * h * k2[0]))
        k4 = (p + h * k3[1], force(delta + h * k3[0]))
        d_head = delta + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        p_head = p + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        q = jnp.log(jnp.maximum(delta - floor, 1e-300))
        r1 = rate(q)
        r2 = rate(q + 0.5 * h * r1)
        r3 = rate(q + 0.5 * h * r2)
        r4 = rate(q + h * r3)
        q_new = q + h / 6 * (r1 + 2 * r2 + 2 * r3 + r4)
        d_tail = floor + jnp.exp(q_new)
        p_tail = rate(q_new) * jnp.exp(q_new)
        new_delta = jnp.where(tail, d_tail, d_head)
        new_p = jnp.where(tail, p_tail, p_head)
        new_tail = tail | (new_delta - floor < 0.5 * span)
        return new_delta, new_p, new_tail

    def step(state, dtau):
        state = jax.lax.fori_loop(0, substeps, lambda _, s: substep(dtau / substeps, s), state)
        return state, (state[0], state[1], force(state[0]))

    return jax.lax.scan(step, state, steps)


@jax.jit
def _potential(tables, delta):
    """U = 1 − g²⟨φ′(x1)φ′(x2)⟩ at the lags' Δ values, from the ln(Δ0 − Δ) table."""
    log_nodes, log_weights = _chebyshev(tables["log_lo_D"], jnp.log(1.5 * tables["span"]),
                                        _HEAD_CHEB)
    gap = tables["delta0"] - delta
    v = jnp.clip(jnp.log(jnp.maximum(jnp.abs(gap), 1e-300)), log_nodes[0], log_nodes[-1])
    return 1.0 - jnp.exp(_barycentric(v, log_nodes, log_weights, tables["log_D"]))


@partial(jax.jit, static_argnames=("phi",))
def _direct_potential(g, M, d0, delta, *, phi):
    """U from the pair average itself at a few Δ (the check of the table)."""
    return 1.0 - _Model(phi, gaussian.DEFAULT_PAIR_ORDER).Dprime(g, M, d0, delta)


def _path(tables, start, tau, substeps):
    """Δ, Δ', Δ'' on the lags ``tau`` (τ_0 = 0), marching in compiled chunks of _CHUNK steps."""
    steps = np.diff(tau)
    padded = np.zeros(-(-steps.size // _CHUNK) * _CHUNK)
    padded[:steps.size] = steps
    state, pieces = start, []
    for chunk in padded.reshape(-1, _CHUNK):
        state, piece = _call(_march, {"substeps": substeps}, tables, state, jnp.asarray(chunk))
        pieces.append(np.stack([np.asarray(x) for x in piece]))
    out = np.concatenate(pieces, axis=1)[:, :steps.size]
    first = np.array([[float(start[0])], [float(start[1])], [np.nan]])
    return np.concatenate([first, out], axis=1)


def _hermite(tau, values, x):
    """Quintic Hermite interpolant of (Δ, Δ', Δ'') given at the knots ``tau``, evaluated at x.

    C² and O(h⁶) accurate, so second differences of the output are free of knot artefacts.
    """
    i = np.clip(np.searchsorted(tau, x, side="right") - 1, 0, tau.size - 2)
    h = tau[i + 1] - tau[i]
    t = (x - tau[i]) / h
    y0, d0, s0 = values[0][i], values[1][i], values[2][i]
    y1, d1, s1 = values[0][i + 1], values[1][i + 1], values[2][i + 1]
    t3, t4, t5 = t**3, t**4, t**5
    return (y0 * (1 - 10 * t3 + 15 * t4 - 6 * t5) + h * d0 * (t - 6 * t3 + 8 * t4 - 3 * t5)
            + h * h * s0 * 0.5 * (t * t - 3 * t3 + 3 * t4 - t5)
            + h * h * s1 * 0.5 * (t3 - 2 * t4 + t5) + h * d1 * (-4 * t3 + 7 * t4 - 3 * t5)
            + y1 * (10 * t3 - 15 * t4 + 6 * t5))


def _hermite_integral(tau, values):
    """∫ over the knots of the quintic Hermite interpolant (trapezoid with end corrections)."""
    h = np.diff(tau)
    y, d, s = values
    return float(np.sum(h * (y[:-1] + y[1:]) / 2 + h**2 * (d[:-1] - d[1:]) / 10
                        + h**3 * (s[:-1] + s[1:]) / 120))


def ground_state(potential: np.ndarray, tau: np.ndarray) -> tuple[float, np.ndarray]:
    """Lowest eigenpair of ``−d²/dτ² + U(τ)`` on the grid ``tau`` (any spacing), Neumann ends.

    Linear finite elements with a lumped (trapezoid) mass matrix M: K ψ + M U ψ = E M ψ,
    symmetrised by M^{1/2} into a tridiagonal problem for scipy. Second order in the spacing
    of a smoothly graded grid; on a uniform grid it is the three-point difference with
    ghost-point Neumann rows. Returns E0 and ψ0 on the grid (normalised, max |ψ0| = 1).
    """
    tau = np.asarray(tau, dtype=np.float64)
    h = np.diff(tau)
    mass = np.zeros(tau.size)
    mass[:-1] += h / 2
    mass[1:] += h / 2
    stiffness = np.zeros(tau.size)
    stiffness[:-1] += 1 / h
    stiffness[1:] += 1 / h
    diag = stiffness / mass + np.asarray(potential, dtype=np.float64)
    off = -(1 / h) / np.sqrt(mass[:-1] * mass[1:])
    import scipy.linalg  # here, not at import: see stationary_arrays

    energy, vector = scipy.linalg.eigh_tridiagonal(diag, off, select="i", select_range=(0, 0))
    psi = vector[:, 0] / np.sqrt(mass)
    return float(energy[0]), psi / np.max(np.abs(psi))


def ground_state_energy(potential: np.ndarray, dtau: float | None = None, *,
                        tau: np.ndarray | None = None) -> float:
    """Lowest eigenvalue E0 of ``−d²/dτ² + U(τ)``, Neumann at both ends (:func:`ground_state`).

    ``potential``: U on the grid, given either by its uniform spacing ``dtau`` (grid k·dtau) or
    by the lags ``tau`` themselves. O(spacing²) accurate.
    """
    potential = np.asarray(potential, dtype=np.float64)
    if tau is None:
        if dtau is None:
            raise ParameterError("ground_state_energy needs dtau (uniform grid) or tau (lags)")
        tau = np.arange(potential.size) * float(dtau)
    return ground_state(potential, tau)[0]


def _lag_grid(points: int, width: float, tau_end: float) -> np.ndarray:
    """Lags τ(s) = w sinh(b s), s ∈ [0, 1], τ(1) = τ_end: spacing ≈ (b/n)·√(w² + τ²), fine
    (≈ w b/n) inside the potential well of width w at τ = 0 and of constant relative size
    b/n beyond it, where Δ and the ground state vary on the scale of τ itself or slower."""
    b = math.asinh(tau_end / width)
    tau = width * np.sinh(b * np.linspace(0.0, 1.0, points))
    tau[-1] = tau_end
    return tau


def _well_width(g: float, curvature0: float, noise: float) -> float:
    """Lag below which g²(Δ0 − Δ(τ)) < 1, where g²⟨φ′φ′⟩ has its peak: Δ0 − Δ ≈ |Δ''(0)|τ²/2
    without noise, σ²τ/2 with it. Capped at 1 (small g: the well is not narrow)."""
    width = 1.0
    if curvature0 < 0:
        width = min(width, math.sqrt(2.0 / (g * g * -curvature0)))
    if noise > 0:
        width = min(width, 2.0 / (g * g * noise * noise))
    return max(width, 1e-12)


def _lambda_from_energy(E0: float) -> float:
    return -1.0 + math.sqrt(max(1.0 - E0, 0.0))


def _internal_solution(core, g, phi, noise, substeps, points, tau_max, refine):
    """Δ(τ), E0, λ_max and τ_corr on a graded internal lag grid that is checked and refined.

    Checks (each refines the grid when ``refine``, else raises ConvergenceError):
    1. ground state resolved: E0 on the grid and on its every-other and every-fourth point
       subgrids (same potential values), error estimate max(|E1 − E2|/3, |E2 − E4|/12) (second
       order: exact for the asymptotic rate, larger when not yet asymptotic); the λ error it
       implies, |δE|/(2√(1 − E0)), must be ≤ _LAMBDA_RTOL·|λ| + _LAMBDA_ATOL. Else: 2× points.
    2. Δ(τ) resolved: the march on the every-other-point grid agrees with the full one within
       _PATH_RTOL·(Δ0 − Δ∞) (RK4: the full grid's error is ~1/15 of that). Else: 2× points.
    3. domain long enough: Δ − Δ∞ at the grid's end ≤ 1e-12·(Δ0 − Δ∞), and the ground state
       |ψ0(τ_end)| ≤ 1e-6 (or U(τ_end) − E0 below the λ tolerance: a shallow well whose
       Neumann-box energy is within tolerance of the bound state's). Else: 4× longer.
    """
    tables = jax.tree_util.tree_map(jnp.asarray, core["tables"])
    d0, floor, M = float(core["delta0"]), float(core["delta_inf"]), float(core["mean"])
    span = d0 - floor
    kappa2 = float(core["tail_rate2"])
    if not kappa2 > 0:
        raise ConvergenceError(
            f"stationary DMFT at g={g}, phi={phi.name!r}: the static variance Delta_inf={floor:.6g} is "
            f"not a hill top (1 - g^2<phi'phi'> = {kappa2:.3g} <= 0), so Delta(tau) cannot decay")
    kappa = math.sqrt(kappa2)
    tau_end = max(tau_max, _DECAY_LENGTHS / kappa)
    if tau_end > _MAX_TAU_END:
        raise ConvergenceError(
            f"stationary DMFT at g={g}: Delta(tau) decays as exp(-{kappa:.3g} tau), needing lags "
            f"to {tau_end:.3g} (> {_MAX_TAU_END:g}); g is too close to the transition")
    width = min(_well_width(g, float(core["curvature0"]), noise), tau_end / 100)
    # strongly typed, like the state the march returns: one trace of _march serves every chunk
    start = (jnp.asarray(d0, jnp.float64), jnp.asarray(-0.5 * noise**2, jnp.float64),
             jnp.asarray(False))
    first_curvature = float(core["curvature0"])
    for _attempt in range(_MAX_REFINEMENTS + 1):
        tau = _lag_grid(points, width, tau_end)
        path = _path(tables, start, tau, substeps)
        path[2, 0] = first_curvature
        coarse = _path(tables, start, tau[::2], substeps)
        path_error = float(np.max(np.abs(path[0, ::2] - coarse[0]))) / span
        U = np.asarray(_call(_potential, {}, tables, jnp.asarray(path[0])))
        E1, psi = ground_state(U, tau)
        E2 = ground_state(U[::2], tau[::2])[0]
        E4 = ground_state(U[::4], tau[::4])[0]
        E0 = E1 + (E1 - E2) / 3.0  # Richardson (second order)
        E_error = max(abs(E1 - E2) / 3.0, abs(E2 - E4) / 12.0)
        lam = _lambda_from_energy(E0)
        lam_error = E_error / (2.0 * math.sqrt(max(1.0 - E0, 1e-300)))
        lam_tol = _LAMBDA_RTOL * abs(lam) + _LAMBDA_ATOL
        excess_end = (path[0, -1] - floor) / span
        shallow = (U[-1] - E1) / (2.0 * math.sqrt(max(1.0 - E1, 1e-300))) < lam_tol
        long_enough = excess_end <= 1e-12 and (abs(psi[-1]) <= 1e-6 or shallow)
        resolved = lam_error <= lam_tol and path_error <= _PATH_RTOL
        diagnostics = {"points": points, "tau_end": tau_end, "well_width": width,
                       "lambda_error": lam_error, "path_error": path_error,
                       "tail_excess": excess_end, "psi_end": abs(psi[-1])}
        if resolved and long_enough:
            break
        if not refine or _attempt == _MAX_REFINEMENTS:
            what = []
            if not resolved:
                what.append(f"the lag grid does not resolve the solution (lambda_max error "
                            f"{lam_error:.2g} > {lam_tol:.2g} or Delta error {path_error:.2g} > "
                            f"{_PATH_RTOL:g} of Delta0 - Delta_inf with grid_points={points}); "
                            f"use grid_points >= {4 * (points - 1) + 1}")
            if not long_enough:
                what.append(f"the lags end at {tau_end:.3g} before Delta(tau) and the ground "
                            f"state have decayed (Delta - Delta_inf = {excess_end:.2g} of "
                            f"Delta0 - Delta_inf, psi0 = {abs(psi[-1]):.2g}); use "
                            f"tau_max >= {4 * tau_end:.3g}")
            raise ConvergenceError(f"stationary DMFT at g={g}, phi={phi.name!r}: " + "; ".join(what)
                                   + ("" if refine else " (or refine=True)"))
        if not resolved:
            points = 2 * (points - 1) + 1
        if not long_enough:
            tau_end *= 4.0
    # The potential came from a table in ln(Δ0 − Δ): check it against the pair average itself
    # at lags spread over the grid (log-spaced: most of them inside the well).
    probe = np.unique(np.r_[0, np.geomspace(1, points - 1, _TABLE_CHECKS).astype(int)])
    direct = np.asarray(_call(_direct_potential, {"phi": phi}, g, M, d0,
                              jnp.asarray(path[0, probe])))
    table_error = float(np.max(np.abs(direct - U[probe]) / np.maximum(np.abs(direct), 1.0)))
    if not table_error <= _TABLE_RTOL:
        raise ConvergenceError(
            f"stationary DMFT at g={g}, phi={phi.name!r}: the table of g^2<phi'phi'> is off by "
            f"{table_error:.2g} (allowed {_TABLE_RTOL:g}) against the pair average; this is a "
            "defect of the solver at these parameters, not a setting to change")
    excess = path.copy()
    excess[0] -= floor
    # beyond τ_end the excess decays as e^{−κτ}: its tail integral is excess_end/κ (≤ 1e-12 τ_c)
    tau_corr = (_hermite_integral(tau, excess) + excess[0, -1] / kappa) / span
    return {"tau": tau, "path": path, "E0": E0, "lambda_max": lam, "tau_corr": tau_corr,
            **diagnostics}


_MODEL_KEYWORDS = ("g", "phi", "J_mean", "theta_mean", "theta_std", "noise")
_MODEL_DEFAULTS = {"g": 2.0, "phi": "tanh", "J_mean": 0.0, "theta_mean": 0.0,
                   "theta_std": 0.0, "noise": 0.0}


def resolve_model(model: MeanFieldModel | None, unbounded: bool = False,
                  **keywords) -> MeanFieldModel:
    """The model of a solver call: ``model`` itself, or one built from the scalar keywords
    (None: their defaults, g = 2, tanh, J_mean = θ = σ = 0). Both at once is ambiguous and
    refused; so is a model the solver does not cover (symmetry ≠ 0; an unbounded φ unless
    ``unbounded``, which the stationary DMFT passes)."""
    given = {name: value for name, value in keywords.items() if value is not None}
    if model is None:
        model = MeanFieldModel(**{**_MODEL_DEFAULTS, **given})
    elif not isinstance(model, MeanFieldModel):
        raise ParameterError(f"model={model!r} is not a neurodyn.MeanFieldModel")
    elif given:
        raise ParameterError(
            f"model= and {', '.join(f'{name}={value!r}' for name, value in given.items())} were "
            "both given; pass the parameters in the model (MeanFieldModel(...)) or as keywords, "
            "not both")
    model_parameters.theory_phi("phi", model.phi, unbounded=unbounded)
    if model.symmetry != 0:
        raise ParameterError(f"symmetry={model.symmetry!r}: the DMFT solvers cover "
                             "independent J_ij and J_ji only (symmetry = 0)")
    return model


def _refuse_unbounded_growth(core: dict, model: MeanFieldModel, residual: float) -> None:
    """Raise DivergenceError where an unbounded φ has no bounded solution (module docstring).

    Bounded solutions are a root of the energy condition with Δ0 > Δ∞ (chaotic or driven), or,
    for σ = 0, a static solution that is finite (its conditions met to 1e-6) and stable
    (g²⟨φ′²⟩ < 1). Anything else — the static iteration ran away (no finite root), or the static
    solution is unstable and the energy condition has no root up to the scan's largest Δ0, or
    the mean condition has no root — means the variance (or the mean) grows without bound: the
    message names g, φ and the conditions that fail.
    """
    if bool(core["dynamic"]):
        return
    g, phi = model.g, model.phi
    d0, M = float(core["delta0"]), float(core["mean"])
    gain2 = 1.0 - float(core["static_potential"])
    far, far_delta0 = float(core["far_mismatch"]), float(core["far_delta0"])
    static_found = math.isfinite(residual) and residual <= 1e-6 and math.isfinite(d0)
    if static_found and model.noise == 0 and gain2 < 1.0:
        return
    why = []
    if not math.isfinite(M):
        why.append("the mean condition M = theta_mean + J_mean <phi> has no root (the mean "
                   "rate runs away: J_mean g <phi'> >= 1)")
    if not static_found:
        why.append("the static condition Delta0 = <phi(g h)^2> + theta_std^2 has no finite "
                   "root (its iteration grows without bound)")
    elif model.noise == 0:
        why.append(f"the static solution (Delta0 = {d0:.4g}) is unstable: g^2 <phi'^2> = "
                   f"{gain2:.4g} >= 1")
    why.append("the energy condition V(Delta0) + noise^4/8 = V(Delta_inf) has no root with "
               f"Delta0 > Delta_inf up to Delta0 = {far_delta0:.3g} (there the mismatch per "
               f"Delta0^2 is {far:.3g}{' > 0: the variance grows without bound' if far > 0 else ''})")
    raise DivergenceError(
        f"stationary DMFT at g={g}, phi={phi.name!r}, J_mean={model.J_mean}, theta_mean="
        f"{model.theta_mean}, theta_std={model.theta_std}, noise={model.noise}: no bounded "
        "solution (the network diverges): " + "; ".join(why))


def _g_zero_core(model: MeanFieldModel) -> dict:
    """The g = 0 solution in closed form (module docstring): C_φ ≡ φ(0)², no recurrent drive."""
    phi0 = float(model.phi.phi(jnp.zeros((), jnp.float64)))
    floor = phi0**2 + model.theta_std**2
    return {"delta0": floor + model.noise**2 / 2.0, "delta_inf": floor,
            "mean": model.theta_mean + model.J_mean * phi0, "dynamic": model.noise > 0,
            "static_potential": 1.0}  # U = 1 − g²⟨φ′φ′⟩ = 1


def stationary(*args: Any, **kwargs: Any) -> xr.Dataset:
    """Solve the stationary DMFT; see the module docstring for equations, method and checks.

    **Arguments:**
    - ``model``: a :class:`neurodyn.MeanFieldModel` (e.g. ``MeanFieldModel.from_network(net)``),
      or instead the scalar keywords (defaults in brackets):
    - ``g`` ≥ 0 [2]: gain inside φ. ``phi`` [tanh]: a registered name or a
      :class:`~neurodyn.nonlinearity.Nonlinearity`: bounded, or unbounded and affine outside a
      bounded window (relu; module docstring).
    - ``J_mean``: mean coupling ×N; ``theta_mean``, ``theta_std``: Gaussian bias; ``noise``: σ of
      the additive white noise (σ dW), all in h units [0].
    - ``tau_max``, ``dtau``: the lags [0, tau_max] (τ units) on which ``delta`` is returned. They
      only sample the solution: Δ, λ_max and τ_corr are computed on an internal graded grid that
      extends as far as the decay needs (and at least to tau_max).
    - ``substeps``: RK4 steps per interval of the internal grid.
    - ``pair_order``: Gauss–Legendre order per panel of the bivariate averages of φ and Φ.
    - ``critical_gain``: also compute the gain where the static solution loses stability
      (g_c: g²⟨φ′²⟩ = 1 on the static branch; only for σ = 0, NaN otherwise).
    - ``grid_points``: lags of the internal grid (rounded up to 4k + 1). ``refine``: refine the
      internal grid (2× points, 4× length, up to 3 times) where its checks fail; with False a
      failed check raises at once.

    **Returns:** Dataset with ``delta`` (tau) [h²], scalars ``delta0`` (= Δ(0), connected
    variance of h), ``delta_inf`` (static variance Δ∞), ``mean`` (M), ``lambda_max`` [1/τ] and
    its estimated error ``lambda_max_error``, ``tau_corr`` (∫₀^∞ (Δ − Δ∞) dτ / (Δ0 − Δ∞), τ
    units), ``residual`` (largest relative residual of the energy, mean and Δ∞ conditions),
    ``g_critical``; attrs with every parameter (φ by name), the internal grid actually used,
    ``phase`` ("chaotic"/"driven" or "static"), ``tail_fraction`` ((Δ(tau_max) − Δ∞)/(Δ0 − Δ∞):
    how much of the decay the returned lags do not show) and provenance.

    Raises ParameterError on bad input, DivergenceError where an unbounded φ has no bounded
    solution (the message names the conditions that fail), and ConvergenceError if the
    conditions are not met, if
    the internal grid cannot be refined enough (the message names what to change), or if a
    chaotic solution (σ = 0) comes out with λ_max ≤ 0, a contradiction.
    """
    return stationary_dataset(stationary_arrays(*args, **kwargs))


def stationary_arrays(
    g: float | None = None,
    phi: str | nonlinearity.Nonlinearity | None = None,
    J_mean: float | None = None,
    theta_mean: float | None = None,
    theta_std: float | None = None,
    noise: float | None = None,
    tau_max: float = 40.0,
    dtau: float = 0.02,
    substeps: int = 2,
    pair_order: int = gaussian.DEFAULT_PAIR_ORDER,
    critical_gain: bool = True,
    grid_points: int = GRID_POINTS,
    refine: bool = True,
    *,
    model: MeanFieldModel | None = None,
) -> dict[str, Any]:
    """:func:`stationary` without xarray: the same numbers as a dict of numpy arrays and floats
    (``tau``, ``delta`` and the Dataset's scalars by name) plus ``attrs``; the same arguments.
    :func:`stationary_dataset` makes the Dataset of it."""
    model = resolve_model(model, unbounded=True, g=g, phi=phi, J_mean=J_mean,
                          theta_mean=theta_mean, theta_std=theta_std, noise=noise)
    g, phi, J_mean, theta_mean = model.g, model.phi, model.J_mean, model.theta_mean
    theta_std, noise = model.theta_std, model.noise
    tau_max = validation.positive("tau_max", tau_max)
    dtau = validation.positive("dtau", dtau)
    if dtau > tau_max / 4:
        raise ParameterError(f"dtau={dtau!r} must be <= tau_max/4 = {tau_max / 4!r}")
    substeps = validation.positive_int("substeps", substeps)
    pair_order = validation.positive_int("pair_order", pair_order)
    grid_points = validation.positive_int("grid_points", grid_points)
    if grid_points < 65:
        raise ParameterError(f"grid_points={grid_points!r} must be >= 65")
    grid_points = 4 * (-(-(grid_points - 1) // 4)) + 1
    n_tau = int(round(tau_max / dtau)) + 1
    if g == 0:
        core, residual = _g_zero_core(model), 0.0
    else:
        pending = _call(_core, {"phi": phi, "pair_order": pair_order}, g, J_mean, theta_mean,
                        theta_std, noise)
        # JAX dispatches asynchronously: scipy (the ground state's eigensolver, ~0.4 s of a
        # command's start-up) is imported while the device solves, not before.
        import scipy.linalg  # noqa: F401
        core = jax.tree_util.tree_map(np.asarray, pending)
    d0 = float(core["delta0"])
    scale = max(d0, theta_std**2, 1e-12)
    if g != 0:
        # (an unbounded φ whose static iteration ran away can leave Δ0 ~ 1e190: no overflow)
        residual = max(
            abs(float(core["energy_residual"])) / (scale**2 if scale < 1e150 else math.inf),
            abs(float(core["mean_residual"])) / (abs(float(core["mean"])) + math.sqrt(scale)),
            abs(float(core["floor_residual"])) / scale)
    if not phi.bounded and g != 0:
        _refuse_unbounded_growth(core, model, residual)
    if not math.isfinite(residual) or residual > 1e-6:
        raise ConvergenceError(
            f"stationary DMFT did not converge at g={g}, phi={phi.name!r}: residual {residual:.2e} "
            f"(Δ0={d0:.6g}); try a larger pair_order")
    dynamic = bool(core["dynamic"])
    floor = float(core["delta_inf"])
    tau = np.round(np.arange(n_tau) * dtau, 12)
    grid_attrs = {}
    if dynamic and g == 0:  # Ornstein–Uhlenbeck: Δ − Δ∞ = (σ²/2) e^{−τ}, E0 = 1
        delta = floor + (d0 - floor) * np.exp(-tau)
        E0, lambda_max, lambda_error, tau_corr = 1.0, -1.0, 0.0, 1.0
        grid_attrs = {"grid_points": 0}
    elif dynamic:
        internal = _internal_solution(core, g, phi, noise, substeps, grid_points,
                                      float(tau[-1]), refine)
        delta = _hermite(internal["tau"], internal["path"], tau)
        delta[0] = d0
        E0, lambda_max = internal["E0"], internal["lambda_max"]
        lambda_error, tau_corr = internal["lambda_error"], internal["tau_corr"]
        grid_attrs = {"grid_points": internal["points"], "grid_tau_end": internal["tau_end"],
                      "grid_well_width": internal["well_width"],
                      "grid_delta_error": internal["path_error"]}
        if not np.all(np.isfinite(delta)):
            raise ConvergenceError(f"stationary DMFT at g={g}: Delta(tau) became non-finite")
        if noise == 0 and not lambda_max > 0:
            raise ConvergenceError(
                f"stationary DMFT at g={g}, phi={phi.name!r}: the chaotic solution has lambda_max = "
                f"{lambda_max:.3g} <= 0, a contradiction (the static solution is stable where "
                "lambda_max < 0); the Gaussian averages are not resolved, try a larger pair_order")
    else:
        delta = np.full(n_tau, d0)
        E0 = float(core["static_potential"])  # constant potential: E0 = U exactly
        lambda_max, lambda_error, tau_corr = _lambda_from_energy(E0), 0.0, 0.0
        grid_attrs = {"grid_points": 0}
    g_c = critical_gain_of(phi, J_mean, theta_mean, theta_std) if (
        critical_gain and noise == 0) else float("nan")
    phase = ("chaotic" if noise == 0 else "driven") if dynamic else "static"
    tail_fraction = float((delta[-1] - floor) / (d0 - floor)) if dynamic else 0.0
    attrs = {
        "model": "SCS DMFT (stationary): dh/dt = -h + J phi(g h) + theta + noise*xi",
        **model.describe(), "tau_max": tau_max, "dtau": dtau, "substeps": substeps,
        "pair_order": pair_order, "scan_points": _SCAN_POINTS, "root_method": "ITP",
        "newton_steps": _NEWTON, "chebyshev_nodes": _CHEB, "phase": phase,
        "tail_fraction": tail_fraction, "refine": refine, **grid_attrs,
        "method": "energy condition (bisection) + RK4 head / log-energy tail on a graded lag "
                  "grid; lambda from the finite-element ground state, Richardson-checked "
                  "(Crisanti & Sompolinsky 2018)",
        "provenance": provenance(),
    }
    return {"tau": tau, "delta": delta, "delta0": d0, "delta_inf": floor,
            "mean": float(core["mean"]), "lambda_max": lambda_max,
            "lambda_max_error": lambda_error, "ground_state_energy": E0, "tau_corr": tau_corr,
            "residual": residual, "g_critical": g_c, "attrs": attrs}


# stationary() takes exactly the arguments of stationary_arrays() (help() and the sweep's
# defaults read them from here)
stationary.__signature__ = inspect.signature(stationary_arrays).replace(
    return_annotation="xr.Dataset")


def stationary_dataset(values: dict[str, Any]) -> xr.Dataset:
    """The Dataset of :func:`stationary` from the plain values of :func:`stationary_arrays`."""
    import xarray as xr  # here, not at import: the dmft command prints without it

    scalar = {"units": "h^2"}
    return xr.Dataset(
        {
            "delta": ("tau", values["delta"], {"long_name": "connected autocorrelation Delta(tau)",
                                               "units": "h^2"}),
            "delta0": ((), values["delta0"], {"long_name": "variance Delta(0)", **scalar}),
            "delta_inf": ((), values["delta_inf"], {
                "long_name": "static (quenched) variance Delta(inf)", **scalar}),
            "mean": ((), values["mean"], {"long_name": "static mean M", "units": "h"}),
            "lambda_max": ((), values["lambda_max"], {"long_name": "maximal Lyapunov exponent",
                                                      "units": "1/tau"}),
            "lambda_max_error": ((), values["lambda_max_error"], {
                "long_name": "estimated discretisation error of lambda_max", "units": "1/tau"}),
            "ground_state_energy": ((), values["ground_state_energy"], {
                "long_name": "E0 of -d2/dtau2 + 1 - g^2<phi'phi'>"}),
            "tau_corr": ((), values["tau_corr"], {"long_name": "autocorrelation time",
                                                  "units": "tau"}),
            "residual": ((), values["residual"], {"long_name": "largest relative residual of the "
                                                               "self-consistency conditions"}),
            "g_critical": ((), values["g_critical"], {
                "long_name": "gain where the static solution destabilises"}),
        },
        coords={"tau": ("tau", values["tau"], {"units": "tau (membrane time constant)"})},
        attrs=values["attrs"],
    )


@partial(jax.jit, static_argnames=("phi",))
def _static_gain(gs, J_mean, theta_mean, theta_std, *, phi):
    model = _Model(phi, gaussian.DEFAULT_PAIR_ORDER)

    def one(g):
        M, d0 = _static(model, g, J_mean, theta_mean, theta_std)
        gain = g * jnp.sqrt(model.dphi_square(g, M, _stability_variance(model, d0)))
        if model.centre is None:
            return gain
        # unbounded φ: where the static condition has no finite root (its iteration ran
        # away) there is no static solution to lose stability: NaN, not a crossing
        residual = d0 - model.second_moment(g, M, d0) - theta_std**2
        ok = jnp.isfinite(residual) & (jnp.abs(residual) <= 1e-8 * (d0 + theta_std**2 + 1e-300))
        return jnp.where(ok, gain, jnp.nan)

    return jax.vmap(one)(gs)


_GAIN_CHUNK = 33  # gains per compiled call of the static-gain scan (198 = 6 × 33 scanned)


def critical_gain_of(phi: str | nonlinearity.Nonlinearity = "tanh", J_mean: float = 0.0,
                     theta_mean: float = 0.0, theta_std: float = 0.0,
                     g_max: float = 20.0) -> float:
    """Gain g_c where the static solution loses stability, g²⟨φ′(x)²⟩ = 1 on the static branch.

    This is where the chaotic solution appears for σ = 0 (SCS 1988; with bias, Crisanti &
    Sompolinsky 2018). Without bias and mean coupling and with φ(0) = 0 the static solution is
    h = 0 and g_c = 1/φ′(0) exactly; otherwise it is found by a scan on [0, g_max] (198 gains) and
    four refinements of 33; NaN if none. An unbounded φ is always scanned (relu without bias: g_c = √2,
    from Δ0 → 0⁺), and gains where its static solution does not exist (the iteration runs
    away) count as no crossing: relu with J_mean = 0 and a bias stays stable until its static
    solution runs off at g = √2, so NaN.
    """
    phi = model_parameters.theory_phi("phi", nonlinearity.get(phi), unbounded=True)
    J_mean = model_parameters.J_mean("J_mean", J_mean)
    theta_mean = model_parameters.theta_mean("theta_mean", theta_mean)
    theta_std = model_parameters.theta_std("theta_std", theta_std)
    # (a kinked unbounded φ has no φ′(0) that decides h = 0: the scan takes Δ0 → 0⁺ instead)
    if (J_mean == 0 and theta_mean == 0 and theta_std == 0 and phi.bounded
            and float(phi.phi(jnp.zeros((), jnp.float64))) == 0.0):
        return 1.0 / phi.slope_at_zero  # static solution h = 0: g φ′(0) = 1
    def gains(values):  # in chunks of one shape: one compilation serves scan and refinements
        return np.concatenate([
            np.asarray(_call(_static_gain, {"phi": phi}, jnp.asarray(chunk), J_mean, theta_mean,
                             theta_std)) for chunk in values.reshape(-1, _GAIN_CHUNK)])

    gs = np.linspace(1e-3, g_max, 6 * _GAIN_CHUNK)
    gain = gains(gs)
    above = np.nonzero(gain >= 1.0)[0]
    if above.size == 0:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(gs[0])
    lo, hi = gs[i - 1], gs[i]
    for _ in range(4):
        trial = np.linspace(lo, hi, _GAIN_CHUNK)
        gain = gains(trial)
        j = int(np.nonzero(gain >= 1.0)[0][0])
        lo, hi = trial[max(j - 1, 0)], trial[j]
    return float(0.5 * (lo + hi))
