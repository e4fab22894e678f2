"""The one same-site rule (agentcore.kernels.urls.same_site), and the HTML kernels agreeing with it."""
import pytest

from agentcore.kernels import twin
from agentcore.kernels.urls import same_site, site_host

CASES = [
    ("example.com", "example.com", True),
    ("Example.COM", "example.com", True),             # ASCII case never matters
    ("www.example.com", "example.com", True),         # www. aside
    ("example.com", "www.example.com", True),
    ("www.example.com", "www.example.com", True),
    ("blog.example.com", "example.com", True),        # a subdomain either way
    ("example.com", "a.b.example.com", True),
    ("www.example.com", "docs.example.com", True),    # www. aside, then a subdomain
    ("a.example.com", "b.example.com", False),        # siblings are two sites
    ("example.com", "example.org", False),
    ("example.com", "badexample.com", False),         # a suffix, but not at a dot
    ("example.com", "example.com.evil.org", False),
    ("wwwexample.com", "example.com", False),         # "www" without its dot is a name
    ("www.", "www.", True),                           # too short to lose its "www."
    ("", "example.com", False),                       # no host, no site
    ("", "", False),
]


@pytest.mark.parametrize("a,b,expected", CASES)
def test_same_site(a, b, expected):
    assert same_site(a, b) is expected
    assert same_site(b, a) is expected                # symmetric


def test_site_host():
    assert site_host("WWW.Example.com") == "example.com"
    assert site_host("www.") == "www." and site_host("Straße.de") == "straße.de"


@pytest.mark.parametrize("a,b,expected", [c for c in CASES if c[0] and c[1] and c[0] != "www."])
def test_html_kernels_split_links_by_the_same_rule(impl, a, b, expected):
    """A link is internal exactly when its host is the page's site: both twins, every case."""
    html = twin("html", impl)
    page = f'<p>x</p><a href="http://{b}/page">link</a>'.encode()
    internal, external = html.extract(page, f"http://{a}/".encode())[4:6]
    assert (internal, external) == (([f"http://{b.lower()}/page"], []) if expected
                                    else ([], [f"http://{b.lower()}/page"]))
