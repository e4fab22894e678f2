"""The generic scrape-analyze-store job: site agents fan out page agents; every result lands in a store.

Data path, by state (one swarm, two kinds of agents)::

    site:  SITE_FETCH -> SITE_LINKS (spawns pages, waits for them) -> SITE_PROMPT -> SITE_LLM
           -> SITE_STORE -> DONE                    (errors: SITE_FAIL / LLM_FAIL -> FAILED)
    page:  PAGE_FETCH -> PAGE_EXTRACT -> PAGE_ANALYZE -> PAGE_STORE -> DONE
                                                   (errors: PAGE_FAIL -> FAILED)
    home:  (the site's own home page, already fetched and extracted) PAGE_ANALYZE -> ...

The work of each state is a method of :class:`~agentcore.crawl.steps.CrawlSteps`, what each store
state writes a builder of :class:`~agentcore.crawl.rows.CrawlRows`; the question asked of the LLM
is the caller's :class:`~agentcore.crawl.task.LLMTask` (from a job file:
``agentcore.crawl.jobfile``; the demo's is ``agentcore/demo/demo.toml``). A site's prompt is built
from the store once its pages are durable, so a resumed run builds the same prompt, and fitted to
the engine's context with its tokenizer, so it never overflows. Where sites come from (a URL
list, a folder served under its real names, the local web) is ``agentcore.crawl.inputs``.

>>> job = CrawlJob(store, run_id, engine=engine, task=load_job("job.toml").task)  # doctest: +SKIP
>>> result = await job.run(home_urls, hosts={"*.test": addr})            # doctest: +SKIP
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Iterable

from agentcore.actions import async_action, batch_action, external_action, store_action
from agentcore.spec import AgentSpec, State
from agentcore.swarm import Swarm

from . import queries
from .inputs import MAX_URL_BYTES, Follow, site_key
from .rows import FAILURE_READS, LLM_READS, PAGE_READS, SITE_READS, CrawlRows
from .steps import CrawlSteps, FetchBatch, fetch_window, unpack_minhash
from .tables import Page
from .task import LLMTask, PromptTooLong, engine_budget

__all__ = ["CrawlJob", "LLMTask", "PromptTooLong"]

#: what a site's home page brings into its page agent (written by SITE_FETCH and SITE_LINKS)
HOME_PAGE = ("text", "title", "final_url", "http_status", "ctype", "n_bytes", "elapsed")
FETCH_WRITES = ("body", "ctype", "final_url", "http_status", "elapsed", "fail_stage",
                "fail_detail", "fetch_attempts")


class CrawlJob:
    """Builds and runs the job's swarm for one run of the store.

    Parameters
    ----------
    store, run_id:
        Where every result goes (``agentcore.store.open_store``) and the run it belongs to.
    engine, task:
        A started ``agentcore.llm.Engine`` and the :class:`LLMTask` it answers per site (either
        None: sites get no LLM answer).
    max_pages:
        Page agents a site spawns at most (links of its home page that ``follow`` allows, in
        page order).
    follow:
        Which hosts a site's links may lead to (:class:`~agentcore.crawl.inputs.Follow` rules;
        default the same site).
    max_url_bytes:
        Longer URLs fail with ``url_too_long`` before any request.
    fetch_config:
        ``agentcore.crawl.fetch.FetchConfig`` limits (concurrency, timeouts, sizes, redirects).
    resume:
        Skip what the store already holds for ``run_id``: finished sites, finished pages, and
        sites whose LLM call finished (their result or failure is durable).
    """

    def __init__(self, store, run_id: str, *, engine=None, task: LLMTask | None = None,
                 max_pages: int = 32, fetch_config=None, resume: bool = False, keywords: int = 8,
                 follow: Iterable[str] = ("same-site",), max_url_bytes: int = MAX_URL_BYTES):
        from agentcore.analyze import Corpus

        self.store = store
        self.run_id = run_id
        self.engine = engine if task is not None else None
        self.task = task if engine is not None else None
        self.max_pages = max_pages
        self.follow = Follow(follow)
        self.max_url_bytes = max_url_bytes
        self.served: frozenset[str] | None = None  # hosts a folder input serves: links stay there
        self.count_tokens, self.prompt_budget = (engine_budget(self.engine, self.task)
                                                 if self.task is not None else (None, None))
        if self.count_tokens is not None:
            self.task.check_fits(self.count_tokens, self.prompt_budget)  # PromptTooLong: a bad job
        self.fetch_config = fetch_config
        self.fetcher = None
        self.stats: Counter = Counter()
        self.failures: Counter = Counter()
        self.timeline: list[dict] = []
        self.t0 = time.monotonic()
        # "lean": whole-batch Cython signatures, Numba's bits without its ~110 MB and start-up
        self.corpus = Corpus(keywords=keywords, threads=1, kernels="lean")
        self.done_sites: set[str] = set()
        self.done_pages: set[str] = set()
        self.ok_pages: set[str] = set()
        self.llm_done: set[str] = set()
        if resume:
            self._restore()

    def _restore(self) -> None:
        store, run_id = self.store, self.run_id
        self.done_sites = queries.finished_sites(store, run_id)
        self.done_pages = queries.finished_pages(store, run_id)
        self.ok_pages = queries.finished_pages(store, run_id, include_failed=False)
        self.llm_done = queries.llm_done(store, run_id)
        # pages stored before the kill go back into the near-duplicate index
        done = [p for p in store.rows(Page, run_id) if p.minhash]
        self.corpus.restore([p.url for p in done],
                            [unpack_minhash(p.minhash, self.corpus.num_perm) for p in done],
                            [p.simhash for p in done], [p.n_words for p in done])
        self.stats["pages_resumed"] = len(self.done_pages)
        self.stats["sites_resumed"] = len(self.done_sites)

    # ---- the spec -----------------------------------------------------------------------------

    def spec(self) -> AgentSpec:
        from .fetch import FetchConfig, transport_kind

        steps, rows = CrawlSteps(self), CrawlRows(self)
        llm = self.engine is not None
        cfg = self.fetch_config or FetchConfig()
        fetch_timeout = 120
        if transport_kind(cfg) == "curl":
            # the whole batch to libcurl's thread at once: no task or timer per fetch. No core
            # timeout: the fetcher ends every fetch itself (bounded attempts and hops, each
            # under total_timeout), and a cut-off counted from hand-over would also count the
            # wait in its host's queue, so which pages fail would depend on the load
            fetch = external_action(FetchBatch(steps, FETCH_WRITES),
                                    capacity=fetch_window(cfg, self.max_pages), name="fetch")
            fetch_timeout = None
        else:
            fetch = async_action(steps.fetch, concurrency=1024, name="fetch", reads=["url"],
                                 writes=FETCH_WRITES)
        links = batch_action(steps.links, max_batch=64, cores=1, name="links",
                             reads=["body", "ctype", "url", "host", "final_url", "http_status",
                                    "elapsed"], writes=["body", "title", "n_links"])
        prompt = batch_action(steps.prompt, max_batch=32, parallel=1, name="prompt",
                              reads=["host", "n_links"],
                              writes=["n_ok", "prompt", "llm_t0", "fail_stage", "fail_detail"])
        extract = batch_action(steps.extract, max_batch=32, cores=1, name="extract",
                               reads=["body", "ctype", "url"],
                               writes=["body", "n_bytes", "text", "title", "fail_stage"])
        analyze = batch_action(steps.analyze, max_batch=128, parallel=1, cores=1, name="analyze",
                               reads=["text", "url"],
                               writes=["keywords", "simhash", "dups", "minhash", "excerpt",
                                       "n_words", "text"])

        def save(build, stored, reads, name, many=False):
            return store_action(build, reads=reads, on_stored=stored, name=name, many=many)

        site_reads = SITE_READS + (LLM_READS if llm else ())
        fail_reads = FAILURE_READS + SITE_READS
        retry = {"retries": 2, "backoff": 0.5}
        states = [
            State("SITE_FETCH", fetch, on_ok="SITE_LINKS", on_error="SITE_FAIL",
                  timeout=fetch_timeout),
            State("SITE_LINKS", links, on_ok="SITE_PROMPT", on_error="SITE_FAIL"),
            State("SITE_PROMPT", prompt, on_ok="SITE_LLM" if llm else "SITE_STORE",
                  on_error="SITE_FAIL", outcomes={"skip_llm": "SITE_STORE"}),
            State("SITE_STORE", save(rows.site, rows.site_stored, site_reads, "store_site"),
                  on_ok="DONE", on_error="SITE_FAIL", **retry),
            State("SITE_FAIL", save(rows.site_failure, rows.site_failure_stored, fail_reads,
                                    "store_site_failure"), on_ok="FAILED", **retry),
            State("PAGE_FETCH", fetch, on_ok="PAGE_EXTRACT", on_error="PAGE_FAIL",
                  timeout=fetch_timeout),
            State("PAGE_EXTRACT", extract, on_ok="PAGE_ANALYZE", on_error="PAGE_FAIL"),
            State("PAGE_ANALYZE", analyze, on_ok="PAGE_STORE", on_error="PAGE_FAIL"),
            State("PAGE_STORE", save(rows.page, rows.page_stored, PAGE_READS, "store_page",
                                     many=True),
                  on_ok="DONE", on_error="PAGE_FAIL", **retry),
            State("PAGE_FAIL", save(rows.page_failure, rows.page_failure_stored, FAILURE_READS,
                                    "store_page_failure"), on_ok="FAILED", **retry),
        ]
        if llm:
            # no timeout: a request always ends (max_tokens bounds it, a dead engine fails it),
            # and a cut-off counted from submission would fail whichever sites waited longest
            # in the queue on a busy machine: the rows would depend on the load
            states.insert(3, State("SITE_LLM", self._llm_action(), on_ok="SITE_STORE",
                                   on_error="LLM_FAIL"))
            states.insert(4, State("LLM_FAIL", save(rows.llm_failure, rows.llm_failure_stored,
                                                    fail_reads, "store_llm_failure"),
                                   on_ok="FAILED", **retry))
        # a home page enters as a page at PAGE_ANALYZE with what SITE_FETCH/SITE_LINKS found
        return AgentSpec(states, entries=["SITE_FETCH", "PAGE_FETCH", "PAGE_ANALYZE"],
                         inputs=["url", "host", *HOME_PAGE], max_steps=32)

    def _llm_action(self):
        from agentcore.llm.action import LLMAction

        task = self.task

        def build(swarm, aid):
            return swarm.data["prompt"][aid]  # the site's chat, fitted by the prompt step

        return external_action(
            LLMAction(self.engine, build, result_column="llm", json_schema=task.schema,
                      max_tokens=task.max_tokens, temperature=0.0, seed=task.seed),
            name="llm", reads=["prompt"], writes=["llm"])

    # ---- running ------------------------------------------------------------------------------

    def swarm(self, home_urls) -> Swarm:
        """A swarm with one site agent per home URL not finished yet."""
        todo = [u for u in home_urls if site_key(u) not in self.done_sites]
        self.stats["sites"] = len(home_urls)
        return Swarm(self.spec(), rows={"url": todo, "host": [site_key(u) for u in todo]},
                     state="SITE_FETCH", workers=2, store=self.store, run_id=self.run_id,
                     budget=getattr(self.engine, "budget", None))

    async def run(self, home_urls, *, hosts=None, allowed_hosts=None, progress=None,
                  progress_interval=0.25):
        """Crawl, analyse and store every site; returns the swarm's RunResult.

        ``hosts`` maps names to (ip, port) without DNS (the local web, a served folder, a
        ``--resolve``); ``allowed_hosts``, when given, are the only hosts fetched (a folder's
        sites), and links to any other host are not followed.
        """
        from .fetch import FetchConfig, Fetcher

        self.served = frozenset(h.lower() for h in allowed_hosts) if allowed_hosts else None
        swarm = self.swarm(home_urls)
        cfg = self.fetch_config or FetchConfig()
        self.corpus.load()  # the kernels' imports, before any fetch is in flight
        import agentcore.kernels.html  # noqa: F401
        self.t0 = time.monotonic()
        async with Fetcher(cfg, static_hosts=hosts or {}, allowed_hosts=allowed_hosts) as fetcher:
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
