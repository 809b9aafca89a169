"""A second ``simulate`` call with the same shapes reuses the compiled solve.

Counted, not timed: jax reports every XLA backend compilation and every jaxpr trace through
``jax.monitoring`` duration events; a cache hit emits neither. A sweep over g, seeds, noise
amplitude or tolerances must therefore compile once per shape (performance issue: "no re-jit per
call in a sweep").
"""

import contextlib

import jax.monitoring
import pytest

import neurodyn as nd

COMPILE = "/jax/core/compile/backend_compile_duration"
TRACE = "/jax/core/compile/jaxpr_trace_duration"


@contextlib.contextmanager
def compile_counter():
    counts = {COMPILE: 0, TRACE: 0}

    def listener(event, duration, **kwargs):
        if event in counts:
            counts[event] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counts
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@pytest.mark.parametrize("first, second", [
    # ODE: another network (seed, g), another initial condition seed and other tolerances.
    (dict(N=30, g=2.0, seed=0, sim=dict(seed=0, rtol=1e-6)),
     dict(N=30, g=1.5, seed=1, sim=dict(seed=5, rtol=1e-4, atol=1e-5))),
    # SDE: another noise amplitude and another Brownian seed.
    (dict(N=30, g=2.0, seed=0, sim=dict(noise=0.5, solver="euler", dt=0.05, seed=0)),
     dict(N=30, g=2.0, seed=3, sim=dict(noise=0.2, solver="euler", dt=0.05, seed=9))),
])
def test_second_call_with_same_shapes_does_not_compile(first, second):
    def call(spec):
        net = nd.Network.random(N=spec["N"], g=spec["g"], seed=spec["seed"])
        return nd.simulate(net, t1=2.0, dt_save=0.5, trials=2, **spec["sim"])

    call(first)
    with compile_counter() as counts:
        call(second)
    assert counts == {COMPILE: 0, TRACE: 0}


def test_counter_sees_a_new_shape_compile(without_compilation_cache):
    # Control: the counter is not blind. A new N (new array shapes) must compile the solve.
    net = nd.Network.random(N=31, g=2.0, seed=0)
    nd.simulate(net, t1=2.0, dt_save=0.5, trials=2)
    with compile_counter() as counts:
        nd.simulate(nd.Network.random(N=33, g=2.0, seed=0), t1=2.0, dt_save=0.5, trials=2)
    assert counts[COMPILE] >= 1 and counts[TRACE] >= 1
