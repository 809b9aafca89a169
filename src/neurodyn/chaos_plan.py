"""The chaos job's plan: its arguments checked and turned into a sweep over (g, [N,] seed).

Light (standard library and neurodyn's checking modules only, no NumPy or JAX): the command
line builds the plan while it checks its arguments, so a bad argument or a store made by
another command is refused in a fraction of a second, before anything is computed.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import model_parameters, nonlinearity_names, resources, validation
from .errors import ParameterError, RunError
from .sweep_config import SweepConfig, parse_config

LYAPUNOV_T1 = 100.0
"""Default length of the Lyapunov average (τ), or t1 if shorter: at the demo's N = 500 the
exponent's seed-to-seed scatter (measured ~0.01-0.03 1/τ at N = 100-200) exceeds its
finite-time error over 100 τ, and the tangent integration is the largest part of a point's
time (benchmarks/RESULTS.md, chaos job wall time)."""
THEORY_TAU_MAX = 40.0
"""Largest lag of the DMFT solve (τ), at least ``max_lag``: long enough for its τ_corr."""
SAMPLING: dict[str, Any] = {}
"""Keywords of :func:`neurodyn.dmft.sampling` for the theory of η ≠ 0 (empty: its defaults,
whose statistical error is ≤ 1 % of Δ0; the tests set a small grid here)."""


def _gains(g, g_min, g_max, g_num) -> list[float]:
    if g is None:
        g_min = model_parameters.g("g_min", g_min)
        g_max = model_parameters.g("g_max", g_max)
        g_num = validation.positive_int("g_num", g_num)
        if g_max < g_min:
            raise ParameterError(f"g_max={g_max!r} must be >= g_min={g_min!r}")
        if g_num == 1:
            return [float(g_min)]
        step = (g_max - g_min) / (g_num - 1)  # numpy.linspace's arithmetic, last point exact
        return [*(g_min + i * step for i in range(g_num - 1)), float(g_max)]
    gains = [float(model_parameters.g("g", value)) for value in g]
    if not gains:
        raise ParameterError("g=[] is empty; give at least one gain")
    return gains


def chaos_config(
    g: Sequence[float] | None = None,
    g_min: float = 0.5,
    g_max: float = 3.0,
    g_num: int = 6,
    seeds: Sequence[int] = (0, 1, 2, 3, 4, 5),
    N: int | Sequence[int] = 500,
    t1: float = 200.0,
    transient: float = 50.0,
    phi: Any = "tanh",
    dt_save: float = 0.1,
    max_lag: float = 15.0,
    lyapunov_t1: float | None = None,
    noise: float = 0.0,
    spectrum: int | None = None,
    out: str | os.PathLike | None = None,
    symmetry: float = 0.0,
    dtype: str = "float64",
) -> tuple[SweepConfig, dict[str, Any]]:
    """Check the job's arguments and return its sweep (a :class:`SweepConfig` over
    (g, [N,] seed)) and its settings (the ``attrs["chaos"]`` of the store); see :func:`chaos`.
    With noise, the exponent is the conditional one (``nd.lyapunov(..., noise=σ)``).
    An unbounded φ (relu) is taken: its stationary DMFT reports a divergent network as such;
    ``symmetry`` η ≠ 0 draws the theory from the sampling DMFT; ``dtype`` ("float64" or
    "float32") is the networks' (simulation and tangent dynamics)."""
    gains = _gains(g, g_min, g_max, g_num)
    name = model_parameters.theory_phi("phi", phi if isinstance(phi, str) else phi.name,
                                       unbounded=True)
    symmetry = model_parameters.symmetry("symmetry", symmetry)
    dtype = validation.choice("dtype", dtype, resources.FLOAT_DTYPES)
    if name not in nonlinearity_names.NAMES:
        raise ParameterError(f"phi={name!r} is not a registered nonlinearity; the chaos job's "
                             "points are built by name on the workers")
    seed_list = [validation.seed("seeds", s) for s in seeds]
    if not seed_list:
        raise ParameterError("seeds=[] is empty; give at least one seed")
    sizes = [N] if isinstance(N, numbers.Integral) else list(N)
    sizes = [validation.positive_int("N", n) for n in sizes]
    if not sizes:
        raise ParameterError("N=[] is empty; give at least one network size")
    t1 = validation.positive("t1", t1)
    transient = validation.non_negative("transient", transient)
    dt_save = validation.positive("dt_save", dt_save)
    max_lag = validation.positive("max_lag", max_lag)
    if max_lag > t1 / 2:
        raise ParameterError(f"max_lag={max_lag!r} must be <= t1/2 = {t1 / 2!r}")
    lyapunov_t1 = (min(t1, LYAPUNOV_T1) if lyapunov_t1 is None
                   else validation.positive("lyapunov_t1", lyapunov_t1))
    noise = model_parameters.noise("noise", noise)
    k = 1 if spectrum is None else validation.positive_int("spectrum", spectrum)
    if k > min(sizes):
        raise ParameterError(f"spectrum={k} exceeds N={min(sizes)}; an N-neuron network has at "
                             "most N exponents")
    grid: dict[str, list] = {"g": gains}
    if len(sizes) > 1:
        grid["N"] = sizes
    grid["seed"] = seed_list
    simulate = {"t1": t1, "transient": transient, "dt_save": dt_save}
    if noise > 0:
        simulate["noise"] = noise
    network: dict[str, Any] = {"phi": name}
    if symmetry != 0:  # absent at η = 0: a store of the η = 0 job keeps its fingerprint
        network["symmetry"] = symmetry
    if dtype != "float64":  # absent at float64: a store of the float64 job keeps its fingerprint
        network["dtype"] = dtype
    if len(sizes) == 1:
        network["N"] = sizes[0]
    document = {
        "out": str(out) if out is not None else "chaos.zarr",
        "grid": grid,
        "compute": {"quantities": ["autocorrelation", "lyapunov"]},
        "network": network, "simulate": simulate,
        "lyapunov": {"t1": lyapunov_t1, "transient": transient, "k": k,
                     **({"noise": noise} if noise > 0 else {})},
        "autocorrelation": {"max_lag": max_lag},
        # not a per-point quantity: the theory per g, written at creation; here for the
        # fingerprint (a store made with other theory settings is another run)
        "dmft": {"tau_max": max(max_lag, THEORY_TAU_MAX), "dtau": dt_save / 5},
    }

    try:
        config = parse_config(document, where="chaos")
    except ParameterError as error:  # name the job's arguments, not the sweep's TOML keys
        text = str(error).replace("chaos: ", "").replace("[grid] ", "")
        raise ParameterError(text) from None
    settings = {
        "phi": name, "N": sizes[0] if len(sizes) == 1 else sizes, "N_values": sizes, "t1": t1,
        "transient": transient, "dt_save": dt_save, "max_lag": max_lag,
        "lyapunov_t1": lyapunov_t1, "noise": noise, "spectrum": k, "symmetry": symmetry,
        "dtype": dtype,
        "theory": "dmft.sampling" if symmetry != 0 else "dmft.stationary",
        "g_values": gains, "seeds": seed_list,
        "tau_corr_definition": "integral of Delta(tau)/Delta0 over [0, max_lag]",
    }
    return config, settings


def store_matches(store: str | os.PathLike, config: SweepConfig) -> bool:
    """True if ``store`` exists and was made by this same chaos job (re-running the command
    resumes it); False if nothing is there. Raises :class:`RunError` if it holds something
    else: a store of another command (naming what differs) or not a chaos store at all."""
    store = Path(store)
    if not os.path.lexists(store):
        return False
    try:
        attrs = json.loads((store / "zarr.json").read_text()).get("attributes", {})
    except (OSError, ValueError):
        raise RunError(f"out={str(store)!r} exists and is not a readable zarr store; choose "
                       "another path") from None
    if attrs.get("kind") != "sweep" or attrs.get("job") != "chaos":
        raise RunError(f"out={str(store)!r} holds a {attrs.get('kind', 'unknown')!r} run, not "
                       "the store of a chaos job; pass --overwrite to replace it or choose "
                       "another path")
    stored = attrs.get("sweep", {})
    if stored.get("fingerprint") != config.fingerprint():
        old, new = stored.get("config", {}), config.as_dict()
        differ = sorted(f"{table}.{key}" for table in set(old) | set(new)
                        for key in set(old.get(table, {}) if isinstance(old.get(table), dict)
                                       else {}) | set(new.get(table, {})
                                                      if isinstance(new.get(table), dict) else {})
                        if (old.get(table) or {}).get(key) != (new.get(table) or {}).get(key))
        raise RunError(f"out={str(store)!r} holds a chaos run made by another command (differs "
                       f"in {', '.join(differ) or 'its settings'}); re-run that command to "
                       "resume it, or pass --overwrite to replace it")
    return True
