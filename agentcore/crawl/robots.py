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

Files are parsed by Protego (Scrapy's parser): the group of the longest matching product token,
then the longest matching rule, ``Allow`` winning a tie, with ``*`` and ``$`` patterns, as RFC
9309 says. (urllib's ``RobotFileParser`` takes the first matching rule and reads ``*`` as a
character; it also imports ``urllib.request`` and ``ssl``, 7 MB of the curl child's memory.)

>>> rules = parse("http://a.test/robots.txt", b"User-agent: *\\nDisallow: /private/\\n")
>>> allows(rules, "agentcore", "http://a.test/private/1.html"), allows(rules, "x", "http://a.test/")
(False, True)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Union

from protego import Protego

if TYPE_CHECKING:
    from agentcore.crawl.outcome import FetchResult

__all__ = ["Rules", "Matcher", "robots_url", "parse", "rules_from", "allows", "crawl_delay"]

#: A host's rules, or the failed fetch that forbids crawling it.
Rules = Union[Protego, "FetchResult"]


def robots_url(url) -> str:
    """The robots.txt URL for the host of ``url`` (a ``yarl.URL``)."""
    return str(url.with_path("/robots.txt").with_query(None).with_fragment(None))


def parse(url: str, body: bytes) -> Protego:
    """Parse the bytes of the robots.txt at ``url`` (read as UTF-8, bad bytes replaced)."""
    return Protego.parse(body.decode("utf-8", "replace"))


def rules_from(result: "FetchResult", url: str) -> Rules:
    """The rules of a host from the fetch of its robots.txt at ``url`` (see the module table).

    A 5xx answer comes back as ``result`` itself, its reason changed to ``robots_unavailable``.
    """
    if result.ok:
        return parse(url, result.body)
    if result.status is not None and 400 <= result.status < 500:
        return Protego.parse("")  # no file: no rules
    if result.error_reason and result.error_reason.startswith("http_"):
        result.error_reason = "robots_unavailable"
        result.error_detail = f"robots.txt answered {result.status}; assuming full disallow"
    return result


def allows(rules: Rules, agent: str, url: str) -> bool:
    """True if ``agent`` may fetch ``url`` under ``rules`` (never for a failed robots.txt)."""
    return isinstance(rules, Protego) and rules.can_fetch(url, agent)


class Matcher:
    """One host's rules for one agent, asked about many URLs (``allows(rules, agent, url)``).

    >>> m = Matcher(parse("http://a.test/robots.txt", b"User-agent: *\\nDisallow: /p/\\n"), "x")
    >>> m.allows("http://a.test/p/1.html"), m.allows("http://a.test/q.html")
    (False, True)
    """

    __slots__ = ("rules", "agent")

    def __init__(self, rules: Rules, agent: str):
        self.rules, self.agent = rules, agent

    def allows(self, url: str) -> bool:
        """True if the agent may fetch ``url``."""
        return allows(self.rules, self.agent, url)


def crawl_delay(rules: Rules, agent: str, cap: float) -> float:
    """Seconds between requests that ``rules`` ask of ``agent``, at most ``cap``; 0 if none."""
    if not isinstance(rules, Protego):
        return 0.0
    delay = rules.crawl_delay(agent)
    return min(float(delay), cap) if delay else 0.0
