"""`agentcore bench job`: a user's job on a folder of real saved sites against a plain-Python pipeline.

The folder: every page of ``shared/data``'s two extraction sets (the article-extraction
benchmark and Mozilla Readability's test pages) that names its real host, one subfolder per
host (``www.lemonde.fr/``; several pages of one host share it), built once and deterministically
into ``~/.cache/agentcore/bench-job/`` (Readability's hand-made unit cases name no host and are
left out). Then, in one run, on the same folder served the same way (``agentcore.web.folder``
behind ``agentcore.web.server``, on loopback under the real names):

- ``agentcore``: ``agentcore job --corpus DIR`` with the general job (the default analysis: a
  general category list, a one-sentence summary, the language), the CLI's own code path.
- ``plain Python``: what a Python engineer writes for the same steps: asyncio + aiohttp fetches
  (home page, then its same-host links), trafilatura in a process pool
  (:func:`agentcore.bench.crawl.extract_text`), then one llama-cpp-python JSON-schema call per
  site, one after the other, with the same model file, threads, context and prompt text
  (:meth:`agentcore.crawl.task.LLMTask.messages` fitted with llama-cpp-python's tokenizer), and
  sqlite3 rows. Its schema drops the string length bounds (:func:`unbounded`): with them
  llama-cpp-python's grammar takes ~7x longer per answer, so the ratio shown is conservative.

Reported for both: wall and its stages, sites answered and failed by short code, prompt
overflows, the copy rate (summaries that repeat instruction text:
:meth:`~agentcore.crawl.task.LLMTask.copies_prompt`), real host names kept; then the ratio.

    agentcore bench job            # every site the two sets name (the plain side takes minutes)
    agentcore bench job --quick    # ~30 of them
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .job_work import Work, differences, fed_urls, prompt_host, table_figures

#: bump when the folder's layout or the host rules change: the cache is rebuilt
CORPUS_VERSION = 2
QUICK_SITES = 30
TAG = re.compile(rb"<(link|meta|base)\b[^>]*>", re.I)
ATTR = re.compile(rb"""([a-zA-Z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
HREF = re.compile(rb"""href\s*=\s*["'](https?://[^"'/?#]+)""", re.I)
LANG_HINTS = (re.compile(rb"""<html\b[^>]*\blang\s*=\s*["']?([A-Za-z]{2,3})""", re.I),
              re.compile(rb"""property=["']og:locale["'][^>]*content=["']([A-Za-z]{2,3})""", re.I),
              re.compile(rb"""content=["']([A-Za-z]{2,3})[^"']*["'][^>]*property=["']og:locale""",
                         re.I),
              re.compile(rb"""http-equiv=["']content-language["'][^>]*content=["']([A-Za-z]{2,3})""",
                         re.I))
LINK = re.compile(rb"""href=["']([^"'#]+)""", re.I)
#: names saved test pages use for made-up hosts
FAKE_HOSTS = ("fakehost", "example.com", "example.org", "localhost", "test")


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help=f"~{QUICK_SITES} sites instead of all")
    p.add_argument("--sites", type=int, default=None, help="use the first N sites (hash order)")
    p.add_argument("--data", type=Path, default=None,
                   help="shared/data (default: ../shared/data beside the project)")
    p.add_argument("--cache", type=Path, default=None,
                   help="where the folder of sites is built (default ~/.cache/agentcore/bench-job)")
    p.add_argument("--llm-slots", type=int, default=None, help="agentcore's sequences decoded together")
    p.add_argument("--only", choices=("agentcore", "python"), default=None,
                   help="run one contender (no ratio)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")


# ---- the folder of real saved sites ------------------------------------------------------------

def page_host(html: bytes, name: str = "") -> str | None:
    """The real host a saved page names: its canonical link, og:url / twitter:url or <base>;
    else the most linked host one of whose labels is the page's folder name (``ebb-org`` ->
    ``ebb.org``, ``webmd-1`` -> ``www.webmd.com``); None for a made-up or missing one."""
    for m in TAG.finditer(html):
        a = {k.lower(): (v1 or v2) for k, v1, v2 in ATTR.findall(m.group(0))}
        tag = m.group(1).lower()
        url = None
        if tag == b"link" and a.get(b"rel", b"").lower() == b"canonical":
            url = a.get(b"href")
        elif tag == b"meta" and (a.get(b"property") or a.get(b"name") or b"").lower() in (
                b"og:url", b"twitter:url"):
            url = a.get(b"content")
        elif tag == b"base":
            url = a.get(b"href")
        if url and url.startswith((b"http://", b"https://")):
            host = real_host(urlsplit(url.decode("utf-8", "replace")).hostname)
            if host:
                return host
    stem = re.sub(r"-\d+$", "", name.lower())
    tokens = {stem.replace("-", ""), stem.split("-")[0]} - {""}
    counts = Counter(urlsplit(u.decode("utf-8", "replace")).hostname for u in HREF.findall(html))
    for host, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or "")):
        if host and set(host.split(".")[:-1]) & tokens:
            return real_host(host)
    return None


def page_lang(html: bytes) -> str:
    """The language a page declares (``<html lang>``, og:locale, Content-Language), or "?"."""
    head = html[:30000]
    for pattern in LANG_HINTS:
        m = pattern.search(head)
        if m:
            return m.group(1).decode().lower()
    return "?"


def real_host(host: str | None) -> str | None:
    host = (host or "").lower().strip(".")
    if "." not in host or any(host == f or host.endswith("." + f) for f in FAKE_HOSTS):
        return None
    return host


def saved_pages(data: Path) -> dict[str, list[tuple[str, bytes, str]]]:
    """{host: [(file name, html bytes, language in the set's metadata or "")]} of every page of
    the two sets that names its host."""
    sites: dict[str, list[tuple[str, bytes, str]]] = {}
    bench = data / "article-extraction-benchmark"
    truth = json.loads((bench / "ground-truth.json").read_text())
    for page_id in sorted(truth):
        host = real_host(urlsplit(truth[page_id]["url"]).hostname)
        path = bench / "html" / f"{page_id}.html.gz"
        if host and path.exists():
            sites.setdefault(host, []).append((f"aeb-{page_id[:16]}.html", gzip.open(path).read(),
                                               ""))
    pages = data / "readability-test-pages" / "pages"
    for name in sorted(os.listdir(pages)):
        path = pages / name / "source.html.gz"
        if not path.exists():
            continue
        html = gzip.open(path).read()
        host = page_host(html, name)
        if host:
            meta = pages / name / "expected-metadata.json"
            lang = (json.loads(meta.read_text()).get("lang") or "") if meta.exists() else ""
            sites.setdefault(host, []).append((f"rtp-{name}.html", html, lang[:3].lower()))
    return sites


def build_corpus(data: Path, cache: Path) -> tuple[Path, dict]:
    """The folder of sites under ``cache`` (built once; rebuilt when its sources change) and its
    manifest ({host: {"pages": [...], "lang": ...}})."""
    sites = saved_pages(data)
    digest = hashlib.sha256(json.dumps(
        [CORPUS_VERSION, {h: [(n, hashlib.sha256(b).hexdigest(), g) for n, b, g in p]
                          for h, p in sorted(sites.items())}]).encode()).hexdigest()[:16]
    root = cache / f"corpus-{digest}"
    manifest_file = root / "manifest.json"
    if manifest_file.exists():
        return root / "sites", json.loads(manifest_file.read_text())
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-", dir=cache))
    manifest = {}
    for host, pages in sorted(sites.items()):
        (tmp / "sites" / host).mkdir(parents=True)
        langs = Counter()
        for name, html, lang in pages:
            (tmp / "sites" / host / name).write_bytes(html)
            found = page_lang(html)
            langs[lang.split("-")[0] if found == "?" and lang else found] += 1
        manifest[host] = {"pages": [n for n, _, _ in pages], "lang": langs.most_common(1)[0][0]}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if root.exists():  # a half-built folder of an interrupted build
        shutil.rmtree(root)
    tmp.rename(root)
    return root / "sites", manifest


def subset(root: Path, manifest: dict, n: int, cache: Path) -> tuple[Path, dict]:
    """The first ``n`` sites in hash order (a language mix, the same every time), as a folder."""
    hosts = sorted(manifest, key=lambda h: hashlib.sha1(h.encode()).hexdigest())[:n]
    out, done = root.parent / f"first-{n}", root.parent / f"first-{n}.done"
    if not done.exists():
        if out.exists():
            shutil.rmtree(out)
        for h in hosts:
            shutil.copytree(root / h, out / h)
        done.write_text("")
    return out, {h: manifest[h] for h in hosts}


# ---- agentcore: `agentcore job --corpus DIR` ------------------------------------------------

def run_agentcore(folder: Path, tmp: str, slots: int | None) -> dict:
    """`agentcore job --corpus DIR` (the general job), through the CLI's own functions; each
    request the engine gets is recorded (its chat and its Result) for :class:`Work`."""
    from agentcore.cli import build_parser
    from agentcore.crawl import queries
    from agentcore.crawl.tables import Failure, Page
    from agentcore.demo import run as demo_run
    from agentcore.demo.cli import job_of
    from agentcore.store import open_store
    from agentcore.web.folder import CorpusWeb

    from .demo import stage_spans

    db = os.path.join(tmp, "agentcore.db")
    argv = ["job", "--corpus", str(folder), "--db", db, "--report", os.path.join(tmp, "r.html")]
    if slots:
        argv += ["--llm-slots", str(slots)]
    args = build_parser(argv).parse_args(argv)
    job = job_of(args)
    requests: list = []  # (chat, future) of every request, in submission order

    def recording_engine(args, job):
        engine = demo_run.make_engine(args, job)
        submit = engine.submit

        def record(messages=None, **kw):
            fut = submit(messages, **kw)
            requests.append((messages, fut))
            return fut
        engine.submit = record  # the LLM action calls it; nothing else changes
        return engine

    t0 = time.monotonic()
    out = demo_run.execute_job(job, args, engine_factory=recording_engine)
    total = time.monotonic() - t0
    spans = stage_spans(out.pipeline.timeline)

    def span(*states):
        got = [spans[s] for s in states if s in spans]
        return (min(a for a, _, _ in got), max(b for _, b, _ in got)) if got else (0.0, 0.0)

    homes = CorpusWeb(str(folder)).home_urls()  # what `inputs.corpus` serves, without a server
    store = open_store(db)
    try:
        answers = queries.site_answers(store, out.run_id)
        reasons = queries.failure_reasons(store, out.run_id, "site")
        reasons.update(queries.failure_reasons(store, out.run_id, "llm"))
        pages = store.query("SELECT url, host, excerpt FROM pages WHERE run_id = ?",
                            (out.run_id,), uses=(Page,))
        page_failures = dict(store.query(
            "SELECT key, reason FROM failures WHERE run_id = ? AND kind = 'page'",
            (out.run_id,), uses=(Failure,)))
    finally:
        store.close()
    work = Work(fetched=set(homes) | {u for u, _, _ in pages} | set(page_failures),
                text={u: len(e) for u, _, e in pages if e}, page_failures=page_failures,
                answers={a.host: a.answer for a in answers if a.status == "ok" and a.answer},
                failures=reasons, reuse="the system prompt is computed once and its KV "
                "copied into each sequence's slot")
    excerpts: dict[str, list] = {}
    for u, h, e in pages:
        excerpts.setdefault(h, []).append((u, e))
    llm = out.stats.get("llm", {})
    for messages, fut in requests:
        res = fut.result()
        if res.error and res.error.startswith("prompt too long"):
            continue  # refused before the model ran (none expected: prompts are fitted)
        host = prompt_host(messages)
        work.prompts[host] = messages
        work.fed[host] = fed_urls(job.task, excerpts.get(host, []))
        work.prompt_tokens += res.prompt_tokens
        work.generated_tokens += res.completion_tokens
    # the engine's own count: every prompt token it evaluated, the shared prefix's once
    work.computed_tokens = llm.get("prompt_tokens", 0)
    return {"wall": out.wall, "setup": total - out.wall, "task": job.task, "work": work,
            "stages": {"crawl + extract": span("SITE_FETCH", "SITE_LINKS", "PAGE_FETCH",
                                               "PAGE_EXTRACT", "PAGE_ANALYZE", "PAGE_STORE"),
                       "LLM": span("SITE_LLM"), "store": span("SITE_STORE", "PAGE_STORE")},
            "hosts": [a.host for a in answers], "answers": work.answers, "failures": reasons,
            "threads": llm.get("threads"), "model": job.model}


# ---- plain Python: asyncio + aiohttp, trafilatura, llama-cpp-python, sqlite3 -----------------

def run_plain(folder: Path, tmp: str, task, model_path: str, threads: int, n_ctx: int,
              max_pages: int) -> dict:
    """The same steps as a Python engineer writes them: crawl everything, then ask the model
    about each site in turn, rows into sqlite3. Counted like agentcore's side (:class:`Work`):
    a page has text when its extracted text is not only the text of its links (the folder's
    index page is a list of links: agentcore's extractor finds no text there either); a page's
    excerpt is its first ``task.excerpt_chars`` characters cut at a word; a reply cut off at
    ``max_tokens`` is ``answer_too_long``, other unreadable JSON ``llm_bad_answer``."""
    from concurrent.futures import ProcessPoolExecutor

    import aiohttp
    from llama_cpp import Llama

    from agentcore.crawl import inputs
    from agentcore.crawl.task import cut

    con = sqlite3.connect(os.path.join(tmp, "plain.db"))
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE pages (url TEXT PRIMARY KEY, host TEXT, n_words INT, keywords TEXT)")
    con.execute("CREATE TABLE answers (host TEXT PRIMARY KEY, category TEXT, summary TEXT, "
                "language TEXT, raw TEXT)")
    con.execute("CREATE TABLE failures (key TEXT PRIMARY KEY, reason TEXT)")
    texts: dict[str, list[tuple[str, str, list[str]]]] = {}
    failures: Counter = Counter()
    work = Work(reuse="llama-cpp-python keeps the previous call's KV and reuses the prompt's "
                "common prefix with it")
    store_s = 0.0
    pool = ProcessPoolExecutor(os.cpu_count() or 1)
    pool.submit(plain_text, b"<p>warm up</p>").result()  # workers import trafilatura once

    with inputs.corpus(str(folder)) as sites:
        host_map = sites.static_hosts

        async def crawl():
            loop = asyncio.get_running_loop()

            class Resolver(aiohttp.abc.AbstractResolver):
                async def resolve(self, host, port=0, family=socket.AF_INET):
                    ip, p = host_map[host]
                    return [{"hostname": host, "host": ip, "port": p, "family": socket.AF_INET,
                             "proto": 0, "flags": 0}]

                async def close(self):
                    pass

            conn = aiohttp.TCPConnector(limit=256, resolver=Resolver())
            timeout = aiohttp.ClientTimeout(total=10, sock_read=5)
            async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
                async def get(url, sem):
                    work.fetched.add(url)
                    async with sem, session.get(url) as r:
                        if r.status >= 400:
                            raise RuntimeError(f"http_{r.status}")
                        return await r.read()

                async def page(url, host, body):
                    text, kws = await loop.run_in_executor(pool, plain_text, body)
                    if text:
                        texts.setdefault(host, []).append((url, text, kws))
                        work.text[url] = len(text)
                    else:
                        work.page_failures[url] = "empty_text"

                async def site(home):
                    host = urlsplit(home).hostname
                    sem = asyncio.Semaphore(2)
                    try:
                        body = await get(home, sem)
                    except Exception as exc:
                        failures[fetch_code(exc)] += 1
                        return
                    links = []
                    for m in LINK.finditer(body):
                        u = urljoin(home, m.group(1).decode("utf-8", "replace"))
                        if urlsplit(u).hostname == host and u != home and u not in links:
                            links.append(u)

                    async def one(u):
                        try:
                            await page(u, host, await get(u, sem))
                        except Exception as exc:
                            work.page_failures[u] = fetch_code(exc)
                    await asyncio.gather(page(home, host, body), *(one(u) for u in links[:max_pages]))
                    if home in work.page_failures:  # the home page is a page only with text
                        del work.page_failures[home]

                await asyncio.gather(*(site(u) for u in sites.home_urls))
            return sites.home_urls

        t0 = time.monotonic()
        homes = asyncio.run(crawl())
        crawl_s = time.monotonic() - t0
    pool.shutdown()
    t = time.monotonic()
    with con:
        con.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)",
                        [(u, h, len(x.split()), ",".join(k)) for h, ps in texts.items()
                         for u, x, k in ps])
    store_s += time.monotonic() - t

    load0 = time.monotonic()
    llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                seed=task.seed, verbose=False)
    load_s = time.monotonic() - load0
    evals: list[int] = []
    llama_eval = llm.eval

    def counted_eval(tokens):  # the first call of a completion evaluates its prompt's new tokens
        evals.append(len(tokens))
        return llama_eval(tokens)
    llm.eval = counted_eval

    def count(msgs):  # the model's chat template (ChatML) rendered and tokenized, as the model
        # sees it: equal to llama-cpp-python's usage["prompt_tokens"] (counted in `miscounted`)
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs)
        return len(llm.tokenize((text + "<|im_start|>assistant\n").encode(), add_bos=True,
                                special=True))

    budget = n_ctx - task.max_tokens
    schema = unbounded(task.schema)
    answers, overflows = {}, 0
    t1 = time.monotonic()
    for home in homes:
        host = urlsplit(home).hostname
        pages = texts.get(host)
        if not pages:
            failures["no_text"] += 1
            continue
        kws = [k for k, _ in Counter(k for _, _, ks in pages for k in ks).most_common(task.keywords)]
        excerpts = [(u, cut(x, task.excerpt_chars)) for u, x, _ in pages]
        msgs = task.messages(host, kws, excerpts, count, budget)
        evals.clear()
        try:
            out = llm.create_chat_completion(
                msgs, max_tokens=task.max_tokens, temperature=0.0, seed=task.seed,
                response_format={"type": "json_object", "schema": schema})
        except ValueError as exc:  # "Requested tokens (...) exceed context window of ..."
            reason = "prompt_too_long" if "context" in str(exc) else "llm_error"
            overflows += reason == "prompt_too_long"
            failures[reason] += 1
            continue
        work.prompts[host], work.fed[host] = msgs, fed_urls(task, excerpts)
        work.prompt_tokens += out["usage"]["prompt_tokens"]
        work.miscounted += count(msgs) != out["usage"]["prompt_tokens"]
        work.computed_tokens += evals[0] if evals else 0
        work.generated_tokens += out["usage"]["completion_tokens"]
        choice = out["choices"][0]
        raw = choice["message"]["content"] or ""
        try:
            value = json.loads(raw)
        except ValueError:
            failures["answer_too_long" if choice.get("finish_reason") == "length"
                     else "llm_bad_answer"] += 1
            continue
        answers[host] = value
        t = time.monotonic()
        with con:
            con.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                        (host, str(value.get("category", "")), str(value.get("summary", "")),
                         str(value.get("language", "")), raw))
        store_s += time.monotonic() - t
    llm_s = time.monotonic() - t1
    llm.close()
    con.close()
    work.answers, work.failures = answers, dict(failures)
    return {"wall": crawl_s + store_s + llm_s, "setup": load_s, "work": work,
            "stages": {"crawl + extract": (0.0, crawl_s), "LLM": (crawl_s, crawl_s + llm_s),
                       "store": store_s},
            "hosts": [urlsplit(h).hostname for h in homes], "answers": answers,
            "failures": dict(failures), "overflows": overflows}


def fetch_code(exc: Exception) -> str:
    """The plain side's short code of a failed fetch (``http_404``, else ``fetch_error``)."""
    return str(exc) if str(exc).startswith("http_") else "fetch_error"


ANCHOR = re.compile(rb"<a\b[^>]*>(.*?)</a\s*>", re.I | re.S)
INNER_TAG = re.compile(rb"<[^>]*>")


def link_only(text: str, body: bytes) -> bool:
    """True when every word of ``text`` is a word of the page's link texts (a list of links:
    the folder's index page), so the page has no text of its own."""
    import html as html_lib

    words = set(text.split())
    if not words:
        return True
    links = " ".join(html_lib.unescape(INNER_TAG.sub(b" ", m).decode("utf-8", "replace"))
                     for m in ANCHOR.findall(body))
    return words <= set(links.split())


def plain_text(body: bytes) -> tuple[str, list[str]]:
    """The plain side's extraction (in a pool worker): trafilatura's text and top words
    (:func:`agentcore.bench.crawl.extract_text`), none for a page of links only."""
    from .crawl import extract_text

    text, kws = extract_text(body)
    text = text.strip()
    return ("", []) if link_only(text, body) else (text, kws)


def unbounded(schema: dict) -> dict:
    """The schema without string length bounds: llama-cpp-python's grammar expands
    ``maxLength = 160`` into nested rules that take ~7x longer per answer (80 s instead of 11 s
    for one site here), which a Python engineer would drop first; the plain side gets that."""
    props = {k: {kk: vv for kk, vv in v.items() if kk not in ("minLength", "maxLength")}
             for k, v in schema.get("properties", {}).items()}
    return {**schema, "properties": props}


# ---- the table ---------------------------------------------------------------------------------

def figures(res: dict, task, manifest: dict) -> dict:
    answers = res["answers"]
    copies = [h for h, a in answers.items() if task.copies_prompt(str(a.get("summary", "")))]
    kept = sorted(set(res["hosts"]) & set(manifest))
    failures = {k: v for k, v in res["failures"].items() if v}
    return {"wall": res["wall"], "answered": len(answers), "failed": sum(failures.values()),
            "failures": failures, "overflows": res.get("overflows",
                                                       failures.get("prompt_too_long", 0)),
            "copies": len(copies), "copied": copies[:5], "hosts_kept": len(kept),
            "renamed": sum(1 for h in res["hosts"] if h.endswith(".test")),
            "work": table_figures(res["work"]), "setup": res["setup"], "stages": res["stages"]}


def stage_text(stage) -> str:
    if isinstance(stage, tuple):
        return f"{stage[0]:6.1f} -> {stage[1]:6.1f}"
    return f"{stage:16.1f}"


def print_table(rows: dict[str, dict], n_sites: int, manifest: dict, threads, model) -> None:
    langs = Counter(v["lang"] for v in manifest.values())
    print(f"agentcore bench job: {n_sites} real saved sites, "
          f"{sum(len(v['pages']) for v in manifest.values())} pages; languages "
          + ", ".join(f"{k} {n}" for k, n in langs.most_common(8))
          + f"; model {Path(model).name}, {threads} threads; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    names = list(rows)
    print(f"{'':28}" + "".join(f"{n:>22}" for n in names))

    def line(label, fn):
        print(f"{label:28}" + "".join(f"{fn(rows[n]):>22}" for n in names))

    line("wall (s)", lambda r: f"{r['wall']:.1f}")
    for stage in ("crawl + extract", "LLM", "store"):
        line(f"  {stage} (s)", lambda r: stage_text(r["stages"][stage]).strip())
    line("model load + server (s)", lambda r: f"{r['setup']:.1f}")
    line("pages fetched", lambda r: f"{r['work']['pages fetched']}")
    line("pages with text", lambda r: f"{r['work']['pages with text']}")
    page_codes = sorted({c for r in rows.values() for c in r["work"]["pages without text"]})
    for c in page_codes:
        line(f"  no text: {c}", lambda r: f"{r['work']['pages without text'].get(c, 0)}")
    line("sites prompted", lambda r: f"{r['work']['sites prompted']}")
    line("sites answered", lambda r: f"{r['answered']}/{n_sites}")
    line("sites failed", lambda r: f"{r['failed']}")
    codes = sorted({c for r in rows.values() for c in r["failures"]})
    for c in codes:
        line(f"  {c}", lambda r: f"{r['failures'].get(c, 0)}")
    line("prompt overflows", lambda r: f"{r['overflows']}")
    line("copy rate", lambda r: f"{r['copies']}/{r['answered']}")
    line("prompt tokens", lambda r: f"{r['work']['prompt tokens']:,d}")
    line("  computed", lambda r: f"{r['work']['computed']:,d}")
    line("  reused from a KV cache", lambda r: f"{r['work']['reused']:,d}")
    line("generated tokens", lambda r: f"{r['work']['generated tokens']:,d}")
    line("real host names kept", lambda r: f"{r['hosts_kept']}/{n_sites}")
    for n, r in rows.items():
        if r["copied"]:
            print(f"  {n} copied prompt text: {', '.join(r['copied'])}")
    if len(rows) == 2:
        a, p = rows["agentcore"], rows["plain Python"]
        why = differences(a["why"], p["why"], "agentcore", "plain Python")
        why.insert(0, "store (s): agentcore's is a span, from its first row written to its last "
                      "(rows are written as pages and answers arrive, so it ends with the last "
                      "answer stored); plain Python's is the seconds spent inside sqlite3")
        if why:
            print("where the two sides' work differs:")
            for w in why:
                print(f"  {w}")
        print(f"agentcore / plain Python: {p['wall'] / a['wall']:.1f}x")


def run(args) -> int:
    from agentcore.llm.model import cache_dir, resolve_model

    data = args.data or Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (data / "article-extraction-benchmark").is_dir():
        raise SystemExit(f"agentcore bench job: no extraction sets under {data}; pass --data")
    cache = args.cache or cache_dir() / "bench-job"
    cache.mkdir(parents=True, exist_ok=True)
    folder, manifest = build_corpus(data, cache)
    n = args.sites or (QUICK_SITES if args.quick else None)
    if n and n < len(manifest):
        folder, manifest = subset(folder, manifest, n, cache)
    tmp = tempfile.mkdtemp(prefix="agentcore-bench-job-")
    rows: dict[str, dict] = {}
    threads = model = None
    try:
        task = None
        if args.only in (None, "agentcore"):
            ac = run_agentcore(folder, tmp, args.llm_slots)
            task, threads = ac["task"], ac["threads"]
            rows["agentcore"] = figures(ac, task, manifest)
            rows["agentcore"]["why"] = ac["work"]
        if task is None:
            from agentcore.crawl.jobfile import parse_job

            task = parse_job("").task
        if args.only in (None, "python"):
            from agentcore.cpu import default_budget
            from agentcore.crawl.jobfile import parse_job

            job = parse_job("")  # the general job's crawl and engine settings
            threads = threads or default_budget().llm_threads_now()
            model = str(resolve_model(job.model))
            plain = run_plain(folder, tmp, task, model, threads, job.context, job.max_pages)
            rows["plain Python"] = figures(plain, task, manifest)
            rows["plain Python"]["why"] = plain["work"]
        model = model or str(resolve_model(None))
        print_table(rows, len(manifest), manifest, threads, model)
        if args.json:
            args.json.write_text(json.dumps({n: {k: v for k, v in r.items() if k != "why"}
                                             for n, r in rows.items()}, indent=1, default=str))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0
