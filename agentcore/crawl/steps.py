"""The crawl job's work steps, one method per state: fetch, links, extract, analyze, prompt.

Each step reads and writes only the payload columns its state declares in ``CrawlJob.spec``;
extraction and analysis run as whole batches on the worker threads (nogil kernels) with a core
leased from the swarm's CPU budget (``cores=1`` on their actions). A step that fails an agent
does it with a short code (``ActionError("url_too_long")``) and puts the sentence in the
``fail_detail`` column.
"""
from __future__ import annotations

import base64
import time
from functools import partial
from urllib.parse import urlsplit

from agentcore.actions import ActionError

from . import queries
from .inputs import url_problem
from .task import PromptTooLong

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .job import CrawlJob


class CrawlSteps:
    """The job's actions; ``job`` holds the fetcher, corpus, store and counters they share."""

    def __init__(self, job: "CrawlJob"):
        self.job = job

    async def fetch(self, swarm, aid):
        """Fetch one URL (a site's home page or a page); a failure keeps its stage and detail."""
        d = swarm.data
        reason = self.refused(d, aid)
        if reason is None:
            reason = self.fetched(d, aid, await self.job.fetcher.fetch(d["url"][aid]))
        if reason is not None:
            raise ActionError(reason)

    def refused(self, d, aid) -> str | None:
        """The reason the agent's URL is not requested at all (too long, not http), or None."""
        refused = url_problem(d["url"][aid], self.job.max_url_bytes)
        if refused is None:
            return None
        d["fail_stage"][aid] = "input"
        d["fail_detail"][aid] = refused[1]
        return refused[0]

    def fetched(self, d, aid, res) -> str | None:
        """Write one fetch's result to the agent's columns; its failure reason, or None."""
        if not res.ok:
            d["fail_stage"][aid] = "fetch"
            d["fail_detail"][aid] = res.error_detail
            d["fetch_attempts"][aid] = res.attempts
            return res.error_reason
        d["body"][aid] = res.body
        d["ctype"][aid] = res.content_type
        d["final_url"][aid] = res.final_url
        d["http_status"][aid] = res.status
        d["elapsed"][aid] = res.elapsed
        self.job.stats["bytes"] += len(res.body)
        return None

    def links(self, batch):
        """Extract each site's home page, hand its text on as the site's first page (a page agent
        that starts at PAGE_ANALYZE), and spawn one page agent per new link the job's ``follow``
        rules allow (for a served folder: only to the folder's own hosts)."""
        sw = batch.swarm
        d = sw.data
        docs = extract_pages(batch.get("body"), batch.get("ctype"), batch.get("url"))
        job = self.job
        done_pages, max_pages, served = job.done_pages, job.max_pages, job.served
        for a, doc, body in zip(batch.ids, docs, batch.get("body")):
            d["body"][a] = None
            host, home = d["host"][a], d["url"][a]
            d["title"][a] = doc.title
            # the home page is a page of its site like any other: a site of one page (an
            # article URL, a folder with one saved page) gets its text analysed and an answer
            has_text = bool(doc.text.strip())
            if has_text and home not in done_pages:
                sw.spawn(a, rows={"url": [home], "host": [host], "text": [doc.text],
                                  "title": [doc.title], "final_url": [d["final_url"][a]],
                                  "http_status": [d["http_status"][a]], "ctype": [d["ctype"][a]],
                                  "n_bytes": [len(body or b"")], "elapsed": [d["elapsed"][a]]},
                         state="PAGE_ANALYZE")
            links, seen = [], set()
            final = (d["final_url"][a] or home).split("#", 1)[0]
            for link in job.follow.pick(host, doc.links_internal, doc.links_external):
                link = link.split("#", 1)[0]
                if served is not None:
                    link = served_link(link, served)
                    if link is None:
                        continue
                if link in seen or link in (home, final) or link.endswith("/robots.txt"):
                    continue
                seen.add(link)
                links.append(link)
                if len(links) >= max_pages:
                    break
            d["n_links"][a] = len(links) + has_text  # the site's pages, its home among them
            todo = [u for u in links if u not in done_pages]
            if todo:
                sw.spawn(a, rows={"url": todo, "host": [host] * len(todo)}, state="PAGE_FETCH")

    def extract(self, batch):
        """Main text and title of each fetched page; the raw page is freed at once."""
        d = batch.swarm.data
        bodies = batch.get("body")
        docs = extract_pages(bodies, batch.get("ctype"), batch.get("url"))
        for j, (a, doc, body) in enumerate(zip(batch.ids, docs, bodies)):
            d["n_bytes"][a] = len(body or b"")
            d["body"][a] = None
            if not doc.text.strip():
                d["fail_stage"][a] = "extract"
                batch.fail(j, "empty_text")
                continue
            d["text"][a] = doc.text
            d["title"][a] = doc.title

    def analyze(self, batch):
        """Keywords, signatures, near-duplicates and the best excerpt of each page's text."""
        d = batch.swarm.data
        texts = batch.get("text")
        corpus = self.job.corpus
        docs = corpus.add_many(texts, keys=batch.get("url"))
        task = self.job.task
        excerpts = corpus.excerpts(texts, budget=task.excerpt_chars if task is not None else 280)
        for a, doc, excerpt in zip(batch.ids, docs, excerpts):
            d["keywords"][a] = doc.keywords
            d["simhash"][a] = doc.simhash
            d["dups"][a] = doc.duplicates
            d["minhash"][a] = base64.b64encode(doc.minhash.tobytes()).decode("ascii")
            d["excerpt"][a] = excerpt
            d["n_words"][a] = doc.n_tokens
            d["text"][a] = None

    def prompt(self, batch):
        """Build each site's chat from its durable pages (the same on a resumed run), fitted to
        the engine's context: the page text is trimmed, never the instructions."""
        job = self.job
        d = batch.swarm.data
        task = job.task
        for j, a in enumerate(batch.ids):
            host = d["host"][a]
            if task is None or host in job.llm_done:  # no prompt to build: count, skip the rest
                d["n_ok"][a] = queries.site_pages_with_text(job.store, job.run_id, host)
                batch.set_outcome(j, "skip_llm")
                continue
            kws = queries.site_keywords(job.store, job.run_id, host,
                                        limit=max(8, task.keywords if task else 0))
            excerpts = [(u, e) for u, e in queries.site_excerpts(job.store, job.run_id, host) if e]
            d["n_ok"][a] = len(excerpts)
            if not excerpts:  # nothing to ground an answer in: a failure with its code
                d["fail_stage"][a] = "prompt"
                d["fail_detail"][a] = (f"none of the site's {d['n_links'][a] or 0} pages had text "
                                       "to analyse (all failed, or empty after extraction)")
                batch.fail(j, "no_text")
                continue
            d["llm_t0"][a] = time.monotonic()
            try:
                d["prompt"][a] = task.messages(host, [k for k, _ in kws], excerpts,
                                               job.count_tokens, job.prompt_budget)
            except PromptTooLong as exc:
                d["fail_stage"][a] = "prompt"
                d["fail_detail"][a] = str(exc)
                batch.fail(j, "prompt_too_long")


class FetchBatch:
    """The fetch state as one external action: a whole batch of agents goes to the job's
    CurlFetcher at once (``Fetcher.batch``), each agent completing from the fetcher's thread
    as its page lands; the state's timeout is the swarm core's, not a timer per fetch."""

    reads = ("url",)

    def __init__(self, steps: CrawlSteps, writes: tuple):
        self.steps = steps
        self.writes = writes

    def start(self, batch) -> None:
        ids = batch.ids
        if not len(ids):
            return
        steps = self.steps
        d = batch.swarm.data
        top = max(ids)
        for col in self.writes:  # size the columns here, so the fetcher's thread only assigns
            column = d[col]
            column[top] = column[top]
        items = []
        for j, aid in enumerate(ids):
            reason = steps.refused(d, aid)
            if reason is not None:
                batch.complete(j, error=reason)
                continue
            items.append((d["url"][aid], partial(self._done, batch, j, aid)))
        steps.job.fetcher.batch.submit(items)

    def _done(self, batch, j: int, aid: int, res) -> None:
        batch.complete(j, error=self.steps.fetched(batch.swarm.data, aid, res))


def fetch_window(config, max_pages: int) -> int:
    """How many agents the fetch state hands the fetcher at once (its capacity): enough for the
    global limit to find free host slots. The swarm hands agents out in id order, and a site's
    pages have neighbouring ids, so a window of W fetches spans about W / (max_pages + 1) hosts,
    each served per_host_limit at a time; twice the hosts the global limit needs. The old fixed
    1,024 spanned about 45 sites of the local web: 90 transfers of the 256 allowed."""
    hosts = -(-config.global_limit // config.per_host_limit)
    return 2 * hosts * (max_pages + 1)


def served_link(url: str, served: frozenset[str]) -> str | None:
    """``url`` as fetched from a served folder (``http://``: the folder is served without TLS),
    or None when its host is not one of the folder's sites."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (parts.hostname or "") not in served:
        return None
    return "http" + url[5:] if parts.scheme == "https" else url


def extract_pages(bodies, ctypes, urls) -> list:
    """Main text, title and links of many fetched pages, in the calling worker thread."""
    from agentcore.kernels.html import extract_many

    return extract_many(bodies, base_urls=urls, content_types=ctypes, threads=1)


def unpack_minhash(b64: str, num_perm: int):
    """A stored page's MinHash signature back as a uint32 array."""
    import numpy as np

    sig = np.frombuffer(base64.b64decode(b64), np.uint32)
    if sig.shape[0] != num_perm:
        raise ValueError(f"stored MinHash has {sig.shape[0]} slots, the corpus uses {num_perm}")
    return sig
