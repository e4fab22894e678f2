"""Multi-turn KV reuse with the real model: a conversation's turns give the same tokens whether its
KV stayed in its slot, was parked in host memory and restored, was dropped, or was never kept;
a turn decodes only what its session does not hold; ended sessions free their memory."""
from __future__ import annotations


import pytest

from agentcore.llm.engine import Engine
from chat_cases import SYSTEM
from polling import wait_for

TOPICS = ["French city", "colour", "fruit", "planet"]


@pytest.fixture(scope="module")
def engine():
    # 2 slots for 4 conversations: every turn parks two sessions and restores two. One lane: with
    # two (the default on 2 threads) each lane holds 1 slot and its own share of the session cap,
    # and which lane a conversation lands on depends on timing, so the drops would too
    eng = Engine(n_slots=2, n_ctx_per_seq=512, lanes=1)
    try:
        yield eng
    finally:
        eng.close()


def converse(engine, session: str | None, turns: int = 3) -> list[list]:
    """4 conversations of ``turns`` turns, each turn of all 4 submitted together; their Results."""
    chats = [[SYSTEM, {"role": "user", "content": f"Name a {t}."}] for t in TOPICS]
    out: list[list] = [[] for _ in chats]
    for turn in range(turns):
        futs = [engine.submit(c, max_tokens=16, session=f"{session}{i}" if session else None)
                for i, c in enumerate(chats)]
        for i, f in enumerate(futs):
            r = f.result(timeout=900)
            assert r.ok, r.error
            out[i].append(r)
            chats[i] += [{"role": "assistant", "content": r.text},
                         {"role": "user", "content": f"Another one, number {turn + 2}?"}]
    if session:
        for i in range(len(chats)):
            engine.end_session(f"{session}{i}")
    return out


def test_turns_are_token_identical_with_and_without_session_reuse(engine):
    kept = converse(engine, "kept")
    # a cap that holds one parked conversation: the others are dropped and fall back to prefill
    engine._scheduler.sessions.cap_bytes = 1_500_000
    try:
        dropped = converse(engine, "dropped")
    finally:
        engine._scheduler.sessions.cap_bytes = 4 << 30
    plain = converse(engine, None)
    tokens = [[r.tokens for r in conv] for conv in plain]
    assert [[r.tokens for r in conv] for conv in kept] == tokens
    assert [[r.tokens for r in conv] for conv in dropped] == tokens
    paths = {r.session_path for conv in kept for r in conv[1:]}
    assert [c[0].session_path for c in kept] == ["new"] * 4 and "restored" in paths
    assert paths <= {"resident", "restored"}
    assert "fallback" in {r.session_path for conv in dropped for r in conv[1:]}
    assert {r.session_path for conv in plain for r in conv} == {""}
    for k, p in zip(kept, plain):
        for t in (1, 2):
            # the session held the previous turn's whole prompt: only the rest was decoded
            assert k[t].session_tokens == k[t - 1].prompt_tokens
            assert k[t].computed_tokens == k[t].prompt_tokens - k[t - 1].prompt_tokens
            assert k[t].computed_tokens < p[t].computed_tokens
    m = engine.metrics()
    assert m["session_restored"] > 0 and m["session_parks"] > 0 and m["session_drops"] > 0
    assert m["prompt_tokens_from_session"] >= sum(r.session_tokens for c in kept for r in c)
    # every conversation was ended: nothing is left in a slot or in host memory
    assert wait_for(lambda: engine.metrics()["sessions_idle"] == 0)
    assert engine.metrics()["sessions_parked"] == 0 and engine.metrics()["session_parked_bytes"] == 0


def test_a_changed_conversation_reuses_only_the_common_prefix(engine):
    chat = [SYSTEM, {"role": "user", "content": "Name a river."}]
    first = engine.generate(chat, max_tokens=8, session="edit")
    other = [SYSTEM, {"role": "user", "content": "Name a mountain."}]  # same key, other chat
    r = engine.generate(other, max_tokens=8, session="edit")
    alone = engine.generate(other, max_tokens=8)
    assert r.ok and r.session_path == "resident" and r.tokens == alone.tokens
    assert 0 < r.session_tokens < first.prompt_tokens  # the system turn, not the question
    engine.end_session("edit")


def test_without_determinism_a_turn_decodes_only_its_new_tokens():
    with Engine(n_slots=2, n_ctx_per_seq=512, deterministic=False) as eng:
        chat = [SYSTEM, {"role": "user", "content": "Name a French city."}]
        r1 = eng.generate(chat, max_tokens=24, session="s")
        chat += [{"role": "assistant", "content": r1.text}, {"role": "user", "content": "Another?"}]
        r2 = eng.generate(chat, max_tokens=16, session="s")
        assert r2.ok and r2.session_path == "resident"
        # the reply's KV was kept too (less its last token when max_tokens cut it: never decoded)
        reply = len(r1.tokens) - (r1.finish_reason == "length")
        assert r2.session_tokens == r1.prompt_tokens + reply
        assert r2.computed_tokens == r2.prompt_tokens - r1.prompt_tokens - reply


def test_a_close_racing_end_session_still_frees_the_context():
    eng = Engine(n_slots=2, n_ctx_per_seq=256)
    for i in range(3):
        assert eng.generate("Hello", max_tokens=2, session=f"s{i}").ok
    sched = eng._scheduler
    sched.closing = True  # what stop() sets first: the engine thread now stops after one item
    for i in range(3):  # the agents' last end_session calls, still queued at the close
        sched.end_session(f"s{i}")
    sched.inbox.put(None)
    eng.close()
    assert not eng.llama.ctx  # the run loop's finally got to llama.close(): nothing raised
