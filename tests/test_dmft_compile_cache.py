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
