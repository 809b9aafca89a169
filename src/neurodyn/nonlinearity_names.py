"""Names and capabilities of the nonlinearities in :mod:`neurodyn.nonlinearity`, without JAX.

The command line and the sweep config validate ``phi`` before they import JAX, and they ask what
a φ can do (is it bounded? does it have closed-form Gaussian averages?) rather than listing names.
:mod:`neurodyn.nonlinearity` checks at import that its registry holds exactly these names with
exactly these capabilities, so the two cannot drift apart. Stdlib only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """What the theory needs to know about a registered φ.

    - ``bound``: sup |φ| (``math.inf`` if φ is unbounded).
    - ``slope_at_zero``: φ′(0) (the right derivative where φ has a kink at 0).
    - ``odd``: φ(−x) = −φ(x).
    - ``increasing``: φ strictly increasing.
    - ``closed_form``: closed forms of the zero-mean Gaussian pair averages ⟨φφ⟩ and ⟨φ′φ′⟩ exist.
    """

    bound: float
    slope_at_zero: float
    odd: bool
    increasing: bool
    closed_form: bool

    @property
    def bounded(self) -> bool:
        """Whether |φ| is bounded."""
        return math.isfinite(self.bound)


CAPABILITIES: dict[str, Capabilities] = {
    "tanh": Capabilities(bound=1.0, slope_at_zero=1.0, odd=True, increasing=True,
                         closed_form=False),
    "erf": Capabilities(bound=1.0, slope_at_zero=1.0, odd=True, increasing=True,
                        closed_form=True),
    "relu": Capabilities(bound=math.inf, slope_at_zero=1.0, odd=False, increasing=False,
                         closed_form=True),
}
"""Capabilities of each registered name (read-only by convention; the registry checks it)."""

NAMES: tuple[str, ...] = tuple(CAPABILITIES)
"""The registered names, in registry order."""


def names_with(**wanted: bool) -> tuple[str, ...]:
    """Registered names whose capabilities have the given values, e.g. ``names_with(bounded=True)``.

    Keywords are attributes of :class:`Capabilities` (``bounded``, ``odd``, ``increasing``,
    ``closed_form``); an unknown keyword is a ``TypeError`` (a programming error, not user input).
    """
    for key in wanted:
        if key not in ("bounded", "odd", "increasing", "closed_form"):
            raise TypeError(f"names_with() got an unknown capability {key!r}")
    return tuple(name for name, caps in CAPABILITIES.items()
                 if all(getattr(caps, key) == value for key, value in wanted.items()))
