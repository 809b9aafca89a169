"""The command line's persistent compilation cache (start-up of ``neurodyn dmft``): where it
lives, that it can be turned off (the tests share one per run, conftest), and that a process that
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


def test_the_tests_share_one_cache_per_run():
    # conftest: every process of a test run (workers, CLI subprocesses) uses the run's cache
    from conftest import RUN_CACHE

    assert os.environ["NEURODYN_CACHE_DIR"] == str(RUN_CACHE)
    assert cli.compilation_cache_dir() == RUN_CACHE


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


_SERVED_PROBE = """
import sys
from pathlib import Path
from neurodyn import cli
directory = cli.enable_compilation_cache()
import jax, jax.numpy as jnp
from neurodyn.dmft import _executables

def kept(x):  # an integer iota inside a loop: the kernel a re-serialized copy lost
    body = lambda s: (s[0] + 1, s[1] + jnp.max(jnp.where(s[1] > 0, jnp.arange(s[1].size), -1)))
    return jax.lax.while_loop(lambda s: s[0] < 3, body, (0, x))[1]

def served(x):
    return jnp.cos(x) * 2.0

kept, served = jax.jit(kept), jax.jit(served)
x = jnp.linspace(-1.0, 1.0, 7)
if sys.argv[1] == "first":
    print(float(_executables.call(kept, {}, x).sum()))  # compiled here and stored
    print(float(served(x).sum()))  # a plain jit call: JAX's cache keeps it
else:
    print(float(_executables.call(kept, {}, x).sum()))  # loaded from the stored executable
    print(float(_executables.call(served, {}, x).sum()))  # JAX's cache serves it: not stored
names = sorted(path.name for path in Path(directory).rglob("*") if path.is_file())
print(*(sum(test(name) for name in names) for test in (
    lambda name: name.endswith(".pkl"), lambda name: name.startswith("jit_kept"),
    lambda name: name.startswith("jit_served"))))
"""


def test_only_freshly_compiled_executables_are_stored(tmp_path):
    """An executable JAX loaded from its own cache serializes without its kernels (a later
    process failed: "Function wrapped_iota not found"), so it must never be stored: what the
    executable cache keeps, JAX's cache does not write, and what JAX's cache serves is not
    stored. Two new processes with the cache on (the command line's state)."""
    env = {**os.environ, "NEURODYN_CACHE_DIR": str(tmp_path / "cache")}
    outputs = []
    for step in ("first", "second"):
        result = subprocess.run([sys.executable, "-c", _SERVED_PROBE, step], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.split("\n"))
    first, second = outputs
    assert first[:2] == second[:2]  # the loaded executable computes what the compiled one did
    # after the first process: one stored executable, no JAX entry of it, JAX's entry of the other
    assert first[2] == "1 0 1"
    # after the second: JAX's cache served the other function, and it was not stored
    assert second[2] == "1 0 1"
