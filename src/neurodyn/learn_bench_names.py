"""The names of a learn-bench Dataset, without JAX (so :mod:`neurodyn.plots` can redraw a stored
run in a process that never imports JAX); :mod:`neurodyn.learn_bench` re-exports them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr

RULE = "rule"
"""The learning-rule dimension of a learn-bench Dataset. It was ``method`` until 2026-12-01:
``method`` is a keyword of xarray's ``sel``/``interp``/``reindex`` (the nearest-neighbour
lookup), so ``ds.sel(method="bptt_scan")`` silently selected nothing and returned every rule;
``ds.sel(rule="bptt_scan")`` does what it says."""


def upgrade(ds: xr.Dataset) -> xr.Dataset:
    """A learn-bench Dataset with the current names: a run stored with the former ``method``
    dimension gets it renamed to ``rule`` (nothing else changed); others are returned as is."""
    if "method" in ds.dims and RULE not in ds.dims:
        return ds.rename({"method": RULE})
    return ds
