"""Install the optional peers of bench_peers.py (issue 17); none is a project dependency.

- torch (the CPU build lying on this machine's disk, 2.13.0), torchdiffeq and brainpy go into
  the running venv: none of them changes its jax/numpy (checked with ``pip install --dry-run``
  on 2026-12-01: jax 0.10.2 and numpy 2.4 stay).
- Brian2 gets its own venv, benchmarks/.peer-venvs/brian2: Brian2 2.9.0, the newest release for
  Python 3.11, fails to import with NumPy 2.4 (``np.ndarray.ptp`` is gone), so it runs with
  NumPy < 2.4 in a subprocess (peers.brian2_rate).

A peer that cannot be installed is skipped with a line saying so; the script never fails.

    python benchmarks/setup_peers.py
"""

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
IN_VENV = {"torch": "torch==2.13.0", "torchdiffeq": "torchdiffeq", "brainpy": "brainpy"}


def pip(python, *requirements):
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                          capture_output=True, text=True)
    return done.returncode == 0, done.stderr.strip().splitlines()[-1:] or [""]


def main():
    for module, requirement in IN_VENV.items():
        try:
            __import__(module)
            print(f"setup_peers: {module} already importable")
            continue
        except Exception:  # noqa: BLE001 - not installed or broken: try to install
            pass
        ok, tail = pip(sys.executable, requirement)
        print(f"setup_peers: {requirement}: {'installed' if ok else 'SKIPPED, ' + tail[0]}")
    target = HERE / ".peer-venvs" / "brian2"
    python = target / "bin" / "python"
    if not python.exists():
        venv.create(target, with_pip=True)
    ok, tail = pip(python, "brian2", "numpy<2.4")
    print(f"setup_peers: brian2 (own venv {target}): {'ready' if ok else 'SKIPPED, ' + tail[0]}")


if __name__ == "__main__":
    main()
