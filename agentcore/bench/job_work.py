"""What each side of `agentcore bench job` did, counted the same way, and why two sides' counts differ.

Both contenders fill one :class:`Work` from their own records (agentcore from its store and the
engine's results, plain Python from its own loop); :func:`table_figures` turns a ``Work`` into the
table's figures by the same rules for both, and :func:`differences` says, for each figure that
differs between the two, where the difference comes from (which pages, which sites, which
mechanism), so a ratio is never quoted over unequal work without its reason beside it.

>>> a = Work(fetched={"http://a.org/", "http://a.org/p"}, text={"http://a.org/p": 900})
>>> table_figures(a)["pages fetched"], table_figures(a)["pages with text"]
(2, 1)
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

SITE_LINE = re.compile(r"^Site: (\S+)\n")


@dataclass
class Work:
    """One contender's run, in the units the table compares.

    fetched : page URLs requested, home pages among them (robots.txt is not a page).
    text : {url: characters of extracted text} of every page with text.
    page_failures : {url: short code} of pages without text (``http_404``, ``empty_text``, ...).
    prompts : {host: the chat sent to the model}; fed : {host: the URLs whose text it holds}.
    prompt_tokens : every prompt token of every request the model ran; computed_tokens : those
        it evaluated (the rest came from a KV cache: a shared prefix, the previous prompt).
    generated_tokens : answer tokens; answers : {host: answer}; failures : {site code: n}.
    """

    fetched: set = field(default_factory=set)
    text: dict = field(default_factory=dict)
    page_failures: dict = field(default_factory=dict)
    prompts: dict = field(default_factory=dict)
    fed: dict = field(default_factory=dict)
    prompt_tokens: int = 0
    computed_tokens: int = 0
    generated_tokens: int = 0
    answers: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)
    reuse: str = ""  # how this side's engine reuses prompt tokens (one sentence)
    miscounted: int = 0  # requests whose prompt, as fitted, the model counted differently


def prompt_host(messages: list) -> str | None:
    """The host a site's chat is about (its user message starts ``Site: host``)."""
    for m in messages:
        if m.get("role") == "user":
            got = SITE_LINE.match(str(m.get("content", "")))
            return got.group(1) if got else None
    return None


def fed_urls(task, excerpts) -> list[str]:
    """The URLs whose excerpts ``task.page_text`` puts into a prompt (its choice: the longest
    ``task.pages`` excerpts, ties by URL)."""
    chosen = sorted((e for e in excerpts if e[1]), key=lambda ue: (-len(ue[1]), ue[0]))
    return [u for u, _ in chosen[:task.pages]]


def page_text_of(messages: list) -> str:
    """The page text a site's chat carries (after ``Text: `` in its user message)."""
    for m in messages:
        if m.get("role") == "user":
            return str(m.get("content", "")).partition("\nText: ")[2]
    return ""


def table_figures(w: Work) -> dict:
    """The work figures of the table, the same rules for every contender."""
    page_codes = Counter(w.page_failures.values())
    return {"pages fetched": len(w.fetched), "pages with text": len(w.text),
            "pages without text": dict(page_codes), "sites prompted": len(w.prompts),
            "prompt tokens": w.prompt_tokens, "computed": w.computed_tokens,
            "reused": w.prompt_tokens - w.computed_tokens,
            "generated tokens": w.generated_tokens}


def short(urls, n: int = 2) -> str:
    urls = sorted(urls)
    more = f" +{len(urls) - n}" if len(urls) > n else ""
    return ", ".join(urls[:n]) + more


def differences(a: Work, b: Work, na: str, nb: str) -> list[str]:
    """One line per differing figure, saying where the difference comes from."""
    out: list[str] = []
    if a.fetched != b.fetched:
        for x, y, nx, ny in ((a, b, na, nb), (b, a, nb, na)):
            only = x.fetched - y.fetched
            if only:
                out.append(f"pages fetched: {len(only)} only by {nx} (not by {ny}): {short(only)}")
    if set(a.text) != set(b.text):
        for x, y, nx, ny in ((a, b, na, nb), (b, a, nb, na)):
            only = set(x.text) - set(y.text)
            if not only:
                continue
            why = Counter(y.page_failures.get(u) or ("not fetched" if u not in y.fetched
                                                     else "no row") for u in only)
            out.append(f"pages with text: {len(only)} have text only for {nx}; {ny} has "
                       + ", ".join(f"{c} {n}" for c, n in why.most_common())
                       + f" for them: {short(only)}")
    hosts = set(a.prompts) | set(b.prompts)
    both = set(a.prompts) & set(b.prompts)
    for x, y, nx, ny in ((a, b, na, nb), (b, a, nb, na)):
        only = set(x.prompts) - set(y.prompts)
        if only:
            out.append(f"sites prompted: {len(only)} only by {nx} ({ny} had no text for "
                       f"them): {short(only)}")
    same = sum(1 for h in both if a.prompts[h] == b.prompts[h])
    if hosts and same < len(hosts):
        fed_same = sum(1 for h in both if set(a.fed.get(h, ())) == set(b.fed.get(h, ())))
        ca = sum(len(page_text_of(a.prompts[h])) for h in both)
        cb = sum(len(page_text_of(b.prompts[h])) for h in both)
        other = len(both) - fed_same
        out.append(f"prompt text: identical for {same} of {len(both)} sites both prompted; "
                   f"{fed_same} of them built from the same pages"
                   + (f", {other} from other pages (a page with text on one side only, or "
                      f"another choice of the longest excerpts)" if other else "")
                   + f"; page text {ca:,d} chars ({na}) vs {cb:,d} ({nb}) over those sites: "
                   f"each side's extractor (and keywords) picks its own text, the same task "
                   f"trims both (pages, text_chars, token budget)")
    if a.prompt_tokens != b.prompt_tokens:
        out.append(f"prompt tokens: {a.prompt_tokens:,d} vs {b.prompt_tokens:,d} follow the "
                   f"prompt text above ({len(a.prompts)} vs {len(b.prompts)} requests)")
    ra, rb = a.prompt_tokens - a.computed_tokens, b.prompt_tokens - b.computed_tokens
    if (a.computed_tokens, ra) != (b.computed_tokens, rb):
        for w, n, r in ((a, na, ra), (b, nb, rb)):
            if w.reuse:
                out.append(f"  reused by {n}: {r:,d} ({w.reuse})")
    for w, n in ((a, na), (b, nb)):
        if w.miscounted:
            out.append(f"  {n}'s prompt fitting counted {w.miscounted} prompts differently from "
                       f"the model's own count (its trimming differs there)")
    if a.generated_tokens != b.generated_tokens:
        ga, gb = len(a.answers) + sum(a.failures.get(c, 0) for c in ANSWER_CODES), \
            len(b.answers) + sum(b.failures.get(c, 0) for c in ANSWER_CODES)
        out.append(f"generated tokens: {a.generated_tokens:,d} over {ga} replies vs "
                   f"{b.generated_tokens:,d} over {gb}: different prompts give different "
                   f"answers, and the plain side's grammar has no length bounds")
    if a.failures != b.failures:
        codes = sorted(set(a.failures) | set(b.failures))
        out.append("sites failed: " + "; ".join(
            f"{c} {a.failures.get(c, 0)} vs {b.failures.get(c, 0)}" for c in codes
            if a.failures.get(c, 0) != b.failures.get(c, 0)))
    return out


#: site failure codes of requests the model ran to the end (they generated tokens too)
ANSWER_CODES = ("answer_too_long", "llm_bad_answer")
