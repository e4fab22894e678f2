"""A fetch's settings and outcome, ``FetchConfig`` and ``FetchResult``, apart from the fetchers.

They are the whole vocabulary the curl fetcher's child process (``agentcore.crawl.curl_proc``)
shares with the crawl, so this module imports no asyncio: the child's peak memory is its
imports plus its fetches. ``agentcore.crawl.fetch`` re-exports both and lists the reasons.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FetchConfig", "FetchResult"]


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """Limits and manners of a Fetcher. All times in seconds, sizes in bytes."""

    user_agent: str = "agentcore-crawler/0.1"
    robots_agent: str = "agentcore"  # the token matched against robots.txt User-agent lines
    global_limit: int = 256  # open connections in all
    per_host_limit: int = 2  # requests in flight per host
    politeness_delay: float = 0.05  # least time between request starts on one host
    max_crawl_delay: float = 2.0  # cap on a robots.txt Crawl-delay
    connect_timeout: float = 3.0
    read_timeout: float = 5.0  # longest silence while waiting for bytes
    total_timeout: float = 10.0  # one attempt, headers and body
    max_attempts: int = 3  # first try included
    backoff: float = 0.2  # wait before retry k is backoff * 2**(k-1), with jitter
    max_backoff: float = 5.0
    max_body: int = 4 << 20  # bytes on the wire
    max_decompressed: int = 8 << 20  # bytes after gzip/deflate
    max_redirects: int = 5
    respect_robots: bool = True
    allow_private: bool = False  # True lets real names resolve to private/loopback addresses
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")
    #: the HTTP client: "curl" (libcurl's multi on its own thread, ``agentcore.crawl.curl``),
    #: "reqwest" (pyreqwest, ``agentcore.crawl.reqwest``), "aiohttp"
    #: (``agentcore.crawl.transport``), or "auto": the first of these installed
    transport: str = "auto"
    #: the curl transport's fetcher runs in a child process with its own GIL
    #: (``agentcore.crawl.curl_proc``); False keeps it on a thread of this process
    curl_process: bool = True


@dataclass(slots=True)
class FetchResult:
    """The outcome of one fetch. `error_reason` is None exactly when the page is usable."""

    url: str
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes
    error_reason: str | None
    error_detail: str
    elapsed: float
    attempts: int
    redirects: int = 0
    #: bytes read from the wire when the attempt failed (a diagnostic: it depends on how the
    #: network chunked the body, so it is kept out of ``error_detail``, which must not vary)
    wire_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.error_reason is None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def text(self) -> str:
        """The body decoded as browsers do (``agentcore.kernels.decode``): BOM, then the
        Content-Type charset, then <meta> charset, then UTF-8; bad bytes become U+FFFD."""
        from agentcore.kernels.decode import decode_html

        return decode_html(self.body, self.content_type)
