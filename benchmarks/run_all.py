"""`make bench`: every benchmark of the suite in order, each timed, and the whole wall time.

Writes benchmarks/make_bench.json: {"minutes": total, "date": ..., "scripts": [[script, minutes],
...]}, so scripts/readme_peers.py can quote the total and the next session sees where the time
goes (issue 17: `make bench` must finish in ≤ 15 min on 2 cores). A script that fails stops the
run with its exit code; the record is written only for a complete run.

    python benchmarks/run_all.py
"""

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (["setup_peers.py"], ["bench_simulate.py"], ["bench_peers.py"], ["bench_rk_floor.py"],
           ["bench_dmft.py", "--write"])


def main():
    started = time.time()
    record = []
    for script in SCRIPTS:
        start = time.time()
        done = subprocess.run([sys.executable, str(HERE / script[0]), *script[1:]])
        minutes = (time.time() - start) / 60
        print(f"[make bench] {' '.join(script)}: {minutes:.1f} min", flush=True)
        if done.returncode != 0:
            raise SystemExit(done.returncode)
        record.append([" ".join(script), round(minutes, 2)])
    total = (time.time() - started) / 60
    (HERE / "make_bench.json").write_text(json.dumps(
        {"minutes": round(total, 2), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
         "scripts": record}, indent=1) + "\n")
    print(f"[make bench] total {total:.1f} min", flush=True)


if __name__ == "__main__":
    main()
