"""Property-based fuzzing of the compiled HTML extractor against its pure twin.

The suite runs a short budget. For a long run (about 8 minutes on 2 cores)::

    AGENTCORE_FUZZ_EXAMPLES=50000 .venv/bin/python -m pytest tests/test_fuzz_html.py -q

Memory errors that do not crash show up under AddressSanitizer: build the kernel with
``-fsanitize=address,undefined`` (e.g. a copy of kernels/ built by a setup.py whose Extension
has those flags in extra_compile_args and extra_link_args) and run this file against it with
``LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
ASAN_OPTIONS=detect_leaks=0``. Done for the version in this commit: the 181 benchmark pages,
the hostile corpus of tests/test_html_corpus.py and 3,000 random documents ran clean.

Every example checks that the compiled kernel (agentcore.kernels._html) returns well-formed results on
arbitrary bytes and HTML-shaped soup, and that the pure twin (agentcore.kernels.html_py) returns exactly
the same; a crash in the kernel would take the interpreter down, which fails the run. Those
tests compare the twins, so they carry the ``compiled`` marker; the last one fuzzes the public API.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentcore.kernels.html as kh
from agentcore.kernels import twin

EXAMPLES = int(os.environ.get("AGENTCORE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Pieces the tokenizer, tree builder, scorer and link resolver treat specially.
ATOMS = [
    b"<p>", b"</p>", b"<div>", b"</div>", b'<div class="content">', b'<div class="comment">',
    b'<div id="share-bar">', b"<article>", b"</article>", b"<main>", b"<nav>", b"</nav>",
    b"<aside>", b"<header>", b"<footer>", b"<ul>", b"</ul>", b"<ol>", b"<li>", b"</li>",
    b"<dl>", b"<dt>", b"<dd>", b"<table>", b"<tr>", b"<td>", b"<th>", b"</table>", b"<br>",
    b"</br>", b"<hr>", b"<pre>", b"</pre>", b"<h1>", b"</h2>", b"<span>", b"</span>", b"<b>",
    b'<a href="/x?a=1&amp;b=2#f">', b"<a href=../y>", b'<a href="//cdn.example.com/z">',
    b'<a href="mailto:x@y">', b'<a href="HTTP://Ex.COM:80/./a/../b c">', b"</a>", b"<a>",
    b'<base href="https://base.example.com/dir/">', b"<html lang=en>", b"<body>", b"</body>",
    b"<title>", b"</title>", b'<meta name="description" content="d &amp; e">',
    b'<meta property="og:description" content="og">', b"<script>", b"</script>", b"<style>",
    b"</style>", b"<noscript>", b"<textarea>", b"<plaintext>", b"<svg>", b"</svg>",
    b"<template>", b"<select><option>", b"<button>", b"<!--", b"-->", b"<!-->", b"<!DOCTYPE html>",
    b"<![CDATA[", b"]]>", b"<?xml?>", b"</ >", b"<3", b"< p>", b"<", b">", b"/", b"=", b'"', b"'",
    b" ", b"\n", b"\t", b"\0", b"&", b"&amp;", b"&amp", b"&nbsp;", b"&#", b"&#x", b"&#65;",
    b"&#x1F600;", b"&#150;", b"&#0;", b"&#xD800;", b"&#99999999999;", b"&notin;", b"&bogus;",
    b"\xc3\xa9", b"\xe3\x80\x82", b"\xef\xbc\x8c", b"\xe3", b"\x80", b"\xff", b"\xed\xa0\x80",
    b'<p style="display:none">', b"<div hidden>", b'<div role="navigation">',
    b'<div itemprop="articleBody">', b"<x-custom>", b"</x-custom>", b"<DIV CLASS=Sidebar>",
    b"Plain sentence with words, commas, and a full stop. ",
    b"A much longer sentence that is long enough to count as content on its own, surely. ",
]
soup = st.lists(st.one_of(st.sampled_from(ATOMS), st.binary(max_size=6)), max_size=60).map(
    b"".join)
urls = st.sampled_from([b"", b"https://www.example.com/dir/page.html?q=1#h", b"http://ex.com",
                        b"not a url", b"https://EXAMPLE.com", b"ftp://example.com/x"])


def _well_formed(r):
    assert isinstance(r, tuple) and len(r) == 6
    assert all(isinstance(x, str) for x in r[:4])
    for links in r[4:]:
        assert isinstance(links, list)
        for link in links:
            assert link.startswith(("http://", "https://")) and "#" not in link
            assert "\n" not in link and "\t" not in link


def _twins_agree(data, url):
    r = twin("html", "compiled").extract(data, url)
    _well_formed(r)
    assert r == twin("html", "pure").extract(data, url)


@pytest.mark.compiled
@FUZZ
@given(soup, urls)
def test_html_soup_twins_agree(data, url):
    _twins_agree(data, url)


@pytest.mark.compiled
@FUZZ
@given(st.binary(max_size=400), urls)
def test_random_bytes_twins_agree(data, url):
    _twins_agree(data, url)


@FUZZ
@given(st.one_of(soup, st.binary(max_size=200), st.text(max_size=200)),
       st.one_of(st.none(), st.text(max_size=30)),
       st.one_of(st.none(), st.sampled_from(["text/html", "text/html; charset=latin1",
                                             "text/html; charset=bogus", "image/png", ""])))
def test_public_api_never_raises_on_valid_types(data, url, ctype):
    r = kh.extract(data, url, ctype)
    assert isinstance(r, kh.Extracted)
    _well_formed(tuple(r))
