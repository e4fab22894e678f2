"""The remote engine against a real OpenAI-compatible HTTP server on loopback (tests/openai_server.py).

The server answers with the real bundled model (the in-process Engine), so these are the engine's
request tests again over HTTP, plus what only a network adds: 429 with Retry-After, 5xx, dropped
connections, slow replies, refused connections, the per-server concurrency limit.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from agentcore.llm import workload
from agentcore.llm.engine import Engine, LLMError
from agentcore.llm.grammar import validate
from agentcore.llm.openai_api import CHAT, Failure, api_root, parse_answer, retry_after_seconds
from agentcore.llm.remote import RemoteEngine, RemoteResult
from openai_server import MODEL, OpenAIServer
from chat_cases import SCHEMA, chat
from polling import wait_for

FAST = dict(retries=3, backoff=0.02, timeout=120.0)  # the 2 shared cores make answers slow


@pytest.fixture(scope="module")
def engine():
    with Engine(n_slots=16, n_ctx_per_seq=512) as eng:
        yield eng


@pytest.fixture(scope="module")
def server(engine):
    with OpenAIServer(engine).start() as srv:
        yield srv


@pytest.fixture
def remote(server):
    server.reset()
    with RemoteEngine(server.url, model=MODEL, concurrency=8, **FAST) as eng:
        yield eng
    server.reset()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- no server needed ---------------------------------------------------------------------------

def test_api_root_and_retry_after_parsing():
    assert api_root("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert api_root("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/v1"
    assert api_root("https://api.example.com/openai/v1/") == "https://api.example.com/openai/v1"
    with pytest.raises(ValueError, match="not an http"):
        api_root("127.0.0.1:8080")
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_bad_arguments_raise_on_submit():
    with RemoteEngine(f"http://127.0.0.1:{closed_port()}", model="m") as eng:
        with pytest.raises(ValueError, match="either chat messages or prompt"):
            eng.submit()
        with pytest.raises(ValueError, match="max_tokens"):
            eng.submit(prompt="x", max_tokens=0)
        with pytest.raises(ValueError, match="cannot truncate"):
            eng.submit(prompt="x", overflow="truncate")
    with pytest.raises(RuntimeError, match="closed"):
        eng.submit(prompt="x")


def test_answers_that_are_not_openai_or_not_the_schema():
    with pytest.raises(Failure) as exc:
        parse_answer(b"<html>hi</html>", "http://h/v1/chat/completions", CHAT, 8, None)
    assert exc.value.code == "bad_response" and "OpenAI-compatible" in exc.value.detail
    answer = json.dumps({"choices": [{"message": {"content": '{"topic": 3}'}, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 4}}).encode()
    r = parse_answer(answer, "http://h/v1/chat/completions", CHAT, 8, SCHEMA)
    assert r.error == "schema_mismatch" and "$.topic" in r.detail and r.completion_tokens == 4
    r = parse_answer(answer.replace(b'{\\"topic', b'{\\"topic\\"'), "u", CHAT, 8, SCHEMA)
    assert r.error == "invalid_json" and r.value is None


def test_a_request_that_cannot_be_sent_fails_alone():
    with RemoteEngine(f"http://127.0.0.1:{closed_port()}", model="m", retries=0) as eng:
        r = eng.generate(prompt="x", max_tokens=2, seed=object())  # not JSON-serializable
    assert r.error == "request_failed" and "TypeError" in r.detail


def test_import_loads_no_aiohttp_until_an_engine_starts():
    import subprocess
    import sys

    code = "import sys, agentcore.llm.remote; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- the engine's request tests, over HTTP ------------------------------------------------------

def test_chat_answer_is_the_in_process_engines(engine, server, remote):
    msgs = chat("What is the capital of France?")
    mine = remote.generate(msgs, max_tokens=12)
    local = engine.generate(msgs, max_tokens=12)
    assert isinstance(mine, RemoteResult) and mine.ok, mine.detail
    assert mine.text == local.text and mine.text.strip()
    assert mine.prompt_tokens == local.prompt_tokens and mine.completion_tokens == local.completion_tokens
    assert mine.attempts == 1 and server.requests["/v1/chat/completions"] == 1
    assert server.bodies[-1]["model"] == MODEL and server.bodies[-1]["messages"] == msgs


def test_raw_prompt_goes_to_completions_and_max_tokens_holds(engine, server, remote):
    r = remote.generate(prompt="The capital of France is", max_tokens=12)
    assert r.ok and r.finish_reason == "length" and r.completion_tokens == 12
    assert r.text == engine.generate(prompt="The capital of France is", max_tokens=12).text
    assert server.requests["/v1/completions"] == 1


def test_stop_strings_end_generation(remote):
    r = remote.generate(prompt="1, 2, 3, 4, 5, 6,", max_tokens=30, stop=[" 9"])
    assert r.ok and r.finish_reason == "stop" and " 9" not in r.text and "8" in r.text


def test_json_schema_answers_are_parsed_and_valid(server, remote):
    excerpts = workload.excerpts(3, chars=200)
    futs = [remote.submit([{"role": "system", "content": "Reply with JSON describing the text."},
                           {"role": "user", "content": e}], max_tokens=96, json_schema=SCHEMA)
            for e in excerpts]
    results = [f.result(timeout=600) for f in futs]
    assert not [r.detail for r in results if not r.ok]
    for r in results:
        assert isinstance(r.value, dict) and validate(r.value, SCHEMA) == [] and r.unwrap() == r.value
    fmt = server.bodies[-1]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == SCHEMA and fmt["json_schema"]["name"]


def test_json_cut_off_by_max_tokens_is_invalid_json(remote):
    r = remote.generate(chat("Describe Paris."), max_tokens=3, json_schema=SCHEMA)
    assert not r.ok and r.error == "invalid_json" and r.finish_reason == "error"
    assert "max_tokens" in r.detail and r.text  # the raw answer is kept
    with pytest.raises(LLMError):
        r.unwrap()
    assert remote.metrics()["errors"] == {"invalid_json": 1}


def test_many_concurrent_requests_stay_within_the_limit(server):
    server.reset()
    with RemoteEngine(server.url, model=MODEL, concurrency=4, **FAST) as eng:
        futs = [eng.submit(chat(f"Count to {i}."), max_tokens=2) for i in range(24)]
        assert wait_for(lambda: eng.metrics()["queue_length"] > 0 or all(f.done() for f in futs), 30)
        results = [f.result(timeout=600) for f in futs]
        m = eng.metrics()
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok][:3]
    assert server.requests["/v1/chat/completions"] == 24
    assert 2 <= server.max_in_flight <= 4 and m["max_in_flight"] <= 4
    assert m["requests_done"] == 24 and m["slots_active"] == 0 and m["queue_length"] == 0


def test_token_accounting_sums_the_usage_of_every_answer(remote):
    results = [f.result() for f in [remote.submit(chat(f"Name a colour {i}."), max_tokens=5)
                                    for i in range(4)]]
    m = remote.metrics()
    assert m["prompt_tokens"] == sum(r.prompt_tokens for r in results) > 0
    assert m["completion_tokens"] == m["generated_tokens"] == sum(r.completion_tokens for r in results) > 0
    assert m["prompt_tokens_reused"] == sum(r.cached_tokens for r in results)
    assert m["requests_submitted"] == m["requests_done"] == 4 and m["busy_seconds"] > 0


def test_submit_async(remote):
    async def main():
        return await asyncio.gather(*[remote.submit_async(chat(f"{i}"), max_tokens=3) for i in range(3)])

    assert all(r.ok for r in asyncio.run(main()))


def test_model_is_discovered_and_api_key_sent(server):
    server.reset()
    with RemoteEngine(server.url, api_key="sk-test", **FAST) as eng:
        assert eng.model_name == ""
        assert eng.generate(prompt="Hi", max_tokens=2).ok
        assert eng.model_name == MODEL
    assert server.bodies[-1]["model"] == MODEL
    assert server.headers[-1]["Authorization"] == "Bearer sk-test"


SAMPLES = {  # the estimate must over-count all of these (measured 1.1-1.7x with this tokenizer)
    "en": None, "de": "Wie spät ist es? Die Straßenbahn fährt über die Brücke nach Köln. " * 5,
    "ja": "東京は何時ですか。今日はとても良い天気ですね。" * 3, "zh": "我们今天去公园散步，天气非常好。" * 3,
    "ru": "Сегодня хорошая погода, и мы пойдём гулять в парк. " * 4, "emoji": "🙂🚀🎉 ok " * 10,
    "html": '<div class="x"><a href="/p?q=1&r=2">link</a></div>' * 5, "code": "x[i]=f(a,b);{}" * 20,
}


def test_a_server_without_a_tokenizer_gets_the_conservative_estimate(engine, server, remote):
    from agentcore.llm.remote_tokens import estimate_text, estimate_tokens

    for name, text in SAMPLES.items():
        text = text or workload.excerpts(1)[0]
        assert estimate_text(text) >= len(engine.tokenize(text)), name
    msgs = chat(SAMPLES["de"])
    n = remote.count_prompt_tokens(msgs)
    assert n == estimate_tokens(msgs) >= len(engine.tokenize(engine.render(msgs)))  # over, never under
    assert remote.count_prompt_tokens(chat("Hi")) == estimate_tokens(chat("Hi"))
    assert remote.metrics()["prompt_counts"] == {"server": 0, "estimated": 2, "cached": 0}
    assert remote.token_source == "estimate"  # asked once (404s), then not again
    assert remote.n_ctx_per_seq is None  # /props is not there and /v1/models names no max_model_len
    with RemoteEngine(server.url, model=MODEL, n_ctx_per_seq=2048) as eng:
        assert eng.n_ctx_per_seq == 2048


def test_a_vllm_style_tokenize_endpoint_is_used(engine):
    """vLLM answers POST /tokenize {messages} with a count and its max_model_len (no /apply-template)."""
    from aiohttp import web

    seen = []

    async def tokenize(request):
        body = await request.json()
        seen.append(body)
        n = len(engine.tokenize(engine.render(body["messages"])))
        return web.json_response({"count": n, "max_model_len": 4096, "tokens": list(range(n))})

    app = web.Application()
    app.router.add_post("/tokenize", tokenize)
    loop, port, ready = asyncio.new_event_loop(), closed_port(), threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ready.wait(10)
    try:
        with RemoteEngine(f"http://127.0.0.1:{port}", model="m") as eng:
            msgs = chat("What is the capital of France?")
            assert eng.count_prompt_tokens(msgs) == len(engine.tokenize(engine.render(msgs)))
            assert eng.token_source == "vllm" and eng.n_ctx_per_seq == 4096
            assert seen[-1]["messages"] == msgs and seen[-1]["add_generation_prompt"] is True
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)


def test_token_counts_never_block_on_the_engines_own_thread(remote):
    box = []
    fut = remote.submit(prompt="Hi", max_tokens=2)
    fut.add_done_callback(lambda f: box.append(_raises(lambda: remote.count_prompt_tokens(chat("x")))))
    fut.result(timeout=60)
    assert wait_for(lambda: box, 10) and isinstance(box[0], RuntimeError) and "off the engine" in str(box[0])


def _raises(fn):
    try:
        fn()
    except Exception as exc:
        return exc
    return None


# ---- faults: retries, timeouts, cancellation ----------------------------------------------------

def test_429_waits_for_retry_after_then_recovers(server, remote):
    server.inject("status", status=429, retry_after=1)
    t0 = time.monotonic()
    r = remote.generate(prompt="Hello", max_tokens=2)
    assert r.ok and r.attempts == 2 and time.monotonic() - t0 >= 0.95
    assert server.requests["/v1/completions"] == 2 and remote.metrics()["retries"] == 1


@pytest.mark.parametrize("kind, how", [("status", {"status": 500}), ("status", {"status": 503}),
                                       ("drop", {}), ("drop_mid", {})],
                         ids=["500", "503", "dropped", "dropped_mid_body"])
def test_retries_recover(server, remote, kind, how):
    server.inject(kind, n=2, **how)
    r = remote.generate(chat("Say ok."), max_tokens=3)
    assert r.ok and r.attempts == 3 and r.text, r.detail
    assert server.requests["/v1/chat/completions"] == 3


@pytest.mark.parametrize("kind, how, code", [
    ("status", {"status": 503}, "http_503"),
    ("status", {"status": 429, "retry_after": 0}, "http_429"),
    ("drop", {}, "connection_dropped"),
    ("drop_mid", {}, "connection_dropped"),
])
def test_exhausted_retries_give_a_short_code(server, kind, how, code):
    server.reset()
    server.inject(kind, n=None, **how)
    with RemoteEngine(server.url, model=MODEL, retries=2, backoff=0.01) as eng:
        r = eng.generate(prompt="Hello", max_tokens=2)
        assert eng.metrics()["errors"] == {code: 1} and eng.metrics()["retries"] == 2
    assert not r.ok and r.error == code and r.finish_reason == "error" and r.attempts == 3
    assert "gave up after 3 attempts" in r.detail and server.requests["/v1/completions"] == 3


def test_a_long_retry_after_fails_at_once(server):
    server.reset()
    server.inject("status", status=429, retry_after=3600)
    with RemoteEngine(server.url, model=MODEL, retries=3, max_retry_after=10) as eng:
        r = eng.generate(prompt="Hello", max_tokens=2)
    assert r.error == "http_429" and r.attempts == 1 and "3600 s" in r.detail


def test_client_errors_are_not_retried(server, remote):
    r = remote.generate(chat("x " * 2000), max_tokens=8)  # longer than the server's context
    assert r.error == "http_400" and r.attempts == 1 and "prompt too long" in r.detail
    assert server.requests["/v1/chat/completions"] == 1


def test_timeout_then_a_timely_retry(server, remote):
    server.inject("slow", n=None, seconds=30)
    r = remote.generate(prompt="Hello", max_tokens=2, timeout=1.0)
    assert r.error == "timeout" and r.attempts == 4 and "within 1 s" in r.detail
    assert wait_for(lambda: server.in_flight == 0, 10)  # each timed-out request was hung up
    server.reset()
    server.inject("slow", seconds=30)  # only the first attempt is slow
    r = remote.generate(prompt="Hello", max_tokens=2, timeout=5.0)
    assert r.ok and r.attempts == 2, r.detail


def test_refused_connection(server):
    with RemoteEngine(f"http://127.0.0.1:{closed_port()}", model=MODEL, retries=2, backoff=0.01) as eng:
        r = eng.generate(prompt="Hello", max_tokens=2)
    assert r.error == "connection_refused" and r.attempts == 3 and "start the server" in r.detail


def test_cancel_stops_the_server_request(server, remote):
    server.inject("slow", seconds=30)
    fut = remote.submit(prompt="Hello", max_tokens=2)
    assert wait_for(lambda: server.in_flight == 1)
    assert fut.cancel() and fut.cancelled()
    assert wait_for(lambda: remote.metrics()["requests_cancelled"] == 1)
    assert wait_for(lambda: server.in_flight == 0, 10)  # the connection closed, the handler ended
    assert remote.generate(prompt="Hello", max_tokens=2).ok


def test_close_resolves_unfinished_requests_as_cancelled(server):
    server.reset()
    server.inject("slow", n=None, seconds=30)
    eng = RemoteEngine(server.url, model=MODEL, concurrency=1)
    futs = [eng.submit(prompt="Hello", max_tokens=2) for _ in range(3)]  # one sent, two waiting
    assert wait_for(lambda: server.in_flight == 1)
    eng.close()
    results = [f.result(timeout=5) for f in futs]
    assert all(r.finish_reason == "cancelled" and r.error == "cancelled" for r in results)
    assert eng.metrics()["requests_cancelled"] == 3
    assert "agentcore-llm-remote" not in {t.name for t in threading.enumerate()}  # the loop thread ended
    server.reset()


# ---- the swarm and the crawl job through the remote engine --------------------------------------

def test_swarm_of_agents_uses_the_remote_engine(remote):
    from agentcore import AgentSpec, State, Swarm
    from agentcore.llm.action import llm_action

    texts = workload.excerpts(4, chars=200) + ["x " * 2000]  # the last prompt is too long

    def build(swarm, aid):
        return [{"role": "system", "content": "Name the topic of the text in three words."},
                {"role": "user", "content": swarm.data["text"][aid]}]

    def classify(swarm, aid):
        return {"messages": [{"role": "system", "content": "Reply with JSON."},
                             {"role": "user", "content": swarm.data["text"][aid][:200]}],
                "json_schema": {"type": "object", "properties": {"people": {"type": "boolean"}},
                                "required": ["people"], "additionalProperties": False},
                "max_tokens": 16}

    spec = AgentSpec(
        [State("SUMMARIZE", llm_action(remote, build, max_tokens=6, reads=["text"]), on_ok="CLASSIFY"),
         State("CLASSIFY", llm_action(remote, classify, result_column="kind", reads=["text"]), on_ok="DONE")],
        start="SUMMARIZE", inputs=["text"],
    )
    swarm = Swarm(spec, rows={"text": texts})
    res = swarm.run()
    assert res.counts.get("DONE") == 4 and res.counts.get("FAILED") == 1
    for aid in range(4):
        assert swarm.data["llm"][aid].ok and swarm.data["llm"][aid].text.strip()
        assert isinstance(swarm.data["kind"][aid].value["people"], bool)
    assert swarm.state_of(4) == "FAILED" and "http_400" in swarm.reason_of(4)


@pytest.mark.slow
def test_crawl_job_gets_llm_summaries_through_the_remote_engine(server, tmp_path):
    from agentcore.crawl.fetch import FetchConfig
    from agentcore.crawl.job import CrawlJob
    from agentcore.crawl.tables import LLMResult
    from agentcore.demo.config import CATEGORIES, DEMO_TASK
    from agentcore.store import open_store
    from agentcore.web.server import SyntheticWeb, serve_in_thread

    server.reset()
    server.inject("status", n=2, status=503)  # the job rides over a restarting server
    store = open_store(str(tmp_path / "remote.db"))
    try:
        with serve_in_thread(SyntheticWeb(3, (4, 6), seed=11, hostile=False)) as web, \
                RemoteEngine(server.url, model=MODEL, concurrency=8, **FAST) as eng:
            run_id = store.create_run({"test": True})
            job = CrawlJob(store, run_id, engine=eng, task=DEMO_TASK, max_pages=30,
                           fetch_config=FetchConfig(connect_timeout=1.0, read_timeout=0.6,
                                                    total_timeout=1.5, politeness_delay=0.0))
            res = asyncio.run(job.run(web.web.home_urls(), hosts=web.host_map()))
            m = eng.metrics()
        rows = store.rows(LLMResult, run_id)
        assert res.counts["DONE"] == res.agents and len(rows) == 3
        for r in rows:
            assert r.category in CATEGORIES and 16 <= len(r.summary) <= 100
            assert r.model == MODEL and r.prompt_tokens > 0 and r.completion_tokens > 0
        assert m["requests_done"] == 3 and m["retries"] >= 2
        assert m["completion_tokens"] == sum(r.completion_tokens for r in rows)
    finally:
        store.close()


def test_demo_and_job_build_a_remote_engine_from_llm_url():
    import argparse

    from agentcore.demo.cli import add_arguments
    from agentcore.demo.run import make_engine
    from agentcore.llm.remote import RemoteEngine

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--llm-url", "http://127.0.0.1:9", "--llm-model", "m", "--llm-slots", "8"])

    class Job:
        slots, model, context = 8, None, None

    engine = make_engine(args, Job())
    try:
        assert isinstance(engine, RemoteEngine) and engine.n_slots == 8 and engine.model_name == "m"
    finally:
        engine.close()
