"""Regenerate the README's chaos numbers and docs/chaos.png from a stored chaos run.

    python scripts/readme_chaos.py runs/chaos_readme.zarr [--figure docs/chaos.png]
        [--readme README.md] [--check]

Reads the store written by ``neurodyn chaos ... --out STORE`` (a chaos job's sweep store),
summarises it (:func:`neurodyn.chaos_stats.summarize`: seed means, standard errors, z-scores,
the 1/N fit), draws the figure from it and replaces the text between the README markers
``<!-- chaos-numbers:start -->`` and ``<!-- chaos-numbers:end -->`` with the paragraph below,
every number taken from the run. ``--check`` prints the paragraph without writing anything.
Needs NumPy, xarray and matplotlib only (no JAX): nothing is recomputed.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import numpy as np

import neurodyn as nd
from neurodyn import plots
from neurodyn.chaos_stats import summarize

START, END = "<!-- chaos-numbers:start -->", "<!-- chaos-numbers:end -->"


def _pm(mean: float, sem: float) -> str:
    return f"{mean:.3g} ± {sem:.2g}" if math.isfinite(sem) else f"{mean:.3g}"


def _rel_l2(ds, size, gain) -> float:
    part = ds.sel(N=size) if "N" in ds.dims else ds
    window = ds.tau <= 10.0
    sim = part.delta_mean.sel(g=gain).where(window, drop=True).values
    theory = ds.delta_theory.sel(g=gain).where(window, drop=True).values
    return float(np.sqrt(np.sum((sim - theory) ** 2) / np.sum(theory**2)))


def paragraph(ds, command: str) -> str:
    """The README's numbers paragraph of a summarised chaos run."""
    several = "N" in ds.dims
    sizes = [int(n) for n in ds.N.values] if several else [int(ds.attrs["N"])]
    chaotic = [float(g) for g in ds.g.values if float(ds.delta0_theory.sel(g=g)) > 1e-8]
    seeds = int(ds.n_seeds.max())
    lines = [f"Measured by the stored run (`{command}`; {seeds} network seeds per (g, N), "
             "mean ± standard error over seeds, z = (mean − theory)/sem; "
             f"job wall time {ds.attrs.get('job_wall_time', 'see RESULTS.md')}):"]
    for gain in chaotic:
        parts = []
        for size in sizes:
            p = (ds.sel(N=size) if several else ds).sel(g=gain)
            short = bool(p.window_too_short)
            text = (f"N = {size}: λ_max {_pm(float(p.lambda_mean), float(p.lambda_sem))} "
                    f"(z = {float(p.lambda_z):+.1f}), Δ0 {_pm(float(p.delta0_mean), float(p.delta0_sem))}"
                    f" (z = {float(p.delta0_z):+.1f})")
            text += (", window too short for τ_corr" if short else
                     f", relative L2 of Δ(τ) over [0, 10] {100 * _rel_l2(ds, size, gain):.1f}%")
            parts.append(text)
        p = ds.sel(g=gain)
        theory = (f"g = {gain:g} (DMFT λ_max {float(p.lambda_theory):.3g}, "
                  f"Δ0 {float(p.delta0_theory):.3g}): ")
        extrapolated = ""
        if several:
            extrapolated = (f"; 1/N fit to N = ∞: λ_max {_pm(float(p.lambda_ninf), float(p.lambda_ninf_sem))}"
                            f" (z = {float(p.lambda_ninf_z):+.1f}), Δ0 "
                            f"{_pm(float(p.delta0_ninf), float(p.delta0_ninf_sem))} "
                            f"(z = {float(p.delta0_ninf_z):+.1f})")
        lines.append(f"- {theory}" + "; ".join(parts) + extrapolated + ".")
    if several and chaotic:
        gaps = []
        for gain in chaotic:
            gap = [abs(float(ds.lambda_mean.sel(g=gain, N=n) - ds.lambda_theory.sel(g=gain)))
                   for n in sizes]
            gaps.append(f"g = {gain:g}: " + " → ".join(f"{x:.3g}" for x in gap))
        lines.append(f"- |λ_max − DMFT| as N grows ({' → '.join(map(str, sizes))}): "
                     + "; ".join(gaps) + ".")
    if not several:
        lines.append("- One N only: the exponents' shortfall of many sems is the O(1/N) bias of "
                     "λ_max at finite N; a run with several `--N` extrapolates it (the "
                     "finite-size panel).")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--figure", type=Path, default=Path("docs/chaos.png"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--check", action="store_true", help="print only, write nothing")
    args = parser.parse_args(argv)
    raw = nd.open_run(args.store)
    ds = summarize(raw)
    sessions = raw.attrs.get("sessions", [])
    command = sessions[0]["command"] if sessions else f"neurodyn chaos --out {args.store}"
    command = re.sub(r"^\S*neurodyn(\S*)?", "neurodyn", command)
    seconds = sum(float(s) for s in np.ravel(raw.point_seconds.values) if np.isfinite(s))
    from datetime import datetime

    wall = sum((datetime.fromisoformat(s["finished"]) - datetime.fromisoformat(s["started"]))
               .total_seconds() for s in sessions)
    ds.attrs["job_wall_time"] = (f"{wall / 60:.1f} min over {len(sessions)} session(s), "
                                 f"{seconds / 60:.1f} min of point computation summed over "
                                 "workers; see benchmarks/RESULTS.md for the machine's load")
    text = paragraph(ds, command)
    print(text)
    if args.check:
        return 0
    plots.plot(ds, args.figure)
    readme = args.readme.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{args.readme} has no {START} … {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    args.readme.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(f"wrote {args.figure} and the numbers paragraph of {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
