"""Names of the nonlinearities in :mod:`neurodyn.nonlinearity`, readable without importing JAX.

The command line validates ``--phi`` before it imports JAX; :mod:`neurodyn.nonlinearity` checks
at import that its registry holds exactly these names, so the two cannot drift apart.
"""

NAMES = ("tanh", "erf", "relu")
