"""Online learning rules: FORCE and full-FORCE, recursive least squares on a running network.

- :class:`Force` (``force``): RLS on the fed-back readout (Sussillo & Abbott 2009); ``internal=True``
  learns the recurrent weights instead.
- :class:`FullForce` (``full_force``): RLS on the recurrent weights towards a target-driven copy
  of the network (DePasquale et al. 2018).

Both are final :class:`AbstractOnlineRule` Modules with ``.train(params, task, key, learn_until)
-> OnlineResult``; :func:`measure` is their cost measurement (wall time, steps, peak bytes), the
one learn-bench uses for gradients. :mod:`.rls` is the shared update.
"""

from __future__ import annotations

from types import MappingProxyType

from .force import Force
from .full_force import FullForce
from .online import AbstractOnlineRule, OnlineResult, measure
from .rls import rls_correct, rls_fit, rls_gain

ONLINE_RULES = MappingProxyType({rule.name: rule for rule in (Force, FullForce)})
"""Registry name → final online rule class (read-only)."""

__all__ = [
    "ONLINE_RULES",
    "AbstractOnlineRule",
    "Force",
    "FullForce",
    "OnlineResult",
    "measure",
    "rls_correct",
    "rls_fit",
    "rls_gain",
]
