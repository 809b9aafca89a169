"""Sparse fixed-in-degree networks (neurodyn.sparse_network): construction, drift, dynamics,
gradients and refusals, each against something independent (the dense matrix of the same
couplings, the law of the draw, finite differences, the SCS transition)."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import learning  # noqa: E402
from neurodyn.errors import ParameterError  # noqa: E402
from neurodyn.sparse_network import SparseNetwork  # noqa: E402


def test_shapes_sorted_distinct_partners():
    net = nd.Network.random(N=300, K=40, seed=3)
    assert isinstance(net, SparseNetwork) and net.dense is False
    index = np.asarray(net.index)
    assert index.shape == (300, 40) and index.dtype == np.int32
    assert net.weights.shape == (300, 40) and net.N == 300 and net.K == 40
    assert np.all(np.diff(index, axis=1) > 0)  # sorted and no repeat in a row
    assert index.min() >= 0 and index.max() < 300
    # K > N/2 takes the permutation branch; K = N is every neuron
    full = np.asarray(nd.Network.random(N=30, K=30, seed=1).index)
    assert np.array_equal(full, np.broadcast_to(np.arange(30), (30, 30)))
    assert np.all(np.diff(np.asarray(nd.Network.random(N=30, K=20, seed=1).index), axis=1) > 0)


def test_partners_are_uniform():
    # Each neuron is a partner of row i with probability K/N: the counts over rows of every
    # presynaptic neuron are Binomial(N, K/N); their mean is K exactly (N K entries over N
    # neurons) and their variance K (1 − K/N) = 36 at N = 1000, K = 40. With 1000 counts the
    # sample variance has a relative standard error √(2/999) = 4.5 %; 5 SE is 22 %.
    N, K = 1000, 40
    counts = np.bincount(np.asarray(nd.Network.random(N=N, K=K, seed=2).index).ravel(),
                         minlength=N)
    expected = K * (1 - K / N)
    assert abs(counts.var() / expected - 1) < 5 * np.sqrt(2 / (N - 1))


def test_weight_mean_and_variance():
    # w ~ N(J_mean/K, 1/K): over N K = 4·10⁴ draws the mean has SE 1/(K √N) and K·var has
    # relative SE √(2/(N K)); 5 SE each.
    N, K, J_mean = 400, 100, 1.5
    w = np.asarray(nd.Network.random(N=N, K=K, J_mean=J_mean, seed=4).weights)
    assert abs(w.mean() - J_mean / K) < 5 / (K * np.sqrt(N))
    assert abs(K * w.var() - 1) < 5 * np.sqrt(2 / (N * K))


def test_block_size_does_not_change_the_network(monkeypatch):
    from neurodyn import resources

    a = nd.Network.random(N=200, K=30, seed=5)
    monkeypatch.setattr(resources, "SPARSE_BLOCK_ELEMENTS", 30 * 7)  # 7 rows per block
    b = nd.Network.random(N=200, K=30, seed=5)
    assert np.array_equal(np.asarray(a.index), np.asarray(b.index))
    assert np.array_equal(np.asarray(a.weights), np.asarray(b.weights))


@pytest.mark.parametrize("trials", [None, 3])
def test_drift_equals_dense_drift(trials, monkeypatch):
    from neurodyn import sparse_network

    net = nd.Network.random(N=120, K=25, g=1.7, theta_std=0.3, seed=6)
    dense = nd.Network.from_arrays(net.to_dense(), net.theta, g=1.7)
    shape = (120,) if trials is None else (trials, 120)
    h = jax.random.normal(jax.random.PRNGKey(0), shape, jnp.float64)
    expected = np.asarray(nd.drift(h, dense))
    # float64 sums of 25 (sparse) vs 120 (dense, with zeros) terms of size ~1: rounding ~1e-15
    np.testing.assert_allclose(np.asarray(nd.drift(h, net)), expected, atol=1e-13)
    # the row-block path (used for large products) gives the same numbers
    monkeypatch.setattr(sparse_network, "PLAIN_GATHER_ELEMENTS", 0)
    monkeypatch.setattr(sparse_network, "GATHER_BLOCK_ELEMENTS", 25 * 7 * (trials or 1))
    np.testing.assert_allclose(np.asarray(nd.drift(h, net)), expected, atol=1e-13)
    np.testing.assert_allclose(np.asarray(net.diagonal()), np.diagonal(dense.J), atol=0)
    np.testing.assert_allclose(np.asarray(net.abs_row_sum()),
                               np.abs(np.asarray(dense.J)).sum(1), atol=1e-13)


def test_simulate_lyapunov_and_storage_match_dense(tmp_path):
    net = nd.Network.random(N=150, K=30, g=2.0, seed=7)
    dense = nd.Network.from_arrays(net.to_dense(), net.theta, g=2.0)
    for kwargs in ({"trials": 2}, {"noise": 0.2, "solver": "euler", "dt": 0.05}):
        a = nd.simulate(net, t1=3.0, **kwargs)
        b = nd.simulate(dense, t1=3.0, **kwargs)
        # same vector field to rounding; over 3 τ of a chaotic network (λ ≈ 0.2/τ) rounding
        # differences grow by < e, so 1e-10 is far above them and far below any real error
        np.testing.assert_allclose(a.h.values, b.h.values, atol=1e-10)
    lam_sparse = nd.lyapunov(net, t1=10.0, k=2)
    lam_dense = nd.lyapunov(dense, t1=10.0, k=2)
    np.testing.assert_allclose(lam_sparse.values, lam_dense.values, atol=1e-8)
    np.testing.assert_allclose(lam_sparse.attrs["jacobian_trace_mean"],
                               lam_dense.attrs["jacobian_trace_mean"], atol=1e-8)
    nd.save_run(a, tmp_path / "run.zarr")
    stored = nd.open_run(tmp_path / "run.zarr").attrs["network"]
    assert stored["K"] == 30 and stored["N"] == 150 and stored == net.describe()


def test_transition_at_g_one():
    # Var(w)·K = 1 puts the SCS transition at g = 1: quiescent (h → 0) at g = 0.7, chaotic
    # (finite variance at late times) at g = 1.5; three seeds each, N = 1000, K = 100. At
    # g = 0.7 h decays at rate ≥ 1 − 0.7 ≈ 0.3 (radius of the spectrum), e^{-0.3·30} ~ 1e-4
    # (measured ≤ 3e-10); at g = 1.5 the DMFT variance is 0.46 (nd.dmft.stationary), and
    # 5 τ of these finite networks near the transition give 0.26-0.30 (0.31-0.34 at N = 2000,
    # K = 200, which took 3x as long): the bounds separate the two phases by > 10⁸.
    for seed in range(3):
        quiet = nd.Network.random(N=1000, K=100, g=0.7, seed=seed, dtype="float32")
        chaos = nd.Network.random(N=1000, K=100, g=1.5, seed=seed, dtype="float32")
        q = nd.simulate(quiet, t1=5.0, transient=30.0, dt_save=1.0, solver="rk4", dt=0.2)
        c = nd.simulate(chaos, t1=5.0, transient=30.0, dt_save=1.0, solver="rk4", dt=0.2)
        assert float((q.h ** 2).mean()) < 1e-4
        assert 0.1 < float(c.h.var()) < 0.8


def test_bptt_gradient_of_sparse_weights():
    base, task = learning.sine_generation(n=16, duration=2.0, dt_sample=0.2, seed=0)
    net = nd.Network.random(N=16, K=5, g=1.5, seed=1)
    params = learning.Params(net=net, B=base.B, W_out=base.W_out)
    loss, grads = learning.value_and_grad(params, task, method="bptt_scan", trainable=("J",))
    assert grads["J"].shape == (16, 5)
    # central finite difference along a random direction v: (L(w + εv) − L(w − εv)) / 2ε has
    # error O(ε² L''') ~ 1e-10 at ε = 1e-5 (float64); the exact scan gradient must match it
    # to 1e-6 relative
    v = jax.random.normal(jax.random.PRNGKey(2), (16, 5), jnp.float64)
    eps = 1e-5

    def loss_at(weights):
        return float(learning.value_and_grad(params.replace(J=weights), task,
                                             method="bptt_scan", trainable=("J",))[0])

    fd = (loss_at(net.weights + eps * v) - loss_at(net.weights - eps * v)) / (2 * eps)
    directional = float(jnp.sum(grads["J"] * v))
    assert abs(directional - fd) < 1e-6 * max(1.0, abs(fd))
    # and it is the dense gradient read at the stored entries (a second method)
    dense = learning.Params(net=nd.Network.from_arrays(net.to_dense(), net.theta, g=1.5),
                            B=base.B, W_out=base.W_out)
    loss_dense, grads_dense = learning.value_and_grad(dense, task, method="bptt_scan",
                                                      trainable=("J",))
    rows = np.arange(16)[:, None]
    np.testing.assert_allclose(np.asarray(grads["J"]),
                               np.asarray(grads_dense["J"])[rows, np.asarray(net.index)],
                               rtol=1e-9, atol=1e-12)
    assert abs(float(loss) - float(loss_dense)) < 1e-12


def test_dense_only_rules_refuse_sparse():
    base, task = learning.sine_generation(n=8, duration=1.0, seed=0)
    params = learning.Params(net=nd.Network.random(N=8, K=3, g=1.5, seed=1), B=base.B,
                             W_out=base.W_out)
    with pytest.raises(ParameterError, match="rtrl.*sparse.*bptt"):
        learning.value_and_grad(params, task, method="rtrl")


@pytest.mark.parametrize("K", [0, -3, 11, 2.5, True, "4"])
def test_bad_K_is_refused(K):
    with pytest.raises(ParameterError, match=r"K=.*integer in \[1, N=10\]"):
        nd.Network.random(N=10, K=K)


def test_symmetry_refused_and_memory_estimate():
    with pytest.raises(ParameterError, match="symmetry=0.5 with K=3"):
        nd.Network.random(N=10, K=3, symmetry=0.5)
    from neurodyn import resources

    # N = 10⁶, K = 1000 float32: 8 GB of arrays, not the 4 TB of a dense J
    needed = resources.sparse_network_bytes(10**6, 1000, "float32")
    assert 8e9 <= needed < 8.5e9
    with pytest.raises(ParameterError, match="N=10000000, K=100000"):
        nd.Network.random(N=10**7, K=10**5, dtype="float32")


def test_sweep_config_takes_K(tmp_path):
    from neurodyn import sweep_config

    path = tmp_path / "s.toml"
    path.write_text('out = "x.zarr"\n[grid]\ng = [0.5]\n[compute]\nquantities = ["summary"]\n'
                    '[network]\nN = 50\nK = 10\n[simulate]\nt1 = 1.0\n')
    config = sweep_config.load_config(path)
    assert config.table("network")["K"] == 10


def test_sparse_delta_matches_dense_dmft():
    # Small version of scripts/sparse_theory_check.py: N = 1000, K = 100, g = 2, four network
    # seeds. Δ(0) and Δ(2) of the simulation (averaged over neurons and 40 τ after 20 τ) against
    # the dense DMFT, within 3 standard errors over seeds: a z-score bound that a correct
    # simulation fails 0.3 % of the time per lag if the seeds' spread is Gaussian (the
    # t-distribution with 3 degrees of freedom makes it ~6 %, so the SE gets a 10 % floor of
    # the finite-N, finite-T bias measured at N = 20 000: see benchmarks/sparse_theory_check.json).
    theory = nd.dmft.stationary(g=2.0, phi="tanh")  # the defaults: shares the compilation
    predicted = np.interp([0.0, 2.0], theory["tau"].values, theory["delta"].values)
    samples = []
    for seed in range(4):
        net = nd.Network.random(N=1000, K=100, g=2.0, seed=seed, dtype="float32")
        ds = nd.simulate(net, t1=40.0, transient=20.0, dt_save=0.5, solver="rk4", dt=0.25,
                         seed=10 + seed)
        ac = nd.autocorrelation(ds, max_lag=4.0)
        samples.append(np.interp([0.0, 2.0], ac["lag"].values, ac.values))
    samples = np.asarray(samples)
    se = np.maximum(samples.std(0, ddof=1) / 2.0, 0.1 * 0.05 * predicted)
    assert np.all(np.abs(samples.mean(0) - predicted) < 3 * se), (samples.mean(0), predicted, se)


def _sparse_and_dense_problem(n=20, K=5, duration=2.0):
    """A sine task, its sparse (n, K) network and the dense network of the same couplings
    (to_dense: the independent reference a sparse run must reproduce)."""
    base, task = learning.sine_generation(n=n, duration=duration, dt_sample=0.2, seed=0)
    net = nd.Network.random(N=n, K=K, g=1.5, seed=1)
    sparse = learning.Params(net=net, B=base.B, W_out=base.W_out)
    dense = learning.Params(net=nd.Network.from_arrays(net.to_dense(), net.theta, g=1.5),
                            B=base.B, W_out=base.W_out)
    return sparse, dense, task


def test_dense_only_entry_points_refuse_sparse():
    from neurodyn.learning import fixed_point
    from neurodyn.learning.force import FullForce, measure
    from neurodyn.sharding import shard_network

    params, _, task = _sparse_and_dense_problem()
    key = jax.random.PRNGKey(0)
    h, x = jnp.zeros(20), jnp.zeros(1)
    calls = {
        "FullForce.prepare": lambda: FullForce().prepare(params, task, 1.0),
        "FullForce.train": lambda: FullForce().train(params, task, key, learn_until=1.0),
        "FullForce.compiled": lambda: FullForce().compiled(params, task),
        "force.measure (FullForce)": lambda: measure(FullForce(), params, task, key, 1.0),
        "Force.train": lambda: learning.Force(internal=True).train(params, task, key, 1.0),
        "Force.compiled": lambda: learning.Force(internal=True).compiled(params, task),
        "force.measure (Force)": lambda: measure(learning.Force(internal=True), params, task,
                                                 key, 1.0),
        "fixed_point.energy": lambda: fixed_point.energy(h, params, x),
    }
    for where, call in calls.items():
        with pytest.raises(ParameterError) as error:
            call()
        message = str(error.value)
        assert message.startswith(f"{where} needs a dense network"), message
        assert "sparse (N=20, K=5" in message and "without K" in message
    # the gradient rules refuse through their registry check, sharding through its own
    with pytest.raises(ParameterError, match="method='rtrl_discrete' needs a dense J.*K=5"):
        learning.value_and_grad(params, task, method="rtrl_discrete")
    with pytest.raises(ParameterError, match="sparse networks are not sharded"):
        shard_network(params.net)


def test_readout_force_takes_sparse():
    """FORCE on the readout only runs the network (as the paper's sparse networks did): the
    sparse run reproduces the run of the dense matrix of the same couplings."""
    sparse, dense, task = _sparse_and_dense_problem()
    key = jax.random.PRNGKey(0)
    result = learning.Force().train(sparse, task, key, learn_until=1.0)
    reference = learning.Force().train(dense, task, key, learn_until=1.0)
    assert result.updates == reference.updates > 0
    np.testing.assert_allclose(np.asarray(result.outputs), np.asarray(reference.outputs),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(result.params.W_out), np.asarray(reference.params.W_out),
                               rtol=1e-9, atol=1e-12)


def test_flossing_takes_sparse():
    """train_flossing reads the dtype from net.dtype, so a sparse network trains: with J frozen
    its losses and exponents are the dense network's; training J keeps the (N, K) layout."""
    from neurodyn.learning import flossing

    sparse, dense, task = _sparse_and_dense_problem()
    options = {"k": 2, "beta": 1.0, "iterations": 2, "dt": 0.1}
    _, ds = flossing.train_flossing(sparse, task, trainable=("theta", "W_out"), **options)
    _, reference = flossing.train_flossing(dense, task, trainable=("theta", "W_out"), **options)
    np.testing.assert_allclose(ds.loss.values, reference.loss.values, rtol=1e-9)
    np.testing.assert_allclose(ds.lyapunov.values, reference.lyapunov.values, rtol=1e-9,
                               atol=1e-12)
    trained, ds = flossing.train_flossing(sparse, task, trainable=("J",), **options)
    assert trained.net.weights.shape == (20, 5) and np.isfinite(ds.loss.values).all()
    assert not np.array_equal(np.asarray(trained.net.weights), np.asarray(sparse.net.weights))


def test_sweep_default_N_is_the_network_default():
    import inspect

    from neurodyn import sweep_config

    default = inspect.signature(nd.Network.random).parameters["N"].default
    assert sweep_config.NETWORK_DEFAULT_N == default
