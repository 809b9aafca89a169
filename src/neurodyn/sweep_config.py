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
stored array all raise :class:`~neurodyn.errors.ParameterError` naming the key. So do settings
that the computation would refuse at a point of the grid: a solver that cannot take the point's
noise (the ODE solvers need noise = 0, the SDE solvers noise > 0; an absent solver is the
default for the noise, tsit5 or shark), ``dt`` for an adaptive solver, ``rtol``/``atol`` for a
fixed-step one, symmetry ≠ 0 with ``dmft``, an in-degree ``K`` above N, a ``[lyapunov] k``
above N and a ``[simulate] devices`` count that does not divide N (every pair of values that
occurs is checked: zipped lists as they pair up, product grids in every combination).
``[simulate] devices = D`` (or ``"all"``) runs each point's simulation with J split by rows
over D devices (:mod:`neurodyn.sharding`).
The network parameters shared with the theory (g ≥ 0, J_mean, θ, η, σ, φ) are checked by the
rules of :mod:`neurodyn.model_parameters`, the ones Network.random and the DMFT use; g = 0 is a
point like any other, for the DMFT too (its closed-form solution).
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

from . import model_parameters, solvers, validation
from .errors import ParameterError

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


_positive = _number(validation.positive)
_non_negative = _number(validation.non_negative)


def _devices(name: str, value: Any) -> int | str:
    """A device count >= 1 or "all": how many devices simulate() splits J over (neurodyn.sharding).
    Whether the worker has that many is known only there; its point fails naming the count."""
    if isinstance(value, str):
        return validation.choice(name, value, ("all",))
    return validation.positive_int(name, value)


_SOLVERS = tuple(dict.fromkeys([*solvers.ODE_SOLVERS, *solvers.SDE_SOLVERS]))
"""Every solver name (ODE and SDE, each once: euler is both), in the order solvers.py gives."""
_DEFAULT_SOLVER = {False: solvers.DEFAULT_ODE_SOLVER, True: solvers.DEFAULT_SDE_SOLVER}
"""The solver simulate() uses when none is given, by noise > 0."""

NETWORK_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "N": validation.positive_int, "g": _number(model_parameters.g),
    "phi": lambda name, value: model_parameters.phi(name, _text()(name, value)),
    "J_mean": _number(model_parameters.J_mean), "symmetry": _number(model_parameters.symmetry),
    "theta_mean": _number(model_parameters.theta_mean),
    "theta_std": _number(model_parameters.theta_std), "seed": validation.seed,
    "dtype": _text(("float64", "float32")),
    # the in-degree of a sparse network (Network.random(K=...)); absent: dense
    "K": validation.positive_int,
}
SIMULATE_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "t1": _positive, "dt_save": _positive, "transient": _non_negative,
    "trials": validation.positive_int, "noise": _number(model_parameters.noise),
    "seed": validation.seed,
    "solver": _text(_SOLVERS), "rtol": _positive, "atol": _positive, "dt": _positive,
    "h0_std": _non_negative,
    # J split by rows over devices (simulate(devices=...)); a property of the run, not a sweep
    # dimension. The Lyapunov exponents of the same point run on one device.
    "devices": _devices,
}
LYAPUNOV_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "t1": _positive, "k": validation.positive_int, "transient": _non_negative,
    "interval": _positive, "rtol": _positive, "atol": _positive,
    # the conditional exponent (the same noise on both trajectories); needs a neurodyn.lyapunov
    # with noise= (the chaos job asks before it sets this)
    "noise": _number(model_parameters.noise),
}
AUTOCORRELATION_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "max_lag": _non_negative, "subtract": _text(("none", "population", "neuron")),
}
DMFT_KEYS: dict[str, Callable[[str, Any], Any]] = {"tau_max": _positive, "dtau": _positive}

GRID_KEYS: dict[str, Callable[[str, Any], Any]] = {
    **{key: check for key, check in NETWORK_KEYS.items() if key not in ("seed", "dtype")},
    "network_seed": validation.seed,
    **{key: check for key, check in SIMULATE_KEYS.items()
       if key not in ("t1", "dt_save", "devices")},
}
"""Sweepable parameters. t1 and dt_save fix the time axis and dtype the array type, so they are
the same for every point of a store; devices is where the run happens, not what it computes."""

NETWORK_DEFAULT_N = 1000
"""N of a sweep whose config gives none: Network.random's default (tests/test_sparse.py checks
that the two agree; this module does not import the network, which would import jax)."""

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
    _check_solvers(grid, grid_mode, fixed["simulate"], where)
    _check_in_degree(grid, grid_mode, fixed["network"], where)
    if "dmft" in quantities:
        _check_dmft(grid, fixed, where)
    if "lyapunov" in quantities and "k" in fixed["lyapunov"]:
        k = fixed["lyapunov"]["k"]
        sizes = dict(grid).get("N", (fixed["network"]["N"],) if "N" in fixed["network"] else ())
        if any(k > n for n in sizes):
            source = "[grid] N" if "N" in dict(grid) else "[network] N"
            raise ParameterError(f"{where}: [lyapunov] k={k} exceeds {source}={min(sizes)}; an "
                                 "N-neuron network has at most N exponents")
    simulate = fixed["simulate"]
    if isinstance(simulate.get("devices"), int):
        count = simulate["devices"]
        sizes = dict(grid).get("N", (fixed["network"]["N"],) if "N" in fixed["network"] else ())
        if any(n % count for n in sizes):
            source = "[grid] N" if "N" in dict(grid) else "[network] N"
            raise ParameterError(f"{where}: [simulate] devices={count} does not divide {source}="
                                 f"{[n for n in sizes if n % count][0]}; J is split by rows into "
                                 "equal shards, so N must be a multiple of the device count")
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


def _settings(grid: list[tuple[str, tuple[Any, ...]]], grid_mode: str, table: str,
              fixed: dict[str, Any], keys: dict[str, Any]) -> list[dict[str, tuple[Any, str]]]:
    """Every distinct combination of ``keys`` that the sweep's points take, each value with
    where it comes from: {key: (value, "[grid] key" or "[table] key" or "default key")}.

    ``keys`` maps each key to its default (None: absent). Grid keys vary as the points do (zip:
    the tuples present, product: every combination); fixed and default values are the same
    everywhere."""
    swept = {key: values for key, values in grid if key in keys}
    constant = {key: (fixed[key], f"[{table}] {key}") if key in fixed else (default, f"default {key}")
                for key, default in keys.items() if key not in swept}
    names = list(swept)
    if grid_mode == "zip" and swept:
        rows = zip(*swept.values(), strict=True)
    else:  # product (of no lists: the one combination of the constants)
        rows = itertools.product(*swept.values())
    combinations = []
    for row in dict.fromkeys(rows):
        combination = {key: (value, f"[grid] {key}") for key, value in zip(names, row, strict=True)}
        combinations.append({**constant, **combination})
    return combinations


def _check_solvers(grid: list[tuple[str, tuple[Any, ...]]], grid_mode: str,
                   simulate: dict[str, Any], where: str) -> None:
    """Refuse what simulate() would refuse at a point: a solver that cannot take the point's
    noise (an ODE solver with noise > 0, an SDE-only solver with noise = 0), ``dt`` for an
    adaptive solver (its step comes from rtol/atol), ``rtol``/``atol`` for a fixed-step one.
    Every (solver, noise) pair that occurs is checked; an absent solver is the default for the
    point's noise (tsit5 for noise = 0, shark for noise > 0)."""
    given = {}
    for key in ("dt", "rtol", "atol"):
        swept = dict(grid).get(key)
        if swept is not None:
            given[key] = f"[grid] {key}={list(swept)!r}"
        elif key in simulate:
            given[key] = f"[simulate] {key}={simulate[key]!r}"
    for combination in _settings(grid, grid_mode, "simulate", simulate,
                                 {"solver": None, "noise": 0.0}):
        (solver, solver_from), (noise, _) = combination["solver"], combination["noise"]
        noisy = noise > 0
        table = solvers.SDE_SOLVERS if noisy else solvers.ODE_SOLVERS
        default = _DEFAULT_SOLVER[noisy]
        if solver is None:
            solver, named = default, f"the default solver {default!r}"
        else:
            named = f"{solver_from}={solver!r}"
        if solver not in table:
            what = f"noise={noise!r} > 0 (an SDE)" if noisy else f"noise={noise!r} (an ODE)"
            allowed = [default, *(name for name in table if name != default)]
            raise ParameterError(
                f"{where}: {named} cannot integrate {what}; allowed with noise "
                f"{'> 0' if noisy else '= 0'}: {', '.join(allowed)}")
        spec = table[solver]
        if spec.adaptive and "dt" in given:
            fixed_step = [name for name, other in table.items() if not other.adaptive]
            raise ParameterError(
                f"{where}: {given['dt']} is unused by {named} at noise={noise!r} (adaptive: its "
                f"step follows rtol/atol); drop dt or choose a fixed-step solver: "
                f"{', '.join(fixed_step)}")
        for key in ("rtol", "atol"):
            if not spec.adaptive and key in given:
                adaptive = [name for name, other in solvers.ODE_SOLVERS.items() if other.adaptive]
                raise ParameterError(
                    f"{where}: {given[key]} is unused by {named} at noise={noise!r} (fixed step "
                    f"dt); drop {key} or choose an adaptive solver ({', '.join(adaptive)}; noise "
                    "= 0 only)")


def _check_in_degree(grid: list[tuple[str, tuple[Any, ...]]], grid_mode: str,
                     network: dict[str, Any], where: str) -> None:
    """Refuse an in-degree K above N at any point (Network.random(K=...) draws the K
    presynaptic partners of a neuron without replacement among its N candidates). Every (N, K)
    pair that occurs is checked; an absent N is Network.random's default, NETWORK_DEFAULT_N."""
    for combination in _settings(grid, grid_mode, "network", network,
                                 {"N": NETWORK_DEFAULT_N, "K": None}):
        (N, N_from), (K, K_from) = combination["N"], combination["K"]
        if K is not None and K > N:
            raise ParameterError(
                f"{where}: {K_from}={K} exceeds {N_from}={N}; the in-degree K must be <= N (K "
                "distinct presynaptic partners per neuron, drawn without replacement)")


def _check_dmft(grid: list[tuple[str, tuple[Any, ...]]], fixed: dict[str, dict[str, Any]],
                where: str) -> None:
    """Refuse settings dmft.stationary refuses at a point: a φ it cannot take (the theory's
    rule, :func:`neurodyn.model_parameters.theory_phi` with ``unbounded=True``: relu is
    solved, a divergent network raises DivergenceError at its point), partially symmetric
    couplings (symmetry ≠ 0: the stationary DMFT covers independent J_ij, J_ji only; the
    sampling DMFT, neurodyn.dmft.sampling, is not a sweep quantity) and a [dmft] dtau coarser
    than tau_max / 4."""
    swept = dict(grid).get("phi")
    source = "[grid] phi" if swept is not None else "[network] phi"
    for phi in swept if swept is not None else (fixed["network"].get("phi", "tanh"),):
        model_parameters.theory_phi(source, phi, unbounded=True)
    symmetries = dict(grid).get("symmetry")
    source = "[grid] symmetry" if symmetries is not None else "[network] symmetry"
    for symmetry in (symmetries if symmetries is not None
                     else (fixed["network"].get("symmetry", 0.0),)):
        if symmetry != 0:
            raise ParameterError(
                f"{where}: 'dmft' needs symmetry = 0 ({source} = {symmetry!r}): the stationary "
                "DMFT covers independent J_ij and J_ji only; for symmetry != 0 use "
                "neurodyn.dmft.sampling (or the chaos job, which draws its theory from it)")
    theory = fixed["dmft"]
    if "tau_max" in theory and "dtau" in theory and theory["dtau"] > theory["tau_max"] / 4:
        raise ParameterError(f"{where}: [dmft] dtau={theory['dtau']!r} must be <= tau_max/4 = "
                             f"{theory['tau_max'] / 4!r}")


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
