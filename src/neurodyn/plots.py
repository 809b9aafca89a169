"""Figures of the jobs, drawn from their Datasets: a saved run is enough to redraw its figure.

Each job writes ``attrs["kind"]`` into its Dataset; :func:`plot` picks the figure by that kind
(:data:`FIGURE_KINDS`), so ``neurodyn plot runs/chaos.zarr`` redraws what ``neurodyn chaos``
drew, without recomputing anything. The figures use matplotlib's object API
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


def chaos_figure(ds: xr.Dataset) -> Figure:
    """The 4-panel figure of a chaos run (:func:`neurodyn.chaos`): simulation (dots, one per
    seed) against the DMFT (lines) over g for the variance Δ0, the largest Lyapunov exponent
    and the autocorrelation time, and the normalised Δ(τ)/Δ0 for each chaotic g.

    **Arguments:** ``ds`` with dims (g, seed, tau), the variables of the chaos contract and the
    attrs ``phi``, ``N``, ``max_lag``.

    **Returns:** the Figure (not saved).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7.5), constrained_layout=True)
    axes = fig.subplots(2, 2)
    g = ds.g.values
    sim_style = {"marker": "o", "ls": "none", "color": "k", "label": "simulation"}
    th_style = {"color": "C0", "label": "DMFT"}

    def scatter(ax, name):
        values = ds[name].values
        for b in range(values.shape[1]):
            style = dict(sim_style, label=sim_style["label"] if b == 0 else None)
            ax.plot(g, values[:, b], alpha=0.6, ms=4, **style)

    panels = (
        (axes[0, 0], "delta0", r"$\Delta_0 = \langle h^2\rangle$", "variance"),
        (axes[0, 1], "lambda", r"$\lambda_{max}$ (1/$\tau$)", "largest Lyapunov exponent"),
        (axes[1, 0], "tau_corr", r"$\tau_{corr}$ ($\tau$)",
         f"autocorrelation time (window {ds.attrs['max_lag']:g})"),
    )
    for ax, name, ylabel, title in panels:
        ax.plot(g, ds[f"{name}_theory"].values, **th_style)
        scatter(ax, f"{name}_sim")
        ax.set(xlabel="g", ylabel=ylabel, title=title)
        ax.legend()
    axes[0, 1].axhline(0.0, color="0.6", lw=0.8)
    ax = axes[1, 1]
    tau = ds.tau.values
    for a, gain in enumerate(g):
        # The job sets the theory's correlation time to NaN in the quiescent phase (Δ0 ≈ 0),
        # where Δ(τ)/Δ0 is undefined: those gains have no curve here.
        if math.isnan(float(ds.tau_corr_theory.values[a])):
            continue
        color = f"C{a % 10}"
        theory = ds.delta_theory.values[a]
        ax.plot(tau, theory / theory[0], color=color, label=f"g={gain:.2g}")
        sim = ds.delta_sim.values[a].mean(0)
        ax.plot(tau[::5], (sim / sim[0])[::5], "o", ms=3, color=color)
    ax.set(xlabel=r"$\tau$", ylabel=r"$\Delta(\tau)/\Delta_0$",
           title="autocorrelation: DMFT (lines), simulation (dots)")
    ax.legend(fontsize=8)
    fig.suptitle(f"SCS order-to-chaos transition, {ds.attrs['phi']}, N={ds.attrs['N']}")
    return fig


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


def _save(figure: Callable[[xr.Dataset], Figure]) -> Callable[[xr.Dataset, Path], None]:
    """A writer ``(ds, png_path)`` that draws ``figure(ds)`` and saves it as PNG."""

    def write(ds: xr.Dataset, path: Path) -> None:
        figure(ds).savefig(path, dpi=DPI, format="png")

    return write


def _write_learn_bench(ds: xr.Dataset, path: Path) -> None:
    # Imported on use: learn_bench imports the learning package, hence JAX, which the chaos and
    # deep figures do not need.
    from .learn_bench import draw

    draw(ds, path)


_WRITERS: dict[str, Callable[[xr.Dataset, Path], None]] = {
    "chaos": _save(chaos_figure),
    "deep": _save(deep_figure),
    "learn_bench": _write_learn_bench,
}

FIGURE_KINDS = tuple(_WRITERS)
"""The run kinds (``attrs["kind"]``) that have a figure."""


def check_kind(kind: object, source: str = "the Dataset") -> str:
    """``kind`` if runs of that kind have a figure, else :class:`ParameterError` (one line
    naming ``source``, the kind and the kinds that have figures)."""
    if kind not in _WRITERS:
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
    write = _WRITERS[check_kind(ds.attrs.get("kind", "unknown"), source)]
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.png")
    try:
        write(ds, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


__all__ = ["DPI", "FIGURE_KINDS", "chaos_figure", "check_kind", "deep_figure", "plot"]
