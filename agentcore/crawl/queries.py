"""The crawl job's reads of a store: what a resumed run skips, what a site's prompt is built from, what the report shows.

Every function takes an open store (``agentcore.store.open_store``) and a run id, and sees only
committed rows::

    from agentcore.crawl import queries

    done = queries.finished_pages(store, run_id)          # skip these on --resume
    queries.counts(store, run_id)                         # {"sites": 24, "pages": 180, ...}
    queries.site_answers(store, run_id)[0].summary        # one row per site, answered or failed
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

from agentcore.crawl.tables import (ROW_TYPES, Failure, Keyword, LLMResult, NearDup, Page, Site)
from agentcore.store import Store
from agentcore.store.schema import table_of


# ------------------------------------------------------------------ resume sets

def finished_sites(store: Store, run_id: str, include_failed: bool = True) -> set[str]:
    """Hosts whose site row (or, with include_failed, site failure) is durable."""
    return _keys(store, Site, "host", "site", run_id, include_failed)


def finished_pages(store: Store, run_id: str, include_failed: bool = True) -> set[str]:
    """Page urls whose page row (or, with include_failed, page failure) is durable."""
    return _keys(store, Page, "url", "page", run_id, include_failed)


def llm_done(store: Store, run_id: str, include_failed: bool = True) -> set[str]:
    """Hosts whose LLM result (or, with include_failed, LLM failure) is durable."""
    return _keys(store, LLMResult, "host", "llm", run_id, include_failed)


def _keys(store: Store, row_type: type, column: str, kind: str, run_id: str,
          include_failed: bool) -> set[str]:
    name = table_of(row_type).name
    out = {r[0] for r in store.query(f"SELECT {column} FROM {name} WHERE run_id = ?", (run_id,),
                                     uses=(row_type,))}
    if include_failed:
        out.update(r[0] for r in store.query(
            "SELECT key FROM failures WHERE run_id = ? AND kind = ?", (run_id, kind),
            uses=(Failure,)))
    return out


# ------------------------------------------------------------------ prompt input

def site_keywords(store: Store, run_id: str, host: str, limit: int = 20) -> list[tuple[str, float]]:
    """A site's keywords, weights summed over its pages, heaviest first (LLM prompt input)."""
    # through the pages' host index, then each page's keywords by their key's (run_id, url)
    # prefix: an index of the keywords by host cost the crawl ~40% of its keyword writes
    # (CROSS JOIN: SQLite keeps that order rather than guess one without statistics)
    rows = store.query("SELECT k.keyword, SUM(k.weight) AS w FROM pages p CROSS JOIN keywords k "
                       "WHERE k.run_id = p.run_id AND k.url = p.url AND p.run_id = ? AND "
                       "p.host = ? GROUP BY k.keyword ORDER BY w DESC, k.keyword LIMIT ?",
                       (run_id, host, int(limit)), uses=(Page, Keyword))
    return [(k, float(w)) for k, w in rows]


def site_excerpts(store: Store, run_id: str, host: str) -> list[tuple[str, str]]:
    """(url, excerpt) of a site's committed pages, ordered by url (LLM prompt input)."""
    return [tuple(r) for r in store.query("SELECT url, excerpt FROM pages WHERE run_id = ? AND "
                                          "host = ? ORDER BY url", (run_id, host), uses=(Page,))]


def site_pages_with_text(store: Store, run_id: str, host: str) -> int:
    """How many of a site's committed pages have an excerpt (its pages with usable text)."""
    rows = store.query("SELECT COUNT(*) FROM pages WHERE run_id = ? AND host = ? AND excerpt <> ''",
                       (run_id, host), uses=(Page,))
    return int(rows[0][0])


# ------------------------------------------------------------------ report

def counts(store: Store, run_id: str) -> dict[str, int]:
    """Committed rows per crawl table for one run: {"sites": n, "pages": n, ...}, every table."""
    names = [table_of(t).name for t in ROW_TYPES]
    sql = " UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM {n} WHERE run_id = ?" for n in names)
    rows = dict(store.query(sql, tuple(run_id for _ in names), uses=ROW_TYPES))
    return {n: int(rows[n]) for n in names}


def failure_reasons(store: Store, run_id: str, kind: str | None = None) -> dict[str, int]:
    """{reason: count} of failures, most frequent first; `kind` filters site/page/llm."""
    sql = "SELECT reason, COUNT(*) AS n FROM failures WHERE run_id = ?"
    params: tuple = (run_id,)
    if kind is not None:
        sql += " AND kind = ?"
        params += (kind,)
    sql += " GROUP BY reason ORDER BY n DESC, reason"
    return {r: int(n) for r, n in store.query(sql, params, uses=(Failure,))}


def categories(store: Store, run_id: str) -> dict[str, int]:
    """{category: number of sites} from the LLM results, most frequent first."""
    rows = store.query("SELECT category, COUNT(*) AS n FROM llm_results WHERE run_id = ? "
                       "GROUP BY category ORDER BY n DESC, category", (run_id,), uses=(LLMResult,))
    return {c: int(n) for c, n in rows}


def near_dup_pairs(store: Store, run_id: str) -> list[tuple[str, str, float]]:
    """(url_a, url_b, similarity) of every near-duplicate pair, url_a < url_b, in url order."""
    return [(a, b, float(s)) for a, b, s in store.query(
        "SELECT url_a, url_b, similarity FROM near_dups WHERE run_id = ? ORDER BY url_a, url_b",
        (run_id,), uses=(NearDup,))]


def near_dup_clusters(store: Store, run_id: str, min_size: int = 2) -> list[list[str]]:
    """Connected groups of near-duplicate pages (each sorted), largest first."""
    parent: dict[str, str] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b, _ in near_dup_pairs(store, run_id):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = defaultdict(list)
    for x in parent:
        groups[find(x)].append(x)
    clusters = [sorted(g) for g in groups.values() if len(g) >= min_size]
    clusters.sort(key=lambda g: (-len(g), g[0]))
    return clusters



# ------------------------------------------------------------------ results

@dataclass(frozen=True)
class SiteAnswer:
    """One finished site with its LLM answer, or the short failure code of why it has none.

    status : the site row's status: "ok", "failed" (the site itself) or "llm_failed".
    reason, detail, stage : the site's or its LLM call's failure ("" when it was answered).
    answer : the whole answer as the model gave it (every field of the job's schema, e.g.
        ``language``; category and summary included), {} when there is none or it is not JSON.
    """

    host: str
    url: str = ""
    status: str = "ok"
    title: str = ""
    n_pages: int = 0
    n_failed: int = 0
    category: str = ""
    summary: str = ""
    reason: str = ""
    stage: str = ""
    detail: str = ""
    finished_at: float | None = None
    answer: dict = field(default_factory=dict)


def site_answers(store: Store, run_id: str) -> list[SiteAnswer]:
    """Every finished site of a run, in host order, with its answer or its failure."""
    answers = {h: (c, s, _answer(raw)) for h, c, s, raw in store.query(
        "SELECT host, category, summary, raw FROM llm_results WHERE run_id = ?", (run_id,),
        uses=(LLMResult,))}
    # a site failure outranks an LLM failure of the same host (resumed runs may hold both)
    failed: dict[str, tuple[str, str, str]] = {}
    for kind, key, reason, stage, detail in store.query(
            "SELECT kind, key, reason, stage, detail FROM failures WHERE run_id = ? AND "
            "kind IN ('site', 'llm') ORDER BY kind DESC, key", (run_id,), uses=(Failure,)):
        failed.setdefault(key, (reason, stage, detail))
    out = []
    for s in store.rows(Site, run_id):
        category, summary, answer = answers.get(s.host, ("", "", {}))
        reason, stage, detail = failed.get(s.host, ("", "", "")) if s.status != "ok" else ("", "", "")
        out.append(SiteAnswer(host=s.host, url=s.url, status=s.status, title=s.title,
                              n_pages=s.n_pages, n_failed=s.n_failed, category=category,
                              summary=summary, reason=reason, stage=stage, detail=detail,
                              finished_at=s.finished_at, answer=answer))
    return out


def _answer(raw: str) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
