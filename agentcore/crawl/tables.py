"""The crawl job's rows: sites, pages, keywords, near-duplicate pairs, LLM results and failures.

Each is a table of the run's store (created on first use), keyed by ``(run_id, natural key)``::

    sites        run_id, host | url, status, n_pages, n_failed, robots, title, finished_at
    pages        run_id, url | host, final_url, status, content_type, n_bytes, title, n_words,
                 simhash (unsigned 64-bit), excerpt, fetched_at, elapsed_ms, minhash
    keywords     run_id, url, keyword | host, weight
    near_dups    run_id, url_a, url_b | similarity          (url_a < url_b)
    llm_results  run_id, host | category, summary, model, prompt_tokens, completion_tokens,
                 elapsed_ms, raw, created_at
    failures     run_id, kind, key | host, stage, reason, detail, attempts, at
                 (kind is "site", "page" or "llm"; key is the host or the page url)
"""
from __future__ import annotations

from dataclasses import dataclass

from agentcore.store.schema import col, table

FAILURE_KINDS = ("site", "page", "llm")


@table("sites", ("host",))
@dataclass(frozen=True)
class Site:
    """A site that finished (all its pages terminal, aggregated)."""

    host: str = col("text")
    url: str = col("text", "")
    status: str = col("text", "ok")
    n_pages: int = col("int", 0)
    n_failed: int = col("int", 0)
    robots: int = col("int", 0)  # 1 if a robots.txt was found and honoured
    title: str = col("text", "")
    finished_at: float | None = col("float")


@table("pages", ("url",), indexes=(("run_id", "host"),))
@dataclass(frozen=True)
class Page:
    """A page fetched and extracted; `excerpt` holds its most informative sentences."""

    url: str = col("text")
    host: str = col("text", "")
    final_url: str = col("text", "")
    status: int = col("int", 0)
    content_type: str = col("text", "")
    n_bytes: int = col("int", 0)
    title: str = col("text", "")
    n_words: int = col("int", 0)
    simhash: int = col("u64", 0)
    excerpt: str = col("text", "")
    fetched_at: float | None = col("float")
    elapsed_ms: float = col("float", 0.0)
    minhash: str = col("text", "")  # base64 MinHash signature: lets a resumed run find near-dups


@table("keywords", ("url", "keyword"))  # by host: through pages (queries.site_keywords)
@dataclass(frozen=True)
class Keyword:
    """One keyword of one page, with its weight (e.g. TF-IDF)."""

    url: str = col("text")
    keyword: str = col("text")
    host: str = col("text", "")
    weight: float = col("float", 0.0)


@table("near_dups", ("url_a", "url_b"))
@dataclass(frozen=True)
class NearDup:
    """A near-duplicate pair; the constructor orders the urls so (a, b) and (b, a) are one row."""

    url_a: str = col("text")
    url_b: str = col("text")
    similarity: float = col("float", 0.0)

    def __post_init__(self):
        if self.url_b < self.url_a:
            a, b = self.url_a, self.url_b
            object.__setattr__(self, "url_a", b)
            object.__setattr__(self, "url_b", a)


@table("llm_results", ("host",))
@dataclass(frozen=True)
class LLMResult:
    """The LLM's answer for one site: a category from the fixed list and a one-sentence summary."""

    host: str = col("text")
    category: str = col("text", "")
    summary: str = col("text", "")
    model: str = col("text", "")
    prompt_tokens: int = col("int", 0)
    completion_tokens: int = col("int", 0)
    elapsed_ms: float = col("float", 0.0)
    raw: str = col("text", "")
    created_at: float | None = col("float")


@table("failures", ("kind", "key"))
@dataclass(frozen=True)
class Failure:
    """A terminal failure of a site, page or LLM call, with the reason and where it happened."""

    kind: str = col("text")  # one of FAILURE_KINDS
    key: str = col("text")   # host for site/llm, url for page
    host: str = col("text", "")
    stage: str = col("text", "")  # the state that failed, e.g. "PAGE_FETCH"
    reason: str = col("text", "")  # short, groupable: "http_404", "timeout", "ssrf_redirect"
    detail: str = col("text", "")  # free text: the exception message, the refused url
    attempts: int = col("int", 1)
    at: float | None = col("float")


#: Every crawl row type, in the order `queries.counts` reports them.
ROW_TYPES = (Site, Page, Keyword, NearDup, LLMResult, Failure)
