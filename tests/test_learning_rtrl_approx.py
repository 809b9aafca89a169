"""The RTRL approximations beside RFLO: UORO and KF-RTRL (unbiased stochastic estimates of the
discrete RTRL sensitivity), SnAp-1 (own-unit influence traces) and e-prop (RFLO for rate
units). Their alignment with the exact gradient is checked for every approximate rule in
tests/test_learning_registry.py; here the properties that define them.

One tiny shape (n = 4, 21 samples over T = 2, rk4 steps of 0.05) for everything."""

import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
import neurodyn.learning as L
from neurodyn.learning.params import vector_field

sys.path.insert(0, str(Path(__file__).parent))
from test_learning_trajectory import make_task  # noqa: E402

N, T, SAMPLES, DT = 4, 2.0, 21, 0.05
DYNAMIC = ("J", "theta", "B")
TOTAL = 2**14
"""Estimates drawn per stochastic rule (one vmapped call)."""
GROUP_SIZES = (16, 64, 256, 1024, 4096)
"""Sizes S of the means whose error is fitted against S (TOTAL/S ≥ 4 disjoint groups each)."""


@pytest.fixture(scope="module")
def case():
    params = L.Params.random(N, g=0.8, seed=7).without_metadata()
    task = make_task(N, T, seed=3, samples=SAMPLES)
    _, exact = L.RtrlDiscrete(dt=DT).value_and_grad(params, task)
    return params, task, exact


def flat(grads):
    return jnp.concatenate([jnp.ravel(grads[name]) for name in DYNAMIC], axis=-1)


def estimates(rule, params, task):
    """TOTAL estimates of the dynamic groups' gradient (TOTAL, m) for seeds 0 … TOTAL−1: the
    seed is a traced field, so one compilation of the vmapped gradient serves them all."""
    trainable, static = rule._checked(params, task, L.TRAINABLE)

    @jax.jit
    def many(seeds):
        def one(seed):
            return flat(eqx.tree_at(lambda r: r.seed, rule, seed).gradient(
                params, task, trainable, static)[1])
        return jax.lax.map(one, seeds, batch_size=1024)

    return np.asarray(many(jnp.arange(TOTAL)))


@pytest.mark.parametrize("name", ["uoro", "kf_rtrl"])
def test_stochastic_rules_are_unbiased_estimates_of_discrete_rtrl(case, name):
    """The mean of S estimates converges to the exact gradient of the discretised loss (discrete
    RTRL, forward mode with no randomness) as 1/√S: the RMS error of the means of disjoint
    groups of S estimates, fitted against S on a log-log scale, has slope −1/2 (a bias would
    flatten it towards 0 at large S). Tolerance ±0.1: the RMS over TOTAL/S ≥ 4 groups of a
    ~24-dimensional error has a relative spread of at most ~1/√(2·4) ≈ 0.35 at S = 4096 and far
    less at small S, ≤ 0.35/ln(256) ≈ 0.06 in the slope over the fitted range. And the mean of
    all TOTAL estimates lies within the noise: ‖mean − exact‖² ≤ 9 tr(Σ̂)/TOTAL (its expectation
    is tr(Σ)/TOTAL; 9 is 3σ for one dominant direction, a χ²₁)."""
    params, task, exact = case
    rule = L.rule(name, dt=DT)
    draws = estimates(rule, params, task)
    target = np.asarray(flat(exact))
    errors = []
    for size in GROUP_SIZES:
        means = draws.reshape(TOTAL // size, size, -1).mean(axis=1)
        errors.append(np.sqrt(np.mean(np.sum((means - target) ** 2, axis=1))))
    slope = np.polyfit(np.log(GROUP_SIZES), np.log(errors), 1)[0]
    assert abs(slope + 0.5) <= 0.1, (name, slope, errors)
    variance = np.sum(np.var(draws, axis=0, ddof=1))
    assert np.sum((draws.mean(axis=0) - target) ** 2) <= 9 * variance / TOTAL, name
    # one estimate is not the gradient (else the test above would be vacuous)
    assert np.linalg.norm(draws[0] - target) > 1e-3 * np.linalg.norm(target)


def test_eprop_is_rflo_for_rate_units(case):
    """e-prop's trace follows the unit's own (leak) dynamics, RFLO's too: the same rule here."""
    params, task, _ = case
    value_e, eprop = L.rule("eprop", dt=DT).value_and_grad(params, task)
    value_r, rflo = L.rule("rflo", dt=DT).value_and_grad(params, task)
    assert float(value_e) == float(value_r)
    for group in L.TRAINABLE:
        np.testing.assert_array_equal(eprop[group], rflo[group])


def test_snap1_adds_the_self_coupling_to_rflo(case):
    """SnAp-1 keeps J_kk g φ′(g h_k) in the trace's decay, RFLO drops it: with diag(J) = 0 the
    two are one rule (to rounding, 1e-12), with the SCS network's diagonal they differ (by
    J_kk ~ g/√n in the decay: well above 1e-3 relative here)."""
    params, task, _ = case
    hollow = params.replace(J=params.net.J - jnp.diag(jnp.diag(params.net.J)))
    snap1, rflo = L.rule("snap1", dt=DT), L.rule("rflo", dt=DT)

    def gap(p):
        a, b = flat(snap1.value_and_grad(p, task)[1]), flat(rflo.value_and_grad(p, task)[1])
        return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))

    assert gap(hollow) <= 1e-12
    assert gap(params) >= 1e-3


def test_snap1_is_the_masked_influence_of_the_euler_map(case):
    """With Euler steps, SnAp-1 is Menick et al.'s rule for the map S(h) = h + dt F(h): the
    own-unit influence e_(k,l) ← S′_kk e_(k,l) + ∂S_k/∂w_(k,l), here with S′_kk read off the
    Jacobian that jax.jacfwd forms of the step (not from the formula −1 + J_kk g φ′ the rule
    uses), accumulated in a plain Python loop over the steps."""
    params, task, _ = case
    steps = 2  # 0.1 sample spacing / 0.05
    dt = float(task.times[1] - task.times[0]) / steps
    _, snap1 = L.rule("snap1", dt=DT, stepper="euler").value_and_grad(params, task)

    def step(h, t):
        return h + dt * vector_field(h, params, task.input_at(t))

    jacobian = jax.jit(jax.jacfwd(step))
    h = task.h0
    e_J, e_theta, e_B = (np.zeros((N, N)), np.zeros(N), np.zeros((N, 1)))
    grads = {name: np.zeros_like(params.get(name)) for name in DYNAMIC}
    for k in range(SAMPLES):
        if k > 0:
            for i in range(steps):
                t = float(task.times[k - 1]) + i * dt
                diagonal = np.diag(np.asarray(jacobian(h, t)))
                x = np.asarray(task.input_at(t))
                rate = np.asarray(nd.network.rate(h, params.net))
                e_J = diagonal[:, None] * e_J + dt * rate[None, :]
                e_theta = diagonal * e_theta + dt
                e_B = diagonal[:, None] * e_B + dt * x[None, :]
                h = step(h, t)
        d_h = np.asarray(jax.grad(task.sample_loss)(h, params, k))
        grads["J"] += d_h[:, None] * e_J
        grads["theta"] += d_h * e_theta
        grads["B"] += d_h[:, None] * e_B
    for name in DYNAMIC:
        np.testing.assert_allclose(snap1[name], grads[name], rtol=1e-10, atol=1e-14)


def test_seed_is_validated():
    for name in ("uoro", "kf_rtrl"):
        with pytest.raises(nd.ParameterError, match="seed"):
            L.rule(name, seed=-1)
