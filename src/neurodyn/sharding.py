"""A dense network's couplings J split by rows over several devices (``jax.sharding``).

Device i of d holds rows i·N/d … (i+1)·N/d − 1 of J (N²/d entries) and the matching slice of θ.
Nothing else changes: :func:`neurodyn.network.drift` is the same ``J φ(g h)``, and XLA's SPMD
partitioner, seeing a row-sharded J in the jit-compiled solve, keeps every device's rows local
and all-gathers φ(g h) (trials × N values) once per product, which is small next to streaming
N²/d couplings. So ``simulate(shard_network(net))`` is the same computation as
``simulate(net)`` up to the order of the additions inside the product.

The state h (trial, neuron) enters the solve replicated on every device (:func:`place_state`);
the partitioner then shards the saved trajectory by neuron itself. Measured on 2 forced CPU
devices (benchmarks/bench_scale.py, the "layout" part, benchmarks/bench_scale.json; N = 4000,
float64, 2 τ): h(0) replicated or sharded by neuron compile to the same all-gathers and to
8 vs 9 all-reduces, and took 1.92 vs 1.72 s (1 trial) and 3.83 vs 4.17 s (8 trials) on a
loaded VM: no consistent winner, so replicated is kept as the layout with fewer collectives
(and a user's h0 needs no re-slicing).

Checked: jax.sharding (Mesh, NamedSharding, PartitionSpec) does the placement and partitioning;
``jax.make_mesh`` builds the same 1-d mesh but takes a device count, not a device list, so the
mesh is built directly. The mesh is not kept anywhere: it is read back from J's sharding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .errors import ParameterError
from .network import Network

AXIS = "neuron"
"""Name of the mesh axis the rows of J (and the neuron axis of θ) are split over."""


def resolve_devices(devices: int | str | Sequence[Any] | None) -> list[Any]:
    """The devices to shard over: all of ``jax.devices()`` (None or ``"all"``), the first
    ``devices`` of them (an int ≥ 1), or the given jax devices (a non-empty sequence of
    distinct devices)."""
    available = jax.devices()
    if devices is None or (isinstance(devices, str) and devices == "all"):
        return list(available)
    if isinstance(devices, bool | str):
        raise ParameterError(f"devices={devices!r}; a device count >= 1, a list of jax devices "
                             "or 'all' (or None) is required")
    if isinstance(devices, int | np.integer):
        count = int(devices)
        if not 1 <= count <= len(available):
            raise ParameterError(
                f"devices={count} but {len(available)} {available[0].platform} device(s) are "
                f"available; allowed: 1 to {len(available)} (on CPU, more are made by setting "
                "XLA_FLAGS=--xla_force_host_platform_device_count=D before JAX starts)")
        return list(available[:count])
    try:
        chosen = list(devices)
    except TypeError:
        chosen = []
    if not chosen or not all(isinstance(device, jax.Device) for device in chosen) \
            or len(set(chosen)) != len(chosen):
        raise ParameterError(f"devices={devices!r}; a device count >= 1, a non-empty list of "
                             "distinct jax devices or 'all' (or None) is required")
    return chosen


def shard_network(net: Network, devices: int | str | Sequence[Any] | None = None) -> Network:
    """The same network with J (neuron, neuron) split by rows and θ (neuron,) by neuron over
    ``devices`` (see :func:`resolve_devices`); g stays replicated. dtype is kept.

    Each device holds N²/d couplings. Refuses (ParameterError) an N that the device count does
    not divide: equal shards keep every device's share of the product the same size.

    **Returns:** a :class:`~neurodyn.network.Network` that :func:`neurodyn.simulate` takes as
    it is (jit keeps the placement; the result equals the unsharded one to rounding).
    """
    if not isinstance(net, Network):
        raise ParameterError(f"net must be a dense neurodyn.Network, got {type(net).__name__} "
                             "(sparse networks are not sharded over devices)")
    net.check_fields()
    chosen = resolve_devices(devices)
    if net.N % len(chosen):
        raise ParameterError(
            f"N={net.N} is not divisible by the {len(chosen)} devices; J is split by rows into "
            f"equal shards, so N must be a multiple of {len(chosen)}")
    mesh = Mesh(np.asarray(chosen), (AXIS,))
    J = _place(net.J, NamedSharding(mesh, PartitionSpec(AXIS, None)))
    theta = _place(net.theta, NamedSharding(mesh, PartitionSpec(AXIS)))
    g = _place(net.g, NamedSharding(mesh, PartitionSpec()))
    return eqx.tree_at(lambda n: (n.J, n.theta, n.g), net, (J, theta, g))


def _place(value: jax.Array, sharding: NamedSharding) -> jax.Array:
    """``value`` laid out by ``sharding``, each shard cut from this process's copy.

    ``jax.make_array_from_callback`` asks only for the shards of this process's devices, so the
    same call also builds a global array when the mesh spans several processes
    (``jax.distributed.initialize``; every process holds the same J, drawn from the same seed).
    """
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def to_host(value: jax.Array) -> np.ndarray:
    """A NumPy copy of ``value``: directly when this process holds all of it, else (a mesh over
    several processes) gathered from every process with
    ``jax.experimental.multihost_utils.process_allgather``. Single-process use is tested; the
    multi-process branch is not (no multi-host machine here)."""
    if getattr(value, "is_fully_addressable", True):
        return np.asarray(value)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(value, tiled=True))


def network_mesh(net: Network) -> Mesh | None:
    """The mesh J is sharded over, or None for a J on one device (or not a jax array, or a
    sparse network: its couplings are not sharded by :func:`shard_network`)."""
    sharding = getattr(net.couplings, "sharding", None) if net.dense else None
    if isinstance(sharding, NamedSharding) and sharding.mesh.size > 1:
        return sharding.mesh
    return None


def device_count(net: Network) -> int:
    """Number of devices holding a shard of J (1 for an unsharded network)."""
    mesh = network_mesh(net)
    return 1 if mesh is None else int(mesh.size)


def place_state(h: jax.Array, net: Network) -> jax.Array:
    """``h`` (trial, neuron) replicated over the devices of a sharded ``net`` (the layout the
    module docstring says was measured); unchanged for an unsharded network."""
    mesh = network_mesh(net)
    if mesh is None:
        return h
    return jax.device_put(h, NamedSharding(mesh, PartitionSpec()))
