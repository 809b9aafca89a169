"""The README's figure and paragraph for partially symmetric couplings (η ≠ 0), from the stored
run benchmarks/sampling_vs_simulation.json (written by scripts/sampling_vs_simulation.py).

    python scripts/eta_figure.py [benchmarks/sampling_vs_simulation.json]

Draws docs/eta.png: for each (η, g) of the run, the simulated Δ(τ) (mean over network seeds,
error bars one standard error over seeds) and the sampling DMFT's Δ(τ) (band: one standard
error over its replicas). Rewrites the README block between ``<!-- eta:begin -->`` and
``<!-- eta:end -->`` with the z-scores at the stored lags and the correlation times, every
number read from the JSON.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def figure(points, path):
    fig, axes = plt.subplots(1, len(points), figsize=(3.4 * len(points), 3.0), squeeze=False)
    for ax, p in zip(axes[0], points, strict=True):
        lags = np.asarray(p["curve_lags"])
        theory, theory_se = np.asarray(p["theory_curve"]), np.asarray(p["theory_curve_se"])
        ax.fill_between(lags, theory - theory_se, theory + theory_se, color="C1", alpha=0.35,
                        lw=0)
        ax.plot(lags, theory, color="C1", label="sampling DMFT")
        ax.errorbar(lags, p["simulation_curve"], yerr=p["simulation_curve_se"], fmt="o", ms=2.5,
                    color="C0", elinewidth=0.8, label=f"simulation, N={p['N']}, {p['seeds']} seeds")
        ax.set_title(f"η = {p['eta']:g}, g = {p['g']:g}  (g(1+η) = {p['g_times_1_plus_eta']:g})",
                     fontsize=9)
        ax.set_xlabel("τ (membrane times)")
        ax.axhline(0.0, color="0.7", lw=0.5)
    axes[0][0].set_ylabel("Δ(τ) = ⟨δh(t) δh(t+τ)⟩")
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def convergence_line(data) -> str:
    """The dt-convergence record of the stored run, as one sentence (empty if absent)."""
    record = data.get("dt_convergence_eta_-0.5_g_3") if isinstance(data, dict) else None
    if not record:
        return ""
    values = ", ".join(f"{d0:.4f} ± {se:.4f} (dt {dt:g}, t1 {t1:g})" for d0, se, dt, t1 in zip(
        record["delta0"], record["delta0_sem"], record["dt"], record["t1"], strict=True))
    sim = record["simulation_delta0_by_N"]
    sims = ", ".join(f"{v[0]:.4f} ± {v[1]:.4f} (N = {n}, {v[2]} seeds)" for n, v in sim.items())
    return (f"η = −0.5, g = 3, theory Δ0 with 16384 paths: {values}; simulated: {sims}.")


def finite_n_line() -> str:
    """The simulated N series of benchmarks/eta_finite_n.json, as one sentence (empty if absent)."""
    path = ROOT / "benchmarks" / "eta_finite_n.json"
    if not path.exists():
        return ""
    d = json.loads(path.read_text())
    rows = "; ".join(
        f"N = {r['N']} × {r['seeds']} seeds: {r['all'][0][0]:.4f} ± {r['all'][0][1]:.4f}"
        + (f" ({len(r['ordered_seeds'])} on a fixed point or periodic orbit)"
           if r["ordered_seeds"] else "") for r in d["by_N"])
    inf = d.get("n_infinity_all")
    tail = (f"; fitted Δ0 = a + b/N gives {inf[0][0]:.4f} ± {inf[0][1]:.4f} at N = ∞" if inf
            else "")
    return (f"Simulated Δ0 at η = {d['eta']:g}, g = {d['g']:g} by N "
            f"(`benchmarks/eta_finite_n.json`, scripts/eta_finite_n.py, trial-averaged per "
            f"network, standard errors over networks): {rows}{tail}.")


def guess_line(data) -> str:
    """The initial-guess dependence of the sampling solver, as one sentence (empty if absent)."""
    record = data.get("initial_guess_dependence") if isinstance(data, dict) else None
    if not record:
        return ""
    parts = [f"{r['case']} from guess_tau = {r['guess_tau']:g}: Δ0 {r['delta0']:.4f} ± "
             f"{r['se']:.4f}" for r in record["runs"]]
    line = ("Before the bracket (40 iterations from one guess), the solver's answer depended on "
            "its initial guess where correlations are slow: " + "; ".join(parts) + ".")
    longer = record.get("runs_120_iterations")
    if longer:
        line += (" With 120 iterations instead of 40 (η = −0.5, g = 3) both guesses give "
                 + " and ".join(f"Δ0 {r['delta0']:.4f} ± {r['se']:.4f}, Δ(4) {r['d4']:.4f} ± "
                                f"{r['d4se']:.4f}" for r in longer) + ".")
    return line


def solver(point) -> str:
    """Which sampling solver a stored point's theory came from: the bracketed one (it records
    the gap) or the single-guess one before it."""
    window = f", t1 {point['theory_t1']:g}" if "theory_t1" in point else ""
    if "theory_gap" in point:
        return f"bracket, {point['theory_iterations']} iterations{window}"
    return f"one guess, {point['theory_iterations']} iterations{window} (before the bracket)"


def paragraph(points, source):
    lines = [f"From `{source}` (written by scripts/sampling_vs_simulation.py; this block by "
             "scripts/eta_figure.py). z = (simulation − theory)/√(se_sim² + se_theory²), "
             "standard errors over network seeds and over the solver's replicas:", "",
             "| η | g | g(1+η) | N × seeds | z at τ = " + ", ".join(
                 f"{lag:g}" for lag in points[0]["lags"]) + " | τ_corr simulation | "
             "τ_corr theory | theory solver |", "|---|---|---|---|---|---|---|---|"]
    for p in points:
        z = ", ".join(f"{value:+.1f}" for value in p["z"])
        lines.append(
            f"| {p['eta']:g} | {p['g']:g} | {p['g_times_1_plus_eta']:g} | {p['N']} × "
            f"{p['seeds']} | {z} | {p['tau_corr_simulation']:.2f} ± "
            f"{p['tau_corr_simulation_se']:.2f} | {p['tau_corr_theory']:.2f} ± "
            f"{p['tau_corr_theory_se']:.2f} | {solver(p)} |")
    worst = max(abs(value) for p in points for value in p["z"])
    lines += ["", f"Largest |z|: {worst:.1f}."]
    check = ROOT / "benchmarks" / "sampling_dmft_check.json"
    if check.exists():
        records = json.loads(check.read_text())
        parts = []
        for r in records:
            what = (f"relu (J_mean {r['J_mean']:g}, θ_mean {r['theta_mean']:g}) g = {r['g']:g}"
                    if r.get("phi") == "relu" else f"tanh g = {r['g']:g}")
            parts.append(f"{what}: Δ0 {r['delta0']:.4g} ± {r['delta0_sem']:.2g} "
                         f"({100 * r['sem_over_delta0']:.2g} % of Δ0, {r['paths']} paths) vs "
                         f"{r['delta0_stationary']:.4g}, z = {r['z_delta0']:+.1f}")
        lines += ["", "The sampling solver at its defaults against the analytic stationary "
                  f"solver (`{check.relative_to(ROOT)}`, scripts/sampling_dmft_check.py): "
                  + "; ".join(parts) + "."]
    relu = ROOT / "benchmarks" / "relu_check.json"
    if relu.exists():
        parts = []
        for r in json.loads(relu.read_text()):
            parts.append(f"g = {r['g']:g} ({r['phase']}): z(Δ0) = {r['z']['delta0']:+.1f}, "
                         f"z(rate) = {r['z']['rate']:+.1f}")
        first = json.loads(relu.read_text())[0]
        lines += ["", f"relu with a bias (J_mean {first['J_mean']:g}, θ_mean "
                  f"{first['theta_mean']:g}), simulated networks (N = {first['N']}, "
                  f"{first['seeds']} seeds) against the stationary relu DMFT "
                  f"(`{relu.relative_to(ROOT)}`, scripts/relu_check.py): " + "; ".join(parts)
                  + "."]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    source = Path(argv[0]) if argv else ROOT / "benchmarks" / "sampling_vs_simulation.json"
    data = json.loads(source.read_text())
    points = data["points"] if isinstance(data, dict) else data
    points = [p for p in points if "curve_lags" in p]
    if not points:
        raise SystemExit(f"{source} holds no curves; rerun scripts/sampling_vs_simulation.py")
    points.sort(key=lambda p: (p["eta"], p["g"]))
    figure(points, ROOT / "docs" / "eta.png")
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = paragraph(points, source.relative_to(ROOT) if source.is_absolute() else source)
    for line in (convergence_line(data), finite_n_line(), guess_line(data)):
        block += f"\n\n{line}" if line else ""
    new, count = re.subn(r"(<!-- eta:begin -->\n).*?(<!-- eta:end -->)",
                         lambda m: m.group(1) + block + "\n" + m.group(2), text, flags=re.S)
    if count != 1:
        raise SystemExit("README.md has no <!-- eta:begin --> … <!-- eta:end --> block")
    readme.write_text(new)
    print(block)


if __name__ == "__main__":
    main()
