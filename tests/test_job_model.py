"""A user's own job with the real model: a folder of real saved pages (one subfolder per site,
named by its host) crawled under the real host names, prompts that always fit the context
(long Chinese, Russian and emoji pages), and answers that do not repeat the instructions."""
import asyncio
import gzip
import json
import os
import re
from urllib.parse import urlsplit

import pytest

from agentcore.crawl import inputs, queries
from agentcore.crawl.job import CrawlJob
from agentcore.crawl.jobfile import parse_job
from agentcore.crawl.tables import Failure, LLMResult, Page, Site
from agentcore.crawl.task import LLMTask, engine_budget
from agentcore.store import open_store

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
READABILITY = os.path.join(DATA, "readability-test-pages", "pages")
BENCHMARK = os.path.join(DATA, "article-extraction-benchmark")
HAVE_DATA = os.path.isdir(READABILITY) and os.path.isdir(BENCHMARK)
URL_IN_PAGE = re.compile(rb'(?:og:url" content|rel="canonical" href)="(https?://[^"]+)"')

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def engine():
    from agentcore.llm import Engine

    with Engine(n_slots=32, n_ctx_per_seq=512) as e:
        yield e


def saved_sites(root, readability: int = 8, benchmark: int = 8) -> list[str]:
    """A folder of real saved pages, one subfolder per site named by the page's own host: the
    first non-English-first readability pages whose source names their URL, then benchmark
    pages of distinct hosts. Returns the hosts."""
    hosts: dict[str, list[bytes]] = {}
    picked = 0
    names = sorted(os.listdir(READABILITY))
    meta = {}
    for n in names:
        try:
            with open(os.path.join(READABILITY, n, "expected-metadata.json")) as f:
                meta[n] = (json.load(f).get("lang") or "en").lower()
        except (OSError, ValueError):
            meta[n] = "en"
    for n in sorted(names, key=lambda n: (meta[n].startswith("en"), n)):
        if picked >= readability:
            break
        try:
            with gzip.open(os.path.join(READABILITY, n, "source.html.gz")) as f:
                html = f.read()
        except OSError:
            continue
        m = URL_IN_PAGE.search(html)
        host = urlsplit(m.group(1).decode()).hostname if m else None
        if host and host not in hosts:
            hosts[host] = [html]
            picked += 1
    with open(os.path.join(BENCHMARK, "ground-truth.json")) as f:
        truth = json.load(f)
    picked = 0
    for page_id in sorted(truth):
        host = urlsplit(truth[page_id]["url"]).hostname
        if picked >= benchmark or not host or host in hosts:
            continue
        with gzip.open(os.path.join(BENCHMARK, "html", f"{page_id}.html.gz")) as f:
            hosts[host] = [f.read()]
        picked += 1
    for host, pages in hosts.items():
        os.makedirs(os.path.join(root, host))
        for i, html in enumerate(pages):
            with open(os.path.join(root, host, f"page-{i}.html"), "wb") as f:
                f.write(html)
    return sorted(hosts)


def test_a_folder_of_real_saved_sites_keeps_its_host_names(tmp_path, engine):
    assert HAVE_DATA, "../shared/data has no saved pages: the tests need ../shared beside the checkout"
    hosts = saved_sites(str(tmp_path / "sites"))
    assert len(hosts) >= 16
    # the general defaults, with more page text than the context takes: 300 tokens kept for
    # the answer (which ends at its closing brace, long before) leave ~60 for the text, so
    # every prompt is trimmed, and the test stays short
    job = parse_job("[analysis]\nmax_tokens = 300\n[prompt]\ntext_chars = 2000\n")
    store = open_store(str(tmp_path / "job.db"))
    run = store.create_run({})
    try:
        with inputs.corpus(str(tmp_path / "sites")) as sites:
            pipe = CrawlJob(store, run, engine=engine, task=job.task, max_pages=1,
                            fetch_config=job.fetch_config(), follow=job.follow)
            asyncio.run(pipe.run(sites.home_urls, hosts=sites.static_hosts,
                                 allowed_hosts=sites.allowed_hosts))
        stored = {s.host: s.status for s in store.rows(Site, run)}
        answers = {r.host: r for r in store.rows(LLMResult, run)}
        failures = store.rows(Failure, run)
        assert set(stored) == set(hosts)  # the real names, e.g. www.lemonde.fr
        assert {p.host for p in store.rows(Page, run)} <= set(hosts)
        reasons = queries.failure_reasons(store, run)
        assert "prompt_too_long" not in reasons, reasons
        for f in failures:
            assert re.fullmatch(r"[a-z][a-z0-9_]{0,39}", f.reason), f
        # every site answered, or failed with a short code
        for host in hosts:
            assert host in answers or any(f.host == host for f in failures), host
        assert len(answers) >= len(hosts) // 2, reasons
        props = job.task.schema["properties"]
        for r in answers.values():
            value = json.loads(r.raw)
            assert value["category"] in props["category"]["enum"]
            assert not job.task.copies_prompt(r.summary), (r.host, r.summary)
            assert r.prompt_tokens + job.task.max_tokens <= engine.n_ctx_per_seq
    finally:
        store.close()


LONG_PAGES = {
    "chinese": "北京是中华人民共和国的首都，也是全国的政治、文化和国际交往中心。" * 400,
    "russian": "Москва — столица России, крупнейший по численности населения город страны. " * 300,
    "emoji": "Party time 🎉🎊🥳 with friends 👩‍👩‍👧‍👦 and food 🍕🍔🍟🌮 all night 🌙✨ " * 300,
}


@pytest.mark.parametrize("kind", sorted(LONG_PAGES))
def test_long_pages_in_any_script_always_fit_the_context(kind, engine):
    task = LLMTask("Describe the site in one sentence.", schema={
        "type": "object", "properties": {"summary": {"type": "string", "maxLength": 60}}},
        max_tokens=24, text_chars=100_000, pages=3)
    count, budget = engine_budget(engine, task)
    assert budget == engine.n_ctx_per_seq - 24
    text = LONG_PAGES[kind]
    pages = [(f"http://{kind}.test/{i}", text) for i in range(3)]
    msgs = task.messages(f"{kind}.test", ["one", "two"], pages, count, budget)
    n = count(msgs)
    assert budget - 40 <= n <= budget  # trimmed to the budget, not far below it
    assert msgs[0]["content"] == task.system_prompt
    # the engine takes it: a prompt too long is refused at once, at submit, with an error result
    fut = engine.submit(msgs, max_tokens=24)
    refused = fut.done() and fut.result().error
    fut.cancel()
    assert not refused, refused
    too_long = engine.submit([msgs[0], {"role": "user", "content": text}], max_tokens=24)
    assert too_long.done() and "prompt too long" in too_long.result().error
