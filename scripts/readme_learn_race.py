"""Print the README's learn-race table from a stored ``neurodyn learn-race`` run.

Usage (after ``neurodyn learn-race --out runs/learn_race.zarr``)::

    python scripts/readme_learn_race.py [runs/learn_race.zarr] [--json docs/learn_race.json]

One row per (rule, task): the tuned learning rate (gradient rules, Adam) or RLS α (online
rules), and over the run's sizes n and seeds the median warm training wall time, the median peak
working memory of one compiled gradient / online run, the median trials, the median final
held-out NMSE and how many runs reached the criterion. With ``--json`` the same numbers and the
run's provenance are written there, so a number in the README can be traced to its run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def markdown(ds) -> tuple[str, list[dict]]:
    from neurodyn.learn_race import summary

    rows = summary(ds)
    lines = ["| rule | task | tuned | time (s) | memory (MB) | trials | final NMSE | reached | "
             "seeds |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        symbol = "α" if row["hyperparameter"] == "alpha" else "lr"
        lines.append(
            f"| {row['rule']} | {row['task']} | {symbol} = {row['tuned']:g} | "
            f"{row['time_s']:.3g} | {row['peak_bytes'] / 1e6:.3g} | {row['trials']:.0f} | "
            f"{row['final_loss']:.2g} | {row['reached']:.0%} | {row['seeds']} |")
    grid = ds.attrs["grid"]
    notes = (f"Criterion: held-out NMSE ≤ {ds.attrs['criterion']:g}; budget "
             f"{grid['budget_trials']} trials or {grid['budget_s']:g} s per run; medians over "
             f"n = {', '.join(str(n) for n in grid['n'])} and {len(grid['seeds'])} seeds; "
             f"{ds.attrs['grid_name']} grid, run of {ds.attrs['provenance']['created'][:10]} "
             f"({ds.attrs['wall_time_s'] / 60:.1f} min).")
    skipped = ds.attrs.get("skipped", {})
    if skipped:
        notes += " Not racing: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()) + "."
    return "\n".join(lines) + "\n\n" + notes, rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=str(ROOT / "runs" / "learn_race.zarr"))
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    import neurodyn as nd

    ds = nd.open_run(args.run).load()
    if ds.attrs.get("kind") != "learn_race":
        raise SystemExit(f"{args.run} is not a learn-race run (kind={ds.attrs.get('kind')!r})")
    text, rows = markdown(ds)
    print(text)
    if args.json:
        record = {"run": str(args.run), "provenance": ds.attrs["provenance"],
                  "criterion": ds.attrs["criterion"], "grid": ds.attrs["grid"], "rows": rows}
        Path(args.json).write_text(json.dumps(record, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
