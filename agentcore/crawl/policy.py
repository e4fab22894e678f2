"""What a fetch may do, shared by both fetchers: refused targets, retries and redirect hops.

The asyncio ``Fetcher`` (``agentcore.crawl.fetch``) and the libcurl batch fetcher
(``agentcore.crawl.curl``) schedule requests differently; these rules are the same for both, so
the same URL fails with the same reason and detail on either.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from agentcore.crawl.resolver import blocked_address
from agentcore.kernels.urls import same_site

if TYPE_CHECKING:
    from agentcore.crawl.fetch import FetchConfig
    from agentcore.crawl.resolver import HostSet
    from agentcore.crawl.transport import Failure

__all__ = ["RETRYABLE", "target_problem", "retry_delay", "next_hop"]

RETRYABLE = frozenset({"timeout", "connection_refused", "connection_error"})


def target_problem(config: "FetchConfig", static_set: "HostSet", allowed_hosts: "HostSet | None",
                   u, origin: str | None) -> tuple[str, str] | None:
    """(reason, detail) if the URL ``u`` (a ``yarl.URL``) must not be requested; ``origin`` is
    the first hop's host, None for the first hop itself."""
    if u.scheme not in ("http", "https") or not u.host:
        return ("redirect_invalid" if origin else "bad_url"), f"not an http(s) URL: {u}"
    host = u.host.lower()
    if not config.allow_private and blocked_address(host) and host not in static_set:
        return "ssrf_blocked", f"{host} is a private, loopback or link-local address"
    if origin is None:
        if allowed_hosts is not None and host not in allowed_hosts:
            return "host_not_allowed", f"{host} is not in the allowed hosts"
        return None
    if allowed_hosts is not None:
        if host in allowed_hosts:
            return None
        return "redirect_offsite", f"redirect from {origin} to {host} leaves the allowed hosts"
    if same_site(origin, host):
        return None
    return "redirect_offsite", f"redirect from {origin} to {host} leaves the site"


def retry_delay(config: "FetchConfig", failure: "Failure", attempt: int) -> float | None:
    """Seconds to wait before attempt ``attempt + 1`` after ``failure``, or None to give up:
    network failures, 5xx and 429 are retried up to ``max_attempts``, with jittered backoff
    and at least the server's Retry-After (capped)."""
    reason = failure.reason
    if (reason not in RETRYABLE and not (reason.startswith("http_5") or reason == "http_429")
            or attempt >= config.max_attempts):
        return None
    delay = min(config.max_backoff, config.backoff * 2 ** (attempt - 1))
    delay *= 0.5 + random.random()  # jitter spreads retries of many agents apart
    if failure.retry_after is not None:
        delay = max(delay, min(config.max_backoff, failure.retry_after))
    return delay


def next_hop(current, location: str, visited: set, redirects: int, max_redirects: int):
    """Where a redirect from ``current`` (a ``yarl.URL``) to ``location`` leads: the next URL
    (added to ``visited``), or (reason, detail) when the hop is refused. ``redirects`` counts
    this hop."""
    from yarl import URL

    try:
        nxt = current.join(URL(location))
    except (ValueError, TypeError):
        return "redirect_invalid", f"unusable Location {location!r}"
    key = str(nxt.with_fragment(None))
    if key in visited:
        return "redirect_loop", f"{current} -> {nxt} was visited before"
    if redirects > max_redirects:
        return "too_many_redirects", f"more than {max_redirects}"
    visited.add(key)
    return nxt
