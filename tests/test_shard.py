"""Sharded runs on a real local Ray cluster: 2 shards store the rows one process stores, on both stores, and survive a killed shard."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from agentcore.crawl.jobfile import parse_job
from agentcore.crawl.tables import ROW_TYPES
from agentcore.shard import WorkQueue, run_stats, split_by_host
from agentcore.store import open_store
from agentcore.store.schema import from_db, table_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# small: the machine is shared; generous timeouts: a loaded CPU must not turn ok pages into
# timeouts (the slow pages, 10x longer than the timeout, still time out in every run)
N_SITES, PAGES, SEED, TIMEOUT = 12, (5, 8), 7, 6.0
JOB = parse_job(f"[crawl]\nmax_pages = 8\ntimeout = {TIMEOUT}\ndelay = 0.0\nper_host = 4")
VOLATILE = {"run_id", "fetched_at", "elapsed_ms", "finished_at", "created_at", "at"}


def serve():
    """A fresh local web per run: its flaky pages remember who asked, so runs never share one."""
    from agentcore.crawl.inputs import Sites
    from agentcore.web.server import ProcessServer

    server = ProcessServer(n_sites=N_SITES, pages_per_site=PAGES, seed=SEED,
                           slow_seconds=10 * TIMEOUT).start()
    return Sites(server.web.home_urls(), server.host_map(), None, [], server)


def table_rows(store, run_id) -> dict[str, set]:
    """Every row of every crawl table of a run, without its timestamps and timings."""
    out = {}
    for t in ROW_TYPES:
        tab = table_of(t)
        cols = [(c, kind) for c, kind in tab.columns if c not in VOLATILE]
        rows = store.query(f"SELECT {', '.join(c for c, _ in cols)} FROM {tab.name} "
                           "WHERE run_id = ?", (run_id,), uses=(t,))
        out[tab.name] = {tuple(same(from_db(kind, v)) for (_, kind), v in zip(cols, r))
                         for r in rows}
    return out


def same(value):
    """A value as both stores give it back (floats to 6 places)."""
    return round(value, 6) if isinstance(value, float) else value


def differences(got: dict, want: dict) -> str:
    """The rows only one run has, per table (what a failed comparison shows)."""
    return "; ".join(f"{name}: only sharded {sorted(got[name] - want[name])[:4]}, only one "
                     f"process {sorted(want[name] - got[name])[:4]}"
                     for name in want if got[name] != want[name])


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The rows of a one-process run of the same job on the same web (the reference)."""
    from agentcore.shard.worker import jobfile_factory

    make_job, _ = jobfile_factory(JOB, llm=False)
    store = open_store(str(tmp_path_factory.mktemp("one") / "one.db"))
    run_id = store.create_run({})
    with serve() as sites:
        job = make_job(store, run_id, None)
        asyncio.run(job.run(sites.home_urls, hosts=sites.static_hosts))
    rows = table_rows(store, run_id)
    store.close()
    assert len(rows["sites"]) == N_SITES and len(rows["pages"]) > 3 * N_SITES
    return rows


@pytest.fixture(scope="module")
def ray_local():
    import ray  # the test extra installs it; a missing ray is a broken setup, not a skip

    from agentcore.shard.driver import start_ray

    start_ray("local", 2)  # one logical CPU per shard
    yield ray
    ray.shutdown()


def sharded(store_url, ray_local, progress=None, chunk=2):
    from agentcore.shard import run_sharded

    store = open_store(store_url)
    run_id = store.create_run({"shards": 2})
    store.close()
    with serve() as sites:
        run = run_sharded(JOB, sites, shards=2, address="local", store_url=store_url,
                          run_id=run_id, chunk=chunk, progress=progress, start_timeout=180)
    store = open_store(store_url)
    try:
        return run, table_rows(store, run_id)
    finally:
        store.close()


def test_two_shards_store_the_rows_of_one_process(db_url, ray_local, one_process):
    run, rows = sharded(db_url, ray_local)
    assert run.queue.finished and not run.lost and len(run.queue.done) == N_SITES // 2
    assert {k: len(v) for k, v in rows.items()} == {k: len(v) for k, v in one_process.items()}
    assert rows == one_process, differences(rows, one_process)
    rates = run.shard_rates()
    assert set(rates) == {"shard-0", "shard-1"} and all(r > 0 for r in rates.values())
    assert run.timeline and run.timeline[-1]["pages"] > 0
    assert run.agents == len(rows["sites"]) + len(rows["pages"]) + sum(
        1 for f in rows["failures"] if f[0] == "page")
    stats = json.loads(json.dumps(run_stats(run)))  # what store.finish_run keeps
    assert stats["shards"] == 2 and stats["shards_lost"] == 0 and stats["agents"] == run.agents
    from agentcore.demo.run import extra_rows  # the live display reads a run like a job
    assert dict(extra_rows(run, run.engine))["pages ok / failed"] == (
        f"{len(rows['pages'])} / {run.stats['pages_failed']}")


def test_a_killed_shard_loses_and_doubles_nothing(tmp_path, ray_local, one_process):
    killed = []  # (shard name, the sites of the chunk it was running)

    def kill_one(run):
        # the first shard seen mid-chunk once pages are stored: which one depends on how fast
        # the crawl runs (a chunk with a slow page takes >= the 6 s timeout, so one is found)
        if killed or run.stats["pages_ok"] < 6:
            return
        for h in run.shards:
            chunk = list(run.queue.running.get(h.name, ()))
            if h.call is not None and chunk:
                ray_local.kill(h.actor)
                killed.append((h.name, chunk))
                return

    run, rows = sharded(str(tmp_path / "kill.db"), ray_local, progress=kill_one, chunk=3)
    assert killed, "the test never found a shard mid-chunk"
    assert run.lost == [killed[0][0]] and run.queue.requeued == 1 and run.queue.finished
    assert rows == one_process, differences(rows, one_process)  # the other shard finished the chunk; keys make rows unique


def test_two_shards_each_with_its_engine_answer_as_one_process(tmp_path, ray_local):
    """An LLM in each shard: the answers (category, summary, raw reply, token counts) of 2 shards,
    each with its own engine and its own sites' batches, are the answers of one process (the
    engine's greedy output does not depend on which sequences share its batch)."""
    from agentcore.shard import run_sharded
    from agentcore.shard.worker import jobfile_factory

    make_job, make_engine = jobfile_factory(JOB, llm=True)
    one = open_store(str(tmp_path / "one.db"))
    one_id = one.create_run({})
    engine = make_engine(None)
    try:
        with serve() as sites:
            asyncio.run(make_job(one, one_id, engine).run(sites.home_urls, hosts=sites.static_hosts))
    finally:
        engine.close()
    want = table_rows(one, one_id)
    one.close()
    url = str(tmp_path / "two.db")
    store = open_store(url)
    run_id = store.create_run({"shards": 2})
    store.close()
    with serve() as sites:
        run = run_sharded(JOB, sites, shards=2, address="local", store_url=url, run_id=run_id,
                          llm=True, chunk=2, start_timeout=180)
    assert run.queue.finished and not run.lost
    with open_store(url) as store:
        got = table_rows(store, run_id)
    answers = want["llm_results"]
    assert len(answers) == N_SITES and all(a[1] and a[2] for a in answers), sorted(answers)[:3]
    assert got == want, differences(got, want)


def test_hosts_split_into_chunks_and_a_lost_chunk_runs_first():
    urls = ["http://a.test/", "http://b.test/", "http://a.test/x", "http://c.test/"]
    assert split_by_host(urls, 2) == [["http://a.test/", "http://a.test/x", "http://b.test/"],
                                      ["http://c.test/"]]
    q = WorkQueue(split_by_host(urls, 1))
    first = q.take("s0")
    assert q.take("s1") == ["http://b.test/"]
    assert q.lose("s0") == first
    q.finish("s1")
    assert q.take("s1") == first and not q.finished
    q.finish("s1")
    assert q.take("s1") == ["http://c.test/"]
    q.finish("s1")
    assert q.finished and q.requeued == 1


def test_import_agentcore_loads_no_ray():
    code = "import sys, agentcore, agentcore.shard; assert 'ray' not in sys.modules, 'ray loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_demo_command_on_ray_stores_what_one_process_stores(tmp_path):
    """`agentcore demo --ray local --shards 2` (the CLI, a fresh process with its own local Ray
    cluster) gives the row counts and keys of the same demo run in one process."""
    def demo(db, *extra):
        out = subprocess.run([sys.executable, "-m", "agentcore.cli", "demo", "--sites", "8",
                              "--pages", "4", "--no-llm", "--timeout", "6", "--db", db,
                              "--report", str(tmp_path / "r.html"), *extra],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        with open_store(db) as store:
            run_id = store.runs()[-1].run_id
            return {t: {tuple(r[:2]) for r in store.query(f"SELECT * FROM {t} WHERE run_id = ?",
                                                          (run_id,))}
                    for t in ("sites", "pages", "keywords", "failures")}

    one = demo(str(tmp_path / "one.db"))
    two = demo(str(tmp_path / "two.db"), "--ray", "local", "--shards", "2")
    assert {t: len(v) for t, v in two.items()} == {t: len(v) for t, v in one.items()}
    assert len(one["pages"]) > 20 and len(one["sites"]) == 8
    strip = lambda rows: {r[1:] for r in rows}  # noqa: E731 - the run ids differ, the keys must not
    assert {t: strip(v) for t, v in two.items()} == {t: strip(v) for t, v in one.items()}
