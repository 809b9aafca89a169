"""A disk cache of the DMFT's compiled functions, so a new process skips tracing them.

JAX's persistent compilation cache (turned on by the command line, :mod:`neurodyn.cli`) saves
the XLA compilation, but a new process still traces and lowers every jitted function to find
its cache entry. The stationary DMFT is one large computation (its ``_core``) and three small
ones: with JAX's cache alone a second ``neurodyn dmft --g 2`` took 6.6–7.0 CPU seconds, with
this cache 3.9 (measured 2026-12-01 at load ~15, so only the CPU times mean anything): tracing
and lowering the core is what JAX's cache cannot skip. :func:`call` goes one step further while
that cache is on: it serializes the compiled executable itself
(``jax.experimental.serialize_executable``) next to JAX's entries, and a later process loads it
(~0.1 s) instead of tracing, lowering and compiling. The executable is the one ``jax.jit``
would run, so the numbers are identical.

Keyed by the function, its static arguments, the argument structure and types (shape, dtype,
weak type), the JAX and jaxlib versions, the backend and a hash of neurodyn's source, so a
changed solver, another φ or another shape never meets a stale executable. Only registered φ
are cached (a user's φ is a Python function with no identity across processes). With the
cache off (the default outside the command line, and in the tests) :func:`call` is a plain
call of the jitted function.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import nonlinearity

_SUBDIRECTORY = "neurodyn-executables"
_loaded: dict[str, Any] = {}  # key → compiled executable, for this process


@functools.cache
def _source_hash() -> str:
    """sha256 of every .py file of the installed neurodyn package (read once per process)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _directory() -> Path | None:
    directory = jax.config.jax_compilation_cache_dir
    return None if not directory else Path(directory) / _SUBDIRECTORY


def _static_key(value: Any) -> Any:
    """A process-independent stand-in for a static argument, or None if it has none."""
    if isinstance(value, nonlinearity.Nonlinearity):
        registered = nonlinearity.NONLINEARITIES.get(value.name)
        return f"phi:{value.name}" if registered is value else None
    if isinstance(value, bool | int | float | str):
        return repr(value)
    return None


def _type_key(leaf: Any) -> tuple:
    if isinstance(leaf, jax.Array):
        return tuple(leaf.shape), str(leaf.dtype), bool(leaf.weak_type)
    if isinstance(leaf, bool | int | float):  # Python scalars are weakly typed in JAX
        return (), type(leaf).__name__, True
    array = np.asarray(leaf)
    return tuple(array.shape), str(array.dtype), False


def _key(fun: Any, static: dict[str, Any], args: tuple) -> str | None:
    statics = {name: _static_key(value) for name, value in static.items()}
    if any(value is None for value in statics.values()):
        return None
    leaves, tree = jax.tree_util.tree_flatten(args)
    device = jax.devices()[0]
    parts = (fun.__module__, fun.__qualname__, sorted(statics.items()), str(tree),
             [_type_key(leaf) for leaf in leaves], jax.__version__,
             jax.lib.__version__ if hasattr(jax.lib, "__version__") else "",
             device.platform, device.device_kind, _source_hash())
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _load(path: Path):
    from jax.experimental import serialize_executable

    with open(path, "rb") as file:
        payload, in_tree, out_tree = pickle.load(file)
    return serialize_executable.deserialize_and_load(payload, in_tree, out_tree)


def _store(path: Path, compiled) -> None:
    from jax.experimental import serialize_executable

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as file:
        pickle.dump(serialize_executable.serialize(compiled), file)
    os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or the new


_CACHE_HIT = "/jax/compilation_cache/cache_hits"


def _compile(fun: Any, static: dict[str, Any], args: tuple) -> tuple[Any, bool]:
    """Compile ``fun`` for ``args``: (executable, fresh), fresh False if JAX's persistent cache
    served it.

    Only a fresh executable may be stored: one that JAX loaded from its own cache serializes
    without its kernels, and a later process that loads the copy fails when it runs it
    (measured, jaxlib 0.10 on CPU: "NOT_FOUND: Function wrapped_iota not found"; it happened
    whenever neurodyn's source changed, so that this cache missed and JAX's hit). So JAX's cache
    does not write what this cache keeps (its minimum compile time is set to infinity for the
    compile), and an entry it holds from an older neurodyn is used but not stored.
    """
    hits: list[str] = []

    def listener(event: str, **_: Any) -> None:
        if event == _CACHE_HIT:
            hits.append(event)

    name = "jax_persistent_cache_min_compile_time_secs"
    minimum = getattr(jax.config, name)
    jax.monitoring.register_event_listener(listener)
    jax.config.update(name, float("inf"))
    try:
        compiled = fun.lower(*args, **static).compile()
    finally:
        jax.config.update(name, minimum)
        jax.monitoring.unregister_event_listener(listener)
    return compiled, not hits


def call(fun: Any, static: dict[str, Any], *args: Any) -> Any:
    """``fun(*args, **static)`` for a ``jax.jit`` function ``fun`` with static keywords
    ``static``, through the executable cache when JAX's persistent cache is on (module
    docstring). A cache that cannot be read or written only costs the time it would save; only
    freshly compiled executables are stored (:func:`_compile`)."""
    directory = _directory()
    key = _key(fun, static, args) if directory is not None and hasattr(fun, "lower") else None
    if key is None:
        return fun(*args, **static)
    compiled = _loaded.get(key)
    if compiled is None:
        path = directory / f"{key}.pkl"
        try:
            compiled = _load(path)
        except Exception:  # absent, partly written by a killed process, or unreadable
            compiled, fresh = _compile(fun, static, args)
            try:
                if fresh:
                    _store(path, compiled)
            except OSError:
                pass
        _loaded[key] = compiled
    return compiled(*args)
