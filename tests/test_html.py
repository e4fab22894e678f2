"""agentcore.kernels.html: main text, metadata, links, decoding and argument checks, on both twins.

Every test taking the ``html`` fixture runs twice (the session fixture ``impl``): through the public
module with the compiled kernel (agentcore.kernels._html) and with the pure-Python twin
(agentcore.kernels.html_py).
"""
import codecs

import pytest

import agentcore.kernels.html as kh
from agentcore.kernels import html_rules, twin
from agentcore.kernels.decode import codec_for, decode_html, sniff_charset, to_utf8

PARA = ("The committee met on Tuesday to review the budget, and after a long debate it agreed "
        "to fund the new library. ")


@pytest.fixture
def html(impl, monkeypatch):
    """agentcore.kernels.html with its implementation set to the ``impl`` twin."""
    monkeypatch.setattr(kh, "_impl", twin("html", impl))
    return kh


def page(body: str, head: str = "<title>A title</title>", attrs: str = ' lang="en"') -> bytes:
    return f"<!DOCTYPE html><html{attrs}><head>{head}</head><body>{body}</body></html>".encode()


ARTICLE = page(
    '<header class="site-header"><a href="/">Home</a><a href="/news">News</a></header>'
    '<nav><ul><li><a href="/a">Section A</a></li><li><a href="/b">Section B</a></li></ul></nav>'
    '<div id="cookie-banner">We use cookies to improve your experience, please accept them all.</div>'
    '<script>var x = "<p>not text</p>";</script><style>p { color: red }</style>'
    '<!-- a comment that is long enough to be a paragraph, with commas, and periods. -->'
    '<main><article><h1>Headline</h1>'
    f'<p>{PARA}</p><p>{PARA}Second paragraph &amp; more &eacute;t&eacute; &#8217;quoted&#x2019;.</p>'
    '<h2>A subheading</h2>'
    f'<p>{PARA}Third one with a <a href="https://example.org/ref">reference link</a>.</p>'
    '<div class="share-buttons">Share this on Facebook, Twitter, and by email today.</div>'
    '</article>'
    '<aside class="sidebar"><p>Sidebar text about something else entirely, also quite long.</p></aside>'
    '</main>'
    '<div class="comments"><p>A reader comment that rambles on for a while, with opinions.</p></div>'
    '<form><label>Email</label><input name=e><button>Subscribe to the newsletter now</button></form>'
    '<footer><p>Copyright 2024 Example News, all rights reserved, and so on.</p></footer>',
    head='<title>Budget &amp; library</title><meta name="description" content="The budget vote.">'
         '<meta property="og:description" content="og text">')


def test_main_text_keeps_the_article_and_drops_boilerplate(html):
    r = html.extract(ARTICLE, "https://www.example.com/news/2024/budget.html")
    assert isinstance(r, html.Extracted)
    assert r.title == "Budget & library"
    assert r.description == "The budget vote."
    assert r.lang == "en"
    paras = r.text.split("\n\n")
    # <article> marks the article, so its headline opens the text
    assert paras[:2] == ["Headline", PARA.strip()]
    assert "Second paragraph & more été ’quoted’." in r.text
    assert "A subheading" in paras
    assert "Third one with a reference link." in r.text
    for junk in ("Home", "Section A", "cookies", "not text", "color", "comment", "Share this",
                 "Sidebar", "reader comment", "Subscribe", "Copyright"):
        assert junk not in r.text, junk


def short_article(banner: str) -> bytes:
    """The local web's article page (agentcore/web/server.py) with a short article."""
    return page(
        f'{banner}<header><div class="logo"><a href="/">Notes</a></div><nav class="main-nav">'
        '<a href="/">Home</a> <a href="/#about">About</a></nav></header>'
        '<div class="breadcrumbs"><a href="/">Home</a> › Articles › Short one</div>'
        '<main><article><h1>Short one</h1>'
        '<p class="byline">By M. Okafor · from the os sources · 4 min read</p>'
        '<p>Return the current working directory</p><p>Change the current directory</p>'
        '<p>Does the path exist?</p></article>'
        '<div class="share">Share: <a href="#">Twitter</a> <a href="#">Email</a></div>'
        '<nav class="pager"><a href="/a/1.html">« Previous</a> <a href="/a/3.html">Next »</a>'
        '</nav></main><aside class="sidebar"><section class="newsletter"><h3>Newsletter</h3>'
        '<p>Get the best articles in your inbox every week — no spam, unsubscribe at any time.'
        '</p></section></aside><footer><p>© 2024 Notes · All rights reserved</p></footer>')


COOKIES = ("<p>We use cookies to improve your experience and to measure traffic. By continuing "
           "to browse you accept our cookie policy.</p><button>Accept all</button>")


@pytest.mark.parametrize("banner", [
    f'<div class="cookie-banner" role="dialog">{COOKIES}</div>',  # as the local web has it
    f'<div class="gdpr">{COOKIES}</div>',
    f'<div id="x1" aria-modal="true">{COOKIES}</div>',
    f'<div class="banner">{COOKIES}</div>',
    # no hint at all: a stray line must not beat a short article
    '<div class="notice"><p>Free shipping on all orders over $50, today only.</p></div>',
    "",
])
def test_short_article_wins_over_cookie_banner(html, banner):
    r = html.extract(short_article(banner), "http://site-0007.test/articles/2.html")
    assert r.text == ("Short one\n\nReturn the current working directory\n\n"
                      "Change the current directory\n\nDoes the path exist?")


@pytest.fixture(scope="module")
def local_web_pages():
    """(url, body, article) of every page of a 40-site local web that has an article."""
    from agentcore.web.server import SyntheticWeb

    web = SyntheticWeb(40, (5, 9), seed=3)
    out = []
    for truth in web.pages(include_home=False):
        if truth.kind not in ("ok", "near_duplicate"):
            continue
        host, path = truth.url.split("/", 3)[2:]
        reply = web.respond(host, "/" + path)
        assert reply.status == 200, truth
        # the article the page renders (the web's ground truth for its text)
        out.append((truth.url, reply.body, web.article(truth.site, truth.index)))
    return out


def test_local_web_articles_are_extracted_without_boilerplate(html, local_web_pages):
    assert len(local_web_pages) > 200
    for url, body, article in local_web_pages:
        text = html.extract(body, url).text
        assert "We use cookies" not in text, url
        assert article.paragraphs[0].split(". ")[0] in text, url  # the first sentence
        # exactly the headline and the paragraphs: no byline, share bar, pager or sidebar
        assert text == "\n\n".join((article.title, *article.paragraphs)), url


def test_links_are_resolved_and_split_by_site(html):
    r = html.extract(ARTICLE, "https://www.example.com/news/2024/budget.html")
    assert r.links_internal == ["https://www.example.com/", "https://www.example.com/news",
                                "https://www.example.com/a", "https://www.example.com/b"]
    assert r.links_external == ["https://example.org/ref"]


def test_link_resolution_rules(html):
    body = "".join(f'<a href="{h}">x</a>' for h in [
        "rel/page?x=1#frag", "../up", "./same", "/abs/./p/../q", "?only=query", "#top",
        "//cdn.example.com/lib.js", "HTTPS://Example.COM/Case", "mailto:me@example.com",
        "javascript:void(0)", "tel:123", "  /spaced path  ", "/tab\tbed", "rel/page?x=1#other",
        "http://sub.example.com/s", "https://example.com.evil.org/x", "ftp://example.com/f",
        "/a?b=1&amp;c=2", "", "http://[::1]:8080/v6", "https://user@www.example.com:8443/p",
    ])
    r = html.extract(page(body), "https://example.com/dir/doc.html?q=0#h")
    assert r.links_internal == [
        "https://example.com/dir/rel/page?x=1", "https://example.com/up",
        "https://example.com/dir/same", "https://example.com/abs/q",
        "https://example.com/dir/doc.html?only=query", "https://cdn.example.com/lib.js",
        "https://example.com/Case", "https://example.com/spaced%20path",
        "https://example.com/tabbed", "http://sub.example.com/s", "https://example.com/a?b=1&c=2",
        "https://user@www.example.com:8443/p",
    ]
    assert r.links_external == ["https://example.com.evil.org/x", "http://[::1]:8080/v6"]


def test_base_href_and_missing_base_url(html):
    doc = page('<a href="x/y">rel</a><a href="https://other.net/z">abs</a>',
               head='<base href="https://static.example.com/root/">')
    r = html.extract(doc, "https://example.com/page")
    assert r.links_internal == ["https://static.example.com/root/x/y"]
    assert r.links_external == ["https://other.net/z"]
    r = html.extract(page('<a href="x/y">rel</a><a href="https://other.net/z">abs</a>'))
    assert r.links_internal == [] and r.links_external == ["https://other.net/z"]


def test_paragraph_and_list_breaks(html):
    doc = page(f"<article><p>{PARA}</p><ul><li>{PARA}one.</li><li>{PARA}two.</li></ul>"
               f"<p>{PARA}line<br>break.</p><pre>code  keeps\n    its   spaces</pre>"
               f"<p>{PARA}</p></article>")
    text = html.extract(doc).text
    assert f"{PARA}one.\n{PARA}two.".strip() in text  # list items: one newline
    assert "line\nbreak." in text  # <br>: one newline
    assert "code  keeps\n    its   spaces" in text  # <pre> keeps whitespace
    assert text.count("\n\n") >= 3


def test_entities_and_whitespace(html):
    doc = page(f"<article><p>{PARA}a&nbsp;b &lt;c&gt; &quot;d&quot; &amp &copy; &#150; &#x1F600; "
               "&#0; &#xD800; &bogus; &AMP; &amp;amp; x\u00a0y \t\n z</p></article>")
    text = html.extract(doc).text
    assert text.endswith('a b <c> "d" & © – 😀 \ufffd \ufffd &bogus; & &amp; x\u00a0y z')


def test_title_description_lang_fallbacks(html):
    doc = page("<p>x</p>", head='<meta property="og:description" content=" only   og ">'
                                "<title>\n  Spaced\t title </title>", attrs=' LANG="pt-BR"')
    r = html.extract(doc)
    assert (r.title, r.description, r.lang) == ("Spaced title", "only og", "pt-BR")
    r = html.extract(b"<svg><title>icon</title></svg><p>no head</p>")
    assert (r.title, r.description, r.lang) == ("", "", "")
    assert r.text == "no head"


def test_hidden_and_tiny_pages(html):
    doc = page(f'<article><p>{PARA}</p><p style="display: none">{PARA}hidden</p>'
               f'<div hidden><p>{PARA}hidden too</p></div></article>')
    assert "hidden" not in html.extract(doc).text
    # A page too small to have a "good" block still gives its non-boilerplate text.
    assert html.extract(b"<p>Hello</p>").text == "Hello"
    assert html.extract("<p>Hello <b>str</b> input</p>").text == "Hello str input"
    assert html.extract(b"just plain text, no tags").text == "just plain text, no tags"


def test_empty_and_non_html_give_empty_results(html):
    for data, ctype in [(b"", None), ("", None), (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), None),
                        (b"%PDF-1.7 ...", None), (bytes(range(32)) * 40, None),
                        (b"<p>text</p>", "image/png"), (b"<p>text</p>", "application/pdf")]:
        r = html.extract(data, "https://example.com/", ctype)
        assert r == html.EMPTY, (data[:10], ctype)
    assert html.extract(b"<p>text</p>", None, "text/html; charset=utf-8").text == "text"


def test_wrong_argument_types_raise_clear_type_errors(html):
    for bad in (None, 42, 3.5, ["<p>"], {"a": 1}):
        with pytest.raises(TypeError, match="needs the page as bytes or str"):
            html.extract(bad)
    with pytest.raises(TypeError, match="base_url must be a str"):
        html.extract(b"<p>x</p>", b"https://example.com")
    with pytest.raises(TypeError, match="content_type must be a str"):
        html.extract(b"<p>x</p>", "", 5)
    with pytest.raises(TypeError, match="docs must be a list"):
        html.extract_many(b"<p>x</p>")
    with pytest.raises(TypeError, match="docs must be a list"):
        html.extract_many(x for x in [b"a"])
    with pytest.raises(ValueError, match="base_urls has 1 entries for 2 docs"):
        html.extract_many([b"a", b"b"], ["u"])
    with pytest.raises(TypeError, match="threads must be a positive int"):
        html.extract_many([b"a"], threads=0)
    with pytest.raises(TypeError, match="needs the page as bytes or str"):
        html.extract_many([b"<p>ok</p>", 7])


def test_extract_many_matches_extract_in_order(html):
    docs = [ARTICLE, b"", "<p>str page</p>", bytearray(b"<p>bytearray</p>"),
            memoryview(b"<p>memoryview</p>"), b"\x89PNG\r\n\x1a\n\0\0\0", ARTICLE[:500]] * 5
    urls = [f"https://example.com/{i}" for i in range(len(docs))]
    expected = [html.extract(d, u) for d, u in zip(docs, urls)]
    for threads in (1, 2, 3, 64):
        assert html.extract_many(docs, urls, threads=threads) == expected
    assert html.extract_many([]) == []
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        assert html.extract_many(docs, urls, threads=2, executor=pool) == expected
    types = ["text/html"] * len(docs)
    types[0] = "image/gif"
    out = html.extract_many(docs, None, content_types=types)
    assert out[0] == html.EMPTY and out[2].text == "str page"


def test_kernels_reject_non_bytes_directly(impl):
    kernel = twin("html", impl)
    with pytest.raises(TypeError):
        kernel.extract("<p>str</p>", b"")
    with pytest.raises(TypeError):
        kernel.extract(b"<p>x</p>", "https://example.com")


@pytest.mark.compiled
def test_compiled_flag_bits_are_the_html_rules_ones():
    # html_rules.FLAGS is the one definition; the compiled kernel copies it into C at import
    # (and the pure twin reads it directly), so a hand-written copy that drifts fails here.
    assert twin("html", "compiled").flag_values() == html_rules.FLAGS


def test_docstring_examples_run(html):
    import doctest

    import agentcore.f1
    import agentcore.kernels.decode

    for mod in (html, agentcore.kernels.decode, agentcore.f1):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, mod.__name__


# -- decoding -------------------------------------------------------------------------------

def test_charset_sniffing_order():
    assert sniff_charset(b"\xef\xbb\xbf<p>", "text/html; charset=latin1") == "utf-8"
    assert sniff_charset(b"\xff\xfe<\x00") == "utf-16-le"
    assert sniff_charset(b"\xfe\xff\x00<") == "utf-16-be"
    assert sniff_charset(b'<meta charset="koi8-r">', "text/html; charset=Shift_JIS") == "cp932"
    assert sniff_charset(b"<meta charset='windows-1251'>") == "cp1251"
    assert sniff_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=GB2312">'
                         ) == "gb18030"
    assert sniff_charset(b'<meta charset="utf-16">') == "utf-8"  # a page cannot say utf-16
    assert sniff_charset(b'<meta charset="no-such-charset">') == "utf-8"
    assert sniff_charset(b'<meta charset="rot13">') == "utf-8"
    assert sniff_charset(b"x" * 5000 + b'<meta charset="koi8-r">') == "utf-8"  # past 4 KB
    assert sniff_charset(b"<p>plain</p>") == "utf-8"
    assert codec_for("ISO-8859-1") == "cp1252" and codec_for(None) is None


def test_decode_html_never_raises_and_replaces_bad_bytes():
    assert decode_html(b"<p>caf\xc3\xa9</p>") == "<p>café</p>"
    assert decode_html(b"<p>bad \xff\xfe\xc3</p>", "text/html") == "<p>bad \ufffd\ufffd\ufffd</p>"
    assert decode_html(b'<meta charset="iso-8859-1"><p>caf\xe9 \x93q\x94</p>').endswith(
        "café “q”</p>")
    assert decode_html(codecs.BOM_UTF16_LE + "<p>ü</p>".encode("utf-16-le")) == "<p>ü</p>"
    assert decode_html("<p>é</p>".encode("cp1252"), "text/html;charset=windows-1252") == "<p>é</p>"
    with pytest.raises(TypeError, match="needs bytes"):
        decode_html("str")
    assert to_utf8(b"\xef\xbb\xbf<p>x</p>") == b"<p>x</p>"


def test_extract_decodes_declared_charsets(html):
    cases = [("utf-8", "Ça marche très bien, n’est-ce pas? Ω."),
             ("cp1252", "Ça marche très bien, n’est-ce pas?"),
             ("iso-8859-7", "Καλημέρα κόσμε, τι κάνεις;"),
             ("utf-16", "Ça marche très bien, 東京.")]
    for enc, text in cases:
        raw = f"<article><p>{text}</p></article>".encode(enc)
        assert html.extract(raw, "", f"text/html; charset={enc}").text == text, enc
    meta = '<meta charset="windows-1251">' + "<p>Привет, мир.</p>"
    assert html.extract(meta.encode("cp1251")).text == "Привет, мир."
    assert html.extract(b"<p>bad \xff utf8</p>").text == "bad \ufffd utf8"
