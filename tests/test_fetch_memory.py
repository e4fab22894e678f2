"""A refused answer is freed when its fetch ends, by reference counting: no exception's
traceback holds a body (up to max_decompressed bytes) in a cycle until a full collection, which
a swarm run makes rare (agentcore.gcpace). Real local web, each transport."""
import gc

import pytest

from agentcore import aio
from agentcore.crawl.fetch import Fetcher
from agentcore.crawl.transport import Failure, Inflater
from agentcore.web import SyntheticWeb, serve_in_thread
from transports import via

KINDS = ("gzip_bomb", "huge", "huge_chunked", "binary", "binary_as_html", "http_404",
         "truncated", "ok")
FAST = dict(read_timeout=1.5, total_timeout=3.0, connect_timeout=2.0, max_attempts=1,
            politeness_delay=0.0)


@pytest.mark.parametrize("transport", ["aiohttp", "reqwest", "curl", "curl-thread"])
def test_refused_bodies_need_no_collector(transport):
    web = SyntheticWeb(20, seed=1)
    urls = {}
    for p in web.pages():
        if p.kind in KINDS:
            urls.setdefault(p.kind, p.url)
    assert set(urls) == set(KINDS)
    with serve_in_thread(web) as server:

        async def main():
            async with Fetcher(static_hosts=server.host_map(), **via(transport), **FAST) as f:
                warm = await f.fetch(urls["ok"])  # robots.txt, connections, imports
                assert warm.ok
                gc.collect()
                gc.disable()
                results = await f.fetch_many([urls[k] for k in KINDS] * 3)
                return results

        was = gc.isenabled()
        try:
            results = aio.run(main())
            reasons = {r.error_reason for r in results}
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            garbage = list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            if was:
                gc.enable()
    # the hostile kinds really failed after reading bytes, and the good page came through
    assert {"decompressed_too_large", "too_large", "bad_content_type", "http_404"} <= reasons
    assert None in reasons
    kept = [o for o in garbage if isinstance(o, (Failure, Inflater))]
    big = sum(len(o) for o in garbage if isinstance(o, (bytes, bytearray)) and len(o) > 4096)
    assert not kept, f"{len(kept)} failures or inflaters left for the collector: {kept[:3]}"
    assert big < 1 << 20, f"{big} bytes of bodies left for the collector"
