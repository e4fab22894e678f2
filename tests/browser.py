"""Test helper: the headless-Chromium check of the HTML report (it lives in agentcore.bench.browser,
because `agentcore bench demo` runs it from an installed package, where tests/ is not importable)."""
from agentcore.bench.browser import browser_check, find_chromium

__all__ = ["browser_check", "find_chromium"]
