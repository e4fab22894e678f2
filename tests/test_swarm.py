"""The swarm runtime, run against the compiled step and its pure-Python twin alike."""
import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

from agentcore import AgentSpec, State, Swarm, async_action, batch_action, external_action

LIFECYCLE = ["FETCH", "PARSE", "ANALYZE", "INFER", "STORE"]


def lifecycle(action):
    nxt = LIFECYCLE[1:] + ["DONE"]
    return AgentSpec([State(s, action, on_ok=n) for s, n in zip(LIFECYCLE, nxt)])


@pytest.mark.parametrize("inline", [True, False])
def test_lifecycle_all_agents_done(impl, inline):
    seen = []
    lock = threading.Lock()

    def act(batch):
        with lock:
            seen.append((batch.state, len(batch)))

    swarm = Swarm(lifecycle(batch_action(act, inline=inline)), 10_000, kernels=impl)
    res = swarm.run()
    assert res.counts["DONE"] == 10_000 and res.failed == 0
    per_state = {}
    for state, n in seen:
        per_state[state] = per_state.get(state, 0) + n
    assert per_state == {s: 10_000 for s in LIFECYCLE}
    assert swarm.agent(123)["steps"] == 5


def test_million_agents_reach_terminal_states(impl):
    n = 1_000_000 if impl == "compiled" else 200_000
    fail_every = 7

    def act(batch):
        if batch.state == "ANALYZE":
            for j, a in enumerate(batch.ids):
                if a % fail_every == 0:
                    batch.fail(j, "bad page")

    res = Swarm(lifecycle(batch_action(act, inline=True)), n, kernels=impl).run()
    failed = len(range(0, n, fail_every))
    assert res.counts["FAILED"] == failed
    assert res.counts["DONE"] == n - failed
    assert sum(v for k, v in res.counts.items()) == n


def test_exception_in_action_fails_only_that_batch(impl):
    def act(batch):
        if batch.state == "PARSE" and batch.ids[0] < 50:
            raise ValueError("malformed input")

    spec = lifecycle(batch_action(act, max_batch=50))
    swarm = Swarm(spec, 200, kernels=impl)
    res = swarm.run()
    assert res.failed == 50 and res.done == 150
    assert swarm.reason_of(10) == "act: ValueError: malformed input"
    assert swarm.reason_of(60) == ""
    assert swarm.failures() == {"act: ValueError: malformed input": 50}


def test_retries_with_backoff_then_success(impl):
    attempts = {}
    times = {}

    def flaky(batch):
        now = time.monotonic()
        for j, a in enumerate(batch.ids):
            attempts[a] = attempts.get(a, 0) + 1
            times.setdefault(a, []).append(now)
            if attempts[a] <= 2:
                batch.fail(j, f"transient {attempts[a]}")

    spec = AgentSpec([State("TRY", batch_action(flaky, inline=True), on_ok="DONE",
                            retries=3, backoff=0.02)])
    swarm = Swarm(spec, 20, kernels=impl)
    res = swarm.run()
    assert res.done == 20
    assert all(v == 3 for v in attempts.values())
    for ts in times.values():  # backoff doubles: >= 0.02 s, then >= 0.04 s
        assert ts[1] - ts[0] >= 0.02 and ts[2] - ts[1] >= 0.04


def test_retries_exhausted_follow_on_error(impl):
    def always_fails(batch):
        for j in range(len(batch)):
            batch.fail(j, "refused")

    recorded = {}

    def record(batch):  # the on_error state sees why the agent came there
        for a in batch.ids:
            recorded[a] = batch.swarm.reason_of(a)

    spec = AgentSpec([
        State("TRY", batch_action(always_fails, inline=True), on_ok="DONE", on_error="RECORD",
              retries=2, backoff=0.001),
        State("RECORD", batch_action(record, inline=True), on_ok="FAILED"),
    ])
    swarm = Swarm(spec, 5, kernels=impl)
    res = swarm.run()
    assert res.failed == 5
    assert recorded == {a: "refused" for a in range(5)}
    assert swarm.reason_of(3) == "refused"  # kept through RECORD into FAILED
    assert swarm.agent(0)["steps"] == 2  # TRY -> RECORD -> FAILED, retries don't count as steps


def test_timeout_of_async_action_is_an_error_with_reason(impl):
    async def slow(swarm, aid):
        await asyncio.sleep(0.5 if aid % 2 else 0)

    spec = AgentSpec([State("IO", async_action(slow), on_ok="DONE", timeout=0.05, retries=1)])
    swarm = Swarm(spec, 10, kernels=impl)
    res = swarm.run()
    assert res.done == 5 and res.failed == 5
    assert swarm.reason_of(1) == "timeout"


def test_timeout_of_external_action_and_late_completion_is_ignored(impl):
    held = []

    class Engine:
        def start(self, batch):
            held.append(batch)  # never completes in time

    spec = AgentSpec([State("LLM", external_action(Engine()), on_ok="DONE", timeout=0.05)])
    swarm = Swarm(spec, 3, kernels=impl)
    res = swarm.run()
    assert res.failed == 3 and swarm.reason_of(0) == "timeout"
    held[0].complete(0)  # too late: stale, must not resurrect the agent
    swarm.run()  # drains the late completion
    assert swarm._core.stale == 1
    assert swarm.counts()["FAILED"] == 3 and swarm.state_of(0) == "FAILED"


def test_outcomes_loop_until_answer(impl):
    # think -> tool -> think ... until the agent answers; agent a needs a % 4 tool calls
    tool_calls = {}

    def think(batch):
        for j, a in enumerate(batch.ids):
            if tool_calls.get(a, 0) < a % 4:
                batch.set_outcome(j, "call_tool")

    def tool(batch):
        for a in batch.ids:
            tool_calls[a] = tool_calls.get(a, 0) + 1

    spec = AgentSpec([
        State("THINK", batch_action(think, inline=True), on_ok="DONE",
              outcomes={"call_tool": "TOOL"}),
        State("TOOL", batch_action(tool, inline=True), on_ok="THINK"),
    ])
    swarm = Swarm(spec, 40, kernels=impl)
    assert swarm.run().done == 40
    for a in range(40):
        assert tool_calls.get(a, 0) == a % 4
        assert swarm.agent(a)["steps"] == 2 * (a % 4) + 1


def test_states_sharing_an_action_get_separate_batches(impl):
    seen = []

    def record(batch):
        states = {batch.swarm.state_of(a) for a in batch.ids}
        seen.append((batch.state, states, len(batch)))

    shared = batch_action(record, inline=True)
    spec = AgentSpec([
        State("SPLIT", batch_action(lambda b: [b.set_outcome(j, "odd") for j, a in
                                               enumerate(b.ids) if a % 2], inline=True),
              on_ok="STORE_OK", outcomes={"odd": "STORE_FAIL"}),
        State("STORE_OK", shared, on_ok="DONE"),
        State("STORE_FAIL", shared, on_ok="FAILED"),
    ])
    res = Swarm(spec, 10, kernels=impl).run()
    assert res.done == 5 and res.failed == 5
    assert sorted((s, tuple(st), n) for s, st, n in seen) == [
        ("STORE_FAIL", ("STORE_FAIL",), 5), ("STORE_OK", ("STORE_OK",), 5)]


def test_step_budget_fails_endless_loops(impl):
    spec = AgentSpec([
        State("THINK", batch_action(lambda b: [b.set_outcome(j, "again") for j in range(len(b))],
                                    inline=True), on_ok="DONE", outcomes={"again": "THINK"}),
    ], max_steps=10)
    swarm = Swarm(spec, 3, kernels=impl)
    assert swarm.run().failed == 3
    assert swarm.reason_of(2) == "step_budget_exhausted"


def test_unknown_outcome_fails_agent(impl):
    spec = AgentSpec([State("A", batch_action(lambda b: b.set_outcome(0, "nope"), inline=True),
                            on_ok="DONE", outcomes={"yes": "DONE"})])
    swarm = Swarm(spec, 2, kernels=impl)
    res = swarm.run()
    assert res.failed == 2  # set_outcome raised SpecError: the whole batch failed with it
    assert "unknown outcome 'nope'" in swarm.reason_of(0)


def test_fan_out_fan_in(impl):
    order = []
    lock = threading.Lock()

    def site(batch):
        sw = batch.swarm
        for a in batch.ids:
            kids = sw.spawn(a, rows={"url": [f"s{a}/p{i}" for i in range(a % 5 + 1)]},
                            state="PAGE")
            sw.data["kids"][a] = list(kids)

    def page(batch):
        with lock:
            order.extend(("page", a) for a in batch.ids)
        for j, a in enumerate(batch.ids):
            if batch.swarm.data["url"][a].endswith("p3"):
                batch.fail(j, "404")

    def aggregate(batch):
        sw = batch.swarm
        with lock:
            for a in batch.ids:
                kids = sw.data["kids"][a]
                # every child is terminal before the parent resumes
                assert all(sw.state_of(k) in ("DONE", "FAILED") for k in kids)
                order.append(("agg", a))
                sw.data["ok_pages"][a] = sum(sw.state_of(k) == "DONE" for k in kids)

    spec = AgentSpec([
        State("SITE", batch_action(site, max_batch=3, writes=["kids"]), on_ok="AGG"),
        State("AGG", batch_action(aggregate, reads=["kids"], writes=["ok_pages"]), on_ok="DONE"),
        State("PAGE", batch_action(page, max_batch=4, reads=["url"]), on_ok="DONE"),
    ], entries=["SITE", "PAGE"], inputs=["url"])
    swarm = Swarm(spec, 10, kernels=impl)
    res = swarm.run()
    n_pages = sum(a % 5 + 1 for a in range(10))
    n_404 = sum(1 for a in range(10) if a % 5 + 1 > 3)
    assert res.agents == 10 + n_pages
    assert res.done == 10 + n_pages - n_404 and res.failed == n_404
    for a in range(10):
        assert swarm.data["ok_pages"][a] == (a % 5 + 1) - (1 if a % 5 + 1 > 3 else 0)
        assert swarm.agent(a)["pending_children"] == 0


def test_nested_fan_out_releases_grandparents(impl):
    def spawn_two(batch):
        for a in batch.ids:
            depth = batch.swarm.data["depth"][a] or 0
            if depth < 3:
                batch.swarm.spawn(a, rows={"depth": [depth + 1, depth + 1]}, state="NODE")

    spec = AgentSpec([State("NODE", batch_action(spawn_two, inline=True, reads=["depth"]),
                            on_ok="DONE")], inputs=["depth"])
    swarm = Swarm(spec, 1, kernels=impl)
    res = swarm.run()
    assert res.agents == 1 + 2 + 4 + 8 and res.done == 15


def test_async_concurrency_bound(impl):
    live = [0, 0]

    async def io(swarm, aid):
        live[0] += 1
        live[1] = max(live[1], live[0])
        await asyncio.sleep(0.001)
        live[0] -= 1
        return "again" if aid % 3 == 0 and swarm.agent(aid)["steps"] == 0 else None

    spec = AgentSpec([State("IO", async_action(io, concurrency=8), on_ok="DONE",
                            outcomes={"again": "IO"})])
    swarm = Swarm(spec, 100, kernels=impl)
    assert swarm.run().done == 100
    assert live[1] == 8


def test_async_exception_is_recorded(impl):
    async def io(swarm, aid):
        raise ConnectionRefusedError("127.0.0.1:9 refused")

    spec = AgentSpec([State("IO", async_action(io), on_ok="DONE")])
    swarm = Swarm(spec, 3, kernels=impl)
    assert swarm.run().failed == 3
    assert swarm.reason_of(0) == "io: ConnectionRefusedError: 127.0.0.1:9 refused"


def test_action_error_gives_its_reason_verbatim(impl):
    from agentcore import ActionError

    async def io(swarm, aid):
        raise ActionError("http_404")

    def batch(b):
        raise ActionError("empty_text")

    spec = AgentSpec([State("IO", async_action(io), on_ok="DONE", on_error="B"),
                      State("B", batch_action(batch), on_ok="DONE")])
    swarm = Swarm(spec, 2, kernels=impl)
    swarm.run()
    assert swarm.reason_of(0) == "empty_text"
    spec = AgentSpec([State("IO", async_action(io), on_ok="DONE")])
    swarm = Swarm(spec, 2, kernels=impl)
    swarm.run()
    assert swarm.failures() == {"http_404": 2}


def test_external_action_completes_from_another_thread(impl):
    class Engine:
        def __init__(self):
            self.requests = []

        def start(self, batch):
            def work():
                for j, a in enumerate(batch.ids):
                    batch.complete(j, error="bad json" if a == 2 else None)
            threading.Thread(target=work).start()

    spec = AgentSpec([State("LLM", external_action(Engine(), capacity=4), on_ok="DONE")])
    swarm = Swarm(spec, 30, kernels=impl)
    res = swarm.run()
    assert res.done == 29 and swarm.reason_of(2) == "bad json"


def test_payload_columns_and_numpy_views(impl):
    def parse(batch):
        batch.set("length", [len(u) for u in batch.get("url")])

    spec = AgentSpec([State("PARSE", batch_action(parse, reads=["url"], writes=["length"]),
                            on_ok="DONE")], inputs=["url"])
    swarm = Swarm(spec, rows={"url": ["http://a", "http://bb", "x"]}, kernels=impl)
    swarm.run()
    assert swarm.data["length"][[0, 1, 2]] == [8, 9, 1]
    assert swarm.data["url"][7] is None  # a declared column reads None for an agent never written
    assert list(swarm.column("state")) == [0, 0, 0]
    assert list(swarm.column("steps")) == [1, 1, 1]


def test_twins_agree_on_a_mixed_workload():
    def run(impl):
        def a(batch):
            for j, x in enumerate(batch.ids):
                if x % 11 == 0:
                    batch.fail(j, f"r{x % 3}")
                elif x % 7 == 0 and batch.swarm.agent(x)["steps"] < 4:
                    batch.set_outcome(j, "loop")
                elif x % 13 == 0 and batch.state == "A" and x < 500:
                    batch.swarm.spawn(x, 2, state="A")

        spec = AgentSpec([
            State("A", batch_action(a, inline=True), on_ok="B", outcomes={"loop": "B"},
                  retries=1),
            State("B", batch_action(a, inline=True), on_ok="DONE", outcomes={"loop": "A"},
                  on_error="A"),
        ], max_steps=9)
        sw = Swarm(spec, 2000, kernels=impl)
        res = sw.run()
        return res.counts, [sw.agent(i) for i in range(sw.size)]

    assert run("compiled") == run("pure")


def test_env_switch_selects_the_pure_twin():
    code = "import agentcore.kernels.step as s; print(s.COMPILED)"
    env = dict(os.environ, AGENTCORE_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
    env["AGENTCORE_NO_EXTENSIONS"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


def test_import_stays_light():
    code = ("import sys, agentcore; heavy = {'numpy', 'numba', 'llama_cpp', 'asyncio', 'psycopg',"
            " 'aiohttp', 'ray', 'rich', 'uvloop', 'pyreqwest'}; print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


# ---- declared columns at run time ---------------------------------------------------------------

def test_unknown_columns_are_errors_that_list_the_declared_ones(impl):
    from agentcore import UndeclaredColumn, UnknownColumn

    seen = {}

    def parse(batch):
        with pytest.raises(UndeclaredColumn, match="reads column 'body' without declaring"):
            batch.get("body")
        with pytest.raises(UndeclaredColumn, match="writes column 'url' without declaring"):
            batch.set("url", ["x"] * len(batch))
        seen["ok"] = True

    spec = AgentSpec([State("PARSE", batch_action(parse, reads=["url"], writes=["n"]),
                            on_ok="DONE")], inputs=["url"])
    swarm = Swarm(spec, rows={"url": ["a", "b"]}, kernels=impl)
    with pytest.raises(UnknownColumn, match=r"no payload column 'lenght'.*\['n', 'url'\]"):
        swarm.data["lenght"]
    with pytest.raises(UnknownColumn, match="does not declare as inputs"):
        swarm.add(rows={"url": ["c"], "extra": [1]})
    assert swarm.run().done == 2 and seen["ok"]


def test_cores_lease_the_swarm_budget_while_the_batch_runs(impl):
    from agentcore.cpu import CpuBudget

    budget = CpuBudget(total=2)
    during = []

    def kernel(batch):
        during.append(budget.llm_threads_now())

    spec = AgentSpec([State("K", batch_action(kernel, cores=1, max_batch=5), on_ok="DONE")])
    swarm = Swarm(spec, 10, kernels=impl, budget=budget)
    assert swarm.run().done == 10
    assert during and all(t == 1 for t in during)  # one core leased: the engine gets one
    assert budget.llm_threads_now() == 2            # and gets it back afterwards
