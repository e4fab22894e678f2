"""LLM engine benchmarks: batched chat requests through agentcore's engine (real SmolLM2 model).

The side-by-side comparison with llama-server and sequential llama-cpp-python lives in
``agentcore bench llm`` (it builds llama-server); these track the engine alone over time.
"""


def _require_model():
    try:
        import llama_cpp  # noqa: F401

        from agentcore.llm.model import default_model_path

        default_model_path()
    except (ImportError, FileNotFoundError) as exc:
        raise NotImplementedError(f"no LLM runtime or default model: {exc}")


class LLMEngine:
    """32 workload requests (shared system prompt + 700-character excerpt), 16 generated tokens."""

    params = [1, 16, 64]
    param_names = ["in_flight"]
    timeout = 900
    number = 1
    repeat = 2

    def setup(self, in_flight):
        _require_model()
        from agentcore.llm import workload
        from agentcore.llm.engine import Engine

        self.requests = workload.chat_requests(32)
        self.engine = Engine(n_slots=in_flight, n_threads=2)
        self.engine.generate(self.requests[0], max_tokens=2)

    def teardown(self, in_flight):
        self.engine.close()

    def _run(self, in_flight):
        import threading

        gate = threading.Semaphore(in_flight)
        futs = []
        for m in self.requests:
            gate.acquire()
            f = self.engine.submit(m, max_tokens=16)
            f.add_done_callback(lambda _f: gate.release())
            futs.append(f)
        results = [f.result() for f in futs]
        assert all(r.ok for r in results)

    def time_requests(self, in_flight):
        self._run(in_flight)

    def peakmem_requests(self, in_flight):
        self._run(in_flight)


class LLMJson:
    """16 JSON-schema constrained requests at once (top-K grammar check with fallback)."""

    timeout = 900
    number = 1
    repeat = 2
    schema = {"type": "object", "properties": {"topic": {"type": "string", "maxLength": 30},
                                               "relevant": {"type": "boolean"}},
              "required": ["topic", "relevant"], "additionalProperties": False}

    def setup(self):
        _require_model()
        from agentcore.llm import workload
        from agentcore.llm.engine import Engine

        self.requests = workload.chat_requests(16)
        self.engine = Engine(n_slots=16, n_threads=2)

    def teardown(self):
        self.engine.close()

    def time_json_requests(self):
        futs = [self.engine.submit(m, max_tokens=40, json_schema=self.schema) for m in self.requests]
        assert all(f.result().finish_reason in ("stop", "error") for f in futs)
