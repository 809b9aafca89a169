"""Gradient flossing (neurodyn.learning.flossing): the QR exponent estimate, its gradient, and
that flossing moves λ₁ towards 0. The long-horizon demonstration (plain BPTT fails, flossing
reduces the loss ≥ 10×) is scripts/flossing_demo.py → benchmarks/flossing.json."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurodyn.errors import ParameterError
from neurodyn.learning import Params, _fixed_step, flossing, sine_generation
from neurodyn.learning.params import vector_field
from neurodyn.learning.tasks import uniform_steps

N, DURATION, DT = 6, 4.0, 0.1


@pytest.fixture(scope="module")
def problem():
    # g = 2: chaotic in the large-n limit; n = 6 only needs a non-trivial Jacobian product
    params, task = sine_generation(n=N, g=2.0, duration=DURATION, period=2.0, dt_sample=0.2,
                                   seed=3)
    steps, step = uniform_steps(task, DT)
    return params.without_metadata(), task, steps, step


def _exponents(params, task, steps, step, k):
    q0 = flossing.initial_basis(N, k, seed=0)
    return flossing.loss_and_exponents(params, task, q0, steps, step, "rk4", 1)


def test_sum_of_all_exponents_is_the_log_determinant_of_the_map(problem):
    """k = n: Σ λ_i = (1/T) Σ_m log|det M_m|, M_m the Jacobian of interval m's rk4 map, formed
    here by jax.jacfwd of the map and np.linalg.slogdet (no QR, no tangent dynamics)."""
    params, task, steps, step = problem
    loss, exponents = jax.jit(lambda p: _exponents(p, task, steps, step, N))(params)

    def interval_map(h, t0):
        def f(t, h):
            return vector_field(h, params, task.input_at(t))

        for i in range(steps):
            h = _fixed_step.rk_step(f, t0 + i * step, h, step, "rk4")
        return h

    h, log_det = task.h0, 0.0
    for m in range(task.times.shape[0] - 1):
        jacobian = jax.jacfwd(interval_map)(h, task.times[m])
        log_det += np.linalg.slogdet(np.asarray(jacobian))[1]
        h = interval_map(h, task.times[m])
    # float64 sums of 20 log-determinants of 6 × 6 matrices: rounding ~1e-13
    np.testing.assert_allclose(float(jnp.sum(exponents)), log_det / DURATION, rtol=1e-9,
                               atol=1e-12)


def test_flossing_gradient_matches_finite_differences(problem):
    """d/dε Σλ_i² (J + ε D, θ + ε d) by central differences vs the reverse-mode gradient
    through the QR steps (CholeskyQR2) and the trajectory."""
    params, task, steps, step = problem
    k = 2
    q0 = flossing.initial_basis(N, k, seed=0)

    def objective(J, theta):
        p = params.replace(J=J, theta=theta)
        return flossing.flossed_loss(p, task, q0, steps, step, 1.0, 0.0)[0]

    grad_J, grad_theta = jax.jit(jax.grad(objective, argnums=(0, 1)))(params.net.J,
                                                                      params.net.theta)
    key_J, key_theta = jax.random.split(jax.random.key(7))
    D = jax.random.normal(key_J, (N, N), jnp.float64)
    d = jax.random.normal(key_theta, (N,), jnp.float64)
    f = jax.jit(objective)
    eps = 1e-5
    plus = f(params.net.J + eps * D, params.net.theta + eps * d)
    minus = f(params.net.J - eps * D, params.net.theta - eps * d)
    numeric = float(plus - minus) / (2 * eps)
    analytic = float(jnp.sum(grad_J * D) + jnp.sum(grad_theta * d))
    # central differences: truncation ~ε² |f'''| ≈ 1e-10, rounding ~1e-16 |f| / ε ≈ 1e-11
    assert abs(analytic) > 1e-4  # a gradient that is not trivially zero
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_flossing_moves_the_leading_exponent_towards_zero():
    """Five Adam steps on β λ₁² alone (``pre_iterations``, no task loss) bring λ₁ from −0.52
    (this tiny network's estimate over its short window) to within a fifth of that of 0."""
    params, task = sine_generation(n=N, g=2.0, duration=DURATION, period=2.0, dt_sample=0.2,
                                   seed=3)
    _, ds = flossing.train_flossing(params, task, k=1, beta=1.0, pre_iterations=5,
                                    iterations=1, learning_rate=0.02, dt=DT)
    # lyapunov[i] is the estimate before update i: [5] is after the five flossing updates
    first, floss = abs(float(ds.lyapunov[0, 0])), abs(float(ds.lyapunov[5, 0]))
    assert first > 0.1  # started away from 0
    assert floss < 0.2 * first, (first, floss)
    assert ds.attrs["pre_iterations"] == 5 and ds.sizes["iteration"] == 6


def test_bad_input():
    params, task = sine_generation(n=N, duration=1.0, dt_sample=0.2)
    with pytest.raises(ParameterError, match="k=7 exceeds n=6"):
        flossing.train_flossing(params, task, k=7)
    with pytest.raises(ParameterError, match="beta"):
        flossing.train_flossing(params, task, beta=-1.0)
    other = Params.random(5)
    with pytest.raises(ParameterError, match="do not match"):
        flossing.train_flossing(other, task)
