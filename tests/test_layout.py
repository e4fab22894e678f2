"""The shape of the code, checked: modules with one job and a docstring saying it, none over 500
lines, no private name imported from another module, one twin switch."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = [ROOT / "agentcore", ROOT / "kernels"]
EXEMPT = {ROOT / "agentcore" / "bench"}  # benchmarks compare internals on purpose


def modules():
    for pkg in PACKAGES:
        for path in sorted(pkg.rglob("*.py")):
            if not any(ex in path.parents for ex in EXEMPT):
                yield path


MODULES = list(modules())


def rel(path):
    return str(path.relative_to(ROOT))


def test_the_layout_scan_sees_the_packages():
    names = {rel(p) for p in MODULES}
    assert "agentcore/swarm.py" in names and "kernels/html.py" in names and len(names) > 40


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_module_is_at_most_500_lines_with_a_docstring(path):
    text = path.read_text(encoding="utf-8")
    n = text.count("\n")
    assert n <= 500, f"{rel(path)} has {n} lines; split it along its jobs"
    doc = ast.get_docstring(ast.parse(text))
    assert doc and doc.strip(), f"{rel(path)} has no docstring saying its one job"


def private_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            parts = (node.module or "").split(".")
            if any(p.startswith("_") and not p.startswith("__") for p in parts):
                yield f"line {node.lineno}: from {node.module} import ..."
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield f"line {node.lineno}: from {node.module or '.'} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(p.startswith("_") and not p.startswith("__") for p in alias.name.split(".")):
                    yield f"line {node.lineno}: import {alias.name}"


# A compiled twin's private implementation module, loaded only by that twin (documented there).
ALLOWED_PRIVATE = {("kernels/_similarity.py", "_similarity_jit")}


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_no_private_name_is_imported_from_another_module(path):
    bad = [b for b in private_imports(path)
           if not any((rel(path), name) == (p, name) and name in b for p, name in ALLOWED_PRIVATE)]
    assert not bad, f"{rel(path)} imports private names: {bad}"


def test_one_twin_switch():
    readers = [rel(p) for p in MODULES for line in p.read_text(encoding="utf-8").splitlines()
               if "AGENTCORE_NO_EXTENSIONS" in line and "environ" in line]
    assert readers == ["kernels/__init__.py"], readers
