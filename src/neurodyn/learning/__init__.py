"""Learning rules for SCS networks: one public dispatcher over one module per method.

Trajectory tasks (:class:`TrajectoryTask`): ``bptt`` (reverse mode through diffrax with
checkpointing), ``bptt_scan`` (through a fixed-step ``lax.scan``), ``adjoint`` (continuous
adjoint solved backwards, memory flat in T), ``rtrl`` (exact forward sensitivities, augmented
ODE), ``rtrl_discrete`` (the same in discrete time), ``rflo`` (diagonal eligibility traces, an
approximation). Fixed-point tasks (``FixedPointTask`` of :mod:`.fixed_point`): ``implicit``,
``recurrent_backprop``, ``eqprop``.
"""

from __future__ import annotations

import importlib

from ..errors import ParameterError
from .adjoint import adjoint_value_and_grad
from .bptt import bptt_scan_value_and_grad, bptt_value_and_grad
from .params import TRAINABLE, Params, readout, vector_field
from .rtrl import alignment, rflo_value_and_grad, rtrl_discrete_value_and_grad, rtrl_value_and_grad
from .tasks import TrajectoryTask, sine_generation
from .train import train

TRAJECTORY_METHODS = {
    "bptt": bptt_value_and_grad,
    "bptt_scan": bptt_scan_value_and_grad,
    "adjoint": adjoint_value_and_grad,
    "rtrl": rtrl_value_and_grad,
    "rtrl_discrete": rtrl_discrete_value_and_grad,
    "rflo": rflo_value_and_grad,
}
"""Trajectory-task methods → their ``(params, task, trainable, **options) -> (loss, grads)``."""

APPROXIMATE_METHODS = ("rflo",)
"""Methods that return an approximate gradient (compare with :func:`alignment`)."""

FIXED_POINT_METHODS = {
    "implicit": "implicit_value_and_grad",
    "recurrent_backprop": "recurrent_backprop_value_and_grad",
    "eqprop": "eqprop_value_and_grad",
}
"""Fixed-point-task methods → their function names in :mod:`neurodyn.learning.fixed_point`."""

METHODS = tuple(TRAJECTORY_METHODS) + tuple(FIXED_POINT_METHODS)


def _fixed_point_module():
    """neurodyn.learning.fixed_point, imported lazily (it is optional for trajectory work)."""
    try:
        return importlib.import_module(".fixed_point", __name__)
    except ModuleNotFoundError as error:
        if error.name and error.name.endswith("fixed_point"):
            return None
        raise


def __getattr__(name: str):
    if name == "FixedPointTask":
        module = _fixed_point_module()
        if module is not None:
            return module.FixedPointTask
    if name == "fixed_point":
        module = _fixed_point_module()
        if module is not None:
            return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def value_and_grad(params: Params, task, method: str = "bptt", trainable=TRAINABLE, **options):
    """(loss, {group: dL/dw}) of ``task`` at ``params`` by the learning rule ``method``.

    **Arguments:**
    - ``params``: :class:`Params` (network, B (n, n_in), W_out (n_out, n)).
    - ``task``: a :class:`TrajectoryTask` (methods in ``TRAJECTORY_METHODS``) or a
      ``FixedPointTask`` (methods in ``FIXED_POINT_METHODS``).
    - ``method``: one of ``METHODS``.
    - ``trainable``: the groups to differentiate, any non-empty subset of
      ("J", "theta", "B", "W_out").
    - ``options``: passed to the method (tolerances, ``dt``, ``stepper``, ``checkpoints``,
      ``solver``, ``beta`` …; see each method's docstring).

    **Returns:** the scalar loss and a dict of gradients with the shapes of the groups.
    """
    if method in TRAJECTORY_METHODS:
        if not isinstance(task, TrajectoryTask):
            raise ParameterError(
                f"method={method!r} needs a TrajectoryTask, got {type(task).__name__}; "
                f"fixed-point tasks take one of {tuple(FIXED_POINT_METHODS)}")
        return TRAJECTORY_METHODS[method](params, task, trainable=trainable, **options)
    if method in FIXED_POINT_METHODS:
        module = _fixed_point_module()
        if module is None:
            raise ParameterError(f"method={method!r} needs neurodyn.learning.fixed_point, "
                                 "which is not installed in this checkout")
        if not isinstance(task, module.FixedPointTask):
            raise ParameterError(
                f"method={method!r} needs a FixedPointTask, got {type(task).__name__}; "
                f"trajectory tasks take one of {tuple(TRAJECTORY_METHODS)}")
        return getattr(module, FIXED_POINT_METHODS[method])(params, task, trainable=trainable,
                                                            **options)
    raise ParameterError(f"method={method!r}; allowed: {METHODS}")


__all__ = [
    "APPROXIMATE_METHODS",
    "FIXED_POINT_METHODS",
    "METHODS",
    "TRAINABLE",
    "TRAJECTORY_METHODS",
    "Params",
    "TrajectoryTask",
    "alignment",
    "readout",
    "sine_generation",
    "train",
    "value_and_grad",
    "vector_field",
]
