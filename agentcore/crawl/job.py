"""The scrape-analyze-store swarm: site agents fan out page agents, and every result lands in a store.

Data path, by state (one swarm, two kinds of agents)::

    site:  SITE_FETCH -> SITE_LINKS (spawns pages, waits for them) -> SITE_PROMPT -> SITE_LLM
           -> SITE_STORE -> DONE                    (errors: SITE_FAIL / LLM_FAIL -> FAILED)
    page:  PAGE_FETCH -> PAGE_EXTRACT -> PAGE_ANALYZE -> PAGE_STORE -> DONE
                                                   (errors: PAGE_FAIL -> FAILED)

Fetches run on the asyncio loop (``agentcore.crawl.fetch``), extraction and analysis on the worker
threads as whole batches (nogil kernels), LLM calls in the engine's shared decode batches, and
writes through the store's group commit; all of them at once, agent by agent. A site's prompt is
built from the store once its pages are durable, so a resumed run builds the same prompt.

>>> from agentcore.crawl.job import Pipeline                               # doctest: +SKIP
>>> result = await Pipeline(store, run_id, engine=engine).run(home_urls, hosts={"*.test": addr})
"""
from __future__ import annotations

import base64
import contextlib
import time
from collections import Counter

from agentcore.actions import ActionError, async_action, batch_action, external_action
from agentcore.spec import AgentSpec, State
from agentcore.store import Failure, Keyword, LLMResult, NearDup, Page, Site
from agentcore.swarm import Swarm

CATEGORIES = ["networking", "web", "text", "data formats", "testing", "concurrency", "files and os",
              "math", "security", "developer tools", "other"]
SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": CATEGORIES},
        # minLength keeps the 135M model from answering with one word ("Python"); maxLength
        # bounds the tokens an answer can take (see llm_max_tokens).
        "summary": {"type": "string", "minLength": 16, "maxLength": 100},
    },
    "required": ["category", "summary"],
    "additionalProperties": False,
}
# The system prompt is the shared prefix the engine computes once for all 500 sites, so its two
# worked examples cost nothing per site; they turn the 135M model's answers from a word ("home",
# "Python") into sentences about the site's text. Its categories still lean on the examples.
SYSTEM_PROMPT = (
    "You label websites about Python. Given a site's keywords and a sentence from it, reply with "
    'JSON: "category" (one of: ' + ", ".join(CATEGORIES) + ') and "summary" (one sentence saying '
    "what the site covers, in your own words).\n"
    "Example: Keywords: socket, connect, tcp, port, timeout\n"
    "Text: Create a connection to a TCP service listening on the given address.\n"
    '{"category": "networking", "summary": "Notes on opening TCP socket connections with timeouts."}\n'
    "Example: Keywords: decimal, rounding, precision, context\n"
    "Text: The result is rounded to the precision of the current context.\n"
    '{"category": "math", "summary": "How decimal arithmetic rounds results to the context precision."}')
#: Per-site prompt size: keywords and characters of the site's best excerpt. Every prompt token is
#: compute on the engine's critical path (500 sites x ~60 tokens), so the prompt stays short.
PROMPT_KEYWORDS = 6
PROMPT_CHARS = 140


class Pipeline:
    """Builds and runs the swarm for one run of the store.

    Parameters
    ----------
    store, run_id:
        Where every result goes (``agentcore.store.open_store``) and the run it belongs to.
    engine:
        A started ``agentcore.llm.Engine`` (None: sites get no LLM summary).
    max_pages:
        Page agents a site spawns at most (same-site links of its home page, in page order).
    fetch_config:
        ``agentcore.crawl.fetch.FetchConfig`` limits (concurrency, timeouts, sizes, redirects).
    resume:
        Skip what the store already holds for ``run_id``: finished sites, finished pages, and
        sites whose LLM call finished (their result or failure is durable).
    """

    def __init__(self, store, run_id: str, *, engine=None, max_pages: int = 32,
                 fetch_config=None, resume: bool = False, llm_max_tokens: int = 128,
                 keywords: int = 8):
        self.store = store
        self.run_id = run_id
        self.engine = engine
        # Kernel batches lease a core from the engine's CPU budget while they run, so llama.cpp
        # drops to the cores left instead of spin-waiting against them (agentcore.cpu).
        self.budget = getattr(engine, "budget", None)
        self.max_pages = max_pages
        self.fetch_config = fetch_config
        self.llm_max_tokens = llm_max_tokens
        self.fetcher = None
        self.stats = Counter()
        self.failures = Counter()
        self.timeline: list[dict] = []
        self.t0 = time.monotonic()
        from agentcore.analyze import Corpus

        self.corpus = Corpus(keywords=keywords, threads=1)
        self.done_sites: set[str] = set()
        self.done_pages: set[str] = set()
        self.ok_pages: set[str] = set()
        self.llm_done: set[str] = set()
        if resume:
            self.done_sites = store.finished_sites(run_id)
            self.done_pages = store.finished_pages(run_id)
            self.ok_pages = store.finished_pages(run_id, include_failed=False)
            self.llm_done = store.llm_done(run_id)
            # pages stored before the kill go back into the near-duplicate index
            done = [p for p in store.rows(Page, run_id) if p.minhash]
            self.corpus.restore([p.url for p in done],
                                [_unpack(p.minhash, self.corpus.num_perm) for p in done],
                                [p.simhash for p in done], [p.n_words for p in done])
            self.stats["pages_resumed"] = len(self.done_pages)
            self.stats["sites_resumed"] = len(self.done_sites)

    # ---- the spec -----------------------------------------------------------------------------

    def spec(self) -> AgentSpec:
        fetch = async_action(self._fetch, concurrency=1024, name="fetch")
        store_rows = external_action(_StoreAction(self), name="store")
        llm = self._llm_action()
        states = [
            State("SITE_FETCH", fetch, on_ok="SITE_LINKS", on_error="SITE_FAIL", timeout=120),
            State("SITE_LINKS", batch_action(self._links, max_batch=64, name="links"),
                  on_ok="SITE_PROMPT", on_error="SITE_FAIL"),
            State("SITE_PROMPT", batch_action(self._prompt, max_batch=32, parallel=1,
                                              name="prompt"),
                  on_ok="SITE_LLM" if llm else "SITE_STORE", on_error="SITE_FAIL",
                  outcomes={"skip_llm": "SITE_STORE"}),
            State("SITE_STORE", store_rows, on_ok="DONE", on_error="SITE_FAIL", retries=2,
                  backoff=0.5),
            State("SITE_FAIL", store_rows, on_ok="FAILED", retries=2, backoff=0.5),
            State("PAGE_FETCH", fetch, on_ok="PAGE_EXTRACT", on_error="PAGE_FAIL", timeout=120),
            State("PAGE_EXTRACT", batch_action(self._extract, max_batch=32, name="extract"),
                  on_ok="PAGE_ANALYZE", on_error="PAGE_FAIL"),
            State("PAGE_ANALYZE", batch_action(self._analyze, max_batch=128, parallel=1,
                                               name="analyze"),
                  on_ok="PAGE_STORE", on_error="PAGE_FAIL"),
            State("PAGE_STORE", store_rows, on_ok="DONE", on_error="PAGE_FAIL", retries=2,
                  backoff=0.5),
            State("PAGE_FAIL", store_rows, on_ok="FAILED", retries=2, backoff=0.5),
        ]
        if llm:
            states.insert(3, State("SITE_LLM", llm, on_ok="SITE_STORE", on_error="LLM_FAIL",
                                   timeout=600))
            states.insert(4, State("LLM_FAIL", store_rows, on_ok="FAILED", retries=2,
                                   backoff=0.5))
        return AgentSpec(states, entries=["SITE_FETCH", "PAGE_FETCH"], max_steps=32)

    def _llm_action(self):
        if self.engine is None:
            return None
        from agentcore.llm.action import LLMAction

        def build(swarm, aid):
            return [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": swarm.data["prompt"][aid]}]

        return external_action(
            LLMAction(self.engine, build, result_column="llm", json_schema=SUMMARY_SCHEMA,
                      max_tokens=self.llm_max_tokens, temperature=0.0, seed=1),
            name="llm")

    # ---- running ------------------------------------------------------------------------------

    def swarm(self, home_urls) -> Swarm:
        """A swarm with one site agent per home URL not finished yet."""
        from urllib.parse import urlsplit

        todo = [u for u in home_urls if urlsplit(u).hostname not in self.done_sites]
        self.stats["sites"] = len(home_urls)
        return Swarm(self.spec(), rows={"url": todo, "host": [urlsplit(u).hostname for u in todo]},
                     state="SITE_FETCH", workers=2)

    async def run(self, home_urls, *, hosts=None, progress=None, progress_interval=0.25):
        """Crawl, analyse and store every site; returns the swarm's RunResult."""
        from agentcore.crawl.fetch import FetchConfig, Fetcher

        swarm = self.swarm(home_urls)
        self._swarm = swarm
        cfg = self.fetch_config or FetchConfig()
        self.t0 = time.monotonic()
        async with Fetcher(cfg, static_hosts=hosts or {}) as fetcher:
            self.fetcher = fetcher

            def tick(sw):
                self.sample(sw)
                if progress is not None:
                    progress(sw)

            res = await swarm.run_async(tick, progress_interval)
        swarm.close()
        self.sample(swarm)
        self.store.flush()
        return res

    def sample(self, swarm) -> None:
        """One point of the timeline the report plots (agentcore.demo.report.Sample fields)."""
        s = self.stats
        point = {"t": time.monotonic() - self.t0, "pages": s["pages_ok"] + s["pages_failed"],
                 "summaries": s["llm_ok"],
                 "states": {k: v for k, v in swarm.counts().items() if v}}
        if self.engine is not None:
            point["tokens"] = self.engine.metrics().get("generated_tokens", 0)
        self.timeline.append(point)

    # ---- actions ------------------------------------------------------------------------------

    async def _fetch(self, swarm, aid):
        res = await self.fetcher.fetch(swarm.data["url"][aid])
        if not res.ok:
            swarm.data["stage"][aid] = "fetch"
            swarm.data["detail"][aid] = res.error_detail
            swarm.data["attempts"][aid] = res.attempts
            raise ActionError(res.error_reason)
        swarm.data["body"][aid] = res.body
        swarm.data["ctype"][aid] = res.content_type
        swarm.data["final_url"][aid] = res.final_url
        swarm.data["status"][aid] = res.status
        swarm.data["elapsed"][aid] = res.elapsed
        self.stats["bytes"] += len(res.body)

    def _links(self, batch):
        """Extract each site's home page and spawn one page agent per new same-site link."""
        sw = batch.swarm
        ids = list(batch.ids)
        with self._core():
            docs = extract_pages(sw.data["body"][ids], sw.data["ctype"][ids], sw.data["url"][ids])
        for a, doc in zip(ids, docs):
            sw.data["body"][a] = None
            host = sw.data["host"][a]
            sw.data["title"][a] = doc.title
            links, seen = [], set()
            for link in doc.links_internal:
                link = link.split("#", 1)[0]
                if link in seen or link == sw.data["url"][a] or link.endswith("/robots.txt"):
                    continue
                seen.add(link)
                links.append(link)
                if len(links) >= self.max_pages:
                    break
            sw.data["n_links"][a] = len(links)
            todo = [u for u in links if u not in self.done_pages]
            if todo:
                sw.spawn(a, rows={"url": todo, "host": [host] * len(todo)}, state="PAGE_FETCH")

    def _core(self):
        return self.budget.lease(1) if self.budget is not None else contextlib.nullcontext()

    def _extract(self, batch):
        sw = batch.swarm
        ids = list(batch.ids)
        with self._core():
            docs = extract_pages(sw.data["body"][ids], sw.data["ctype"][ids], sw.data["url"][ids])
        for j, (a, doc) in enumerate(zip(ids, docs)):
            sw.data["n_bytes"][a] = len(sw.data["body"][a] or b"")
            sw.data["body"][a] = None  # the raw page is no longer needed: free it now
            if not doc.text.strip():
                sw.data["stage"][a] = "extract"
                batch.fail(j, "empty_text")
                continue
            sw.data["text"][a] = doc.text
            sw.data["title"][a] = doc.title

    def _analyze(self, batch):
        sw = batch.swarm
        ids = list(batch.ids)
        texts = sw.data["text"][ids]
        with self._core():
            docs = self.corpus.add_many(texts, keys=sw.data["url"][ids])
            excerpts = self.corpus.excerpts(texts, budget=280)
        for a, doc, excerpt in zip(ids, docs, excerpts):
            url = sw.data["url"][a]
            sw.data["keywords"][a] = doc.keywords
            sw.data["simhash"][a] = doc.simhash
            sw.data["dups"][a] = doc.duplicates
            sw.data["minhash"][a] = base64.b64encode(doc.minhash.tobytes()).decode("ascii")
            sw.data["excerpt"][a] = excerpt
            sw.data["n_words"][a] = doc.n_tokens
            sw.data["text"][a] = None

    def _prompt(self, batch):
        """Build each site's prompt from its durable pages (the same on a resumed run)."""
        sw = batch.swarm
        for j, a in enumerate(batch.ids):
            host = sw.data["host"][a]
            kws = self.store.site_keywords(self.run_id, host, limit=8)
            excerpts = [e for _, e in self.store.site_excerpts(self.run_id, host) if e]
            sw.data["n_ok"][a] = len(excerpts)
            if host in self.llm_done or not kws:
                batch.set_outcome(j, "skip_llm")
                continue
            # the longest excerpt carries the most of the site's top-weighted sentences
            text = max(excerpts, key=len, default="")
            if len(text) > PROMPT_CHARS:
                text = text[:PROMPT_CHARS].rsplit(" ", 1)[0]
            sw.data["llm_t0"][a] = time.monotonic()
            sw.data["prompt"][a] = (f"Keywords: {', '.join(k for k, _ in kws[:PROMPT_KEYWORDS])}\n"
                                    f"Text: {text}")

    # ---- rows ---------------------------------------------------------------------------------

    def rows_for(self, swarm, aid: int, state: str) -> list:
        """What an agent in a store state writes (one atomic unit)."""
        d = swarm.data
        now = time.time()
        host = d["host"][aid]
        url = d["url"][aid]
        if state == "PAGE_STORE":
            rows = [Page(url=url, host=host, final_url=d["final_url"][aid] or url,
                         status=d["status"][aid] or 0, content_type=d["ctype"][aid] or "",
                         n_bytes=d["n_bytes"][aid] or 0, title=(d["title"][aid] or "")[:300],
                         n_words=d["n_words"][aid] or 0, simhash=d["simhash"][aid] or 0,
                         excerpt=d["excerpt"][aid] or "", fetched_at=now,
                         elapsed_ms=1e3 * (d["elapsed"][aid] or 0.0),
                         minhash=d["minhash"][aid] or "")]
            rows += [Keyword(url=url, keyword=k, host=host, weight=float(w))
                     for k, w in d["keywords"][aid] or ()]
            rows += [NearDup(url_a=url, url_b=other, similarity=s) for other, s in d["dups"][aid] or ()]
            return rows
        if state in ("PAGE_FAIL", "SITE_FAIL", "LLM_FAIL"):
            kind = {"PAGE_FAIL": "page", "SITE_FAIL": "site", "LLM_FAIL": "llm"}[state]
            reason = swarm.reason_of(aid) or "unknown"
            stage = d["stage"][aid] or ("llm" if kind == "llm" else reason.split(":")[0]
                                        if ":" in reason else "")
            rows = [Failure(kind=kind, key=url if kind == "page" else host, host=host,
                            stage=stage, reason=reason,
                            detail=str(d["detail"][aid] or "")[:500],
                            attempts=d["attempts"][aid] or 1, at=now)]
            if kind != "page":
                rows.append(self._site_row(swarm, aid, "failed" if kind == "site" else "llm_failed"))
            return rows
        if state == "SITE_STORE":
            rows = [self._site_row(swarm, aid, "ok")]
            res = d["llm"][aid]
            if res is not None and res.error is None:
                v = res.value or {}
                rows.append(LLMResult(host=host, category=str(v.get("category", "")),
                                      summary=str(v.get("summary", "")),
                                      model=getattr(self.engine, "model_name", ""),
                                      prompt_tokens=res.prompt_tokens,
                                      completion_tokens=res.completion_tokens,
                                      elapsed_ms=1e3 * (time.monotonic() - d["llm_t0"][aid]),
                                      raw=res.text, created_at=now))
            return rows
        raise ValueError(f"no rows for state {state}")

    def _site_row(self, swarm, aid: int, status: str) -> Site:
        d = swarm.data
        host = d["host"][aid]
        n_links = d["n_links"][aid] or 0
        ok = d["n_ok"][aid]
        if ok is None:
            ok = sum(1 for u in self.ok_pages if u.split("/", 3)[2] == host)
        return Site(host=host, url=d["url"][aid], status=status, n_pages=n_links,
                    n_failed=max(0, n_links - ok), robots=1, title=(d["title"][aid] or "")[:300],
                    finished_at=time.time())

    def on_stored(self, swarm, aid: int, state: str) -> None:
        s = self.stats
        if state == "PAGE_STORE":
            s["pages_ok"] += 1
        elif state == "PAGE_FAIL":
            s["pages_failed"] += 1
            self.failures[swarm.reason_of(aid) or "unknown"] += 1
        elif state == "SITE_STORE":
            s["sites_ok"] += 1
            if swarm.data["llm"][aid] is not None:
                s["llm_ok"] += 1
        elif state in ("SITE_FAIL", "LLM_FAIL"):
            s["sites_failed" if state == "SITE_FAIL" else "llm_failed"] += 1
            self.failures[swarm.reason_of(aid) or "unknown"] += 1
        for col in ("keywords", "dups", "excerpt", "llm", "prompt", "detail", "minhash"):
            swarm.data[col][aid] = None


class _StoreAction:
    """External action: each agent's rows go to the store as one unit; the agent moves on when
    that unit is durable (the group commit calls back), so a kill never loses a finished agent."""

    def __init__(self, pipeline: Pipeline):
        self.p = pipeline

    def start(self, batch) -> None:
        p = self.p
        sw = batch.swarm
        for j, aid in enumerate(batch.ids):
            try:
                rows = p.rows_for(sw, aid, batch.state)
            except Exception as exc:  # a bug in a row builder fails that agent, with its reason
                batch.complete(j, error=f"rows: {type(exc).__name__}: {exc}")
                continue

            def done(err, j=j, aid=aid, state=batch.state):
                if err is None:
                    p.on_stored(sw, aid, state)
                    batch.complete(j)
                else:
                    batch.complete(j, error=f"store: {type(err).__name__}: {err}")

            p.store.write(p.run_id, *rows, done=done)


def extract_pages(bodies, ctypes, urls) -> list:
    """Main text, title and links of many fetched pages, across the kernel threads."""
    from agentcore.kernels.html import extract_many

    return extract_many(bodies, base_urls=urls, content_types=ctypes, threads=1)


def _unpack(b64: str, num_perm: int):
    import numpy as np

    sig = np.frombuffer(base64.b64decode(b64), np.uint32)
    if sig.shape[0] != num_perm:
        raise ValueError(f"stored MinHash has {sig.shape[0]} slots, the corpus uses {num_perm}")
    return sig
