"""The one table of learning rules: registry name → final rule class.

Adding a rule: write its final :class:`~.rule.AbstractRule` subclass in its own module (a
``name``, ``approximate``, ``description``, its options as validated fields, ``prepare``,
``gradient``, ``check``) and add the class to ``RULES`` below. :func:`value_and_grad`,
``neurodyn.learn_bench`` and the registry tests (tests/test_learning_registry.py) read this
table, so the new rule is dispatched, benchmarked on request and gradient-checked without
further edits.
"""

from __future__ import annotations

from types import MappingProxyType

from ..errors import ParameterError
from .adjoint import Adjoint
from .bptt import Bptt, BpttScan
from .eprop import Eprop
from .fixed_point import Eqprop, Implicit, RecurrentBackprop
from .kf_rtrl import KfRtrl
from .params import TRAINABLE, Params
from .rtrl import Rflo, Rtrl, RtrlDiscrete
from .rule import AbstractRule
from .snap1 import Snap1
from .tasks import AbstractTask
from .uoro import Uoro

RULES = MappingProxyType({rule.name: rule for rule in (
    Bptt,
    BpttScan,
    Adjoint,
    Rtrl,
    RtrlDiscrete,
    Rflo,
    Eprop,
    Snap1,
    Uoro,
    KfRtrl,
    Implicit,
    RecurrentBackprop,
    Eqprop,
)})
"""Registry name → final rule class (read-only), in the order rules are listed to users."""

METHODS = tuple(RULES)
"""Every registry name."""
TRAJECTORY_METHODS = MappingProxyType(
    {name: rule for name, rule in RULES.items() if rule.kind == "trajectory"})
"""Names → rule classes of the rules that take a TrajectoryTask."""
FIXED_POINT_METHODS = MappingProxyType(
    {name: rule for name, rule in RULES.items() if rule.kind == "fixed_point"})
"""Names → rule classes of the rules that take a FixedPointTask."""
APPROXIMATE_METHODS = tuple(name for name, rule in RULES.items() if rule.approximate)
"""Names of the rules whose result is not the gradient (compare with ``alignment``)."""


def rule(method: str, **options) -> AbstractRule:
    """The rule ``method`` (a name in ``METHODS``) with ``options`` (its fields; see the rule
    class's docstring), validated."""
    if not isinstance(method, str) or method not in RULES:
        raise ParameterError(f"method={method!r}; allowed: {METHODS}")
    return RULES[method](**options)


def value_and_grad(params: Params, task: AbstractTask, method: str = "bptt", trainable=TRAINABLE,
                   **options):
    """(loss, {group: dL/dw}) of ``task`` at ``params`` by the learning rule ``method``.

    **Arguments:**
    - ``params``: :class:`Params` (network, B (n, n_in), W_out (n_out, n)).
    - ``task``: a :class:`TrajectoryTask` (methods in ``TRAJECTORY_METHODS``) or a
      ``FixedPointTask`` (methods in ``FIXED_POINT_METHODS``).
    - ``method``: one of ``METHODS``.
    - ``trainable``: the groups to differentiate, any non-empty subset of
      ("J", "theta", "B", "W_out").
    - ``options``: the rule's options (tolerances, ``dt``, ``stepper``, ``checkpoints``,
      ``solver``, ``beta`` …; see each rule class's docstring).

    **Returns:** the scalar loss and a dict of gradients with the shapes of the groups.
    """
    return rule(method, **options).value_and_grad(params, task, trainable)
