"""A local web to crawl: hundreds of sites of real offline text, with hostile pages, on 127.0.0.1.

>>> from agentcore.web import SyntheticWeb, serve_in_thread
>>> web = SyntheticWeb(n_sites=20, seed=0)         # cheap: pages are rendered on request
>>> with serve_in_thread(web) as server:            # doctest: +SKIP
...     hosts = server.host_map()                   # {"site-0000.test": ("127.0.0.1", port), ...}
...     urls = web.home_urls()                      # ["http://site-0000.test/", ...]
...     truth = web.truth(urls[0])                  # Page(kind="home", expect="ok", ...)

Importing this package does not import aiohttp; starting a server does.
"""

from agentcore.web.corpus import Article, StdlibCorpus
from agentcore.web.server import (
    HOSTILE_SHARES,
    KIND_EXPECT,
    CorpusWeb,
    LocalWebServer,
    Page,
    ProcessServer,
    Site,
    SyntheticWeb,
    ThreadedServer,
    gzip_bomb,
    serve_in_process,
    serve_in_thread,
)

__all__ = [
    "Article",
    "CorpusWeb",
    "HOSTILE_SHARES",
    "KIND_EXPECT",
    "LocalWebServer",
    "Page",
    "ProcessServer",
    "Site",
    "StdlibCorpus",
    "SyntheticWeb",
    "ThreadedServer",
    "gzip_bomb",
    "serve_in_process",
    "serve_in_thread",
]
