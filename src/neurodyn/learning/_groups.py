"""Selecting trainable parameter groups: validation and (params, groups) round trips."""

from __future__ import annotations

from collections.abc import Iterable

import jax

from ..errors import ParameterError
from .params import TRAINABLE, Params

DYNAMIC = ("J", "theta", "B")
"""Groups that enter the vector field (W_out only enters the readout)."""


def check_trainable(trainable: Iterable[str] | str) -> tuple[str, ...]:
    """A non-empty tuple of distinct names from TRAINABLE, in TRAINABLE order."""
    names = (trainable,) if isinstance(trainable, str) else tuple(trainable)
    unknown = [name for name in names if name not in TRAINABLE]
    if not names or unknown or len(set(names)) != len(names):
        raise ParameterError(
            f"trainable={names!r}; a non-empty set of distinct names from {TRAINABLE} is required")
    return tuple(name for name in TRAINABLE if name in names)


def select(params: Params, trainable: tuple[str, ...]) -> dict[str, jax.Array]:
    """{name: array} of the trainable groups."""
    return {name: params.get(name) for name in trainable}
