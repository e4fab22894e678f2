"""`agentcore bench crawl`'s parts on a tiny real local web: the warm-up wait and the agentcore child."""

import pytest

from agentcore import aio
from agentcore.bench import crawl as bench
from agentcore.web.server import ProcessServer


def test_the_event_loop_is_a_setting(monkeypatch):
    monkeypatch.setenv("AGENTCORE_LOOP", "asyncio")
    assert aio.loop_name() == "asyncio"
    monkeypatch.setenv("AGENTCORE_LOOP", "uvloop")
    assert aio.loop_name() == "uvloop"
    assert aio.loop_factory("asyncio")().__class__.__module__.startswith("asyncio")
    monkeypatch.setenv("AGENTCORE_LOOP", "trio")
    with pytest.raises(ValueError, match="AGENTCORE_LOOP"):
        aio.loop_name()


@pytest.mark.parametrize("variant", ["agentcore-aiohttp", "agentcore-reqwest", "agentcore-curl"])
def test_bench_waits_for_a_warm_web_and_the_child_crawls_it(tmp_path, variant):
    with ProcessServer(n_sites=3, seed=0, hostile=False, warm=True) as server:
        bench.wait_warm(server.port)
        assert server.stats()["warm_done"]
        res = bench.agentcore_child(server.port, 3, True, str(tmp_path / "crawl.db"),
                                    transport=variant.split("-")[1])
    assert res["pages"] == len(server.web.pages()) and res["failures"] == {}
    assert 0 < res["last_page"] <= res["wall"] + 1.0
