"""The exponential extension of the response beyond the sampling DMFT's response window.

Against closed forms: an exactly exponential R_φ on the window gives back its own decay and its
value at the window's last lag; a response that rings or has decayed into the noise gets no
extension; and the O(1)-per-step recursion that sums the extension along a path gives the same
path as the full memory integral over an exponential R_φ (to rounding).
"""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurodyn import nonlinearity

sampling_module = importlib.import_module("neurodyn.dmft.sampling")  # not the function

DT, N1, WIDTH = 0.2, 201, 24


def _stationary(profile):
    """R(t_k, t_l) = profile(k − l) for 0 ≤ k − l < len(profile), else 0: (N1, N1)."""
    lag = np.arange(N1)[:, None] - np.arange(N1)[None, :]
    inside = (lag >= 0) & (lag < len(profile))
    return np.where(inside, np.asarray(profile)[np.clip(lag, 0, len(profile) - 1)], 0.0)


def test_an_exponential_response_gives_back_its_decay_and_last_value():
    tau, peak = 3.0, 1.7
    lags = np.arange(WIDTH) * DT
    amplitude, ratio = sampling_module._response_tail(
        jnp.asarray(_stationary(peak * np.exp(-lags / tau))), WIDTH, DT)
    assert float(ratio) == pytest.approx(np.exp(-DT / tau), rel=1e-12)
    assert float(amplitude) == pytest.approx(peak * np.exp(-lags[-1] / tau), rel=1e-12)


def test_a_nearly_flat_response_is_extended_with_the_longest_decay_time():
    lags = np.arange(WIDTH) * DT
    _, ratio = sampling_module._response_tail(
        jnp.asarray(_stationary(np.exp(-lags / 1e4))), WIDTH, DT)
    longest = sampling_module._TAIL_LONGEST * WIDTH * DT
    assert float(ratio) == pytest.approx(np.exp(-DT / longest), rel=1e-12)


@pytest.mark.parametrize("case", ["ringing", "below the floor", "growing"])
def test_no_extension_where_the_far_response_is_not_a_positive_decay(case):
    lags = np.arange(WIDTH) * DT
    profile = {
        # η < 0: R_φ undershoots and rings (measured at η = −0.5: −0.04 at 1.5-2 τ, +0.008
        # near the window's end, against 2.1 at 0⁺)
        "ringing": 2.0 * np.exp(-lags) * np.cos(1.3 * lags),
        "below the floor": np.where(lags < 2.0, 2.0 * np.exp(-lags), 1e-3 * np.exp(-lags / 5)),
        "growing": 0.1 + 0.01 * lags,
    }[case]
    profile[0] = 2.0  # the diagonal R_φ(t⁺, t) sets the floor's scale
    amplitude, ratio = sampling_module._response_tail(jnp.asarray(_stationary(profile)),
                                                      WIDTH, DT)
    assert float(amplitude) == 0.0 and float(ratio) == 0.0


def test_the_recursion_sums_the_same_memory_as_the_full_integral():
    # An exponential R_φ on the whole grid: the path with the window (WIDTH lags) plus the
    # extension must equal the path whose band holds every lag (the plain trapezoid rule over
    # [0, t]). tanh keeps the memory term nonlinear in h; η = 0.5 makes it strong.
    tau = 4.0
    full = _stationary(0.9 * np.exp(-np.arange(N1) * DT / tau))
    key_forcing, key_noise = jax.random.split(jax.random.key(0))
    forcing = 0.8 * jax.random.normal(key_forcing, (N1,), jnp.float64)
    increments = jax.random.normal(key_noise, (N1 - 1,), jnp.float64)
    p = {"dt": jnp.asarray(DT), "g": jnp.asarray(2.0), "eta": jnp.asarray(0.5),
         "noise": jnp.asarray(0.3)}
    phi = nonlinearity.get("tanh")
    zero = jnp.zeros(N1)
    r = jnp.asarray(full)
    none = (jnp.zeros(()), jnp.zeros(()))
    reference = sampling_module._path(0.4, forcing, increments, zero,
                                      sampling_module._banded(r, N1, p["dt"], none), p,
                                      phi=phi, memory=True)
    tail = sampling_module._response_tail(r, WIDTH, p["dt"])
    windowed = sampling_module._path(0.4, forcing, increments, zero,
                                     sampling_module._banded(r, WIDTH, p["dt"], tail), p,
                                     phi=phi, memory=True)
    cut = sampling_module._path(0.4, forcing, increments, zero,
                                sampling_module._banded(r, WIDTH, p["dt"], none), p,
                                phi=phi, memory=True)
    np.testing.assert_allclose(np.asarray(windowed), np.asarray(reference), rtol=0, atol=1e-11)
    # and the extension matters here: cut at the window, the path is visibly different
    assert np.max(np.abs(np.asarray(cut) - np.asarray(reference))) > 1e-2
