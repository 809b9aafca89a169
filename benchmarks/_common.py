"""Shared pieces of the benchmark scripts: timing, machine description, the bare linear-algebra
limits (matrix–vector bandwidth, GEMM FLOP/s) measured in the calling process, and the writer of
benchmarks/RESULTS.md (each script owns one marked section of it)."""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

RESULTS = Path(__file__).with_name("RESULTS.md")


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, seconds (the result is materialised: jax arrays are blocked on)."""
    start = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return time.perf_counter() - start


def warm_median(fn: Callable[[], object], repeats: int) -> tuple[float, float, list[float]]:
    """(first-call time, median of ``repeats`` further calls, those times), seconds.

    The first call includes compilation for jitted code; first − median is reported as the
    compile time.
    """
    first = timed(fn)
    times = [timed(fn) for _ in range(repeats)]
    return first, statistics.median(times), times


def machine() -> dict[str, object]:
    """Host, CPU, core count, library versions and BLAS/XLA thread settings."""
    import diffrax
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)
    except (OSError, AttributeError):
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "jax": jax.__version__, "diffrax": diffrax.__version__,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "unset"),
        # Other work on the 2 cores (tests, sweeps) inflates every time: record it with them.
        "load average (1, 5, 15 min) at the end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def machine_markdown() -> str:
    info = machine()
    return "\n".join(f"- {k}: {v}" for k, v in info.items())


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` calls after one warm-up call, seconds: a machine limit is the best
    rate observed (a median would carry the VM's slow spells into the ceiling)."""
    timed(fn)
    return min(timed(fn) for _ in range(repeats))


def bare_matvec(J: np.ndarray, repeats: int = 7) -> dict[str, float]:
    """Bandwidth (bytes of J streamed per second) of a bare y = J x, NumPy and jitted JAX.

    The JAX figure is a ``fori_loop`` of 50 dependent products inside one jit (no dispatch
    overhead), i.e. the best a compiled loop over ``J·φ`` can stream J on this machine. Each is
    the fastest of ``repeats`` runs.
    """
    N = J.shape[0]
    x = np.random.default_rng(0).standard_normal(N).astype(J.dtype)
    loops = 50
    numpy_time = _best_of(lambda: [J @ x for _ in range(loops)], repeats) / loops
    Jj, xj = jnp.asarray(J), jnp.asarray(x)

    @jax.jit
    def chain(J, x):
        return jax.lax.fori_loop(0, loops, lambda i, v: jnp.tanh(J @ v), x)

    jax_time = _best_of(lambda: chain(Jj, xj), repeats) / loops
    nbytes = J.size * J.itemsize
    return {"numpy_s": numpy_time, "jax_s": jax_time,
            "numpy_GBps": nbytes / numpy_time / 1e9, "jax_GBps": nbytes / jax_time / 1e9}


def bare_gemm(J: np.ndarray, trials: int, repeats: int = 7) -> dict[str, float]:
    """FLOP/s of a bare (trials, N) @ (N, N) product, NumPy and jitted JAX (2·trials·N² FLOP),
    each the fastest of ``repeats`` runs of 10 products."""
    N = J.shape[0]
    X = np.random.default_rng(0).standard_normal((trials, N)).astype(J.dtype)
    loops = 10
    numpy_time = _best_of(lambda: [X @ J.T for _ in range(loops)], repeats) / loops
    Jj, Xj = jnp.asarray(J), jnp.asarray(X)

    @jax.jit
    def chain(J, X):
        return jax.lax.fori_loop(0, loops, lambda i, V: jnp.tanh(V @ J.T), X)

    jax_time = _best_of(lambda: chain(Jj, Xj), repeats) / loops
    flop = 2.0 * trials * N * N
    return {"numpy_s": numpy_time, "jax_s": jax_time,
            "numpy_GFLOPs": flop / numpy_time / 1e9, "jax_GFLOPs": flop / jax_time / 1e9}


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y vs log x (NaN with fewer than two points)."""
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of RESULTS.md, delimited by HTML comments."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{markdown.rstrip()}\n{end}\n"
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# neurodyn benchmark results\n\nWritten by the scripts in this directory "
        "(`make bench`); each section is replaced when its script runs again.\n\n")
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def publish(name: str, markdown: str, write: bool) -> None:
    """Print a script's section with the machine it ran on, and write it into RESULTS.md if
    ``write``."""
    text = markdown.rstrip() + "\n\nMachine:\n\n" + machine_markdown() + "\n"
    print(text)
    if write:
        write_section(name, text)


def table(header: list[str], rows: list[list[object]]) -> str:
    """A markdown table; floats printed with 3 significant digits."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
