"""φ, φ′ and Φ are consistent: φ′ = dφ/dx and dΦ/dx = φ by automatic differentiation; each
bound is sup |φ| on a wide grid."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import nonlinearity

X = jnp.linspace(-6.0, 6.0, 241) + 0.013  # avoid the relu kink at exactly 0


@pytest.mark.parametrize("name", list(nonlinearity.NONLINEARITIES))
def test_derivative_and_antiderivative(name):
    f = nonlinearity.get(name)
    grad_phi = jax.vmap(jax.grad(f.phi))(X)
    grad_antiderivative = jax.vmap(jax.grad(f.antiderivative))(X)
    np.testing.assert_allclose(f.dphi(X), grad_phi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_antiderivative, f.phi(X), rtol=1e-12, atol=1e-12)
    assert float(f.antiderivative(jnp.zeros(()))) == 0.0
    assert float(f.phi(jnp.zeros(()))) == 0.0


def test_log_cosh_is_stable_at_large_arguments():
    value = nonlinearity.get("tanh").antiderivative(jnp.asarray(800.0))
    assert np.isfinite(value) and abs(float(value) - (800.0 - np.log(2.0))) < 1e-10


def test_unknown_nonlinearity():
    with pytest.raises(nd.ParameterError, match="phi='cube' is unknown; allowed: tanh, erf, relu"):
        nonlinearity.get("cube")


@pytest.mark.parametrize("name", list(nonlinearity.NONLINEARITIES))
def test_bound_is_the_supremum_of_phi(name):
    # The simulator's a-priori divergence bound relies on |φ| ≤ bound; checked on a wide grid
    # (reached to 1e-12 for the saturating ones; relu exceeds any finite value).
    f = nonlinearity.get(name)
    values = np.abs(np.asarray(f.phi(jnp.linspace(-1e3, 1e3, 200001))))
    if f.bounded:
        assert values.max() <= f.bound and values.max() == pytest.approx(f.bound, abs=1e-12)
    else:
        assert f.bound == np.inf and values.max() >= 1e3
