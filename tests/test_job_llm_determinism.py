"""Same input, same rows, LLM answers included (issue 11's done-when): two uninterrupted runs of
the general job with the real model, and a run killed with kill -9 several times (in the crawl
and while answers are being written) and resumed, give identical rows in every table: pages,
keywords, near-duplicates, sites, failures and each site's answer, token for token."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crawl_rows import crawl_rows
from localweb import warm

from agentcore.crawl.tables import ROW_TYPES, LLMResult, Page
from agentcore.store import open_store
from agentcore.web.server import SyntheticWeb, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
WEB = dict(n_sites=5, pages_per_site=(2, 3), seed=23, hostile=False)

pytestmark = [pytest.mark.slow]

CHILD = """
import asyncio, json, sys
from agentcore.crawl.fetch import FetchConfig
from agentcore.crawl.job import CrawlJob
from agentcore.crawl.jobfile import parse_job
from agentcore.llm import Engine
from agentcore.store import open_store
db, run_id, resume, spec = sys.argv[1], sys.argv[2], sys.argv[3] == "1", json.loads(sys.argv[4])
job = parse_job("")  # the general job: categories, a one-sentence summary, the language
store = open_store(db)
with Engine(n_slots=spec["slots"], n_ctx_per_seq=job.context) as engine:
    pipe = CrawlJob(store, run_id, engine=engine, task=job.task, max_pages=2, resume=resume,
                    fetch_config=FetchConfig(**spec["fetch"]))
    asyncio.run(pipe.run(spec["urls"], hosts={h: tuple(a) for h, a in spec["hosts"].items()}))
store.close()
"""
FETCH = dict(connect_timeout=10.0, read_timeout=10.0, total_timeout=20.0, max_attempts=2,
             backoff=0.05, politeness_delay=0.0, per_host_limit=2, global_limit=32)


@pytest.fixture(scope="module")
def web():
    with serve_in_thread(SyntheticWeb(**WEB)) as server:
        warm(server, kinds=("home", "ok"))
        yield server


def spec_of(web, slots=2) -> dict:
    # two slots: the answers land in waves of two, so kills fall between them
    return {"urls": web.web.home_urls(), "hosts": web.host_map(), "fetch": FETCH, "slots": slots}


def new_run(db) -> str:
    store = open_store(db)
    try:
        return store.create_run({"test": "llm determinism"})
    finally:
        store.close()


def child(db, run_id, resume, spec) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, db, run_id, "1" if resume else "0",
                             json.dumps(spec)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=1800) -> tuple[str, str, int]:
    """The child's output and exit code; a child past ``timeout`` is killed, never left running."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the job ran past {timeout} s: {err[-2000:]}") from None
    return out, err, proc.returncode


def count(db, run_id, row_type) -> int:
    store = open_store(db)
    try:
        return store.count(row_type, run_id)
    except Exception:  # the tables are being created
        return 0
    finally:
        store.close()


def rows(db, run_id) -> dict:
    """Every row of the run in every crawl table, timing columns left out, sorted."""
    store = open_store(db)
    try:
        return crawl_rows(store, run_id, ROW_TYPES)
    finally:
        store.close()


def uninterrupted(db, spec) -> dict:
    run_id = new_run(db)
    out, err, code = finish(child(db, run_id, False, spec))
    assert code == 0, err[-3000:]
    return rows(db, run_id)


@pytest.fixture(scope="module")
def baseline(web, tmp_path_factory):
    want = uninterrupted(str(tmp_path_factory.mktemp("llm") / "a.db"), spec_of(web))
    assert len(want["Site"]) == WEB["n_sites"] and len(want["Page"]) >= 3 * WEB["n_sites"]
    # every site answered: the answers are what the comparisons are about
    assert len(want["LLMResult"]) == WEB["n_sites"], want["Failure"]
    return want


def differing(got: dict, want: dict) -> dict:
    return {t: (len(got[t]), len(want[t]), [r for r in got[t] if r not in want[t]][:2])
            for t in want if got[t] != want[t]}


def test_two_runs_give_identical_rows_and_answers(web, baseline, tmp_path):
    got = uninterrupted(str(tmp_path / "b.db"), spec_of(web))
    assert got == baseline, differing(got, baseline)


def test_kill_9_several_times_then_resume_gives_identical_rows_and_answers(web, baseline,
                                                                           tmp_path):
    db = str(tmp_path / "killed.db")
    run_id = new_run(db)
    spec = spec_of(web)
    n_pages, n_llm = len(baseline["Page"]), len(baseline["LLMResult"])
    # kill 1 in the crawl, kills 2 and 3 once some but not all answers are durable
    marks = [(Page, n_pages // 3), (LLMResult, 1), (LLMResult, n_llm // 2 + 1), None]
    kills, at_kill = 0, []
    for i, mark in enumerate(marks):
        proc = child(db, run_id, i > 0, spec)
        t0 = time.monotonic()
        while mark is not None and proc.poll() is None and time.monotonic() - t0 < 1800:
            if count(db, run_id, mark[0]) >= mark[1]:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                at_kill.append(count(db, run_id, LLMResult))
                break
            time.sleep(0.05)
        out, err, code = finish(proc)
        assert code in (0, -signal.SIGKILL), err[-3000:]
    assert kills >= 3, f"only {kills} kills landed before the run finished"
    assert any(0 < n < n_llm for n in at_kill), f"no kill landed among the answers: {at_kill}"
    got = rows(db, run_id)
    assert got == baseline, differing(got, baseline)
