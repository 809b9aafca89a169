"""The one RNG scheme (neurodyn.rng): deterministic, one independent stream per purpose, and the
network and simulation streams bit-for-bit those of the derivations it replaced (written out
here), so stored runs and the README's numbers stay reproducible."""

import importlib
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import rng

SEEDS = (0, 1, 12345)


def test_same_seed_and_purpose_same_key_and_draws():
    for purpose in rng.PURPOSES:
        first, second = rng.key(7, purpose), rng.key(7, purpose)
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(jax.random.normal(first, (5,)), jax.random.normal(second, (5,)))


def test_distinct_purposes_and_seeds_give_independent_streams():
    """Every (seed, purpose) has its own key, and the draws of any two purposes of one seed are
    uncorrelated: |sample correlation| of 20 000 normals below 5/√20 000 (5 standard errors)."""
    keys = {(seed, purpose): tuple(np.asarray(rng.key(seed, purpose)).tolist())
            for seed in SEEDS for purpose in rng.PURPOSES}
    assert len(set(keys.values())) == len(keys)
    size = 20_000
    draws = {purpose: np.asarray(jax.random.normal(rng.key(3, purpose), (size,), jnp.float64))
             for purpose in rng.PURPOSES}
    for a, b in itertools.combinations(rng.PURPOSES, 2):
        r = np.corrcoef(draws[a], draws[b])[0, 1]
        assert abs(r) < 5 / math.sqrt(size), (a, b, r)


def test_split_is_fold_in():
    """The identity the compatibility rests on: split(k)[i] == fold_in(k, i) in this jax."""
    for seed in SEEDS:
        root = jax.random.PRNGKey(seed)
        for i, part in enumerate(jax.random.split(root, 3)):
            np.testing.assert_array_equal(part, jax.random.fold_in(root, i))


def test_network_and_simulation_keys_are_the_former_derivations():
    """Before neurodyn.rng: Network.random drew J, θ from split(PRNGKey(seed)); simulate drew
    stream s (0: h(0), 1: noise, 2: tangents) from fold_in(fold_in(PRNGKey(seed), 0x73696D75), s)."""
    simulate_module = importlib.import_module("neurodyn.simulate")  # nd.simulate is the function
    for seed in SEEDS:
        key_J, key_theta = jax.random.split(jax.random.PRNGKey(seed))
        np.testing.assert_array_equal(rng.key(seed, "couplings"), key_J)
        np.testing.assert_array_equal(rng.key(seed, "biases"), key_theta)
        for stream, purpose in enumerate(("initial_state", "noise", "tangents")):
            old = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), 0x73696D75),
                                     stream)
            np.testing.assert_array_equal(rng.key(seed, purpose), old)
            np.testing.assert_array_equal(simulate_module.simulation_key(seed, stream), old)
    # and the drawn network itself: J = X/√N, θ = θ̄ + σ_θ z with the former keys
    N, seed = 6, 5
    net = nd.Network.random(N=N, g=1.0, theta_mean=0.5, theta_std=2.0, seed=seed)
    key_J, key_theta = jax.random.split(jax.random.PRNGKey(seed))
    np.testing.assert_array_equal(
        net.J, jax.random.normal(key_J, (N, N), jnp.float64) / math.sqrt(N))
    np.testing.assert_array_equal(
        net.theta, 0.5 + 2.0 * jax.random.normal(key_theta, (N,), jnp.float64))


def test_unknown_purpose_and_bad_seed_are_parameter_errors():
    with pytest.raises(nd.ParameterError, match=r"purpose='weights'.*allowed: couplings"):
        rng.key(0, "weights")
    with pytest.raises(nd.ParameterError, match="purpose"):
        rng.key(0, 1)
    with pytest.raises(nd.ParameterError, match="seed=-1"):
        rng.key(-1, "noise")
