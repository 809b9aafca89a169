"""Checks of user-supplied parameters at the public boundary.

Each check raises :class:`neurodyn.errors.ParameterError` with a message that names the parameter,
its value and what is allowed, so errors surface before any work is done or anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .errors import ParameterError


def _describe(value: Any) -> str:
    return repr(value)


def finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, requiring it to be a finite real number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}={_describe(value)} is not a number; a finite real number is required"
        ) from None
    if not math.isfinite(number):
        raise ParameterError(f"{name}={_describe(value)} is not finite; a finite number is required")
    return number


def positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    number = finite(name, value)
    if number <= 0:
        raise ParameterError(f"{name}={_describe(value)} must be > 0")
    return number


def non_negative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    number = finite(name, value)
    if number < 0:
        raise ParameterError(f"{name}={_describe(value)} must be >= 0")
    return number


def in_range(name: str, value: Any, low: float, high: float) -> float:
    """A finite number in the closed interval [low, high]."""
    number = finite(name, value)
    if not low <= number <= high:
        raise ParameterError(f"{name}={_describe(value)} must lie in [{low}, {high}]")
    return number


def positive_int(name: str, value: Any) -> int:
    """An integer >= 1 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ParameterError(f"{name}={_describe(value)} must be a positive integer")
    if int(value) <= 0:
        raise ParameterError(f"{name}={_describe(value)} must be a positive integer (>= 1)")
    return int(value)


def seed(name: str, value: Any) -> int:
    """A non-negative integer seed."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ParameterError(f"{name}={_describe(value)} must be a non-negative integer")
    if int(value) < 0:
        raise ParameterError(f"{name}={_describe(value)} must be a non-negative integer")
    return int(value)


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """One of a fixed set of names."""
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(f"{name}={_describe(value)} is unknown; allowed: {', '.join(allowed)}")
    return value
