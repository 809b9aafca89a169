"""Integration of SCS networks (ODE and additive-noise SDE) on diffrax → xarray.Dataset.

    dh = (−h + J φ(g h) + θ + input(t)) dt + σ dW        (σ = ``noise``; σ = 0 is the ODE)

Trials are independent initial conditions integrated together: the state has shape
(trial, neuron), so one right-hand side is a single matrix–matrix product φ(g h) Jᵀ (a GEMM) and
all trials share the step-size sequence. Everything between the initial condition and the saved
array runs inside one jit-compiled function: no host round-trips inside the time loop.

Divergence is decided inside that function where it can stop the solve: a diffrax Event ends it
at the first state beyond :func:`divergence_bound` (or NaN), and the adaptive solvers' step floor
DT_MIN ends it at a non-finite drift (whose steps diffrax rejects, so the Event never sees it).
The compiled solve returns max |h| per saved time; :func:`check_trajectory` turns a stop, or
sustained exponential growth of an unbounded φ (:func:`sustained_growth`), into a
DivergenceError naming the time.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import euler_maruyama, integrate, nonlinearity, resources, sharding, solvers, validation
from .errors import DivergenceError, ParameterError
from .network import AbstractNetwork, drift
from .provenance import provenance
from .rng import key as random_key

SUM_HEADROOM = 1e12
"""Values the divergence ceiling leaves room to sum: |h| ≤ √(max float / 1e12) keeps h² and its
sums over up to 10¹² saved values (trials × times × neurons) finite, so a run's variance and
autocorrelation can always be computed (float64: 1.3e148, float32: 1.8e13)."""

BOUND_MARGIN = 2.0
"""Factor on the a-priori bound of a bounded φ (see :func:`divergence_bound`): the ODE can never
exceed it, so only a numerically unstable solve (e.g. Euler with dt > 2) crosses twice it."""

NOISE_MARGIN = 20.0
"""The noise adds an Ornstein–Uhlenbeck part of standard deviation σ/√2 to the bound; 20 σ is
28 standard deviations, which no run of any length reaches (probability ~1e-170 per sample)."""

GROWTH_LARGE = 1e3
"""Sustained exponential growth of an unbounded φ counts as divergence once max |h| exceeds this
multiple of the problem's scale (1 + max|h(0)| + max|θ| + max|input| + σ): a stable relu network
amplifies its drive this much only within 0.1 % of its transition."""

GROWTH_WINDOW = 1.0
"""Length (τ) of the window over which growth must be sustained: max |h| rising at every save,
and rising over the window's second half at least half as fast (in log) as over its first half,
i.e. not levelling off towards a fixed point."""

DT_MIN = integrate.DT_MIN
"""Step floor of the adaptive solvers (τ units); see :data:`neurodyn.integrate.DT_MIN`."""

DEFAULT_SDE_DT = solvers.DEFAULT_DT
"""Default fixed step for SDE solvers and fixed-step ODE solvers (τ units)."""


class _Input(eqx.Module):
    """A time-dependent external input: a callable t → (neuron,) or a sampled array, or none."""

    function: Callable | None = eqx.field(static=True, default=None)
    interpolation: diffrax.LinearInterpolation | None = None
    dtype: str = eqx.field(static=True, default="float64")

    def __call__(self, t):
        if self.interpolation is not None:
            return self.interpolation.evaluate(t)
        if self.function is not None:
            # cast: a float64 input must not promote a float32 state (diffrax requires one dtype)
            return jnp.asarray(self.function(t)).astype(self.dtype)
        return 0.0


def _check_callable_input(function: Callable, N: int, dtype: str) -> None:
    """Trace ``function`` once on an abstract time (``jax.eval_shape``: no computation) so that a
    callable JAX cannot trace, or one of the wrong shape, is refused before anything compiles."""
    try:
        out = jax.eval_shape(function, jax.ShapeDtypeStruct((), dtype))
    except Exception as error:  # any failure to trace is the user's function, reported in one line
        first_line = (str(error).strip().splitlines() or [""])[0]
        name = getattr(function, "__qualname__", type(function).__name__)
        raise ParameterError(
            f"inputs={name} cannot be traced by JAX ({type(error).__name__}: "
            f"{first_line[:160]}); it must be a jax-traceable function t -> array of shape "
            f"(N={N},) using jax.numpy on t (no float(t), no NumPy on t)") from None
    shape = getattr(out, "shape", None)
    kind = getattr(out, "dtype", None)
    if shape not in ((), (N,)) or kind is None or not (
            jnp.issubdtype(kind, jnp.floating) or jnp.issubdtype(kind, jnp.integer)):
        got = f"shape {shape} and dtype {kind}" if shape is not None else type(out).__name__
        raise ParameterError(f"inputs(t) returns {got}; a real array of shape (N={N},) "
                             "(or a scalar, the same input to every neuron) is required")


def _make_input(inputs: Any, input_times: Any, N: int, dtype: str) -> tuple[_Input, str, float]:
    """The input module, its kind ("none", "callable", "array") and its scale max |input|
    (inf for a callable, whose values are only known at run time)."""
    if inputs is None:
        if input_times is not None:
            raise ParameterError("input_times was given without inputs; give both or neither")
        return _Input(dtype=dtype), "none", 0.0
    if callable(inputs):
        if input_times is not None:
            raise ParameterError("input_times was given with a callable inputs; it is only for "
                                 "sampled (array) inputs")
        _check_callable_input(inputs, N, dtype)
        return _Input(function=inputs, dtype=dtype), "callable", math.inf
    try:
        values = np.asarray(inputs, dtype=dtype)
    except (TypeError, ValueError):
        raise ParameterError(f"inputs of type {type(inputs).__name__} is neither a callable nor "
                             f"a numeric array (len(input_times), N={N})") from None
    if input_times is None:
        raise ParameterError("inputs is an array, so input_times (its sample times) is required")
    times = np.asarray(input_times, dtype=dtype)
    if values.ndim != 2 or values.shape[1] != N or times.ndim != 1 \
            or values.shape[0] != times.shape[0]:
        samples = times.shape[0] if times.ndim else 0
        raise ParameterError(f"inputs has shape {values.shape}; shape (len(input_times)={samples}, "
                             f"N={N}) is required")
    if times.size < 2 or np.any(np.diff(times) <= 0):
        raise ParameterError("input_times must be a strictly increasing 1-d array of ≥ 2 times")
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(times))):
        raise ParameterError("inputs and input_times must be finite")
    interpolation = diffrax.LinearInterpolation(ts=jnp.asarray(times), ys=jnp.asarray(values))
    return (_Input(interpolation=interpolation, dtype=dtype), "array",
            float(np.max(np.abs(values))))


def divergence_bound(net: AbstractNetwork, h0: jax.Array, input_scale, noise) -> tuple[jax.Array, jax.Array]:
    """The |h| beyond which a trajectory counts as diverged, and the problem's scale.

    Traced (called inside the compiled solves): networks, initial states and noise levels of a
    sweep share one compilation.

    - Bounded φ (sup |φ| = M): ``dh_i/dt = −h_i + u_i`` with ``|u_i| ≤ U_i = Σ_j |J_ij| M + |θ_i|
      + sup|input_i|`` gives ``|h_i(t)| ≤ max(|h_i(0)|, U_i)`` for every t. The bound is
      BOUND_MARGIN × (max|h(0)| + max U) + NOISE_MARGIN σ: crossing it is numerical blow-up.
    - Unbounded φ (relu is positively homogeneous: c·h(t) is a solution whenever h(t) is, so the
      dynamics has no scale of its own): scale / eps, with scale = 1 + max|h(0)| + max|θ| +
      max|input| + σ. Beyond it the drive and h(0) are below the rounding of h, and the state
      follows the homogeneous dynamics that grew it (float64: 4.5e15 × scale, float32: 8.4e6 ×
      scale). Earlier growth is caught by :func:`sustained_growth`.
    - Either way at most √(max float / SUM_HEADROOM), so squares and their sums stay finite;
      a callable input (scale unknown, ``input_scale`` = inf) leaves only this ceiling.

    **Returns:** (bound, scale), 0-d arrays of h0's dtype.
    """
    dtype = h0.dtype
    info = jnp.finfo(dtype)
    ceiling = math.sqrt(float(info.max) / SUM_HEADROOM)
    h0_max = jnp.max(jnp.abs(h0))
    theta_max = jnp.max(jnp.abs(net.theta))
    scale = 1.0 + h0_max + theta_max + input_scale + noise
    phi = net.phi
    if phi.bounded:
        row = jnp.max(net.abs_row_sum()) * phi.bound
        bound = BOUND_MARGIN * (h0_max + row + theta_max + input_scale) + NOISE_MARGIN * noise
    else:
        bound = scale / float(info.eps)
    return jnp.minimum(bound, ceiling).astype(dtype), scale.astype(dtype)


def _growth_half_window(times) -> int:
    """Saves in half a GROWTH_WINDOW (at least 2)."""
    return max(2, math.ceil(0.5 * GROWTH_WINDOW / float(times[1] - times[0]) - 1e-9))


def sustained_growth(times: np.ndarray, max_abs: np.ndarray, scale: float) -> int | None:
    """Index of the first saved time at which max |h| has grown exponentially for a sustained
    GROWTH_WINDOW while above GROWTH_LARGE × ``scale``, or None.

    Sustained means: max |h| rose at every save of the window, and its log rose over the
    window's second half by at least half its rise over the first half (exponential growth
    keeps its rate; approach to a fixed point decelerates). Host-side, on the per-save maxima
    the compiled solve returns.
    """
    n = len(max_abs)
    if n < 5 or not math.isfinite(scale):
        return None
    half = _growth_half_window(times)
    if n <= 2 * half:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.log(np.where(np.isfinite(max_abs) & (max_abs > 0), max_abs, np.nan))
    rising = np.concatenate([[0], np.cumsum(np.diff(log) > 0)])  # rises up to each save
    k = np.arange(2 * half, n)
    monotone = rising[k] - rising[k - 2 * half] == 2 * half
    first, second = log[k - half] - log[k - 2 * half], log[k] - log[k - half]
    with np.errstate(invalid="ignore"):
        hits = monotone & (second >= 0.5 * first) & (max_abs[k] > GROWTH_LARGE * scale)
    return int(k[np.argmax(hits)]) if hits.any() else None


PI_COEFFICIENTS = integrate.PI_COEFFICIENTS
"""PI step-size control of simulate's adaptive solves (measured there: see
:data:`neurodyn.integrate.PI_COEFFICIENTS`)."""

NO_REVERSE_MODE = integrate.NO_REVERSE_MODE
"""simulate's solves return NumPy data and are never differentiated (see
:data:`neurodyn.integrate.NO_REVERSE_MODE`)."""


def diverged(t, y, args, **kwargs):
    """diffrax Event condition: some |h| beyond the bound ``args`` (or NaN). It sees accepted
    states only; a non-finite drift in an adaptive solve is stopped by the step floor instead."""
    return jnp.logical_not(jnp.all(jnp.abs(y) <= args))


@eqx.filter_jit
def _integrate(
    net: AbstractNetwork,
    h0: jax.Array,
    save_times: jax.Array,
    key: jax.Array,
    noise: jax.Array,
    dt0: jax.Array,
    rtol: jax.Array,
    atol: jax.Array,
    external: _Input,
    input_scale: jax.Array,
    spec: solvers.SolverSpec,
    max_steps: int,
    progress: bool,
):
    """One compiled solve from t = 0 to save_times[-1], saving h at ``save_times``.

    Shapes: ``h0`` (trial, neuron); returns ys (time, trial, neuron), the solver result code,
    the step statistics, per saved time whether it is finite and its max |h|, and the
    divergence bound and scale (:func:`divergence_bound`). Arguments that change between calls
    of a sweep (net, h0, times, noise, tolerances) are arrays, so they do not trigger
    recompilation. The solve stops at the first state beyond the bound (a diffrax Event) or,
    adaptive solvers, when the step collapses below the floor (a non-finite drift).
    """
    bound, scale = divergence_bound(net, h0, input_scale, noise)
    solution = integrate.solve(
        lambda t, h, args: drift(h, net, external(t)),
        h0,
        spec,
        jnp.zeros((), save_times.dtype),
        save_times[-1],
        save_times=save_times,
        args=bound,
        dt=None if spec.adaptive else dt0,
        rtol=rtol,
        atol=atol,
        noise=noise if spec.sde else None,
        key=key,
        adjoint=NO_REVERSE_MODE,
        max_steps=max_steps,
        event=diffrax.Event(cond_fn=diverged),
        throw=False,
        progress=progress,
    )
    finite, max_abs = _finite_and_max_abs(solution.ys)
    return solution.ys, solution.result, solution.stats, finite, max_abs, bound, scale


def _finite_and_max_abs(ys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per saved time of ys (time, trial, neuron): whether every value is finite, and max |h|
    over the finite ones (what a DivergenceError reports)."""
    finite = jnp.isfinite(ys)
    return jnp.all(finite, axis=(1, 2)), jnp.max(jnp.abs(jnp.where(finite, ys, 0.0)), axis=(1, 2))


_scan_guard = eqx.filter_jit(divergence_bound)


def _integrate_euler_maruyama(net, h0, save_times, key, noise, dt, steps_per_save, transient,
                              external, progress, input_scale=0.0):
    """Euler–Maruyama on the lax.scan path (see :mod:`neurodyn.euler_maruyama` for why), with
    ``steps_per_save`` steps of ``dt`` between saved times.

    Returns ys (time, trial, neuron), the number of steps, per saved time whether every save so
    far is finite and within the divergence bound (as diffrax's event stops the other solvers)
    with max |h| there, and the bound and scale (:func:`divergence_bound`). The scan has a fixed
    number of steps, so a non-finite drift cannot make it hang; it is found in the saves."""
    dtype = h0.dtype
    n_transient, dt_transient = euler_maruyama.transient_steps(transient, dt)
    block = euler_maruyama.block_length(steps_per_save, h0.size)
    noise, dt_array = jnp.asarray(noise, dtype), jnp.asarray(dt, dtype)
    bound, scale = _scan_guard(net, h0, jnp.asarray(input_scale, dtype), noise)
    h = euler_maruyama.run_transient(net, h0, key, noise, jnp.asarray(dt_transient, dtype),
                                     jnp.asarray(n_transient), external)
    intervals = len(save_times) - 1
    # One call normally; with a progress bar, ~20 calls (the streams make them bit-identical).
    chunk = max(1, math.ceil(intervals / 20)) if progress else max(intervals, 1)
    pieces, done = [h[None]], 0
    bar = _progress_bar(intervals) if progress else None
    while done < intervals:
        count = min(chunk, intervals - done)
        ys = euler_maruyama.run_intervals(
            net, pieces[-1][-1], key, noise, dt_array, jnp.asarray(save_times[done], dtype),
            jnp.asarray(1 + done), external, count, steps_per_save, block)
        pieces.append(ys)
        done += count
        if bar is not None:
            bar.update(count)
    if bar is not None:
        bar.close()
    ys = jnp.concatenate(pieces)
    finite, max_abs = _finite_and_max_abs(ys)
    healthy = finite & (max_abs <= bound)
    finite = jnp.cumprod(healthy.astype(jnp.int32)).astype(bool)
    return ys, n_transient + intervals * steps_per_save, finite, max_abs, bound, scale


def _progress_bar(total: int):
    import tqdm

    return tqdm.tqdm(total=total, unit="save", desc="Euler–Maruyama")


def simulation_key(seed: int, stream: int) -> jax.Array:
    """Key of random ``stream`` (0: h(0), 1: Brownian motion, 2: tangent vectors) of ``seed``:
    :func:`neurodyn.rng.key` with the purpose initial_state, noise or tangents."""
    return random_key(seed, ("initial_state", "noise", "tangents")[stream])


def initial_condition(
    N: int, trials: int, seed: int, h0_std: float, dtype: str
) -> jax.Array:
    """h(0) ~ N(0, h0_std²) per neuron and trial, shape (trial, neuron), drawn from ``seed``."""
    key = simulation_key(seed, 0)
    return (h0_std * jax.random.normal(key, (trials, N), jnp.float64)).astype(dtype)


def simulate(
    net: AbstractNetwork,
    t1: float = 200.0,
    dt_save: float = 0.1,
    transient: float = 0.0,
    trials: int = 1,
    noise: float = 0.0,
    seed: int = 0,
    solver: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    dt: float | None = None,
    h0: Any = None,
    h0_std: float = 1.0,
    inputs: Any = None,
    input_times: Any = None,
    max_steps: int = 10_000_000,
    progress: bool = False,
    devices: Any = None,
) -> xr.Dataset:
    """Integrate ``net`` and return the trajectory as an xarray Dataset.

    **Arguments:**
    - ``t1``: length of the saved window (τ units) after the ``transient`` (discarded, ≥ 0).
    - ``dt_save``: spacing of saved times; saved times are ``transient + k·dt_save``,
      k = 0 … ⌊t1/dt_save⌋.
    - ``trials``: independent initial conditions integrated together.
    - ``noise``: σ ≥ 0 of the additive white noise (σ dW per neuron); σ > 0 makes it an SDE.
    - ``seed``: seeds h(0) and the Brownian motion (the network has its own seed).
    - ``solver``: adaptive ``tsit5`` (default ODE), ``dopri5``, ``dopri8`` (use rtol, atol);
      fixed-step ``euler``, ``heun``, ``rk4``; SDE ``shark`` (default), ``sra1``, ``euler``
      (Euler–Maruyama, integrated by :mod:`neurodyn.euler_maruyama`, a lax.scan, not diffrax;
      a transient that is not a multiple of ``dt`` is covered by slightly shorter steps).
    - ``rtol``, ``atol``: tolerances of the adaptive solvers; None means 1e-6 each
      (:data:`neurodyn.solvers.DEFAULT_TOLERANCE`). Refused with a fixed-step solver.
    - ``dt``: step of the fixed-step solvers; None means 0.01
      (:data:`neurodyn.solvers.DEFAULT_DT`); shrunk so that it divides ``dt_save``. Refused with
      an adaptive solver.
    - ``h0``: initial state, shape (neuron,) or (trial, neuron); default N(0, h0_std²).
    - ``inputs``: time-dependent input added to the drift: a jax-traceable callable
      t → (neuron,), or an array (len(input_times), neuron) interpolated linearly in time.
    - ``devices``: split J by rows over this many devices (an int), these jax devices (a list)
      or all of them (``"all"``) with :func:`neurodyn.sharding.shard_network`; None (default)
      leaves ``net`` where it is (a network sharded beforehand stays sharded). N must be a
      multiple of the device count.

    **Returns:** Dataset with ``h`` (trial, time, neuron) in units of h; coordinates ``trial``,
    ``time`` (τ units, absolute: the first saved time is ``transient``), ``neuron``; attrs with
    every parameter (the tolerances or step actually used), the network's construction
    parameters, the ``divergence_bound`` the run stayed within, step statistics, the number of
    ``devices`` J was split over (only when more than one) and provenance.

    Raises :class:`~neurodyn.errors.ParameterError` for bad arguments (before any work: also a
    trajectory that would not fit in memory) and :class:`~neurodyn.errors.DivergenceError`
    naming the time if h crosses the divergence bound (:func:`divergence_bound`), grows
    exponentially without bound (:func:`sustained_growth`), or the drift becomes non-finite.
    """
    if not isinstance(net, AbstractNetwork):
        raise ParameterError(f"net must be a neurodyn.Network (dense or sparse), got "
                             f"{type(net).__name__}")
    net.check_fields()
    t1 = validation.positive("t1", t1)
    dt_save = validation.positive("dt_save", dt_save)
    if dt_save > t1:
        raise ParameterError(f"dt_save={dt_save!r} is larger than t1={t1!r}; need dt_save <= t1")
    transient = validation.non_negative("transient", transient)
    trials = validation.positive_int("trials", trials)
    noise = validation.non_negative("noise", noise)
    seed = validation.seed("seed", seed)
    h0_std = validation.non_negative("h0_std", h0_std)
    max_steps = validation.positive_int("max_steps", max_steps)
    spec = solvers.resolve(solver, noisy=noise > 0, noise=noise)
    solvers.check_step_settings(spec, rtol=rtol, atol=atol, dt=dt)
    rtol = validation.positive("rtol", solvers.DEFAULT_TOLERANCE if rtol is None else rtol)
    atol = validation.positive("atol", solvers.DEFAULT_TOLERANCE if atol is None else atol)
    dt = validation.positive("dt", solvers.DEFAULT_DT if dt is None else dt)
    steps_per_save = math.ceil(dt_save / dt - 1e-9)
    dt = dt_save / steps_per_save  # divides dt_save: saves fall on steps
    dtype = net.dtype
    N = net.N

    n_save = int(math.floor(t1 / dt_save + 1e-9)) + 1
    # The saved trajectory (the solver's buffer and the Dataset's array), next to J (dense) or
    # the (N, K) arrays and one drift's gather temporaries (sparse).
    if net.dense:
        network_bytes, size = float(N) * N * resources.itemsize(dtype), f"N={N}"
    else:
        K = net.K
        network_bytes = resources.sparse_run_bytes(trials, N, K, dtype)
        size = f"N={N}, K={K}"
    resources.check_memory(
        f"simulate trials={trials}, t1={t1:g}, dt_save={dt_save:g} ({n_save} saved times), "
        f"{size}, dtype={dtype}",
        resources.trajectory_bytes(trials, n_save, N, dtype) + network_bytes,
        hint="reduce trials or t1, raise dt_save, or use a float32 network (half the bytes)")
    save_times = transient + dt_save * np.arange(n_save, dtype=np.float64)
    if h0 is None:
        h0 = initial_condition(N, trials, seed, h0_std, dtype)
        h0_kind = "gaussian"
    else:
        h0 = jnp.asarray(h0, dtype=dtype)
        if h0.shape == (N,):
            h0 = jnp.broadcast_to(h0, (trials, N))
        if h0.shape != (trials, N):
            raise ParameterError(f"h0 has shape {h0.shape}; ({N},) or (trials={trials}, {N}) needed")
        if not bool(jnp.all(jnp.isfinite(h0))):
            raise ParameterError("h0 contains NaN or inf; a finite initial state is required")
        h0_kind = "given"
    if devices is not None:
        net = sharding.shard_network(net, devices)
    h0 = sharding.place_state(h0, net)  # a no-op unless J is split over devices
    external, input_kind, input_scale = _make_input(inputs, input_times, N, dtype)
    noise_key = simulation_key(seed, 1)
    show_progress = bool(progress) and sys.stderr.isatty()

    started = time.perf_counter()
    core = net.without_metadata()
    if spec.scan:
        ys, num_steps, finite, max_abs, bound, scale = _integrate_euler_maruyama(
            core, h0, save_times, noise_key, noise, dt, steps_per_save, transient, external,
            show_progress, input_scale)
        stats = {"num_steps": num_steps, "num_accepted_steps": num_steps,
                 "num_rejected_steps": 0}
        result = diffrax.RESULTS.successful
    else:
        ys, result, stats, finite, max_abs, bound, scale = _integrate(
            core, h0, jnp.asarray(save_times, dtype), noise_key,
            jnp.asarray(noise, dtype), jnp.asarray(dt, dtype),
            jnp.asarray(rtol, dtype), jnp.asarray(atol, dtype),
            external, jnp.asarray(input_scale, dtype), spec, max_steps, show_progress,
        )
    finite, max_abs = sharding.to_host(finite), sharding.to_host(max_abs)
    bound, scale = float(bound), float(scale)
    wall_time = time.perf_counter() - started
    check_trajectory(save_times, finite, max_abs, bound, scale, result, net.phi,
                     max_steps=max_steps)

    num_steps = int(stats["num_steps"])
    attrs = {
        "kind": "simulation",
        "description": "SCS network trajectory dh = (-h + J phi(g h) + theta + input) dt + noise dW",
        "network": net.describe(),
        "t1": t1, "dt_save": dt_save, "transient": transient, "trials": trials,
        "noise": noise, "seed": seed, "solver": spec.name, "adaptive": spec.adaptive,
        "rtol": rtol if spec.adaptive else None, "atol": atol if spec.adaptive else None,
        "dt": None if spec.adaptive else dt, "h0": h0_kind, "h0_std": h0_std,
        "inputs": input_kind,
        "divergence_bound": bound,
        "num_steps": num_steps,
        "num_accepted_steps": int(stats["num_accepted_steps"]),
        "num_rejected_steps": int(stats["num_rejected_steps"]),
        "rhs_evaluations": spec.rhs_evaluations(num_steps),
        "wall_time_s": wall_time,
        "devices": sharding.device_count(net) if sharding.device_count(net) > 1 else None,
        "provenance": provenance(),
    }
    attrs = {k: v for k, v in attrs.items() if v is not None}
    return _to_dataset(sharding.to_host(ys), save_times, attrs)


def check_trajectory(times, finite, max_abs, bound, scale, result, phi, max_steps=None,
                     what="trajectory", where="") -> None:
    """Raise DivergenceError, naming the time, if a solve failed or its saved maxima diverge.

    **Arguments:** ``times`` of the saves (checks); per save whether it is finite (and, on the
    scan path, within the bound) and max |h|; the ``bound`` and ``scale`` of
    :func:`divergence_bound`; the diffrax ``result``; the nonlinearity ``phi`` (a
    Nonlinearity or a registered name: only its ``bounded`` capability and name are read);
    ``what`` starts the message and ``where`` ends it (e.g. which QR interval).
    """
    times = np.asarray(times)
    bad = np.flatnonzero(~finite)
    failed = result != diffrax.RESULTS.successful
    first = int(bad[0]) if bad.size else (len(times) - 1 if failed else len(times))
    # Sustained growth is looked for before the first bad save: it names an earlier time.
    start = None
    phi = nonlinearity.get(phi)
    if not phi.bounded:
        start = sustained_growth(times[:first], max_abs[:first], scale)
    if start is not None:
        earlier = start - 2 * _growth_half_window(times)
        rate = math.log(max_abs[start] / max_abs[earlier]) / float(times[start] - times[earlier])
        raise DivergenceError(
            f"{what} diverged by t={times[start]:.6g}: max |h| grows exponentially (rate "
            f"{rate:.3g} per tau, from {max_abs[earlier]:.3g} at t={times[earlier]:.6g} to "
            f"{max_abs[start]:.3g}), beyond {GROWTH_LARGE:g} x the scale {scale:.3g} of h(0), "
            f"theta, inputs and noise; phi={phi.name!r} is unbounded (gain too large?){where}")
    if first == len(times):
        return
    last_ok = (f"; at t={times[first - 1]:.6g} max |h| was {max_abs[first - 1]:.3g}"
               if first > 0 else "")
    if result == diffrax.RESULTS.dt_min_reached:
        raise DivergenceError(
            f"{what} diverged by t={times[first]:.6g}: the drift became non-finite or too large "
            f"to integrate (the adaptive step collapsed below {DT_MIN:g} tau){last_ok}; check "
            f"inputs for NaN/inf, J_mean and theta, or the gain{where}")
    if result == diffrax.RESULTS.max_steps_reached:
        raise DivergenceError(
            f"{what}: the solver used max_steps={max_steps} steps before t={times[first]:.6g}"
            f"{last_ok}; raise max_steps or loosen rtol/atol{where}")
    if failed and result != diffrax.RESULTS.event_occurred:
        raise DivergenceError(
            f"{what}: the solver stopped before t={times[first]:.6g}{last_ok}: {result}{where}")
    raise DivergenceError(
        f"{what} diverged by t={times[first]:.6g}: |h| exceeded the divergence bound {bound:.3g} "
        f"or became inf/NaN{last_ok} (unbounded phi or gain too large?){where}")


def _to_dataset(ys: np.ndarray, save_times: np.ndarray, attrs: dict) -> xr.Dataset:
    """(time, trial, neuron) array → Dataset with named dims and units."""
    h = np.ascontiguousarray(np.transpose(ys, (1, 0, 2)))
    trials, _, N = h.shape
    return xr.Dataset(
        {"h": (("trial", "time", "neuron"), h, {"long_name": "state h", "units": "1"})},
        coords={
            "trial": ("trial", np.arange(trials), {"long_name": "trial index"}),
            "time": ("time", save_times, {"units": "tau (membrane time constant)"}),
            "neuron": ("neuron", np.arange(N), {"long_name": "neuron index"}),
        },
        attrs=attrs,
    )
