"""A dense J split by rows over devices (neurodyn.sharding): the same trajectory as on one device.

JAX fixes its device count when it starts, and the rest of the suite runs on one CPU device, so
the two-device checks run in a subprocess started with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``. The independent truth is the unsharded
simulation of the same network in that process: the sharded solve performs the same operations
and may only add the products' terms in another order.

Tolerance of the comparison, over t ≤ 10 at g = 2: a reordered sum of N = 64 terms of size
≤ |J_ij φ| ~ 0.1 differs by a few ulps, ~1e-16 × |h| per evaluation. Differences grow at most
like e^{λ t} with the largest Lyapunov exponent, λ_max ≈ 0.11/τ at g = 2 (DMFT, README's chaos
table); allowing λ up to 1/τ for one N = 64 network, at t = 10 they stay below ~1e-16 × 500
evaluations × e^{10} ≈ 1e-9. The measured difference is 0
(the partitioner keeps each row's sum on one device, in the same order). The adaptive step
sequence must be the same (same step count), else the trajectories are not comparable at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import neurodyn as nd
from neurodyn import sharding
from neurodyn.errors import ParameterError
from neurodyn.sweep_config import parse_config

SRC = Path(__file__).resolve().parents[1] / "src"

TOLERANCE = 1e-9
"""Max |h_sharded − h| over t ≤ 10 (see the module docstring for why)."""

# The single-host recipe of docs/scaling.md §3 is this script's first part, verbatim.
TWO_DEVICES = textwrap.dedent("""
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"  # before JAX starts

    import jax
    import numpy as np
    import neurodyn as nd
    from neurodyn.sharding import shard_network

    net = nd.Network.random(N=64, g=2.0, seed=0)
    sharded = shard_network(net)                     # J by rows over jax.devices()
    ds = nd.simulate(sharded, t1=10.0, dt_save=0.5, trials=2)
    # or in one call: nd.simulate(net, t1=10.0, dt_save=0.5, trials=2, devices=2)

    reference = nd.simulate(net, t1=10.0, dt_save=0.5, trials=2)
    # the part below is the test's, not the recipe's
    import json, sys
    from pathlib import Path
    from neurodyn import sweep
    from neurodyn.network import drift
    from neurodyn.sweep_config import parse_config

    one_call = nd.simulate(net, t1=10.0, dt_save=0.5, trials=2, devices=2)
    rhs = jax.jit(drift)(jax.numpy.ones((2, 64)), sharded)
    try:
        shard_network(nd.Network.random(N=63, seed=0))
        refusal = ""
    except nd.ParameterError as error:
        refusal = str(error)
    out = Path(sys.argv[1])
    config = parse_config({
        "out": str(out), "grid": {"g": [2.0]}, "compute": {"quantities": ["summary"]},
        "network": {"N": 64, "seed": 0},
        "simulate": {"t1": 10.0, "dt_save": 0.5, "trials": 2, "transient": 0.0, "devices": 2},
    })
    result = sweep.run_sweep(config, workers=1, progress=False)
    stored = nd.open_sweep(out)
    print(json.dumps({
        "devices": len(jax.devices()),
        "J_devices": len(sharded.J.sharding.device_set),
        "J_spec": list(sharded.J.sharding.spec),
        "drift_devices": len(rhs.sharding.device_set),
        "max_diff": float(np.max(np.abs(ds.h.values - reference.h.values))),
        "one_call_diff": float(np.max(np.abs(one_call.h.values - reference.h.values))),
        "steps": [ds.attrs["num_steps"], reference.attrs["num_steps"]],
        "attrs_devices": [ds.attrs.get("devices"), reference.attrs.get("devices")],
        "variance": float(nd.summary(reference)["variance"]),
        "refusal": refusal,
        "sweep_done": result.done,
        "sweep_variance": float(stored["variance"].values.ravel()[0]),
    }))
""")


def test_two_devices_give_the_unsharded_trajectory_and_a_sharded_sweep_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("XLA_FLAGS", None)
    run = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(tmp_path / "sweep.zarr")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["devices"] == 2
    assert found["J_devices"] == 2 and found["J_spec"] == ["neuron", None]
    assert found["drift_devices"] == 2  # jit kept the placement: the drift lives on both
    assert found["steps"][0] == found["steps"][1]
    assert found["max_diff"] <= TOLERANCE and found["one_call_diff"] <= TOLERANCE, found
    assert found["attrs_devices"] == [2, None]
    assert found["refusal"].startswith("N=63 is not divisible by the 2 devices")
    # the sweep point ran sharded and stored the unsharded run's variance (same tolerance,
    # squared scale: variance ~ 1)
    assert found["sweep_done"] == 1
    assert found["sweep_variance"] == pytest.approx(found["variance"], abs=TOLERANCE)


def test_one_device_sharding_is_the_identity():
    net = nd.Network.random(N=16, g=1.5, seed=3)
    same = sharding.shard_network(net, 1)
    assert sharding.device_count(same) == 1
    assert (same.J == net.J).all() and (same.theta == net.theta).all()
    ds = nd.simulate(net, t1=1.0, dt_save=0.5, solver="euler", dt=0.5, devices=1)
    assert "devices" not in ds.attrs


@pytest.mark.parametrize("devices, fragment", [
    (2, "devices=2 but 1 cpu device(s) are available"),
    (0, "devices=0"),
    ("some", "devices='some'"),
    (1.5, "devices=1.5"),
    ([1, 2], "devices=[1, 2]"),
])
def test_bad_device_choices_are_refused(devices, fragment):
    net = nd.Network.random(N=16, seed=0)
    with pytest.raises(ParameterError, match=fragment.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        sharding.shard_network(net, devices)


def test_sweep_config_refuses_a_device_count_that_does_not_divide_N():
    base = {"out": "x.zarr", "grid": {"N": [64, 30]}, "compute": {"quantities": ["summary"]}}
    with pytest.raises(ParameterError, match=r"\[simulate\] devices=4 does not divide "
                                             r"\[grid\] N=30"):
        parse_config({**base, "simulate": {"devices": 4}})
    with pytest.raises(ParameterError, match="unknown key 'devices' in \\[grid\\]"):
        parse_config({**base, "grid": {"devices": [1, 2]}})
    assert parse_config({**base, "simulate": {"devices": "all"}}).table("simulate") == \
        {"devices": "all"}
