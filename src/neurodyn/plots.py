"""Figures of the jobs, drawn from their Datasets: a saved run is enough to redraw its figure.

Each job writes ``attrs["kind"]`` into its Dataset; :func:`plot` picks the figure by that kind
(:data:`FIGURE_KINDS`), so ``neurodyn plot runs/chaos.zarr`` redraws what ``neurodyn chaos``
drew, without recomputing anything: chaos (:func:`chaos_figure`), deep (:func:`deep_figure`),
learn-bench (:func:`learn_bench_figure`) and training (:func:`train_figure`) runs. No figure
needs JAX or the job's module: everything it shows is in the Dataset (the learn-bench figure
reads its fitted and theory exponents from the run's attrs). The figures use matplotlib's object API
(:class:`matplotlib.figure.Figure`, no pyplot), so no state leaks from one figure to the next
and nothing needs a display.

This module imports only the standard library at the top: the command line calls
:func:`check_kind` while it checks its arguments, before NumPy, xarray or JAX are imported.
Matplotlib and NumPy are imported when a figure is drawn.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ParameterError

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

DPI = 110
"""Resolution of every saved figure (dots per inch)."""


def _chaos_summary(ds: xr.Dataset) -> xr.Dataset:
    """The summarised chaos Dataset: a chaos job's store (kind sweep, job chaos) is summarised
    (:func:`neurodyn.chaos_stats.summarize`); a Dataset with per-seed ``*_sim`` only gets its
    seed means and standard errors."""
    from . import chaos_stats

    if ds.attrs.get("kind") == "sweep":
        return chaos_stats.summarize(ds)
    ds = ds.copy()
    for name in ("delta0", "lambda", "tau_corr", "delta"):
        if f"{name}_mean" not in ds:
            ds[f"{name}_mean"], ds[f"{name}_sem"] = chaos_stats.mean_sem(ds[f"{name}_sim"])
    return ds


def chaos_figure(ds: xr.Dataset) -> Figure:
    """The figure of a chaos run (:func:`neurodyn.chaos`): the simulation's seed mean with its
    standard error (error bars; one colour per N) against the DMFT (lines) over g for the
    variance Δ0, the largest Lyapunov exponent and the autocorrelation time, and the normalised
    Δ(τ)/Δ0 for each chaotic g (mean ± sem as a band, at the largest N). With several N a
    finite-size panel (λ_max against 1/N per g, the weighted 1/N fit and its N = ∞ intercept
    with its error beside the DMFT value, a star at 1/N = 0); with a Lyapunov spectrum a panel
    of λ_i against i/N. Gains whose window is too short for the correlation time are drawn
    hollow.

    **Arguments:** ``ds``: the job's Dataset, a saved chaos run, or a chaos job's store
    (dims g, seed, tau, optionally N and exponent; the variables of the chaos contract; attrs
    ``phi``, ``N``, ``max_lag``).

    **Returns:** the Figure (not saved): 2 × 2 panels (10 × 7.5 in), 2 × 3 (15 × 7.5 in) with
    the finite-size or spectrum panel.
    """
    import numpy as np
    from matplotlib.figure import Figure

    ds = _chaos_summary(ds)
    several = "N" in ds.dims
    spectrum = "spectrum_mean" in ds
    wide = several or spectrum
    fig = Figure(figsize=(15, 7.5) if wide else (10, 7.5), constrained_layout=True)
    axes = fig.subplots(2, 3 if wide else 2)
    g = ds.g.values
    sizes = list(ds.N.values) if several else [None]
    th_style = {"color": "C0", "label": "DMFT"}

    def at(name, size):
        values = ds[name]
        return values.sel(N=size) if size is not None else values

    short = ds["window_too_short"] if "window_too_short" in ds else None
    panels = (
        (axes[0, 0], "delta0", r"$\Delta_0 = \langle h^2\rangle$", "variance"),
        (axes[0, 1], "lambda", r"$\lambda_{max}$ (1/$\tau$)", "largest Lyapunov exponent"),
        (axes[1, 0], "tau_corr", r"$\tau_{corr}$ ($\tau$)",
         f"autocorrelation time (window {ds.attrs['max_lag']:g})"),
    )
    n_seeds = ds.sizes["seed"]
    for ax, name, ylabel, title in panels:
        ax.plot(g, ds[f"{name}_theory"].values, **th_style)
        for c, size in enumerate(sizes):
            mean, sem = at(f"{name}_mean", size).values, at(f"{name}_sem", size).values
            label = (f"simulation N={int(size)}" if size is not None else "simulation") + \
                f" (mean ± sem, {n_seeds} seeds)"
            color = "k" if not several else f"C{c + 1}"
            flagged = (at("window_too_short", size).values if short is not None
                       else np.zeros(g.size, bool))
            ax.errorbar(g, mean, yerr=np.nan_to_num(sem), fmt="o", ms=4, capsize=3,
                        color=color, label=label, mfc=color)
            if name != "lambda" and flagged.any():
                ax.plot(g[flagged], mean[flagged], "o", ms=9, mfc="none", color="r",
                        label="window too short" if c == 0 else None)
        ax.set(xlabel="g", ylabel=ylabel, title=title)
        ax.legend(fontsize=7)
    axes[0, 1].axhline(0.0, color="0.6", lw=0.8)
    ax = axes[1, 1]
    tau = ds.tau.values
    largest = sizes[-1]
    for a, gain in enumerate(g):
        # The job sets the theory's correlation time to NaN in the quiescent phase (Δ0 ≈ 0),
        # where Δ(τ)/Δ0 is undefined: those gains have no curve here.
        if math.isnan(float(ds.tau_corr_theory.values[a])):
            continue
        color = f"C{a % 10}"
        theory = ds.delta_theory.values[a]
        ax.plot(tau, theory / theory[0], color=color, label=f"g={gain:.2g}")
        mean = at("delta_mean", largest).values[a]
        sem = np.nan_to_num(at("delta_sem", largest).values[a])
        ax.fill_between(tau, (mean - sem) / mean[0], (mean + sem) / mean[0], color=color,
                        alpha=0.25, lw=0)
        ax.plot(tau[::5], (mean / mean[0])[::5], "o", ms=3, color=color)
    where = f", N={int(largest)}" if largest is not None else ""
    ax.set(xlabel=r"$\tau$", ylabel=r"$\Delta(\tau)/\Delta_0$",
           title=f"autocorrelation: DMFT (lines), simulation mean ± sem{where}")
    ax.legend(fontsize=8)
    if wide:
        _finite_size_panel(axes[0, 2], ds) if several else axes[0, 2].set_axis_off()
        _spectrum_panel(axes[1, 2], ds) if spectrum else axes[1, 2].set_axis_off()
    label = (f"N={', '.join(str(int(n)) for n in sizes)}" if several
             else f"N={ds.attrs['N']}")
    noise = float(ds.attrs.get("noise", 0.0) or 0.0)
    fig.suptitle(f"SCS order-to-chaos transition, {ds.attrs['phi']}, {label}"
                 + (f", noise σ={noise:g}" if noise else ""))
    return fig


def _finite_size_panel(ax, ds: xr.Dataset) -> None:
    """λ_max against 1/N per chaotic g: seed means ± sem, the weighted 1/N fit, its N = ∞
    intercept ± se (open square at 1/N = 0) and the DMFT value (star)."""
    import numpy as np

    inverse = 1.0 / ds.N.values.astype(float)
    line = np.linspace(0.0, inverse.max() * 1.05, 20)
    for a, gain in enumerate(ds.g.values):
        if float(ds.delta0_theory.values[a]) < 1e-8:
            continue
        p = ds.isel(g=a)
        color = f"C{a % 10}"
        ax.errorbar(inverse, p.lambda_mean.values, yerr=np.nan_to_num(p.lambda_sem.values),
                    fmt="o", ms=4, capsize=3, color=color, label=f"g={gain:.2g}")
        value, error = float(p.lambda_ninf), float(p.lambda_ninf_sem)
        if math.isfinite(value):
            ax.plot(line, value + float(p.lambda_ninf_slope) * line, color=color, lw=0.8,
                    ls="--")
            ax.errorbar([0.0], [value], yerr=[error if math.isfinite(error) else 0.0],
                        fmt="s", mfc="none", ms=6, capsize=3, color=color)
        ax.plot([0.0], [float(p.lambda_theory)], "*", ms=11, color=color, mec="k")
    ax.set(xlabel="1/N", ylabel=r"$\lambda_{max}$ (1/$\tau$)",
           title="finite size: 1/N fit (dashed), N=∞ (□) vs DMFT (★)")
    ax.legend(fontsize=7)


def _spectrum_panel(ax, ds: xr.Dataset) -> None:
    """The Lyapunov spectrum λ_i against i/N (seed mean ± sem; the largest N), per g."""
    import numpy as np

    several = "N" in ds.dims
    size = int(ds.N.values[-1]) if several else int(ds.attrs["N"])
    spectrum = ds.spectrum_mean.sel(N=size) if several else ds.spectrum_mean
    sem = ds.spectrum_sem.sel(N=size) if several else ds.spectrum_sem
    index = (ds.exponent.values + 1) / size
    for a, gain in enumerate(ds.g.values):
        color = f"C{a % 10}"
        ax.plot(index, spectrum.values[a], ".-", ms=3, color=color, label=f"g={gain:.2g}")
        ax.fill_between(index, spectrum.values[a] - np.nan_to_num(sem.values[a]),
                        spectrum.values[a] + np.nan_to_num(sem.values[a]), color=color,
                        alpha=0.25, lw=0)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set(xlabel="i/N", ylabel=r"$\lambda_i$ (1/$\tau$)",
           title=f"Lyapunov spectrum, N={size} (mean ± sem)")
    ax.legend(fontsize=7)


def deep_figure(ds: xr.Dataset) -> Figure:
    """The 4-panel figure of a deep mean-field run (:func:`neurodyn.deep.job`): (A) q^l and
    (B) c^l of simulated networks (dots, mean ± std over seeds) against the length and
    covariance maps (lines); (C) c* over (σ_w, σ_b) with q* contours and the critical line
    χ₁ = 1; (D) log10 χ₁ with the ordered and chaotic phases.

    **Arguments:** ``ds`` with the phase diagram over (sigma_w, sigma_b), ``q_sim`` /
    ``q_theory`` over (sim_sigma_w, [seed,] layer, input), ``c_sim`` / ``c_theory`` over
    (sim_sigma_w, [seed,] layer, pair) and the attrs ``phi``, ``width``, ``sim_sigma_b``.

    **Returns:** the Figure (not saved).
    """
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8.5), constrained_layout=True)
    axes = fig.subplots(2, 2)
    layer = ds.layer.values
    styles = ["-", "--", ":"]
    for panel, (name, dim, label) in enumerate([("q", "input", "q^0"), ("c", "pair", "c^0")]):
        ax = axes[0, panel]
        for i, sw in enumerate(ds.sim_sigma_w.values):
            color = f"C{i}"
            for k in range(ds[dim].size):
                ax.plot(layer, ds[f"{name}_theory"].values[i, :, k], styles[k % 3], color=color,
                        label=rf"$\sigma_w$={sw:g}" if k == 0 else None)
                sim = ds[f"{name}_sim"].values[i, :, :, k]
                ax.errorbar(layer, sim.mean(0), yerr=sim.std(0) if sim.shape[0] > 1 else None,
                            fmt="o", ms=3, color=color, alpha=0.7)
        ax.set(xlabel="layer l", ylabel=f"${name}^l$",
               title=f"({'AB'[panel]}) ${name}^l$: maps (lines), width {ds.attrs['width']} "
                     f"(dots), $\\sigma_b$={ds.attrs['sim_sigma_b']:g}; "
                     f"${label}$ = {', '.join(f'{v:g}' for v in ds[dim].values)}")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    sw, sb = ds.sigma_w.values, ds.sigma_b.values
    ax = axes[1, 0]
    mesh = ax.pcolormesh(sw, sb, ds.c_star.values.T, shading="auto", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="$c^*$")
    lines = ax.contour(sw, sb, ds.q_star.values.T, levels=[0.25, 1, 2, 4, 8, 12], colors="w",
                       linewidths=0.8)
    ax.clabel(lines, fontsize=7, fmt=lambda v: f"q*={v:g}")
    ax.contour(sw, sb, ds.chi1.values.T, levels=[1.0], colors="r", linewidths=1.5)
    ax.set(xlabel=r"$\sigma_w$", ylabel=r"$\sigma_b$",
           title="(C) $c^*$ (colour), $q^*$ (white contours), $\\chi_1=1$ (red)")
    ax = axes[1, 1]
    mesh = ax.pcolormesh(sw, sb, np.log10(ds.chi1.values.T), shading="auto", cmap="RdBu_r",
                         vmin=-1, vmax=1)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\chi_1$")
    ax.contour(sw, sb, ds.chi1.values.T, levels=[1.0], colors="k", linewidths=1.5)
    ax.text(0.15, 0.85, "ordered", transform=ax.transAxes)
    ax.text(0.7, 0.15, "chaotic", transform=ax.transAxes)
    ax.set(xlabel=r"$\sigma_w$", ylabel=r"$\sigma_b$",
           title=r"(D) $\chi_1$ with the critical line $\chi_1 = 1$")
    fig.suptitle(f"Deep mean-field theory vs random deep networks, phi = {ds.attrs['phi']}")
    return fig


def learn_bench_figure(ds: xr.Dataset) -> Figure:
    """The log–log figure of a learn-bench run (:func:`neurodyn.learn_bench.learn_bench`): time
    per gradient vs n for the trajectory methods and for the fixed-point methods, peak working
    memory vs n, and memory vs T at one n. Each legend entry gives the method's fitted slope and
    theory's; theory's slope is also drawn (dashed) through the method's last point.

    **Arguments:** ``ds`` over (rule, n, T) with ``time_s`` (s) and ``peak_bytes``, the
    coordinate ``task`` (``trajectory`` or ``fixed_point``; without it a method whose grid
    holds only T = 0 is a fixed-point one), the attrs ``grid`` ({method: {"n", "T", "n_T"}})
    and ``exponents`` (as :func:`neurodyn.learn_bench.fit_exponents` returns them; without
    them the slopes are fitted here and no theory is shown).

    **Returns:** the Figure (not saved).
    """
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from .learn_bench_names import upgrade

    ds = upgrade(ds)  # a run stored with the former ``method`` dimension
    grid, exponents = ds.attrs["grid"], ds.attrs.get("exponents", {})
    import matplotlib

    # 16+ rules: tab20's colours and a marker cycle keep every rule distinct (the default cycle
    # repeats after 10), and the legends go below the panels so they hide no data
    palette = matplotlib.colormaps["tab20"]
    markers = "osD^v<>ph*"
    fig = Figure(figsize=(17, 7.5), constrained_layout=True)
    axes = fig.subplots(1, 4)
    panels = (("time_s", "n", "time per gradient (s)", "time_vs_n", "trajectory tasks: time vs n"),
              ("time_s", "n", "time per gradient (s)", "time_vs_n", "fixed-point tasks: time vs n"),
              ("peak_bytes", "n", "peak working memory (bytes)", "memory_vs_n", "memory vs n"),
              ("peak_bytes", "T", "peak working memory (bytes)", "memory_vs_T",
               "memory vs T (fixed n)"))
    for index, (ax, (variable, axis, label, fit, title)) in enumerate(zip(axes, panels,
                                                                          strict=True)):
        ticks: set[float] = set()
        for k, method in enumerate(str(m) for m in ds.rule.values):
            spec = grid[method]
            static = (str(ds.task.sel(rule=method).values) == "fixed_point"
                      if "task" in ds.coords else max(spec["T"]) == 0)
            if (index == 0 and static) or (index == 1 and not static):
                continue
            if axis == "T" and len(spec["T"]) < 2:
                continue  # fixed-point tasks have no horizon to sweep
            if axis == "n":
                x = np.asarray(spec["n"], float)
                y = ds[variable].sel(rule=method, T=min(spec["T"])).sel(n=spec["n"]).values
            else:
                x = np.asarray(spec["T"], float)
                y = ds[variable].sel(rule=method, n=spec["n_T"]).sel(T=spec["T"]).values
            row = exponents.get(method, {}).get(fit, {})
            measured, theory = row.get("measured"), row.get("theory")
            if measured is None:
                keep = np.isfinite(y) & (y > 0)
                measured = (float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])
                            if keep.sum() >= 2 else float("nan"))
            color = palette(k % 20)
            text = f"{method}: {measured:.2f}" + ("" if theory is None else f" (theory {theory:g})")
            ax.loglog(x, y, "-", marker=markers[k % len(markers)], ms=4, color=color, label=text)
            ticks.update(x.tolist())
            if theory is not None and np.isfinite(y[-1]):
                ax.loglog(x, y[-1] * (x / x[-1]) ** theory, "--", color=color, alpha=0.5)
        ax.set_xlabel("n (neurons)" if axis == "n" else "T (τ)")
        ax.set_ylabel(label)
        ax.set_title(title)
        # label only ticks ≥ 1.6× apart (n = 128, 160, 192, 256 would overprint)
        labels, last = [], -np.inf
        for t in sorted(ticks):
            labels.append(f"{t:g}" if np.log(t) - last >= np.log(1.6) else "")
            last = np.log(t) if labels[-1] else last
        ax.set_xticks(sorted(ticks), labels)
        ax.xaxis.set_minor_formatter(NullFormatter())
        if ticks:  # a panel without methods (e.g. no T sweep on the grid) has no legend
            ax.legend(fontsize=7, title="fitted slope", title_fontsize=7, loc="upper center",
                      bbox_to_anchor=(0.5, -0.14), ncol=1, frameon=False)
    return fig


def _pareto(points):
    """The indices of the non-dominated points (minimise both coordinates), by first coordinate."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    front, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def learn_race_figure(ds: xr.Dataset) -> Figure:
    """The Pareto figure of a learn-race run (:func:`neurodyn.learn_race.learn_race`): per task
    (columns), training cost (top: warm wall time; bottom: peak working memory) against the
    final held-out NMSE, log–log. Small markers: every (n, seed) run of a rule (marker size
    grows with n); large outlined markers: the rule's medians over them; the black line joins
    the medians on the Pareto front (no other rule is both cheaper and better). The dashed line
    is the criterion; a run whose loss is not finite is drawn at the top edge.

    **Arguments:** ``ds`` over (rule, task, n, seed) with ``time_s``, ``peak_bytes``,
    ``final_loss`` and the attr ``criterion``. **Returns:** the Figure (not saved).
    """
    import numpy as np
    from matplotlib.figure import Figure

    tasks = [str(t) for t in ds.task.values]
    rules = [str(r) for r in ds.rule.values]
    fig = Figure(figsize=(5.5 * len(tasks), 8), constrained_layout=True)
    axes = np.atleast_2d(fig.subplots(2, len(tasks), squeeze=False))
    finite = ds.final_loss.values[np.isfinite(ds.final_loss.values)]
    top = float(finite.max()) * 2 if finite.size else 10.0
    sizes = {int(n): 12 + 24 * k for k, n in enumerate(ds.n.values)}
    for column, task in enumerate(tasks):
        for row, (variable, label) in enumerate((("time_s", "training wall time (s)"),
                                                 ("peak_bytes", "peak working memory (bytes)"))):
            ax = axes[row, column]
            medians = []
            for k, rule in enumerate(rules):
                cell = ds.sel(rule=rule, task=task)
                loss = np.where(np.isfinite(cell.final_loss.values), cell.final_loss.values, top)
                cost = cell[variable].values
                for a, n in enumerate(ds.n.values):
                    ax.scatter(loss[a], cost[a], s=sizes[int(n)], color=f"C{k}", alpha=0.5,
                               edgecolors="none")
                keep = np.isfinite(cost) & (cost > 0)
                if keep.any():
                    median = (float(np.median(loss[keep])), float(np.median(cost[keep])))
                    medians.append((median, rule))
                    ax.scatter(*median, s=110, color=f"C{k}", edgecolors="black",
                               label=f"{rule} ({ds.kind.sel(rule=rule).values})", zorder=3)
            front = _pareto([(cost, loss) for (loss, cost), _ in medians])
            if len(front) > 1:
                xs = [medians[i][0][0] for i in front]
                ys = [medians[i][0][1] for i in front]
                ax.plot(xs, ys, "-", color="black", lw=1, zorder=2)
            ax.axvline(ds.attrs["criterion"], ls="--", color="gray", lw=1)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set(xlabel="final held-out NMSE", ylabel=label,
                   title=f"{task}: {label.split(' (')[0]} vs final loss")
            if row == 0:
                ax.legend(fontsize=7)
    fig.suptitle(f"learn-race ({ds.attrs.get('grid_name', '')} grid): cost to criterion "
                 f"NMSE ≤ {ds.attrs['criterion']:g}, n = "
                 f"{', '.join(str(int(n)) for n in ds.n.values)}, {ds.sizes['seed']} seed(s) "
                 "(marker size: n)")
    return fig


def train_figure(ds: xr.Dataset) -> Figure:
    """The training curve of a :func:`neurodyn.learning.train` run: the loss before each
    update, and after the last one (attrs ``final_loss``, the open circle), and the gradient
    norm, both on log scales over the iteration.

    **Arguments:** ``ds`` over ``iteration`` with ``loss`` and ``grad_norm`` and the attrs
    ``method``, ``optimizer``, ``learning_rate``, ``n``, ``task``, ``final_loss``.

    **Returns:** the Figure (not saved).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), constrained_layout=True)
    loss_ax, norm_ax = fig.subplots(1, 2)
    iteration = ds.iteration.values
    loss_ax.semilogy(iteration, ds.loss.values, "-", color="C0", label="before update i")
    loss_ax.semilogy([len(iteration)], [ds.attrs["final_loss"]], "o", mfc="none", color="C0",
                     label="after the last update")
    loss_ax.set(xlabel="iteration", ylabel="loss", title="loss")
    loss_ax.legend(fontsize=8)
    norm_ax.semilogy(iteration, ds.grad_norm.values, "-", color="C1")
    norm_ax.set(xlabel="iteration", ylabel=r"$\|\nabla L\|$",
                title="gradient norm (trained groups)")
    fig.suptitle(f"training: {ds.attrs['task']}, n = {ds.attrs['n']}, {ds.attrs['method']} "
                 f"gradients, {ds.attrs['optimizer']} (learning rate {ds.attrs['learning_rate']:g})")
    return fig


_FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "chaos": chaos_figure,
    "deep": deep_figure,
    "learn_bench": learn_bench_figure,
    "learn_race": learn_race_figure,
    "learning.train": train_figure,
}

FIGURE_KINDS = tuple(_FIGURES)
"""The run kinds (``attrs["kind"]``) that have a figure."""


def figure_kind(attrs: dict) -> object:
    """The figure kind of a run from its root attrs: ``attrs["kind"]``, except that a chaos
    job's store (a sweep with ``job = "chaos"``) draws the chaos figure (summarised first)."""
    kind = attrs.get("kind", "unknown")
    return "chaos" if kind == "sweep" and attrs.get("job") == "chaos" else kind


def check_kind(kind: object, source: str = "the Dataset") -> str:
    """``kind`` if runs of that kind have a figure, else :class:`ParameterError` (one line
    naming ``source``, the kind and the kinds that have figures)."""
    if kind not in _FIGURES:
        raise ParameterError(f"{source} is a run of kind {kind!r}, which has no figure; figures "
                             f"exist for the kinds {', '.join(FIGURE_KINDS)}")
    return str(kind)


def plot(ds_or_path: xr.Dataset | str | os.PathLike, figure_path: str | os.PathLike) -> Path:
    """Draw the figure of a job's run and save it as a PNG; returns the PNG path.

    **Arguments:**
    - ``ds_or_path``: the Dataset a job returned, or the path of a saved run (opened with
      :func:`neurodyn.open_run`). Its ``attrs["kind"]`` picks the figure (:data:`FIGURE_KINDS`).
    - ``figure_path``: a ``.png`` path; an existing file there is replaced (the command line
      refuses that without ``--overwrite``).

    The PNG is written to a hidden file beside ``figure_path`` and renamed onto it, so a
    drawing that fails leaves no partial PNG and an earlier figure untouched.

    **Raises:** :class:`ParameterError` for a run kind without a figure (a simulation, a sweep)
    or a path that does not end in ``.png``; :class:`~neurodyn.errors.RunError` for a path that
    holds no readable run.
    """
    path = Path(figure_path)
    if path.suffix.lower() != ".png":
        raise ParameterError(f"figure_path={str(path)!r} must be a .png path")
    if isinstance(ds_or_path, (str, os.PathLike)):
        from .storage import open_run

        source = repr(str(ds_or_path))
        ds = open_run(ds_or_path)
    else:
        source, ds = "the Dataset", ds_or_path
    figure = _FIGURES[check_kind(figure_kind(ds.attrs), source)]
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.png")
    try:
        figure(ds).savefig(temporary, dpi=DPI, format="png")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


__all__ = ["DPI", "FIGURE_KINDS", "chaos_figure", "check_kind", "deep_figure", "figure_kind",
           "learn_bench_figure", "learn_race_figure", "plot", "train_figure"]
