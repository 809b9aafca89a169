"""Divergence and non-finite drifts stop the solve and name the time (issue 12, classes 4–5).

Independent truths: relu networks above g = √2 grow without bound (relu is positively
homogeneous, so the mean-field variance obeys q' ∝ (g²/2 − 1) q); the ODE of a bounded φ obeys
|h_i(t)| ≤ |h_i(0)| + Σ_j |J_ij| sup|φ| + |θ_i|, computed here from J directly; explicit Euler on
dh/dt = −h + … is unstable for dt > 2. A solve that hung would end with "max_steps" in its
message, so the hang tests pass a small max_steps and require the divergence message instead
(a count, not a timing; the elapsed bound is only a generous guard).
"""

import math
import re
import time

import numpy as np
import pytest

import neurodyn as nd
from neurodyn import solvers


def reported_time(error: Exception) -> float:
    match = re.search(r"diverged by t=([0-9.e+-]+)", str(error))
    assert match, str(error)
    return float(match.group(1))


RELU = dict(N=20, g=3.0, phi="relu", seed=0)
WINDOW = dict(t1=12.0, dt_save=0.5)
"""Shared by several tests so that they reuse one compiled solve per solver (same shapes)."""


@pytest.mark.parametrize("solver, noise", [(name, 0.0) for name in solvers.ODE_SOLVERS]
                         + [(name, 0.1) for name in solvers.SDE_SOLVERS])
def test_relu_at_gain_3_is_reported_diverging_with_its_time_by_every_solver(solver, noise):
    net = nd.Network.random(**RELU)
    with pytest.raises(nd.DivergenceError, match="grows exponentially") as caught:
        nd.simulate(net, **WINDOW, solver=solver, noise=noise)
    # Detected once max |h| exceeds 1000 × its scale (~3.3 here), well before the old 1e100.
    assert 0.0 < reported_time(caught.value) <= 12.0
    rate = float(re.search(r"rate ([0-9.e+-]+) per tau", str(caught.value)).group(1))
    assert rate > 0.3  # g = 3 is far above the relu transition at √2


def test_float32_relu_divergence_is_reported_not_saved_as_inf():
    net = nd.Network.random(**RELU, dtype="float32")
    with pytest.raises(nd.DivergenceError, match=r"diverged by t=\d"):
        nd.simulate(net, **WINDOW)


def test_growth_too_fast_for_the_saves_to_follow_hits_the_dtype_aware_bound():
    # g = 100: max |h| grows ~1e11-fold per save interval, so there is no growth history to
    # judge and the bound itself must stop the solve. For relu it is scale/eps (float64:
    # ~1.5e16 here), not the old 1e100.
    net = nd.Network.random(**{**RELU, "g": 100.0})
    with pytest.raises(nd.DivergenceError, match="exceeded the divergence bound") as caught:
        nd.simulate(net, **WINDOW, solver="euler")
    bound = float(re.search(r"bound ([0-9.e+-]+)", str(caught.value)).group(1))
    assert 1e10 < bound < 1e17
    assert reported_time(caught.value) <= 1.5


def test_unstable_euler_on_a_bounded_phi_crosses_the_a_priori_bound():
    # Euler with dt = 2.5 multiplies the leak part by |1 − dt| = 1.5 per step: numerical blow-up
    # of a tanh network, whose exact solution never leaves the a-priori bound.
    net = nd.Network.random(N=20, g=2.0, seed=0)
    with pytest.raises(nd.DivergenceError, match="exceeded the divergence bound"):
        nd.simulate(net, t1=100.0, dt_save=2.5, dt=2.5, solver="euler")


def test_bounded_phi_at_large_gain_is_not_flagged_and_its_bound_is_the_a_priori_one():
    net = nd.Network.random(N=200, g=5.0, seed=2)
    ds = nd.simulate(net, **TANH_WINDOW)
    h0 = ds.h.isel(time=0).values
    rows = np.abs(np.asarray(net.J)).sum(axis=1).max()
    assert ds.attrs["divergence_bound"] == pytest.approx(2.0 * (np.abs(h0).max() + rows))
    assert np.abs(ds.h.values).max() <= np.abs(h0).max() + rows  # the bound's premise


def test_stable_relu_network_with_bias_is_not_flagged():
    # g = 1 < √2: relu with θ = 1 relaxes to a fixed point of order θ; the growth towards it
    # decelerates and stays far below 1000 × the scale. (rk4 with its default step: the run
    # records dt = 0.01 and no tolerances.)
    net = nd.Network.random(**{**RELU, "g": 1.0, "theta_mean": 1.0})
    ds = nd.simulate(net, **WINDOW, h0=np.zeros(20), solver="rk4")
    assert np.all(np.isfinite(ds.h.values)) and np.abs(ds.h.values).max() > 0.5
    assert ds.attrs["dt"] == solvers.DEFAULT_DT == 0.01
    assert "rtol" not in ds.attrs and "atol" not in ds.attrs


TANH_WINDOW = dict(t1=50.0, dt_save=0.5)


def _huge_mean_coupling(N, phi="tanh"):
    rng = np.random.default_rng(0)
    return nd.Network.from_arrays(rng.normal(size=(N, N)) / math.sqrt(N) + 1e308 / N, g=2.0,
                                  phi=phi)


def test_non_finite_drift_from_a_huge_mean_coupling_stops_at_once():
    # J_ij ≈ 1e306: the drift overflows, every adaptive step is rejected; the solve used to
    # shrink its step until max_steps = 1e7 (95 s at N = 50).
    started = time.perf_counter()
    with pytest.raises(nd.DivergenceError, match=r"diverged by t=0: the drift became non-finite"):
        nd.simulate(_huge_mean_coupling(200), **TANH_WINDOW)
    assert time.perf_counter() - started < 30.0


def test_huge_drift_on_a_fixed_step_solver_stops_at_the_first_step():
    net = _huge_mean_coupling(20, phi="relu")
    with pytest.raises(nd.DivergenceError, match="exceeded the divergence bound") as caught:
        nd.simulate(net, **WINDOW, solver="rk4")
    assert reported_time(caught.value) <= WINDOW["dt_save"]


def test_nan_returning_input_stops_at_the_time_it_appears():
    import jax.numpy as jnp

    net = nd.Network.random(N=50, g=2.0, seed=0)
    started = time.perf_counter()
    with pytest.raises(nd.DivergenceError, match="drift became non-finite") as caught:
        nd.simulate(net, t1=20.0, dt_save=0.5, solver="dopri5", max_steps=1000,
                    inputs=lambda t: jnp.where(t > 3.2, jnp.nan, 0.0) * jnp.ones(50))
    assert 3.2 <= reported_time(caught.value) <= 3.5
    assert time.perf_counter() - started < 30.0


def test_lyapunov_of_a_diverging_network_raises_with_the_time():
    net = nd.Network.random(N=50, g=10.0, phi="relu", seed=0)
    with pytest.raises(nd.DivergenceError, match=r"lyapunov: the trajectory diverged by t=\d"):
        nd.lyapunov(net, t1=50.0)


def test_lyapunov_with_a_non_finite_drift_stops_at_once():
    started = time.perf_counter()
    with pytest.raises(nd.DivergenceError, match="drift became non-finite") as caught:
        nd.lyapunov(_huge_mean_coupling(50, phi="relu"), t1=50.0)
    assert reported_time(caught.value) <= 1.0  # the first QR interval
    assert time.perf_counter() - started < 30.0
