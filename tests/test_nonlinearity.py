"""φ, φ′ and Φ are consistent: φ′ = dφ/dx and dΦ/dx = φ by automatic differentiation; each
bound is sup |φ| on a wide grid; the other capabilities (slope at 0, odd, increasing, closed
forms) are what φ does, and agree with the JAX-free table; bad user nonlinearities are named."""

import dataclasses
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import nonlinearity, nonlinearity_names

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


# --- capabilities --------------------------------------------------------------------------

GRID = jnp.linspace(-8.0, 8.0, 1601)


@pytest.mark.parametrize("name", list(nonlinearity.NONLINEARITIES))
def test_capabilities_are_what_phi_does(name):
    """slope_at_zero, odd and increasing against φ itself on a grid (right difference at 0 for
    the slope, φ(−x) + φ(x) for oddness, the sign of the differences for monotonicity)."""
    f = nonlinearity.get(name)
    eps = 1e-7
    right = float((f.phi(jnp.asarray(eps)) - f.phi(jnp.asarray(0.0))) / eps)
    assert right == pytest.approx(f.slope_at_zero, rel=1e-6)
    asymmetry = float(jnp.max(jnp.abs(f.phi(-GRID) + f.phi(GRID))))
    assert (asymmetry <= 1e-15) == f.odd, asymmetry
    # (on [−3, 3]: farther out the saturating ones round to ±1 in float64)
    steps = np.diff(np.asarray(f.phi(jnp.linspace(-3.0, 3.0, 601))))
    assert bool(np.all(steps > 0)) == f.increasing
    assert (f.gaussian_pair is not None) == nonlinearity_names.CAPABILITIES[name].closed_form


def test_the_jax_free_table_is_the_registry():
    for name, entry in nonlinearity.NONLINEARITIES.items():
        assert entry.name == name and entry.capabilities == nonlinearity_names.CAPABILITIES[name]
        assert entry.bounded == nonlinearity_names.CAPABILITIES[name].bounded
    assert nonlinearity_names.names_with(bounded=True) == ("tanh", "erf")
    assert nonlinearity_names.names_with(closed_form=True, bounded=False) == ("relu",)
    with pytest.raises(TypeError, match="capability 'bound'"):
        nonlinearity_names.names_with(bound=True)


def test_a_table_that_disagrees_with_the_registry_is_refused(monkeypatch):
    wrong = dict(nonlinearity_names.CAPABILITIES)
    wrong["tanh"] = dataclasses.replace(wrong["tanh"], bound=2.0)
    monkeypatch.setattr(nonlinearity, "CAPABILITIES", wrong)
    with pytest.raises(ImportError, match=r"CAPABILITIES\['tanh'\]"):
        nonlinearity._check_registry()
    monkeypatch.setattr(nonlinearity, "NAMES", ("tanh", "erf"))
    with pytest.raises(ImportError, match="does not match the registry"):
        nonlinearity._check_registry()


def _custom(**changes):
    fields = dict(name="cubic_tanh", phi=jnp.tanh, dphi=lambda x: 1 - jnp.tanh(x) ** 2,
                  antiderivative=lambda x: jnp.log(jnp.cosh(x)), bound=1.0, slope_at_zero=1.0,
                  odd=True, increasing=True)
    return nonlinearity.Nonlinearity(**{**fields, **changes})


def test_a_user_nonlinearity_is_static_hashable_and_returned_by_get():
    f = _custom()
    assert nonlinearity.get(f) is f and nonlinearity.name_of(f) == "cubic_tanh"
    assert jax.tree_util.tree_leaves(f) == [] and f == _custom(phi=f.phi, dphi=f.dphi,
                                                              antiderivative=f.antiderivative)
    assert f != nonlinearity.get("tanh") and hash(f) == hash(f)
    traced = jax.jit(lambda x, nl: nl.phi(x), static_argnums=1)
    assert float(traced(jnp.asarray(0.5), f)) == pytest.approx(np.tanh(0.5), rel=1e-15)


@pytest.mark.parametrize("changes, fragment", [
    ({"phi": 3.0}, "phi=3.0 is not callable"),
    ({"antiderivative": None}, "antiderivative=None is not callable"),
    ({"bound": 0.0}, "bound=0.0 must be > 0"),
    ({"bound": "one"}, "bound='one' is not a number"),
    ({"slope_at_zero": math.inf}, "slope_at_zero=inf must be finite"),
    ({"slope_at_zero": math.nan}, "slope_at_zero=nan is NaN"),
    ({"odd": 1}, "odd=1; True or False"),
    ({"gaussian_pair": "closed"}, "gaussian_pair='closed' must be None or a function"),
    ({"name": ""}, "name=''"),
])
def test_bad_nonlinearity_fields_are_named(changes, fragment):
    with pytest.raises(nd.ParameterError, match=re.escape(fragment)):
        _custom(**changes)


def test_get_refuses_what_is_neither_a_name_nor_a_nonlinearity():
    with pytest.raises(nd.ParameterError, match="phi=3 is neither a registered name nor a "
                                                "Nonlinearity; allowed: tanh, erf, relu"):
        nonlinearity.get(3)
