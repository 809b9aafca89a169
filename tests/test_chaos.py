"""Simulation against the DMFT (stationary and two-time), and the chaos-transition job.

Tolerances come from measured finite-size and sampling errors (2 cores, N = 1000, T = 200,
2 seeds): the simulated Δ(τ) falls short of the N = ∞ theory by a few percent and the shortfall
shrinks with N (g = 3, Δ(10): 0.0446, 0.0466, 0.0531 at N = 500, 1000, 4000 vs 0.0585 theory;
relative L2 over τ ∈ [0, 10] at N = 1000: 2.6% at g = 2, 3.5% at g = 3, 12% at g = 1.5, where
finite-size effects near g_c = 1 are largest). Seed-to-seed spread of Δ0 is ~1%. Each bound is
about twice the measured value, so a wrong theory (e.g. Δ0 off by 10%, or the wrong decay rate)
fails while N = 1000 noise passes.
"""

import numpy as np
import pytest

import neurodyn as nd
from neurodyn import plots
from neurodyn.chaos import chaos, table

N, T1, TRANSIENT, SEEDS, TRIALS = 1000, 200.0, 100.0, (0, 1), 2
FINITE_SIZE = 0.03  # measured N = 1000 shortfall of the relative L2 (see module docstring)


def _simulated_delta(g, max_lag=10.0, noise=0.0, mean=0.0, solver=None, trials=TRIALS,
                     **network):
    """Per-(seed, trial) autocorrelation curves, shape (curves, lags)."""
    curves = []
    for seed in SEEDS:
        net = nd.Network.random(N=N, g=g, seed=seed, **network)
        # simulation seed ≠ network seed: equal seeds correlate h(0) with J (shared PRNG stream)
        run = nd.simulate(net, t1=T1, dt_save=0.1, transient=TRANSIENT, seed=seed + 100,
                          noise=noise, trials=trials, solver=solver,
                          dt=0.02 if solver == "euler" else None)
        for trial in range(trials):
            one = run.isel(trial=[trial])
            curves.append(nd.autocorrelation(one.assign(h=one.h - mean), max_lag=max_lag).values)
    return np.asarray(curves)


def _compare(curves, theory):
    """Relative L2 of the mean curve vs theory, and the bound FINITE_SIZE + 3 standard errors.

    The standard error comes from the spread of the independent (seed, trial) curves, so the
    sampling part of the tolerance is measured, not guessed: slow fluctuations make the tail of
    Δ(τ) vary by tens of percent between 200-τ windows at N = 1000.
    """
    sim = curves.mean(axis=0)
    reference = theory.delta.interp(tau=np.arange(sim.size) * 0.1).values
    norm = np.sqrt(np.sum(reference**2))
    error = np.sqrt(np.sum((sim - reference) ** 2)) / norm
    standard_error = curves.std(axis=0, ddof=1) / np.sqrt(len(curves))
    return error, FINITE_SIZE + 3 * np.sqrt(np.sum(standard_error**2)) / norm, sim


@pytest.mark.parametrize("g", [1.5, 2.0, 3.0])
def test_simulated_autocorrelation_matches_stationary_dmft(g):
    theory = nd.dmft.stationary(g=g, critical_gain=False)
    error, bound, sim = _compare(_simulated_delta(g), theory)
    assert error < bound < 0.25  # the bound itself must stay informative
    assert sim[0] == pytest.approx(float(theory.delta0), rel=0.06)


def test_bias_and_mean_coupling_case_matches_dmft():
    # θ ~ N(0.1, 0.3²), J_mean = 0.5: Δ(τ) is the connected correlation about the theory's mean M
    # and includes the static (quenched) part Δ∞. Measured relative L2 1.2%.
    params = {"J_mean": 0.5, "theta_mean": 0.1, "theta_std": 0.3}
    theory = nd.dmft.stationary(g=2.0, critical_gain=False, **params)
    error, bound, _ = _compare(_simulated_delta(2.0, mean=float(theory["mean"]), **params),
                               theory)
    assert error < bound
    assert float(theory.delta_inf) > 0.1  # the static part is a real part of the check


def test_noise_driven_case_matches_dmft():
    # σ = 0.5 (Euler–Maruyama, dt = 0.02: weak error O(dt), ~1% on the variance of an OU
    # process). Measured relative L2 ~6% with shark at N = 1000, 2 seeds.
    theory = nd.dmft.stationary(g=2.0, noise=0.5, critical_gain=False)
    error, bound, sim = _compare(_simulated_delta(2.0, noise=0.5, solver="euler", trials=1), theory)
    assert error < bound < 0.3  # two curves only: a cruder standard error, so a looser cap
    assert sim[0] == pytest.approx(float(theory.delta0), rel=0.05)


@pytest.mark.parametrize("g, size, network_seeds", [(2.0, 2000, (1,)), (3.0, 1000, (1, 2))])
def test_lyapunov_exponent_matches_dmft_within_ten_percent(g, size, network_seeds):
    # λ_max converges slowly in N. Measured with T = 150 τ (theory 0.1125 at g = 2, 0.2355 at
    # g = 3): g = 2, N = 1000 gives 0.094–0.099 over three networks (a systematic 15 % finite-N
    # shortfall), N = 2000 gives 0.111 and 0.105; g = 3, N = 1000 gives 0.227 and 0.209 (finite-
    # time scatter ±5 %), so g = 3 averages two networks. The issue asks for 10 % at N ≥ 1000.
    theory = float(nd.dmft.stationary(g=g, critical_gain=False).lambda_max)
    estimates = [
        float(nd.lyapunov(nd.Network.random(N=size, g=g, seed=s), t1=150.0, transient=50.0,
                          seed=100 + s)[0])
        for s in network_seeds
    ]
    assert np.mean(estimates) == pytest.approx(theory, rel=0.10)


def test_two_time_dmft_matches_simulation_from_the_same_initial_distribution():
    # h(0) ~ N(0, q0) in both; ensemble C(t, t') = mean over neurons and trials of h(t)h(t').
    # The theory starts from the realised sample variance of h(0) (a 2% sampling effect otherwise).
    # Sampling error of a product average over 4000 (neuron, trial) pairs ~ C·√(2/4000) ≈ 0.02·C,
    # so the bound 0.04 is ~4σ at C ~ 0.5 on a 2 → 0.35 relaxation. The simulation seed differs
    # from the network seed on purpose: equal seeds give an h(0) correlated with J (measured:
    # C(t,t) 40% high at t = 1.5), which the theory rightly does not describe.
    g, q0, trials = 2.0, 2.0, 4
    net = nd.Network.random(N=N, g=g, seed=3)
    run = nd.simulate(net, t1=10.0, dt_save=0.5, trials=trials, seed=103, h0_std=np.sqrt(q0))
    h = run.h.transpose("trial", "time", "neuron").values
    simulated = np.einsum("ksn,kun->su", h, h) / (trials * N)
    theory = nd.dmft.two_time(g=g, t1=10.0, dt=0.05, q0=float(simulated[0, 0]))
    times = run.time.values
    expected = theory.C.sel(t=times, t_prime=times).values
    early = times <= 5.0  # the relaxation; later the slow finite-N fluctuations dominate
    assert np.max(np.abs(simulated - expected)[np.ix_(early, early)]) < 0.04
    assert expected[0, 0] - expected[4, 4] > 1.0  # a real relaxation was compared


def test_chaos_job_contract_figure_and_cli(tmp_path, capsys):
    ds = chaos(g=[0.5, 2.0], seeds=[0], N=100, t1=40.0, transient=20.0, max_lag=10.0)
    assert list(tmp_path.iterdir()) == []  # the job returns data and writes nothing
    for name in ("delta0_sim", "delta0_theory", "lambda_sim", "lambda_theory", "tau_corr_sim",
                 "tau_corr_theory"):
        assert name in ds
    assert ds.delta_sim.dims == ("g", "seed", "tau")
    assert ds.delta_theory.dims == ("g", "tau")
    stored = nd.open_run(nd.save_run(ds, tmp_path / "c.zarr"))
    np.testing.assert_allclose(stored.delta_theory.values, ds.delta_theory.values)
    assert plots.plot(tmp_path / "c.zarr", tmp_path / "c.png").stat().st_size > 10_000
    # quiescent below g_c in both; theory λ = g − 1 there
    assert float(ds.delta0_theory.sel(g=0.5)) == 0.0
    assert float(ds.delta0_sim.sel(g=0.5).max()) < 1e-8
    assert float(ds.lambda_theory.sel(g=0.5)) == pytest.approx(-0.5, abs=1e-9)
    assert "relL2" in table(ds)

    from neurodyn.cli import main

    assert main(["dmft", "--g", "1.5", "--out", str(tmp_path / "d.zarr")]) == 0
    assert float(nd.open_run(tmp_path / "d.zarr").delta0) > 0.3
    assert main(["chaos", "--g", "2", "--seeds", "0", "--N", "100", "--t1", "40",
                 "--transient", "20", "--max-lag", "10", "--out", str(tmp_path / "e.zarr")]) == 0
    assert (tmp_path / "e.png").exists()
    assert main(["plot", str(tmp_path / "e.zarr"), "--overwrite"]) == 0  # redrawn from the run
    assert main(["dmft", "--g", "2", "--phi", "relu"]) == 2
    assert "relu" in capsys.readouterr().err
