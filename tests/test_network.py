"""Network construction: coupling statistics, symmetry, seeds and input checks."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd


def _offdiagonal_pairs(J):
    upper = np.triu_indices(J.shape[0], k=1)
    return J[upper], J.T[upper]


def test_symmetric_network_is_exactly_symmetric():
    J = np.asarray(nd.Network.random(N=300, symmetry=1.0, seed=3).J)
    assert np.array_equal(J, J.T)


@pytest.mark.parametrize("eta", [0.0, 0.5, -0.6])
def test_symmetry_sets_the_correlation_of_J_ij_and_J_ji(eta):
    N = 400
    J = np.asarray(nd.Network.random(N=N, symmetry=eta, seed=1).J)
    upper, lower = _offdiagonal_pairs(J)
    # Sample correlation of n pairs has standard error (1 − η²)/√n; 5 standard errors.
    tolerance = 5 * (1 - eta**2) / math.sqrt(upper.size) + 1e-12
    assert abs(np.corrcoef(upper, lower)[0, 1] - eta) < tolerance
    # Var J_ij = 1/N for every η; relative standard error of a variance estimate is √(2/n).
    assert abs(upper.var() * N - 1) < 5 * math.sqrt(2 / upper.size)


def test_mean_coupling_and_bias_statistics():
    N = 500
    net = nd.Network.random(N=N, J_mean=2.0, theta_mean=0.3, theta_std=0.5, seed=2)
    J = np.asarray(net.J)
    # mean of N² entries of N(J_mean/N, 1/N): standard error 1/N^1.5
    assert abs(J.mean() - 2.0 / N) < 5 / N**1.5
    theta = np.asarray(net.theta)
    assert abs(theta.mean() - 0.3) < 5 * 0.5 / math.sqrt(N)
    assert abs(theta.std() - 0.5) < 5 * 0.5 / math.sqrt(2 * N)


def test_same_seed_same_network_and_float32_is_rounded_float64():
    a = nd.Network.random(N=50, seed=7)
    b = nd.Network.random(N=50, seed=7)
    c = nd.Network.random(N=50, seed=8)
    assert np.array_equal(a.J, b.J)
    assert not np.array_equal(a.J, c.J)
    single = nd.Network.random(N=50, seed=7, dtype="float32")
    assert single.J.dtype == jnp.float32
    assert np.array_equal(np.asarray(single.J), np.asarray(a.J).astype(np.float32))


def test_drift_is_the_model_vector_field():
    net = nd.Network.random(N=20, g=1.7, theta_mean=0.2, theta_std=0.1, seed=0)
    h = np.random.default_rng(0).normal(size=(3, 20))
    expected = -h + np.tanh(1.7 * h) @ np.asarray(net.J).T + np.asarray(net.theta)
    np.testing.assert_allclose(nd.drift(h, net), expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"N": 0}, "N=0"),
        ({"N": -5}, "N=-5"),
        ({"N": 2.5}, "N=2.5"),
        ({"g": -1.0}, "g=-1.0"),
        ({"g": float("nan")}, "g=nan"),
        ({"J_mean": float("inf")}, "J_mean=inf"),
        ({"symmetry": 1.5}, "symmetry=1.5"),
        ({"phi": "sigmoid"}, "phi='sigmoid'"),
        ({"theta_std": -0.1}, "theta_std=-0.1"),
        ({"dtype": "int32"}, "dtype='int32'"),
        ({"seed": -1}, "seed=-1"),
    ],
)
def test_bad_parameters_are_named_in_the_error(kwargs, fragment):
    with pytest.raises(nd.ParameterError, match="^" + fragment.replace("(", r"\(").replace(
            ".", r"\.").replace("+", r"\+")):
        nd.Network.random(**{"N": 10, **kwargs})


def test_phi_is_a_nonlinearity_given_by_name_or_instance():
    """Network.phi is the Nonlinearity (its name in describe()); a user Nonlinearity is carried
    as given, and the drift uses it (checked against the formula with ½ tanh written out)."""
    from neurodyn import nonlinearity

    by_name = nd.Network.random(N=6, g=1.3, phi="erf", seed=2)
    assert by_name.phi is nonlinearity.get("erf") and by_name.describe()["phi"] == "erf"
    half = nonlinearity.Nonlinearity(
        name="half_tanh", phi=lambda x: 0.5 * jnp.tanh(x),
        dphi=lambda x: 0.5 * (1 - jnp.tanh(x) ** 2),
        antiderivative=lambda x: 0.5 * jnp.log(jnp.cosh(x)), bound=0.5, slope_at_zero=0.5,
        odd=True, increasing=True)
    J = np.asarray(by_name.J)
    net = nd.Network.from_arrays(J, g=1.3, phi=half)
    assert net.phi is half and net.describe()["phi"] == "half_tanh"
    h = np.linspace(-2.0, 2.0, 6)
    np.testing.assert_allclose(nd.drift(jnp.asarray(h), net), -h + J @ (0.5 * np.tanh(1.3 * h)),
                               rtol=1e-13, atol=1e-13)
    # hand-built networks convert a name too, and networks differing only in φ differ
    assert nd.Network(J=net.J, theta=net.theta, g=net.g, phi="tanh").phi is nonlinearity.get("tanh")
    assert net.without_metadata() != by_name.without_metadata()
    with pytest.raises(nd.ParameterError, match="phi=3 is neither a registered name"):
        nd.Network.from_arrays(J, phi=3)


def test_a_network_with_a_registered_phi_pickles_as_before():
    import pickle

    from neurodyn import nonlinearity

    net = nd.Network.random(N=4, g=1.5, phi="relu", seed=1)
    copy = pickle.loads(pickle.dumps(net))
    assert copy.phi is nonlinearity.get("relu") and copy.describe() == net.describe()
    np.testing.assert_array_equal(np.asarray(copy.J), np.asarray(net.J))
