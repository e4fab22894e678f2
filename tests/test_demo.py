"""The scrape-analyze-store swarm end to end: a real local web on 127.0.0.1, real fetches, the
real model, and the same checks against a SQLite file and a PostgreSQL server."""
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from agentcore.crawl.fetch import FetchConfig
from agentcore.crawl import queries
from agentcore.crawl.job import CrawlJob
from agentcore.crawl.tables import Failure, LLMResult, Page
from agentcore.demo.config import CATEGORIES, DEMO_TASK
from agentcore.demo.quality import score_answers, site_truth
from agentcore.store import open_store
from agentcore.web.server import SyntheticWeb, serve_in_thread
from localweb import warm

# Generous for a page of the (warmed) local web on a busy machine, and always too short for its
# slow pages (slow_seconds=3.0 below): every run ends the same way on every page.
FAST = dict(connect_timeout=2.0, read_timeout=1.5, total_timeout=2.5, max_attempts=2,
            backoff=0.05, politeness_delay=0.0)


@pytest.fixture(scope="module")
def hostile_web():
    # 24 sites x 5-9 pages: enough pages that every hostile kind appears at least once
    with serve_in_thread(SyntheticWeb(24, (5, 9), seed=7, slow_seconds=3.0)) as server:
        warm(server)
        yield server



def run_pipeline(db, server, engine=None, max_pages=30):
    store = open_store(db)
    run_id = store.create_run({"test": True})
    pipe = CrawlJob(store, run_id, engine=engine, task=DEMO_TASK, max_pages=max_pages,
                    fetch_config=FetchConfig(**FAST))
    res = asyncio.run(pipe.run(server.web.home_urls(), hosts=server.host_map()))
    return store, run_id, pipe, res


def test_every_page_ends_clean_or_as_a_recorded_failure(hostile_web, db_url):
    web = hostile_web.web
    store, run_id, pipe, res = run_pipeline(db_url, hostile_web)
    try:
        pages = {p.url: p for p in store.rows(Page, run_id)}
        failures = {(f.kind, f.key): f for f in store.rows(Failure, run_id)}
        expected = [p for p in web.pages(include_home=True)]
        assert len(expected) > 100
        seen_kinds = set()
        for truth in expected:
            seen_kinds.add(truth.kind)
            if truth.expect == "ok":
                assert truth.url in pages, f"{truth.kind} page {truth.url} was not stored: " \
                    f"{failures.get(('page', truth.url))}"
                assert pages[truth.url].n_words > 0
            else:
                f = failures.get(("page", truth.url))
                assert f is not None, f"{truth.kind} page {truth.url} left no failure row; " \
                    f"{[x for x in failures if truth.url in x[1]]} {truth.url in pages} {res.counts}"
                assert f.reason == truth.expect, (truth.kind, truth.url, f)
        assert {"redirect_ssrf", "gzip_bomb", "slow", "binary_as_html", "truncated",
                "bad_charset", "redirect_loop"} <= seen_kinds
        ssrf = [f for f in failures.values() if f.reason == "ssrf_blocked"]
        assert ssrf and "169.254.169.254" in ssrf[0].detail
        counts = queries.counts(store, run_id)
        assert counts["sites"] == 24
        assert counts["pages"] + sum(1 for k, _ in failures if k == "page") == len(expected)
        assert res.agents == 24 + len(expected)
        # nothing is lost in the swarm either: every agent reached DONE or FAILED
        assert res.counts["DONE"] + res.counts["FAILED"] == res.agents
    finally:
        store.close()


def test_near_duplicates_pair_only_copies(hostile_web, tmp_path):
    web = hostile_web.web
    store, run_id, pipe, res = run_pipeline(str(tmp_path / "d.db"), hostile_web)
    try:
        truth = {p.url: p.dup_of for p in web.pages(include_home=False) if p.dup_of}
        assert truth
        parent = {}

        def find(x):
            while parent.get(x, x) != x:
                x = parent[x]
            return x
        for a, b in truth.items():
            parent[find(a)] = find(b)
        found = queries.near_dup_pairs(store, run_id)
        found_set = {(a, b) for a, b, _ in found}
        for a, b in truth.items():
            assert (min(a, b), max(a, b)) in found_set, f"missed near-duplicate {a} ~ {b}"
        for a, b, sim in found:
            assert find(a) == find(b), f"unrelated pages paired: {a} ~ {b} ({sim:.2f})"
    finally:
        store.close()


@pytest.mark.slow
def test_sites_get_llm_summaries_from_the_real_model(tmp_path):
    from agentcore.llm import Engine
    from agentcore.cpu import CpuBudget

    budget = CpuBudget(total=2)
    leases = []
    lease = budget.lease

    def counting_lease(n=1):
        leases.append(n)
        return lease(n)

    budget.lease = counting_lease
    with serve_in_thread(SyntheticWeb(3, (4, 6), seed=11, hostile=False)) as server, \
            Engine(n_slots=8, budget=budget) as engine:
        store, run_id, pipe, res = run_pipeline(str(tmp_path / "llm.db"), server, engine=engine)
        try:
            results = store.rows(LLMResult, run_id)
            assert len(results) == 3, queries.failure_reasons(store, run_id)
            for r in results:
                assert r.category in CATEGORIES
                assert 16 <= len(r.summary) <= 100  # the schema's bounds
                # the demo's job shows placeholders, not worked examples the model could copy
                assert not DEMO_TASK.copies_prompt(r.summary), r.summary
                assert r.prompt_tokens > 0 and r.completion_tokens > 0
            # the bench's scoring on these real rows: every site's package is in the table
            score = score_answers(results, site_truth(3), DEMO_TASK)
            assert (score.answers, score.scored, score.unmapped, score.copies) == (3, 3, 0, 0)
            assert score.correct == sum(r.category in site_truth(3)[r.host] for r in results)
            assert res.counts["DONE"] == res.agents
            # the kernel batches (links, extract, analyse) took a core from the engine's budget
            assert len(leases) >= 3 and budget.leased == 0
        finally:
            store.close()


# ---- kill -9 and resume, through the CLI ----------------------------------------------------

DEMO = ["--sites", "8", "--pages", "6", "--timeout", "0.5", "--llm-slots", "8", "--seed", "5"]


def _counts(db):
    store = open_store(db)
    try:
        runs = store.runs()
        return queries.counts(store, runs[-1].run_id) if runs else {}, runs
    finally:
        store.close()


def _demo(db, report, *extra):
    return subprocess.Popen([sys.executable, "-m", "agentcore.cli", "demo", *DEMO, "--db", db,
                             "--report", str(report), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when(proc, db, ready, limit=300.0):
    """SIGKILL ``proc`` as soon as ``ready(counts)`` holds; True if it was killed mid-run."""
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < limit:
        try:
            counts, _ = _counts(db)
        except Exception:  # the store is being created: look again
            counts = {}
        if counts and ready(counts):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.05)
    out, err = proc.communicate(timeout=limit)
    assert proc.returncode == 0, err[-2000:]
    return False


def _llm_rows(db):
    store = open_store(db)
    try:
        run = store.runs()[-1]
        return {r.host: r.created_at for r in store.rows(LLMResult, run.run_id)}
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_then_resume_matches_an_uninterrupted_run(backend, tmp_path, request):
    def fresh_db(name):
        if backend == "sqlite":
            return str(tmp_path / f"{name}.db")
        return request.getfixturevalue("pg_server").create_database()

    base_db = fresh_db("base")
    proc = _demo(base_db, tmp_path / "base.html")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    want, _ = _counts(base_db)
    assert want["pages"] > 20 and want["llm_results"] > 0

    db = fresh_db("killed")
    kills = 0
    # kill 1: early in the crawl; kill 2: after some LLM results are durable
    proc = _demo(db, tmp_path / "k.html")
    kills += _kill_when(proc, db, lambda c: c.get("pages", 0) >= want["pages"] // 5)
    proc = _demo(db, tmp_path / "k.html", "--resume")
    kills += _kill_when(proc, db, lambda c: 0 < c.get("llm_results", 0) < want["llm_results"])
    durable_llm = _llm_rows(db)
    proc = _demo(db, tmp_path / "k.html", "--resume")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    assert kills >= 1, "the run finished before any kill landed"
    got, runs = _counts(db)
    assert len(runs) == 1 and runs[0].status == "finished"
    assert got == want
    # no finished LLM call was repeated: results durable before the kill were not rewritten
    after = _llm_rows(db)
    assert all(after[h] == t for h, t in durable_llm.items())
    # and the summary the demo printed names the database
    assert str(db) in err or str(db) in out
