"""Regenerate the README's learn-bench numbers from a stored ``neurodyn learn-bench`` run.

Usage (after ``neurodyn learn-bench --out runs/learn_bench.zarr --figure docs/learn_bench.png``)::

    python scripts/readme_learn_bench.py [runs/learn_bench.zarr]

Rewrites the two blocks of README.md between ``<!-- learn-bench:NAME:begin -->`` and
``<!-- learn-bench:NAME:end -->`` (the fitted-exponent table and the gradient-error sentence)
and writes docs/learn_bench.json: every number the blocks quote, with the run's provenance
(commit, date, machine), so a number in the README can be traced to the run it came from
(runs/ itself is not in git). Only the default grid is accepted: the quick grid's n ranges sit
in the overhead regime and its exponents are not comparable with theory.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LABELS = {
    "time_vs_n": "time vs n", "memory_vs_n": "memory vs n", "memory_vs_T": "memory vs T",
}
NAMES = {
    "implicit": "implicit (dense LU)",
    "recurrent_backprop": "recurrent_backprop (Almeida–Pineda)",
    "eqprop": "eqprop (symmetric ±β)",
}
APPROXIMATE = ("rflo", "eprop", "snap1", "uoro", "kf_rtrl")
EXACT_TRAJECTORY = ("bptt_scan", "rtrl_discrete")
"""Exact gradients of the discretised loss: their error is the reference's rk4 difference."""


def _span(values) -> str:
    values = [float(v) for v in values]
    return f"{min(values):g}–{max(values):g}" if len(values) > 1 else f"{values[0]:g}"


def exponent_table(ds) -> tuple[str, dict]:
    from neurodyn.learn_bench import fit_exponents

    fits = fit_exponents(ds)
    grid = ds.attrs["grid"]
    rows = ["| method | fit | measured | theory |", "|---|---|---|---|"]
    worst = 0.0
    for method, method_fits in fits.items():
        spec = grid[method]
        for fit, value in method_fits.items():
            axis = spec["n"] if fit.endswith("_n") else spec["T"]
            label = f"{LABELS[fit]} ({_span(axis)})"
            rows.append(f"| {NAMES.get(method, method)} | {label} | {value['measured']:.2f} | "
                        f"{value['theory']:g} |")
            if math.isfinite(value["measured"]):
                worst = max(worst, abs(value["measured"] - value["theory"]))
    within = "All within ±0.5 of theory." if worst <= 0.5 else (
        f"The largest deviation from theory is {worst:.2f} (more than 0.5).")
    return "\n".join(rows) + f"\n\n{within}", fits


def _max_error(ds, method) -> float:
    return float(np.nanmax(ds.grad_rel_err.sel(rule=method).values))


def error_sentence(ds) -> tuple[str, dict]:
    numbers = {method: _max_error(ds, method) for method in map(str, ds.rule.values)}
    exact = max(numbers[m] for m in EXACT_TRAJECTORY)
    implicit = max(numbers["implicit"], numbers["implicit_gmres"])
    spec = ds.attrs["grid"]["adjoint"]
    n_T = int(spec["n_T"])
    adjoint = {float(T): float(ds.grad_rel_err.sel(rule="adjoint", n=n_T, T=float(T)))
               for T in spec["T"]}
    adjoint_text = ", ".join(f"{err:.2g} at T = {T:g}" for T, err in adjoint.items())
    rflo = ds.grad_rel_err.sel(rule="rflo").values
    rflo = rflo[np.isfinite(rflo)]
    text = (
        f"The error column: exact methods vs their references ≤ {exact:.1g} (the rk4 "
        f"discretisation; the dense implicit gradients, LU and GMRES, vs an independent "
        f"`jnp.linalg.solve` of the IFT system: ≤ {implicit:.1g}; Almeida–Pineda "
        f"{numbers['recurrent_backprop']:.1g}; symmetric EqProp at β = "
        f"{ds.attrs['eqprop_beta']:g}: {numbers['eqprop']:.1g}, its O(β²) bias), the adjoint's "
        f"backward instability (n = {n_T}: {adjoint_text}) and RFLO's bias "
        f"({rflo.min():.1f}–{rflo.max():.1f}: an approximation).")
    cosines = {}
    if "alignment" in ds:
        for method in APPROXIMATE:
            if method in ds.rule.values:
                values = ds.alignment.sel(rule=method).values
                values = values[np.isfinite(values)]
                cosines[method] = [float(values.min()), float(values.max())]
        text += (" Alignment (cosine of the J, θ, B gradient with the reference's) of the "
                 "approximations: " + "; ".join(f"{m} {lo:.2f}–{hi:.2f}"
                                                for m, (lo, hi) in cosines.items())
                 + " (uoro and kf_rtrl: one random estimate each, unbiased over seeds).")
    return text, {"max_rel_err": numbers, "adjoint_at_n_T": adjoint,
                  "rflo_range": [float(rflo.min()), float(rflo.max())], "alignment": cosines}


def replace_block(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- learn-bench:{name}:begin -->", f"<!-- learn-bench:{name}:end -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {begin} … {end} block")
    return pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=str(ROOT / "runs" / "learn_bench.zarr"))
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--json", default=str(ROOT / "docs" / "learn_bench.json"))
    args = parser.parse_args(argv)

    import neurodyn as nd
    from neurodyn.learn_bench import upgrade

    ds = upgrade(nd.open_run(args.run).load())  # runs stored with the former ``method`` dim
    if ds.attrs.get("kind") != "learn_bench" or ds.attrs.get("grid_name") != "default":
        raise SystemExit(f"{args.run} is not a default-grid learn-bench run "
                         f"(kind={ds.attrs.get('kind')!r}, grid={ds.attrs.get('grid_name')!r})")
    table, fits = exponent_table(ds)
    sentence, errors = error_sentence(ds)
    minutes = ds.attrs["wall_time_s"] / 60
    table = (f"The default grid took {minutes:.1f} min (run of "
             f"{ds.attrs['provenance']['created'][:10]}). Fitted exponents (least squares in "
             f"log–log):\n\n{table}")
    readme = Path(args.readme)
    text = replace_block(readme.read_text(), "table", table)
    readme.write_text(replace_block(text, "errors", sentence))
    record = {"run": str(args.run), "provenance": ds.attrs["provenance"],
              "wall_time_s": ds.attrs["wall_time_s"], "exponents": fits, **errors}
    Path(args.json).write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    print(f"README.md blocks and {args.json} rewritten from {args.run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
