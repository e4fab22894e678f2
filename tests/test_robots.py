"""robots.txt: RFC 9309's matching (longest rule, Allow on a tie, * and $, the agent's own group),
and what a missing, failing or unreachable robots.txt means for the host."""
import pytest

from agentcore.crawl import robots
from agentcore.crawl.fetch import FetchResult
from agentcore.crawl.robots import Matcher

SITE = b"User-agent: *\nDisallow: /private/\nDisallow: /cgi-bin/\n\nUser-agent: BadBot\nDisallow: /\n"

CASES = [
    # (robots.txt, agent, path, allowed)
    (SITE, "agentcore", "/", True),
    (SITE, "agentcore", "/private/1.html", False),
    (SITE, "agentcore", "/privat", True),
    (SITE, "agentcore", "/cgi-bin", True),  # /cgi-bin/ is a prefix of neither
    (SITE, "agentcore", "/cgi-bin/x", False),
    (SITE, "BadBot", "/", False),
    (SITE, "badbot", "/articles/1.html", False),  # product tokens are case-insensitive
    (SITE, "agentcore/0.1", "/private/", False),
    # the longest matching rule wins, wherever it stands in the group (RFC 9309 2.2.2)
    (b"User-agent: *\nDisallow: /a\nAllow: /a/b\n", "agentcore", "/a/b/c", True),
    (b"User-agent: *\nDisallow: /a\nAllow: /a/b\n", "agentcore", "/a/c", False),
    (b"User-agent: *\nAllow: /a/b\nDisallow: /a\n", "agentcore", "/a/b/c", True),
    # on equally long rules Allow wins
    (b"User-agent: *\nDisallow: /page\nAllow: /page\n", "agentcore", "/page", True),
    # * matches any run of characters, $ ends the path
    (b"User-agent: *\nDisallow: /*.pdf$\n", "agentcore", "/docs/a.pdf", False),
    (b"User-agent: *\nDisallow: /*.pdf$\n", "agentcore", "/docs/a.pdf.html", True),
    (b"User-agent: *\nDisallow: /*/secret\n", "agentcore", "/x/y/secret/1", False),
    # an agent's own group replaces the * group entirely
    (b"User-agent: *\nDisallow: /\n\nUser-agent: agentcore\nDisallow: /x\n", "agentcore", "/y", True),
    (b"User-agent: *\nDisallow: /\n\nUser-agent: agentcore\nDisallow: /x\n", "other", "/y", False),
    (b"User-agent: other\nDisallow: /\n", "agentcore", "/", True),
    # percent-encoding: the same octets match however they are written
    (b"User-agent: *\nDisallow: /~t\n", "agentcore", "/%7Et/", False),
    (b"User-agent: *\nDisallow: /x%20y\n", "agentcore", "/x y", False),
    (b"User-agent: *\nDisallow: /q?\n", "agentcore", "/q?z=1", False),
    (b"User-agent: *\nDisallow: /q?\n", "agentcore", "/q", True),
    (b"", "agentcore", "/anything", True),
    (b"User-agent: *\nAllow: /\n", "agentcore", "/a", True),
    (b"\xff\xfeUser-agent: *\nDisallow: /\n", "agentcore", "/", True),  # bad bytes: no usable group
    (b"User-agent: *\r\nDisallow: /p/ # a comment\r\n", "agentcore", "/p/1", False),
]


@pytest.mark.parametrize("body,agent,path,allowed", CASES)
def test_rfc9309_matching(body, agent, path, allowed):
    rules = robots.parse("http://h.test/robots.txt", body)
    for host in ("h.test", "H.test:8080"):
        for scheme in ("http", "https"):
            url = f"{scheme}://{host}{path}"
            assert robots.allows(rules, agent, url) is allowed, (body, agent, url)
            assert Matcher(rules, agent).allows(url) is allowed


def test_matcher_of_missing_and_failed_robots():
    url = "http://a.test/robots.txt"
    missing = robots.rules_from(FetchResult(url, url, 404, {}, b"", "http_404", "", 0.0, 1), url)
    assert Matcher(missing, "agentcore").allows("http://a.test/p/1")
    down = robots.rules_from(FetchResult(url, url, 503, {}, b"", "http_503", "", 0.0, 1), url)
    assert down.error_reason == "robots_unavailable" and "503" in down.error_detail
    assert not Matcher(down, "agentcore").allows("http://a.test/")
    gone = FetchResult(url, url, None, {}, b"", "dns_error", "no such host", 0.0, 1)
    assert robots.rules_from(gone, url) is gone and gone.error_reason == "dns_error"
    assert not Matcher(gone, "agentcore").allows("http://a.test/")


def test_crawl_delay_is_capped_and_per_agent():
    rules = robots.parse("http://a.test/robots.txt",
                         b"User-agent: *\nCrawl-delay: 30\n\nUser-agent: agentcore\nCrawl-delay: 0.5\n")
    assert robots.crawl_delay(rules, "agentcore", 2.0) == 0.5
    assert robots.crawl_delay(rules, "other", 2.0) == 2.0
    assert robots.crawl_delay(robots.parse("u", b"User-agent: *\nDisallow:\n"), "x", 2.0) == 0.0
    url = "http://a.test/robots.txt"
    down = robots.rules_from(FetchResult(url, url, 500, {}, b"", "http_500", "", 0.0, 1), url)
    assert robots.crawl_delay(down, "agentcore", 2.0) == 0.0

