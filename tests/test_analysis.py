"""Autocorrelation against direct sums and the OU closed form (the Lyapunov exponents are in
tests/test_lyapunov.py)."""

import math

import numpy as np
import pytest
import xarray as xr

import neurodyn as nd


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


def test_bad_analysis_inputs():
    with pytest.raises(nd.ParameterError, match="subtract='mean' is unknown"):
        nd.autocorrelation(_dataset(np.zeros((1, 10, 2))), subtract="mean")
    with pytest.raises(nd.ParameterError, match="k=5 exceeds N=3"):
        nd.lyapunov(nd.Network.random(N=3, g=0.5), k=5)
    with pytest.raises(nd.ParameterError, match="t1=-1"):
        nd.lyapunov(nd.Network.random(N=3, g=0.5), t1=-1)
    assert math.isfinite(float(nd.autocorrelation(_dataset(np.ones((1, 10, 2)))).values[0]))
