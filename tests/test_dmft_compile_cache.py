"""The command line's persistent compilation cache (start-up of ``neurodyn dmft``): where it
lives, that it can be turned off (the tests run with it off, conftest), and that a process that
enables it writes compiled functions there for the next process to load."""

import os
import subprocess
import sys
from pathlib import Path

from neurodyn import cli


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURODYN_CACHE_DIR", str(tmp_path / "mine"))
    assert cli.compilation_cache_dir() == tmp_path / "mine"
    for off in ("", "off", "OFF"):
        monkeypatch.setenv("NEURODYN_CACHE_DIR", off)
        assert cli.compilation_cache_dir() is None
        assert cli.enable_compilation_cache() is None
    monkeypatch.delenv("NEURODYN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cli.compilation_cache_dir() == tmp_path / "xdg" / "neurodyn" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cli.compilation_cache_dir() == tmp_path / "home" / ".cache" / "neurodyn" / "jax"


def test_the_tests_run_without_the_cache():
    assert os.environ["NEURODYN_CACHE_DIR"] == ""


def test_an_enabled_cache_receives_the_compiled_functions(tmp_path):
    # a fresh process, as the command line is: enabled before JAX is imported
    probe = ("from neurodyn import cli\n"
             "directory = cli.enable_compilation_cache()\n"
             "import jax, jax.numpy as jnp\n"
             "assert jax.config.jax_compilation_cache_dir == str(directory)\n"
             "jax.jit(lambda x: jnp.sin(x) * 3.0)(jnp.arange(5.0)).block_until_ready()\n")
    env = {**os.environ, "NEURODYN_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert any(Path(tmp_path / "cache").iterdir())


def test_executable_cache_stores_loads_and_keys(monkeypatch, tmp_path):
    """The DMFT's executable cache (on with the persistent cache; here pointed at tmp_path
    without turning JAX's cache on): a first call compiles and stores, a new process (the
    in-memory table cleared) loads instead of compiling, with identical results; another
    static argument or argument type is another entry; a user's φ is never stored."""
    from functools import partial

    import jax
    import jax.numpy as jnp

    from neurodyn import nonlinearity
    from neurodyn.dmft import _executables

    monkeypatch.setattr(_executables, "_directory", lambda: tmp_path)
    monkeypatch.setattr(_executables, "_loaded", {})

    @partial(jax.jit, static_argnames=("phi", "order"))
    def f(x, scale, *, phi, order):
        return scale * phi.phi(x) ** order

    stored, loads = [], []
    store, load = _executables._store, _executables._load
    monkeypatch.setattr(_executables, "_store", lambda *a: (stored.append(1), store(*a)))
    monkeypatch.setattr(_executables, "_load", lambda *a: (loads.append(1), load(*a))[1])
    tanh = nonlinearity.get("tanh")
    x = jnp.linspace(-1.0, 1.0, 5)
    first = _executables.call(f, {"phi": tanh, "order": 2}, x, 3.0)
    assert len(list(tmp_path.glob("*.pkl"))) == 1 and len(stored) == 1
    _executables._loaded.clear()  # as in a new process
    loaded = _executables.call(f, {"phi": tanh, "order": 2}, x, 3.0)
    assert len(stored) == 1 and len(loads) == 2  # the second load found the file
    assert jnp.array_equal(first, loaded) and jnp.array_equal(first, f(x, 3.0, phi=tanh, order=2))
    _executables.call(f, {"phi": tanh, "order": 3}, x, 3.0)
    _executables.call(f, {"phi": tanh, "order": 2}, x[:3], 3.0)
    assert len(list(tmp_path.glob("*.pkl"))) == 3
    mine = nonlinearity.Nonlinearity(name="tanh", phi=jnp.tanh, dphi=jnp.tanh,
                                     antiderivative=jnp.tanh, bound=1.0, slope_at_zero=1.0,
                                     odd=True, increasing=True)  # named like a registered one
    assert jnp.array_equal(_executables.call(f, {"phi": mine, "order": 2}, x, 3.0), first)
    assert len(list(tmp_path.glob("*.pkl"))) == 3
