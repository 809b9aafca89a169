"""Stationary DMFT against independent truths: the SCS energy condition (scipy quadrature),
closed forms for φ = erf, finite-difference ODE residuals, and exact λ_max below the transition.
"""

import math

import numpy as np
import pytest
from conftest import keyword_clashes, scs_delta0_energy_condition
from scipy import integrate

import neurodyn as nd
from neurodyn.dmft import stationary

K = math.pi / 2  # erf-sigmoid closed forms (Williams 1997): C = (2/π) arcsin(k c / (1 + k v))


def _erf_C(g, d0, delta):
    return (2 / math.pi) * np.arcsin(K * g * g * delta / (1 + K * g * g * d0))


def _hermite_pair(f, var, cov, mean, order=240):
    """<f(x1) f(x2)>, x ~ N(mean, [[var, cov],[cov, var]]) by tensor Gauss–Hermite (numpy only).

    Converges slowly for tanh at variance ~5 (order 160: 1e−7, order 240: 1e−10)."""
    z, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    s = math.sqrt(var)
    slope = cov / s
    cond = math.sqrt(max(var - slope**2, 0.0))
    x1 = mean + s * z[:, None]
    x2 = mean + slope * z[:, None] + cond * z[None, :]
    return float(np.einsum("i,j,ij->", w, w, f(x1) * f(x2)))


def _log_cosh(x):
    return np.logaddexp(x, -x) - math.log(2.0)


@pytest.mark.parametrize("g", [1.5, 2.0, 3.0])
def test_delta0_matches_scs_energy_condition(g):
    # Independent: scipy quad + brentq on Δ0²/2 = (<Φ²> − <Φ>²)/g² (conftest). The solver's own
    # condition is met to ~1e-13; 1e-6 leaves room for the quadrature of both sides.
    ds = stationary(g=g)
    expected = scs_delta0_energy_condition(g)
    assert float(ds.delta0) == pytest.approx(expected, rel=1e-6)
    assert ds.attrs["phase"] == "chaotic"
    assert abs(float(ds.delta_inf)) < 1e-12  # θ = 0: the hill top is Δ = 0


def test_erf_profile_satisfies_ode_and_energy_in_closed_form():
    g, dtau = 2.0, 0.02
    ds = stationary(g=g, phi="erf", dtau=dtau, tau_max=30.0)
    d0, delta = float(ds.delta0), ds.delta.values
    # ODE residual with the closed-form C_φ: the central second difference has error
    # dτ²/12·|Δ''''| ≈ 3e−5·Δ0, so 2e−4·Δ0 is a failing bound for any real defect.
    second = (delta[2:] - 2 * delta[1:-1] + delta[:-2]) / dtau**2
    rhs = delta[1:-1] - _erf_C(g, d0, delta[1:-1])
    assert np.max(np.abs(second - rhs)) < 2e-4 * d0
    # Energy: ½Δ'² = ∫_Δ^{Δ0} (C(s) − s) ds, the right side by scipy quad of the closed form.
    for i in (25, 100, 200, 400):
        velocity = (delta[i + 1] - delta[i - 1]) / (2 * dtau)  # error dτ²/6·|Δ'''| ~ 1e−5
        work = integrate.quad(lambda s: _erf_C(g, d0, s) - s, delta[i], d0, epsabs=1e-13)[0]
        assert 0.5 * velocity**2 == pytest.approx(work, rel=1e-3, abs=1e-7)
    # Tail: Δ ~ e^{−κτ}, κ² = 1 − g²<φ'>², <φ'> = (1 + k g² Δ0)^{−1/2} in closed form.
    kappa = math.sqrt(1 - g * g / (1 + K * g * g * d0))
    slope = -np.log(delta[1401] / delta[1301]) / (100 * dtau)
    assert slope == pytest.approx(kappa, rel=1e-3)
    assert np.all(np.diff(delta) < 0)  # monotone decay onto the hill top
    assert float(ds.residual) < 1e-9


def test_energy_condition_with_bias_mean_coupling_and_noise():
    # Independent numpy Gauss–Hermite (order 160) for <ΦΦ>, scipy quad for <φ>.
    g, J_mean, tm, ts, sigma = 2.5, 0.5, 0.2, 0.4, 0.3
    ds = stationary(g=g, J_mean=J_mean, theta_mean=tm, theta_std=ts, noise=sigma)
    d0, floor, M = float(ds.delta0), float(ds.delta_inf), float(ds["mean"])
    var, mean = g * g * d0, g * M

    rate = integrate.quad(lambda z: math.tanh(mean + math.sqrt(var) * z)
                          * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12)[0]
    assert M == pytest.approx(tm + J_mean * rate, rel=1e-8)

    def V(delta):
        W = _hermite_pair(_log_cosh, var, g * g * delta, mean) / g**2
        return -0.5 * delta**2 + ts**2 * delta + W

    assert abs(V(d0) + sigma**4 / 8 - V(floor)) < 1e-7 * d0**2
    # Δ∞ is a fixed point of Δ = C_φ(Δ) + θs² (hill top).
    C_floor = _hermite_pair(np.tanh, var, g * g * floor, mean)
    assert floor == pytest.approx(C_floor + ts**2, rel=1e-8)
    # Noise kink Δ'(0+) = −σ²/2 (one-sided difference, error ~ dτ·|Δ''|/2 ≈ 1e−2·σ²/2).
    delta, dtau = ds.delta.values, float(ds.attrs["dtau"])
    assert (delta[1] - delta[0]) / dtau == pytest.approx(-sigma**2 / 2, rel=5e-2)


def test_weak_noise_below_transition_is_ornstein_uhlenbeck():
    # g = 0.5, σ = 0.05: the linearised theory gives Δ(τ) = σ²/(2κ) e^{−κτ}, κ = √(1 − g²);
    # tanh corrections are O(g²Δ0) ~ 1e−3 relative.
    g, sigma = 0.5, 0.05
    ds = stationary(g=g, noise=sigma)
    kappa = math.sqrt(1 - g * g)
    expected = sigma**2 / (2 * kappa) * np.exp(-kappa * ds.tau.values)
    assert np.max(np.abs(ds.delta.values - expected)) < 3e-3 * expected[0]
    assert ds.attrs["phase"] == "driven"


@pytest.mark.parametrize("g", [0.3, 0.8, 0.99])
def test_lambda_below_transition_is_g_minus_one(g):
    # Quiescent h = 0: H = −∂² + 1 − g² has E0 = 1 − g² exactly, so λ = g − 1.
    ds = stationary(g=g)
    assert ds.attrs["phase"] == "static"
    assert float(ds.lambda_max) == pytest.approx(g - 1, abs=1e-9)
    assert np.all(ds.delta.values == 0)


def test_lambda_is_continuous_and_changes_sign_at_the_transition():
    gs = np.linspace(0.9, 1.3, 9)  # 0.05 apart
    lam = np.array([float(stationary(g=g, critical_gain=False).lambda_max)
                    for g in gs])
    assert np.all(lam[gs < 1] < 0) and np.all(lam[gs > 1] > 0)
    # Continuity: below g = 1 the slope is 1; above, λ ~ (g − 1)² stays small, so neighbouring
    # values on a 0.05 grid differ by less than 0.06 (a jump at g_c would show here).
    assert np.max(np.abs(np.diff(lam))) < 0.06
    assert np.all(np.diff(lam) > 0)


def test_static_branch_with_bias_has_lambda_from_derivative_variance():
    # θ_std > 0, below g_c: h_i static with Var = <φ²> + θs²; λ = −1 + g√<φ'²> with the averages
    # by scipy quad (independent), and g_c is where this crosses zero.
    g, ts = 1.3, 0.5
    ds = stationary(g=g, theta_std=ts)
    assert ds.attrs["phase"] == "static"
    d0 = float(ds.delta0)

    def avg(f, var):
        s = math.sqrt(var)
        return integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                              -12, 12, epsabs=1e-13)[0]

    assert d0 == pytest.approx(avg(lambda x: math.tanh(x) ** 2, g * g * d0) + ts**2, rel=1e-9)
    dphi2 = avg(lambda x: (1 - math.tanh(x) ** 2) ** 2, g * g * d0)
    assert float(ds.lambda_max) == pytest.approx(-1 + g * math.sqrt(dphi2), abs=1e-8)
    g_c = float(ds.g_critical)
    below = stationary(g=g_c - 0.03, theta_std=ts, critical_gain=False)
    above = stationary(g=g_c + 0.03, theta_std=ts, critical_gain=False)
    assert float(below.lambda_max) < 0 < float(above.lambda_max)
    assert below.attrs["phase"] == "static" and above.attrs["phase"] == "chaotic"


def test_erf_static_branch_in_closed_form():
    # erf with θ_std: <φ²> = (2/π) arcsin(k v/(1 + k v)) and <φ'²> = (1 + π v)^{−1/2}, v = g²Δ0.
    g, ts = 1.2, 0.6
    ds = stationary(g=g, phi="erf", theta_std=ts, critical_gain=False)
    assert ds.attrs["phase"] == "static"
    d0 = float(ds.delta0)
    v = g * g * d0
    assert d0 == pytest.approx(_erf_C(g, d0, d0) + ts**2, rel=1e-9)
    assert float(ds.lambda_max) == pytest.approx(-1 + g * (1 + math.pi * v) ** -0.25, abs=1e-8)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"g": -1.0}, "g"), ({"g": math.nan}, "g"), ({"phi": "sin"}, "phi"),
     ({"theta_std": -0.1}, "theta_std"), ({"noise": float("nan")}, "noise"),
     ({"tau_max": 1.0, "dtau": 0.5}, "dtau"), ({"substeps": 0}, "substeps"),
     ({"J_mean": "x"}, "J_mean")],
)
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(nd.ParameterError, match=name):
        stationary(**kwargs)


def test_dataset_contract():
    ds = stationary(g=2.0, J_mean=0.3, theta_mean=0.1, critical_gain=False)
    assert not keyword_clashes(ds)
    for var in ("delta", "delta0", "delta_inf", "mean", "lambda_max", "residual", "tau_corr"):
        assert var in ds
    assert ds.delta.dims == ("tau",) and "units" in ds.tau.attrs
    for key in ("g", "phi", "J_mean", "theta_mean", "theta_std", "noise", "tau_max", "dtau",
                "pair_order", "provenance"):
        assert key in ds.attrs
    assert float(ds.delta[0]) == float(ds.delta0)


def test_a_repeated_solve_compiles_nothing_and_dispatches_a_handful_of_computations(monkeypatch):
    # Start-up (issue 13): Δ0, Δ∞, M and the tables are one compiled computation (_core: the
    # scan, cell check and bisection in one lax.while_loop), so a warm call dispatches the
    # core once, the lag march in its fixed chunks (2048 + 1024 steps of 512) and the two
    # potentials: 9 computations, none compiled again. Counted by wrapping the dispatcher and by
    # JAX's own compile events, both independent of the solver's arithmetic.
    import importlib

    import jax

    module = importlib.import_module("neurodyn.dmft.stationary")
    first = stationary(g=2.0)
    calls, compiles = [], []
    dispatch = module._call
    monkeypatch.setattr(module, "_call",
                        lambda fun, static, *args: (calls.append(fun.__name__),
                                                    dispatch(fun, static, *args))[1])

    def listener(event, duration, **_):
        if event.endswith("backend_compile_duration"):
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        again = stationary(g=2.0)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert calls.count("_core") == 1 and len(calls) == 9, calls
    assert compiles == []
    assert float(again.delta0) == float(first.delta0)
    assert float(again.lambda_max) == float(first.lambda_max)
