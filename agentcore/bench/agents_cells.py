"""One cell of ``bench agents`` in this process: a contender, a size, real model or instant model.

``agentcore bench agents`` runs each cell as ``python -m agentcore.bench.agents --one KIND:WHO:N``
in a process of its own (so peak RSS is the cell's own); the cell prints ``wall_s=`` and one
``result=<json>`` line. Kinds: ``real`` (the pages task with the engine's default model file:
agentcore's Engine in process, or llama-server with the same file, threads and 64 slots for
the anchors), ``overhead`` (the lookup/add task with an instant model) and ``native`` (the
record-only prebuilt ReAct agent with ``tools=`` against llama-server).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from .agents_task import (CTX, MAX_TOKENS, MAX_TURNS, OVERHEAD_ANSWER, OVERHEAD_QUESTION, Task,
                          messages_policy, overhead_agent, overhead_policy, overhead_tools)

SLOTS = 64


class RecordingEngine:
    """The engine as agents see it, keeping each request's turn and token counts."""

    def __init__(self, engine):
        self.engine = engine
        self.n_slots = engine.n_slots
        self.records: list[tuple[int, object]] = []

    def submit(self, messages=None, **kwargs):
        fut = self.engine.submit(messages, **kwargs)
        turn = (len(messages) - 2) // 2 if isinstance(messages, list) else 0
        fut.add_done_callback(lambda f: self.records.append((turn, f.result())))
        return fut

    def __getattr__(self, name):
        return getattr(self.engine, name)


def summarize(agents: list[dict], expected: list[str] | None, wall: float, cpu: float) -> dict:
    """Totals over per-agent dicts ``{"turns": [...], "answer"?, "error"?}``."""
    turns = [t for a in agents for t in a.get("turns", ())]
    per_turn: dict[int, list] = {}
    for t in turns:
        c = per_turn.setdefault(t["turn"], [0, 0, 0])
        c[0] += 1
        c[1] += t.get("prompt_tokens", 0)
        c[2] += t.get("cached_tokens", 0)
    done = [i for i, a in enumerate(agents) if a.get("answer") is not None and not a.get("error")]
    correct = sum(str(agents[i]["answer"]) == expected[i] for i in done) if expected else 0
    errors = Counter(a["error"].split(":")[0] + ": " + a["error"].split(":", 1)[-1][:60]
                     for a in agents if a.get("error"))
    return {"agents": len(agents), "wall_s": wall, "cpu_s": cpu, "answered": len(done),
            "correct": correct, "turns": len(turns),
            "tool_calls": sum("tool" in t for t in turns),
            "prompt_tokens": sum(t.get("prompt_tokens", 0) for t in turns),
            "cached_tokens": sum(t.get("cached_tokens", 0) for t in turns),
            "completion_tokens": sum(t.get("completion_tokens", 0) for t in turns),
            "per_turn": {str(k): v for k, v in sorted(per_turn.items())},
            "errors": dict(errors.most_common(4))}


# ---------------------------------------------------------------------------- real model
def real_agentcore(n: int, threads: int) -> dict:
    from agentcore.agents import run_agents
    from agentcore.llm import Engine

    task = Task()
    agent = task.agent()
    qs = task.questions(n)
    with Engine(n_slots=SLOTS, n_threads=threads, n_ctx_per_seq=CTX) as eng:
        eng.generate([{"role": "user", "content": "hi"}], max_tokens=4)
        m0 = eng.metrics()
        rec = RecordingEngine(eng)
        t0, c0 = time.perf_counter(), time.process_time()
        runs = run_agents(agent, [q for q, _ in qs], engine=rec)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        m1 = eng.metrics()
    by_turn = [(turn, r) for turn, r in rec.records]
    agents = []
    for r in runs:
        a = {"turns": [dict(t, cached_tokens=0) for t in r.turns]}
        if r.state == "DONE":
            a["answer"] = r.answer
        else:
            a["error"] = r.error or r.state
        agents.append(a)
    out = summarize(agents, [e for _, e in qs], wall, cpu)
    # token counts per request from the engine (failed replies included), not from the turns
    out["per_turn"] = {}
    for turn, r in by_turn:
        c = out["per_turn"].setdefault(str(turn), [0, 0, 0])
        c[0] += 1
        c[1] += r.prompt_tokens
        c[2] += reused(r)
    out["requests"] = out["turns"] = len(by_turn)
    out["prompt_tokens"] = sum(r.prompt_tokens for _, r in by_turn)
    out["cached_tokens"] = sum(reused(r) for _, r in by_turn)
    out["completion_tokens"] = sum(r.completion_tokens for _, r in by_turn)
    out["session_paths"] = dict(Counter(getattr(r, "session_path", "") for _, r in by_turn))
    out["engine"] = {k: m1[k] - m0.get(k, 0) for k in m1
                     if isinstance(m1[k], (int, float)) and not k.endswith(("_per_s", "occupancy"))}
    out["model"] = str(eng.model_path)
    return out


def wait_for_build(limit_s: float = 1800.0) -> None:
    """Wait while another process is building llama-server (its build folder exists, its binary
    not yet): a second build in the same folder would break both."""
    import sys

    from agentcore.llm.model import cache_dir

    root = cache_dir() / "llama-server" / "build"
    deadline = time.monotonic() + limit_s
    said = False
    while root.is_dir() and not (root / "bin" / "llama-server").is_file():
        if time.monotonic() > deadline:
            raise TimeoutError(f"llama-server's build in {root} did not finish in {limit_s:.0f} s; "
                               "see its build.log, or remove the folder to rebuild")
        if not said:
            print(f"[bench] waiting for the llama-server build in {root}", file=sys.stderr)
            said = True
        time.sleep(10)


def reused(r) -> int:
    """Prompt tokens a request did not compute: the shared prefix and its session's KV."""
    return r.cached_tokens + getattr(r, "session_tokens", 0)


class Server:
    """llama-server on the file ``Engine()`` loads, 64 slots of ``CTX`` tokens, and its peak RSS."""

    def __init__(self, threads: int):
        from agentcore.bench.llm_server import LlamaServer, llama_server_binary
        from agentcore.llm.model import resolve_model

        self.model = resolve_model()  # the file Engine() loads
        wait_for_build()
        self.srv = LlamaServer(llama_server_binary(), self.model, SLOTS, threads, ctx_per_slot=CTX)

    def __enter__(self):
        self.srv.__enter__()
        return self

    def peak_rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.srv.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.srv.url


def real_anchor(who: str, n: int, threads: int) -> dict:
    task = Task()
    agent = task.agent(batch_read=False)
    system, schema = agent.system_prompt(), agent.schema
    qs = task.questions(n)
    questions = [q for q, _ in qs]
    tools = task.tool_map()
    with Server(threads) as srv:
        if who == "langgraph":
            from .agents_langgraph import build_graph, run_graphs, server_model

            graph = build_graph(server_model(srv.url, schema, MAX_TOKENS), tools, MAX_TURNS)

            def go(qs_):
                return run_graphs(graph, system, qs_)
        elif who == "sdk":
            from .agents_sdk import build_agent, run_agents_sdk, server_model

            sdk_agent = build_agent(server_model(srv.url), system, schema, MAX_TOKENS)

            def go(qs_):
                return run_agents_sdk(sdk_agent, tools, qs_, MAX_TURNS)
        else:
            raise ValueError(f"unknown contender {who!r}: use agentcore, langgraph or sdk")

        async def main():
            await go(questions[:1])  # warm-up: the model paged in, connections open
            t0, c0 = time.perf_counter(), time.process_time()
            res = await go(questions)
            return res, time.perf_counter() - t0, time.process_time() - c0

        res, wall, cpu = asyncio.run(main())
        out = summarize(res, [e for _, e in qs], wall, cpu)
        out["requests"] = out["turns"] + sum(1 for a in res if a.get("error", "").startswith("model"))
        out["server_peak_rss_mb"] = srv.peak_rss_mb()
        out["model"] = str(srv.model)
    return out


def native(n: int, threads: int) -> dict:
    from .agents_langgraph import native_tools_run
    from .agents_task import INSTRUCTIONS

    task = Task()
    qs = [q for q, _ in task.questions(n)]
    with Server(threads) as srv:
        t0 = time.perf_counter()
        out = native_tools_run(srv.url, INSTRUCTIONS, task.functions(), qs, MAX_TOKENS, MAX_TURNS)
        out["wall_s"] = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------------- instant model
def overhead(who: str, n: int, pool_tools: bool = False) -> dict:
    agent = overhead_agent(pool_tools)
    system, schema = agent.system_prompt(), agent.schema
    questions = [OVERHEAD_QUESTION] * n
    if who == "agentcore":
        from agentcore.agents import run_agents
        from agentcore.agents.fake import InstantModel

        model = InstantModel(messages_policy(overhead_policy), n_slots=SLOTS)
        t0, c0 = time.perf_counter(), time.process_time()
        runs = run_agents(agent, questions, engine=model)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        res = [{"turns": r.turns, **({"answer": r.answer} if r.state == "DONE" else
                                     {"error": r.error or r.state})} for r in runs]
    elif who == "langgraph":
        from .agents_langgraph import InstantChatModel, build_graph, parse_instant, run_graphs

        graph = build_graph(InstantChatModel(policy=overhead_policy), overhead_tools(),
                            agent.max_turns, parse=parse_instant)
        t0, c0 = time.perf_counter(), time.process_time()
        res = asyncio.run(run_graphs(graph, system, questions))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    elif who == "sdk":
        from .agents_sdk import InstantModel, build_agent, run_agents_sdk

        sdk_agent = build_agent(InstantModel(overhead_policy), system, schema, 64)
        t0, c0 = time.perf_counter(), time.process_time()
        res = asyncio.run(run_agents_sdk(sdk_agent, overhead_tools(), questions, agent.max_turns))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    else:
        raise ValueError(f"unknown contender {who!r}: use agentcore, langgraph or sdk")
    out = summarize(res, [OVERHEAD_ANSWER] * n, wall, cpu)
    out["steps"] = out["turns"] + out["tool_calls"]
    return out


def run_cell(spec: str, threads: int = 2, pool_tools: bool = False) -> dict:
    kind, who, n = spec.split(":")
    if kind == "real":
        return real_agentcore(int(n), threads) if who == "agentcore" else real_anchor(who, int(n), threads)
    if kind == "overhead":
        return overhead(who, int(n), pool_tools)
    if kind == "native":
        return native(int(n), threads)
    raise ValueError(f"unknown cell {spec!r}: use real:WHO:N, overhead:WHO:N or native:langgraph:N")


def print_cell(spec: str, threads: int = 2, pool_tools: bool = False) -> None:
    out = run_cell(spec, threads, pool_tools)
    print(f"wall_s={out['wall_s']:.4f}", flush=True)
    print("result=" + json.dumps(out), flush=True)
