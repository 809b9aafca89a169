"""A φ defined here only, half_tanh = ½ tanh (bound ½, φ′(0) = ½), through the stationary DMFT.

Independent truths:
- the transition at g_c = 1/φ′(0) = 2 (quiescent below, chaotic above);
- a change of variables: with h′ = 2h, ``dh/dt = −h + J ½tanh(g h) + θ + σξ`` becomes
  ``dh′/dt = −h′ + J tanh((g/2) h′) + 2θ + 2σξ``, the tanh network at gain g/2 with doubled
  biases and noise. So Δ_half(τ; g, θ, σ) = Δ_tanh(τ; g/2, 2θ, 2σ)/4, M_half = M_tanh/2, and
  λ_max and τ_corr are equal (time is not rescaled);
- the SCS energy condition Δ0²/2 = [⟨Φ²⟩ − ⟨Φ⟩²]/g², Φ = ½ log cosh, by scipy quadrature, and
  conftest's scipy solution for tanh at g/2 divided by 4.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import scs_delta0_energy_condition
from scipy import integrate

import neurodyn as nd
from neurodyn.nonlinearity import Nonlinearity


def _log_cosh(x):
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2.0 * ax)) - math.log(2.0)


HALF_TANH = Nonlinearity(
    name="half_tanh",
    phi=lambda x: 0.5 * jnp.tanh(x),
    dphi=lambda x: 0.5 * (1.0 - jnp.tanh(x) ** 2),
    antiderivative=lambda x: 0.5 * _log_cosh(x),
    bound=0.5,
    slope_at_zero=0.5,
    odd=True,
    increasing=True,
)


def _energy_residual(g, d0):
    """Δ0²/2 − [⟨Φ²⟩ − ⟨Φ⟩²]/g² for Φ = ½ log cosh, x ~ N(0, g²Δ0), by scipy quad (relative)."""
    std = g * math.sqrt(d0)

    def average(f):
        return integrate.quad(lambda z: f(std * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                              -12, 12, epsabs=1e-14, epsrel=1e-12, limit=200)[0]

    def Phi(x):
        return 0.5 * float(np.logaddexp(x, -x) - math.log(2.0))

    spread = average(lambda x: Phi(x) ** 2) - average(Phi) ** 2
    return (d0**2 / 2 - spread / g**2) / (d0**2 / 2)


def test_transition_half_width_is_computed_from_phi():
    # the solver's former table: tanh 20, erf 7; ½ tanh saturates where tanh does
    assert nd.dmft.transition_half_width(nd.nonlinearity.get("tanh")) == 20.0
    assert nd.dmft.transition_half_width(nd.nonlinearity.get("erf")) == 7.0
    assert nd.dmft.transition_half_width(HALF_TANH) == 20.0


def test_critical_gain_is_one_over_the_slope_and_the_phases_follow_it():
    assert nd.dmft.critical_gain_of(HALF_TANH) == 2.0
    below = nd.dmft.stationary(g=1.8, phi=HALF_TANH)
    assert below.attrs["phase"] == "static" and float(below.delta0) == 0.0
    # λ_max = g φ′(0) − 1 on the quiescent branch
    assert float(below.lambda_max) == pytest.approx(1.8 * 0.5 - 1.0, abs=1e-9)
    assert float(below.g_critical) == 2.0
    above = nd.dmft.stationary(g=2.2, phi=HALF_TANH, critical_gain=False)
    assert above.attrs["phase"] == "chaotic" and above.attrs["phi"] == "half_tanh"
    assert float(above.delta0) > 1e-3 and float(above.lambda_max) > 0


def test_rescaling_maps_half_tanh_at_g_onto_tanh_at_half_g():
    g = 3.0
    half = nd.dmft.stationary(model=nd.MeanFieldModel(g=g, phi=HALF_TANH), critical_gain=False)
    # independent of neurodyn: scipy's energy condition for tanh at g/2, and for Φ = ½ log cosh
    assert float(half.delta0) == pytest.approx(scs_delta0_energy_condition(g / 2) / 4, rel=1e-6)
    assert abs(_energy_residual(g, float(half.delta0))) < 1e-7
    tanh = nd.dmft.stationary(g=g / 2, critical_gain=False)
    np.testing.assert_allclose(half.delta.values, tanh.delta.values / 4, rtol=1e-6, atol=1e-9)
    assert float(half.lambda_max) == pytest.approx(float(tanh.lambda_max), rel=1e-4)
    assert float(half.tau_corr) == pytest.approx(float(tanh.tau_corr), rel=1e-5)


def test_rescaling_with_bias_mean_coupling_and_noise():
    params = {"J_mean": 0.5, "theta_mean": 0.1, "theta_std": 0.2, "noise": 0.3}
    half = nd.dmft.stationary(g=3.0, phi=HALF_TANH, critical_gain=False, **params)
    doubled = {name: (value if name == "J_mean" else 2 * value) for name, value in params.items()}
    tanh = nd.dmft.stationary(g=1.5, critical_gain=False, **doubled)
    assert half.attrs["phase"] == tanh.attrs["phase"] == "driven"
    assert float(half["mean"]) == pytest.approx(float(tanh["mean"]) / 2, rel=1e-8)
    assert float(half.delta_inf) == pytest.approx(float(tanh.delta_inf) / 4, rel=1e-7)
    np.testing.assert_allclose(half.delta.values, tanh.delta.values / 4, rtol=1e-6)
