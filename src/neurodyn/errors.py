"""Exceptions raised by neurodyn.

Every user mistake raises a :class:`ParameterError` (a ``ValueError``) whose message names the
parameter, the value given and what is allowed. Problems with stored runs raise
:class:`RunError`. Numerical failures (a trajectory that blows up, a solver that does not
converge) raise :class:`DivergenceError` / :class:`ConvergenceError` and say where they happened.
The CLI turns any :class:`NeurodynError` into a one-line message and exit code 2.
"""

from __future__ import annotations


class NeurodynError(Exception):
    """Base class of every error neurodyn raises on purpose."""


class ParameterError(NeurodynError, ValueError):
    """A parameter is outside its allowed range or of the wrong kind."""


class RunError(NeurodynError, ValueError):
    """A stored run cannot be written or read (exists already, partial, unreadable)."""


class DivergenceError(NeurodynError, FloatingPointError):
    """A trajectory became infinite or NaN; the message names the time."""


class ConvergenceError(NeurodynError, RuntimeError):
    """An iterative solver (fixed point, self-consistency, root finding) did not converge."""
