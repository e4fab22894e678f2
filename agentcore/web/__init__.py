"""A local web to crawl: hundreds of sites of real offline text, with hostile pages, on 127.0.0.1.

>>> from agentcore.web import SyntheticWeb, serve_in_thread
>>> web = SyntheticWeb(n_sites=20, seed=0)         # cheap: pages are rendered on request
>>> with serve_in_thread(web) as server:            # doctest: +SKIP
...     hosts = server.host_map()                   # {"site-0000.test": ("127.0.0.1", port), ...}
...     urls = web.home_urls()                      # ["http://site-0000.test/", ...]
...     truth = web.truth(urls[0])                  # Page(kind="home", expect="ok", ...)

Modules, one job each: truth (sites, page kinds, expected outcomes), render (page HTML from
corpus text), replies (hostile answers), bomb (the gzip bomb), synthetic (the web answering
requests), folder (a folder of HTML as sites), server (serving in a thread or a child process,
which lifeline ends with its parent), cli (`python -m agentcore.web`).

Importing this package imports nothing heavy; starting a server imports aiohttp. Names load
lazily, so `python -m agentcore.web` imports only what it uses.
"""

_EXPORTS = {
    "Article": "agentcore.web.corpus",
    "StdlibCorpus": "agentcore.web.corpus",
    "DEFAULT_PAGES": "agentcore.web.truth",
    "HOSTILE_SHARES": "agentcore.web.truth",
    "KIND_EXPECT": "agentcore.web.truth",
    "Page": "agentcore.web.truth",
    "Site": "agentcore.web.truth",
    "Sites": "agentcore.web.truth",
    "Reply": "agentcore.web.replies",
    "gzip_bomb": "agentcore.web.bomb",
    "SyntheticWeb": "agentcore.web.synthetic",
    "CorpusWeb": "agentcore.web.folder",
    "LocalWebServer": "agentcore.web.server",
    "ProcessServer": "agentcore.web.server",
    "ThreadedServer": "agentcore.web.server",
    "serve_in_process": "agentcore.web.server",
    "serve_in_thread": "agentcore.web.server",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentcore.web' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
