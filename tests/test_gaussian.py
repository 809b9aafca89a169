"""Gaussian averages against scipy quadrature, closed forms and Monte Carlo."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from neurodyn import gaussian, nonlinearity


def _quad(f, variance, mean=0.0):
    std = math.sqrt(variance)
    kink = -mean / std
    value, _ = integrate.quad(
        lambda z: float(f(jnp.asarray(mean + std * z))) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
        -12, 12, points=[kink] if abs(kink) < 12 else None, limit=400, epsabs=1e-14, epsrel=1e-13,
    )
    return value


@pytest.mark.parametrize("name", ["tanh", "erf", "relu"])
@pytest.mark.parametrize("variance, mean", [(0.05, 0.0), (1.0, 0.3), (30.0, -1.0), (400.0, 2.0)])
def test_one_dimensional_averages_match_adaptive_quadrature(name, variance, mean):
    f = nonlinearity.get(name)
    for function in (lambda u: f.phi(u) ** 2, f.dphi, f.antiderivative):
        got = float(gaussian.expect(function, variance, mean))
        want = _quad(function, variance, mean)
        # Composite Gauss–Legendre with 2×96 nodes: measured ≤ 2e-10 relative up to variance 400.
        assert got == pytest.approx(want, rel=1e-8, abs=1e-12)


CLOSED_FORMS = [name for name, f in nonlinearity.NONLINEARITIES.items()
                if f.gaussian_pair is not None]


@pytest.mark.parametrize("name", CLOSED_FORMS)
@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("c11, c22, c12", [(1.0, 2.0, 0.5), (4.0, 4.0, -3.9), (20.0, 10.0, 5.0)])
def test_pair_averages_match_closed_forms(name, derivative, c11, c22, c12):
    f = nonlinearity.get(name)
    g = f.dphi if derivative else f.phi
    got = float(gaussian.expect_pair(g, g, c11, c22, c12, order=64))
    want = float(gaussian.closed_form_pair(name, derivative, c11, c22, c12))
    assert got == pytest.approx(want, rel=1e-6, abs=1e-10)


def test_pair_average_matches_monte_carlo_for_tanh_with_means():
    rng = np.random.default_rng(0)
    cov = np.array([[2.0, 1.2], [1.2, 1.5]])
    means = np.array([0.4, -0.3])
    samples = rng.multivariate_normal(means, cov, size=2_000_000)
    products = np.tanh(samples[:, 0]) * np.tanh(samples[:, 1])
    got = float(gaussian.expect_pair(jnp.tanh, jnp.tanh, 2.0, 1.5, 1.2, 0.4, -0.3))
    # Monte Carlo standard error = std/√n; allow 5 standard errors.
    assert abs(got - products.mean()) < 5 * products.std() / math.sqrt(products.size)


def test_uncorrelated_pair_factorises():
    a = gaussian.expect(jnp.tanh, 3.0, 0.5) * gaussian.expect(jnp.tanh, 2.0, -0.2)
    b = gaussian.expect_pair(jnp.tanh, jnp.tanh, 3.0, 2.0, 0.0, 0.5, -0.2)
    assert float(b) == pytest.approx(float(a), rel=1e-10, abs=1e-14)


def test_broadcasting_shapes():
    out = gaussian.expect_pair(jnp.tanh, jnp.tanh, jnp.ones((4, 1)), 2.0, jnp.linspace(0, 1, 3))
    assert out.shape == (4, 3)


def test_closed_forms_are_the_registry_capability():
    assert CLOSED_FORMS == ["erf", "relu"]
    with pytest.raises(KeyError, match="no closed form for phi='tanh'; closed forms exist for "
                                       "'erf', 'relu'"):
        gaussian.closed_form_pair("tanh", False, 1.0, 1.0, 0.5)


def test_pair_uses_a_user_closed_form_and_falls_back_to_quadrature():
    """gaussian.pair reads the Nonlinearity's closed form: a user φ = ½ erf(√π x/2) with the
    scaled erf kernel agrees with quadrature of its φ; without the field, quadrature is used
    (a deliberately wrong "closed form" shows which path ran)."""
    erf = nonlinearity.get("erf")
    half = nonlinearity.Nonlinearity(
        name="half_erf", phi=lambda x: 0.5 * erf.phi(x), dphi=lambda x: 0.5 * erf.dphi(x),
        antiderivative=lambda x: 0.5 * erf.antiderivative(x), bound=0.5, slope_at_zero=0.5,
        odd=True, increasing=True,
        gaussian_pair=lambda v1, v2, c: 0.25 * erf.gaussian_pair(v1, v2, c),
        gaussian_pair_dphi=lambda v1, v2, c: 999.0 + 0 * c)
    quadrature = float(gaussian.expect_pair(half.phi, half.phi, 2.0, 3.0, 1.1, order=64))
    assert float(gaussian.pair(half, False, 2.0, 3.0, 1.1)) == pytest.approx(quadrature, rel=1e-9)
    assert float(gaussian.pair(half, True, 2.0, 3.0, 1.1)) == 999.0
    no_forms = nonlinearity.Nonlinearity(
        name="half_erf_quadrature", phi=half.phi, dphi=half.dphi,
        antiderivative=half.antiderivative, bound=0.5, slope_at_zero=0.5, odd=True,
        increasing=True)
    want = float(gaussian.expect_pair(half.dphi, half.dphi, 2.0, 3.0, 1.1))
    assert float(gaussian.pair(no_forms, True, 2.0, 3.0, 1.1)) == pytest.approx(want, rel=1e-13)
