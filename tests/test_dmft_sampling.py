"""The sampling (Eissfeller–Opper) DMFT against independent truths.

- tanh, η = 0: the analytic stationary solver (:func:`neurodyn.dmft.stationary`, energy
  condition + Newton equation), Δ0 and Δ(τ) at three lags, within 3 reported standard errors
  plus the measured discretisation bias of the test's dt (see _BIAS).
- linear φ, η ≠ 0, noise σ: a closed form. The single-site process is linear and Gaussian: in
  frequency space R_h(ω) = 1/(1 + iω − η g² R_h(ω)) and S_h = σ²|R_h|²/(1 − g²|R_h|²)
  (derived in _linear_delta), so Δ(τ) = (1/π) ∫₀^∞ S_h(ω) cos ωτ dω by scipy quadrature.
- the elliptic law: the trivial fixed point is stable for g (1 + η) < 1 (tanh, φ′(0) = 1): at
  three η the phase is quiescent at half the critical gain and chaotic at 1.5 times it.
- bad input, non-convergence, divergence raise the package's errors.

All solves share two compilations per φ (with and without the memory term) through the module
fixtures: g, η, σ, tol and the iteration limit are traced, only shapes and φ are static.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import neurodyn as nd
from neurodyn.errors import ConvergenceError, DivergenceError, ParameterError
from neurodyn.nonlinearity import Nonlinearity

# Small settings: 201 grid points, 1024 paths in 8 replicas.
SMALL = {"t1": 40.0, "dt": 0.2, "paths": 1024, "batches": 8, "seed": 3}
LAGS = (0.0, 1.0, 3.0)


def _linear_phi():
    return Nonlinearity(name="linear", phi=lambda x: x, dphi=jnp.ones_like,
                        antiderivative=lambda x: 0.5 * x**2, bound=math.inf, slope_at_zero=1.0,
                        odd=True, increasing=True)


def _linear_delta(g, eta, sigma, tau):
    """Δ(τ) of the linear single-site process h' = −h + γ + η g² ∫R_h h + σξ, ⟨γγ⟩ = g² C_h.

    Stationary and Gaussian, so in frequency space h(ω) = R_h(ω)(γ(ω) + σ ξ(ω)) with the
    response solving R = 1/(1 + iω − η g² R) (the root that is 1/(1 + iω) at large ω: the
    principal square root, valid for 4ηg² < 1), and S_h = |R|²(g² S_h + σ²).
    """

    def spectrum(omega):
        s = 1.0 + 1j * omega
        if eta == 0:
            response = 1.0 / s
        else:
            response = (s - np.sqrt(s * s - 4.0 * eta * g * g)) / (2.0 * eta * g * g)
        r2 = abs(response) ** 2
        return sigma**2 * r2 / (1.0 - g * g * r2)

    if tau == 0:
        value = integrate.quad(spectrum, 0.0, np.inf, limit=400, epsabs=1e-12)[0]
    else:
        value = integrate.quad(spectrum, 0.0, np.inf, weight="cos", wvar=tau, limlst=200)[0]
    return value / math.pi


def test_linear_closed_form_reduces_to_ou_at_eta_zero():
    # the closed form itself: η = 0 gives Δ(τ) = σ² e^{−κτ}/(2κ), κ = √(1 − g²)
    kappa = math.sqrt(1 - 0.25)
    for tau in (0.0, 1.5):
        assert _linear_delta(0.5, 0.0, 1.0, tau) == pytest.approx(
            math.exp(-kappa * tau) / (2 * kappa), rel=1e-7)


@pytest.fixture(scope="module")
def tanh_solutions():
    return {g: nd.dmft.sampling(g=g, **SMALL) for g in (1.5, 2.0, 3.0)}


# Allowed discretisation bias at the test's dt = 0.2, relative to Δ0. The scheme is second
# order for η = 0 (measured at g = 2, 1024 paths, 30 iterations: Δ0, Δ(1), Δ(3) within 0.1 SE
# of the stationary solver, i.e. |bias| < 0.3 %) and with the memory term (linear φ, 8192
# paths, against the closed form: g = 0.5, η = 0.5: −0.01, −0.03, +0.13 % of Δ0 at τ = 0, 1, 3,
# each within 0.5 SE; g = 1.2, η = −0.5, the stronger memory of the test below: −1.3, −0.5,
# +0.1 % at dt = 0.2 and −0.1, −0.2, −0.1 % at dt = 0.1).
_BIAS = 0.015


@pytest.mark.parametrize("g", [1.5, 2.0, 3.0])
def test_tanh_agrees_with_stationary(tanh_solutions, g):
    ds = tanh_solutions[g]
    assert ds.attrs["phase"] == "chaotic"
    theory = nd.dmft.stationary(g=g, tau_max=10.0, dtau=0.2)
    d0 = float(theory.delta0)
    for lag in LAGS:
        got = float(ds.delta.sel(tau=lag, method="nearest"))
        sem = float(ds.delta_sem.sel(tau=lag, method="nearest"))
        want = float(theory.delta.sel(tau=lag, method="nearest"))
        assert abs(got - want) <= 3 * sem + _BIAS * d0, (g, lag, got, want, sem)
    # the reported error is a real one, of the size 1024 paths give (measured 1.3 % of Δ0 at
    # g = 2, 3.0 % at g = 1.5, where the correlations are longest)
    assert 0 < float(ds.delta0_sem) <= 0.04 * float(ds.delta0)
    assert int(ds.iterations) >= 2 and float(ds.residual) <= ds.attrs["tol"]


def test_linear_memory_term_closed_form():
    # a strong memory: η g² R_h(ω = 0) = −0.48. (Linear φ is not sensitive to the probe's
    # timing: the jump probes that put Δ0 15 % high for tanh at η = −0.5, g = 3 gave +0.7 ± 0.3 %
    # here at dt = 0.2, 8192 paths; the hat probes −1.3 ± 0.3 %.)
    g, eta, sigma = 1.2, -0.5, 1.0
    ds = nd.dmft.sampling(g=g, phi=_linear_phi(), noise=sigma, symmetry=eta, response_paths=128,
                          min_iterations=30, **SMALL)
    assert ds.attrs["phase"] == "driven" and "R_phi" in ds
    for lag in LAGS:
        got = float(ds.delta.sel(tau=lag, method="nearest"))
        sem = float(ds.delta_sem.sel(tau=lag, method="nearest"))
        want = _linear_delta(g, eta, sigma, lag)
        assert abs(got - want) <= 3 * sem + _BIAS * _linear_delta(g, eta, sigma, 0.0), (
            lag, got, want, sem)
    # the memory term matters: without it (η = 0) Δ0 would be far off
    assert abs(float(ds.delta0) - _linear_delta(g, 0.0, sigma, 0.0)) > 10 * float(ds.delta0_sem)


# The η ≠ 0 phase checks need no precision: 256 paths, a coarser grid, 10 iterations.
ELLIPTIC = {"t1": 30.0, "dt": 0.25, "paths": 256, "batches": 8, "response_paths": 64,
            "probe_span": 4.0, "min_iterations": 10, "seed": 3}


@pytest.fixture(scope="module")
def eta_solutions():
    """ELLIPTIC solves (one compilation) at half and 1.5 times the critical gain of η = ±0.5,
    and at g = 3 for η = 0.5 (η = −0.5, g = 3 is 1.5 g_c already)."""
    out = {}
    for eta in (-0.5, 0.5):
        g_c = 1.0 / (1.0 + eta)
        for g in (0.5 * g_c, 1.5 * g_c, 3.0):
            if (eta, g) not in out:
                out[eta, g] = nd.dmft.sampling(g=g, symmetry=eta, **ELLIPTIC)
    return out


@pytest.mark.parametrize("eta", [-0.5, 0.0, 0.5])
def test_elliptic_law(eta, tanh_solutions, eta_solutions):
    g_c = 1.0 / (1.0 + eta)  # g φ′(0) (1 + η) = 1
    if eta == 0:
        below = nd.dmft.sampling(g=0.5 * g_c, **SMALL)
        above = tanh_solutions[1.5]
    else:
        below, above = eta_solutions[eta, 0.5 * g_c], eta_solutions[eta, 1.5 * g_c]
    assert below.attrs["phase"] == "quiescent", float(below.delta0)
    assert above.attrs["phase"] == "chaotic"
    # well above zero (the phase itself is decided at 3 SE): 256 paths give Δ0 0.051 ± 0.0055
    # at η = −0.5, g = 3 (dt 0.25, whose bias puts it below the converged 0.068)
    assert float(above.delta0) > 6 * float(above.delta0_sem)


def test_correlations_slow_down_with_eta(tanh_solutions, eta_solutions):
    """At g = 3 the correlations last longer the more symmetric the couplings (Crisanti &
    Sompolinsky 1987; Martí, Brunel & Ostojic 2018). Measured by Δ(4)/Δ0, which the short
    ELLIPTIC window resolves (its τ_corr, cut at τ_max = 10, would not at η = 0.5): stored
    run benchmarks/sampling_vs_simulation.json, simulation N = 2000: 0.13, 0.53, 0.94 at
    η = −0.5, 0, 0.5; this solver at t1 = 120: 0.14, 0.51 (stationary), 0.86. The steps are
    ≥ 0.3; the margin 0.2 is ≥ 2 standard errors of Δ(4)/Δ0 at 256 paths (≤ 0.1 once the
    bracket has let the replicas decorrelate: measured 0.083 at η = −0.5)."""
    ratios = []
    for ds in (eta_solutions[-0.5, 3.0], tanh_solutions[3.0], eta_solutions[0.5, 3.0]):
        d4 = float(ds.delta.sel(tau=4.0, method="nearest"))
        se = float(ds.delta_sem.sel(tau=4.0, method="nearest"))
        ratios.append(d4 / float(ds.delta0))
        assert se < 0.1 * float(ds.delta0)
    assert ratios[0] + 0.2 < ratios[1] < ratios[2] - 0.2, ratios
    # and the integral correlation time of the two η solves keeps the order
    assert float(eta_solutions[-0.5, 3.0].tau_corr) < float(eta_solutions[0.5, 3.0].tau_corr)
    # the response beyond the window (4 τ here): at η = 0.5 it is still large there and gets
    # the exponential extension (measured: 20 % of ∫ R_φ, τ_R 2.8); at η = −0.5 it rings at
    # the noise level (module docstring, step 3) and gets none
    positive, negative = eta_solutions[0.5, 3.0].attrs, eta_solutions[-0.5, 3.0].attrs
    assert positive["response_tail_share"] > 0.05 and positive["response_decay_time"] > 1.0
    assert negative["response_tail_share"] == 0.0 and negative["response_decay_time"] == 0.0


@pytest.mark.parametrize("eta", [-0.5, 0.0, 0.5])
def test_simulated_networks_change_phase_at_the_elliptic_law(eta):
    """Simulated η-networks (N = 200, three seeds): at g (1 + η) = 0.8 the activity decays
    to the trivial fixed point (rate ≥ 1 − 0.8 minus the finite-N edge of the spectrum,
    ~0.1 at N = 200: after 150 τ below e^{−15} of its start), at 1.3 it keeps a temporal
    variance (chaos: Var_t h averaged over neurons, measured 0.05-0.4 at these points)."""
    for x, chaotic in ((0.8, False), (1.3, True)):
        for seed in range(3):
            net = nd.Network.random(N=200, g=x / (1.0 + eta), symmetry=eta, seed=seed)
            run = nd.simulate(net, t1=50.0, dt_save=0.5, transient=100.0, seed=seed)
            h = np.asarray(run.h)[0]  # (time, neuron)
            if chaotic:
                assert h.var(axis=0).mean() > 1e-3, (eta, x, seed, h.var(axis=0).mean())
            else:
                assert np.abs(h).max() < 1e-4, (eta, x, seed, np.abs(h).max())


def test_chaos_job_draws_the_sampling_theory_for_symmetry(tmp_path, capsys, monkeypatch,
                                                         eta_solutions):
    """`neurodyn chaos --symmetry 0.5` at tiny size: the theory per g is the sampling DMFT
    (here at the ELLIPTIC grid, compiled above), stored beside the simulation, without
    λ_max; the quiescent gain is quiescent in both."""
    from neurodyn import chaos_plan
    from neurodyn.cli import main

    monkeypatch.setattr(chaos_plan, "SAMPLING", dict(ELLIPTIC))
    out = tmp_path / "c.zarr"
    argv = ["chaos", "--symmetry", "0.5", "--g", "0.3333333333333333", "3", "--seeds", "0", "1",
            "--N", "40", "--t1", "40", "--transient", "20", "--max-lag", "5",
            "--lyapunov-t1", "20", "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "4 of 4 points computed" in text  # 2 gains x 2 seeds
    run = nd.open_run(out)
    assert run.attrs["chaos"]["symmetry"] == 0.5
    assert run.attrs["chaos"]["theory"] == "dmft.sampling"
    theory = eta_solutions[0.5, 3.0]  # the same solve: the reading at lags <= 5 is tau_max-free
    np.testing.assert_allclose(run.delta_theory.sel(g=3.0).values,
                               theory.delta.interp(tau=run.lag.values).values, rtol=1e-12)
    assert float(run.delta_theory.isel(g=0, lag=0)) < 1e-3 < float(theory.delta0)
    assert np.isnan(run.lambda_theory.values).all()
    assert (tmp_path / "c.png").exists()


def test_bad_input_names_the_parameter():
    cases = [({"dt": 0.0}, "dt"), ({"paths": 100, "batches": 8}, "paths"),
             ({"batches": 1}, "batches"), ({"damping": 1.0}, "damping"),
             ({"symmetry": 1.5}, "symmetry"), ({"tol": -1.0}, "tol"),
             ({"input": np.zeros(7)}, "input"), ({"transient": 100.0}, "transient"),
             ({"response_paths": 3}, "response_paths"), ({"guess_tau": 0.0}, "guess_tau"),
             ({"iterations": 10, "min_iterations": 50}, "min_iterations"),
             ({"guess_tau": (1.0, 2.0, 3.0)}, "guess_tau"),
             ({"guess_tau": (1.0, 10.0), "batches": 2, "paths": 1024}, "batches >= 4"),
             ({"iterations": 5, "min_iterations": 5, "bracket_window": 8}, "bracket_window"),
             ({"extend_response": "yes"}, "extend_response='yes' must be True or False")]
    for kwargs, name in cases:
        with pytest.raises(ParameterError, match=name):
            nd.dmft.sampling(**{**SMALL, **kwargs})
    with pytest.raises(ParameterError, match="model"):
        nd.dmft.sampling(nd.MeanFieldModel(g=2.0), g=1.0, **SMALL)


def test_the_bracket_sees_what_the_residual_does_not():
    """After 10 iterations at g = 1.5 the change of C_φ per iteration is already near its
    sampling noise (the slow tail drifts by less than that), so a single start passes a
    residual test of 0.05; the two halves started at guess_tau 1 and 10 still differ in
    their stationary reading (measured, windowed gap ~0.3 of Δ0, noise ~0.03), and the solve
    refuses to call that converged."""
    settings = {**SMALL, "tol": 0.05, "iterations": 10, "min_iterations": 10}
    single = nd.dmft.sampling(g=1.5, guess_tau=1.0, **settings)
    assert float(single.residual) <= 0.05 and float(single.gap) == 0.0
    with pytest.raises(ConvergenceError, match="bracket's halves"):
        nd.dmft.sampling(g=1.5, guess_tau=(1.0, 10.0), **settings)


def test_converged_halves_agree(tanh_solutions):
    # what convergence of the bracket means: the replicas started from either guess give the
    # same Δ(τ) within their errors (3 SE of the difference, at the test's lags)
    for g, ds in tanh_solutions.items():
        assert float(ds.gap) <= ds.attrs["tol"]
        for lag in LAGS:
            pair = ds.delta_guess.sel(tau=lag, method="nearest").values
            sem = ds.delta_guess_sem.sel(tau=lag, method="nearest").values
            assert abs(pair[0] - pair[1]) <= 3 * math.hypot(*sem), (g, lag, pair, sem)


def test_non_convergence_raises():
    with pytest.raises(ConvergenceError, match="iteration 2"):
        nd.dmft.sampling(g=2.0, iterations=2, min_iterations=2, bracket_window=2, tol=1e-9,
                         **SMALL)


def test_divergence_raises():
    # relu is unbounded: at g = 3 every path grows like e^{(g−1)t}
    with pytest.raises(DivergenceError, match="diverged"):
        nd.dmft.sampling(g=3.0, phi="relu", theta_mean=0.5, **SMALL)
