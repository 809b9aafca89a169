"""Simulation against the DMFT (stationary and two-time), and the chaos-transition job.

The chaos job's agreement test is stated in standard errors over network seeds (the job's own
statistics, :mod:`neurodyn.chaos_stats`): small networks, many seeds, two sizes, and the N = ∞
intercept of the weighted 1/N fit compared with the DMFT within 3 standard errors; a wrong g for
the theory is rejected. The noise-driven case is compared the same way, by the job with
σ = 0.5. The bias and mean coupling case uses N = 1000: its tolerance comes from measured
finite-size and sampling errors (2 cores, T = 200, 2 seeds): the simulated Δ(τ) falls short
of the N = ∞ theory by a few percent (relative L2 over τ ∈ [0, 10] at N = 1000: 2.6% at g = 2,
3.5% at g = 3), so its bound is FINITE_SIZE plus 3 standard errors of the curves.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import keyword_clashes

import neurodyn as nd
from neurodyn import plots, sweep
from neurodyn.chaos import chaos, table
from neurodyn.errors import RunError
from neurodyn.lock import StaleLockWarning

N, T1, TRANSIENT, SEEDS, TRIALS = 1000, 200.0, 100.0, (0, 1), 2
FINITE_SIZE = 0.03  # measured N = 1000 shortfall of the relative L2 (see module docstring)


def _simulated_delta(g, max_lag=10.0, mean=0.0, **network):
    """Per-(seed, trial) autocorrelation curves, shape (curves, lags)."""
    curves = []
    for seed in SEEDS:
        net = nd.Network.random(N=N, g=g, seed=seed, **network)
        # simulation seed ≠ network seed: equal seeds correlate h(0) with J (shared PRNG stream)
        run = nd.simulate(net, t1=T1, dt_save=0.1, transient=TRANSIENT, seed=seed + 100,
                          trials=TRIALS)
        for trial in range(TRIALS):
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


def test_bias_and_mean_coupling_case_matches_dmft():
    # θ ~ N(0.1, 0.3²), J_mean = 0.5: Δ(τ) is the connected correlation about the theory's mean M
    # and includes the static (quenched) part Δ∞. Measured relative L2 1.2%.
    params = {"J_mean": 0.5, "theta_mean": 0.1, "theta_std": 0.3}
    theory = nd.dmft.stationary(g=2.0, critical_gain=False, **params)
    error, bound, _ = _compare(_simulated_delta(2.0, mean=float(theory["mean"]), **params),
                               theory)
    assert error < bound
    assert float(theory.delta_inf) > 0.1  # the static part is a real part of the check


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


# --- the chaos job ----------------------------------------------------------------------------

ENSEMBLE = {"g": [2.0, 3.0], "N": [100, 200], "seeds": list(range(10)), "t1": 100.0,
            "transient": 50.0, "max_lag": 5.0}
"""Small networks, ten seeds, two sizes. Measured (10 seeds): the seed-to-seed scatter of Δ0
is ~10% at N = 100 and ~6% at N = 200, so the sem is ~2-3% of Δ0; λ_max falls short of the
DMFT by ~0.1 at N = 100 and ~0.06 at N = 200 (the known slow O(1/N) convergence of λ_max,
tests/test_chaos.py history: 15% short at N = 1000), many sems, so λ_max is compared through
the N = ∞ intercept of the 1/N fit; Δ0 and Δ(τ) are compared both ways."""
LAGS = (1.0, 2.0, 4.0)


@pytest.fixture(scope="module")
def ensemble():
    return chaos(**ENSEMBLE)


def test_ensemble_statistics_are_the_documented_estimators(ensemble):
    # independent recomputation: numpy's ddof=1 std over the per-seed values, and numpy's own
    # weighted polynomial fit (polyfit with w = 1/sem) for the 1/N intercept
    ds = ensemble
    per_seed = ds.delta0_sim.values  # (g, N, seed)
    np.testing.assert_allclose(ds.delta0_mean.values, per_seed.mean(-1), rtol=1e-12)
    np.testing.assert_allclose(ds.delta0_sem.values,
                               per_seed.std(-1, ddof=1) / np.sqrt(per_seed.shape[-1]), rtol=1e-12)
    for a in range(ds.sizes["g"]):
        mean, sem = ds.lambda_mean.values[a], ds.lambda_sem.values[a]
        slope, intercept = np.polyfit(1.0 / ds.N.values, mean, 1, w=1.0 / sem)
        assert float(ds.lambda_ninf.values[a]) == pytest.approx(intercept, rel=1e-9)
        assert float(ds.lambda_ninf_slope.values[a]) == pytest.approx(slope, rel=1e-9)
        # two sizes: the intercept's variance is Σ (∂y∞/∂m_i)² sem_i², ∂y∞/∂m = (N1, −N2)/(N1 − N2)
        n1, n2 = ds.N.values
        expected = np.hypot(n1 * sem[0], n2 * sem[1]) / abs(n1 - n2)
        assert float(ds.lambda_ninf_sem.values[a]) == pytest.approx(expected, rel=1e-9)
    assert (ds.n_seeds == len(ENSEMBLE["seeds"])).all()


def test_ensemble_agrees_with_dmft_within_three_standard_errors(ensemble):
    ds = ensemble
    for gain in ENSEMBLE["g"]:
        p = ds.sel(g=gain)
        z = {"delta0 (N=inf)": float(p.delta0_ninf_z), "lambda (N=inf)": float(p.lambda_ninf_z),
             "delta0 (N=200)": float(p.delta0_z.sel(N=200))}
        for lag in LAGS:
            z[f"delta({lag:g}) (N=inf)"] = float(p.delta_ninf_z.sel(tau=lag))
            z[f"delta({lag:g}) (N=200)"] = float(p.delta_z.sel(N=200, tau=lag))
        assert all(np.isfinite(list(z.values()))), z
        assert max(abs(v) for v in z.values()) < 3.0, (gain, z)
        # the errors are informative: a few percent of the value at N = 200
        assert float(p.delta0_sem.sel(N=200)) < 0.05 * float(p.delta0_theory)
        # the raw N = 100 exponent is many sems short: the 1/N correction is doing real work
        assert float(p.lambda_z.sel(N=100)) < -3.0


@pytest.mark.parametrize("shift", [-0.3, 0.3])
def test_ensemble_rejects_the_theory_at_a_wrong_gain(ensemble, shift):
    # negative control: the DMFT at g = 2 ± 0.3 against the g = 2 networks (N = 200 variance,
    # whose finite-size bias is below its sem: the 1/N intercept agrees with it, test above)
    p = ensemble.sel(g=2.0, N=200)
    wrong = float(nd.dmft.stationary(g=2.0 + shift, critical_gain=False).delta0)
    z = (float(p.delta0_mean) - wrong) / float(p.delta0_sem)
    assert abs(z) > 3.0, z
    assert abs(float(p.delta0_z)) < 3.0  # while the right g passes


def test_ensemble_table_and_figure(ensemble):
    text = table(ensemble)
    assert "N = 100, 10 seeds" in text and "N = infinity" in text and " z" in text
    fig = plots.chaos_figure(ensemble)
    assert tuple(fig.get_size_inches()) == (15.0, 7.5)  # with the finite-size panel
    titles = [ax.get_title() for ax in fig.axes]
    assert any(title.startswith("finite size") for title in titles)
    assert any(ax.has_data() for ax in fig.axes if ax.get_title().startswith("finite size"))


def test_chaos_job_contract_figure_and_cli(tmp_path, capsys):
    # the ensemble's N = 100 shapes (t1, transient, max_lag): compiled already
    small = {**ENSEMBLE, "g": [0.5, 2.0], "N": 100, "seeds": [0, 1]}
    ds = chaos(**small)
    assert list(tmp_path.iterdir()) == []  # without out, the job returns data and writes nothing
    assert not keyword_clashes(ds)
    for name in ("delta0_sim", "delta0_theory", "lambda_sim", "lambda_theory", "tau_corr_sim",
                 "tau_corr_theory", "delta0_mean", "delta0_sem", "delta0_z", "lambda_z",
                 "window_too_short"):
        assert name in ds
    assert ds.delta_sim.dims == ("g", "seed", "tau")  # one N: no N dim
    assert ds.delta_theory.dims == ("g", "tau")
    stored = nd.open_run(nd.save_run(ds, tmp_path / "c.zarr"))
    np.testing.assert_allclose(stored.delta_theory.values, ds.delta_theory.values)
    assert plots.plot(tmp_path / "c.zarr", tmp_path / "c.png").stat().st_size > 10_000
    # quiescent below g_c in both; theory λ = g − 1 there
    assert float(ds.delta0_theory.sel(g=0.5)) == 0.0
    assert float(ds.delta0_sim.sel(g=0.5).max()) < 1e-8
    assert bool(ds.quiescent.sel(g=0.5)) and not bool(ds.quiescent.sel(g=2.0))
    assert float(ds.lambda_theory.sel(g=0.5)) == pytest.approx(-0.5, abs=1e-9)
    assert "relL2" in table(ds)
    # a window too short for the correlation time: theory τ_corr(g = 1.1) ≫ t1 / 20
    assert bool(chaos(**{**small, "g": [1.1], "seeds": [0]}).window_too_short.item())

    from neurodyn.cli import main

    assert main(["dmft", "--g", "1.5", "--out", str(tmp_path / "d.zarr")]) == 0
    assert float(nd.open_run(tmp_path / "d.zarr").delta0) > 0.3
    argv = ["chaos", "--g", "2", "--seeds", "0", "1", "--N", "100", "--t1", "100",
            "--transient", "50", "--max-lag", "5", "--workers", "1",
            "--out", str(tmp_path / "e.zarr")]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "z" in out and "2 of 2 points computed" in out and "job wall time" in out
    assert (tmp_path / "e.png").exists()
    assert main(["plot", str(tmp_path / "e.zarr"), "--overwrite"]) == 0  # redrawn from the store
    run = nd.open_run(tmp_path / "e.zarr")  # the store holds the per-point results and theory
    np.testing.assert_allclose(run.autocorrelation.isel(g=0).values,
                               ds.delta_sim.sel(g=2.0).values, rtol=1e-12)
    assert main(["dmft", "--g", "2", "--phi", "relu", "--two-time", "5"]) == 2
    assert "relu" in capsys.readouterr().err  # the two-time march needs a bounded phi


def test_chaos_job_with_relu_draws_the_relu_theory():
    """relu (unbounded) in the chaos job: the stationary DMFT's relu solution per g. g = 1.2 <
    √2 (the relu chaos threshold at zero bias): the trivial fixed point, h = 0 in theory and
    in the simulated networks; the theory column is the solver's own (not NaN)."""
    ds = chaos(g=[1.2], phi="relu", seeds=[0, 1], N=100, t1=100.0, transient=50.0,
               max_lag=5.0)
    # the job's theory grid (tau_max 40, dtau = dt_save/5): the solve compiled by the job
    theory = nd.dmft.stationary(g=1.2, phi="relu", critical_gain=False, tau_max=40.0,
                                dtau=0.02)
    assert ds.attrs["phi"] == "relu"
    assert float(ds.delta0_theory.item()) == pytest.approx(float(theory.delta0), abs=1e-12)
    assert float(ds.lambda_theory.item()) == pytest.approx(float(theory.lambda_max), rel=1e-9)
    assert bool(ds.quiescent.item())


KILLED = ["--g", "1.5", "2.5", "--seeds", "0", "1", "2", "3", "--N", "30", "--t1", "300",
          "--lyapunov-t1", "300", "--transient", "20", "--max-lag", "5", "--workers", "1"]
"""Points of ~0.3 s each (N = 30, 300 τ of simulation and of tangent dynamics), so a kill
lands while some points are done and others are not."""


def test_chaos_job_killed_then_resumed_equals_an_uninterrupted_run(tmp_path, capsys):
    from neurodyn.cli import main

    # uninterrupted, in this process (it also fills the compilation cache the subprocess reads)
    assert main(["chaos", *KILLED, "--out", str(tmp_path / "ref.zarr")]) == 0
    store = tmp_path / "killed.zarr"
    process = subprocess.Popen([sys.executable, "-m", "neurodyn.cli", "chaos", *KILLED,
                                "--out", str(store)], env={**os.environ, "PYTHONUNBUFFERED": "1",
                                    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # a hang guard: the subprocess starts JAX, loads the
    # compiled code from the cache and computes; tens of seconds unless the machine is loaded
    while time.monotonic() < deadline and process.poll() is None:
        if (store / "point_status" / "zarr.json").exists():
            if int((sweep.point_status(store) == sweep.DONE).sum()) >= 2:
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_at_kill = int((sweep.point_status(store) == sweep.DONE).sum())
    assert 2 <= done_at_kill < 8, "the kill must land mid-run for this test to mean anything"

    capsys.readouterr()
    with pytest.warns(StaleLockWarning, match="no longer running"):  # the killed run's lock
        assert main(["chaos", *KILLED, "--out", str(store)]) == 0  # the same command resumes
    assert f"{8 - done_at_kill} of 8 points computed" in capsys.readouterr().out
    final = nd.open_sweep(store).drop_vars("point_seconds").load()
    reference = nd.open_sweep(tmp_path / "ref.zarr").drop_vars("point_seconds").load()
    assert (final.point_computations == 1).all(), "a point was computed twice"
    assert final.equals(reference)
    # another command on the same store is refused, naming what differs
    assert main(["chaos", *KILLED[:-2], "--workers", "1", "--spectrum", "2",
                 "--out", str(store)]) == 2
    assert "lyapunov.k" in capsys.readouterr().err
    with pytest.raises(RunError, match="another command"):
        chaos(g=[1.5, 2.5], seeds=[0, 1], N=30, t1=300.0, lyapunov_t1=300.0, transient=20.0,
              max_lag=5.0, out=store)


def test_an_interrupted_overwrite_keeps_the_old_run_and_resumes(tmp_path, monkeypatch):
    # The old store must stay complete and readable until the new one is: an overwrite builds
    # beside it (.NAME.replacing) and swaps in at the end. The interruption is a
    # KeyboardInterrupt from the third point (in-process sweep), the same as Ctrl-C there.
    small = {"g": [1.5, 2.5], "N": 30, "t1": 300.0, "lyapunov_t1": 300.0, "transient": 20.0,
             "max_lag": 5.0, "workers": 1}
    store = tmp_path / "run.zarr"
    chaos(seeds=[0, 1], out=store, **small)
    old = nd.open_sweep(store).load()

    calls = {"n": 0}
    real = sweep.compute_point

    def interrupted(config, point):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(config, point)

    monkeypatch.setattr(sweep, "compute_point", interrupted)
    with pytest.raises(KeyboardInterrupt):
        chaos(seeds=[0, 1, 2], out=store, overwrite=True, **small)
    assert nd.open_sweep(store).load().equals(old), "the old run changed before the swap"
    staging = tmp_path / ".run.zarr.replacing"
    assert int((sweep.point_status(staging) == sweep.DONE).sum()) == 2
    assert not (tmp_path / ".run.zarr.lock").exists()  # released on the interrupt

    monkeypatch.setattr(sweep, "compute_point", real)
    ds = chaos(seeds=[0, 1, 2], out=store, overwrite=True, **small)  # resumes the replacement
    assert ds.attrs["sweep_computed"] == 4 and ds.sizes["seed"] == 3
    assert not staging.exists()
    new = nd.open_sweep(store).load()
    assert (new.point_computations == 1).all()
    assert new.sizes["seed"] == 3


def test_chaos_job_with_noise_uses_the_noisy_theory():
    # σ = 0.5 in the simulation and in the DMFT (measured: the noisy Δ0 is ~5% above the
    # noiseless one at g = 2); the simulated Δ(τ) meets the noisy theory within 3 standard
    # errors over the four networks at every lag (measured z 0.22, 0.23, 0.26, 0.43 at
    # τ = 0, 1, 2, 4). This replaced an N = 1000 Euler–Maruyama comparison of the curve by
    # its relative L2 (14 s; the SDE solvers' own weak errors are tested in
    # tests/test_simulate.py). The exponent is the conditional one, against the noisy λ_max
    # (its agreement with the DMFT is tested in tests/test_lyapunov.py at N = 400).
    ds = chaos(g=[2.0], seeds=[0, 1, 2, 3], N=100, t1=100.0, transient=50.0, max_lag=5.0,
               noise=0.5)
    theory = nd.dmft.stationary(g=2.0, noise=0.5, critical_gain=False)
    noisy = float(theory.delta0)
    assert float(ds.delta0_theory.item()) == pytest.approx(noisy, rel=1e-9)
    assert noisy > float(nd.dmft.stationary(g=2.0, critical_gain=False).delta0)
    assert abs(float(ds.delta0_z.item())) < 3.0
    for lag in (1.0, 2.0, 4.0):
        assert abs(float(ds.delta_z.sel(tau=lag).item())) < 3.0, lag
    assert np.isfinite(ds.lambda_sim.values).all()
    assert float(ds.lambda_theory.item()) == pytest.approx(float(theory.lambda_max), rel=1e-9)


def test_chaos_job_dtype(tmp_path, capsys, monkeypatch):
    """--dtype float32: the points simulate float32 networks and the run records the dtype; a
    float64 job's sweep document has no dtype key, so stores made before --dtype existed keep
    their fingerprint and resume; a dtype outside the two is refused by the parser."""
    from neurodyn.chaos_plan import chaos_config
    from neurodyn.cli import main

    small = {"g": [0.5, 2.0], "seeds": [0], "N": 12, "t1": 20.0, "transient": 5.0,
             "max_lag": 5.0}
    config64, settings64 = chaos_config(**small)
    config32, settings32 = chaos_config(**small, dtype="float32")
    assert settings64["dtype"] == "float64" and settings32["dtype"] == "float32"
    assert "dtype" not in config64.as_dict()["network"]
    assert config32.as_dict()["network"]["dtype"] == "float32"
    assert config32.fingerprint() != config64.fingerprint()

    simulated = []
    original = nd.simulate

    def recording(net, **kwargs):
        ds = original(net, **kwargs)
        simulated.append((net.dtype, ds.h.dtype.name))
        return ds

    monkeypatch.setattr(nd, "simulate", recording)
    store = tmp_path / "c32.zarr"
    argv = ["chaos", "--g", "0.5", "2", "--seeds", "0", "--N", "12", "--t1", "20",
            "--transient", "5", "--max-lag", "5", "--workers", "1", "--out", str(store)]
    capsys.readouterr()
    assert main([*argv, "--dtype", "float32"]) == 0
    assert simulated == [("float32", "float32")] * 2
    run = nd.open_run(store)
    assert run.attrs["chaos"]["dtype"] == "float32"
    assert run.attrs["sweep"]["config"]["network"]["dtype"] == "float32"
    assert np.isfinite(run.autocorrelation.values).all()
    assert np.isfinite(run.lyapunov.values).all()
    assert main([*argv, "--dtype", "float16"]) == 2
    assert "invalid choice: 'float16'" in capsys.readouterr().err
