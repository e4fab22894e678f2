"""A user's own durable swarm survives kill -9 at several points: nothing lost, nothing doubled,
no finished agent run again; on a real SQLite file and a real PostgreSQL server."""
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from agentcore import AgentSpec, State, Swarm, batch_action
from agentcore.store import AgentRecord, open_store

HERE = os.path.dirname(__file__)
JOB = os.path.join(HERE, "durable_job.py")
GROUPS, ITEMS = 30, 10
FAILING = {f"group-0{g}/item-07" for g in range(10)}


def start(db, run_id, log, slow="0.02"):
    return subprocess.Popen([sys.executable, JOB, db, run_id, log, slow], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def n_records(db, run_id) -> int:
    with open_store(db) as store:
        return len(store.finished_agents(run_id))


def kill_after(db, run_id, log, at_least: int) -> set:
    """Run the job, kill -9 it once ``at_least`` agent records are durable; return their keys."""
    proc = start(db, run_id, log)
    deadline = time.monotonic() + 120  # a correctness bound: the job must get there at all
    try:
        while n_records(db, run_id) < at_least:
            assert proc.poll() is None, f"the job ended before the kill: {proc.communicate()}"
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with open_store(db) as store:
        return set(store.finished_agents(run_id))


def test_kill_9_at_several_points_then_resume_loses_and_doubles_nothing(db_url, tmp_path):
    run_id = "durable-1"
    log = str(tmp_path / "executions.log")
    finished_before = set()
    for at_least in (40, 120, 220):
        done = kill_after(db_url, run_id, log, at_least)
        assert done >= finished_before  # a durable end is never lost
        finished_before = done
    executed_before = Counter(open(log).read().split())
    proc = start(db_url, run_id, log)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    executed = Counter(open(log).read().split())
    rerun = executed - executed_before
    # no agent whose end was durable before the last kill ran again
    assert not set(rerun) & finished_before, sorted(set(rerun) & finished_before)[:5]
    with open_store(db_url) as store:
        records = store.finished_agents(run_id)
        n_items = GROUPS * ITEMS
        assert len(records) == GROUPS + n_items
        assert {k for k, r in records.items() if r.state == "FAILED"} == FAILING
        assert all(r.reason == "work: RuntimeError: a raising item" for k, r in records.items()
                   if k in FAILING)
        results = store.query("SELECT item, value FROM test_results WHERE run_id = ?", (run_id,))
        items = [i for i, _ in results]
        assert len(items) == len(set(items)) == n_items - len(FAILING)  # each row exactly once
        assert all(v == sum(map(ord, i)) for i, v in results)
        assert all(records[i].values == {"value": sum(map(ord, i))} for i in items)
        summaries = dict(store.query("SELECT grp, n_items FROM test_summaries WHERE run_id = ?",
                                     (run_id,)))
        # every group counted all its items' rows, including those stored before the kills
        assert summaries == {f"group-{g:02d}": ITEMS - (1 if g < 10 else 0)
                             for g in range(GROUPS)}


def test_a_finished_run_reruns_nothing(tmp_path):
    db, log = str(tmp_path / "s.db"), str(tmp_path / "log")
    for _ in range(2):
        proc = start(db, "r", log, "0")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = open(log).read().split()
    assert len(lines) == len(set(lines)) == GROUPS * ITEMS - len(FAILING)
    assert "counts={'DONE': 0" in out  # the second run found every agent finished


def test_durable_swarm_records_each_end_once_in_process(tmp_path, impl):
    def work(batch):
        for j, k in enumerate(batch.get("key")):
            if k.endswith("3"):
                batch.fail(j, "bad_input")
            else:
                batch.swarm.data["out"][batch.ids[j]] = k.upper()

    spec = AgentSpec([State("W", batch_action(work, reads=["key"], writes=["out"]),
                            on_ok="DONE")], inputs=["key"])
    with open_store(str(tmp_path / "d.db")) as store:
        store.create_run(run_id="r")
        sw = Swarm(spec, rows={"key": [f"k{i}" for i in range(20)]}, store=store, run_id="r",
                   key="key", outputs=["out"], kernels=impl)
        assert sw.run().counts["DONE"] == 18
        recs = store.finished_agents("r")
        assert recs["k3"] == AgentRecord(key="k3", state="FAILED", reason="bad_input",
                                         values={"out": None}, finished_at=recs["k3"].finished_at)
        assert recs["k4"].state == "DONE" and recs["k4"].values == {"out": "K4"}
        again = Swarm(spec, rows={"key": [f"k{i}" for i in range(25)]}, store=store, run_id="r",
                      key="key", outputs=["out"], kernels=impl)
        res = again.run()  # only the 5 new keys run (k23 fails by the rule above)
        assert again.size == 5 and res.counts["DONE"] == 4 and res.counts["FAILED"] == 1


def test_durable_swarm_needs_a_declared_key():
    spec = AgentSpec([State("W", batch_action(lambda b: None), on_ok="DONE")], inputs=["url"])
    with pytest.raises(ValueError, match="key='id' must be one of the spec's inputs"):
        Swarm(spec, 1, store=object(), run_id="r", key="id")
