"""robots.txt: the per-host Matcher gives exactly the verdicts of urllib's RobotFileParser."""

from agentcore.crawl import robots
from agentcore.crawl.fetch import FetchResult
from agentcore.crawl.robots import Matcher

BODIES = [
    b"User-agent: *\nDisallow: /private/\nDisallow: /cgi-bin/\n\nUser-agent: BadBot\nDisallow: /\n",
    b"User-agent: agentcore\nAllow: /a/b\nDisallow: /a\n",
    b"",
    b"User-agent: other\nDisallow: /\n",
    b"User-agent: *\nDisallow: /x%20y\nDisallow: /q?\nDisallow: /~t\nDisallow: /a;\n",
    b"User-agent: *\nAllow: /\n",
    b"User-agent: *\nDisallow: /\n",
]
PATHS = ["/", "", "/private/1.html", "/privat", "/a/b/c", "/a/c", "/x y", "/x%20y", "/q?z=1",
         "/~t/", "/%7Et/", "/a;p", "/a#f", "/\u00e9", "/cgi-bin", "?x", "/private%2F1", "/A/B"]


def test_matcher_agrees_with_robotfileparser():
    checked = 0
    for body in BODIES:
        rules = robots.parse("http://h.test/robots.txt", body)
        for agent in ("agentcore", "BadBot", "agentcore/0.1"):
            matcher = Matcher(rules, agent)
            for path in PATHS:
                for host in ("h.test", "H.test:8080"):
                    for scheme in ("http", "https"):
                        url = f"{scheme}://{host}{path}"
                        assert matcher.allows(url) == rules.can_fetch(agent, url), (body, agent, url)
                        checked += 1
    assert checked == len(BODIES) * 3 * len(PATHS) * 4


def test_matcher_of_missing_and_failed_robots():
    url = "http://a.test/robots.txt"
    missing = robots.rules_from(FetchResult(url, url, 404, {}, b"", "http_404", "", 0.0, 1), url)
    assert Matcher(missing, "agentcore").allows("http://a.test/p/1")
    down = robots.rules_from(FetchResult(url, url, 503, {}, b"", "http_503", "", 0.0, 1), url)
    assert not Matcher(down, "agentcore").allows("http://a.test/")
    unread = robots.RobotFileParser(url)  # never read: nothing allowed, as can_fetch says
    assert not Matcher(unread, "agentcore").allows("http://a.test/")
