"""Sweep configuration: parse and validate the TOML file that describes a sweep.

A sweep config is a TOML document::

    out = "runs/chaos.zarr"          # the sweep store (relative to the config file's directory)
    grid_mode = "product"            # "product" (default): every combination; "zip": lists in step

    [grid]                           # the swept parameters: each a non-empty list
    g = [0.5, 1.0, 1.5, 2.0]
    seed = [0, 1]

    [compute]
    quantities = ["summary", "lyapunov"]   # simulate, summary, autocorrelation, lyapunov, dmft

    [network]                        # fixed Network.random settings
    N = 200
    phi = "tanh"

    [simulate]                       # fixed simulate() settings
    t1 = 100.0
    transient = 50.0

    [lyapunov]                       # optional tables for the other quantities
    t1 = 100.0
    [autocorrelation]
    max_lag = 20.0
    [dmft]
    tau_max = 20.0

Grid keys are the names of network and simulation parameters. ``seed`` seeds the simulation
and, unless ``[network]`` gives its own ``seed``, the network too (as on the command line);
``network_seed`` in the grid seeds the network alone. A parameter may be in the grid or in a
fixed table, not both. Everything is checked here, before anything is written: unknown keys,
empty or mistyped lists, values out of range and grid keys that would change the shape of a
stored array all raise :class:`~neurodyn.errors.ParameterError` naming the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import validation
from .errors import ParameterError
from .nonlinearity import NONLINEARITIES

QUANTITIES = ("simulate", "summary", "autocorrelation", "lyapunov", "dmft")
"""What can be computed per point. ``simulate`` stores the trajectory h; ``summary`` and
``autocorrelation`` are computed from a simulation (run but not stored unless ``simulate`` is
asked for); ``lyapunov`` integrates the tangent dynamics; ``dmft`` solves the stationary DMFT."""

GRID_MODES = ("product", "zip")


def _number(check: Callable[[str, Any], float]) -> Callable[[str, Any], float]:
    def checked(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{name}={value!r} is a {type(value).__name__}; a number is required")
        return check(name, value)
    return checked


def _text(allowed: tuple[str, ...] | None = None) -> Callable[[str, Any], str]:
    def checked(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ParameterError(f"{name}={value!r} is a {type(value).__name__}; a string is required")
        return value if allowed is None else validation.choice(name, value, allowed)
    return checked


_finite = _number(validation.finite)
_positive = _number(validation.positive)
_non_negative = _number(validation.non_negative)


def _symmetry(name: str, value: Any) -> float:
    return validation.in_range(name, _finite(name, value), -1.0, 1.0)


_SOLVERS = ("tsit5", "dopri5", "dopri8", "euler", "heun", "rk4", "shark", "sra1")

NETWORK_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "N": validation.positive_int, "g": _non_negative, "phi": _text(tuple(NONLINEARITIES)),
    "J_mean": _finite, "symmetry": _symmetry, "theta_mean": _finite, "theta_std": _non_negative,
    "seed": validation.seed, "dtype": _text(("float64", "float32")),
}
SIMULATE_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "t1": _positive, "dt_save": _positive, "transient": _non_negative,
    "trials": validation.positive_int, "noise": _non_negative, "seed": validation.seed,
    "solver": _text(_SOLVERS), "rtol": _positive, "atol": _positive, "dt": _positive,
    "h0_std": _non_negative,
}
LYAPUNOV_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "t1": _positive, "k": validation.positive_int, "transient": _non_negative,
    "interval": _positive, "rtol": _positive, "atol": _positive,
}
AUTOCORRELATION_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "max_lag": _non_negative, "subtract": _text(("none", "population", "neuron")),
}
DMFT_KEYS: dict[str, Callable[[str, Any], Any]] = {"tau_max": _positive, "dtau": _positive}

GRID_KEYS: dict[str, Callable[[str, Any], Any]] = {
    **{key: check for key, check in NETWORK_KEYS.items() if key not in ("seed", "dtype")},
    "network_seed": validation.seed,
    **{key: check for key, check in SIMULATE_KEYS.items() if key not in ("t1", "dt_save")},
}
"""Sweepable parameters. t1 and dt_save fix the time axis and dtype the array type, so they are
the same for every point of a store."""

_SHAPE_KEYS = {"simulate": ("N", "trials", "transient")}
_TABLES = {"network": NETWORK_KEYS, "simulate": SIMULATE_KEYS, "lyapunov": LYAPUNOV_KEYS,
           "autocorrelation": AUTOCORRELATION_KEYS, "dmft": DMFT_KEYS}
_TOP_KEYS = ("out", "grid_mode", "grid", "compute", *_TABLES)


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A validated sweep: the grid, what to compute, fixed settings and the store path.

    ``grid`` maps each swept parameter (a sweep dimension) to its tuple of values, in the order
    given; ``fixed`` maps a table name (network, simulate, lyapunov, autocorrelation, dmft) to
    its settings. ``out`` is the store path. Frozen and picklable: it is shipped to workers.
    """

    out: Path
    grid_mode: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    quantities: tuple[str, ...]
    fixed: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]

    @property
    def dims(self) -> tuple[str, ...]:
        """Sweep dimensions of the store: the grid keys (product) or ("point",) (zip)."""
        return tuple(key for key, _ in self.grid) if self.grid_mode == "product" else ("point",)

    @property
    def shape(self) -> tuple[int, ...]:
        if self.grid_mode == "product":
            return tuple(len(values) for _, values in self.grid)
        return (len(self.grid[0][1]),)

    def table(self, name: str) -> dict[str, Any]:
        return dict(dict(self.fixed).get(name, ()))

    def points(self) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
        """Every point as (index along the sweep dims, {grid key: value}), in C order."""
        return [(index, self.point(index))
                for index in itertools.product(*(range(n) for n in self.shape))]

    def point(self, index: tuple[int, ...]) -> dict[str, Any]:
        """{grid key: value} at ``index`` along the sweep dims."""
        if self.grid_mode == "zip":
            return {key: values[index[0]] for key, values in self.grid}
        return {key: values[i] for (key, values), i in zip(self.grid, index, strict=True)}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready canonical form (everything but ``out``): the identity of the sweep."""
        return {
            "grid_mode": self.grid_mode,
            "grid": {key: list(values) for key, values in self.grid},
            "compute": {"quantities": list(self.quantities)},
            **{name: dict(settings) for name, settings in self.fixed},
        }

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of :meth:`as_dict`: equal iff the sweeps are the same."""
        text = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _table(document: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise ParameterError(f"{where}: [{name}] must be a table, got {type(value).__name__} {value!r}")
    return value


def _check_table(name: str, table: dict[str, Any], keys: dict[str, Callable], where: str) -> dict:
    out = {}
    for key, value in table.items():
        if key not in keys:
            raise ParameterError(
                f"{where}: unknown key {key!r} in [{name}]; allowed: {', '.join(keys)}")
        out[key] = keys[key](f"[{name}] {key}", value)
    return out


def parse_config(document: dict[str, Any], where: str = "sweep config",
                 base: Path | None = None) -> SweepConfig:
    """Validate a parsed TOML document (a dict) and return a :class:`SweepConfig`.

    ``where`` names the source in error messages; a relative ``out`` is resolved against
    ``base`` (the config file's directory) when given.
    """
    for key in document:
        if key not in _TOP_KEYS:
            raise ParameterError(f"{where}: unknown key {key!r}; allowed: {', '.join(_TOP_KEYS)}")
    out = document.get("out")
    if not isinstance(out, str) or not out:
        raise ParameterError(f"{where}: out={out!r}; a non-empty path string (the store) is required")
    out_path = Path(out)
    if base is not None and not out_path.is_absolute():
        out_path = base / out_path
    grid_mode = _text(GRID_MODES)("grid_mode", document.get("grid_mode", "product"))

    fixed = {name: _check_table(name, _table(document, name, where), keys, where)
             for name, keys in _TABLES.items()}

    compute = _table(document, "compute", where)
    for key in compute:
        if key != "quantities":
            raise ParameterError(f"{where}: unknown key {key!r} in [compute]; allowed: quantities")
    quantities = compute.get("quantities")
    if not isinstance(quantities, list) or not quantities:
        raise ParameterError(f"{where}: [compute] quantities={quantities!r}; a non-empty list of "
                             f"{', '.join(QUANTITIES)} is required")
    for quantity in quantities:
        _text(QUANTITIES)("[compute] quantities", quantity)
    if len(set(quantities)) != len(quantities):
        raise ParameterError(f"{where}: [compute] quantities={quantities!r} has duplicates")
    quantities = tuple(q for q in QUANTITIES if q in quantities)  # canonical order

    grid_table = _table(document, "grid", where)
    if not grid_table:
        raise ParameterError(f"{where}: [grid] is empty; give at least one parameter list, "
                             "e.g. g = [1.0, 2.0]")
    grid = []
    for key, values in grid_table.items():
        if key not in GRID_KEYS:
            raise ParameterError(f"{where}: unknown key {key!r} in [grid]; allowed: "
                                 f"{', '.join(GRID_KEYS)}")
        if not isinstance(values, list) or not values:
            raise ParameterError(f"{where}: [grid] {key}={values!r}; a non-empty list is required")
        checked = tuple(GRID_KEYS[key](f"[grid] {key}", value) for value in values)
        if grid_mode == "product" and len(set(checked)) != len(checked):
            raise ParameterError(f"{where}: [grid] {key}={values!r} has repeated values")
        grid.append((key, checked))
        table = "simulate" if key in SIMULATE_KEYS else "network"
        if key in fixed[table]:
            raise ParameterError(f"{where}: {key!r} is both in [grid] and in [{table}]; keep one")
    grid_keys = {key for key, _ in grid}
    if "network_seed" in grid_keys and "seed" in fixed["network"]:
        raise ParameterError(f"{where}: 'network_seed' in [grid] and 'seed' in [network] both "
                             "seed the network; keep one")
    if grid_mode == "zip":
        lengths = {key: len(values) for key, values in grid}
        if len(set(lengths.values())) != 1:
            raise ParameterError(f"{where}: grid_mode='zip' needs lists of one length; got {lengths}")
    for quantity, keys in _SHAPE_KEYS.items():
        for key in keys:
            if quantity in quantities and key in grid_keys:
                raise ParameterError(
                    f"{where}: [grid] {key} changes the shape of the stored trajectory; drop "
                    f"'{quantity}' from [compute] quantities or fix {key}")
    if "dmft" in quantities:
        phis = dict(grid).get("phi", (fixed["network"].get("phi", "tanh"),))
        for phi in phis:
            if phi not in ("tanh", "erf"):
                raise ParameterError(f"{where}: 'dmft' supports phi tanh and erf, not {phi!r}")
    simulate = fixed["simulate"]
    if simulate.get("dt_save", 0.1) > simulate.get("t1", 200.0):
        raise ParameterError(f"{where}: [simulate] dt_save={simulate.get('dt_save', 0.1)} exceeds "
                             f"t1={simulate.get('t1', 200.0)}")
    n_points = math.prod(len(v) for _, v in grid) if grid_mode == "product" else len(grid[0][1])
    if n_points > 10_000_000:
        raise ParameterError(f"{where}: the grid has {n_points} points; at most 10,000,000 allowed")
    return SweepConfig(
        out=out_path, grid_mode=grid_mode, grid=tuple(grid), quantities=quantities,
        fixed=tuple((name, tuple(sorted(settings.items()))) for name, settings in fixed.items()),
    )


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep config TOML file (see the module docstring for the format)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"sweep config {str(path)!r} does not exist or is not a file")
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ParameterError(f"sweep config {str(path)!r} is not valid TOML: {error}") from None
    return parse_config(document, where=f"sweep config {str(path)!r}", base=path.parent)
