"""Sampling (Eissfeller–Opper) DMFT: the single-site process solved by Monte Carlo paths.

Model (h units, gain inside φ): ``dh_i/dt = −h_i + Σ_j J_ij φ(g h_j) + θ_i + I(t) + σ ξ_i`` with
``J_ij ~ N(J_mean/N, 1/N)``, ``corr(J_ij, J_ji) = η``, ``θ_i ~ N(theta_mean, theta_std²)``, white
noise ξ and a common input I(t). In the large-N limit every site obeys the single-site process
(Eissfeller & Opper, PRL 68, 2094 (1992); Crisanti & Sompolinsky, PRA 36, 4922 (1987) and PRE
98, 062120 (2018); Martí, Brunel & Ostojic, PRE 97, 062314 (2018))::

    dh/dt = −h + γ(t) + theta_mean + theta_std z + J_mean m(t) + I(t)
            + η ∫₀ᵗ R_φ(t, s) φ(g h(s)) ds + σ ξ(t)
    ⟨γ(t) γ(t′)⟩ = C_φ(t, t′) = ⟨φ(g h(t)) φ(g h(t′))⟩,     m(t) = ⟨φ(g h(t))⟩,
    R_φ(t, s) = ⟨δφ(g h(t)) / δI(s)⟩ = ⟨g φ′(g h(t)) R_h(t, s)⟩,   z ~ N(0, 1) quenched.

Units: the couplings have variance 1/N (no g outside φ), so the field's covariance is C_φ
itself, not g² C_φ. The memory term is the reaction of the network to the site: h_0 moves h_j
through J_j0, which acts back through J_0j; summed over j, Σ_j J_0j J_j0 χ_jj → η R_φ (the
off-diagonal χ_jk and the fluctuations of J_0j J_j0 vanish as N → ∞). R_φ is the response of
φ(g h(t)) to an impulse δ(t − s) added to dh/dt (h jumps by 1 at s), the field γ held fixed;
R_φ(s⁺, s) = ⟨g φ′(g h(s))⟩. With φ(x) = x the memory term is η g² ∫ R_h(t, s) h(s) ds, the form
of the papers with their g² written out. C_φ is the raw second moment (it includes m m),
because J_ij − J_mean/N has zero mean whatever φ's mean.

Method (one compiled computation: a ``lax.while_loop`` over iterations, then a ``lax.scan``
over the averaged iterations; no host round-trip inside):

1. Time grid t_k = k·dt, k = 0 … n = t1/dt. ``batches`` independent replicas of the
   iteration, each with its own C_φ, m and R_φ and paths/batches paths, so their spread
   gives honest statistical errors (the noise of the driving C_φ, propagated through the
   iteration, included). Each replica draws per iteration: γ = chol(C_φ + jitter·I) ζ,
   h(0) ~ N(0, q0), z, and the Brownian increments.
2. Each path by an exponential integrator: the Ornstein–Uhlenbeck part and the noise exactly
   (a = e^{−dt}, noise variance σ²(1 − a²)/2 per step), the forcing u (γ, biases, J_mean m, I,
   memory) linearly interpolated over the step, h_{k+1} = a h_k + w0 u_k + w1 u_{k+1} + noise
   with w1 = (dt − 1 + a)/dt, w0 = 1 − a − w1: second order for smooth forcing. The memory
   integral is the trapezoid rule on [0, t_k]; its end point φ(g h_k) in u_{k+1} uses the
   predictor a h_k + (1 − a) u_k + noise.
3. R_φ by the tangent of that same scheme (forward mode, ``jax.jvp``) on ``response_paths``
   paths, with φ′ from the Nonlinearity (``dphi``, not autodiff of ``phi``). The full
   Jacobian costs n tangents per path; instead each path gets S = ⌈probe_span/dt⌉ probes, the
   k-th carrying random signs s_l on the times l ≡ k (mod S): E[φ̇_t s_l] = R_φ(t, t_l)
   exactly for t − t_l < probe_span (the other columns of the probe are ≥ probe_span away and
   add only the tail of R beyond probe_span). R_φ is measured on that response window, t − s <
   probe_span, and not beyond: there a comb estimate would be all crosstalk (noise of
   O(1/√paths) on every far entry, which the memory integral turns into a spurious forcing:
   measured, a floor Δ0 ≈ 2e-5 instead of a decay in the quiescent phase). Beyond the window
   the memory integral uses an exponential extension, R_φ(t, t − u) = A e^{−(u − u_S)/τ_R}
   (u_S the window's last lag), fitted each iteration to the window's stationary profile
   (its last two quarters, :func:`_response_tail`; none where that profile is not positive
   and decaying), and summed by a one-term recursion per step (O(1), not O(n)), with the
   trapezoid's weights (the same numbers as the band would give an exponential R_φ: tested).
   ``extend_response=False`` cuts R_φ off at the window instead. Why: at η = 0.5 the response
   decays on the correlation time, and the window of 6-15 τ cuts it where it is still 5-14 %
   of its largest value (attribute ``response_tail`` = max |R_φ| at the window's last lag /
   max |R_φ|). Measured at η = 0.5, g = 3 (t1 = 70): the extension is 6 % of ∫ R_φ (τ_R 4.4)
   and moved Δ0 by +0.01, within its standard error; the low Δ0 there came mostly from the
   short default t1 (:func:`default_window`). ``response_decay_time`` τ_R and
   ``response_tail_share`` (the extension's share of the stationary ∫ R_φ) say what it adds.
   Why not Novikov–Furutsu: it gives
   R_φ = Cov(φ, γ) C_φ⁻¹, and C_φ (a smooth kernel on a fine grid) is ill-conditioned; with
   noise, ⟨φ(t) dW(s)⟩/(σ dt) is well-posed but its variance ~ Var φ/(σ² dt) per path swamps
   R at small dt (and it needs σ > 0). The tangent has no such variance: per path it is exact.
   The probe at t_l (l ≥ 1) is a hat of unit area on the linearly interpolated forcing (height
   1/dt at t_l, zero at t_{l±1}), not a jump of h at t_l: a jump put on the grid point is seen
   by the trapezoid rule as a ramp over [t_{l−1}, t_l], i.e. as an impulse dt/2 early in the
   memory integral, an O(dt) error of R_φ (measured before this choice: Δ0 15 % high at
   η = −0.5, g = 3, dt = 0.1). The hat is symmetric about t_l, so its error is O(dt²); it has
   delivered only half its area at t_l itself, so the diagonal R_φ(t⁺, t) = ⟨g φ′(g h(t))⟩ is
   taken from all paths directly. The probe at t_0 = 0 stays a jump of h(0) (the integral starts
   there, with the trapezoid's half weight).
4. New C_φ = ⟨φφ⟩, m = ⟨φ⟩, R_φ per replica; damped: X ← damping·X + (1 − damping)·X_new.
5. Convergence. change = rms over blocks of ~1 τ × 1 τ of the replica mean of C_φ,new − C_φ,
   relative to rms C_φ; noise = the same rms of its standard error over replicas. Sampling noise alone
   makes E[change²] = noise², so the systematic residual √max(change² − noise², 0) must fall
   below ``tol``. That test alone is blind where the iteration is slow: it is a Picard
   iteration of a causal map, converging from early times forward, and its slow mode (the tail
   of C at long lags) drifts by less than one iteration's sampling noise (measured at g = 2:
   Δ(3)'s deficit went 0.154, 0.115, 0.084 … 0.020 over iterations 2 … 12; at η = −0.5, g = 3
   forty iterations left Δ0 at 0.0668 ± 0.0006 from one initial guess and 0.0719 ± 0.0007 from
   another). Hence the bracket: the first half of the replicas starts from C_φ ∝
   e^{−|t−t′|/τ_fast}, the second from e^{−|t−t′|/τ_slow} (``guess_tau``, default 1 and 10 τ),
   which approach the solution from either side. Each iteration compares the halves'
   stationary readings (the late part of the connected C_h, averaged along block diagonals,
   each replica's averaged over the last ``bracket_window`` iterations): gap = rms over lags
   of the difference of the half means relative to the lag-0 value, gap noise = the same rms
   of the difference's standard error. Convergence needs both the residual and
   √max(gap² − gap noise², 0) ≤ ``tol``, from ``min_iterations`` on (ConvergenceError after
   ``iterations`` otherwise, naming the iteration, the residual and the gap). The test can
   resolve a gap only down to its noise, so what it guarantees is that the halves agree
   within their sampling error; the Dataset keeps both halves' readings (``delta_guess``) and
   the per-iteration ``trace`` to show it. The bracket also makes the error bars honest:
   started from one deterministic guess, the replicas share the guess's slow mode until it has
   relaxed, and their spread understates the error (measured at η = −0.5, g = 3, 4096 paths:
   SE of Δ0 0.0006 after 40 iterations, 0.0016 after 100). Then ``average`` more iterations
   are run and their measured C, m and R averaged in each replica.
6. Stationary reading of the late part t ≥ ``transient``: Δ(τ) = ⟨δh(t) δh(t+τ)⟩ (connected
   over paths, unbiased) averaged over t, per replica; the result is the replica mean and
   ``*_sem`` its standard error over replicas. τ_corr = ∫₀^{tau_max} (Δ − Δ∞) dτ / (Δ0 − Δ∞),
   Δ∞ the mean of Δ over the last quarter of the lags.

What it needs from φ are ``phi`` and ``dphi`` of its :class:`~neurodyn.nonlinearity.Nonlinearity`
(any φ, bounded or not): paths that leave |h| ≤ 1e12 or become non-finite raise
DivergenceError naming the iteration and the time (relu above its limit).

Phase (attrs): "driven" with noise or an input; else "quiescent" when Δ0 is below
1e-4·(q0 + theta_std²) + 3 SE at the late times, "static" when Δ0 − Δ∞ is (frozen quenched
disorder only), otherwise "chaotic". For η ≠ 0 the trivial fixed point loses stability at
g φ′(0)(1 + η) = 1 (the elliptic law for the spectrum of J).

Discretisation: second order in dt, with and without the memory term (steps 2 and 3).
Measured (before the bracket: 40 iterations from one guess, which left Δ0 some 5 % low at this
point), η = −0.5, g = 3, tanh, 16384 paths: Δ0 = 0.0652 ± 0.0007, 0.0681 ± 0.0003 at dt = 0.2,
0.1 (t1 = 40) and 0.0676 ± 0.0008, 0.0681 ± 0.0006 at dt = 0.1, 0.05 (t1 = 20): converged at
the default dt 0.1 to within its standard error. (With the probe as a jump of h, first order,
the same point gave 0.0917, 0.0828, 0.0773 at dt = 0.2, 0.1, 0.05.) Linear φ against its closed
form (g = 1.2, η = −0.5, σ = 1, 8192 paths): Δ0 −1.3 ± 0.3 % at dt = 0.2, −0.1 ± 0.3 % at 0.1.
Convergence at the defaults, measured with the bracket (4096 or 8192 paths, tol 0.01; the
stored runs are benchmarks/sampling_dmft_check.json and
benchmarks/sampling_vs_simulation.json): tanh, η = 0 passes both tests after 25–36 iterations
at g = 3, 2, 1.5 (then min_iterations holds it to 40); η = −0.5 in 110 and 78 iterations at g =
3, 4 (Δ0 = 0.0728 ± 0.0010 at g = 3, against 0.0728 ± 0.0006 simulated at N = 4000 over 8
networks, benchmarks/eta_finite_n.json, where 40 iterations from one guess gave 0.0668). Before
the bracket the default answer depended on the initial guess there and was low by 8 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from .. import nonlinearity, rng, validation
from ..errors import ConvergenceError, DivergenceError, ParameterError
from ..mean_field import MeanFieldModel
from ..provenance import provenance

if TYPE_CHECKING:
    import xarray as xr

_LIMIT = 1e12  # |h| beyond this counts as divergence (well before float64 overflow)
_JITTER = 1e-10  # relative diagonal jitter: the sample C_φ of few paths is only semi-definite
_PHASE_FLOOR = 1e-4  # Δ0 below this × (q0 + theta_std²) (+3 SE) at late times: quiescent
_WINDOW = (40.0, 100.0)  # the default t1's range (τ): 100 τ is 1001 grid points at dt = 0.1
_WINDOW_PER_TAU = 6.5  # default t1 in units of the guessed τ_corr (transient t1/2: 3.25 τ_corr)
_SYMMETRIC_WINDOW = (2.0, 200.0)  # η > 0: twice the window, up to 200 τ (default_window)


def default_window(model: MeanFieldModel) -> float:
    """The default t1 (τ units) of :func:`sampling` for ``model``: 6.5 guessed correlation
    times, rounded up to a multiple of 10 τ, within [40, 100] τ; the transient is then t1/2.

    Why: the reading needs the late, stationary part of the paths and the iteration's slow
    mode is the tail of C; both are as slow as the correlations, which grow without bound at
    the transition. The guess uses the distance from the elliptic-law transition,
    x = g |φ′(0)| (1 + η): τ_guess = (3.5 + 3/(x − 1)) F(η) for x > 1, a fit to the analytic
    stationary solver's ∫(Δ − Δ∞)/(Δ0 − Δ∞) for tanh at η = 0 (9.45, 6.51, 5.02 at g = 1.5,
    2, 3; the fit gives 9.5, 6.5, 5.0), times F(η) = ETA_FACTOR(η) for the slowing of the
    partially symmetric network (measured; see ``_eta_factor``). For x ≤ 1 (a fixed point,
    or a φ with φ′(0) = 0) the minimum, 40 τ. Why: with t1 = 40, transient 13.3 at g = 1.5
    Δ0 was low by 1.7 % (z = −2.2) and t1 = 60, transient 30 gave z = −0.1 (earlier runs of
    scripts/sampling_dmft_check.py). NOT YET MEASURED at these adapted defaults (t1 70,
    transient 35 at g = 1.5; 50, 25 at g = 2; 40, 20 at g = 3): run that script with --out.

    η > 0: twice that, within [40, 200] τ. Why: the partially symmetric network's
    correlations have a slow tail that the guess misses, and a window that cuts it leaves
    Δ0 low. Measured at η = 0.5, g = 3 (τ_guess 10.5; simulated Δ0 1.532 ± 0.006, N = 2000,
    8 seeds, benchmarks/sampling_vs_simulation.json): t1 = 70 gave 1.459 ± 0.028 (z = −2.6)
    and τ_corr 7.8; t1 = 140 gave 1.503 ± 0.018 (z = −1.6, 4096 paths) and τ_corr 13.9, and
    at the new defaults (t1 140, 8192 paths, the stored run) 1.537 ± 0.027 (z = −0.2). At
    g = 2, t1 = 160: 1.405 ± 0.016 against 1.437 ± 0.013 (z = 1.5; 4.1 at the old t1 = 80).
    Not converged in t1 at long lags: the τ_corr read from a window grows with it (7.8, 10.7,
    13.9 at t1 = 70, 120, 140, g = 3) and exceeds the simulated one (12.4) at t1 = 140."""
    guess = _tau_guess(model)
    factor, longest = _SYMMETRIC_WINDOW if model.symmetry > 0 else (1.0, _WINDOW[1])
    return float(min(max(_WINDOW[0], 10.0 * math.ceil(factor * _WINDOW_PER_TAU * guess / 10.0)),
                     longest))


def _tau_guess(model: MeanFieldModel) -> float:
    """The guessed correlation time of :func:`default_window` (τ units; 0 for x ≤ 1)."""
    x = model.g * abs(model.phi.slope_at_zero) * (1.0 + model.symmetry)
    if not x > 1.0:
        return 0.0
    return (3.5 + 3.0 / (x - 1.0)) * _eta_factor(model.symmetry)


def _eta_factor(eta: float) -> float:
    """How much longer the correlations of an η-network are than at η = 0 and the same x:
    ((1 + η)/(1 − η))^0.8, capped at 10 (measured with this solver at t1 = 120, dt = 0.2:
    τ_corr 10.7 and 11.4 at η = 0.5, g = 3 and 2, 2.4× and 2.3× the η = 0 fit at the same x;
    3.0 and 2.3 at η = −0.5, g = 3 and 4, 0.32× and 0.35×; the formula gives 2.4 and 0.42)."""
    return min(((1.0 + eta) / max(1.0 - eta, 1e-12)) ** 0.8, 10.0)


_PATHS = 4096
_LONG_TAU = 8.0  # guessed τ_corr (τ) above which the default paths double


def default_paths(model: MeanFieldModel) -> int:
    """The default number of paths of :func:`sampling`: 4096, or 8192 when the guessed
    correlation time exceeds 8 τ (near the transition). Why: Δ0's standard error is ≤ 1 % of
    Δ0 with 4096 paths at g = 2 and 3 (tanh, η = 0: 0.89 % and 0.75 %) but 1.35 % at g = 1.5
    (τ_guess 9.5; benchmarks/sampling_dmft_check.json), and the error falls as 1/√paths."""
    return 2 * _PATHS if _tau_guess(model) > _LONG_TAU else _PATHS


def default_probe_span(model: MeanFieldModel) -> float:
    """The default response window (τ): the guessed correlation time, within [6, 15] τ (R_φ
    decays on the time scale of the correlations; at η = 0.5, g = 2-3 a 6 τ window cut R_φ
    where it was still 10-14 % of its largest value, ``response_tail``)."""
    return float(min(max(6.0, _tau_guess(model)), 15.0))

def _resolve_model(model: MeanFieldModel | None, keywords: dict) -> MeanFieldModel:
    given = {name: value for name, value in keywords.items() if value is not None}
    if model is None:
        return MeanFieldModel(**given)
    if not isinstance(model, MeanFieldModel):
        raise ParameterError(f"model={model!r} is not a neurodyn.MeanFieldModel")
    if given:
        raise ParameterError(
            f"model= and {', '.join(f'{k}={v!r}' for k, v in given.items())} were both given; "
            "pass the parameters in the model or as keywords, not both")
    return model


def _activation(phi: nonlinearity.Nonlinearity):
    """x ↦ φ(x) whose forward derivative is the Nonlinearity's own φ′ (``dphi``), so a φ
    written with non-differentiable operations still has the response its author declared."""

    @jax.custom_jvp
    def act(x):
        return phi.phi(x)

    @act.defjvp
    def _(primals, tangents):
        (x,), (dx,) = primals, tangents
        return phi.phi(x), phi.dphi(x) * dx

    return act


def _path(h0, forcing, increments, impulse, rbar, p, *, phi, memory):
    """One single-site path on the grid (step 2 of the module docstring).

    **Arguments:** ``h0`` scalar; ``forcing`` (n+1,): γ + biases + J_mean m + I at t_k;
    ``increments`` (n,) standard normals of the noise; ``impulse`` (n+1,): jumps added to h_k
    (zero for the path itself; its tangent gives the response); ``rbar``: R_φ on the response
    window as (band (n+1, S), diagonal (n+1,), and the exponential extension beyond it,
    amplitude and ratio) from :func:`_banded` (ignored unless
    ``memory``): each step costs O(S), not O(n); ``p``: dict of scalars (g, eta, noise, dt).

    **Returns:** h (n+1,).
    """
    act = _activation(phi)
    dt, g, eta = p["dt"], p["g"], p["eta"]
    a = jnp.exp(-dt)
    b = -jnp.expm1(-dt)
    w1 = (dt - b) / dt
    w0 = b - w1
    scale = p["noise"] * jnp.sqrt(-jnp.expm1(-2.0 * dt) / 2.0)
    n = increments.shape[0]
    # the response probes: a jump of h at t = 0, a hat of unit area (height 1/dt on the
    # linearly interpolated forcing) at every later t_l (module docstring, step 3)
    h0 = h0 + impulse[0]
    forcing = forcing + impulse.at[0].set(0.0) / dt
    if not memory:
        def step(h, k):
            new = a * h + w0 * forcing[k] + w1 * forcing[k + 1] + scale * increments[k]
            return new, new

        _, hs = jax.lax.scan(step, h0, jnp.arange(n))
        return jnp.concatenate([h0[None], hs])

    # rbar = (band, diagonal, amplitude, ratio): band[k, j] = R_φ(t_k, t_{k−j}) × trapezoid
    # weight (dt, dt/2 at t = 0), 1 ≤ j < S (the response window); diagonal[k] = R_φ(t_k, t_k⁺),
    # the end point; beyond the window R_φ(t_k, t_{k−j}) = amplitude · ratio^{j−S+1}, j ≥ S
    # (:func:`_response_tail`), summed by the recursion tail_{k+1} = ratio (φ_{k+1−S} + tail_k)
    band, diagonal, amplitude, ratio = rbar
    width = band.shape[1]
    buffer0 = jnp.zeros(width - 1, forcing.dtype).at[0].set(act(g * h0))
    far_weight = amplitude * dt

    def step(carry, k):
        # buffer[j − 1] = φ(g h_{k+1−j}), j = 1 … S−1 (0 before t = 0); tail = Σ_{j ≥ S}
        # ratio^{j−S+1} φ(g h_{k+1−j}), the exponential extension's sum for t_{k+1}
        h, u, buffer, tail = carry
        xi = scale * increments[k]
        predicted = a * h + b * u + xi
        past = jnp.dot(band[k + 1, 1:], buffer) + far_weight * tail
        end = 0.5 * dt * diagonal[k + 1]
        u_right = forcing[k + 1] + eta * (past + end * act(g * predicted))
        new = a * h + w0 * u + w1 * u_right + xi
        value = act(g * new)
        # φ(g h_{k+2−S}) leaves the window (φ(g h_0) with the trapezoid's half weight)
        leaving = buffer[-1] * jnp.where(k == width - 2, 0.5, 1.0)
        tail = ratio * (leaving + tail)
        buffer = jnp.concatenate([value[None], buffer[:-1]])
        return (new, forcing[k + 1] + eta * (past + end * value), buffer, tail), new

    carry0 = (h0, forcing[0], buffer0, jnp.zeros((), forcing.dtype))
    _, hs = jax.lax.scan(step, carry0, jnp.arange(n))
    return jnp.concatenate([h0[None], hs])


_TAIL_LONGEST = 4.0  # response windows: the longest decay time of the extension
_TAIL_FLOOR = 0.01  # of R_φ(t⁺, t): a far quarter below it is not extended


def _response_tail(rbar, width, dt):
    """The exponential extension of R_φ beyond the response window: (amplitude, ratio) with
    R_φ(t, t − j dt) ≈ amplitude · ratio^{j−S+1} for lags j ≥ S = ``width`` (module docstring,
    step 3). Fitted to the window's last two quarters of lags over the late half of the grid
    (R_φ averaged along its diagonals there): the mean over the last quarter against the mean
    over the quarter before gives the decay rate, and the last quarter's mean, carried to lag
    S − 1, the amplitude. Decay times are cut at ``_TAIL_LONGEST`` windows (a nearly flat
    profile says only that the tail is long, not how long). (0, 0), no extension, unless the
    last two quarters are positive at every lag and decaying, and the last quarter's mean
    exceeds both 3 of its standard errors (from the spread of its means over blocks of S/4
    rows, which are nearly independent: the comb's crosstalk has independent signs in every
    column) and ``_TAIL_FLOOR`` of R_φ(t⁺, t); also none when the window is shorter than 8
    steps or the late half holds fewer than 4 blocks. Why: at η = −0.5 R_φ undershoots and
    rings at the noise level near the window's end (measured: −0.04 at 1.5-2 τ, +0.008 at
    2.5-3 τ, against 2.1 at 0⁺), and a fit to such a far quarter extended noise as a tail.

    ``rbar`` (n+1, n+1) → two scalars (the tail's decay time is −dt / log ratio)."""
    n1 = rbar.shape[0]
    zero = jnp.zeros((), rbar.dtype)
    quarter = width // 4
    late = n1 - n1 // 2
    blocks = late // max(quarter, 1)
    if width < 8 or width > n1 // 2 or blocks < 4:
        return zero, zero
    rows = jnp.arange(n1 - blocks * quarter, n1)[:, None]
    diagonals = rbar[rows, rows - jnp.arange(width - 2 * quarter, width)[None, :]]
    near_rows = jnp.mean(diagonals[:, :quarter], axis=1).reshape(blocks, quarter).mean(axis=1)
    far_rows = jnp.mean(diagonals[:, quarter:], axis=1).reshape(blocks, quarter).mean(axis=1)
    near, far = jnp.mean(near_rows), jnp.mean(far_rows)
    far_sem = jnp.std(far_rows, ddof=1) / jnp.sqrt(blocks)
    peak = jnp.max(jnp.abs(jnp.diagonal(rbar)[n1 // 2:]))  # R_φ(t⁺, t) = ⟨g φ′⟩, its largest
    valid = ((far > jnp.maximum(3.0 * far_sem, _TAIL_FLOOR * peak)) & (near > far)
             & jnp.all(jnp.mean(diagonals, axis=0) > 0))
    rate = jnp.maximum(jnp.log(jnp.where(valid, near / far, 2.0)) / (quarter * dt),
                       1.0 / (_TAIL_LONGEST * width * dt))  # 1/τ_R
    # the value at lag S − 1 of the exponential whose mean over the last quarter is ``far``
    ratio = jnp.exp(-rate * dt)
    amplitude = far * quarter / jnp.sum(ratio ** -jnp.arange(quarter, dtype=rbar.dtype))
    return jnp.where(valid, amplitude, zero), jnp.where(valid, ratio, zero)


def _banded(rbar, width, dt, tail):
    """(band, diagonal, amplitude, ratio) of :func:`_path` from R_φ (n+1, n+1) on the response
    window and ``tail`` = (amplitude, ratio), the extension beyond it."""
    n1 = rbar.shape[0]
    k = jnp.arange(n1)[:, None]
    l = k - jnp.arange(width)[None, :]
    weight = jnp.where(l == 0, 0.5, 1.0) * dt
    band = jnp.where(l >= 0, rbar[k, jnp.clip(l, 0, n1 - 1)] * weight, 0.0)
    return band, jnp.diagonal(rbar), *tail


def _linear_paths(h0, forcing, increments, p):
    """The paths of :func:`_path` without the memory term, all at once: the scheme is then a
    linear recurrence, h_k = a^k h0 + Σ_{j<k} a^{k−1−j} (w0 u_j + w1 u_{j+1} + noise_j), i.e.
    one product with a lower-triangular Toeplitz matrix instead of a scan over n steps
    (identical numbers up to round-off; a scan costs a loop trip per step).

    ``h0`` (P,), ``forcing`` (P, n+1), ``increments`` (P, n) → h (P, n+1)."""
    dt = p["dt"]
    b = -jnp.expm1(-dt)
    w1 = (dt - b) / dt
    w0 = b - w1
    scale = p["noise"] * jnp.sqrt(-jnp.expm1(-2.0 * dt) / 2.0)
    n = increments.shape[-1]
    drive = w0 * forcing[:, :-1] + w1 * forcing[:, 1:] + scale * increments  # (P, n)
    k = jnp.arange(n + 1)[:, None]
    j = jnp.arange(n)[None, :]
    power = jnp.where(j < k, (k - 1 - j).astype(forcing.dtype), 0.0)
    propagator = jnp.where(j < k, jnp.exp(-dt * power), 0.0)  # (n+1, n): a^{k−1−j}
    return jnp.exp(-dt * k[:, 0])[None, :] * h0[:, None] + drive @ propagator.T


def _replica_iteration(state, key, p, drive, tail, *, phi, per_batch, response_paths, probes,
                       memory):
    """One iteration of one replica: draw paths, measure C_φ, m, R_φ, C_h, ⟨h⟩.

    ``state`` = (C_φ (n+1, n+1), m (n+1,), R_φ (n+1, n+1)); ``tail`` = (amplitude, ratio) of
    the extension of R_φ beyond the window (:func:`_response_tail`, fitted to the replicas'
    mean). Returns the measured quantities and the first grid index where a path diverged
    (n+1: none).
    """
    C_phi, rate, rbar = state
    n1 = C_phi.shape[0]
    dtype = C_phi.dtype
    k_normal, k_signs = jax.random.split(key)
    # one draw for the field, h(0), z and the noise (each random call is a separate piece of
    # compiled threefry: measured 2.5 s of compilation per call under load)
    normal = jax.random.normal(k_normal, (per_batch, 2 * n1 + 1), dtype)
    jitter = _JITTER * (jnp.trace(C_phi) / n1 + 1e-300)
    chol = jnp.linalg.cholesky(C_phi + jitter * jnp.eye(n1, dtype=dtype))
    field = normal[:, :n1] @ chol.T
    h0 = jnp.sqrt(p["q0"]) * normal[:, n1]
    z = normal[:, n1 + 1: n1 + 2]
    increments = normal[:, n1 + 2:]
    forcing = (field + p["theta_mean"] + p["theta_std"] * z + p["J_mean"] * rate[None]
               + drive[None])
    run = partial(_path, phi=phi, memory=memory)
    zero = jnp.zeros(n1, dtype)
    if memory:
        banded = _banded(rbar, probes, p["dt"], tail)
        hs = jax.vmap(lambda h, f, w: run(h, f, w, zero, banded, p))(h0, forcing, increments)
    else:
        hs = _linear_paths(h0, forcing, increments, p)
    act = _activation(phi)
    values = act(p["g"] * hs)
    finite = jnp.isfinite(hs) & (jnp.abs(hs) <= _LIMIT)
    bad_time = jnp.where(jnp.all(finite, axis=0), n1, jnp.arange(n1, dtype=jnp.int64))
    bad = jnp.where(jnp.all(jnp.isfinite(chol)), jnp.min(bad_time), 0)
    safe_values = jnp.where(finite, values, 0.0)
    safe_h = jnp.where(finite, hs, 0.0)
    out = {
        "C_phi": safe_values.T @ safe_values / per_batch,
        "rate": jnp.mean(safe_values, axis=0),
        "C_h": safe_h.T @ safe_h / per_batch,
        "mean": jnp.mean(safe_h, axis=0),
    }
    if memory:
        signs = jax.random.rademacher(k_signs, (response_paths, n1), dtype)
        phase = jnp.arange(n1) % probes
        select = (phase[None, :] == jnp.arange(probes)[:, None]).astype(dtype)  # (S, n+1)

        def response(h, f, w, s):
            # tangents of φ(g h) along the S comb probes of this path (the primal is shared)
            def values_of(impulse):
                return act(p["g"] * run(h, f, w, impulse, banded, p))

            return jax.vmap(lambda v: jax.jvp(values_of, (zero,), (v,))[1])(select * s[None])

        m = response_paths
        tangents = jax.vmap(response)(h0[:m], forcing[:m], increments[:m], signs)  # (m, S, t)
        tangents = jnp.where(jnp.isfinite(tangents), tangents, 0.0)
        # R[t, l] = mean over paths of the tangent of probe l mod S at t, times the sign s_l:
        # one matrix product over (path, probe) instead of an (m, t, l) array
        probe_signs = (signs[:, None, :] * select[None]).reshape(m * probes, n1)
        estimate = tangents.reshape(m * probes, n1).T @ probe_signs / m
        # the response window: lags < S only. Beyond it a comb estimate would carry the
        # crosstalk of the probe's other columns (O(1/√paths) noise on every far entry, which
        # the memory integral turns into a spurious forcing), and R is small there anyway
        lag = jnp.arange(n1)[:, None] - jnp.arange(n1)[None, :]
        estimate = jnp.where((lag >= 0) & (lag < probes), estimate, 0.0)
        # the diagonal R_φ(t⁺, t) = ⟨g φ′(g h(t))⟩ is exact on every path (a hat probe
        # centred on t_l has delivered only half its area by t_l)
        slope = jnp.mean(jnp.where(finite, p["g"] * phi.dphi(p["g"] * safe_h), 0.0), axis=0)
        diagonal = jnp.arange(n1)
        out["R_phi"] = estimate.at[diagonal, diagonal].set(slope)
    else:
        out["R_phi"] = rbar
    return out, bad


def _blocks(x, width):
    """Means of ``x`` (…, n, n) over width × width blocks (the last partial block dropped)."""
    m = x.shape[-1] // width
    x = x[..., : m * width, : m * width]
    return x.reshape(x.shape[:-2] + (m, width, m, width)).mean(axis=(-3, -1))


def _relative_rms(x, scale):
    return jnp.sqrt(jnp.mean(x**2)) / (jnp.sqrt(jnp.mean(scale**2)) + 1e-300)


def _net_of_noise(measure, noise):
    """``measure`` net of its sampling ``noise``: √max(measure² − noise², 0), both rms."""
    return jnp.sqrt(jnp.maximum(measure**2 - noise**2, 0.0))


def _profile_weights(m: int) -> np.ndarray:
    """Weights (K+1, m, m) that average a block matrix along its diagonals over the late rows
    r ≥ m/2: the block version of the stationary reading, lags k = 0 … K = (m − m/2)/2."""
    start = m // 2
    lags = max((m - start) // 2, 1)
    weights = np.zeros((lags + 1, m, m))
    for k in range(lags + 1):
        rows = np.arange(start, m - k)
        weights[k, rows, rows + k] = 1.0 / max(rows.size, 1)
    return weights


@partial(jax.jit, static_argnames=("phi", "batches", "per_batch", "response_paths", "probes",
                                   "memory", "average", "block", "split", "trace_length",
                                   "window"))
def _solve(state, p, drive, key, max_iterations, min_iterations, *, phi, batches, per_batch,
           response_paths, probes, memory, average, block, split, trace_length, window):
    """The whole solve (module docstring, steps 1–5) for ``batches`` replicas at once.

    ``state``: the replicas' initial (C_φ, m, R_φ), shapes (B, n+1, n+1), (B, n+1), (B, n+1,
    n+1). Replicas [0, split) and [split, B) are the bracket's two halves (split = 0: no
    bracket). Returns iterations, residual, change, noise, gap, gap_noise, the divergence
    index and iteration, the per-iteration ``trace`` (trace_length, 4) of (change, noise, gap,
    gap_noise) and the averaged outputs.
    """
    one = partial(_replica_iteration, phi=phi, per_batch=per_batch,
                  response_paths=response_paths, probes=probes, memory=memory)
    iterate = jax.vmap(one, in_axes=(0, 0, None, None, None))
    n1 = drive.shape[0]
    alpha = p["damping"]  # max_iterations is traced: changing it does not recompile

    def mean_and_sem(x):
        return jnp.mean(x, axis=0), jnp.std(x, axis=0, ddof=1) / jnp.sqrt(x.shape[0])

    profile_weights = jnp.asarray(_profile_weights(n1 // block), drive.dtype)

    def advance(state, i):
        keys = jax.vmap(lambda b: jax.random.fold_in(jax.random.fold_in(key, i), b))(
            jnp.arange(batches))
        # the extension of R_φ beyond the window, fitted to the replicas' mean R_φ: one
        # replica's few response paths leave its far quarter too noisy for a fit (measured
        # with 8 per replica at η = −0.5: spurious tails doubled the spread of Δ0), and the
        # extension is a small part of the memory (≤ 8 % of ∫ R_φ at η = 0.5), so sharing it
        # costs the replicas little of their independence. Not in the first iteration: its
        # R_φ is the guess g φ′(0) e^{−(t−s)}, not a measurement, and extending it invents a tail
        amplitude, ratio = (_response_tail(jnp.mean(state[2], axis=0), probes, p["dt"])
                            if memory else (jnp.zeros((), drive.dtype),) * 2)
        extend = p["extend_response"] * (i > 0).astype(drive.dtype)
        out, bad = iterate(state, keys, p, drive, (extend * amplitude, ratio))
        C_phi, rate, rbar = state
        # measured on blocks of ~one membrane time (w × w grid points): each entry's sampling
        # noise is large (~√(2/paths)), block means show a coherent drift much earlier
        measured = _blocks(out["C_phi"], block)
        mean_difference, sem = mean_and_sem(measured - _blocks(C_phi, block))
        reference = jnp.mean(measured, axis=0)
        change = _relative_rms(mean_difference, reference)
        noise = _relative_rms(sem, reference)
        # each replica's stationary reading on blocks: the late part of the connected C_h
        # averaged along its diagonals (B, K+1), what the bracket compares
        if split:
            connected = out["C_h"] - out["mean"][:, :, None] * out["mean"][:, None, :]
            profile = jnp.einsum("kij,bij->bk", profile_weights, _blocks(connected, block))
        else:
            profile = jnp.zeros((batches, 1), drive.dtype)  # no bracket: nothing to compare
        new = (alpha * C_phi + (1 - alpha) * out["C_phi"], alpha * rate + (1 - alpha) * out["rate"],
               alpha * rbar + (1 - alpha) * out["R_phi"])
        return new, out, change, noise, profile, jnp.min(bad)

    def bracket_gap(profiles, filled):
        # the two halves' profiles, each replica's averaged over the last ``filled`` iterations
        # (the window), and the noise of their difference from the spread over replicas
        mean = jnp.sum(profiles, axis=0) / filled  # (B, K+1)
        fast, fast_sem = mean_and_sem(mean[:split])
        slow, slow_sem = mean_and_sem(mean[split:])
        scale = jnp.abs(jnp.mean(mean[:, :1])) + 1e-300  # the lag-0 block
        gap = jnp.sqrt(jnp.mean((fast - slow) ** 2)) / scale
        return gap, jnp.sqrt(jnp.mean(fast_sem**2 + slow_sem**2)) / scale

    def running(carry):
        i, _, _, bad, done_at, _, count, _, _ = carry
        return (bad >= n1) & (count < average) & ((done_at >= 0) | (i < max_iterations))

    def body(carry):
        # one compiled iteration serves both phases: until the residual and the bracket's gap
        # are ≤ tol, then the ``average`` iterations whose measured outputs are summed
        i, state, measures, bad, done_at, sums, count, trace, profiles = carry
        new, out, change_i, noise_i, profile, bad_i = advance(state, i)
        averaging = done_at >= 0
        # the window of the last ``window`` iterations' profiles, a ring buffer
        profiles = jnp.where(averaging, profiles, profiles.at[i % window].set(profile))
        if split:
            gap_i, gap_noise_i = bracket_gap(profiles, jnp.minimum(i + 1, window))
        else:
            gap_i = gap_noise_i = jnp.zeros((), change_i.dtype)
        measures_i = jnp.stack([change_i, noise_i, gap_i, gap_noise_i])
        residual_i = _net_of_noise(change_i, noise_i)
        gap_residual_i = _net_of_noise(gap_i, gap_noise_i)
        sums = jax.tree_util.tree_map(lambda s, x: jnp.where(averaging, s + x, s), sums, out)
        count = count + averaging.astype(count.dtype)
        newly = ((~averaging) & (i + 1 >= min_iterations) & (i + 1 >= window)
                 & (residual_i <= p["tol"]) & (gap_residual_i <= p["tol"]))
        trace = trace.at[jnp.minimum(i, trace_length - 1)].set(measures_i)
        return (i + 1, new, jnp.where(averaging, measures, measures_i),
                jnp.minimum(bad, bad_i), jnp.where(newly, i + 1, done_at), sums, count, trace,
                profiles)

    dtype = drive.dtype
    none = jnp.asarray(n1, jnp.int64)  # "no divergence": an index past the grid
    zero = jnp.asarray(0, jnp.int64)
    shapes = jax.eval_shape(lambda s: advance(s, zero), state)
    sums = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes[1])
    trace = jnp.full((trace_length, 4), jnp.nan, dtype)
    profiles = jnp.zeros((window,) + shapes[4].shape, dtype)
    carry = (zero, state, jnp.full(4, jnp.inf, dtype), none, jnp.asarray(-1, jnp.int64), sums,
             zero, trace, profiles)
    i, state, measures, bad, done_at, sums, count, trace, _ = jax.lax.while_loop(
        running, body, carry)
    outputs = jax.tree_util.tree_map(lambda x: x / jnp.maximum(count, 1), sums)
    change, noise, gap, gap_noise = measures
    return {"iterations": jnp.where(done_at >= 0, done_at, i), "converged": done_at >= 0,
            "residual": _net_of_noise(change, noise), "change": change,
            "noise": noise, "gap": gap, "gap_noise": gap_noise,
            "gap_residual": _net_of_noise(gap, gap_noise), "bad": bad,
            "bad_iteration": jnp.where(bad < n1, i, -1), "trace": trace, **outputs}


def _trace_length(rows: int) -> int:
    """The trace's static length: ``rows`` rounded up to a multiple of 64, so that nearby
    iteration limits share one compilation."""
    return 64 * math.ceil(rows / 64)


def _guess_taus(guess_tau, batches: int) -> tuple[float, ...]:
    """``guess_tau`` as (τ,) (one guess for every replica) or (τ_fast, τ_slow) (the bracket)."""
    values = guess_tau if isinstance(guess_tau, (tuple, list)) else (guess_tau,)
    if len(values) not in (1, 2):
        raise ParameterError(f"guess_tau={guess_tau!r} must be one positive number or a pair "
                             "(fast, slow) of them")
    values = tuple(validation.positive("guess_tau", value) for value in values)
    if len(values) == 2 and batches < 4:
        raise ParameterError(f"guess_tau={guess_tau!r} is a bracket, which needs batches >= 4 "
                             f"(two replicas per half); got batches={batches!r}")
    return values


def _input_on_grid(value, t: np.ndarray) -> np.ndarray:
    if value is None:
        return np.zeros_like(t)
    if callable(value):
        try:
            drive = np.asarray(value(jnp.asarray(t)), dtype=np.float64)
        except Exception as error:  # noqa: BLE001 - any failure of the user's function
            raise ParameterError(f"input={value!r} failed on the time grid (an array of "
                                 f"{t.size} times): {error}") from error
        drive = np.broadcast_to(drive, t.shape) if drive.ndim == 0 else drive
    else:
        try:
            drive = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"input={value!r} is neither an array nor a callable") from None
    if drive.shape != t.shape:
        raise ParameterError(f"input has shape {drive.shape}; it must have the shape of the "
                             f"time grid ({t.size},) = (t1/dt + 1,), or be a callable I(t)")
    if not np.all(np.isfinite(drive)):
        raise ParameterError("input has non-finite values; a finite I(t) is required")
    return np.array(drive)


def _stationary_reading(C_h, mean, per_batch, start, lags):
    """Δ(τ) per replica from the late part: the connected C_h averaged along the diagonals.

    ``C_h`` (B, n+1, n+1), ``mean`` (B, n+1). Returns (B, lags+1)."""
    n1 = C_h.shape[-1]
    connected = (C_h - mean[:, :, None] * mean[:, None, :]) * per_batch / (per_batch - 1)
    t = np.arange(start, n1)
    out = np.empty((C_h.shape[0], lags + 1))
    for lag in range(lags + 1):
        rows = t[t + lag < n1]
        out[:, lag] = connected[:, rows, rows + lag].mean(axis=1)
    return out


def sampling(
    model: MeanFieldModel | None = None,
    *,
    g: float | None = None,
    phi: nonlinearity.PhiLike | None = None,
    J_mean: float | None = None,
    theta_mean: float | None = None,
    theta_std: float | None = None,
    noise: float | None = None,
    symmetry: float | None = None,
    t1: float | None = None,
    dt: float = 0.1,
    paths: int | None = None,
    batches: int = 8,
    iterations: int = 300,
    tol: float = 0.01,
    damping: float = 0.0,
    average: int = 4,
    min_iterations: int = 40,
    transient: float | None = None,
    tau_max: float | None = None,
    q0: float = 1.0,
    guess_tau: float | tuple[float, float] = (1.0, 10.0),
    bracket_window: int = 8,
    response_paths: int = 256,
    probe_span: float | None = None,
    extend_response: bool = True,
    seed: int = 0,
    key: jax.Array | None = None,
    input: np.ndarray | Callable[[jax.Array], jax.Array] | None = None,  # noqa: A002
) -> xr.Dataset:
    """Solve the DMFT by sampling single-site paths (see the module docstring).

    **Arguments:**
    - ``model``: a :class:`neurodyn.MeanFieldModel` (any φ, any η ∈ [−1, 1]), or instead its
      keywords ``g``, ``phi``, ``J_mean``, ``theta_mean``, ``theta_std``, ``noise`` σ,
      ``symmetry`` η (defaults of MeanFieldModel).
    - ``t1``, ``dt``: the grid [0, t1] (τ units), dt ≤ t1/8 and ≤ 0.5. t1 [None: adapted
      to the model, :func:`default_window`: 40 τ far from the transition, up to 100 τ near it].
    - ``paths``: single-site paths per iteration, split into ``batches`` ≥ 2 independent
      replicas (paths divisible by batches, ≥ 4 paths each) [None: :func:`default_paths`,
      4096, or 8192 near the transition].
    - ``iterations`` [300]: at most this many iterations before the residual (the rms change
      of C_φ net of sampling noise, relative to rms C_φ) and the bracket's gap must be ≤ ``tol``
      (module docstring, step 5); ``damping`` ∈ [0, 1) [0]: the weight of the old C_φ, m, R in
      each update; ``average``: iterations averaged at the end; ``min_iterations`` [40]:
      iterations before convergence is tested (a static relu point, J_mean −1, θ 1, g = 1,
      passed both tests after 14 iterations still relaxing, its Δ not yet flat: "chaotic");
      ``bracket_window`` [8] (≤ iterations): the iterations over which each replica's
      reading is averaged for the gap.
    - ``transient``: the stationary reading uses t ≥ transient [t1/3 for a given t1, t1/2
      for the adapted one]; ``tau_max``: its largest lag [(t1 − transient)/2]; a given
      tau_max with the adapted t1 makes t1 ≥ 3 tau_max.
    - ``q0`` ≥ 0: variance of h(0) [h²]. ``guess_tau``: the correlation times (τ units) of
      the initial guesses C_φ(t, t′) ∝ exp(−|t − t′|/guess_tau), a pair (fast, slow) for the
      bracket's two halves of the replicas (batches ≥ 4) [(1, 10)], or one number for all
      replicas (no bracket: only the residual is tested).
      ``response_paths``: paths whose tangents give R_φ
      (η ≠ 0 only; ≥ batches, ≤ paths, divisible by batches); ``probe_span``: the response
      window (τ units) [None: :func:`default_probe_span`, 6-15 τ]: R_φ(t, s) is measured and
      used for t − s < probe_span, with S = ⌈probe_span/dt⌉ tangent probes per path (cost ∝ S).
      ``extend_response`` [True]: beyond the window the memory integral uses an exponential
      fitted to the window's far half (False: R_φ = 0 there).
    - ``seed`` (or a jax ``key``): the random stream. ``input``: I(t), an array on the grid
      (t1/dt + 1,) or a callable of the times (jnp array) returning such an array [none].

    **Returns:** Dataset with ``C_h``, ``C_phi`` (t, t_prime) [h², φ²], ``R_phi`` (t, t_prime)
    [1/τ per unit impulse] (η ≠ 0 only), ``mean`` (t) ⟨h⟩, ``rate`` (t) ⟨φ⟩, the stationary
    reading ``delta`` (tau) with ``delta_sem``, ``delta0`` with ``delta0_sem``, ``delta_inf``,
    ``tau_corr`` with ``tau_corr_sem``, ``iterations``, ``residual``, ``change``, ``noise``,
    the bracket's ``gap`` (net of noise; 0 without a bracket), ``delta_guess`` (guess, tau)
    with ``delta_guess_sem`` (each half's reading), ``trace`` (iteration, measure) (change,
    noise, gap and gap noise per iteration, the gap before its noise is subtracted);
    attrs with every parameter, ``phase``, the response window's ``response_tail``,
    ``response_decay_time`` and ``response_tail_share`` (η ≠ 0: what the window cuts off and
    what the exponential extension adds) and provenance. Standard errors are over the
    replicas.

    **Raises:** ParameterError on bad input; ConvergenceError when the residual or the gap
    stays above ``tol``; DivergenceError when paths blow up (|h| > 1e12 or non-finite).
    """
    model = _resolve_model(model, {"g": g, "phi": phi, "J_mean": J_mean,
                                   "theta_mean": theta_mean, "theta_std": theta_std,
                                   "noise": noise, "symmetry": symmetry})
    if t1 is None:
        t1 = default_window(model)
        if tau_max is not None:
            t1 = max(t1, 10.0 * math.ceil(3.0 * validation.positive("tau_max", tau_max) / 10.0))
        if transient is None:
            transient = t1 / 2
    t1 = validation.positive("t1", t1)
    dt = validation.positive("dt", dt)
    if dt > t1 / 8 or dt > 0.5:
        raise ParameterError(f"dt={dt!r} must be <= min(t1/8, 0.5) = {min(t1 / 8, 0.5)!r}")
    paths = validation.positive_int("paths", default_paths(model) if paths is None else paths)
    batches = validation.positive_int("batches", batches)
    if batches < 2:
        raise ParameterError(f"batches={batches!r} must be >= 2 (the standard errors come "
                             "from the spread of independent replicas)")
    if paths % batches or paths // batches < 4:
        raise ParameterError(f"paths={paths!r} must be a multiple of batches={batches!r} with "
                             ">= 4 paths per batch")
    iterations = validation.positive_int("iterations", iterations)
    tol = validation.positive("tol", tol)
    damping = validation.finite("damping", damping)
    if not 0 <= damping < 1:
        raise ParameterError(f"damping={damping!r} must lie in [0, 1)")
    average = validation.positive_int("average", average)
    min_iterations = validation.positive_int("min_iterations", min_iterations)
    if min_iterations > iterations:
        raise ParameterError(f"min_iterations={min_iterations!r} must be <= "
                             f"iterations={iterations!r}")
    transient = t1 / 3 if transient is None else validation.non_negative("transient", transient)
    if transient >= t1 - 2 * dt:
        raise ParameterError(f"transient={transient!r} must be < t1 - 2 dt = {t1 - 2 * dt!r}")
    tau_max = ((t1 - transient) / 2 if tau_max is None
               else validation.positive("tau_max", tau_max))
    if tau_max > t1 - transient:
        raise ParameterError(f"tau_max={tau_max!r} must be <= t1 - transient = "
                             f"{t1 - transient!r}")
    q0 = validation.non_negative("q0", q0)
    guesses = _guess_taus(guess_tau, batches)
    bracket_window = validation.positive_int("bracket_window", bracket_window)
    if bracket_window > iterations:
        raise ParameterError(f"bracket_window={bracket_window!r} must be <= "
                             f"iterations={iterations!r}")
    response_paths = validation.positive_int("response_paths", response_paths)
    if response_paths > paths or response_paths % batches:
        raise ParameterError(f"response_paths={response_paths!r} must be <= paths={paths} and "
                             f"a multiple of batches={batches}")
    probe_span = validation.positive(
        "probe_span", default_probe_span(model) if probe_span is None else probe_span)
    if not isinstance(extend_response, (bool, np.bool_)):
        raise ParameterError(f"extend_response={extend_response!r} must be True or False")
    if key is None:
        key = rng.key(validation.seed("seed", seed), "sampling_dmft")
    steps = int(round(t1 / dt))
    t = np.round(np.arange(steps + 1) * dt, 12)
    has_input = input is not None
    drive = _input_on_grid(input, t)
    memory = model.symmetry != 0
    probes = min(max(int(math.ceil(probe_span / dt)), 2), steps + 1)
    per_batch = paths // batches
    n1 = steps + 1

    # initial guess: the variance of φ at h(0), decaying on guess_tau (the membrane time by default)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    x0 = model.g * (math.sqrt(q0 + model.theta_std**2) * nodes + model.theta_mean)
    start = float(np.sum(weights * np.asarray(model.phi.phi(jnp.asarray(x0))) ** 2)
                  / math.sqrt(2 * math.pi))
    start = max(start, 1e-3) if math.isfinite(start) else 1.0
    lag = np.abs(t[:, None] - t[None, :])
    # the bracket: the first half of the replicas from the first guess, the rest from the second
    split = batches // 2 if len(guesses) == 2 else 0
    replica_tau = np.where(np.arange(batches) < split, guesses[0], guesses[-1])
    C0 = start * np.exp(-lag[None] / replica_tau[:, None, None])
    # R_φ of the network without memory, g φ′(0) e^{−(t−s)}: the iteration refines it
    window = (t[:, None] - t[None, :] >= 0) & (t[:, None] - t[None, :] < probes * dt - dt / 2)
    rbar0 = (np.where(window, model.g * model.phi.slope_at_zero * np.exp(-lag), 0.0) if memory
             else np.zeros((n1, n1)))
    state = (jnp.asarray(C0),
             jnp.zeros((batches, n1), jnp.float64),
             jnp.asarray(np.broadcast_to(rbar0, (batches, n1, n1))))
    p = {"g": model.g, "eta": model.symmetry, "noise": model.noise, "dt": dt,
         "theta_mean": model.theta_mean, "theta_std": model.theta_std,
         "J_mean": model.J_mean, "q0": q0, "damping": damping, "tol": tol,
         "extend_response": 1.0 if extend_response else 0.0}
    p = {name: jnp.asarray(value, jnp.float64) for name, value in p.items()}
    result = _solve(state, p, jnp.asarray(drive), key, jnp.asarray(iterations),
                    jnp.asarray(min_iterations), phi=model.phi,
                    batches=batches, per_batch=per_batch,
                    response_paths=response_paths // batches, probes=probes, memory=memory,
                    average=average, block=min(max(1, int(round(1.0 / dt))), n1),
                    split=split, trace_length=_trace_length(iterations + average),
                    window=bracket_window)
    result = jax.tree_util.tree_map(np.asarray, result)
    done = int(result["iterations"])
    trace_rows = min(done + (average if bool(result["converged"]) else 0),
                     result["trace"].shape[0])
    where = f"g={model.g}, phi={model.phi.name!r}, symmetry={model.symmetry}"
    bad = int(result["bad"])
    if bad < n1:
        place = "in the field's covariance" if bad == 0 else f"at t={t[bad]:g}"
        raise DivergenceError(
            f"sampling DMFT at {where}: paths diverged (|h| > {_LIMIT:g} or non-finite) {place} "
            f"in iteration {int(result['bad_iteration'])}; an unbounded phi can make the "
            "dynamics blow up (no bounded solution)")
    residual = float(result["residual"])
    gap_residual = float(result["gap_residual"])
    if not bool(result["converged"]):
        bracket = (f"; the bracket's halves (from guess_tau {guesses[0]:g} and {guesses[-1]:g}) "
                   f"differ by {gap_residual:.3g} net of noise (rms {float(result['gap']):.3g}, "
                   f"noise {float(result['gap_noise']):.3g})" if split else "")
        raise ConvergenceError(
            f"sampling DMFT at {where} did not converge: after iteration {done} the residual "
            f"change of C_phi is {residual:.3g} (rms change {float(result['change']):.3g}, "
            f"sampling noise {float(result['noise']):.3g}){bracket}; tol={tol:g}; raise "
            "iterations or paths, or tol")

    start_index = int(round(transient / dt))
    lags = min(int(round(tau_max / dt)), n1 - 1 - start_index)
    delta_b = _stationary_reading(result["C_h"], result["mean"], per_batch, start_index, lags)
    halves = [delta_b[:split], delta_b[split:]] if split else [delta_b]
    tail = max(1, (lags + 1) // 4)
    floor_b = delta_b[:, -tail:].mean(axis=1)
    tau = t[: lags + 1]
    spread_b = delta_b[:, 0] - floor_b
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_corr_b = np.trapezoid(delta_b - floor_b[:, None], tau, axis=1) / spread_b

    def mean_sem(x, axis=0):
        return x.mean(axis=axis), x.std(axis=axis, ddof=1) / math.sqrt(x.shape[axis])

    delta, delta_sem = mean_sem(delta_b)
    guess_readings = [mean_sem(half) for half in halves]
    delta_guess = np.stack([mean for mean, _ in guess_readings])
    delta_guess_sem = np.stack([sem for _, sem in guess_readings])
    delta_inf, delta_inf_sem = mean_sem(floor_b)
    spread, spread_sem = mean_sem(spread_b)
    scale = _PHASE_FLOOR * (q0 + model.theta_std**2)
    if model.noise > 0 or has_input:
        phase = "driven"
    elif delta[0] <= scale + 3 * delta_sem[0]:
        phase = "quiescent"
    elif spread <= scale + 3 * spread_sem:
        phase = "static"
    else:
        phase = "chaotic"
    if phase in ("quiescent", "static"):
        tau_corr, tau_corr_sem = 0.0, 0.0
    else:
        tau_corr, tau_corr_sem = mean_sem(tau_corr_b)
    C_h = result["C_h"].mean(axis=0)
    data = {
        "C_h": (("t", "t_prime"), C_h, {"long_name": "<h(t) h(t')>", "units": "h^2"}),
        "C_phi": (("t", "t_prime"), result["C_phi"].mean(axis=0),
                  {"long_name": "<phi(g h(t)) phi(g h(t'))>"}),
        "mean": ("t", result["mean"].mean(axis=0), {"long_name": "<h(t)>", "units": "h"}),
        "rate": ("t", result["rate"].mean(axis=0), {"long_name": "<phi(g h(t))>"}),
        "delta": ("tau", delta, {"long_name": "stationary connected autocorrelation Delta(tau)",
                                 "units": "h^2"}),
        "delta_sem": ("tau", delta_sem, {"long_name": "standard error of delta over batches",
                                         "units": "h^2"}),
        "delta0": ((), delta[0], {"long_name": "variance Delta(0)", "units": "h^2"}),
        "delta0_sem": ((), delta_sem[0], {"long_name": "standard error of delta0",
                                          "units": "h^2"}),
        "delta_inf": ((), delta_inf, {"long_name": "Delta over the last quarter of the lags",
                                      "units": "h^2"}),
        "delta_inf_sem": ((), delta_inf_sem, {"units": "h^2"}),
        "tau_corr": ((), tau_corr, {"long_name": "autocorrelation time", "units": "tau"}),
        "tau_corr_sem": ((), tau_corr_sem, {"units": "tau"}),
        "iterations": ((), done, {"long_name": "iterations to convergence (before averaging)"}),
        "residual": ((), residual, {"long_name": "rms change of C_phi net of sampling noise, "
                                                 "relative to rms C_phi"}),
        "change": ((), float(result["change"]), {"long_name": "rms change of C_phi, relative"}),
        "noise": ((), float(result["noise"]), {"long_name": "rms standard error of the change"}),
        "delta_guess": (("guess", "tau"), delta_guess, {
            "long_name": "delta of the replicas started from each guess_tau", "units": "h^2"}),
        "delta_guess_sem": (("guess", "tau"), delta_guess_sem, {
            "long_name": "standard error of delta_guess over its replicas", "units": "h^2"}),
        "gap": ((), gap_residual, {"long_name": "rms difference of the bracket's halves' "
                                                "stationary connected C_h (block means) net of "
                                                "noise, relative to its lag-0 block "
                                                "(0: no bracket)"}),
        "trace": (("iteration", "measure"), result["trace"][:trace_rows], {
            "long_name": "per iteration: rms change of C_phi, its noise, the bracket's rms gap "
                         "and its noise (relative to rms C_phi)"}),
    }
    if memory:
        R = result["R_phi"].mean(axis=0)
        data["R_phi"] = (("t", "t_prime"), R, {"long_name": "response <d phi(g h(t)) / d I(t')>",
                                               "units": "1/tau"})
        # how much response the window cuts off: R at its last lag against R's largest value
        edge = np.abs(np.diagonal(R, offset=-(probes - 1))) if probes > 1 else np.zeros(1)
        response_tail = float(edge.max() / max(np.abs(R).max(), 1e-300))
        # the exponential extension the last iterations used (fitted to the replica mean
        # here): its decay time and its share of the stationary ∫ R_φ
        amplitude, ratio = (float(x) for x in _response_tail(jnp.asarray(R), probes, dt))
        amplitude *= float(extend_response)
        decay_time = -dt / math.log(ratio) if 0 < ratio < 1 and amplitude > 0 else 0.0
        rows = np.arange(n1 // 2, n1)
        window_integral = dt * sum(float(R[rows, rows - j].mean())
                                   for j in range(min(probes, n1 // 2)))
        extension = amplitude * dt * ratio / (1 - ratio) if decay_time else 0.0
        tail_share = extension / (window_integral + extension) if extension else 0.0
    attrs = {
        "model": "SCS DMFT (sampling, Eissfeller-Opper): dh/dt = -h + gamma + theta + "
                 "J_mean m + I + eta int R_phi phi + noise*xi",
        **model.describe(), "t1": t1, "dt": dt, "paths": paths, "batches": batches,
        "max_iterations": iterations, "tol": tol, "damping": damping, "average": average,
        "transient": transient, "tau_max": float(tau[-1]), "q0": q0,
        "guess_tau": list(guesses),
        "response_paths": response_paths if memory else 0, "probes": probes if memory else 0,
        "probe_span": probe_span, "response_tail": response_tail if memory else 0.0,
        "extend_response": bool(extend_response) and memory,
        "response_decay_time": decay_time if memory else 0.0,
        "response_tail_share": tail_share if memory else 0.0,
        "seed": seed if isinstance(seed, int) else -1,
        "input": "none" if not has_input else "given", "phase": phase,
        "method": "Monte Carlo single-site paths, exponential integrator with linearly "
                  "interpolated forcing; R by forward-mode tangents on comb probes; damped "
                  "iteration; errors over independent replicas",
        "provenance": provenance(),
    }
    import xarray as xr

    coords = {"t": ("t", t, {"units": "tau"}), "t_prime": ("t_prime", t, {"units": "tau"}),
              "tau": ("tau", tau, {"units": "tau"}), "iteration": np.arange(1, trace_rows + 1),
              "measure": ["change", "noise", "gap", "gap_noise"],
              "guess": ("guess", np.asarray(guesses), {"long_name": "guess_tau", "units": "tau"})}
    return xr.Dataset(data, coords=coords, attrs=attrs)


__all__ = ["default_paths", "default_probe_span", "default_window", "sampling"]
