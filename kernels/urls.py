"""The one same-site rule: whether two host names belong to one site.

Two hosts are one site when they are equal once a leading ``www.`` is set aside, or when one is a
subdomain of the other (``blog.example.com`` and ``example.com``; not ``a.example.com`` and
``b.example.com``, which are siblings). Comparison ignores ASCII case. The HTML kernels apply the
same rule to split a page's links into internal and external (``same_site`` in kernels/_html_links.pxd
and kernels/html_py_links.py, on URL bytes); the crawler applies it to redirects. tests/test_urls.py
checks that all of them agree.

>>> same_site("www.python.org", "python.org"), same_site("docs.python.org", "python.org")
(True, True)
>>> same_site("a.example.com", "b.example.com"), same_site("python.org", "jython.org")
(False, False)
"""
from __future__ import annotations

__all__ = ["same_site", "site_host"]

# ASCII only, as the kernels lower URL bytes: "É" stays "É" in both.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def site_host(host: str) -> str:
    """``host`` as the same-site rule compares it: ASCII lower case, without a leading ``www.``."""
    host = host.translate(_ASCII_LOWER)
    return host[4:] if len(host) > 4 and host.startswith("www.") else host


def same_site(host_a: str, host_b: str) -> bool:
    """True if ``host_a`` and ``host_b`` (bare host names: no scheme, port or userinfo) are one
    site: equal apart from case and a leading ``www.``, or one a subdomain of the other. An
    empty host is no site."""
    a, b = site_host(host_a), site_host(host_b)
    if not a or not b:
        return False
    if len(a) == len(b):
        return a == b
    if len(a) < len(b):
        a, b = b, a
    return a.endswith(b) and a[len(a) - len(b) - 1] == "."
