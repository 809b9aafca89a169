"""The learning-rule cost comparison job (``neurodyn learn-bench``).

For each method, network size n and horizon T: the warm wall time of one gradient (compiled;
median of ``repeats`` calls), the peak working memory of the compiled gradient function from
XLA's memory analysis (``temp_size_in_bytes + output_size_in_bytes``: buffers the computation
allocates, excluding its inputs — the parameters and the task's sampled x, y, α, which every
method reads alike), and the gradient's relative error against a float64 reference (BPTT-scan
with the step divided by 4, i.e. rk4 error /256: a different discretisation of the same loss).

Task: random SCS network (g = 0.9, contracting), sine input, cosine target, samples every 0.1;
all four groups trained. Methods and the costs theory predicts (m = n² + 2n + … parameters;
per integration step; Marschall et al. JMLR 2020, Table 1; Kidger 2021 §5):

==============  ===============  ===================  ====================
method          time vs n        memory vs n          memory vs T
==============  ===============  ===================  ====================
bptt_scan       n² (exp. 2)      n T + n² (—)         T (exp. 1)
rtrl_discrete   n² m = n⁴ (4)    n m = n³ (3)         flat (0)
adjoint         n² (2)           n² (—)               flat (0)
rflo            n² (2)           n² (—)               flat (0)
==============  ===============  ===================  ====================

The fitted exponents are least-squares slopes of log cost vs log n (at the smallest T) or vs
log T (at one n) over the grid points; small n are dominated by per-step overhead, which pulls
the time exponents below theory, so the n grids start where the O(n²)/O(n⁴) work dominates.
The ``quick`` grid (≈1 min) is a smoke test of the pipeline: its n ranges are in the overhead
regime and its time exponents are not comparable with theory (measured 1.1 and 1.2 for BPTT-scan
and RTRL); only the default grid is.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import validation
from .errors import ParameterError
from .learning import adjoint, bptt, rtrl
from .learning._groups import compile_key
from .learning.params import TRAINABLE, Params
from .learning.tasks import TrajectoryTask
from .provenance import provenance
from .storage import save_run

DT = 0.1
"""Fixed rk4 step of the scan methods, and the sample spacing (τ units)."""
ADJOINT_TOL = 1e-8

GRIDS = {
    # method: {"n": sizes at T_min, "T": horizons at n_T, "n_T": n for the T sweep}
    "default": {
        "bptt_scan": {"n": (128, 256, 512, 1024), "T": (10, 20, 40, 80), "n_T": 64},
        "rtrl_discrete": {"n": (16, 24, 32, 48, 64), "T": (10, 20, 40), "n_T": 16},
        "adjoint": {"n": (128, 256, 512, 1024), "T": (5, 10, 20), "n_T": 64},
        "rflo": {"n": (128, 256, 512, 1024), "T": (10, 20, 40, 80), "n_T": 64},
    },
    "quick": {
        "bptt_scan": {"n": (64, 128, 256), "T": (5, 10), "n_T": 64},
        "rtrl_discrete": {"n": (12, 24), "T": (5,), "n_T": 12},
        "adjoint": {"n": (64,), "T": (5, 10), "n_T": 64},
    },
}

THEORY = {
    "bptt_scan": {"time_vs_n": 2.0, "memory_vs_T": 1.0},
    "rtrl_discrete": {"time_vs_n": 4.0, "memory_vs_n": 3.0, "memory_vs_T": 0.0},
    "adjoint": {"time_vs_n": 2.0, "memory_vs_T": 0.0},
    "rflo": {"time_vs_n": 2.0, "memory_vs_T": 0.0},
}
"""Exponents theory predicts for the fitted slopes (see the module docstring)."""


def _problem(n: int, T: float, seed: int):
    params = compile_key(Params.random(n, n_in=1, n_out=1, g=0.9, seed=seed))
    K = int(round(T / DT)) + 1
    times = np.linspace(0.0, T, K)
    h0 = np.asarray(jax.random.normal(jax.random.PRNGKey(seed + 1), (n,), jnp.float64))
    task = TrajectoryTask.create(times, np.sin(times), 0.3 * np.cos(times), h0=h0)
    return params, task


def _gradient_function(method: str):
    """A jit-able (params, task) -> (loss, grads) for ``method`` with the bench's settings."""
    if method == "bptt_scan":
        return lambda p, t: bptt._bptt_scan(p, t, TRAINABLE, 1, DT, "rk4")
    if method == "rtrl_discrete":
        return lambda p, t: rtrl._rtrl_discrete(p, t, TRAINABLE, 1, DT, "rk4")
    if method == "rflo":
        return lambda p, t: rtrl._rflo(p, t, TRAINABLE, 1, DT, "rk4")
    if method == "adjoint":
        return lambda p, t: adjoint._own(p, t, TRAINABLE, "tsit5", ADJOINT_TOL, ADJOINT_TOL,
                                         100_000)
    raise ParameterError(f"method={method!r}; allowed: {tuple(THEORY)}")


def _reference(params, task):
    return bptt._bptt_scan(params, task, TRAINABLE, 4, DT / 4, "rk4")[1]


def _relative_error(grads, reference) -> float:
    difference = math.sqrt(sum(float(jnp.sum((grads[k] - reference[k]) ** 2)) for k in reference))
    norm = math.sqrt(sum(float(jnp.sum(reference[k] ** 2)) for k in reference))
    return difference / norm


def measure(method: str, n: int, T: float, repeats: int = 3, seed: int = 0,
            evaluate: bool = True) -> dict:
    """Time (s, median warm), peak working bytes and gradient error of one grid cell
    (``evaluate=False``: compile and report peak_bytes only)."""
    params, task = _problem(n, T, seed)
    compiled = jax.jit(_gradient_function(method)).lower(params, task).compile()
    analysis = compiled.memory_analysis()
    peak = int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)
    if not evaluate:
        return {"peak_bytes": peak}
    result = jax.block_until_ready(compiled(params, task))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(compiled(params, task))
        times.append(time.perf_counter() - started)
    error = _relative_error(result[1], jax.jit(_reference)(params, task))
    return {"time_s": float(np.median(times)), "peak_bytes": peak, "grad_rel_err": error}


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y) & (y > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def fit_exponents(ds: xr.Dataset) -> dict:
    """{method: {fit: {"measured": slope, "theory": exponent}}} from a learn-bench Dataset."""
    grid = ds.attrs["grid"]
    out = {}
    for method, theory in THEORY.items():
        if method not in grid:
            continue
        spec = grid[method]
        T0, n_T = float(min(spec["T"])), int(spec["n_T"])
        fits = {}
        for fit, exponent in theory.items():
            variable = "time_s" if fit.startswith("time") else "peak_bytes"
            if fit.endswith("_n"):
                values = ds[variable].sel({"method": method, "T": T0}).sel(n=list(spec["n"]))
                slope = _slope(spec["n"], values.values)
            else:
                values = ds[variable].sel({"method": method, "n": n_T}).sel(
                    T=[float(t) for t in spec["T"]])
                slope = _slope(spec["T"], values.values)
            fits[fit] = {"measured": slope, "theory": exponent,
                         "within_0.5": bool(abs(slope - exponent) <= 0.5)}
        out[method] = fits
    return out


def learn_bench(grid: str = "default", repeats: int = 3, seed: int = 0, out=None,
                overwrite: bool = False, figure=None, verbose: bool = False) -> xr.Dataset:
    """Run the cost comparison; see the module docstring.

    **Arguments:** ``grid`` ∈ {default, quick}; ``repeats`` warm calls per cell (median);
    ``seed`` of the networks; ``out``: zarr path (atomic save); ``figure``: PNG path.

    **Returns:** Dataset over (method, n, T) with ``time_s`` (s per gradient), ``peak_bytes``
    and ``grad_rel_err`` (NaN where a cell is not on the grid); attrs ``grid``, ``exponents``
    (measured vs theory) and provenance.
    """
    grid = validation.choice("grid", grid, GRIDS)
    repeats = validation.positive_int("repeats", repeats)
    seed = validation.seed("seed", seed)
    spec = GRIDS[grid]
    methods = list(spec)
    ns = sorted({n for s in spec.values() for n in (*s["n"], s["n_T"])})
    Ts = sorted({float(T) for s in spec.values() for T in s["T"]})
    shape = (len(methods), len(ns), len(Ts))
    data = {name: np.full(shape, np.nan) for name in ("time_s", "peak_bytes", "grad_rel_err")}
    started = time.perf_counter()
    for i, method in enumerate(methods):
        cells = {(n, float(min(spec[method]["T"]))) for n in spec[method]["n"]}
        cells |= {(spec[method]["n_T"], float(T)) for T in spec[method]["T"]}
        for n, T in sorted(cells):
            result = measure(method, n, T, repeats, seed)
            for name, value in result.items():
                data[name][i, ns.index(n), Ts.index(T)] = value
            if verbose:
                print(f"{method:>14} n={n:5d} T={T:5.0f}: {result['time_s']:.3e} s, "
                      f"{result['peak_bytes']:.3e} B, err {result['grad_rel_err']:.1e}", flush=True)
    ds = xr.Dataset(
        {"time_s": (("method", "n", "T"), data["time_s"],
                    {"long_name": "warm wall time per gradient (median)", "units": "s"}),
         "peak_bytes": (("method", "n", "T"), data["peak_bytes"],
                        {"long_name": "XLA temp + output bytes of the compiled gradient",
                         "units": "bytes"}),
         "grad_rel_err": (("method", "n", "T"), data["grad_rel_err"],
                          {"long_name": "‖g − g_ref‖/‖g_ref‖, reference BPTT-scan rk4 dt/4",
                           "units": "1"})},
        coords={"method": ("method", methods, {"long_name": "learning rule"}),
                "n": ("n", np.asarray(ns), {"long_name": "neurons", "units": "1"}),
                "T": ("T", np.asarray(Ts), {"long_name": "task horizon", "units": "tau"})},
        attrs={"kind": "learn_bench", "grid_name": grid,
               "grid": {m: {"n": list(s["n"]), "T": [float(t) for t in s["T"]],
                            "n_T": int(s["n_T"])} for m, s in spec.items()},
               "repeats": repeats, "seed": seed, "g": 0.9, "dt": DT, "stepper": "rk4",
               "adjoint_tol": ADJOINT_TOL, "dtype": "float64",
               "trainable": list(TRAINABLE), "devices": [str(d) for d in jax.devices()],
               "wall_time_s": time.perf_counter() - started, "provenance": provenance()})
    ds.attrs["exponents"] = fit_exponents(ds)
    if out is not None:
        save_run(ds, out, overwrite=overwrite)
    if figure is not None:
        draw(ds, figure)
    return ds


def draw(ds: xr.Dataset, path) -> Path:
    """Log–log figure: time vs n, memory vs n, memory vs T, with theory slopes (dashed)."""
    from matplotlib.figure import Figure

    grid = ds.attrs["grid"]
    fig = Figure(figsize=(13, 4), constrained_layout=True)
    axes = fig.subplots(1, 3)
    panels = (("time_s", "n", "time per gradient (s)", "time_vs_n"),
              ("peak_bytes", "n", "peak working memory (bytes)", "memory_vs_n"),
              ("peak_bytes", "T", "peak working memory (bytes)", "memory_vs_T"))
    for ax, (variable, axis, label, fit) in zip(axes, panels, strict=True):
        for k, method in enumerate(ds.method.values):
            spec = grid[str(method)]
            if axis == "n":
                x = np.asarray(spec["n"], float)
                y = ds[variable].sel({"method": method, "T": min(spec["T"])}).sel(n=spec["n"]).values
            else:
                x = np.asarray(spec["T"], float)
                y = ds[variable].sel({"method": method, "n": spec["n_T"]}).sel(T=spec["T"]).values
            color = f"C{k}"
            exponents = ds.attrs["exponents"].get(str(method), {})
            measured = exponents.get(fit, {}).get("measured", _slope(x, y))
            ax.loglog(x, y, "o-", color=color, label=f"{method} (slope {measured:.2f})")
            theory = THEORY[str(method)].get(fit)
            if theory is not None and np.isfinite(y[-1]):
                ax.loglog(x, y[-1] * (x / x[-1]) ** theory, "--", color=color, alpha=0.6,
                          label=f"theory {theory:g}")
        ax.set_xlabel("n (neurons)" if axis == "n" else "T (τ)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    axes[0].set_title("time vs n (T smallest)")
    axes[1].set_title("memory vs n")
    axes[2].set_title("memory vs T (fixed n)")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def table(ds: xr.Dataset) -> str:
    """Fitted exponents vs theory as text."""
    lines = [f"{'method':>14} {'fit':>12} {'measured':>9} {'theory':>7}"]
    for method, fits in ds.attrs["exponents"].items():
        for fit, row in fits.items():
            lines.append(f"{method:>14} {fit:>12} {row['measured']:9.2f} {row['theory']:7.1f}")
    return "\n".join(lines)
