"""robots.txt for the fetcher: where a host's rules live and what fetching them means (RFC 9309).

The fetcher downloads ``/robots.txt`` once per host and hands the outcome to :func:`rules_from`:

==========================  ================================================================
robots.txt answer           the host's rules
==========================  ================================================================
2xx                         the file, parsed (``Crawl-delay`` honoured up to a cap)
4xx (404, 403, ...)         no restrictions: RFC 9309 2.3.1.3
5xx                         the whole host disallowed (``robots_unavailable``): RFC 9309 2.3.1.4
unreachable (DNS, timeout)  the failure itself: every page of the host fails with its reason
==========================  ================================================================

>>> rules = parse("http://a.test/robots.txt", b"User-agent: *\\nDisallow: /private/\\n")
>>> allows(rules, "agentcore", "http://a.test/private/1.html"), allows(rules, "x", "http://a.test/")
(False, True)
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Union
from urllib.robotparser import RobotFileParser

if TYPE_CHECKING:
    from agentcore.crawl.fetch import FetchResult

__all__ = ["Rules", "Matcher", "robots_url", "parse", "rules_from", "allows", "crawl_delay"]

#: A host's robots.txt rules, or the failed fetch that forbids crawling it.
Rules = Union[RobotFileParser, "FetchResult"]


def robots_url(url) -> str:
    """The robots.txt URL for the host of ``url`` (a ``yarl.URL``)."""
    return str(url.with_path("/robots.txt").with_query(None).with_fragment(None))


def parse(url: str, body: bytes) -> RobotFileParser:
    """Parse the bytes of a robots.txt (read as UTF-8, undecodable bytes replaced)."""
    parser = RobotFileParser(url)
    parser.parse(body.decode("utf-8", "replace").splitlines())
    return parser


def rules_from(result: "FetchResult", url: str) -> Rules:
    """The rules of a host from the fetch of its robots.txt at ``url`` (see the module table).

    A 5xx answer comes back as ``result`` itself, its reason changed to ``robots_unavailable``.
    """
    if result.ok:
        return parse(url, result.body)
    if result.status is not None and 400 <= result.status < 500:
        parser = RobotFileParser(url)
        parser.allow_all = True
        return parser
    if result.error_reason and result.error_reason.startswith("http_"):
        result.error_reason = "robots_unavailable"
        result.error_detail = f"robots.txt answered {result.status}; assuming full disallow"
    return result


def allows(rules: Rules, agent: str, url: str) -> bool:
    """True if ``agent`` may fetch ``url`` under ``rules`` (never for a failed robots.txt)."""
    return isinstance(rules, RobotFileParser) and rules.can_fetch(agent, url)


#: an absolute URL whose path needs no quoting and that has no query or fragment: for it,
#: RobotFileParser.can_fetch's unquote / urlparse / quote round trip gives the path itself
_PLAIN = re.compile(r"https?://[^/?#%]*(/[A-Za-z0-9_.~/-]*)?")


class Matcher:
    """One host's rules for one agent, ready for many URLs: the verdict of
    ``allows(rules, agent, url)`` without its per-URL parsing (~25 us) where the answer cannot
    depend on the path, or the path needs no quoting.

    >>> m = Matcher(parse("http://a.test/robots.txt", b"User-agent: *\\nDisallow: /p/\\n"), "x")
    >>> m.allows("http://a.test/p/1.html"), m.allows("http://a.test/q.html")
    (False, True)
    """

    __slots__ = ("rules", "agent", "verdict", "entry")

    def __init__(self, rules: Rules, agent: str):
        self.rules, self.agent = rules, agent
        self.verdict: bool | None = None
        self.entry = None
        if not isinstance(rules, RobotFileParser) or rules.disallow_all:
            self.verdict = False
        elif rules.allow_all:
            self.verdict = True
        elif not rules.last_checked:
            self.verdict = False  # can_fetch's rule: nothing is allowed before a read
        else:
            entry = next((e for e in rules.entries if e.applies_to(agent)), rules.default_entry)
            if entry is None or all(line.allowance for line in entry.rulelines):
                self.verdict = True  # no rule of ours disallows anything
            else:
                self.entry = entry

    def allows(self, url: str) -> bool:
        """True if the agent may fetch ``url`` (exactly ``allows(rules, agent, url)``)."""
        if self.verdict is not None:
            return self.verdict
        m = _PLAIN.fullmatch(url)
        if m is None:
            return self.rules.can_fetch(self.agent, url)
        return self.entry.allowance(m.group(1) or "/")


def crawl_delay(rules: Rules, agent: str, cap: float) -> float:
    """Seconds between requests that ``rules`` ask of ``agent``, at most ``cap``; 0 if none."""
    if not isinstance(rules, RobotFileParser):
        return 0.0
    delay = rules.crawl_delay(agent)
    return min(float(delay), cap) if delay else 0.0
