"""imports: which of some modules a fresh interpreter has loaded after importing others."""
import subprocess
import sys


def loaded_after(imports: str, watch) -> list[str]:
    """The modules of ``watch`` in ``sys.modules`` once a new Python ran ``import <imports>``."""
    code = f"import sys, {imports}; print(','.join(m for m in {tuple(watch)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]
