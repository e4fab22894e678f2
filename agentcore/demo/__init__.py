"""The demo app: a local web of 500 sites crawled, analysed, summarised and stored by one swarm.

``cli`` (flags of `agentcore demo` and `agentcore job`, and the live run), ``run`` (one run end to
end), ``config`` (the demo's job, read from its job file ``demo.toml``),
``display`` (the live view), ``report`` (the HTML report), ``lifecycle`` (`agentcore swarm`).
"""
from agentcore.demo.cli import (DEFAULT_DB, DEFAULT_REPORT, add_arguments, add_job_arguments, run,
                                run_job)

__all__ = ["add_arguments", "add_job_arguments", "run", "run_job", "DEFAULT_DB", "DEFAULT_REPORT"]
