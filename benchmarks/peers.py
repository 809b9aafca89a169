"""The peer integrators benchmarked against neurodyn, each on the same J, θ, h0, g and tanh.

Every function integrates ``dh/dt = −h + J tanh(g h) + θ`` (rows of ``h0`` are trials) from 0
to ``t1`` and returns ``(saved states (time, trial, neuron), right-hand-side evaluations)``.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def scipy_ivp(J, theta, g, h0, t1, save_times, method, rtol, atol):
    """SciPy ``solve_ivp`` (RK45 or DOP853); trials are flattened into one state vector so
    every evaluation is one (trial, N) @ (N, N) product, as in neurodyn."""
    trials, N = h0.shape
    JT = np.ascontiguousarray(J.T)

    def rhs(t, y):
        h = y.reshape(trials, N)
        return (-h + np.tanh(g * h) @ JT + theta).ravel()

    sol = solve_ivp(rhs, (0.0, t1), h0.ravel(), method=method, t_eval=save_times,
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp {method} failed: {sol.message}")
    return sol.y.T.reshape(len(save_times), trials, N), sol.nfev


def numpy_rk4(J, theta, g, h0, t1, save_every, dt):
    """Hand-written classical RK4 loop in NumPy, fixed step ``dt``; saves every ``save_every``
    steps (including t = 0). Keeps the dtype of ``J`` (float32 or float64)."""
    JT = np.ascontiguousarray(J.T)
    dtype = J.dtype
    theta = theta.astype(dtype)
    g = dtype.type(g)
    dt = dtype.type(dt)
    half = dtype.type(0.5) * dt
    sixth = dt / dtype.type(6)

    def rhs(h):
        return -h + np.tanh(g * h) @ JT + theta

    h = h0.astype(dtype).copy()
    steps = int(round(t1 / float(dt)))
    saved = [h.copy()]
    for step in range(1, steps + 1):
        k1 = rhs(h)
        k2 = rhs(h + half * k1)
        k3 = rhs(h + half * k2)
        k4 = rhs(h + dt * k3)
        h = h + sixth * (k1 + 2 * k2 + 2 * k3 + k4)
        if step % save_every == 0:
            saved.append(h.copy())
    return np.stack(saved), 4 * steps


def numpy_euler_maruyama(J, theta, g, h0, t1, save_every, dt, sigma, seed):
    """Hand-written Euler–Maruyama loop, ``h += F(h) dt + σ √dt ξ`` with ξ ~ N(0, 1) from
    NumPy's PCG64 generator."""
    JT = np.ascontiguousarray(J.T)
    rng = np.random.default_rng(seed)
    h = h0.copy()
    steps = int(round(t1 / dt))
    scale = sigma * np.sqrt(dt)
    saved = [h.copy()]
    for step in range(1, steps + 1):
        h = h + dt * (-h + np.tanh(g * h) @ JT + theta) + scale * rng.standard_normal(h.shape)
        if step % save_every == 0:
            saved.append(h.copy())
    return np.stack(saved), steps


def nest_available() -> str | None:
    """NEST's version string if ``import nest`` works, else None."""
    try:
        import nest
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return None
    return str(getattr(nest, "__version__", "unknown"))


def nest_tanh_rate(J, theta, g, h0, t1, dt, sigma=0.0, threads=2, interval=1.0, chunks=5):
    """NEST ``tanh_rate_ipn`` neurons with ``linear_summation=False`` (input Σ_j J_ij tanh(g h_j),
    the SCS model), τ = 1 ms = one model time unit, instantaneous rate connections without
    waveform relaxation, resolution ``dt``. One trial (NEST has no batched trials).

    ``Simulate`` runs in ``chunks`` equal pieces; the wall time reported is the median piece ×
    ``chunks`` (a median of warm runs, like every other tool's: NEST's first piece also prepares
    the connection tables).

    Returns (rates at t = interval, 2·interval, … (time, 1, neuron), simulate wall seconds,
    build seconds)."""
    import time

    import nest

    N = J.shape[0]
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt, "use_wfr": False, "local_num_threads": threads,
                          "print_time": False})
    start = time.perf_counter()
    pop = nest.Create("tanh_rate_ipn", N, params={
        "tau": 1.0, "lambda": 1.0, "g": float(g), "theta": 0.0, "std": float(sigma),
        "linear_summation": False, "mult_coupling": False})
    pop.set(mu=[float(x) for x in theta], rate=[float(x) for x in h0[0]])
    nest.Connect(pop, pop, {"rule": "all_to_all", "allow_autapses": True},
                 {"synapse_model": "rate_connection_instantaneous", "weight": np.asarray(J)})
    meter = nest.Create("multimeter", params={"record_from": ["rate"], "interval": interval})
    nest.Connect(meter, pop)
    build = time.perf_counter() - start
    pieces = []
    for _ in range(chunks):
        start = time.perf_counter()
        nest.Simulate(t1 / chunks)
        pieces.append(time.perf_counter() - start)
    wall = float(np.median(pieces)) * chunks
    events = meter.get("events")
    senders = np.asarray(events["senders"])
    times = np.asarray(events["times"])
    rates = np.asarray(events["rate"])
    first = min(pop.tolist())
    grid = np.round(times / interval).astype(int) - 1
    out = np.full((grid.max() + 1, 1, N), np.nan)
    out[grid, 0, senders - first] = rates
    return out, wall, build


def nest_tanh_rate_isolated(*args, **kwargs):
    """:func:`nest_tanh_rate` in a fresh process: NEST's OpenMP threads keep spinning after
    ``Simulate`` returns and slowed every later measurement in the same process (neurodyn at
    N = 4000 measured 4× slower after a NEST run), so NEST never shares a process with them."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(nest_tanh_rate, args, kwargs)
