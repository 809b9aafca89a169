"""Brian2 side of benchmarks/peers.py:brian2_rate, run by the Brian2 venv's Python.

    .peer-venvs/brian2/bin/python benchmarks/peer_brian2.py DIR

reads DIR/in.npz (J, theta, h0, g, t1, dt, interval, method), integrates the SCS rate network
with τ = 1 ms = one model time unit and writes DIR/out.npz (times, rates (time, neuron), wall =
seconds of ``run`` for t1 after a warm-up of one interval, build = seconds to set the network
up and run the warm-up).
"""

import sys
import time
from pathlib import Path

import numpy as np


def main(directory):
    import brian2 as b2

    args = np.load(Path(directory) / "in.npz")
    J, theta_values, h0 = args["J"], args["theta"], args["h0"]
    g, t1, dt, interval = (float(args[k]) for k in ("g", "t1", "dt", "interval"))
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * b2.ms
    start = time.perf_counter()
    tau = 1 * b2.ms  # noqa: F841 - read by the equations' namespace
    group = b2.NeuronGroup(len(h0), "dh/dt = (-h + I + theta)/tau : 1\nI : 1\ntheta : 1",
                           method=str(args["method"]))
    group.h = h0
    group.theta = theta_values  # (a local named theta would shadow the group variable)

    @b2.network_operation(when="start")
    def couple():
        group.I_ = J @ np.tanh(g * group.h_)

    monitor = b2.StateMonitor(group, "h", record=True, dt=interval * b2.ms)
    net = b2.Network(group, couple, monitor)
    net.store()
    net.run(interval * b2.ms)  # warm-up: code generation and the first steps
    build = time.perf_counter() - start
    net.restore()
    start = time.perf_counter()
    net.run(t1 * b2.ms)
    wall = time.perf_counter() - start
    np.savez(Path(directory) / "out.npz", times=np.asarray(monitor.t / b2.ms),
             rates=np.asarray(monitor.h).T, wall=wall, build=build)


if __name__ == "__main__":
    main(sys.argv[1])
