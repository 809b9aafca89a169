"""The numbers behind the README's Lyapunov-spectrum paragraph, stored in
docs/spectrum_comparison.json.

Compares neurodyn's full Lyapunov spectra of SCS tanh networks with

1. the DMFT largest exponent (``nd.dmft.stationary(g).lambda_max``) at each gain;
2. the spectra of Engelken, Wolf & Abbott, "Lyapunov spectra of chaotic recurrent neural
   networks", PRR 5, 043044 (2023), computed by the authors' public demo
   (github.com/RainerEngelken/RNN-LyapunovSpectra, ``demo_lypunov_spectra_chaotic_ratenetwork.py``,
   commit fb81838) *on the same networks*.

Units. Their model is dx/dt = −x + W tanh(x) with W = g X/√N, X iid N(0, 1), the diagonal of W
set to 0 (no autapses), τ = 1, integrated by forward Euler with step dt, QR every tONS = 1 τ.
Ours is dh/dt = −h + J tanh(g h) with J = X/√N. With x = g h the two are the same flow (W = g J),
and a linear change of coordinates leaves Lyapunov exponents unchanged, so the exponents (1/τ),
D_KY and h_KS compare directly at equal g. Their couplings for network seed s are
``numpy.random.seed(s); g * numpy.random.randn(N, N) / sqrt(N)`` with the diagonal zeroed; this
script draws the same X (that is the convention of their seed, not their code) and runs neurodyn
on J = X/√N with the diagonal zeroed, so each pair of spectra belongs to one network. The
trajectories differ (their random initial state, their Euler steps): the spectra agree to the
window's statistical error, not digit by digit. Euler at step dt biases the exponents by O(dt);
the reference is run at dt = 0.1 and 0.05, and the stored summary extrapolates to dt → 0
(2·value(0.05) − value(0.1), per network).

The reference spectra are stored in docs/spectrum_reference_engelken.json. To regenerate them,
pass ``--reference-demo PATH`` with a local copy of the authors' demo file (it is run, headless,
unmodified; its code is not part of neurodyn).

Usage::

    PYTHONPATH=src python scripts/spectrum_comparison.py [--reference-demo PATH] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "spectrum_comparison.json"
REFERENCE = ROOT / "docs" / "spectrum_reference_engelken.json"

N = 80                      # full spectra (k = N) cost ~3 s per network on 2 busy cores
GAINS = (2.0, 4.0, 8.0)
SEEDS = tuple(range(1, 17))  # their seeds (numpy.random.seed) start at 1 in their example
T_SIM = 300.0               # τ counted; their transients: 100 τ (state) + T_SIM/10 (basis)
TRANSIENT = 130.0           # ours: the same 130 τ in total before counting
REFERENCE_DT = (0.05, 0.1)


def their_couplings(N: int, seed: int) -> np.ndarray:
    """X/√N of their network seed, diagonal zeroed (their W = g × this)."""
    # numpy.random.seed(s) seeds the legacy global RandomState; its own instance gives the
    # same stream without touching global state
    X = np.random.RandomState(seed).standard_normal((N, N))
    J = X / math.sqrt(N)
    np.fill_diagonal(J, 0.0)
    return J


def summaries(spectrum: np.ndarray) -> dict[str, float]:
    import neurodyn as nd

    n = spectrum.size
    return {"lambda_1": float(spectrum[0]),
            "D_KY_per_N": nd.lyapunov_dimension(spectrum, per_neuron=True, N=n),
            "h_KS_per_N": nd.entropy_rate(spectrum, per_neuron=True, N=n),
            "mean_exponent": float(np.mean(spectrum))}


def mean_sem(values) -> dict[str, float]:
    values = np.asarray(values, dtype=float)
    sem = float(np.std(values, ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan
    return {"mean": float(np.mean(values)), "sem": sem, "n": int(values.size)}


def run_reference(demo: Path, gains, seeds) -> dict:
    """Run the authors' demo function (unmodified, plots to a null backend) at every point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace = {"__name__": "engelken_demo", "time": time}
    exec(compile(demo.read_text(), str(demo), "exec"), namespace)
    namespace["show"] = lambda *args, **kwargs: None  # the demo ends by showing its figure
    function = namespace["rate_Lyapunov_spectra"]
    runs = []
    for dt in REFERENCE_DT:
        for g in gains:
            for seed in seeds:
                start = time.perf_counter()
                # (N, g, dt, tSim, nLE, tONS, seedIC, seedNet, seedONS, dns): dns=True because
                # the demo returns its brute-force estimate unconditionally.
                spectrum = function(N, g, dt, T_SIM, N, 1.0, seed, seed, seed, True)[0]
                plt.close("all")
                runs.append({"g": g, "seed": seed, "dt": dt,
                             "seconds": time.perf_counter() - start,
                             "spectrum": [float(v) for v in spectrum]})
                print(f"reference g={g} seed={seed} dt={dt}: lambda_1={spectrum[0]:.4f}",
                      flush=True)
    return {"source": "github.com/RainerEngelken/RNN-LyapunovSpectra "
                      "demo_lypunov_spectra_chaotic_ratenetwork.py @ fb81838, run unmodified",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "N": N, "tSim": T_SIM, "tONS": 1.0, "runs": runs}


def run_neurodyn(gains, seeds) -> list[dict]:
    import neurodyn as nd

    runs = []
    for g in gains:
        for seed in seeds:
            net = nd.Network.from_arrays(their_couplings(N, seed), g=g)
            start = time.perf_counter()
            lam = nd.lyapunov(net, t1=T_SIM, k=N, transient=TRANSIENT, seed=seed)
            runs.append({"g": g, "seed": seed, "seconds": time.perf_counter() - start,
                         "spectrum": [float(v) for v in lam.values],
                         "jacobian_trace_mean": lam.attrs["jacobian_trace_mean"]})
            print(f"neurodyn g={g} seed={seed}: lambda_1={lam.values[0]:.4f} "
                  f"({runs[-1]['seconds']:.1f} s)", flush=True)
    return runs


def compare(ours: list[dict], reference: dict, gains, dmft: dict) -> dict:
    by_key = {(r["g"], r["seed"], r["dt"]): np.asarray(r["spectrum"]) for r in reference["runs"]}
    table = {}
    for g in gains:
        mine = [r for r in ours if r["g"] == g]
        rows = {"neurodyn": {}, "reference_dt0.05": {}, "reference_dt0.1": {},
                "reference_dt_to_0": {}, "difference_neurodyn_minus_reference_dt_to_0": {}}
        per_seed = []
        for run in mine:
            s = run["seed"]
            values = {"neurodyn": summaries(np.asarray(run["spectrum"]))}
            for dt in REFERENCE_DT:
                values[f"reference_dt{dt}"] = summaries(by_key[(g, s, dt)])
            values["reference_dt_to_0"] = {
                name: 2 * values["reference_dt0.05"][name] - values["reference_dt0.1"][name]
                for name in values["neurodyn"]}
            values["difference_neurodyn_minus_reference_dt_to_0"] = {
                name: values["neurodyn"][name] - values["reference_dt_to_0"][name]
                for name in values["neurodyn"]}
            per_seed.append({"seed": s, **values})
        for column in rows:
            for name in ("lambda_1", "D_KY_per_N", "h_KS_per_N", "mean_exponent"):
                rows[column][name] = mean_sem([p[column][name] for p in per_seed])
        # the spectrum's shape: mean λ_i vs i/N, ours and theirs (dt → 0), and the largest
        # |difference| in units of its standard error over networks
        spectra = np.array([r["spectrum"] for r in mine])
        theirs = np.array([2 * by_key[(g, r["seed"], 0.05)] - by_key[(g, r["seed"], 0.1)]
                           for r in mine])
        difference = spectra - theirs
        sem = difference.std(axis=0, ddof=1) / math.sqrt(len(mine))
        z = difference.mean(axis=0) / sem
        table[str(g)] = {
            "summaries": rows, "per_seed": per_seed,
            "dmft_lambda_max": dmft[g],
            "fraction": ((np.arange(N) + 0.5) / N).tolist(),
            "mean_spectrum_neurodyn": spectra.mean(axis=0).tolist(),
            "mean_spectrum_reference_dt_to_0": theirs.mean(axis=0).tolist(),
            "spectrum_max_abs_z": float(np.max(np.abs(z))),
            "spectrum_rms_z": float(np.sqrt(np.mean(z**2))),
            "sum_minus_trace_max_abs": float(max(abs(sum(r["spectrum"])
                                                     - r["jacobian_trace_mean"]) for r in mine)),
            "chaotic_networks_neurodyn": int(sum(r["spectrum"][0] > 0.01 for r in mine)),
            "chaotic_networks_reference_dt0.05": int(sum(by_key[(g, r["seed"], 0.05)][0] > 0.01
                                                         for r in mine)),
        }
    return table


def readme_numbers(result: dict) -> str:
    """The README paragraph's numbers, rendered from a stored result (nothing typed by hand)."""
    lines = []
    for g, entry in result["gains"].items():
        s = entry["summaries"]
        cells = []
        for name in ("D_KY_per_N", "h_KS_per_N", "lambda_1"):
            a, b = s["neurodyn"][name], s["reference_dt_to_0"][name]
            d = s["difference_neurodyn_minus_reference_dt_to_0"][name]
            cells.append(f"{a['mean']:.4f} ± {a['sem']:.4f} / {b['mean']:.4f} ± "
                         f"{b['sem']:.4f} ({d['mean'] / d['sem']:+.1f})")
        lines.append(f"| {float(g):g} | " + " | ".join(cells) + f" | {entry['dmft_lambda_max']:.3f} | "
                     f"{entry['spectrum_rms_z']:.2f} | {entry['chaotic_networks_neurodyn']}/"
                     f"{entry['chaotic_networks_reference_dt0.05']} of {len(result['seeds'])} |")
    header = ("| g | D_KY/N | h_KS/N (nats/τ) | λ_1 (1/τ) | DMFT λ_max | rms z of λ_i(i/N) | "
              "chaotic networks (λ_1 > 0.01) |\n"
              "|---|---|---|---|---|---|---|")
    return header + "\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-demo", type=Path,
                        help="path of the authors' demo .py: regenerate the reference spectra")
    parser.add_argument("--quick", action="store_true", help="one gain, two seeds (a smoke run)")
    parser.add_argument("--readme", action="store_true",
                        help="print the README table from the stored result and exit")
    args = parser.parse_args()
    if args.readme:
        print(readme_numbers(json.loads(OUTPUT.read_text())))
        return
    gains, seeds = ((4.0,), SEEDS[:2]) if args.quick else (GAINS, SEEDS)
    if args.reference_demo is not None:
        reference = run_reference(args.reference_demo, gains, seeds)
        REFERENCE.write_text(json.dumps(reference, indent=1) + "\n")
    reference = json.loads(REFERENCE.read_text())

    import os

    import neurodyn as nd
    from neurodyn.provenance import provenance

    start = time.perf_counter()
    dmft = {g: float(nd.dmft.stationary(g=g, critical_gain=False).lambda_max) for g in gains}
    ours = run_neurodyn(gains, seeds)
    result = {
        "description": "neurodyn full Lyapunov spectra (N=80, tanh, no autapses) vs the DMFT "
                       "lambda_max and vs Engelken, Wolf & Abbott's public demo on the same "
                       "networks; means and standard errors over network seeds",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg()[0],
        "N": N, "t_counted": T_SIM, "transient": TRANSIENT, "seeds": list(seeds),
        "reference": {key: reference[key] for key in ("source", "created", "N", "tSim", "tONS")},
        "gains": compare(ours, reference, gains, dmft),
        "neurodyn_seconds": time.perf_counter() - start,
        "provenance": provenance(),
    }
    output = OUTPUT.with_name("spectrum_comparison_quick.json") if args.quick else OUTPUT
    output.write_text(json.dumps(result, indent=1) + "\n")
    for g, entry in result["gains"].items():
        s = entry["summaries"]
        print(f"g={g}: DMFT lambda_max {entry['dmft_lambda_max']:.4f}")
        for name in ("lambda_1", "D_KY_per_N", "h_KS_per_N"):
            a, b = s["neurodyn"][name], s["reference_dt_to_0"][name]
            d = s["difference_neurodyn_minus_reference_dt_to_0"][name]
            print(f"  {name}: neurodyn {a['mean']:.4f} ± {a['sem']:.4f}, reference "
                  f"{b['mean']:.4f} ± {b['sem']:.4f}, paired difference "
                  f"{d['mean']:+.4f} ± {d['sem']:.4f}")
        print(f"  spectrum: max |z| {entry['spectrum_max_abs_z']:.2f}, rms z "
              f"{entry['spectrum_rms_z']:.2f}; chaotic networks {entry['chaotic_networks_neurodyn']}"
              f" (ours) / {entry['chaotic_networks_reference_dt0.05']} (theirs) of {len(seeds)}")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
