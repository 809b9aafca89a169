"""Simulation: solver accuracy against references, SDE statistics against the OU closed form,
decay below the transition, the chaotic second moment against the SCS energy condition,
inputs against closed-form solutions, reproducibility and input errors."""

import math
import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import keyword_clashes, scs_delta0_energy_condition

import neurodyn as nd
from neurodyn import solvers
from neurodyn.network import drift


@pytest.fixture(scope="module")
def chaotic_net():
    return nd.Network.random(N=200, g=2.0, seed=11)


@pytest.fixture(scope="module")
def reference(chaotic_net):
    """Tight-tolerance Dopri8 (8th order) over a short window: chaos makes longer windows
    meaningless for trajectory comparisons."""
    return nd.simulate(chaotic_net, t1=4.0, dt_save=0.5, solver="dopri8", rtol=1e-12,
                       atol=1e-12, seed=3).h.values


def test_tsit5_matches_tight_dopri8_reference(chaotic_net, reference):
    h = nd.simulate(chaotic_net, t1=4.0, dt_save=0.5, solver="tsit5", rtol=1e-8, atol=1e-8,
                    seed=3).h.values
    # Local tolerance 1e-8 over ~40 steps with |h| ~ 1 and λ_max·t ≲ 1: global error ≲ 1e-6.
    assert np.max(np.abs(h - reference)) < 1e-6
    dopri5 = nd.simulate(chaotic_net, t1=4.0, dt_save=0.5, solver="dopri5", rtol=1e-8,
                         atol=1e-8, seed=3).h.values
    assert np.max(np.abs(dopri5 - reference)) < 1e-6


@pytest.mark.parametrize("solver, order", [(name, spec.order) for name, spec
                                           in solvers.ODE_SOLVERS.items() if not spec.adaptive])
def test_fixed_step_solvers_converge_at_their_order(chaotic_net, reference, solver, order):
    errors = []
    for dt in (0.05, 0.025):
        h = nd.simulate(chaotic_net, t1=4.0, dt_save=0.5, solver=solver, dt=dt, seed=3).h.values
        errors.append(np.max(np.abs(h - reference)))
    observed = math.log2(errors[0] / errors[1])
    assert abs(observed - order) < 0.35, (errors, observed)


@pytest.mark.parametrize("solver, dt, expected_factor", [
    ("euler", 0.1, 2.0 / 1.9),  # Euler–Maruyama's AR(1) stationary variance σ²/(2 − dt)
    ("shark", 0.1, 1.0),        # strong order 1.5 for additive noise: σ²/2 up to O(dt²)
])
def test_sde_with_zero_coupling_is_ornstein_uhlenbeck(solver, dt, expected_factor):
    # g = 0 gives φ(0) = 0, so dh = −h dt + σ dW with stationary variance σ²/2.
    sigma = 0.8
    net = nd.Network.random(N=500, g=0.0, seed=0)
    ds = nd.simulate(net, t1=100.0, transient=10.0, trials=4, noise=sigma, solver=solver, dt=dt)
    second_moment = float((ds.h**2).mean())
    # 500·4 neurons × 100 τ with correlation time 1/2 for h²: ~2e5 independent samples, relative
    # standard error √(2/2e5) = 0.3 %; 1.5 % is 5 standard errors (and 0.3 % for the O(dt²) of ShARK).
    assert second_moment == pytest.approx(expected_factor * sigma**2 / 2, rel=0.015)


def test_below_transition_every_trajectory_decays_to_zero():
    net = nd.Network.random(N=300, g=0.5, seed=4)
    ds = nd.simulate(net, t1=60.0, dt_save=1.0, trials=3, seed=1)
    # The slowest mode decays like exp((g·ρ(J) − 1) t) ≈ exp(−0.5 t): 1e-13 by t = 60; the
    # absolute tolerance 1e-6 bounds what the adaptive solver resolves.
    assert np.max(np.abs(ds.h.isel(time=-1).values)) < 1e-5
    assert np.max(np.abs(ds.h.isel(time=0).values)) > 0.5


def test_chaotic_second_moment_matches_the_energy_condition():
    delta0 = scs_delta0_energy_condition(2.0)  # 0.4812 for tanh, g = 2
    net = nd.Network.random(N=2000, g=2.0, seed=1)
    ds = nd.simulate(net, t1=200.0, transient=100.0, seed=1)
    # Raw <h²> (no per-neuron mean removed). Finite-size corrections are O(1/N) ≈ 0.05 % and
    # the temporal sampling error for T = 200 τ with N = 2000 neurons is ≲ 1 %; measured
    # deviation 0.4 % (seed 1), 3 % allows for seed-to-seed variation.
    assert float((ds.h**2).mean()) == pytest.approx(delta0, rel=0.03)


def test_time_dependent_input_callable_and_sampled_match_closed_form():
    # With g = 0, dh/dt = −h + sin(ωt) and h(0) = 0 has
    # h(t) = (sin ωt − ω cos ωt + ω e^{−t}) / (1 + ω²).
    omega, N = 2.0, 3
    net = nd.Network.random(N=N, g=0.0, seed=0)
    t_input = np.linspace(0.0, 10.0, 20001)
    sampled = np.repeat(np.sin(omega * t_input)[:, None], N, axis=1)
    exact_t = np.arange(0, 101) * 0.1
    exact = (np.sin(omega * exact_t) - omega * np.cos(omega * exact_t)
             + omega * np.exp(-exact_t)) / (1 + omega**2)
    kwargs = dict(t1=10.0, dt_save=0.1, h0=np.zeros(N), rtol=1e-10, atol=1e-10)
    by_callable = nd.simulate(net, inputs=lambda t: jnp.sin(omega * t) * jnp.ones(N), **kwargs)
    by_samples = nd.simulate(net, inputs=sampled, input_times=t_input, **kwargs)
    np.testing.assert_allclose(by_callable.h.values[0, :, 0], exact, atol=1e-8)
    # Linear interpolation of samples spaced 5e-4 has error ≤ ω² Δt²/8 ≈ 1.3e-7.
    np.testing.assert_allclose(by_samples.h.values[0, :, 1], exact, atol=1e-6)


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_same_seed_is_bit_identical_and_other_seed_differs(noise):
    net = nd.Network.random(N=100, g=1.5, seed=2)
    a = nd.simulate(net, t1=5.0, trials=2, noise=noise, seed=5).h.values
    b = nd.simulate(net, t1=5.0, trials=2, noise=noise, seed=5).h.values
    c = nd.simulate(net, t1=5.0, trials=2, noise=noise, seed=6).h.values
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_dataset_layout_units_and_provenance():
    net = nd.Network.random(N=30, g=1.5, seed=0)
    ds = nd.simulate(net, t1=2.0, dt_save=0.5, transient=1.0, trials=2)
    assert not keyword_clashes(ds)
    assert ds.h.dims == ("trial", "time", "neuron")
    assert ds.h.shape == (2, 5, 30)
    np.testing.assert_allclose(ds.time.values, [1.0, 1.5, 2.0, 2.5, 3.0])
    assert "tau" in ds.time.attrs["units"]
    assert ds.attrs["network"]["g"] == 1.5 and ds.attrs["solver"] == "tsit5"
    assert ds.attrs["num_steps"] > 0
    assert ds.attrs["provenance"]["versions"]["diffrax"]
    # rtol/atol default to None ("the solver's default"); the run records the values used.
    assert ds.attrs["rtol"] == ds.attrs["atol"] == 1e-6 and "dt" not in ds.attrs


def test_float32_runs_in_float32():
    net = nd.Network.random(N=50, g=2.0, seed=0, dtype="float32")
    ds = nd.simulate(net, t1=5.0, rtol=1e-4, atol=1e-4)
    assert ds.h.dtype == np.float32


@pytest.mark.parametrize("noise", [0.0, 0.5])  # 0.5 with euler: the lax.scan path
def test_divergence_names_the_time(noise):
    net = nd.Network.random(N=100, g=30.0, phi="relu", seed=0)
    with pytest.raises(nd.DivergenceError, match=r"diverged by t=\d"):
        nd.simulate(net, t1=100.0, dt_save=0.5, noise=noise,
                    solver="euler" if noise else None)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"t1": 0.0}, "t1=0.0 must be > 0"),
    ({"t1": float("nan")}, "t1=nan is not finite"),
    ({"dt_save": 20.0}, "dt_save=20.0 is larger than t1=10.0"),
    ({"solver": "rk45"}, "solver='rk45' is unknown; allowed with noise=0: tsit5"),
    ({"solver": "tsit5", "noise": 0.5}, "solver='tsit5' cannot integrate an SDE (noise=0.5 > 0)"),
    ({"noise": -1.0}, "noise=-1.0 must be >= 0"),
    ({"trials": 0}, "trials=0"),
    ({"h0": np.zeros(7)}, "h0 has shape"),
    ({"inputs": np.zeros((5, 20))}, "input_times"),
])
def test_bad_simulation_parameters(kwargs, fragment):
    net = nd.Network.random(N=20, g=1.0, seed=0)
    with pytest.raises(nd.ParameterError, match=re.escape(fragment)):
        nd.simulate(net, **{"t1": 10.0, **kwargs})


def test_equal_network_and_simulation_seeds_give_independent_streams():
    # h(0) must not reuse the random numbers of J when both come from the same seed.
    N = 300
    net = nd.Network.random(N=N, g=2.0, seed=4)
    h0 = nd.simulate(net, t1=1.0, dt_save=1.0, seed=4).h.values[0, 0]
    first_row = np.asarray(net.J)[0] * math.sqrt(N)
    # Correlation of N independent pairs has standard error 1/√N; 5 standard errors.
    assert abs(np.corrcoef(h0, first_row)[0, 1]) < 5 / math.sqrt(N)


@pytest.mark.parametrize(
    "solver, noise",
    [(name, 0.0) for name in solvers.ODE_SOLVERS] + [(name, 0.3) for name in solvers.SDE_SOLVERS],
)
def test_reported_rhs_evaluations_equal_counted_drift_calls(monkeypatch, solver, noise):
    """The benchmarks divide wall time by ``rhs_evaluations``; it must be the number of drift
    calls the compiled solve makes, counted on device by a callback in the drift (rejected steps
    included). Dopri8 was once reported at 12 per step instead of 13, 8 % off."""
    calls = []

    def counting_drift(h, net, external=0.0):
        jax.debug.callback(lambda: calls.append(1))
        return drift(h, net, external)

    # `neurodyn.simulate` is the function; the module is only reachable through sys.modules.
    monkeypatch.setattr(sys.modules["neurodyn.simulate"], "drift", counting_drift)
    monkeypatch.setattr(sys.modules["neurodyn.euler_maruyama"], "drift", counting_drift)
    jax.clear_caches()  # a solve compiled by an earlier test would not see the counting drift
    net = nd.Network.random(N=17, g=1.5, seed=0)
    step = dict(rtol=1e-6, atol=1e-6) if not noise and solvers.ODE_SOLVERS[solver].adaptive \
        else dict(dt=0.05)
    ds = nd.simulate(net, t1=3.0, trials=2, solver=solver, noise=noise, **step)
    jax.effects_barrier()
    assert len(calls) >= ds.attrs["num_steps"] > 0
    assert ds.attrs["rhs_evaluations"] == len(calls)


def _scan_euler_maruyama(net, noise, dt, save_times, transient, inputs=None, progress=False,
                         trials=2, seed=4, h0=None):
    """The scan path called directly (save_times evenly spaced by a multiple of dt)."""
    simulate_module = sys.modules["neurodyn.simulate"]
    if h0 is None:
        h0 = simulate_module.initial_condition(net.N, trials, seed, 1.0, net.dtype)
    external, _, _ = simulate_module._make_input(inputs, None, net.N, net.dtype)
    steps_per_save = round((save_times[1] - save_times[0]) / dt)
    return simulate_module._integrate_euler_maruyama(
        net.without_metadata(), h0, np.asarray(save_times), simulate_module.simulation_key(seed, 1),
        noise, dt, steps_per_save, transient, external, progress)


def test_scan_euler_maruyama_without_noise_is_diffrax_euler():
    """The lax.scan path's bookkeeping (transient, save intervals, time fed to a time-dependent
    input) against diffrax's Euler on the same ODE: σ = 0 makes the scan a deterministic Euler
    method with the same steps, so only rounding may differ. (The transient is a multiple of dt
    here: otherwise diffrax interpolates its saves between grid steps, and the scan lands on
    them exactly — see the next test.)"""
    net = nd.Network.random(N=60, g=1.8, seed=3)
    drive = jnp.sin(jnp.arange(60.0))

    def inputs(t):
        return 0.3 * drive * jnp.cos(2.0 * t)

    dt, dt_save, transient, t1 = 0.02, 0.5, 0.72, 6.0
    reference = nd.simulate(net, t1=t1, dt_save=dt_save, transient=transient, trials=2, seed=4,
                            solver="euler", dt=dt, inputs=inputs).h.values
    save_times = transient + dt_save * np.arange(13)
    ys, steps, finite, *_ = _scan_euler_maruyama(net, 0.0, dt, save_times, transient, inputs)
    assert steps == 36 + 12 * 25 and bool(np.all(finite))
    np.testing.assert_allclose(np.moveaxis(np.asarray(ys), 0, 1), reference, rtol=0, atol=1e-11)


def test_scan_euler_maruyama_lands_on_a_transient_that_is_not_a_multiple_of_dt():
    """g = 0, σ = 0: Euler is h ← (1 − dt) h, so after the transient 0.73 covered by 37 steps of
    0.73/37 and then 25 steps of 0.02 per save, every save is h0 times a known power."""
    net = nd.Network.random(N=30, g=0.0, seed=0)
    save_times = 0.73 + 0.5 * np.arange(4)
    ys, steps, *_ = _scan_euler_maruyama(net, 0.0, 0.02, save_times, 0.73)
    h0 = np.asarray(sys.modules["neurodyn.simulate"].initial_condition(30, 2, 4, 1.0, "float64"))
    expected = [h0 * (1 - 0.73 / 37) ** 37 * (1 - 0.02) ** (25 * k) for k in range(4)]
    assert steps == 37 + 3 * 25
    np.testing.assert_allclose(np.asarray(ys), np.stack(expected), rtol=1e-12)


def test_scan_euler_maruyama_in_chunks_is_bit_identical():
    """With a progress bar the scan runs in ~20 calls; each save interval draws from its own
    stream, so the result must not depend on the chunking."""
    net = nd.Network.random(N=40, g=1.5, seed=1)
    save_times = 0.4 + 0.25 * np.arange(41)
    whole = _scan_euler_maruyama(net, 0.7, 0.01, save_times, 0.4)[0]
    chunked = _scan_euler_maruyama(net, 0.7, 0.01, save_times, 0.4, progress=True)[0]
    assert np.array_equal(np.asarray(whole), np.asarray(chunked))


def test_scan_euler_maruyama_increments_have_variance_dt():
    """One step from h = 0 with J = 0, θ = 0 is σ √dt ξ: the sample variance over 2·10⁵ numbers
    must be σ² dt within 5 standard errors (√(2/2e5) = 0.3 % each), and neighbouring steps
    uncorrelated (|r| < 5/√2e5)."""
    net = nd.Network.random(N=1000, g=0.0, seed=0)
    sigma, dt = 0.8, 0.01
    ys = np.asarray(_scan_euler_maruyama(net, sigma, dt, np.arange(3) * dt, 0.0, seed=0,
                                         h0=jnp.zeros((200, 1000)))[0])
    first = ys[1]
    second = ys[2] - (1 - dt) * ys[1]  # φ(0) = 0: h2 = h1 − dt·h1 + σ√dt ξ2
    for increments in (first, second):
        assert np.var(increments) == pytest.approx(sigma**2 * dt, rel=5 * np.sqrt(2 / 2e5))
    r = np.corrcoef(first.ravel(), second.ravel())[0, 1]
    assert abs(r) < 5 / np.sqrt(2e5)
