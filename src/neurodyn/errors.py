"""Exceptions raised by neurodyn.

Every user mistake raises a :class:`ParameterError` (a ``ValueError``) whose message names the
parameter, the value given and what is allowed. Problems with stored runs raise
:class:`RunError` (damaged data: :class:`CorruptRunError`). Numerical failures (a trajectory
that blows up, a solver that does not converge) raise :class:`DivergenceError` /
:class:`ConvergenceError` and say where they happened. The CLI turns any
:class:`NeurodynError` into a one-line message and exit code 2.
"""

from __future__ import annotations


class NeurodynError(Exception):
    """Base class of every error neurodyn raises on purpose."""


class ParameterError(NeurodynError, ValueError):
    """A parameter is outside its allowed range or of the wrong kind."""


class RunError(NeurodynError, ValueError):
    """A stored run cannot be written or read (exists already, partial, unreadable)."""


class CorruptRunError(RunError):
    """A stored run is damaged: an array, a chunk file or a checksum does not match what the
    run recorded when it was written. ``variable`` and ``chunk`` (a chunk index tuple) name the
    first damaged place found, when known; ``path`` is the store."""

    def __init__(self, message: str, *, path: str | None = None, variable: str | None = None,
                 chunk: tuple[int, ...] | None = None):
        super().__init__(message)
        self.path, self.variable, self.chunk = path, variable, chunk

    def __reduce__(self):
        # keep the attributes when dask sends the error from a worker to the client
        return (type(self), (str(self),), dict(vars(self)))


class DivergenceError(NeurodynError, FloatingPointError):
    """A trajectory became infinite or NaN; the message names the time."""


class ConvergenceError(NeurodynError, RuntimeError):
    """An iterative solver (fixed point, self-consistency, root finding) did not converge."""
