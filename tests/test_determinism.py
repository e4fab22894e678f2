"""Same input, same rows (issue 11 item 5): the analysis and the crawl job do not depend on the
order in which pages arrive, how fetches interleave, or a kill -9 and resume in between."""
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crawl_rows import crawl_rows
from localweb import warm

from agentcore import analyze
from agentcore.crawl import queries
from agentcore.crawl.fetch import FetchConfig
from agentcore.crawl.job import CrawlJob
from agentcore.crawl.tables import Failure, Keyword, NearDup, Page, Site
from agentcore.demo.config import DEMO_TASK
from agentcore.store import open_store
from agentcore.web.server import SyntheticWeb, serve_in_thread

SHARED = Path(os.environ.get("AGENTCORE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
GROUND_TRUTH = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"
ROOT = Path(__file__).resolve().parents[1]


# ---- the analysis ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages():
    """Real articles, each also as a near copy (another site's menu and footer around it), and a
    cluster of 80 copies of one article: bigger than an LSH bucket cap would have kept."""
    if not GROUND_TRUTH.exists():
        pytest.fail(f"{GROUND_TRUTH} is missing: the tests need ../shared beside the checkout",
                    pytrace=False)
    articles = [v["articleBody"] for v in json.loads(GROUND_TRUTH.read_text()).values()]
    out = {f"a{i:02d}": a for i, a in enumerate(articles[:60])}
    copied = [i for i in range(60) if len(articles[i].split()) >= 250][:20]
    out.update({f"b{i:02d}": "Home | News | Sport | Sign in\n" + articles[i] +
                "\n© 2024 Herald. Privacy" for i in copied})
    source = next(a for a in articles[60:] if len(a.split()) >= 250)
    out.update({f"c{i:02d}": source + f" Update {i}: corrected." for i in range(80)})
    return out


def analyse(keys, texts, impl, batches, threads):
    """Per key: what the corpus said about it; and the set of pairs, url_a < url_b."""
    corpus = analyze.Corpus(keywords=8, threads=threads, kernels=impl)
    per_page, pairs, at = {}, set(), 0
    for n in batches:
        part_keys, part = keys[at:at + n], texts[at:at + n]
        at += n
        if not part:
            continue
        docs = corpus.add_many(part, keys=part_keys)
        for k, doc, excerpt in zip(part_keys, docs, corpus.excerpts(part, budget=280)):
            per_page[k] = (doc.keywords, doc.simhash, doc.minhash.tobytes(), doc.n_tokens, excerpt)
            pairs.update((min(k, o), max(k, o), s) for o, s in doc.duplicates)
    assert at >= len(keys)
    return per_page, pairs


def test_a_shuffled_corpus_gives_the_same_pages_and_pairs(impl, pages):
    keys = sorted(pages)
    want_pages, want_pairs = analyse(keys, [pages[k] for k in keys], impl, [len(keys)], 1)
    # the copies pair up, and every pair of the 80-page cluster is found (no bucket cap)
    found = {(a, b) for a, b, _ in want_pairs}
    copies = [k for k in keys if k.startswith("b")]
    assert len(copies) == 20 and {("a" + k[1:], k) for k in copies} <= found
    assert len({p for p in found if p[0].startswith("c")}) == 80 * 79 // 2
    for seed, batches, threads in ((1, [1] * 40 + [500], 1), (2, [7] * 100, 2), (3, [33] * 20, 2)):
        order = keys[:]
        random.Random(seed).shuffle(order)
        got_pages, got_pairs = analyse(order, [pages[k] for k in order], impl, batches, threads)
        assert got_pairs == want_pairs, f"seed {seed}: pairs differ"
        for k in keys:
            assert got_pages[k] == want_pages[k], f"seed {seed}: {k} differs"


def test_a_sites_prompt_sentences_do_not_depend_on_other_sites(impl, pages):
    site = [pages[f"a{i:02d}"] for i in range(4)]
    fresh = analyze.Corpus(kernels=impl)
    busy = analyze.Corpus(kernels=impl)
    busy.add_many(list(pages.values()))
    assert fresh.prompt(site, budget=900) == busy.prompt(site, budget=900)
    assert analyze.prompt_sentences(site, budget=900, kernels=impl) == \
        busy.prompt_sentences(site, budget=900)


# ---- the crawl job (SQLite; one other fetch order on PostgreSQL too) ----------------------

WEB = dict(n_sites=16, pages_per_site=(5, 9), seed=7, slow_seconds=12.0)
# generous for a page of the (warmed) local web on a busy machine, and always too short for
# its slow page: every run ends the same way on every page
TIMEOUTS = dict(connect_timeout=4.0, read_timeout=4.0, total_timeout=5.0, max_attempts=2,
                backoff=0.05, politeness_delay=0.0)
def rows(db, run_id) -> dict:
    """Every row of the run's pages, keywords, near_dups and sites (and the failures' codes),
    without timing columns, sorted."""
    store = open_store(db)
    try:
        out = crawl_rows(store, run_id, (Page, Keyword, NearDup, Site, Failure))
        out["prompts"] = {host: DEMO_TASK.messages(
            host, [k for k, _ in queries.site_keywords(store, run_id, host, limit=8)],
            [(u, e) for u, e in queries.site_excerpts(store, run_id, host) if e])
            for host in sorted(r.host for r in store.rows(Site, run_id))}
        return out
    finally:
        store.close()


def crawl(db, home_urls, hosts, **fetch) -> str:
    store = open_store(db)
    try:
        run_id = store.create_run({"test": "determinism"})
        job = CrawlJob(store, run_id, engine=None, max_pages=12,
                       fetch_config=FetchConfig(**TIMEOUTS, **fetch))
        asyncio.run(job.run(home_urls, hosts=hosts))
        return run_id
    finally:
        store.close()


@pytest.fixture(scope="module")
def web():
    """The local web every crawl of this module reads, each of its plain pages asked for once
    first (a cold server renders its first pages slowly; a flaky page's one 503 is spent)."""
    with serve_in_thread(SyntheticWeb(**WEB)) as server:
        warm(server, kinds=("home", "ok", "flaky", "near_duplicate"))
        yield server


@pytest.fixture(scope="module")
def baseline(web, tmp_path_factory):
    """The rows of one uninterrupted crawl of the local web."""
    db = str(tmp_path_factory.mktemp("determinism") / "base.db")
    run_id = crawl(db, web.web.home_urls(), web.host_map(), per_host_limit=1, global_limit=8)
    want = rows(db, run_id)
    assert len(want["Page"]) > 60 and len(want["Site"]) == 16 and want["NearDup"]
    assert want["Keyword"] and any(p for p in want["prompts"].values())
    return want


def test_two_fetch_orders_give_identical_rows(web, baseline, db_url):
    # the other order runs on both stores: PostgreSQL must give the SQLite baseline's rows too
    urls = web.web.home_urls()[::-1]
    run_id = crawl(db_url, urls, web.host_map(), per_host_limit=4, global_limit=256)
    got = rows(db_url, run_id)
    for table in baseline:
        assert got[table] == baseline[table], f"{table} rows differ between fetch orders"


CHILD = """
import asyncio, json, sys
from agentcore.crawl.fetch import FetchConfig
from agentcore.crawl.job import CrawlJob
from agentcore.store import open_store
db, run_id, resume, spec = sys.argv[1], sys.argv[2], sys.argv[3] == "1", json.loads(sys.argv[4])
store = open_store(db)
job = CrawlJob(store, run_id, engine=None, max_pages=12, resume=resume,
               fetch_config=FetchConfig(**spec["fetch"]))
asyncio.run(job.run(spec["urls"], hosts={h: tuple(a) for h, a in spec["hosts"].items()}))
store.close()
"""


def _child(db, run_id, resume, spec):
    return subprocess.Popen([sys.executable, "-c", CHILD, db, run_id, "1" if resume else "0",
                             json.dumps(spec)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _pages_stored(db, run_id) -> int:
    store = open_store(db)
    try:
        return store.count(Page, run_id)
    except Exception:   # the table is not there yet
        return 0
    finally:
        store.close()


def test_a_killed_and_resumed_crawl_gives_the_rows_of_an_uninterrupted_one(web, baseline,
                                                                            tmp_path):
    db = str(tmp_path / "killed.db")
    store = open_store(db)
    run_id = store.create_run({"test": "determinism"})
    store.close()
    kills = 0
    spec = {"urls": web.web.home_urls(), "hosts": web.host_map(),
            "fetch": dict(TIMEOUTS, per_host_limit=2, global_limit=32)}
    n = len(baseline["Page"])
    for resume, at_least in ((False, n // 4), (True, n // 2), (True, None)):
        proc = _child(db, run_id, resume, spec)
        t0 = time.monotonic()
        while at_least is not None and proc.poll() is None and time.monotonic() - t0 < 300:
            if _pages_stored(db, run_id) >= at_least:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.05)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, -signal.SIGKILL), err[-2000:]
    assert kills >= 1, "the crawl finished before any kill landed"
    got = rows(db, run_id)
    for table in baseline:
        assert got[table] == baseline[table], f"{table} rows differ after kill -9 and resume"
