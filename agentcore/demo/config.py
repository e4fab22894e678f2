"""The demo's own job, read from its job file ``demo.toml`` (next to this module): label each
local-web site (Python standard-library text) with a category and a one-sentence summary."""
from __future__ import annotations

import os

from agentcore.crawl.jobfile import JobFile, load_job

#: the demo's job file; `agentcore job` reads any file of the same format
DEMO_JOB_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.toml")
DEMO_JOB: JobFile = load_job(DEMO_JOB_FILE)
DEMO_TASK = DEMO_JOB.task
CATEGORIES: list[str] = list(DEMO_TASK.schema["properties"]["category"]["enum"])
