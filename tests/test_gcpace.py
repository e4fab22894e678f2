"""The collector's pace during a swarm run (agentcore.gcpace): raised while runs are live,
restored after, a user's own setting left alone, and young collections still made."""
import gc
import threading
import weakref

import pytest

from agentcore import AgentSpec, State, Swarm, async_action, batch_action
from agentcore.gcpace import YOUNG, run_pace


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_pace_is_raised_inside_and_restored_after(thresholds):
    gc.set_threshold(700, 10, 10)
    with run_pace():
        assert gc.get_threshold() == (YOUNG, 10, 10)
        young = gc.get_stats()[0]["collections"]
        kept = [[] for _ in range(3 * YOUNG)]  # live containers: the pace still collects
        assert 2 <= gc.get_stats()[0]["collections"] - young <= 3
    assert gc.get_threshold() == (700, 10, 10) and len(kept) == 3 * YOUNG


def test_nested_and_concurrent_runs_restore_once_the_last_ends(thresholds):
    gc.set_threshold(500, 7, 9)
    outer = run_pace()
    outer.__enter__()
    with run_pace(young=50_000):  # joins the live pace; does not re-save the raised one
        assert gc.get_threshold() == (YOUNG, 7, 9)
    assert gc.get_threshold() == (YOUNG, 7, 9)
    outer.__exit__(None, None, None)
    assert gc.get_threshold() == (500, 7, 9)


def test_a_users_higher_or_disabled_threshold_is_left_alone(thresholds):
    for mine in ((100_000, 10, 10), (0, 10, 10)):
        gc.set_threshold(*mine)
        with run_pace():
            assert gc.get_threshold() == mine
        assert gc.get_threshold() == mine


def test_the_pace_is_restored_when_the_block_raises(thresholds):
    gc.set_threshold(700, 10, 10)
    with pytest.raises(KeyError):
        with run_pace():
            raise KeyError("x")
    assert gc.get_threshold() == (700, 10, 10)


class _Node:
    pass


@pytest.mark.parametrize("kind", ["batch", "async"])
def test_swarm_runs_under_the_pace_and_leaves_no_cycle_behind(impl, thresholds, kind):
    gc.set_threshold(700, 10, 10)
    seen, refs, lock = [], [], threading.Lock()

    def cycle():
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # garbage only the collector frees
        refs.append(weakref.ref(a))

    def act(batch):
        with lock:
            seen.append(gc.get_threshold())
            cycle()

    async def one(swarm, aid):
        with lock:
            seen.append(gc.get_threshold())
            cycle()

    action = batch_action(act, inline=True) if kind == "batch" else async_action(one)
    swarm = Swarm(AgentSpec([State("A", action, on_ok="DONE")]), 50, kernels=impl)
    assert swarm.run().done == 50
    assert seen and set(seen) == {(YOUNG, 10, 10)}
    assert gc.get_threshold() == (700, 10, 10)
    gc.collect()
    assert refs and all(r() is None for r in refs)
