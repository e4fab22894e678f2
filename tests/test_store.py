"""The store and the crawl queries: one suite run against SQLite and a real PostgreSQL server (the `db_url` fixture)."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest

from agentcore.crawl import queries
from agentcore.crawl.tables import Failure, Keyword, LLMResult, NearDup, Page, Site
from agentcore.store import AgentRecord, StoreError, col, open_store, table
from agentcore.store.schema import table_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def store(db_url):
    s = open_store(db_url, batch_ms=5)
    yield s
    try:
        s.close()
    except StoreError:
        pass  # a test that broke the writer on purpose already checked the error


def page(i: int, host: str = "a.test", **kw) -> Page:
    fields = dict(url=f"http://{host}/p{i}", host=host, status=200, n_bytes=1000 + i,
                  title=f"Page {i} — ünïcode", n_words=10 * i, simhash=(i * 0x9E3779B97F4A7C15) % 2**64,
                  excerpt=f"Sentence {i}.", fetched_at=1.5 * i, elapsed_ms=2.0)
    fields.update(kw)
    return Page(**fields)


def keywords(i: int, host: str = "a.test", k: int = 3) -> list[Keyword]:
    return [Keyword(url=f"http://{host}/p{i}", keyword=f"kw{j}", host=host, weight=1.0 / (j + 1))
            for j in range(k)]


def test_open_store_picks_backend(db_url, tmp_path):
    with open_store(db_url) as s:
        assert s.backend == ("postgres" if db_url.startswith("postgresql://") else "sqlite")
    with open_store(f"sqlite:///{tmp_path}/u.db") as s:
        assert s.backend == "sqlite" and s.path == tmp_path / "u.db"
    with pytest.raises(ValueError, match="in-memory"):
        open_store(":memory:")


def test_roundtrip_every_row_type(store):
    run = store.create_run({"sites": 2, "nested": {"x": [1, 2]}})
    rows = [Site(host="a.test", url="http://a.test/", n_pages=3, n_failed=1, robots=1, title="A",
                 finished_at=10.0),
            page(1), page(2, simhash=2**64 - 1), *keywords(1),
            NearDup(url_a="http://b.test/p1", url_b="http://a.test/p1", similarity=0.93),
            LLMResult(host="a.test", category="science", summary="A site about things.",
                      model="smollm2", prompt_tokens=120, completion_tokens=30, elapsed_ms=80.5,
                      raw='{"category": "science"}', created_at=11.0),
            Failure(kind="page", key="http://a.test/p9", host="a.test", stage="PAGE_FETCH",
                    reason="http_404", detail="GET http://a.test/p9 -> 404", attempts=1, at=3.0)]
    store.write(run, *rows)
    store.flush()
    assert store.rows(Site, run) == [rows[0]]
    assert store.rows(Page, run) == [page(1), page(2, simhash=2**64 - 1)]
    assert store.rows(Page, run)[1].simhash == 2**64 - 1  # unsigned survives the signed column
    assert store.rows(Keyword, run) == keywords(1)
    dup = store.rows(NearDup, run)[0]
    assert (dup.url_a, dup.url_b) == ("http://a.test/p1", "http://b.test/p1")  # ordered pair
    assert store.rows(LLMResult, run) == [rows[-2]]
    assert store.rows(Failure, run) == [rows[-1]]
    assert store.get_run(run).config == {"sites": 2, "nested": {"x": [1, 2]}}
    assert queries.counts(store, run) == {"sites": 1, "pages": 2, "keywords": 3, "near_dups": 1,
                                          "llm_results": 1, "failures": 1}


def test_write_rejects_bad_rows(store):
    run = store.create_run({})
    with pytest.raises(TypeError, match="declared with @table"):
        store.write(run, {"url": "x"})
    with pytest.raises(ValueError, match="must not be None"):
        store.write(run, Page(host="a.test"))
    with pytest.raises(ValueError, match="u64"):
        store.write(run, Page(url="u", simhash=2**64))
    with pytest.raises(ValueError, match="run_id"):
        store.write("", page(1))
    store.flush()
    assert queries.counts(store, run)["pages"] == 0


def test_rows_given_as_type_and_values_are_the_same_rows(store):
    """``(RowType, values)`` is a row without its object: the same params, checks and reads."""
    from dataclasses import astuple

    run, twin = store.create_run({}), store.create_run({})
    rows = [page(1), page(2, simhash=2**64 - 1), *keywords(1)]
    store.write(run, *rows)
    store.write(twin, *[(type(r), astuple(r)) for r in rows])
    store.flush()
    for kind in (Page, Keyword):
        assert store.rows(kind, twin) == store.rows(kind, run) != []
    with pytest.raises(ValueError, match="takes 4 values"):
        store.write(run, (Keyword, ("http://a.test/p1", "kw")))
    with pytest.raises(ValueError, match="must not be None"):
        store.write(run, (Keyword, (None, "kw", "a.test", 1.0)))
    with pytest.raises(ValueError, match="u64"):
        store.write(run, (Page, astuple(page(3, simhash=2**64))))
    with pytest.raises(TypeError, match="declared with @table"):
        store.write(run, (dict, ("url",)))


def test_numpy_scalars_are_plain_values_in_the_database(store):
    import numpy as np
    run = store.create_run({})
    store.write(run, Page(url="http://a.test/np", host="a.test", status=np.int32(200),
                          n_bytes=np.int64(12345), simhash=np.uint64(2**64 - 5),
                          elapsed_ms=np.float32(1.5), fetched_at=np.float64(2.25)),
                Keyword(url="http://a.test/np", keyword=np.str_("numpy"), host="a.test",
                        weight=np.float64(0.25)))
    store.flush()
    p = store.rows(Page, run)[0]
    assert (p.status, p.n_bytes, p.simhash, p.elapsed_ms, p.fetched_at) == (200, 12345, 2**64 - 5, 1.5, 2.25)
    assert type(p.status) is int and type(p.simhash) is int and type(p.elapsed_ms) is float
    assert store.rows(Keyword, run)[0].keyword == "numpy"


def test_pending_rows_and_flush_guard(store):
    run = store.create_run({})
    errors = []

    def done(err):
        try:
            store.flush()
        except StoreError as exc:
            errors.append(str(exc))
    store.write(run, page(1), done=done)
    store.flush()
    assert errors and "wait for itself" in errors[0]
    assert store.pending_rows == 0


def test_rewriting_same_rows_gives_same_counts(store):
    run = store.create_run({})
    for i in range(200):
        store.write(run, page(i), *keywords(i))
    store.write(run, NearDup("http://a.test/p1", "http://a.test/p2", 0.9))
    store.flush()
    first = queries.counts(store, run)
    assert first["pages"] == 200 and first["keywords"] == 600 and first["near_dups"] == 1
    # Replay everything, with changed values for some rows and the pair written reversed.
    for i in range(200):
        store.write(run, page(i, status=500 if i % 7 == 0 else 200), *keywords(i))
    store.write(run, NearDup("http://a.test/p2", "http://a.test/p1", 0.95))
    store.flush()
    assert queries.counts(store, run) == first
    by_url = {p.url: p for p in store.rows(Page, run)}
    assert by_url["http://a.test/p7"].status == 500  # last write wins
    assert by_url["http://a.test/p8"].status == 200
    assert store.rows(NearDup, run)[0].similarity == 0.95


def test_same_key_many_times_in_one_batch(db_url):
    # One huge batch holding the same keys repeatedly: PostgreSQL refuses to upsert a key twice
    # in one statement, so the store must de-duplicate inside a batch (last write wins).
    with open_store(db_url, batch_ms=60_000, batch_rows=10**9) as s:
        run = s.create_run({})
        for rep in range(5):
            for i in range(50):
                s.write(run, Page(url=f"http://a.test/p{i}", host="a.test", status=rep))
        commits = s.commits
        s.flush()
        assert s.commits == commits + 1  # all 250 writes went in one transaction
        pages = s.rows(Page, run)
        assert len(pages) == 50 and {p.status for p in pages} == {4}


def test_one_commit_of_many_statements_keeps_every_row_and_the_last_write(db_url):
    """SQLite writes a commit's rows many to a statement (not one step per row): rows across
    statement boundaries, a key repeated inside one statement and across two, all land once,
    with the value written last."""
    with open_store(db_url, batch_ms=60_000, batch_rows=10**9) as s:
        run = s.create_run({})
        rows = [Keyword(url=f"http://a.test/p{i // 7}", keyword=f"k{i % 7}", host="a.test",
                        weight=float(i)) for i in range(1_237)]
        rows += [Keyword(url="http://a.test/p0", keyword="k0", host="a.test", weight=-1.0),
                 Keyword(url="http://a.test/p0", keyword="k0", host="a.test", weight=-2.0)]
        s.write(run, *rows)
        s.flush()
        got = {(k.url, k.keyword): k.weight for k in s.rows(Keyword, run)}
    assert len(got) == 1_237 and got[("http://a.test/p0", "k0")] == -2.0
    assert got[("http://a.test/p176", "k4")] == 1_236.0


def test_group_commit_waits_for_flush_or_batch_size(db_url):
    with open_store(db_url, batch_ms=600_000, batch_rows=10**9) as s:
        run = s.create_run({})
        for i in range(100):
            s.write(run, page(i))
        time.sleep(0.2)
        assert queries.counts(s, run)["pages"] == 0  # nothing durable until the batch closes
        commits = s.commits
        s.flush()
        assert queries.counts(s, run)["pages"] == 100
        assert s.commits == commits + 1  # 100 units, one transaction
    with open_store(db_url, batch_ms=600_000, batch_rows=50) as s:
        run = s.create_run({})
        for i in range(120):
            s.write(run, page(i))
        # The size trigger commits without any flush; poll (generous limit, not a timing claim).
        for _ in range(600):
            if queries.counts(s, run)["pages"] >= 100:
                break
            time.sleep(0.05)
        assert queries.counts(s, run)["pages"] >= 100


def test_done_callback_runs_after_commit(db_url, store):
    run = store.create_run({})
    seen = []
    ev = threading.Event()

    def done(err):
        # Runs on the writer thread after COMMIT: another connection must already see the rows.
        with open_store(db_url) as other:
            seen.append((err, queries.finished_pages(other, run)))
        ev.set()
    store.write(run, page(1), *keywords(1), done=done)
    assert ev.wait(60)
    assert seen == [(None, {"http://a.test/p1"})]


def test_flush_async_from_event_loop(store):
    run = store.create_run({})

    async def main():
        for i in range(50):
            store.write(run, page(i))
        await store.flush_async()
        return queries.counts(store, run)["pages"]
    assert asyncio.run(main()) == 50


def test_crawl_resume_sets(store):
    run, other = store.create_run({}), store.create_run({})
    store.write(run, Site(host="a.test"), Site(host="b.test"),
                Failure(kind="site", key="c.test", host="c.test", reason="robots_disallow"))
    store.write(run, page(1), page(2), Failure(kind="page", key="http://a.test/p3", reason="timeout"))
    store.write(run, LLMResult(host="a.test", category="news"),
                Failure(kind="llm", key="b.test", reason="invalid_json"))
    store.write(other, Site(host="z.test"), page(9, host="z.test"), LLMResult(host="z.test"))
    store.flush()
    assert queries.finished_sites(store, run) == {"a.test", "b.test", "c.test"}
    assert queries.finished_sites(store, run, include_failed=False) == {"a.test", "b.test"}
    assert queries.finished_pages(store, run) == {"http://a.test/p1", "http://a.test/p2", "http://a.test/p3"}
    assert queries.finished_pages(store, run, include_failed=False) == {"http://a.test/p1", "http://a.test/p2"}
    assert queries.llm_done(store, run) == {"a.test", "b.test"}
    assert queries.llm_done(store, run, include_failed=False) == {"a.test"}
    assert queries.finished_sites(store, other) == {"z.test"}


def test_runs_lifecycle(store):
    assert store.latest_unfinished_run() is None
    r1 = store.create_run({"n": 1})
    time.sleep(0.01)  # created_at orders runs; make the two distinct
    r2 = store.create_run({"n": 2})
    assert store.latest_unfinished_run().run_id == r2
    store.finish_run(r2, {"pages": 10, "wall_time_s": 1.5})
    latest = store.latest_unfinished_run()
    assert latest.run_id == r1 and latest.config == {"n": 1} and latest.status == "running"
    done = store.get_run(r2)
    assert done.status == "finished" and done.stats == {"pages": 10, "wall_time_s": 1.5}
    assert done.finished_at >= done.created_at
    assert [r.run_id for r in store.runs()] == [r1, r2]
    assert store.get_run("nope") is None
    assert store.create_run({}, run_id="fixed-id") == "fixed-id"


def test_writes_from_many_threads_and_a_loop(store):
    run = store.create_run({})
    n_threads, per = 6, 300

    def worker(t):
        for i in range(per):
            # Threads overlap on half their keys: concurrent rewrites must not duplicate rows.
            j = i if i % 2 == 0 else t * per + i
            store.write(run, page(j), *keywords(j))
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]

    async def loop_writer():
        for i in range(per):
            store.write(run, Failure(kind="page", key=f"http://f.test/{i}", reason="timeout"))
            if i % 50 == 0:
                await asyncio.sleep(0)
        await store.flush_async()
    for t in threads:
        t.start()
    asyncio.run(loop_writer())
    for t in threads:
        t.join()
    store.flush()
    expected_pages = len({i if i % 2 == 0 else t * per + i for t in range(n_threads) for i in range(per)})
    assert queries.counts(store, run) == {"sites": 0, "pages": expected_pages,
                                          "keywords": 3 * expected_pages, "near_dups": 0,
                                          "llm_results": 0, "failures": per}
    assert store.commits < n_threads * per  # grouped, not one commit per write


def test_reopen_keeps_rows_and_checks_schema_version(db_url):
    with open_store(db_url) as s:
        run = s.create_run({"k": "v"})
        s.write(run, page(1), *keywords(1))
    with open_store(db_url) as s:  # close() flushed
        assert queries.counts(s, run)["keywords"] == 3
        assert s.latest_unfinished_run().config == {"k": "v"}
    _set_schema_version(db_url, "999")
    with pytest.raises(StoreError, match="schema version 999"):
        open_store(db_url)


def _set_schema_version(db_url: str, version: str) -> None:
    if db_url.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute("UPDATE agentcore_meta SET value = %s WHERE name = 'schema_version'", (version,))
    else:
        import sqlite3
        with sqlite3.connect(db_url) as c:
            c.execute("UPDATE agentcore_meta SET value = ? WHERE name = 'schema_version'", (version,))


def test_failed_commit_is_reported_not_swallowed(db_url, store):
    run = store.create_run({})
    store.write(run, page(1), *keywords(1))  # both tables now exist (created on first write)
    store.flush()
    if db_url.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute("DROP TABLE keywords")
    else:
        import sqlite3
        c = sqlite3.connect(db_url)
        c.execute("DROP TABLE keywords")
        c.commit()
        c.close()
    errors = []
    store.write(run, page(2), *keywords(2), done=errors.append)
    with pytest.raises(StoreError, match="commit failed"):
        store.flush()
    assert len(errors) == 1 and errors[0] is not None
    with pytest.raises(StoreError, match="writer failed earlier"):
        store.write(run, page(3))
    assert queries.finished_pages(store, run) == {"http://a.test/p1"}  # the failed unit left nothing


def test_crawl_report_queries(store):
    run = store.create_run({})
    store.write(run, *[Failure(kind="page", key=f"http://a.test/{i}", reason=r)
                       for i, r in enumerate(["http_404"] * 3 + ["timeout"] * 2 + ["ssrf_redirect"])])
    store.write(run, *[LLMResult(host=f"h{i}.test", category=c)
                       for i, c in enumerate(["news", "news", "science", "sports", "news"])])
    store.write(run, NearDup("u1", "u2", 0.9), NearDup("u3", "u2", 0.9), NearDup("u5", "u4", 0.8),
                NearDup("u6", "u7", 0.99), NearDup("u7", "u8", 0.9), NearDup("u8", "u6", 0.9),
                NearDup("u9", "u6", 0.9))
    store.write(run, page(1), page(2), *keywords(1), *keywords(2, k=2))
    store.flush()
    assert queries.failure_reasons(store, run) == {"http_404": 3, "timeout": 2, "ssrf_redirect": 1}
    assert list(queries.failure_reasons(store, run)) == ["http_404", "timeout", "ssrf_redirect"]
    assert queries.failure_reasons(store, run, kind="site") == {}
    assert queries.categories(store, run) == {"news": 3, "science": 1, "sports": 1}
    assert queries.near_dup_clusters(store, run) == [["u6", "u7", "u8", "u9"], ["u1", "u2", "u3"], ["u4", "u5"]]
    assert queries.near_dup_clusters(store, run, min_size=4) == [["u6", "u7", "u8", "u9"]]
    assert queries.site_keywords(store, run, "a.test") == [("kw0", 2.0), ("kw1", 1.0), ("kw2", 1 / 3)]
    assert queries.site_excerpts(store, run, "a.test") == [("http://a.test/p1", "Sentence 1."),
                                                           ("http://a.test/p2", "Sentence 2.")]

    assert queries.site_keywords(store, run, "a.test", limit=1) == [("kw0", 2.0)]
    assert queries.near_dup_pairs(store, run)[:2] == [("u1", "u2", 0.9), ("u2", "u3", 0.9)]


def test_a_sites_keywords_are_found_through_its_pages_not_a_scan(tmp_path):
    # the keywords have no host index (it cost ~40% of their writes): SQLite must start from
    # the pages' host index and look each page's keywords up by key, whatever it guesses
    store = open_store(str(tmp_path / "plan.db"))
    try:
        run = store.create_run({})
        for h in ("a.test", "b.test"):
            store.write(run, *[page(i, host=h) for i in range(5)],
                        *[kw for i in range(5) for kw in keywords(i, host=h)])
        store.flush()
        asked = []
        query = store.query
        store.query = lambda sql, params=(), **kw: asked.append((sql, params)) or query(
            sql, params, **kw)
        assert queries.site_keywords(store, run, "b.test")
        sql, params = asked[0]
        plan = " | ".join(r[-1] for r in query("EXPLAIN QUERY PLAN " + sql, params,
                                                 uses=(Page, Keyword)))
        assert "pages_run_id_host" in plan and "SCAN" not in plan, plan
        assert plan.index("pages_run_id_host") < plan.index("sqlite_autoindex_keywords")
    finally:
        store.close()


def test_crawl_queries_on_a_fresh_store(store):
    # No crawl row written yet, so no crawl table exists: the queries create them and see nothing.
    run = store.create_run({})
    assert queries.counts(store, run) == {"sites": 0, "pages": 0, "keywords": 0, "near_dups": 0,
                                          "llm_results": 0, "failures": 0}
    assert queries.finished_pages(store, run) == set() and queries.llm_done(store, run) == set()
    assert queries.near_dup_clusters(store, run) == [] and queries.categories(store, run) == {}
    assert queries.site_keywords(store, run, "a.test") == []


# ------------------------------------------------------------------ rows declared anywhere

@table("test_notes", key=("topic", "n"), indexes=(("run_id", "topic"),))
@dataclass(frozen=True)
class Note:
    """A user's own row type: declared here, in a test module, with nothing registered in the store."""

    topic: str = col("text")
    n: int = col("int", 0)
    score: float = col("float", 0.0)
    digest: int = col("u64", 0)
    values: dict | None = col("json")  # a reserved word as a column name: identifiers are quoted
    order: str = col("text", "")


def test_user_declared_rows_roundtrip(store):
    run, other = store.create_run({}), store.create_run({})
    assert store.rows(Note, run) == []  # the table is created on first read too
    notes = [Note("python", i, score=i / 4, digest=2**64 - 1 - i, values={"i": [i, "x"]},
                  order=f"o{i}") for i in range(5)]
    store.write(run, *notes)
    store.write(other, Note("sqlite", 1))
    store.flush()
    assert store.rows(Note, run) == notes
    assert store.rows(Note, other) == [Note("sqlite", 1)]
    assert store.count(Note, run) == 5
    # A rewrite of the same key updates the row in place.
    store.write(run, Note("python", 2, score=9.0))
    store.flush()
    assert store.count(Note, run) == 5 and store.rows(Note, run)[2] == Note("python", 2, score=9.0)
    top = store.select(Note, run, "score > ?", (0.5,), order_by="score DESC", limit=2)
    assert [n.n for n in top] == [2, 4]
    assert store.query('SELECT SUM(n), MAX("order") FROM test_notes WHERE run_id = ?', (run,),
                       uses=(Note,)) == [(10, "o4")]


def test_user_rows_commit_with_other_rows_and_survive_reopen(db_url):
    with open_store(db_url) as s:
        run = s.create_run({})
        s.write(run, Note("a"), page(1), AgentRecord(key="a"))  # three new tables, one commit
    with open_store(db_url) as s:
        assert s.rows(Note, run) == [Note("a")] and s.rows(Page, run) == [page(1)]
        assert set(s.finished_agents(run)) == {"a"}


def test_two_stores_create_the_same_new_table_at_once(db_url):
    with open_store(db_url, batch_ms=1) as a, open_store(db_url, batch_ms=1) as b:
        run = a.create_run({})
        start = threading.Barrier(2)

        def go(s, i):
            start.wait()
            s.write(run, Note("race", i))
            s.flush()
        threads = [threading.Thread(target=go, args=(s, i)) for i, s in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [n.n for n in a.rows(Note, run)] == [0, 1]


def test_a_table_of_another_shape_is_refused(db_url):
    with open_store(db_url) as s:
        run = s.create_run({})
    _sql(db_url, "CREATE TABLE test_notes (run_id TEXT, topic TEXT)")
    with open_store(db_url) as s:
        with pytest.raises(StoreError, match=r"test_notes.*has columns \['run_id', 'topic'\].*"
                                             r"use a new database"):
            s.rows(Note, run)


def test_declaring_a_row_type_checks_it():
    with pytest.raises(TypeError, match="no column kind"):
        @table("t_bad_kind", key="a")
        @dataclass(frozen=True)
        class NoKind:
            a: str = "x"
    with pytest.raises(ValueError, match="must name fields"):
        @table("t_bad_key", key="b")
        class BadKey:
            a: str = col("text")
    with pytest.raises(ValueError, match="run_id"):
        @table("t_run_id", key="a")
        class RunId:
            run_id: str = col("text")
            a: str = col("text")
    with pytest.raises(ValueError, match="already declared by .*Note"):
        @table("test_notes", key="a")
        class Clash:
            a: str = col("text")
    with pytest.raises(ValueError, match="SQL identifier"):
        @table("bad name", key="a")
        class BadName:
            a: str = col("text")
    with pytest.raises(ValueError, match="column kind"):
        col("blob")
    with pytest.raises(TypeError, match="not a row type"):
        table_of(dict)

    @table("t_plain", key="a")
    class Plain:  # a plain class becomes a frozen dataclass
        a: str = col("text")
    assert Plain("x").a == "x" and table_of(Plain).key == ("run_id", "a")


def test_select_checks_the_run_scope(store):
    from agentcore.store import Run
    with pytest.raises(ValueError, match="pass a run_id"):
        store.select(Note, None)
    with pytest.raises(ValueError, match="run_id=None"):
        store.select(Run, "some-run")


# ------------------------------------------------------------------ durable swarms' agents

def test_agent_records_and_finished_agents(store):
    run, other = store.create_run({}), store.create_run({})
    assert store.finished_agents(run) == {}
    store.write(run, AgentRecord(key="http://a.test/1", state="DONE", values={"n_words": 12},
                                 finished_at=1.0))
    store.write(run, AgentRecord(key="http://a.test/2", state="FAILED", reason="timeout",
                                 finished_at=2.0))
    store.write(other, AgentRecord(key="http://a.test/1"))
    store.flush()
    got = store.finished_agents(run)
    assert set(got) == {"http://a.test/1", "http://a.test/2"}
    assert got["http://a.test/1"] == AgentRecord("http://a.test/1", "DONE", "", {"n_words": 12}, 1.0)
    assert (got["http://a.test/2"].state, got["http://a.test/2"].reason) == ("FAILED", "timeout")
    # Rewriting a key (a rerun that got there again), in one batch and across batches, keeps one row.
    for i in range(3):
        store.write(run, AgentRecord(key="http://a.test/1", values={"n_words": 13 + i}, finished_at=3.0))
    store.flush()
    store.write(run, AgentRecord(key="http://a.test/1", values={"n_words": 20}, finished_at=4.0))
    store.flush()
    got = store.finished_agents(run)
    assert store.count(AgentRecord, run) == 2 and len(got) == 2
    assert got["http://a.test/1"].values == {"n_words": 20}
    assert set(store.finished_agents(other)) == {"http://a.test/1"}
    with pytest.raises(ValueError, match="DONE or FAILED"):
        AgentRecord(key="x", state="RUNNING")
    # An agent's values come from numpy payload columns: they come back as plain JSON numbers.
    import numpy as np
    store.write(run, AgentRecord(key="np", values={"n": np.int64(7), "w": np.float32(0.5),
                                                   "v": np.arange(3, dtype=np.uint32)}))
    store.flush()
    assert store.finished_agents(run)["np"].values == {"n": 7, "w": 0.5, "v": [0, 1, 2]}


def _sql(db_url: str, statement: str, params: tuple = ()) -> None:
    """Run one statement on the database behind the store's back."""
    if db_url.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute(statement.replace("?", "%s"), params or None)
    else:
        import sqlite3
        c = sqlite3.connect(db_url)
        with c:
            c.execute(statement, params)
        c.close()


# ------------------------------------------------------------------ crash and resume

CHILD = r"""
import sys, threading
from agentcore.store import open_store
from agentcore.crawl.queries import finished_pages
from agentcore.crawl.tables import Page, Keyword
url, run, n, skip_done = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "resume"
K = 5
store = open_store(url, batch_ms=2, batch_rows=200)
if store.get_run(run) is None:
    store.create_run({"n": n}, run_id=run)
done = finished_pages(store, run) if skip_done else set()
inflight = threading.BoundedSemaphore(400)  # keep commits flowing without an unbounded queue
out = sys.stdout

def durable(i):
    def cb(err):
        inflight.release()
        if err is None:
            out.write(f"D {i}\n"); out.flush()
    return cb

for i in range(n):
    url_i = f"http://s{i % 17}.test/p{i}"
    if url_i in done:
        continue
    inflight.acquire()
    rows = [Page(url=url_i, host=f"s{i % 17}.test", status=200, n_bytes=i, simhash=(i * 2654435761) % 2**64,
                 excerpt="x" * (i % 300))]
    rows += [Keyword(url=url_i, keyword=f"k{j}", host=f"s{i % 17}.test", weight=i + j / 10) for j in range(K)]
    store.write(run, *rows, done=durable(i))
store.flush()
out.write("FINISHED\n"); out.flush()
store.close()
"""
K = 5


def _expected_unit(i: int):
    url = f"http://s{i % 17}.test/p{i}"
    return url, (200, i, (i * 2654435761) % 2**64, "x" * (i % 300)), {f"k{j}": i + j / 10 for j in range(K)}


def _run_child(db_url, run, n, mode, kill_after=None):
    """Run the writer child; with kill_after, SIGKILL it once that many units are durable."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, db_url, run, str(n), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    durable, finished, killed = set(), False, False
    for line in proc.stdout:
        if line.startswith("D "):
            durable.add(int(line[2:]))
        elif line.strip() == "FINISHED":
            finished = True
        if kill_after is not None and not killed and len(durable) >= kill_after:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True  # keep reading: lines already in the pipe were reported durable
    proc.wait(timeout=120)
    err = proc.stderr.read()
    proc.stderr.close()
    if kill_after is None:
        assert proc.returncode == 0 and finished, f"writer child failed:\n{err}"
    else:
        assert killed and proc.returncode == -signal.SIGKILL, (
            f"child ended before the kill (rc {proc.returncode}, finished={finished}):\n{err}")
    return durable


def _check_store(db_url, run, durable_reported):
    """Every reported unit is intact; no unit is partial; nothing is duplicated."""
    with open_store(db_url) as s:
        pages = {p.url: p for p in s.rows(Page, run)}
        kws: dict[str, dict[str, float]] = {}
        for k in s.rows(Keyword, run):
            kws.setdefault(k.url, {})[k.keyword] = k.weight
        counts = queries.counts(s, run)
    assert counts["pages"] == len(pages) and counts["keywords"] == sum(len(v) for v in kws.values())
    for i in durable_reported:
        url, _, _ = _expected_unit(i)
        assert url in pages, f"unit {i} was reported durable but its page is missing"
    for url, p in pages.items():
        i = int(url.rsplit("p", 1)[1])
        _, (status, n_bytes, simhash, excerpt), want_kw = _expected_unit(i)
        assert (p.status, p.n_bytes, p.simhash, p.excerpt) == (status, n_bytes, simhash, excerpt)
        assert kws.get(url) == want_kw, f"unit {i} is partial: page without all its keywords"
    assert set(kws) <= set(pages), "keywords committed without their page"
    return counts


def test_sigkill_mid_run_then_resume_and_replay(db_url):
    n, run = 3000, "crash-run"
    seen: set[int] = set()
    # Kill at three points of the same run, resuming each time, then finish it.
    for kill_after in (60, 250, 400):
        durable = _run_child(db_url, run, n, "resume", kill_after=kill_after)
        seen |= durable
        counts = _check_store(db_url, run, seen)
        # The kill came before FINISHED (checked in _run_child); on a starved parent the child may
        # still have committed everything by then, so "<= n", not "< n".
        assert len(seen) <= counts["pages"] <= n
    _run_child(db_url, run, n, "resume")
    counts = _check_store(db_url, run, set(range(n)))
    assert counts["pages"] == n and counts["keywords"] == n * K
    # A full replay without skipping (every batch written again) adds no row.
    _run_child(db_url, run, n, "replay")
    assert _check_store(db_url, run, set(range(n))) == counts
    with open_store(db_url) as s:
        assert queries.finished_pages(s, run) == {_expected_unit(i)[0] for i in range(n)}


def test_pg_server_failure_is_a_clear_error(tmp_path):
    import pg
    with pytest.raises(pg.PostgresUnavailable, match="no initdb in .*apt-get install postgresql"):
        pg.PostgresServer(bindir=str(tmp_path)).start()


def test_u64_columns_of_plain_rows_roundtrip_at_their_edges(store):
    # Page has no json column: its rows take the converter-free path, where only u64 changes
    run = store.create_run({})
    edges = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
    store.write(run, *[Page(url=f"u{i}", simhash=v) for i, v in enumerate(edges)])
    store.flush()
    assert [p.simhash for p in store.rows(Page, run)] == edges
    with pytest.raises(ValueError, match="u64"):
        store.write(run, Page(url="neg", simhash=-1))


def _values(row) -> tuple:
    """A row as ``(RowType, values in field order)``, the form row builders hand the store."""
    import dataclasses

    return type(row), tuple(getattr(row, f.name) for f in dataclasses.fields(row))


def test_write_batch_is_one_unit_checked_a_column_at_a_time(store):
    """``write_batch``: many agents' rows as one atomic unit with one callback; rows given as
    (type, values) are checked and converted per column and land as ``write`` would land them
    (u64 edges, numpy scalars, json); a bad row raises before anything is queued."""
    import numpy as np

    from agentcore.store import AgentRecord

    run, ref = store.create_run({}), store.create_run({})
    edges = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
    units = [[_values(page(i, simhash=v)), *map(_values, keywords(i))]
             for i, v in enumerate(edges)]
    units.append([_values(page(9, n_words=np.int64(7), elapsed_ms=np.float32(0.5))),
                  Keyword(url="http://a.test/p9", keyword="obj", host="a.test", weight=1.0),
                  _values(AgentRecord(key="k9", state="DONE", values={"b": [1, 2], "a": None}))])
    landed = []
    store.write_batch(run, units, done=landed.append)
    for rows in units:
        store.write(ref, *rows)
    store.flush()
    assert landed == [None]  # one unit, one callback
    for kind in (Page, Keyword, AgentRecord):
        assert store.rows(kind, run) == store.rows(kind, ref) != []
    simhash = {p.url: p.simhash for p in store.rows(Page, run)}
    assert [simhash[f"http://a.test/p{i}"] for i in range(5)] == edges
    assert queries.counts(store, run)["keywords"] == 16
    for bad, match in [([[_values(page(10))], [_values(Page(host="a.test"))]], "must not be None"),
                       ([[_values(page(11, simhash=-1))]], "u64"),
                       ([[(Page, ("http://a.test/short",))]], "takes 13 values"),
                       ([[(dict, ("x",))]], "declared with @table")]:
        with pytest.raises((ValueError, TypeError), match=match):
            store.write_batch(run, bad)
    store.flush()
    assert len(store.rows(Page, run)) == 6  # pages 10 and 11 were not queued either


def test_a_batch_store_state_writes_each_agent_as_its_unit(store):
    """``store_action(many=True)``: one builder call per batch; an agent whose unit is bad fails
    alone, with the reason; a builder that raises fails its batch, nothing written."""
    from agentcore import AgentSpec, State, Swarm, store_action

    run = store.create_run({})
    calls = []

    def build(sw, ids):
        calls.append(len(ids))
        return [[page(i)] if i != 3 else [Page(host="a.test")] for i in sw.data["i"][ids]]

    stored = []
    spec = AgentSpec([State("SAVE", store_action(build, reads=["i"], many=True,
                                                 on_stored=lambda sw, ids: stored.append(
                                                     list(ids))), on_ok="DONE")],
                     inputs=["i"])
    sw = Swarm(spec, rows={"i": list(range(6))}, store=store, run_id=run)
    res = sw.run()
    assert res.counts["DONE"] == 5 and res.counts["FAILED"] == 1
    # the bad unit sent the batch's agents one by one: the hook got each stored id, not agent 3
    assert sorted(i for ids in stored for i in ids) == [0, 1, 2, 4, 5]
    assert "must not be None" in sw.reason_of(3) and sum(calls) == 6
    assert sorted(p.url for p in store.rows(Page, run)) == sorted(page(i).url for i in range(6)
                                                                   if i != 3)
    stored.clear()
    good = store.create_run({})
    sw = Swarm(spec, rows={"i": [0, 1, 2, 4]}, store=store, run_id=good)
    assert sw.run().counts["DONE"] == 4
    assert stored == [[0, 1, 2, 3]]  # one batch, one unit, one hook call with its ids
    assert len(store.rows(Page, good)) == 4

    def broken(sw, ids):
        raise KeyError("no such column")

    other = store.create_run({})
    spec = AgentSpec([State("SAVE", store_action(broken, reads=["i"], many=True), on_ok="DONE")],
                     inputs=["i"])
    sw = Swarm(spec, rows={"i": [0, 1]}, store=store, run_id=other)
    assert sw.run().counts["FAILED"] == 2 and sw.reason_of(0).startswith("rows: KeyError")
    assert store.rows(Page, other) == []
