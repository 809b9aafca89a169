"""The peer integrators benchmarked against neurodyn, each on the same J, θ, h0, g and tanh.

Every function integrates ``dh/dt = −h + J tanh(g h) + θ`` (rows of ``h0`` are trials) from 0
to ``t1`` and returns ``(saved states (time, trial, neuron), right-hand-side evaluations)``.
"""

from __future__ import annotations

import os

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


# --- Optional peers (issue 17). Each is imported inside its function: none is a project
# dependency; benchmarks/setup_peers.py installs them, and bench_peers.py skips a peer whose
# import fails, with a line saying so. ---


def peer_versions() -> dict[str, str | None]:
    """Version of each optional peer, or None if it cannot be used here (Brian2: its own venv,
    see :func:`brian2_python`)."""
    versions = {}
    for name, module in (("torch", "torch"), ("torchdiffeq", "torchdiffeq"),
                         ("brainpy", "brainpy")):
        try:
            imported = import_brainpy() if module == "brainpy" else __import__(module)
            versions[name] = str(getattr(imported, "__version__", "unknown"))
        except Exception:  # noqa: BLE001 - any import failure means "not available"
            versions[name] = None
    python = brian2_python()
    versions["brian2"] = None
    if python is not None:
        import subprocess

        done = subprocess.run([str(python), "-c", "import brian2; print(brian2.__version__)"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            versions["brian2"] = done.stdout.strip()
    return versions


def import_brainpy():
    """``import brainpy``, keeping the process's float64 setting: importing brainpy (2.8.2) turns
    JAX's float64 off process-wide, which would silently run every later float64 computation
    of this process (neurodyn's included) in float32. Put back as a BrainPy user would, with
    ``brainpy.math.enable_x64()`` (which also sets BrainPy's own default float, used for dt)."""
    import jax

    x64 = jax.config.jax_enable_x64
    import brainpy

    if x64:
        brainpy.math.enable_x64()
    return brainpy


def _torch_setup(J, theta, dtype):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    torch_dtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    JT = torch.from_numpy(np.array(J.T, order="C")).to(torch_dtype)
    theta_t = torch.from_numpy(np.array(theta)).to(torch_dtype)
    return torch, torch_dtype, JT, theta_t


def torch_rk4(J, theta, g, h0, t1, save_every, dt, dtype="float64"):
    """A plain PyTorch classical RK4 loop (as in public SCS/Lyapunov code, e.g.
    davidclark1/rnn-lyapunov), under ``torch.no_grad``, fixed step ``dt``, saves every
    ``save_every`` steps; trials stacked so each evaluation is one (trials, N) @ (N, N) product.
    Returns (saved (time, trial, neuron) float64 NumPy, evaluations)."""
    torch, torch_dtype, JT, theta_t = _torch_setup(J, theta, dtype)
    with torch.no_grad():
        h = torch.from_numpy(np.array(h0)).to(torch_dtype).clone()

        def rhs(h):
            return -h + torch.tanh(g * h) @ JT + theta_t

        steps = int(round(t1 / dt))
        saved = [h.clone()]
        for step in range(1, steps + 1):
            k1 = rhs(h)
            k2 = rhs(h + 0.5 * dt * k1)
            k3 = rhs(h + 0.5 * dt * k2)
            k4 = rhs(h + dt * k3)
            h = h + (dt / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
            if step % save_every == 0:
                saved.append(h.clone())
    return torch.stack(saved).double().numpy(), 4 * steps


def torchdiffeq_ode(J, theta, g, h0, save_times, rtol, atol, method="dopri5", dtype="float64"):
    """``torchdiffeq.odeint`` (adaptive ``method``, rtol/atol), no autograd; the evaluations are
    counted by the vector field. Returns (saved (time, trial, neuron), evaluations)."""
    torch, torch_dtype, JT, theta_t = _torch_setup(J, theta, dtype)
    from torchdiffeq import odeint

    count = [0]

    def rhs(t, h):
        count[0] += 1
        return -h + torch.tanh(g * h) @ JT + theta_t

    with torch.no_grad():
        y0 = torch.from_numpy(np.array(h0)).to(torch_dtype)
        times = torch.from_numpy(np.asarray(save_times, np.float64)).to(torch_dtype)
        out = odeint(rhs, y0, times, rtol=rtol, atol=atol, method=method)
    return out.double().numpy(), count[0]


class BrainpyRk4:
    """BrainPy's own integrator (``brainpy.odeint(method="rk4")``, fixed step) stepped in one
    jitted ``jax.lax.scan``, the form BrainPy's ``for_loop`` runners compile to (BrainPy's
    adaptive integrators return a new dt per step and need a host loop; its users run fixed
    steps). Compiled once per (shape, dt, steps) and cached here, so the warm call is what a
    user pays on a tenth run. ``run`` returns (saved (time, trial, neuron), evaluations)."""

    def __init__(self, J, theta, g, dtype="float64"):
        import jax
        import jax.numpy as jnp

        bp = import_brainpy()

        self.jax, self.jnp = jax, jnp
        self.JT = jnp.asarray(np.ascontiguousarray(J.T), dtype)
        self.theta = jnp.asarray(theta, dtype)
        self.dtype = dtype
        self.integral = bp.odeint(lambda h, t, JT, theta: -h + jnp.tanh(g * h) @ JT + theta,
                                  method="rk4")
        self.compiled = {}

    def _program(self, dt, steps, save_every):
        jax, integral = self.jax, self.integral

        def block(h, t0):
            def step(carry, k):
                return integral(carry, t0 + k * dt, self.JT, self.theta, dt=dt), None
            h, _ = jax.lax.scan(step, h, self.jnp.arange(save_every))
            return h, h

        @jax.jit
        def run(h0):
            starts = self.jnp.arange(steps // save_every) * save_every * dt
            _, saved = jax.lax.scan(block, h0, starts)
            return self.jnp.concatenate([h0[None], saved])
        return run

    def run(self, h0, t1, save_every, dt):
        steps = int(round(t1 / dt))
        key = (h0.shape, dt, steps, save_every)
        if key not in self.compiled:
            self.compiled[key] = self._program(dt, steps, save_every)
        out = self.compiled[key](self.jnp.asarray(h0, self.dtype))
        return np.asarray(out.block_until_ready(), np.float64), 4 * steps


def brian2_python():
    """The Python of the Brian2 venv made by benchmarks/setup_peers.py (Brian2 ≤ 2.9 on
    Python 3.11 needs NumPy < 2.4, which the project's venv does not have), or None."""
    from pathlib import Path

    python = Path(__file__).resolve().parent / ".peer-venvs" / "brian2" / "bin" / "python"
    return python if python.exists() else None


def brian2_rate(J, theta, g, h0, t1, dt, interval=1.0, method="rk4"):
    """Brian2 (numpy target) in its own venv and process (benchmarks/peer_brian2.py): a
    ``NeuronGroup`` with ``dh/dt = (−h + I + θ)/τ`` and I = J tanh(g h) set by a
    ``network_operation`` every step (one BLAS matvec: the fastest dense formulation its docs
    allow; a summed-variable ``Synapses`` object over N² synapses is 10–100× slower). One trial.

    The coupling is held constant over each step, as Brian2 does for any input updated per
    step, so the scheme is first order in dt whatever ``method``. Returns (rates at t =
    interval, 2·interval, … (time, 1, neuron), run wall seconds, build seconds)."""
    import subprocess
    import tempfile
    from pathlib import Path

    python = brian2_python()
    script = Path(__file__).resolve().parent / "peer_brian2.py"
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "in.npz", J=J, theta=theta, h0=np.asarray(h0)[0], g=g, t1=t1,
                 dt=dt, interval=interval, method=method)
        subprocess.run([str(python), str(script), tmp], check=True,
                       env={**os.environ, "OMP_NUM_THREADS": str(os.cpu_count() or 1)})
        out = np.load(Path(tmp) / "out.npz")
        return out["rates"][:, None, :], float(out["wall"]), float(out["build"])
