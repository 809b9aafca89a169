"""learn-race: the quick grid end to end through the CLI (run, store, figure, redraw, README
table), the tuning choice recomputed from the stored table, the NMSE normalisation against the
closed form, and the flip-flop task's targets against its inputs. (Timings are not asserted:
they are the job's output, not a correctness property.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import keyword_clashes

import neurodyn as nd
from neurodyn import cli, plots
from neurodyn import learn_race as lr
from neurodyn.learning import flip_flop, sine_generation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    out = tmp_path_factory.mktemp("race") / "race.zarr"
    assert cli.main(["learn-race", "--quick", "--out", str(out)]) == 0
    return out, nd.open_run(out).load()


def test_quick_run_is_stored_with_its_tuning(stored):
    path, ds = stored
    assert ds.attrs["kind"] == "learn_race" and path.with_suffix(".png").exists()
    assert keyword_clashes(ds) == set()
    spec = lr.GRIDS["quick"]
    assert list(ds.rule.values) == list(spec["rules"])
    assert dict(ds.sizes) == {"rule": 2, "task": 2, "n": 1, "seed": 1, "candidate": 3}
    for rule in map(str, ds.rule.values):
        online = str(ds.kind.sel(rule=rule).values) == "online"
        grid = lr.ALPHAS if online else lr.LEARNING_RATES
        for task in map(str, ds.task.values):
            tuning = ds.sel(rule=rule, task=task)
            np.testing.assert_array_equal(tuning.tuning_value.values, grid)
            # the choice, recomputed from the stored table: reached first, then fewest
            # trials, then the lowest loss
            score = [(not (loss <= ds.attrs["criterion"]), trials, loss) for trials, loss in
                     zip(tuning.tuning_trials.values, tuning.tuning_loss.values, strict=True)]
            best = min(range(len(grid)), key=lambda c: score[c])
            assert float(tuning.tuned_value) == grid[best]
    # reached means the criterion; trials within the budget (online: m ≤ budget)
    np.testing.assert_array_equal(ds.reached.values,
                                  ds.final_loss.values <= ds.attrs["criterion"])
    assert np.all((ds.trials.values >= 0) & (ds.trials.values <= spec["budget_trials"]))
    assert np.all(ds.peak_bytes.values > 0) and np.all(ds.time_s.values > 0)
    # the untrained network's NMSE is > 1 on both tasks (a chaotic readout adds power), so a
    # final NMSE below 1 is learning: bptt_scan and FORCE both get there on the sine task
    assert np.all(ds.final_loss.sel(task="sine").values < 1.0)
    assert set(ds.attrs["skipped"]) == set()  # the quick grid names its rules


def test_redraw_and_readme_table(stored, tmp_path):
    path, ds = stored
    figure = tmp_path / "again.png"
    assert cli.main(["plot", str(path), "--figure", str(figure)]) == 0
    assert figure.stat().st_size > 10_000
    spec = importlib.util.spec_from_file_location("readme_learn_race",
                                                  ROOT / "scripts" / "readme_learn_race.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    text, rows = script.markdown(ds)
    assert text.count("\n| ") == 4  # one row per (rule, task) after header and separator
    row = next(r for r in rows if r["rule"] == "force" and r["task"] == "sine")
    assert row["final_loss"] == float(ds.final_loss.sel(rule="force", task="sine").median())


def test_rules_that_cannot_race_are_skipped_with_a_reason():
    racing, skipped = lr.candidates()
    assert {"bptt", "adjoint", "rtrl", "rflo", "force", "full_force"} <= set(racing)
    assert {"implicit", "recurrent_backprop", "eqprop"} <= set(skipped)
    assert all("FixedPointTask" in reason for reason in skipped.values())
    with pytest.raises(nd.ParameterError, match="rule='nope'"):
        lr.candidates(["nope"])
    assert "learn_race" in plots.FIGURE_KINDS


def test_nmse_normalisation_is_the_target_power():
    """L₀ of the sine task: the trapezoid rule of ∫ ½ (a sin(2πt/P))² dt over whole periods is
    exact on a uniform grid (the discrete sum of sin² over a period is half the count), so
    L₀ = a² T / 4 to rounding."""
    _, task = sine_generation(n=4, duration=10.0, period=5.0, amplitude=0.5, dt_sample=0.1)
    assert lr._power(task) == pytest.approx(0.25 * 10.0 / 4, rel=1e-12)


def test_flip_flop_targets_hold_the_last_pulse():
    _, task = flip_flop(n=4, bits=3, duration=40.0, pulse_rate=0.3, dt_sample=0.1, seed=2)
    x, y = np.asarray(task.inputs), np.asarray(task.targets)
    w = np.asarray(task.weights)
    assert np.all(x[0] != 0)  # every channel starts with a pulse
    for channel in range(3):
        pulsing = x[:, channel] != 0
        # during a pulse the target is its sign; between pulses it does not change
        np.testing.assert_array_equal(y[pulsing, channel], np.sign(x[pulsing, channel]))
        changes = np.flatnonzero(np.diff(y[:, channel]) != 0) + 1
        assert np.all(pulsing[changes]), channel
        assert len(changes) >= 2  # pulses of both signs occurred over 40 τ at 0.3 / τ
    assert w[0] == 0 and w[-1] == 1  # the washout until the first pulse has ended
    _, other = flip_flop(n=4, bits=3, duration=40.0, pulse_rate=0.3, dt_sample=0.1, seed=2,
                         trial=1)
    assert not np.array_equal(np.asarray(other.inputs), x)  # a held-out trial differs
