"""The remote engine against a real llama-server on loopback, with the engine's default model file.

llama-server is the one ``bench llm`` builds (:mod:`agentcore.bench.llm_server`; built once into
``~/.cache/agentcore/llama-server``, about 10 minutes on a fresh machine). A machine where it
cannot be built fails these tests with the build's reason: they are never skipped. The request
tests are the in-process engine's (plain prompt, chat, JSON schema, max_tokens, stop strings,
cancellation, token accounting), plus prompt fitting from the server's own token counts.
"""
from __future__ import annotations

import json
import urllib.request

import pytest

from agentcore.llm import workload
from agentcore.llm.grammar import validate
from agentcore.llm.remote import RemoteEngine, RemoteResult
from chat_cases import SCHEMA, chat
from polling import wait_for

SLOTS, CTX = 4, 512


@pytest.fixture(scope="module")
def model():
    from agentcore.llm.model import resolve_model

    return resolve_model()  # the file Engine() loads by default


@pytest.fixture(scope="module")
def server(model):
    from agentcore.bench.llm_server import LlamaServer, llama_server_binary

    try:
        binary = llama_server_binary()
    except Exception as exc:  # a build that fails is a broken setup, not an optional feature
        pytest.fail(f"llama-server could not be built: {type(exc).__name__}: {exc}", pytrace=False)
    try:
        srv = LlamaServer(binary, model, n_parallel=SLOTS, threads=2, ctx_per_slot=CTX).__enter__()
    except Exception as exc:
        pytest.fail(f"llama-server did not start: {exc}", pytrace=False)
    try:
        yield srv
    finally:
        srv.__exit__(None, None, None)


@pytest.fixture(scope="module")
def engine(model):
    """The in-process engine on the same file: its tokenizer and template are the reference."""
    from agentcore.llm.engine import Engine

    with Engine(model, requantize=None, n_slots=2, n_ctx_per_seq=CTX) as eng:
        yield eng


@pytest.fixture
def remote(server):
    with RemoteEngine(server.url, concurrency=SLOTS, retries=1, backoff=0.05, timeout=300.0) as eng:
        yield eng


def slots_busy(server) -> int:
    with urllib.request.urlopen(server.url + "/slots", timeout=5) as r:
        return sum(bool(s.get("is_processing")) for s in json.loads(r.read()))


def test_chat_answer_and_its_token_counts(engine, remote):
    msgs = chat("What is the capital of France?")
    r = remote.generate(msgs, max_tokens=12)
    assert isinstance(r, RemoteResult) and r.ok, r.detail
    assert r.text.strip() and r.attempts == 1 and 1 <= r.completion_tokens <= 12
    # the server counts the prompt exactly as the in-process engine does (same template, tokenizer)
    assert r.prompt_tokens == len(engine.tokenize(engine.render(msgs)))
    assert remote.model_name  # discovered from GET /v1/models


def test_raw_prompt_and_max_tokens(remote):
    r = remote.generate(prompt="The capital of France is", max_tokens=12)
    assert r.ok and r.finish_reason == "length" and r.completion_tokens == 12 and r.text
    short = remote.generate(prompt="1, 2, 3, 4,", max_tokens=3)
    assert short.ok and short.completion_tokens == 3


def test_stop_strings_end_generation(remote):
    r = remote.generate(prompt="1, 2, 3, 4, 5, 6,", max_tokens=30, stop=[" 9"])
    assert r.ok and r.finish_reason == "stop" and " 9" not in r.text and "8" in r.text


def test_json_schema_answers_parse_and_validate(remote):
    from agentcore.demo.config import DEMO_TASK

    texts = workload.excerpts(3, chars=200)
    futs = [remote.submit([{"role": "system", "content": "Reply with JSON describing the text."},
                           {"role": "user", "content": t}], max_tokens=96, json_schema=SCHEMA)
            for t in texts]
    futs += [remote.submit([{"role": "system", "content": DEMO_TASK.system_prompt},
                            {"role": "user", "content": t}], max_tokens=DEMO_TASK.max_tokens,
                           json_schema=DEMO_TASK.schema) for t in texts]
    results = [f.result(timeout=600) for f in futs]
    assert not [r.detail for r in results if not r.ok]
    for r, schema in zip(results, [SCHEMA] * 3 + [DEMO_TASK.schema] * 3):
        assert isinstance(r.value, dict) and validate(r.value, schema) == [] and r.unwrap() == r.value
        assert validate(json.loads(r.text), schema) == []


def test_json_cut_off_by_max_tokens_is_invalid_json(remote):
    r = remote.generate(chat("Describe Paris."), max_tokens=3, json_schema=SCHEMA)
    assert not r.ok and r.error == "invalid_json" and "max_tokens" in r.detail and r.text
    assert remote.metrics()["errors"] == {"invalid_json": 1}


def test_token_accounting_sums_every_answer(remote):
    results = [f.result(timeout=600) for f in [remote.submit(chat(f"Name a colour {i}."), max_tokens=5)
                                               for i in range(6)]]
    m = remote.metrics()
    assert all(r.ok for r in results)
    assert m["prompt_tokens"] == sum(r.prompt_tokens for r in results) > 0
    assert m["completion_tokens"] == m["generated_tokens"] == sum(r.completion_tokens for r in results) > 0
    assert m["prompt_tokens_reused"] == sum(r.cached_tokens for r in results)
    assert m["requests_done"] == 6 and m["max_in_flight"] <= SLOTS and m["slots_active"] == 0


def test_cancel_stops_the_server_decoding(server, remote):
    fut = remote.submit(prompt="Write a very long story about a dragon.", max_tokens=400)
    assert wait_for(lambda: slots_busy(server) == 1, 60)
    assert fut.cancel() and fut.cancelled()
    assert wait_for(lambda: remote.metrics()["requests_cancelled"] == 1, 10)
    assert wait_for(lambda: slots_busy(server) == 0, 30)  # the hung-up request stopped decoding
    assert remote.generate(prompt="Hello", max_tokens=2).ok


def test_prompt_token_counts_and_context_come_from_the_server(engine, remote):
    chats = [chat("What is the capital of France?"), chat("Wie spät ist es? 東京は何時ですか")]
    for msgs in chats:
        assert remote.count_prompt_tokens(msgs) == len(engine.tokenize(engine.render(msgs)))
    assert remote.count_prompt_tokens(chats[0]) == len(engine.tokenize(engine.render(chats[0])))
    assert remote.metrics()["prompt_counts"] == {"server": 2, "estimated": 0, "cached": 1}
    assert remote.token_source == "llama-server"
    assert remote.n_ctx_per_seq == CTX  # llama-server's per-slot context (GET /props)


def test_a_fitted_prompt_fits_the_servers_context(remote):
    from agentcore.crawl.task import LLMTask

    task = LLMTask("Say what the site is about.", {"type": "object", "properties": {
        "summary": {"type": "string", "maxLength": 80}}, "required": ["summary"],
        "additionalProperties": False}, max_tokens=48, text_chars=20000)
    text = " ".join(workload.excerpts(8))  # ~1,500 tokens: three times the context
    budget = remote.n_ctx_per_seq - task.max_tokens
    msgs = task.messages("example.com", ["python"], [("http://example.com/", text)],
                         remote.count_prompt_tokens, budget)
    n = remote.count_prompt_tokens(msgs)
    assert budget - 40 <= n <= budget  # trimmed to the budget, not far below it
    r = remote.generate(msgs, max_tokens=task.max_tokens, json_schema=task.schema)
    assert r.ok and r.prompt_tokens == n, r.detail
    too_long = remote.generate(task.messages("example.com", [], [("u", text)]), max_tokens=8)
    assert not too_long.ok and too_long.error == "http_400"  # unfitted, the server refuses it
