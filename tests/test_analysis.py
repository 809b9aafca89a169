"""Autocorrelation against direct sums and the OU closed form; Lyapunov exponents against the
linear spectrum below the transition."""

import math

import numpy as np
import pytest
import xarray as xr

import neurodyn as nd
from neurodyn.simulate import initial_condition


def _dataset(h, dt=0.1):
    trials, n_time, N = h.shape
    return xr.Dataset({"h": (("trial", "time", "neuron"), h)},
                      coords={"time": dt * np.arange(n_time), "trial": np.arange(trials),
                              "neuron": np.arange(N)})


def test_fft_autocorrelation_equals_direct_lagged_products():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, 300, 7)) + 0.3
    ac = nd.autocorrelation(_dataset(h), max_lag=5.0)
    direct = [np.mean(h[:, : 300 - k, :] * h[:, k:, :]) for k in range(51)]
    np.testing.assert_allclose(ac.values, direct, rtol=1e-12, atol=1e-14)
    assert ac.lag.values[10] == 1.0 and ac.dims == ("lag",)


def test_subtraction_options():
    rng = np.random.default_rng(1)
    offsets = rng.normal(size=(1, 1, 5)) * 3
    h = rng.normal(size=(1, 400, 5)) + offsets
    by_neuron = nd.autocorrelation(_dataset(h), max_lag=0.0, subtract="neuron").values[0]
    centred = h - h.mean(axis=1, keepdims=True)
    assert by_neuron == pytest.approx(np.mean(centred**2), rel=1e-12)
    population = nd.autocorrelation(_dataset(h), max_lag=0.0, subtract="population").values[0]
    assert population == pytest.approx(np.mean((h - h.mean(axis=2, keepdims=True)) ** 2), rel=1e-12)


def test_ornstein_uhlenbeck_autocorrelation_is_exponential():
    sigma = 1.0
    net = nd.Network.random(N=400, g=0.0, seed=0)
    ds = nd.simulate(net, t1=100.0, transient=10.0, trials=2, noise=sigma, solver="shark", dt=0.05)
    ac = nd.autocorrelation(ds, max_lag=3.0)
    exact = sigma**2 / 2 * np.exp(-ac.lag.values)
    # 800 independent OU processes over 100 τ: standard error of C(τ) ≈ σ²/2 · √(1/(800·100)) ≈ 0.2 %
    # of C(0); 2 % of C(0) absolute leaves room for the O(dt²) bias of the solver.
    np.testing.assert_allclose(ac.values, exact, atol=0.02 * sigma**2 / 2)


def test_lyapunov_below_transition_equals_the_linear_spectral_abscissa():
    # For g < 1 the attractor is h = 0, so λ_max is the largest real part of the eigenvalues of
    # the Jacobian −1 + g J there, computed independently with numpy.
    net = nd.Network.random(N=200, g=0.6, seed=5)
    eigenvalues = np.linalg.eigvals(-np.eye(200) + 0.6 * np.asarray(net.J))
    expected = eigenvalues.real.max()
    lam = nd.lyapunov(net, t1=300.0, k=2, transient=20.0)
    # Finite-time estimate: the error decays like log(condition)/t1; 0.02 measured as ample.
    assert float(lam[0]) == pytest.approx(expected, abs=0.02)
    assert lam.values[0] >= lam.values[1]
    assert lam.attrs["units"] == "1/tau"


def test_lyapunov_agrees_with_renormalised_two_trajectory_separation_in_chaos():
    # Second method (Benettin's original): a reference and a perturbed trajectory, integrated by
    # simulate itself, the separation renormalised to 1e-8 every τ; no jvp, no QR.
    # Both methods follow the *same* trajectory: the same h(0) (lyapunov's seed-0 initial
    # condition), tolerances 1e-10 (integration differences grow to ~1e-3 by t = 100 at λ ≈ 0.2),
    # 20 τ to align the tangent vector, then the growth over the same 80 τ. Finite-time
    # fluctuations, which make 200–600 τ estimates from different trajectories of this network
    # spread over 0.14–0.19, then cancel: measured 0.1735 vs 0.1760 (1.4 %) here and 0.5 %, 0.6 %
    # for network seeds 3, 4. 5 %.
    net = nd.Network.random(N=300, g=3.0, seed=2)
    warm, t1, interval, size = 20.0, 80.0, 1.0, 1e-8
    lam = float(nd.lyapunov(net, t1=t1, transient=warm, interval=interval, rtol=1e-10,
                            atol=1e-10)[0])
    a = np.asarray(initial_condition(300, 1, 0, 1.0, "float64")[0])
    d = np.random.default_rng(0).normal(size=300)
    b = a + size * d / np.linalg.norm(d)
    log_growth = 0.0
    kwargs = dict(t1=interval, dt_save=interval, rtol=1e-10, atol=1e-10, trials=2)
    for step in range(int((warm + t1) / interval)):
        a, b = nd.simulate(net, h0=np.stack([a, b]), **kwargs).h.values[:, -1]
        separation = np.linalg.norm(b - a)
        if step >= warm / interval:
            log_growth += math.log(separation / size)
        b = a + (b - a) * (size / separation)
    assert lam > 0.1
    assert log_growth / t1 == pytest.approx(lam, rel=0.05)


def test_bad_analysis_inputs():
    with pytest.raises(nd.ParameterError, match="subtract='mean' is unknown"):
        nd.autocorrelation(_dataset(np.zeros((1, 10, 2))), subtract="mean")
    with pytest.raises(nd.ParameterError, match="k=5 exceeds N=3"):
        nd.lyapunov(nd.Network.random(N=3, g=0.5), k=5)
    with pytest.raises(nd.ParameterError, match="t1=-1"):
        nd.lyapunov(nd.Network.random(N=3, g=0.5), t1=-1)
    assert math.isfinite(float(nd.autocorrelation(_dataset(np.ones((1, 10, 2)))).values[0]))
