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


@pytest.mark.parametrize("encoding,wbits", [("gzip", 31), ("deflate", 15)])
@pytest.mark.parametrize("size", [100, 256 << 10, (256 << 10) + 1, 3 << 20])
def test_inflater_gives_back_every_byte_in_pieces(encoding, wbits, size):
    # bodies inflate 256 KB at a time (a bomb's one chunk used to ask zlib for the whole cap at
    # once); the pieces must add up to the body whatever the chunking, the piece edges included
    import random
    import zlib

    rng = random.Random(size)
    raw = bytes(rng.choice(b"abcdefgh  \n") for _ in range(size))
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    wire = c.compress(raw) + c.flush()
    for chunk in (7, 16384, len(wire)):
        inf = Inflater(encoding, 4 << 20, 8 << 20)
        for i in range(0, len(wire), chunk):
            inf.feed(wire[i:i + chunk])
        assert inf.finish() == raw


def test_a_bomb_stops_at_the_cap_holding_about_the_cap():
    import tracemalloc
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = c.compress(b"\0" * (64 << 20)) + c.flush()
    inf = Inflater("gzip", 4 << 20, 8 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(Failure) as e:
            inf.feed(bomb[:16384])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert e.value.reason == "decompressed_too_large"
    assert peak < 10 << 20, f"{peak >> 20} MB held while refusing an 8 MB-capped bomb"
