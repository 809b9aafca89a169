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

Method. (1) For trial Δ0 the mean M is found by bisection and Δ∞ by Newton from below (C_φ is
convex in Δ ≥ 0 by Mehler's expansion, so Newton from the left is monotone). The energy mismatch
is scanned on a log grid of Δ0 and its sign change refined by bisection to relative 1e-13.
Without a sign change (σ = 0, below the transition) the solution is static: Δ ≡ Δ0 = Δ∞ from the
fixed point Δ0 = ⟨φ²⟩ + theta_std² continued from g = 0. (2) Δ(τ) is integrated from τ = 0 with
RK4 on the Newton equation only while Δ − Δ∞ > (Δ0 − Δ∞)/2 (a short stretch, so the
separatrix instability e^{κτ} cannot grow); after that the energy integral is used in the form
``d ln(Δ − Δ∞)/dτ = −ρ``, ``ρ² = 2 ∫₀¹ (1 − t)(1 − g²⟨φ′φ′⟩(Δ∞ + u t)) dt``, which is
contracting and free of cancellation down to any Δ − Δ∞ (see REFERENCES: integrating the Newton
equation forward is unstable). C_φ and g²⟨φ′φ′⟩ along the path are Chebyshev interpolants on
[Δ∞, Δ0] built from :func:`neurodyn.gaussian.expect_pair`. (3) λ_max = −1 + √(1 − E0) with E0 the
ground state of ``H = −∂τ² + 1 − g²⟨φ′(x1)φ′(x2)⟩(τ)`` (Crisanti & Sompolinsky 2018, eqs. 76–79),
by second-order finite differences on the τ grid with Neumann ends (even ground state).
Below the transition this gives λ_max = g√⟨φ′²⟩ − 1 (g − 1 for θ = 0).

relu is refused: its DMFT is homogeneous of degree one in Δ, so the energy condition fixes no
scale (the chaotic amplitude is either zero or unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import xarray as xr

from .. import gaussian, nonlinearity, validation
from ..errors import ConvergenceError, ParameterError
from ..provenance import provenance

SUPPORTED_PHI = ("tanh", "erf")
_SCAN_POINTS = 96  # log-spaced trial Δ0 values for the sign scan of the energy mismatch
_BISECTIONS = 48  # halvings of a bracket of ratio 1.27: relative width 1e-15
_NEWTON = 30  # Newton steps for Δ∞ (monotone from below, quadratic at the end)
_CHEB = 48  # Chebyshev-Lobatto nodes on [Δ∞, Δ0] for C_φ and g²⟨φ′φ′⟩
_LEGENDRE = 16  # Gauss–Legendre nodes for the tail energy integral ρ²
_STATIC_ITER = 600  # fixed-point sweeps for the static solution (contraction ≤ 0.95 checked)
_MIN_ROOT = 1e-8  # relative to the upper bound: smaller roots are round-off at g = g_c


class _Model:
    """Gaussian averages of the theory for one φ (pure functions of traced scalars)."""

    def __init__(self, phi: str, pair_order: int):
        self.nl = nonlinearity.get(phi)
        self.order = pair_order

    def mean_rate(self, g, M, d0):
        return gaussian.expect(self.nl.phi, g * g * d0, g * M)

    def second_moment(self, g, M, d0):
        return gaussian.expect(lambda x: self.nl.phi(x) ** 2, g * g * d0, g * M)

    def dphi_square(self, g, M, d0):
        return gaussian.expect(lambda x: self.nl.dphi(x) ** 2, g * g * d0, g * M)

    def _pair(self, f, g, M, d0, delta):
        v = g * g * d0
        return gaussian.expect_pair(f, f, v, v, g * g * delta, g * M, g * M, order=self.order)

    def C(self, g, M, d0, delta):
        return self._pair(self.nl.phi, g, M, d0, delta)

    def Dprime(self, g, M, d0, delta):
        """g²⟨φ′(x1)φ′(x2)⟩ = dC_φ/dΔ."""
        return g * g * self._pair(self.nl.dphi, g, M, d0, delta)

    def V(self, g, M, d0, delta, theta_std):
        W = self._pair(self.nl.antiderivative, g, M, d0, delta) / (g * g)
        return -0.5 * delta**2 + theta_std**2 * delta + W


def _solve_mean(model, g, d0, J_mean, theta_mean):
    """M = theta_mean + J_mean⟨φ⟩ by bisection on [θm − |J|, θm + |J|] (|φ| ≤ 1)."""
    half = jnp.abs(J_mean) + 1e-300

    def body(state):
        k, lo, hi = state
        mid = 0.5 * (lo + hi)
        F = mid - theta_mean - J_mean * model.mean_rate(g, mid, d0)
        return k + 1, jnp.where(F > 0, lo, mid), jnp.where(F > 0, mid, hi)

    def running(state):  # J_mean = 0 starts converged (M = theta_mean)
        k, lo, hi = state
        return (k < 80) & (hi - lo > 1e-15 * (1.0 + jnp.abs(lo)))

    _, lo, hi = jax.lax.while_loop(running, body, (0, theta_mean - half, theta_mean + half))
    return 0.5 * (lo + hi)


def _solve_floor(model, g, M, d0, theta_std):
    """Smallest root Δ∞ ∈ [0, Δ0] of f(Δ) = Δ − C_φ(Δ) − θs² (Newton from 0, monotone)."""

    def body(state):
        k, delta, _ = state
        f = delta - model.C(g, M, d0, delta) - theta_std**2
        slope = 1.0 - model.Dprime(g, M, d0, delta)
        step = jnp.where(slope > 0, -f / jnp.where(slope > 0, slope, 1.0), 0.0)
        new = jnp.clip(delta + step, 0.0, d0)
        return k + 1, new, jnp.abs(new - delta)

    def running(state):  # stops when the Newton step is at round-off (θ = 0: at once)
        k, delta, change = state
        return (k < _NEWTON) & (change > 1e-15 * (d0 + theta_std**2))

    _, delta, _ = jax.lax.while_loop(running, body, (0, jnp.zeros_like(d0), jnp.ones_like(d0)))
    f = delta - model.C(g, M, d0, delta) - theta_std**2
    return delta, f


def _mismatch(model, g, d0, J_mean, theta_mean, theta_std, noise):
    """Energy mismatch V(Δ0) + σ⁴/8 − V(Δ∞) (> 0: Δ0 too small), with M and Δ∞ for this Δ0."""
    M = _solve_mean(model, g, d0, J_mean, theta_mean)
    floor, f_floor = _solve_floor(model, g, M, d0, theta_std)
    E = (model.V(g, M, d0, d0, theta_std) + noise**4 / 8.0
         - model.V(g, M, d0, floor, theta_std))
    # No hill below Δ0 (Newton could not reach f = 0): the particle would fall through, which
    # happens only for Δ0 below the physical root, i.e. "Δ0 too small".
    scale = d0 + theta_std**2 + 1e-300
    E = jnp.where(jnp.abs(f_floor) > 1e-9 * scale, jnp.abs(E) + 1e-300, E)
    return E, M, floor


def _static(model, g, J_mean, theta_mean, theta_std):
    """Static solution continued from g = 0: Δ0 = ⟨φ²⟩ + θs², M = θm + J_mean⟨φ⟩."""

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


@partial(jax.jit, static_argnames=("phi", "n_tau", "substeps", "pair_order"))
def _solve(g, J_mean, theta_mean, theta_std, noise, dtau, *, phi, n_tau, substeps, pair_order):
    """Pure core: returns a dict of arrays (see :func:`stationary`)."""
    model = _Model(phi, pair_order)
    dtype = jnp.float64
    upper = 1.0 + theta_std**2 + noise**2 / 2.0  # Var h ≤ input second moment + σ²/2, |φ| ≤ 1
    grid = upper * jnp.logspace(-10.0, 0.0, _SCAN_POINTS, dtype=dtype)
    E_grid = jax.vmap(lambda d: _mismatch(model, g, d, J_mean, theta_mean, theta_std, noise)[0])(
        grid)
    # The physical root: the largest Δ0 where the mismatch turns from positive to non-positive.
    change = (E_grid[:-1] > 0) & (E_grid[1:] <= 0) & (grid[1:] > _MIN_ROOT * upper)
    found = jnp.any(change)
    index = jnp.where(found, _SCAN_POINTS - 2 - jnp.argmax(change[::-1]), 0)

    def bisect(_, bracket):
        lo, hi = bracket
        mid = jnp.sqrt(lo * hi)
        E = _mismatch(model, g, mid, J_mean, theta_mean, theta_std, noise)[0]
        return jnp.where(E > 0, mid, lo), jnp.where(E > 0, hi, mid)

    lo, hi = jax.lax.fori_loop(0, _BISECTIONS, bisect, (grid[index], grid[index + 1]))
    d0_dyn = jnp.sqrt(lo * hi)
    E_dyn, M_dyn, floor_dyn = _mismatch(model, g, d0_dyn, J_mean, theta_mean, theta_std, noise)

    M_st, d0_st = _static(model, g, J_mean, theta_mean, theta_std)
    # A root with Δ0 = Δ∞ is the static solution itself (the mismatch vanishes there too).
    dynamic = found & (d0_dyn - floor_dyn > 1e-6 * d0_dyn)
    M = jnp.where(dynamic, M_dyn, M_st)
    d0 = jnp.where(dynamic, d0_dyn, d0_st)
    floor = jnp.where(dynamic, floor_dyn, d0_st)
    span = d0 - floor

    # Chebyshev tables on [Δ∞, Δ0] (degenerate interval in the static case: then unused).
    nodes, weights = _chebyshev(floor, floor + jnp.maximum(span, 1e-300), _CHEB)
    C_nodes = model.C(g, M, d0, nodes)
    D_nodes = model.Dprime(g, M, d0, nodes)

    def force(delta):
        return delta - _barycentric(delta, nodes, weights, C_nodes) - theta_std**2

    t_leg, w_leg = (jnp.asarray(a, dtype) for a in np.polynomial.legendre.leggauss(_LEGENDRE))
    t_leg, w_leg = 0.5 * (t_leg + 1.0), 0.5 * w_leg

    def rate(log_u):
        u = jnp.exp(log_u)
        D = _barycentric(floor + u * t_leg, nodes, weights, D_nodes)
        rho2 = 2.0 * jnp.sum(w_leg * (1.0 - t_leg) * (1.0 - D))
        return -jnp.sqrt(jnp.maximum(rho2, 0.0))

    h = dtau / substeps

    def substep(state, _):
        delta, p, tail = state
        # Newton equation (head): RK4 on (Δ, Δ').
        k1 = (p, force(delta))
        k2 = (p + 0.5 * h * k1[1], force(delta + 0.5 * h * k1[0]))
        k3 = (p + 0.5 * h * k2[1], force(delta + 0.5 * h * k2[0]))
        k4 = (p + h * k3[1], force(delta + h * k3[0]))
        d_head = delta + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        p_head = p + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        # Energy integral (tail): RK4 on log(Δ − Δ∞).
        q = jnp.log(jnp.maximum(delta - floor, 1e-300))
        r1 = rate(q)
        r2 = rate(q + 0.5 * h * r1)
        r3 = rate(q + 0.5 * h * r2)
        r4 = rate(q + h * r3)
        q_new = q + h / 6 * (r1 + 2 * r2 + 2 * r3 + r4)
        d_tail = floor + jnp.exp(q_new)
        p_tail = r4 * jnp.exp(q_new)
        new_delta = jnp.where(tail, d_tail, d_head)
        new_p = jnp.where(tail, p_tail, p_head)
        new_tail = tail | (new_delta - floor < 0.5 * span)
        return (new_delta, new_p, new_tail), None

    def step(state, _):
        state, _ = jax.lax.scan(substep, state, None, length=substeps)
        return state, state[0]

    start = (d0, -0.5 * noise**2 * jnp.ones_like(d0), jnp.zeros((), bool))
    _, path = jax.lax.scan(step, start, None, length=n_tau - 1)
    delta = jnp.concatenate([d0[None], path])
    delta = jnp.where(dynamic, delta, d0)

    Dprime_tau = jnp.where(dynamic, _barycentric(delta, nodes, weights, D_nodes),
                           model.Dprime(g, M, d0, d0))
    mean_residual = M - theta_mean - J_mean * model.mean_rate(g, M, d0)
    floor_residual = floor - model.C(g, M, d0, floor) - theta_std**2
    return {
        "delta0": d0,
        "delta_inf": floor,
        "mean": M,
        "delta": delta,
        "potential": 1.0 - Dprime_tau,
        "dynamic": dynamic,
        "energy_residual": jnp.where(dynamic, E_dyn, 0.0),
        "mean_residual": mean_residual,
        "floor_residual": floor_residual,
        "static_gain": g * jnp.sqrt(model.dphi_square(g, M_st, d0_st)),
    }


def ground_state_energy(potential: np.ndarray, dtau: float) -> float:
    """Lowest eigenvalue E0 of ``−d²/dτ² + U(τ)`` on [0, τ_max], Neumann at both ends.

    Second-order finite differences; the ghost-point Neumann rows are symmetrised with the
    trapezoid weights (1/2 at the ends), so scipy's tridiagonal eigensolver applies.
    ``potential``: U on the uniform grid (n,), ``dtau`` its spacing. O(dτ²) accurate.
    """
    n = potential.size
    diag = 2.0 / dtau**2 + np.asarray(potential, dtype=np.float64)
    off = -np.ones(n - 1) / dtau**2
    off[0] = off[-1] = -math.sqrt(2.0) / dtau**2
    return float(scipy.linalg.eigh_tridiagonal(diag, off, select="i", select_range=(0, 0),
                                               eigvals_only=True)[0])


MODEL_PARAMETERS = ("g", "phi", "J_mean", "theta_mean", "theta_std")
"""The network parameters the stationary theory depends on (N and the seed drop out)."""


def model_parameters(network: Mapping[str, Any], noise: float = 0.0) -> dict[str, Any]:
    """Arguments of :func:`stationary` for a network description.

    ``network`` is :meth:`Network.describe` or a run's ``attrs["network"]``; ``noise`` is the
    run's σ. Parameters absent from ``network`` keep the defaults of :func:`stationary`.
    """
    parameters = {name: network[name] for name in MODEL_PARAMETERS if name in network}
    parameters["noise"] = noise
    return parameters


def _validate(g, phi, J_mean, theta_mean, theta_std, noise, tau_max, dtau):
    g = validation.positive("g", g)
    validation.choice("phi", phi, nonlinearity.NONLINEARITIES)
    if phi not in SUPPORTED_PHI:
        raise ParameterError(
            f"phi={phi!r} is not supported by the DMFT solver; allowed: {', '.join(SUPPORTED_PHI)} "
            "(relu's DMFT is homogeneous in Δ, so the energy condition fixes no amplitude)")
    J_mean = validation.finite("J_mean", J_mean)
    theta_mean = validation.finite("theta_mean", theta_mean)
    theta_std = validation.non_negative("theta_std", theta_std)
    noise = validation.non_negative("noise", noise)
    tau_max = validation.positive("tau_max", tau_max)
    dtau = validation.positive("dtau", dtau)
    if dtau > tau_max / 4:
        raise ParameterError(f"dtau={dtau!r} must be <= tau_max/4 = {tau_max / 4!r}")
    return g, J_mean, theta_mean, theta_std, noise, tau_max, dtau


def stationary(
    g: float = 2.0,
    phi: str = "tanh",
    J_mean: float = 0.0,
    theta_mean: float = 0.0,
    theta_std: float = 0.0,
    noise: float = 0.0,
    tau_max: float = 40.0,
    dtau: float = 0.02,
    substeps: int = 2,
    pair_order: int = gaussian.DEFAULT_PAIR_ORDER,
    critical_gain: bool = True,
) -> xr.Dataset:
    """Solve the stationary DMFT; see the module docstring for equations and method.

    **Arguments:**
    - ``g`` > 0: gain inside φ. ``phi``: "tanh" or "erf".
    - ``J_mean``: mean coupling ×N; ``theta_mean``, ``theta_std``: Gaussian bias; ``noise``: σ of
      the additive white noise (σ dW), all in h units.
    - ``tau_max``, ``dtau``: lag grid [0, tau_max] (τ units); ``substeps`` RK4 steps per dtau.
    - ``pair_order``: Gauss–Legendre order per panel of the bivariate averages.
    - ``critical_gain``: also compute the gain where the static solution loses stability
      (g_c: g²⟨φ′²⟩ = 1 on the static branch; only for σ = 0, NaN otherwise).

    **Returns:** Dataset with ``delta`` (tau) [h²], scalars ``delta0`` (= Δ(0), connected
    variance of h), ``delta_inf`` (static variance Δ∞), ``mean`` (M), ``lambda_max`` [1/τ],
    ``tau_corr`` (∫₀^∞ (Δ − Δ∞) dτ / (Δ0 − Δ∞), τ units), ``residual`` (largest relative
    residual of the energy, mean and Δ∞ conditions), ``g_critical``; attrs with every parameter,
    the solver settings, ``phase`` ("chaotic"/"driven" or "static") and provenance.

    Raises ParameterError on bad input and ConvergenceError if the conditions are not met.
    """
    g, J_mean, theta_mean, theta_std, noise, tau_max, dtau = _validate(
        g, phi, J_mean, theta_mean, theta_std, noise, tau_max, dtau)
    substeps = validation.positive_int("substeps", substeps)
    pair_order = validation.positive_int("pair_order", pair_order)
    n_tau = int(round(tau_max / dtau)) + 1
    out = _solve(g, J_mean, theta_mean, theta_std, noise, dtau, phi=phi, n_tau=n_tau,
                 substeps=substeps, pair_order=pair_order)
    out = jax.tree_util.tree_map(np.asarray, out)
    d0 = float(out["delta0"])
    scale = max(d0, theta_std**2, 1e-12)
    residual = max(abs(float(out["energy_residual"])) / scale**2,
                   abs(float(out["mean_residual"])) / (abs(float(out["mean"])) + math.sqrt(scale)),
                   abs(float(out["floor_residual"])) / scale)
    delta = out["delta"]
    if not np.all(np.isfinite(delta)) or residual > 1e-6:
        raise ConvergenceError(
            f"stationary DMFT did not converge at g={g}, phi={phi!r}: residual {residual:.2e} "
            f"(Δ0={d0:.6g}); try a larger pair_order or a smaller dtau")
    dynamic = bool(out["dynamic"])
    E0 = ground_state_energy(out["potential"], dtau)
    lambda_max = -1.0 + math.sqrt(max(1.0 - E0, 0.0))
    floor = float(out["delta_inf"])
    if dynamic and d0 > floor:
        excess = delta - floor
        # beyond tau_max the excess decays as e^{−κτ} with the local rate at the end of the grid
        kappa = max(math.log(max(excess[-2], 1e-300) / max(excess[-1], 1e-300)) / dtau, 1e-12)
        tau_corr = float((np.trapezoid(excess, dx=dtau) + excess[-1] / kappa) / (d0 - floor))
    else:
        tau_corr = 0.0
    g_c = critical_gain_of(phi, J_mean, theta_mean, theta_std) if (
        critical_gain and noise == 0) else float("nan")
    tau = np.round(np.arange(n_tau) * dtau, 12)
    phase = ("chaotic" if noise == 0 else "driven") if dynamic else "static"
    attrs = {
        "model": "SCS DMFT (stationary): dh/dt = -h + J phi(g h) + theta + noise*xi",
        "g": g, "phi": phi, "J_mean": J_mean, "theta_mean": theta_mean, "theta_std": theta_std,
        "noise": noise, "tau_max": tau_max, "dtau": dtau, "substeps": substeps,
        "pair_order": pair_order, "scan_points": _SCAN_POINTS, "bisections": _BISECTIONS,
        "newton_steps": _NEWTON, "chebyshev_nodes": _CHEB, "phase": phase,
        "method": "energy condition (bisection) + RK4 head / log-energy tail; lambda from "
                  "finite-difference ground state (Crisanti & Sompolinsky 2018)",
        "provenance": provenance(),
    }
    scalar = {"units": "h^2"}
    return xr.Dataset(
        {
            "delta": ("tau", delta, {"long_name": "connected autocorrelation Delta(tau)",
                                     "units": "h^2"}),
            "delta0": ((), d0, {"long_name": "variance Delta(0)", **scalar}),
            "delta_inf": ((), floor, {"long_name": "static (quenched) variance Delta(inf)",
                                      **scalar}),
            "mean": ((), float(out["mean"]), {"long_name": "static mean M", "units": "h"}),
            "lambda_max": ((), lambda_max, {"long_name": "maximal Lyapunov exponent",
                                            "units": "1/tau"}),
            "ground_state_energy": ((), E0, {"long_name": "E0 of -d2/dtau2 + 1 - g^2<phi'phi'>"}),
            "tau_corr": ((), tau_corr, {"long_name": "autocorrelation time", "units": "tau"}),
            "residual": ((), residual, {"long_name": "largest relative residual of the "
                                                     "self-consistency conditions"}),
            "g_critical": ((), g_c, {"long_name": "gain where the static solution destabilises"}),
        },
        coords={"tau": ("tau", tau, {"units": "tau (membrane time constant)"})},
        attrs=attrs,
    )


@partial(jax.jit, static_argnames=("phi",))
def _static_gain(gs, J_mean, theta_mean, theta_std, *, phi):
    model = _Model(phi, gaussian.DEFAULT_PAIR_ORDER)

    def one(g):
        M, d0 = _static(model, g, J_mean, theta_mean, theta_std)
        return g * jnp.sqrt(model.dphi_square(g, M, d0))

    return jax.vmap(one)(gs)


def critical_gain_of(phi: str = "tanh", J_mean: float = 0.0, theta_mean: float = 0.0,
                     theta_std: float = 0.0, g_max: float = 20.0) -> float:
    """Gain g_c where the static solution loses stability, g²⟨φ′(x)²⟩ = 1 on the static branch.

    This is where the chaotic solution appears for σ = 0 (SCS 1988; with bias, Crisanti &
    Sompolinsky 2018). Found by a scan on [0, g_max] and bisection; NaN if none.
    """
    if J_mean == 0 and theta_mean == 0 and theta_std == 0:
        return 1.0  # static solution h = 0 and φ′(0) = 1 for every registered φ
    gs = np.linspace(1e-3, g_max, 200)
    gain = np.asarray(_static_gain(jnp.asarray(gs), J_mean, theta_mean, theta_std, phi=phi))
    above = np.nonzero(gain >= 1.0)[0]
    if above.size == 0:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(gs[0])
    lo, hi = gs[i - 1], gs[i]
    for _ in range(4):
        trial = np.linspace(lo, hi, 33)
        gain = np.asarray(_static_gain(jnp.asarray(trial), J_mean, theta_mean, theta_std, phi=phi))
        j = int(np.nonzero(gain >= 1.0)[0][0])
        lo, hi = trial[max(j - 1, 0)], trial[j]
    return float(0.5 * (lo + hi))
