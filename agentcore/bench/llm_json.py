"""``agentcore bench llm --json-schema``: structured output, agentcore vs llama-server vs sequential llama-cpp-python.

Workload: the bench's requests (:mod:`agentcore.llm.workload`: one 700-character article excerpt
each) answered as JSON under two schemas, greedy, same model file and threads for everyone:

* ``demo``: the demo job's answer schema (category from the demo's list + a 16-100 character
  summary), read from ``agentcore/demo/demo.toml`` through :mod:`agentcore.crawl.jobfile`; the
  system message is the job's own (instructions plus the answer format), the excerpt is the user
  message; ``max_tokens`` is the job's (128).
* ``tool``: one turn of ``bench agents``' overhead agent (tools ``lookup(city)`` and ``add(a, b)``,
  :func:`agentcore.bench.agents_task.overhead_agent`):
  the per-turn schema of :mod:`agentcore.agents.schema` (one valid tool call or the answer), the
  agent's system prompt, the excerpt followed by a population question; ``max_tokens`` 64.

Contenders, one after another in one process: agentcore's :class:`~agentcore.llm.engine.Engine`
with ``json_schema=`` (as the crawl job and the agents submit it) at each in-flight count;
llama-server with ``response_format: {"type": "json_schema", ...}`` and ``-np`` equal to the
in-flight count; sequential llama-cpp-python with a ``LlamaGrammar`` built from the schema. For
each in-flight count one llama-server and one Engine are up together; who runs first alternates
per cell. An answer is valid when its text parses as JSON and validates against the schema
(:func:`agentcore.llm.grammar.validate`), checked the same way for every contender.
"""
from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path

from agentcore.bench.llm_server import LlamaServer, llama_server_binary

BAR = 1.6  # issue 10: agentcore >= 1.6x llama-server's requests/s, demo schema, 64 in flight


def demo_workload(n: int) -> tuple[dict, list[list[dict]], int]:
    """(schema, requests, max_tokens) of the demo job's question about ``n`` excerpts."""
    from agentcore.crawl.jobfile import load_job
    from agentcore.demo.config import DEMO_JOB_FILE
    from agentcore.llm import workload

    task = load_job(DEMO_JOB_FILE).task
    reqs = [[{"role": "system", "content": task.system_prompt}, {"role": "user", "content": e}]
            for e in workload.excerpts(n)]
    return task.schema, reqs, int(task.max_tokens)


def tool_workload(n: int) -> tuple[dict, list[list[dict]], int]:
    """(schema, requests, max_tokens) of one turn of ``bench agents``' agent over ``n`` excerpts."""
    from agentcore.bench.agents_task import CITIES, overhead_agent
    from agentcore.llm import workload

    agent = overhead_agent()
    cities = sorted(CITIES)
    system = agent.system_prompt()
    reqs = [[{"role": "system", "content": system},
             {"role": "user", "content": f"{e}\n\nHow many people live in {cities[i % len(cities)]}?"}]
            for i, e in enumerate(workload.excerpts(n))]
    return agent.schema, reqs, int(agent.max_tokens)


WORKLOADS = {"demo": demo_workload, "tool": tool_workload}


def valid(text: str, schema: dict) -> bool:
    """True when ``text`` parses as JSON and validates against ``schema``."""
    from agentcore.llm.grammar import validate

    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return False
    return validate(value, schema) == []


# ----------------------------------------------------------------------------- contenders
def run_agentcore(engine, requests, schema, concurrency: int, max_tokens: int) -> dict:
    """``requests`` through a running Engine with at most ``concurrency`` in flight."""
    done = threading.Semaphore(concurrency)
    futs = []
    t0 = time.perf_counter()
    for m in requests:
        done.acquire()
        f = engine.submit(m, max_tokens=max_tokens, json_schema=schema)
        f.add_done_callback(lambda _f: done.release())
        futs.append(f)
    results = [f.result() for f in futs]
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "generated": sum(r.completion_tokens for r in results),
            "texts": [r.text for r in results], "errors": [r.error for r in results if r.error]}


async def drive_server(url: str, requests, schema, concurrency: int, max_tokens: int) -> dict:
    """``requests`` to llama-server's chat API with ``response_format`` json_schema."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    texts: list[str] = [""] * len(requests)
    gen = 0

    async def one(session, i, messages):
        nonlocal gen
        async with sem:
            body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0,
                    "cache_prompt": True, "response_format": fmt}
            async with session.post(url + "/v1/chat/completions", json=body) as r:
                data = await r.json()
                if r.status != 200:
                    raise RuntimeError(f"llama-server answered {r.status}: {data}")
                gen += data["usage"]["completion_tokens"]
                texts[i] = data["choices"][0]["message"]["content"] or ""

    timeout = aiohttp.ClientTimeout(total=3600)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(one(session, i, m) for i, m in enumerate(requests)))
        return {"wall_s": time.perf_counter() - t0, "generated": gen, "texts": texts, "errors": []}


def run_sequential(model: Path, requests, schema, max_tokens: int, threads: int) -> dict:
    """``requests`` one at a time through llama-cpp-python's ``Llama`` with a ``LlamaGrammar``."""
    from llama_cpp import Llama, LlamaGrammar

    from agentcore.llm import bindings

    bindings.load()
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    llm = Llama(model_path=str(model), n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    try:
        llm.create_chat_completion(requests[0], max_tokens=4, temperature=0.0)
        gen, texts = 0, []
        t0 = time.perf_counter()
        for m in requests:
            out = llm.create_chat_completion(m, max_tokens=max_tokens, temperature=0.0, grammar=grammar)
            gen += out["usage"]["completion_tokens"]
            texts.append(out["choices"][0]["message"]["content"] or "")
        wall = time.perf_counter() - t0
    finally:
        llm.close() if hasattr(llm, "close") else None
    return {"wall_s": wall, "generated": gen, "texts": texts, "errors": []}


# ----------------------------------------------------------------------------- rows, table, ratios
def row(contender: str, schema_name: str, schema: dict, concurrency: int, res: dict) -> dict:
    """One table row from a contender's result (its texts judged against ``schema``)."""
    n = len(res["texts"])
    return {"contender": contender, "schema": schema_name, "concurrency": concurrency, "requests": n,
            "valid": sum(valid(t, schema) for t in res["texts"]), "wall_s": res["wall_s"],
            "req_per_s": n / res["wall_s"] if res["wall_s"] else 0.0,
            "gen_tok_per_s": res["generated"] / res["wall_s"] if res["wall_s"] else 0.0,
            "generated": res["generated"], "errors": res["errors"][:3]}


def table(rows: list[dict]) -> str:
    lines = [f"{'contender':<28} {'schema':<6} {'in flight':>9} {'requests/s':>11} {'gen tok/s':>10} "
             f"{'valid':>9}"]
    for r in rows:
        lines.append(f"{r['contender']:<28} {r['schema']:<6} {r['concurrency']:>9} {r['req_per_s']:>11.2f} "
                     f"{r['gen_tok_per_s']:>10.1f} {r['valid']:>4}/{r['requests']:<4}")
    return "\n".join(lines)


def ratios(rows: list[dict]) -> list[str]:
    """The agentcore / llama-server lines per schema and in-flight count (the demo at 64 first)."""
    def get(contender, schema, c):
        return next((r for r in rows if r["contender"] == contender and r["schema"] == schema
                     and r["concurrency"] == c), None)

    out = []
    cells = sorted({(r["schema"], r["concurrency"]) for r in rows if r["contender"] == "agentcore"},
                   key=lambda sc: (sc != ("demo", 64), sc))
    for schema, c in cells:
        a, s = get("agentcore", schema, c), get("llama-server", schema, c)
        if a and s and s["req_per_s"]:
            ratio = a["req_per_s"] / s["req_per_s"]
            if (schema, c) == ("demo", 64):
                out.append(f"agentcore / llama-server, JSON schema, 64 in flight: {ratio:.2f}x "
                           f"(demo schema; bar {BAR}x: {'met' if ratio >= BAR else 'NOT met'})")
            else:
                out.append(f"agentcore / llama-server, JSON schema ({schema}), {c} in flight: {ratio:.2f}x")
    seq = {r["schema"]: r for r in rows if r["contender"] == "sequential llama-cpp-python"}
    for schema, s in sorted(seq.items()):
        best = max((r for r in rows if r["contender"] == "agentcore" and r["schema"] == schema),
                   key=lambda r: r["req_per_s"], default=None)
        if best and s["req_per_s"]:
            out.append(f"agentcore ({best['concurrency']} in flight) / sequential llama-cpp-python, "
                       f"JSON schema ({schema}): {best['req_per_s'] / s['req_per_s']:.2f}x")
    return out


# ----------------------------------------------------------------------------- driver
def run(args, model: Path) -> int:
    """The whole structured-output bench on ``model``; prints the table and the ratio lines."""
    from agentcore.llm.engine import Engine

    quick = getattr(args, "quick", False)
    n = min(args.requests, 32) if quick else args.requests
    n_seq = min(args.c1_requests, 8) if quick else args.c1_requests
    conc = [int(c) for c in str(args.concurrency or ("64" if quick else "64,256")).split(",") if c.strip()]
    names = [s.strip() for s in (args.schemas or "demo,tool").split(",") if s.strip()]
    skip = {s.strip() for s in (args.skip or "").split(",") if s.strip()}
    loads = {name: WORKLOADS[name](n) for name in names}
    binary = llama_server_binary() if "server" not in skip else None
    rows: list[dict] = []

    def add(r):
        rows.append(r)
        print(f"[bench] {r['contender']:<28} {r['schema']:<5} c={r['concurrency']:<4} {r['req_per_s']:6.2f} "
              f"req/s {r['gen_tok_per_s']:7.1f} gen tok/s, valid {r['valid']}/{r['requests']} "
              f"({r['wall_s']:.1f} s)", file=sys.stderr, flush=True)

    print(f"[bench] JSON-schema bench on {model.name}, {args.threads} threads, {n} requests per cell",
          file=sys.stderr)
    if "sequential" not in skip:
        for name, (schema, reqs, mt) in loads.items():
            add(row("sequential llama-cpp-python", name, schema, 1,
                    run_sequential(model, reqs[:n_seq], schema, args.max_tokens or mt, args.threads)))
    turn = 0
    for c in conc:
        slots = min(c, 252)  # the Engine keeps a few of llama.cpp's 256 sequences for shared prefixes
        server = LlamaServer(binary, model, min(c, 256), args.threads) if binary else None
        engine = Engine(model=model, requantize=None, n_slots=slots, n_threads=args.threads) \
            if "agentcore" not in skip else None
        try:
            if server:
                server.__enter__()
                asyncio.run(drive_server(server.url, loads[names[0]][1][:1], loads[names[0]][0], 1, 8))
            if engine:
                engine.generate(loads[names[0]][1][0], max_tokens=4)
            for name, (schema, reqs, mt) in loads.items():
                mt = args.max_tokens or mt
                cells = []
                if server:
                    cells.append(lambda: add(row("llama-server", name, schema, c, asyncio.run(
                        drive_server(server.url, reqs, schema, c, mt)))))
                if engine:
                    cells.append(lambda: add(row("agentcore", name, schema, c,
                                                 run_agentcore(engine, reqs, schema, c, mt))))
                # alternate who goes first: right after minutes of full load this VM runs slower
                for cell in (cells if turn % 2 == 0 else cells[::-1]):
                    cell()
                turn += 1
        finally:
            if engine:
                engine.close()
            if server:
                server.__exit__(None, None, None)
    print("\n" + table(rows) + "\n")
    for line in ratios(rows):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0
