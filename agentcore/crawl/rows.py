"""What each of the crawl job's store states writes: one atomic unit of rows per agent.

One builder per state (``page``, ``page_failure``, ``site``, ``site_failure``, ``llm_failure``);
``CrawlJob.spec`` hands each to its own ``store_action``, with the hook that counts it once durable.
A failure's ``reason`` is always a short code (:func:`failure_code`); its sentence goes to ``detail``.

>>> failure_code("prompt too long: prompt tokens + max_tokens exceed the 512-token context")[0]
'prompt_too_long'
>>> failure_code("links: KeyError: 'body'")
('links_error', "links: KeyError: 'body'")
>>> failure_code("http_404")
('http_404', '')
"""
from __future__ import annotations

import re
import time

from .tables import Failure, Keyword, LLMResult, NearDup, Page, Site

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .job import CrawlJob

#: columns each builder reads (its state's ``reads=``; CrawlRows.page unpacks PAGE_READS in this
#: order); SITE rows read ``llm`` only with an LLM
PAGE_READS = ("url", "host", "final_url", "http_status", "ctype", "n_bytes", "title", "n_words",
              "simhash", "excerpt", "elapsed", "minhash", "keywords", "dups")
FAILURE_READS = ("url", "host", "fail_stage", "fail_detail", "fetch_attempts")
SITE_READS = ("url", "host", "n_links", "n_ok", "title")
LLM_READS = ("llm", "llm_t0")
#: columns freed once an agent's rows are durable (the values live in the store from then on):
#: every column a stored row read but "url" and "host" (11,500 pages kept ~6 MB of titles,
#: types and numbers to the end of the run)
FREED = ("keywords", "dups", "excerpt", "minhash", "fail_detail", "prompt", "llm", "title",
         "final_url", "ctype", "http_status", "elapsed", "n_bytes", "n_words", "simhash",
         "fetch_attempts", "fail_stage", "n_links", "n_ok", "llm_t0")


_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_FROM_EXCEPTION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): ([A-Za-z_][A-Za-z0-9_.]*): ")
#: sentences of the LLM engine and its action, by a phrase they contain
_LLM_PHRASES = (("prompt too long", "prompt_too_long"), ("cut off at max_tokens", "answer_too_long"),
                ("cancelled", "llm_cancelled"), ("not submitted", "llm_error"),
                ("json", "llm_bad_answer"), ("schema", "llm_bad_answer"))


def failure_code(reason: str) -> tuple[str, str]:
    """(short code, sentence) of a failure reason: a code stays as it is (sentence ''); an
    exception's ``action: Type: text`` becomes ``action_error``, ``timeout`` for timeouts; the
    LLM's sentences get their own codes (``prompt_too_long``, ``llm_bad_answer``, ...)."""
    reason = (reason or "").strip()
    if not reason:
        return "unknown", ""
    if _CODE.fullmatch(reason):
        return reason, ""
    low = reason.lower()
    m = _FROM_EXCEPTION.match(reason)
    if m is not None:
        if "timeout" in m.group(2).lower():
            return "timeout", reason
        name = re.sub(r"[^a-z0-9]+", "_", m.group(1).lower()).strip("_")[:30] or "action"
        return f"{name}_error", reason
    for phrase, code in _LLM_PHRASES:
        if phrase in low:
            return code, reason
    return "error", reason


class CrawlRows:
    """Row builders and after-commit hooks of the job's five store states."""

    def __init__(self, job: "CrawlJob"):
        self.job = job

    # ---- builders (swarm thread) -------------------------------------------------------------

    def page(self, swarm, ids) -> list:
        """Every page agent's unit of the batch (``store_action(many=True)``): its Page, its
        keywords and its near-duplicate pairs. Rows go as (type, values in field order) and
        each column is read once per batch: a page has ~8 keywords, and building their objects
        only for the store to take them apart again was a tenth of the crawl's GIL time."""
        d = swarm.data
        now = time.time()
        units = []
        for (url, host, final, status, ctype, n_bytes, title, n_words, simhash, excerpt, elapsed,
             minhash, keywords, dups) in zip(*(d[c][ids] for c in PAGE_READS)):
            rows = [(Page, (url, host, final or url, status or 0, ctype or "", n_bytes or 0,
                            (title or "")[:300], n_words or 0, simhash or 0, excerpt or "", now,
                            1e3 * (elapsed or 0.0), minhash or ""))]
            if keywords:
                rows += [(Keyword, (url, k, host, float(w))) for k, w in keywords]
            if dups:
                rows += [NearDup(url_a=url, url_b=other, similarity=x) for other, x in dups]
            units.append(rows)
        return units

    def page_failure(self, swarm, aid: int) -> list:
        return [self._failure(swarm, aid, "page")]

    def site(self, swarm, aid: int) -> list:
        rows = [self._site(swarm, aid, "ok")]
        if "llm" not in swarm.data:
            return rows
        d = swarm.data
        res = d["llm"][aid]
        if res is not None and res.error is None:
            v = res.value or {}
            rows.append(LLMResult(host=d["host"][aid], category=str(v.get("category", "")),
                                  summary=str(v.get("summary", "")),
                                  model=getattr(self.job.engine, "model_name", ""),
                                  prompt_tokens=res.prompt_tokens,
                                  completion_tokens=res.completion_tokens,
                                  elapsed_ms=1e3 * (time.monotonic() - d["llm_t0"][aid]),
                                  raw=res.text, created_at=time.time()))
        return rows

    def site_failure(self, swarm, aid: int) -> list:
        return [self._failure(swarm, aid, "site"), self._site(swarm, aid, "failed")]

    def llm_failure(self, swarm, aid: int) -> list:
        return [self._failure(swarm, aid, "llm"), self._site(swarm, aid, "llm_failed")]

    def _failure(self, swarm, aid: int, kind: str) -> Failure:
        d = swarm.data
        host = d["host"][aid]
        reason = swarm.reason_of(aid) or "unknown"
        code, sentence = failure_code(reason)
        if code == "error" and kind == "llm":
            code = "llm_error"
        stage = d["fail_stage"][aid] or ("llm" if kind == "llm" else
                                         reason.split(":")[0] if ":" in reason else "")
        detail = d["fail_detail"][aid] or sentence or (
            f"the {stage or kind} step ran past its state's timeout" if code == "timeout" else "")
        return Failure(kind=kind, key=d["url"][aid] if kind == "page" else host, host=host,
                       stage=stage[:40], reason=code, detail=str(detail)[:500],
                       attempts=d["fetch_attempts"][aid] or 1, at=time.time())

    def _site(self, swarm, aid: int, status: str) -> Site:
        d = swarm.data
        host = d["host"][aid]
        n_links = d["n_links"][aid] or 0
        ok = d["n_ok"][aid]
        if ok is None:
            ok = sum(1 for u in self.job.ok_pages if u.split("/", 3)[2] == host)
        return Site(host=host, url=d["url"][aid], status=status, n_pages=n_links,
                    n_failed=max(0, n_links - ok), robots=1, title=(d["title"][aid] or "")[:300],
                    finished_at=time.time())

    # ---- after the commit (store writer thread) ----------------------------------------------

    def page_stored(self, swarm, ids) -> None:
        """A batch of pages is durable (``store_action(many=True)``: the ids it stored)."""
        self.job.stats["pages_ok"] += len(ids)
        self._free(swarm, ids)

    def page_failure_stored(self, swarm, aid: int) -> None:
        self.job.stats["pages_failed"] += 1
        self.job.failures[failure_code(swarm.reason_of(aid))[0]] += 1
        self._free(swarm, [aid])

    def site_stored(self, swarm, aid: int) -> None:
        self.job.stats["sites_ok"] += 1
        if "llm" in swarm.data and swarm.data["llm"][aid] is not None:
            self.job.stats["llm_ok"] += 1
        self._free(swarm, [aid])

    def site_failure_stored(self, swarm, aid: int) -> None:
        self.job.stats["sites_failed"] += 1
        self.job.failures[failure_code(swarm.reason_of(aid))[0]] += 1
        self._free(swarm, [aid])

    def llm_failure_stored(self, swarm, aid: int) -> None:
        self.job.stats["llm_failed"] += 1
        self.job.failures[failure_code(swarm.reason_of(aid))[0]] += 1
        self._free(swarm, [aid])

    @staticmethod
    def _free(swarm, ids) -> None:
        """Drop the stored agents' FREED columns (their values live in the store now)."""
        d = swarm.data
        for col in FREED:
            if col in d:
                d[col].free(ids)
